//! Reverting a domain to a snapshot: a safety snapshot of the current state first (unless
//! declined), then the revert, with a forced revert only after libvirt's reason was shown and
//! a second "yes" was given.

use std::path::PathBuf;
use std::time::Duration;

use virt::connect::Connect;
use virt::domain::Domain;
use virt::enumutil::Enum;
use virt::error::ErrorNumber;
use virt::sys::{
    VIR_DOMAIN_SNAPSHOT_REVERT_FORCE, VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED,
    VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING, VIR_DOMAIN_XML_INACTIVE,
};

use super::{JobContext, JobQuestion};
use crate::libvirt::{inventory, snapshots};
use crate::model::eligibility::{evaluate, RuleInput};
use crate::model::snapshot::{
    plan_create, PlanError, SnapshotInfo, SnapshotLocation, SnapshotPlan,
};
use crate::model::{DomainConfig, DomainState, HostCapabilities};

/// libvirt 9.9 reverts external snapshots.
pub const EXTERNAL_REVERT_SINCE: u64 = 9_009_000;

/// The state the VM is left in after the revert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AfterRevert {
    /// As the snapshot captured it.
    #[default]
    Saved,
    Running,
    Paused,
}

impl AfterRevert {
    pub fn flags(self) -> u32 {
        match self {
            Self::Saved => 0,
            Self::Running => VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING,
            Self::Paused => VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Saved => "as saved in the snapshot",
            Self::Running => "running",
            Self::Paused => "paused",
        }
    }
}

/// What happens when libvirt calls a revert risky.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForcePolicy {
    /// Report libvirt's reason and stop (the CLI without `--force`).
    Never,
    /// Show libvirt's reason and ask for a second confirmation (the TUI).
    Ask,
    /// Force from the start (`--force`: the user asked for it by name).
    Always,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevertJob {
    pub domain: String,
    pub snapshot: String,
    pub after: AfterRevert,
    pub force: ForcePolicy,
    /// Name for the safety snapshot of the current state; None skips it.
    pub safety: Option<String>,
}

/// Why reverting to `info` is refused before anything is tried, or None.
pub fn revert_refusal(info: &SnapshotInfo, libvirt_version: u64) -> Option<String> {
    if info.location == SnapshotLocation::External && libvirt_version < EXTERNAL_REVERT_SINCE {
        return Some(format!(
            "'{}' is an external snapshot: reverting to it needs libvirt 9.9 or newer (this host runs {})",
            info.name,
            crate::model::inventory::version_string(libvirt_version)
        ));
    }
    None
}

pub fn run(ctx: &JobContext, job: &RevertJob) -> Result<String, String> {
    let dom = inventory::lookup(ctx.conn, &job.domain).map_err(|e| e.to_string())?;
    let snap = snapshots::lookup(&dom, &job.domain, &job.snapshot).map_err(|e| e.to_string())?;
    let mut safety_note = String::new();
    if let Some(base) = &job.safety {
        ctx.step(format!("taking safety snapshot of {}", job.domain));
        match safety_plan(ctx.conn, &dom, base, &job.snapshot)
            .map_err(|e| format!("not reverted: the safety snapshot could not be planned: {e}"))?
        {
            Some((name, plan)) => {
                snapshots::create_from_plan(&dom, &plan).map_err(|e| {
                    format!(
                        "not reverted: the safety snapshot '{name}' of the current state failed: {e}"
                    )
                })?;
                safety_note = format!("; safety snapshot '{name}' holds the state before");
            }
            None => {
                safety_note =
                    "; no safety snapshot: a shut-off VM without disks has no state to keep".into()
            }
        }
    }
    if ctx.is_cancelled() {
        return Err(format!("cancelled before reverting{safety_note}"));
    }
    ctx.step(format!("reverting to {}", job.snapshot));
    let mut flags = job.after.flags();
    if job.force == ForcePolicy::Always {
        flags |= VIR_DOMAIN_SNAPSHOT_REVERT_FORCE;
    }
    let mut same_second_retries = 0;
    while let Err(e) = snap.revert(flags) {
        let message = e.message().to_string();
        // Reverting a shut-off VM to an external snapshot names the new overlay after the
        // current second: a second revert within it collides. The next second is free.
        if message.contains("already exists") && same_second_retries < 3 {
            same_second_retries += 1;
            std::thread::sleep(Duration::from_millis(1100));
            continue;
        }
        let risky = matches!(e.code(), Enum::Known(ErrorNumber::SnapshotRevertRisky));
        if !risky || flags & VIR_DOMAIN_SNAPSHOT_REVERT_FORCE != 0 {
            return Err(format!(
                "reverting {} to '{}' failed: {message}{safety_note}",
                job.domain, job.snapshot
            ));
        }
        match job.force {
            ForcePolicy::Ask if ctx.ask(force_question(job, &message)) => {
                ctx.step(format!("forcing the revert to {}", job.snapshot));
                flags |= VIR_DOMAIN_SNAPSHOT_REVERT_FORCE;
            }
            ForcePolicy::Ask => {
                return Err(format!(
                    "not reverted: libvirt called it risky ({message}) and it was not forced{safety_note}"
                ))
            }
            _ => {
                return Err(format!(
                    "not reverted: libvirt refused: {message}. A forced revert (--force) may succeed, \
                     at the cost libvirt names{safety_note}"
                ))
            }
        }
    }
    let now = dom
        .info()
        .map(|i| inventory::state_from_virt(&i.state).label())
        .unwrap_or("in an unknown state");
    // Memory state brings back the snapshot's clock: set it from the host's (or say it is stale).
    let clock_note = crate::libvirt::guest::sync_clock_after_revert(&dom, &snap);
    Ok(format!(
        "reverted {} to '{}', now {now}{safety_note}{clock_note}",
        job.domain, job.snapshot
    ))
}

fn force_question(job: &RevertJob, reason: &str) -> JobQuestion {
    JobQuestion {
        // One paragraph: the question box wraps it (a newline would make it a diff view).
        text: format!(
            "libvirt refused to revert {} to '{}': {}. Forcing may still work, but can start \
             the VM from a state its current configuration does not match. Force the revert?",
            job.domain,
            job.snapshot,
            reason.split_whitespace().collect::<Vec<_>>().join(" ")
        ),
        yes: "force revert".into(),
        no: "keep the current state".into(),
    }
}

/// Plans the safety snapshot with the create strategy: memory state where it can be saved,
/// disk-only where it is blocked. Returns the name actually used (made unique) and the plan;
/// None when there is nothing to keep (a shut-off VM without writable disks).
pub fn safety_plan(
    conn: &Connect,
    dom: &Domain,
    base_name: &str,
    target: &str,
) -> Result<Option<(String, SnapshotPlan)>, String> {
    let info = dom.info().map_err(|e| e.message().to_string())?;
    let state = inventory::state_from_virt(&info.state);
    let persistent = read_config(dom, VIR_DOMAIN_XML_INACTIVE)?;
    let live = if state.is_active() {
        Some(read_config(dom, 0)?)
    } else {
        None
    };
    let caps = conn
        .capabilities()
        .ok()
        .and_then(|xml| HostCapabilities::from_xml(&xml).ok());
    let verdict = evaluate(&RuleInput {
        persistent: &persistent,
        live: live.as_ref(),
        host: caps.as_ref(),
        state,
        libvirt_version: conn.lib_version().map_or(0, u64::from),
    });
    let name = unique_name(dom, base_name);
    let config = live.as_ref().unwrap_or(&persistent);
    let memory_dir = memory_dir(config);
    let with_memory = verdict.memory.applicable && verdict.memory.allowed;
    let plan_with = |memory: bool| {
        plan_create(
            config,
            state,
            memory,
            false,
            verdict.memory.internal,
            verdict.memory.external,
            &name,
            &memory_dir,
        )
    };
    let mut plan = match plan_with(with_memory) {
        Ok(plan) => plan,
        Err(_) if with_memory => plan_with(false).map_err(|e| e.to_string())?,
        Err(PlanError::NothingToCapture) if !state.is_active() => return Ok(None),
        Err(e) => return Err(e.to_string()),
    };
    let mut description = format!("Taken by virtsnap before reverting to '{target}'.");
    if state == DomainState::Running && !plan.memory {
        description.push_str(" Disk-only: memory state could not be saved.");
    }
    plan.request.description = Some(description);
    Ok(Some((name, plan)))
}

fn read_config(dom: &Domain, flags: u32) -> Result<DomainConfig, String> {
    let xml = dom
        .xml_desc(flags)
        .map_err(|e| format!("reading the definition: {}", e.message()))?;
    DomainConfig::from_xml(&xml).map_err(|e| format!("reading the definition: {e}"))
}

/// Memory files go next to the first writable disk, where the admin keeps this VM's data.
pub fn memory_dir(config: &DomainConfig) -> PathBuf {
    config
        .disks
        .iter()
        .filter(|d| d.is_writable())
        .find_map(|d| d.source.as_deref())
        .and_then(|s| PathBuf::from(s).parent().map(PathBuf::from))
        .unwrap_or_else(crate::libvirt::connection::state_dir)
}

/// `base`, or `base-2`, `base-3`... when a snapshot of that name exists.
fn unique_name(dom: &Domain, base: &str) -> String {
    let taken = |n: &str| Domain::lookup_snapshot_by_name(dom, n, 0).is_ok();
    if !taken(base) {
        return base.to_string();
    }
    (2..1000)
        .map(|i| format!("{base}-{i}"))
        .find(|n| !taken(n))
        .unwrap_or_else(|| format!("{base}-{}", std::process::id()))
}
