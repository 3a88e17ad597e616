//! `virtsnap snapshot create DOMAIN [NAME] [--memory] [--quiesce] [--description TEXT]
//! [--json]`: the dialog's rules and strategy as a one-shot command. A refusal (memory state
//! blocked, invalid name) exits 3 having called nothing that changes the VM.

use std::io::Write;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use super::{print_out, CliError, Target};
use crate::libvirt::jobs::snapshot_create::{self, CreateError, CreateJob};
use crate::libvirt::jobs::JobContext;
use crate::libvirt::jobs::JobUpdate;
use crate::libvirt::open;
use crate::libvirt::worker::Event;
use crate::model::snapshot::SnapshotLocation;

/// `snapshot create`'s arguments, parsed by clap straight into this struct.
#[derive(Debug, clap::Args)]
pub struct CreateArgs {
    /// Domain name
    pub domain: String,
    /// Snapshot name (default: DOMAIN-YYYYMMDD-HHMMSS)
    pub name: Option<String>,
    /// Include memory state (refused with the reason when the VM cannot save it)
    #[arg(long)]
    pub memory: bool,
    /// Freeze the guest's file systems (disk-only, needs a connected guest agent)
    #[arg(long)]
    pub quiesce: bool,
    /// Description stored with the snapshot
    #[arg(long, value_name = "TEXT")]
    pub description: Option<String>,
    /// Print the created snapshot as JSON
    #[arg(long)]
    pub json: bool,
    /// Take this kind even though the domain's snapshots are of the other kind (mixing kinds
    /// on one disk blocks later reverts; virtsnap says which before asking for this)
    #[arg(long, value_enum, value_name = "KIND")]
    pub kind: Option<Kind>,
}

/// `--kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    Internal,
    External,
}

impl From<Kind> for SnapshotLocation {
    fn from(k: Kind) -> Self {
        match k {
            Kind::Internal => SnapshotLocation::Internal,
            Kind::External => SnapshotLocation::External,
        }
    }
}

pub fn create(target: &Target, args: CreateArgs) -> Result<(), CliError> {
    let conn = open(&target.connect)?;
    if target.connect.readonly {
        return Err(CliError::Refused(
            "read-only connection: snapshots cannot be created".into(),
        ));
    }
    let name = args
        .name
        .clone()
        .unwrap_or_else(|| default_name(&args.domain));
    let job = CreateJob {
        domain: args.domain.clone(),
        name,
        description: args.description.clone(),
        memory: args.memory,
        quiesce: args.quiesce,
        location: args.kind.map(SnapshotLocation::from),
    };
    // Steps go to stderr (the JSON on stdout stays clean); no job here asks a question.
    let emit = |e: Event| {
        if let Event::Job {
            update: JobUpdate::Step(step),
            ..
        } = e
        {
            let _ = writeln!(std::io::stderr(), "{step}");
        }
    };
    let (_controls, controls_rx) = std::sync::mpsc::channel();
    let ctx = JobContext {
        conn: &conn,
        id: 0,
        emit: &emit,
        controls: controls_rx,
        cancelled: Arc::new(AtomicBool::new(false)),
    };
    let created = snapshot_create::create(&ctx, &job).map_err(|e| {
        let (text, refused) = match e {
            CreateError::Refused(text) => (text, true),
            CreateError::Failed(text) => (text, false),
        };
        // The explanation keeps its lines (options are numbered); the error line says the
        // outcome.
        let text = if text.contains('\n') {
            let _ = writeln!(std::io::stderr(), "{text}");
            format!("no snapshot of {} was created", job.domain)
        } else {
            text
        };
        if refused {
            CliError::Refused(text)
        } else {
            CliError::Runtime(text)
        }
    })?;
    if args.json {
        let mut text = serde_json::to_string_pretty(&created)?;
        text.push('\n');
        return print_out(&text);
    }
    let mut text = snapshot_create::confirmation(&created);
    text.push('\n');
    for f in &created.files {
        text.push_str(&format!("  {}\n", f.display()));
    }
    print_out(&text)
}

/// `<vm>-YYYYMMDD-HHMMSS`, local time when the zone is known (UTC otherwise).
fn default_name(domain: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    crate::app::dialogs::create::default_name(domain, now)
}
