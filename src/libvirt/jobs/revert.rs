//! Reverting a domain to a snapshot, as planned by `model::storage::plan_revert`: the plan is
//! made again from freshly read facts when the job starts, so what runs is what was shown;
//! then, in order: shut down first (if asked), remove a stale managed-save image, take the
//! safety snapshot, revert.

use std::time::Duration;

use virt::connect::Connect;
use virt::domain::Domain;

use super::lifecycle::{graceful_shutdown, ShutdownOutcome};
use super::JobContext;
use crate::libvirt::jobs::snapshot_create::verdict_for;
use crate::libvirt::{inventory, snapshots, storage};
use crate::model::storage::{
    plan_revert, revert_overlay_name, short, AfterRevert, CreateAbility, Layout, Refusal,
    RevertOptions, RevertPlan, SafetyPlan,
};
use crate::model::HostCapabilities;

/// How long "stop first" waits by default for the guest to shut down before asking (the TUI)
/// or giving up (the CLI, without `--force-off`).
pub const STOP_FIRST_TIMEOUT_SECS: u64 = 120;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevertJob {
    pub domain: String,
    pub snapshot: String,
    pub after: AfterRevert,
    /// Name for the safety snapshot of the current state; None skips it.
    pub safety: Option<String>,
    /// Shut the VM down first (so that a safety snapshot survives an internal revert).
    pub stop_first: bool,
    /// Seconds the graceful shutdown of `stop_first` may take before the force-off question.
    pub stop_timeout_secs: u64,
}

impl RevertJob {
    pub fn options(&self) -> RevertOptions {
        RevertOptions {
            after: self.after,
            safety: self.safety.clone(),
            stop_first: self.stop_first,
        }
    }
}

/// Why a revert did not happen, or failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevertError {
    /// Refused up front; nothing changed.
    Refused(Refusal),
    /// Something failed on the way; the text says what state things are in now.
    Failed(String),
}

impl RevertError {
    pub fn text(&self) -> String {
        match self {
            Self::Refused(r) => format!("not reverted: {}", r.text()),
            Self::Failed(t) => t.clone(),
        }
    }
}

/// What the memory rule allows for a safety snapshot of this domain now.
pub fn ability(conn: &Connect, layout: &Layout) -> CreateAbility {
    let host = conn
        .capabilities()
        .ok()
        .and_then(|x| HostCapabilities::from_xml(&x).ok());
    let verdict = verdict_for(layout, host.as_ref());
    let m = &verdict.memory;
    CreateAbility {
        memory_internal: m.applicable && m.allowed && m.internal,
        memory_external: m.applicable && m.allowed && m.external,
    }
}

/// Reads the domain and plans the revert (no changes).
pub fn plan(conn: &Connect, job: &RevertJob) -> Result<(Layout, RevertPlan), String> {
    let layout = storage::read_layout(conn, &job.domain).map_err(|e| e.to_string())?;
    let ability = ability(conn, &layout);
    let plan = plan_revert(&layout, &job.snapshot, &job.options(), &ability);
    Ok((layout, plan))
}

pub fn run(ctx: &JobContext, job: &RevertJob) -> Result<String, String> {
    run_planned(ctx, job).map_err(|e| e.text())
}

/// Plans again and carries the plan out.
pub fn run_planned(ctx: &JobContext, job: &RevertJob) -> Result<String, RevertError> {
    let failed = RevertError::Failed;
    ctx.step(format!("planning the revert of {}", job.domain));
    let (_, plan) = plan(ctx.conn, job).map_err(failed)?;
    if let Some(refusal) = plan.refusal.clone() {
        return Err(RevertError::Refused(refusal));
    }
    let dom = inventory::lookup(ctx.conn, &job.domain).map_err(|e| failed(e.to_string()))?;
    if plan.stop_first {
        ctx.step(format!("shutting {} down first", job.domain));
        match graceful_shutdown(ctx, &dom, Duration::from_secs(job.stop_timeout_secs))
            .map_err(failed)?
        {
            ShutdownOutcome::Declined => {
                return Err(failed(format!(
                    "not reverted: {} did not shut down, and was not forced off",
                    job.domain
                )))
            }
            _ => ctx.step(format!("{} is shut off", job.domain)),
        }
    }
    if plan.remove_managed_save {
        ctx.step("removing the managed-save image (it belongs to the disks reverted away from)");
        dom.managed_save_remove(0).map_err(|e| {
            failed(format!(
                "not reverted: removing the managed-save image failed: {}",
                e.message()
            ))
        })?;
    }
    let mut safety_note = String::new();
    match &plan.safety {
        SafetyPlan::Planned { plan: safety } => {
            let name = &safety.request.name;
            ctx.step(format!("taking safety snapshot '{name}'"));
            let mut safety = safety.clone();
            safety.request.description = Some(safety_description(&job.snapshot, &safety));
            snapshots::create_from_plan(&dom, &safety).map_err(|e| {
                failed(format!(
                    "not reverted: the safety snapshot '{name}' of the current state failed: {e}"
                ))
            })?;
            safety_note = format!(
                "; safety snapshot '{name}' ({}) holds the state before",
                kind_words(&safety)
            );
        }
        SafetyPlan::NotNeeded { reason } => safety_note = format!("; no safety snapshot: {reason}"),
        SafetyPlan::NotRequested | SafetyPlan::Impossible { .. } => {}
    }
    if ctx.is_cancelled() {
        return Err(failed(format!("cancelled before reverting{safety_note}")));
    }
    wait_for_overlay_names(ctx, &plan);
    ctx.step(format!("reverting to {}", job.snapshot));
    let snap = snapshots::lookup(&dom, &job.domain, &job.snapshot)
        .map_err(|e| failed(format!("{e}{safety_note}")))?;
    let mut same_second_retries = 0;
    while let Err(e) = snap.revert(plan.flags) {
        let message = e.message().to_string();
        // libvirt names the new overlays after the current second: a revert within the same
        // second collides (and has already stopped a running VM). The next second is free.
        if message.contains("already exists") && same_second_retries < 3 {
            same_second_retries += 1;
            std::thread::sleep(Duration::from_millis(1100));
            continue;
        }
        let now = state_words(&dom);
        return Err(failed(format!(
            "reverting {} to '{}' failed: {message}. virtsnap did not predict this refusal; \
             the VM is now {now}{safety_note}",
            job.domain, job.snapshot
        )));
    }
    let now = state_words(&dom);
    // Memory state brings back the snapshot's clock: set it from the host's (or say it is stale).
    let clock_note = crate::libvirt::guest::sync_clock_after_revert(&dom, &snap);
    let mut text = format!(
        "reverted {} to '{}', now {now}{safety_note}{clock_note}",
        job.domain, job.snapshot
    );
    if !plan.effects.created.is_empty() {
        // libvirt named the new overlays after the second of the revert: say the real names.
        let sources: Vec<String> = dom
            .xml_desc(0)
            .ok()
            .and_then(|x| crate::model::DomainConfig::from_xml(&x).ok())
            .map(|c| c.disks.into_iter().filter_map(|d| d.source).collect())
            .unwrap_or_default();
        let real = plan.real_overlays(&sources);
        if !real.is_empty() {
            text.push_str(&format!("; new overlay: {}", real.join(", ")));
        }
    }
    if !plan.orphaned.is_empty() {
        let files: Vec<&str> = plan.orphaned.iter().map(|f| short(f)).collect();
        text.push_str(&format!("; left on disk, unused now: {}", files.join(", ")));
    }
    Ok(text)
}

fn kind_words(p: &crate::model::snapshot::SnapshotPlan) -> String {
    format!(
        "{}, {}",
        p.location.as_str(),
        if p.memory {
            "with memory"
        } else {
            "disks only"
        }
    )
}

fn safety_description(target: &str, p: &crate::model::snapshot::SnapshotPlan) -> String {
    let mut d = format!("Taken by virtsnap before reverting to '{target}'.");
    if !p.memory {
        d.push_str(" Disks only: memory state was not saved.");
    }
    d
}

/// If a revert overlay name for this second exists already (a revert a moment ago), wait for
/// the next second rather than let libvirt stop the VM and then refuse.
fn wait_for_overlay_names(ctx: &JobContext, plan: &RevertPlan) {
    for _ in 0..3 {
        let now = storage::unix_now();
        let taken = plan.effects.created.iter().any(|f| {
            f.backing
                .as_deref()
                .is_some_and(|b| std::path::Path::new(&revert_overlay_name(b, now)).exists())
        });
        if !taken {
            return;
        }
        ctx.step("waiting a second: libvirt names the new overlays after the current second");
        ctx.sleep(Duration::from_millis(1000));
    }
}

fn state_words(dom: &Domain) -> &'static str {
    dom.info()
        .map(|i| inventory::state_from_virt(&i.state).label())
        .unwrap_or("in an unknown state")
}
