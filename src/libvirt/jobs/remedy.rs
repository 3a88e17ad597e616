//! The snapshot dialog's remedies for a blocked memory state: "stop, snapshot, start" as one
//! job, and the definition edits (host-model CPU, pinned TSC frequency) confirmed on their diff.

use std::time::Duration;

use virt::sys;

use super::lifecycle::{graceful_shutdown, ShutdownOutcome};
use super::snapshot_create::{self, CreateJob};
use super::{JobContext, JobQuestion};
use crate::libvirt::inventory;
use crate::model::remedy::{self, DefinitionEdit};

/// Shut the VM down (asking before forcing it off), snapshot its disks, start it again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StopSnapshotStartJob {
    pub snapshot: CreateJob,
    pub timeout_secs: u64,
}

/// Change the persistent definition only; it takes effect at the next boot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditDefinitionJob {
    pub domain: String,
    pub edit: DefinitionEdit,
}

pub fn stop_snapshot_start(ctx: &JobContext, job: &StopSnapshotStartJob) -> Result<String, String> {
    let name = &job.snapshot.domain;
    let domain = inventory::lookup(ctx.conn, name).map_err(|e| e.to_string())?;
    let was_running = domain
        .is_active()
        .map_err(|e| format!("reading the state of {name}: {}", e.message()))?;
    if was_running {
        ctx.step(format!("asking {name} to shut down"));
        match graceful_shutdown(ctx, &domain, Duration::from_secs(job.timeout_secs))? {
            ShutdownOutcome::AlreadyOff | ShutdownOutcome::Graceful | ShutdownOutcome::Forced => {}
            ShutdownOutcome::Declined => {
                return Err(format!("{name} was left running: no snapshot was taken"));
            }
        }
    }
    // The VM is off now: its disks are captured, never memory, never quiesced.
    let snapshot = CreateJob {
        memory: false,
        quiesce: false,
        ..job.snapshot.clone()
    };
    ctx.step(format!(
        "taking the snapshot of {name} while it is shut off"
    ));
    let created = snapshot_create::create(ctx, &snapshot);
    if !was_running {
        return created
            .map(|c| snapshot_create::confirmation(&c))
            .map_err(|e| e.text().to_owned());
    }
    ctx.step(format!("starting {name} again"));
    let started = domain
        .create()
        .map_err(|e| format!("{name} could not be started again: {}", e.message()));
    match (created, started) {
        (Ok(c), Ok(())) => Ok(format!(
            "{}; {name} is running again",
            snapshot_create::confirmation(&c)
        )),
        (Ok(c), Err(start)) => Err(format!(
            "{}, but {start}",
            snapshot_create::confirmation(&c)
        )),
        (Err(e), Ok(())) => Err(format!(
            "the snapshot failed, so {name} was started again without one: {}",
            e.text()
        )),
        (Err(e), Err(start)) => Err(format!("the snapshot failed: {}; and {start}", e.text())),
    }
}

/// Shows the diff of the persistent definition, asks, and defines the edited XML.
pub fn edit_definition(ctx: &JobContext, job: &EditDefinitionJob) -> Result<String, String> {
    let name = &job.domain;
    let domain = inventory::lookup(ctx.conn, name).map_err(|e| e.to_string())?;
    ctx.step(format!("reading {name}'s definition"));
    // SECURE keeps passwords (graphics, secrets) that a plain dump would blank out and a
    // redefine would then lose.
    let before = domain
        .xml_desc(sys::VIR_DOMAIN_XML_INACTIVE | sys::VIR_DOMAIN_XML_SECURE)
        .map_err(|e| format!("reading {name}'s definition: {}", e.message()))?;
    let after = remedy::apply(&before, job.edit)
        .map_err(|e| format!("cannot {} for {name}: {e}", job.edit.describe()))?;
    if after == before {
        return Ok(format!(
            "{name}'s definition already does that: nothing changed"
        ));
    }
    let diff: Vec<String> = remedy::diff_lines(&before, &after, 1)
        .into_iter()
        .map(|l| format!("{} {}", l.sign, l.text))
        .collect();
    let question = JobQuestion {
        text: format!(
            "{} in {name}'s persistent definition? It takes effect at the next boot; the running VM is not changed.\n{}",
            capitalised(&job.edit.describe()),
            diff.join("\n")
        ),
        yes: "change the definition".into(),
        no: "keep it as it is".into(),
    };
    if !ctx.ask(question) {
        // Declining is an answer, not a failure.
        return Ok(format!("{name}'s definition was left unchanged"));
    }
    ctx.step(format!("defining {name}"));
    ctx.conn
        .define_domain_xml(&after)
        .map_err(|e| format!("defining {name} with the change: {}", e.message()))?;
    Ok(format!(
        "{name}: {} (takes effect at the next boot)",
        job.edit.describe()
    ))
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}
