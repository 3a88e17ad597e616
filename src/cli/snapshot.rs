//! `virtsnap snapshot create DOMAIN [NAME] [--memory] [--quiesce [--crash-consistent-fallback]]
//! [--description TEXT] [--json]`: the dialog's rules and strategy as a one-shot command. A
//! refusal (memory state blocked, invalid name) exits 3 having called nothing that changes the
//! VM; a guest that cannot freeze for --quiesce exits 1 with nothing made, unless the fallback
//! takes a crash-consistent snapshot instead.
//!
//! With `--domain`, `--match` or `--all` it snapshots many VMs (`cli::snapshot_bulk`): each
//! gets what it can have of what was asked, and says why.

use std::io::Write;

use super::{print_out, CliError, Target};
use crate::libvirt::jobs::quiesce;
use crate::libvirt::jobs::snapshot_create::{self, CreateError, CreateJob};
use crate::libvirt::open;
use crate::model::snapshot::SnapshotLocation;

/// `snapshot create`'s arguments, parsed by clap straight into this struct.
#[derive(Debug, clap::Args)]
pub struct CreateArgs {
    /// Domain name (more with --domain, --match, --all)
    #[arg(required_unless_present_any = ["domains", "globs", "all"])]
    pub domain: Option<String>,
    /// Snapshot name (default: DOMAIN-YYYYMMDD-HHMMSS)
    pub name: Option<String>,
    /// Snapshot name, for every VM chosen (the same as NAME)
    #[arg(long = "name", value_name = "NAME", conflicts_with = "name")]
    pub name_flag: Option<String>,
    /// Name the snapshot PREFIX-YYYYMMDD-HHMMSSZ (UTC, so names sort and never repeat when
    /// DST ends): the names `snapshot prune --prefix PREFIX` works on
    #[arg(long, value_name = "PREFIX", conflicts_with_all = ["name", "name_flag"])]
    pub prefix: Option<String>,
    #[command(flatten)]
    pub select: super::selection::SelectArgs,
    /// Include memory state (one VM: refused with the reason when it cannot save it; many
    /// VMs: where it can, the others get a disk-only snapshot and the reason)
    #[arg(long)]
    pub memory: bool,
    /// Freeze the guest's file systems (disk-only, needs a connected guest agent; many VMs:
    /// where an agent answers)
    #[arg(long)]
    pub quiesce: bool,
    /// With --quiesce: when the guest cannot freeze its file systems, take a crash-consistent
    /// snapshot instead (its description says so)
    #[arg(long, requires = "quiesce")]
    pub crash_consistent_fallback: bool,
    /// Many VMs: print what each would get and create nothing
    #[arg(long)]
    pub dry_run: bool,
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

impl CreateArgs {
    /// The name asked for: NAME or --name, else PREFIX and the time (`now`, Unix seconds);
    /// None for the default per-domain name.
    pub fn chosen_name(&self, now: i64) -> Result<Option<String>, CliError> {
        if let Some(p) = &self.prefix {
            crate::model::retention::check_prefix(p).map_err(CliError::Refused)?;
            return Ok(Some(crate::model::retention::scheduled_name(p, now)));
        }
        Ok(self.name.clone().or_else(|| self.name_flag.clone()))
    }
}

pub fn create(target: &Target, args: CreateArgs) -> Result<(), CliError> {
    if args.select.is_bulk() {
        return super::snapshot_bulk::create(target, &args);
    }
    if args.dry_run {
        return Err(CliError::Usage(
            "--dry-run is for many VMs (--domain, --match, --all); for one VM use `virtsnap \
             check DOMAIN`"
                .into(),
        ));
    }
    let Some(domain) = args.domain.clone() else {
        return Err(CliError::Usage("name a DOMAIN".into()));
    };
    let conn = open(&target.connect)?;
    if target.connect.readonly {
        return Err(CliError::Refused(
            "read-only connection: snapshots cannot be created".into(),
        ));
    }
    let name = args
        .chosen_name(crate::libvirt::storage::unix_now())?
        .unwrap_or_else(|| default_name(&domain));
    let job = CreateJob {
        domain: domain.clone(),
        name,
        description: args.description.clone(),
        memory: args.memory,
        quiesce: args.quiesce,
        location: args.kind.map(SnapshotLocation::from),
    };
    // Steps and progress go to stderr (the JSON on stdout stays clean).
    let result = super::progress::run_job(&conn, |ctx| match snapshot_create::create(ctx, &job) {
        Err(CreateError::QuiesceFailed(f)) if args.crash_consistent_fallback => {
            let _ = writeln!(std::io::stderr(), "{}", f.text);
            let _ = writeln!(
                std::io::stderr(),
                "taking a crash-consistent snapshot instead"
            );
            snapshot_create::create(ctx, &quiesce::crash_consistent_job(&job, &f))
        }
        other => other,
    });
    let created = result.map_err(|e| {
        let (text, refused) = match e {
            CreateError::Refused(text) => (text, true),
            CreateError::Failed(text) => (text, false),
            CreateError::QuiesceFailed(f) => (
                format!(
                    "{} For a crash-consistent snapshot instead, run again without --quiesce, \
                     or with --crash-consistent-fallback to have it marked as such.",
                    f.text
                ),
                false,
            ),
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
pub fn default_name(domain: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    crate::app::dialogs::create::default_name(domain, now)
}
