//! Creating a snapshot: the rule and the plan decide before libvirt is asked; a memory snapshot
//! reports libvirt's job statistics while it runs; a failure leaves no stray overlay behind.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;
use virt::connect::Connect;
use virt::domain::Domain;
use virt::sys;

use super::JobContext;
use crate::libvirt::{inventory, storage};
use crate::model::snapshot::{SnapshotLocation, SnapshotPlan};
use crate::model::storage::{decide_create, CreateDenied, CreateIntent, Layout};
use crate::model::{explain_libvirt_error, DomainConfig, HostCapabilities, RuleInput};

/// What the user asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateJob {
    pub domain: String,
    pub name: String,
    pub description: Option<String>,
    pub memory: bool,
    pub quiesce: bool,
    /// The kind the admin confirmed when it differs from the tree's (None: follow the tree).
    pub location: Option<SnapshotLocation>,
}

/// What was created, for the confirmation and `--json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Created {
    pub domain: String,
    pub name: String,
    pub location: SnapshotLocation,
    pub memory: bool,
    /// Overlay files and the memory file, for external snapshots.
    pub files: Vec<PathBuf>,
    pub summary: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreateError {
    /// virtsnap said no before anything was sent to libvirt.
    Refused(String),
    /// libvirt failed; the text says what was done and what was cleaned up.
    Failed(String),
    /// A quiesced snapshot failed because the guest could not freeze its file systems;
    /// nothing was made and a crash-consistent snapshot may be offered instead.
    QuiesceFailed(super::quiesce::QuiesceFailure),
}

impl CreateError {
    pub fn text(&self) -> &str {
        match self {
            Self::Refused(t) | Self::Failed(t) => t,
            Self::QuiesceFailed(f) => &f.text,
        }
    }
}

/// The domain as read just before creating: what the rule and the plan looked at.
pub struct Prepared {
    pub domain: Domain,
    pub plan: SnapshotPlan,
    pub xml: String,
    pub layout: Layout,
    persistent: DomainConfig,
    host: Option<HostCapabilities>,
}

impl Prepared {
    fn rule_input(&self) -> RuleInput<'_> {
        RuleInput {
            persistent: &self.persistent,
            live: self.layout.active().then_some(&self.layout.config),
            host: self.host.as_ref(),
            state: self.layout.state,
            libvirt_version: self.layout.libvirt_version,
        }
    }
}

// The verdict of a domain's storage facts is pure and lives in the model, where the TUI's bulk
// dialog decides with it too; the jobs, the CLI and the tests still reach it here.
pub use crate::model::bulk::verdict_for;

/// Reads the domain, applies the rule, validates the name and plans (the one create decision,
/// `model::storage::decide_create`); sends nothing that changes the VM.
pub fn prepare(conn: &Connect, job: &CreateJob) -> Result<Prepared, CreateError> {
    let domain =
        inventory::lookup(conn, &job.domain).map_err(|e| CreateError::Failed(e.to_string()))?;
    let facts = storage::read_facts_of(conn, &domain, &job.domain)
        .map_err(|e| CreateError::Failed(e.to_string()))?;
    let layout = Layout::new(&facts);
    let host = conn
        .capabilities()
        .ok()
        .and_then(|x| HostCapabilities::from_xml(&x).ok());
    let verdict = verdict_for(&layout, host.as_ref());
    let intent = CreateIntent {
        name: job.name.clone(),
        memory: job.memory,
        quiesce: job.quiesce,
        location: job.location,
    };
    let plan = decide_create(&layout, &verdict, &intent).map_err(|d| match d {
        CreateDenied::Refused(text) => CreateError::Refused(text),
        CreateDenied::NeedsConfirmation { risk, location } => CreateError::Refused(format!(
            "{risk} Confirm with --kind {} to create it anyway.",
            location.as_str()
        )),
    })?;
    let mut request = plan.request.clone();
    request.description = job.description.clone().filter(|d| !d.is_empty());
    let xml = request
        .to_xml()
        .map_err(|e| CreateError::Refused(format!("the description cannot be stored: {e}")))?;
    let persistent = facts
        .persistent_config
        .clone()
        .unwrap_or_else(|| facts.config.clone());
    Ok(Prepared {
        domain,
        plan,
        xml,
        layout,
        persistent,
        host,
    })
}

/// Free bytes for an unprivileged writer in the file system holding `dir`.
// fsblkcnt_t and c_ulong are narrower than u64 on some targets.
#[allow(clippy::useless_conversion)]
pub fn free_bytes(dir: &Path) -> Option<u64> {
    let st = nix::sys::statvfs::statvfs(dir).ok()?;
    Some(u64::from(st.blocks_available()).saturating_mul(u64::from(st.fragment_size())))
}

/// Creates the prepared snapshot; on failure removes any overlay or memory file libvirt made
/// and left unreferenced.
pub fn execute(ctx: &JobContext, p: &Prepared, domain_name: &str) -> Result<Created, CreateError> {
    let plan = &p.plan;
    let name = &plan.request.name;
    let files: Vec<PathBuf> = plan
        .overlay_files
        .iter()
        .chain(plan.memory_file.iter())
        .cloned()
        .collect();
    let existed: HashSet<PathBuf> = files.iter().filter(|f| f.exists()).cloned().collect();
    if let Some(clash) = plan.overlay_files.iter().find(|f| existed.contains(*f)) {
        return Err(CreateError::Refused(format!(
            "{} already exists; choose another snapshot name",
            clash.display()
        )));
    }
    if let (Some(file), true) = (&plan.memory_file, p.layout.local) {
        let need = p.layout.config.memory_kib.saturating_mul(1024);
        let dir = file.parent().unwrap_or(Path::new("/"));
        if let Some(free) = free_bytes(dir).filter(|&f| f < need) {
            return Err(CreateError::Refused(format!(
                "the memory file needs about {} but {} has {} free",
                human_bytes(need),
                dir.display(),
                human_bytes(free)
            )));
        }
    }
    ctx.step(format!("creating {}", short_kind(plan)));
    let result = if plan.memory {
        let reports_bytes = plan.location == SnapshotLocation::External;
        create_with_progress(ctx, &p.domain, &p.xml, plan.flags, reports_bytes)
    } else {
        p.domain
            .create_snapshot_xml(&p.xml, plan.flags)
            .map(|_| ())
            .map_err(|e| e.message().to_string())
    };
    match result {
        Ok(()) => Ok(Created {
            domain: domain_name.to_owned(),
            name: name.clone(),
            location: plan.location,
            memory: plan.memory,
            files,
            summary: plan.summary.clone(),
        }),
        Err(message) => {
            let cleaned = remove_strays(&p.domain, &files, &existed);
            if plan.flags & sys::VIR_DOMAIN_SNAPSHOT_CREATE_QUIESCE != 0
                && super::quiesce::is_freeze_failure(&message)
            {
                return Err(CreateError::QuiesceFailed(
                    super::quiesce::after_failed_freeze(
                        &p.domain,
                        domain_name,
                        name,
                        &message,
                        &cleaned,
                    ),
                ));
            }
            let lost = lost_vm(&p.domain, p.layout.active(), &message);
            let mut text = match lost {
                Some(how) => lost_vm_text(p, domain_name, how, &message),
                None => explain_libvirt_error(&message, &p.rule_input()).unwrap_or_else(|| {
                    format!("creating snapshot '{name}' of {domain_name} failed: {message}")
                }),
            };
            if !cleaned.is_empty() {
                let list: Vec<String> = cleaned.iter().map(|f| f.display().to_string()).collect();
                text.push_str(&format!(
                    "\n(removed the unused file(s) libvirt left: {})",
                    list.join(", ")
                ));
            }
            Err(CreateError::Failed(text))
        }
    }
}

/// How the VM stopped if it was running when the job began and is not now (QEMU crashed or was
/// killed during the snapshot): libvirt's words for it.
fn lost_vm(domain: &Domain, was_active: bool, message: &str) -> Option<&'static str> {
    use virt::domain::{DomainShutoffReason, DomainState, DomainStateReason};
    use virt::enumutil::Enum;
    if !was_active {
        return None;
    }
    // libvirt reports the broken monitor before it has reaped QEMU and marked the domain
    // shut off (measured: a race of a few hundred ms); give it a moment when the error says so.
    let monitor_lost = ["monitor", "Connection reset", "not running", "unexpectedly"]
        .iter()
        .any(|w| message.contains(w));
    let mut tries = if monitor_lost { 50 } else { 1 };
    while domain.is_active().unwrap_or(true) {
        tries -= 1;
        if tries == 0 {
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Some(match domain.state().ok() {
        Some((Enum::Known(DomainState::Crashed), _)) => "crashed",
        Some((
            _,
            Enum::Known(DomainStateReason::Shutoff(Enum::Known(DomainShutoffReason::Crashed))),
        )) => "crashed",
        Some((
            _,
            Enum::Known(DomainStateReason::Shutoff(Enum::Known(DomainShutoffReason::Destroyed))),
        )) => "forced off",
        _ => "shut off",
    })
}

/// What happened when the VM went away mid-snapshot: it stopped, no snapshot exists, and
/// what is left behind.
fn lost_vm_text(p: &Prepared, domain_name: &str, how: &str, message: &str) -> String {
    let name = &p.plan.request.name;
    let listed = Domain::lookup_snapshot_by_name(&p.domain, name, 0).is_ok();
    let mut text = format!(
        "{domain_name} stopped ({how}) during the snapshot: QEMU exited before it finished \
         (libvirt: {message}). "
    );
    if listed {
        text.push_str(&format!(
            "libvirt still lists a snapshot '{name}': check it before relying on it."
        ));
    } else {
        text.push_str(&format!("No snapshot '{name}' was created."));
    }
    if p.plan.location == SnapshotLocation::Internal && p.layout.local {
        let images: Vec<String> = p
            .layout
            .disks
            .iter()
            .filter(|d| d.writable)
            .filter_map(|d| d.top.clone())
            .collect();
        for image in images {
            if let Some(leaked) = leaked_bytes(&image) {
                text.push_str(&format!(
                    " {image} holds {} of leaked clusters from the aborted save; with the VM \
                     shut off, `qemu-img check -r leaks {image}` frees them.",
                    human_bytes(leaked)
                ));
            }
        }
    }
    text.push_str(&format!(
        " Start {domain_name} again when ready (it boots fresh)."
    ));
    text
}

/// Leaked clusters in a qcow2 image, in bytes (`qemu-img check`, read-only; the VM is down).
fn leaked_bytes(image: &str) -> Option<u64> {
    let out = std::process::Command::new("qemu-img")
        .args(["check", "--output=json", "-U", image])
        .output()
        .ok()?;
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    let leaks = v.get("leaks")?.as_u64()?;
    let cluster = v
        .get("cluster-size")
        .and_then(|c| c.as_u64())
        .unwrap_or(65536);
    (leaks > 0).then_some(leaks * cluster)
}

/// Runs the create call on a second thread and polls libvirt's job statistics for the gauge.
///
/// Each query and each abort runs on a thread of its own. libvirt can hold a query, or an
/// abort, that arrives while the snapshot job does not yet accept one until the whole
/// snapshot is done (measured: a query sent 10 ms in returned with the snapshot 0.8 s later,
/// while queries sent after it returned every 10 ms). Waiting on such a call here would
/// leave the gauge empty and a cancel unsent; instead a new query goes out while at most
/// [`MAX_QUERIES`] are held, and a held abort is asked again.
fn create_with_progress(
    ctx: &JobContext,
    domain: &Domain,
    xml: &str,
    flags: u32,
    reports_bytes: bool,
) -> Result<(), String> {
    use std::sync::mpsc;
    std::thread::scope(|scope| {
        let call = scope.spawn(|| {
            domain
                .create_snapshot_xml(xml, flags)
                .map(|_| ())
                .map_err(|e| e.message().to_string())
        });
        let (sample_tx, samples) = mpsc::channel::<Option<(u64, u64)>>();
        let (abort_tx, abort_results) = mpsc::channel::<Result<(), String>>();
        let started = std::time::Instant::now();
        let mut shown: Option<(u64, u64)> = None;
        let mut queries = Outstanding::default();
        let mut aborts = Outstanding::default();
        let mut aborted = false;
        let mut abort_error = None;
        // When the bytes written last moved. An external memory snapshot reports them from
        // its start (libvirt's migration statistics): none for STALLED_AFTER means QEMU is
        // not writing (stopped, or its disk hung), said once. An internal save (QMP
        // snapshot-save) reports none at all: it is only said to be still running.
        let mut last_progress = std::time::Instant::now();
        let mut stall_said = false;
        while !call.is_finished() {
            if !stall_said && last_progress.elapsed() >= STALLED_AFTER {
                stall_said = true;
                ctx.step(if reports_bytes {
                    format!(
                        "no progress for {} s: QEMU is not writing the memory state (stopped, \
                         or its disk hung); still waiting (Ctrl-X cancels)",
                        STALLED_AFTER.as_secs()
                    )
                } else {
                    format!(
                        "still saving after {} s (libvirt reports no progress for an internal \
                         snapshot; a large VM takes a while, a stopped QEMU forever: Ctrl-X cancels)",
                        STALLED_AFTER.as_secs()
                    )
                });
            }
            for sample in samples.try_iter() {
                queries.answered();
                // Answers can come out of order (a held query answers last): only forward.
                let Some((done, total)) = sample else {
                    continue;
                };
                if shown.is_none_or(|(d, t)| done > d || total != t) {
                    ctx.bytes(done, total);
                    shown = Some((done, total));
                    last_progress = std::time::Instant::now();
                }
            }
            if queries.may_send() {
                let tx = sample_tx.clone();
                scope.spawn(move || {
                    let _ = tx.send(job_progress(domain));
                });
                queries.sent();
            }
            for result in abort_results.try_iter() {
                aborts.answered();
                match result {
                    Ok(()) => {
                        aborted = true;
                        ctx.step("cancelling: libvirt is aborting the snapshot");
                    }
                    Err(why) => abort_error = Some(why),
                }
            }
            // A cancel may come before libvirt's job exists ("no job is active"), or while
            // libvirt holds an abort back: keep asking until one lands or the snapshot is done.
            if ctx.is_cancelled() && !aborted && aborts.may_send() {
                let tx = abort_tx.clone();
                scope.spawn(move || {
                    let _ = tx.send(crate::libvirt::events::abort_job(domain));
                });
                aborts.sent();
            }
            // The memory of a mostly idle VM is written in well under a second: look often
            // at first, then ease off.
            let nap = if started.elapsed() < Duration::from_secs(2) {
                10
            } else {
                200
            };
            ctx.sleep(Duration::from_millis(nap));
        }
        // An abort answered after the snapshot finished still counts as landed.
        for result in abort_results.try_iter() {
            if result.is_ok() {
                aborted = true;
            }
        }
        if ctx.is_cancelled() && !aborted {
            let why = abort_error.unwrap_or_else(|| "it finished first".into());
            ctx.step(format!(
                "could not be cancelled ({why}): the snapshot was completed"
            ));
        }
        call.join()
            .unwrap_or_else(|_| Err("the snapshot call panicked".to_owned()))
    })
}

/// A memory snapshot whose job shows no progress for this long is reported as stalled.
const STALLED_AFTER: Duration = Duration::from_secs(10);

/// Queries (and, apart, aborts) that may be held by libvirt at once; each holds a daemon
/// worker thread until the snapshot ends.
const MAX_QUERIES: usize = 4;
/// A query or abort not answered within this is taken as held, and another is sent.
const QUERY_HELD_AFTER: Duration = Duration::from_millis(100);

/// Calls of one kind (queries, or aborts) sent and not yet answered.
#[derive(Default)]
struct Outstanding {
    count: usize,
    last_sent: Option<std::time::Instant>,
}

impl Outstanding {
    /// None out, or the last one held and room for another.
    fn may_send(&self) -> bool {
        let held = self
            .last_sent
            .is_some_and(|t| t.elapsed() >= QUERY_HELD_AFTER);
        self.count == 0 || (held && self.count < MAX_QUERIES)
    }

    fn sent(&mut self) {
        self.count += 1;
        self.last_sent = Some(std::time::Instant::now());
    }

    fn answered(&mut self) {
        self.count -= 1;
    }
}

/// (bytes written, bytes to write) of the domain's job now, if it reports any.
fn job_progress(domain: &Domain) -> Option<(u64, u64)> {
    // job_info, not job_stats: virt 0.5's job_stats builds a Vec from libvirt's null pointer
    // when no job is active (between calls), which aborts the process.
    let stats = domain.job_info().ok()?;
    let pick = |total: Option<u64>, done: Option<u64>| {
        total.filter(|&t| t > 0).map(|t| (done.unwrap_or(0), t))
    };
    pick(stats.mem_total, stats.mem_processed)
        .or_else(|| pick(stats.data_total, stats.data_processed))
}

/// Deletes planned files that appeared during a failed create and that the domain does not use.
pub fn remove_strays(
    domain: &Domain,
    files: &[PathBuf],
    existed: &HashSet<PathBuf>,
) -> Vec<PathBuf> {
    let in_use: HashSet<String> = [0, sys::VIR_DOMAIN_XML_INACTIVE]
        .iter()
        .filter_map(|&flags| domain.xml_desc(flags).ok())
        .filter_map(|xml| DomainConfig::from_xml(&xml).ok())
        .flat_map(|cfg| cfg.disks.into_iter().filter_map(|d| d.source))
        .collect();
    let mut removed = Vec::new();
    for f in files {
        let used = f.to_str().is_some_and(|s| in_use.contains(s));
        if !existed.contains(f) && f.exists() && !used && std::fs::remove_file(f).is_ok() {
            removed.push(f.clone());
        }
    }
    removed
}

fn short_kind(plan: &SnapshotPlan) -> &'static str {
    match (plan.location, plan.memory) {
        (SnapshotLocation::Internal, true) => "internal snapshot with memory",
        (SnapshotLocation::Internal, false) => "internal disk snapshot",
        (_, true) => "external snapshot with memory",
        (_, false) => "external disk-only snapshot",
    }
}

/// "1.5 GiB".
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

/// Creates a snapshot; Ok is the confirmation line.
pub fn create(ctx: &JobContext, job: &CreateJob) -> Result<Created, CreateError> {
    ctx.step(format!("checking {}", job.domain));
    // libvirt keeps no trace of QUIESCE in the snapshot: the description carries it.
    let prepared = prepare(ctx.conn, &super::quiesce::mark_quiesced(job))?;
    execute(ctx, &prepared, &job.domain)
}

pub fn run(ctx: &JobContext, job: &CreateJob) -> Result<String, String> {
    match create(ctx, job) {
        Ok(c) => Ok(confirmation(&c)),
        Err(CreateError::QuiesceFailed(f)) => super::quiesce::offer_crash_consistent(ctx, job, &f),
        Err(e) => Err(e.text().to_owned()),
    }
}

pub fn confirmation(c: &Created) -> String {
    let kind = match (c.location, c.memory) {
        (SnapshotLocation::Internal, true) => "internal, with memory",
        (SnapshotLocation::Internal, false) => "internal, disks only",
        (_, true) => "external, with memory",
        (_, false) => "external, disks only",
    };
    format!("created snapshot '{}' of {} ({kind})", c.name, c.domain)
}
