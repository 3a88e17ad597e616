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
use crate::libvirt::inventory;
use crate::model::snapshot::{plan_create, validate_name, SnapshotLocation, SnapshotPlan};
use crate::model::{
    evaluate, explain_libvirt_error, DomainConfig, DomainState, HostCapabilities, RuleInput,
};

/// What the user asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateJob {
    pub domain: String,
    pub name: String,
    pub description: Option<String>,
    pub memory: bool,
    pub quiesce: bool,
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
    persistent: DomainConfig,
    live: Option<DomainConfig>,
    host: Option<HostCapabilities>,
    state: DomainState,
    libvirt_version: u64,
    memory_kib: u64,
}

impl Prepared {
    fn rule_input(&self) -> RuleInput<'_> {
        RuleInput {
            persistent: &self.persistent,
            live: self.live.as_ref(),
            host: self.host.as_ref(),
            state: self.state,
            libvirt_version: self.libvirt_version,
        }
    }
}

/// Reads the domain, applies the rule, validates the name and plans; sends nothing that
/// changes the VM.
pub fn prepare(conn: &Connect, job: &CreateJob) -> Result<Prepared, CreateError> {
    let failed = |what: &str, e: virt::error::Error| {
        CreateError::Failed(format!("{what} of {}: {}", job.domain, e.message()))
    };
    let domain =
        inventory::lookup(conn, &job.domain).map_err(|e| CreateError::Failed(e.to_string()))?;
    let state = domain
        .state()
        .map(|(s, _)| inventory::state_from_virt(&s))
        .map_err(|e| failed("reading the state", e))?;
    let parse = |xml: String| {
        DomainConfig::from_xml(&xml).map_err(|e| {
            CreateError::Failed(format!(
                "the definition of {} cannot be read: {e}",
                job.domain
            ))
        })
    };
    let persistent = parse(
        domain
            .xml_desc(sys::VIR_DOMAIN_XML_INACTIVE)
            .map_err(|e| failed("reading the definition", e))?,
    )?;
    let live = if state.is_active() {
        Some(parse(
            domain
                .xml_desc(0)
                .map_err(|e| failed("reading the live definition", e))?,
        )?)
    } else {
        None
    };
    let host = conn
        .capabilities()
        .ok()
        .and_then(|x| HostCapabilities::from_xml(&x).ok());
    let libvirt_version = conn.lib_version().map_or(0, u64::from);
    let verdict = evaluate(&RuleInput {
        persistent: &persistent,
        live: live.as_ref(),
        host: host.as_ref(),
        state,
        libvirt_version,
    });
    if job.memory && !verdict.memory.applicable {
        return Err(CreateError::Refused(format!(
            "{} is {}: there is no memory state to capture; leave memory out and the snapshot captures its disks",
            job.domain,
            state.label()
        )));
    }
    if job.memory && !verdict.memory.allowed {
        let text = verdict.memory.explanation().unwrap_or_else(|| {
            let why: Vec<&str> = verdict
                .memory
                .blockers
                .iter()
                .map(|b| b.message.as_str())
                .collect();
            format!(
                "Memory state of {} cannot be captured: {}",
                job.domain,
                why.join("; ")
            )
        });
        return Err(CreateError::Refused(text));
    }
    if job.quiesce && !verdict.disk_only.quiesce {
        let why = verdict
            .disk_only
            .quiesce_reason
            .clone()
            .unwrap_or_else(|| "no guest agent is connected".into());
        return Err(CreateError::Refused(format!(
            "cannot quiesce {}'s file systems: {why}",
            job.domain
        )));
    }
    if !job.memory && !verdict.disk_only.allowed {
        let why = verdict.disk_only.reason.clone().unwrap_or_default();
        return Err(CreateError::Refused(format!(
            "cannot snapshot {}'s disks: {why}",
            job.domain
        )));
    }
    let existing: Vec<String> = domain
        .list_all_snapshots(0)
        .map_err(|e| failed("listing the snapshots", e))?
        .iter()
        .filter_map(|s| s.name().ok())
        .collect();
    let config = live.as_ref().unwrap_or(&persistent);
    let existing_refs: Vec<&str> = existing.iter().map(String::as_str).collect();
    let sources = overlay_sources(config);
    validate_name(&job.name, &existing_refs, &sources)
        .map_err(|e| CreateError::Refused(format!("snapshot name: {e}")))?;
    let plan = plan_create(
        config,
        state,
        job.memory,
        job.quiesce,
        verdict.memory.internal,
        verdict.memory.external,
        &job.name,
        &memory_dir(config),
    )
    .map_err(|e| CreateError::Refused(e.to_string()))?;
    let mut request = plan.request.clone();
    request.description = job.description.clone().filter(|d| !d.is_empty());
    let xml = request
        .to_xml()
        .map_err(|e| CreateError::Refused(format!("the description cannot be stored: {e}")))?;
    Ok(Prepared {
        domain,
        plan,
        xml,
        memory_kib: config.memory_kib,
        persistent,
        live,
        host,
        state,
        libvirt_version,
    })
}

/// Sources of the disks that get an overlay when the snapshot is external.
pub fn overlay_sources(config: &DomainConfig) -> Vec<&str> {
    config
        .disks
        .iter()
        .filter(|d| d.is_writable())
        .filter_map(|d| d.source.as_deref())
        .collect()
}

/// Where an external memory file goes: next to the first disk, where the admin keeps images.
pub fn memory_dir(config: &DomainConfig) -> PathBuf {
    overlay_sources(config)
        .first()
        .and_then(|s| Path::new(s).parent())
        .map_or_else(
            || PathBuf::from("/var/lib/libvirt/qemu/snapshot"),
            Path::to_path_buf,
        )
}

/// Free bytes for an unprivileged writer in the file system holding `dir`.
// fsblkcnt_t and c_ulong are narrower than u64 on some targets.
#[allow(clippy::useless_conversion)]
pub fn free_bytes(dir: &Path) -> Option<u64> {
    let st = nix::sys::statvfs::statvfs(dir).ok()?;
    Some(u64::from(st.blocks_available()).saturating_mul(u64::from(st.fragment_size())))
}

/// Whether files libvirt writes are on this machine (statvfs here says something about them).
pub fn uri_is_local(uri: &str) -> bool {
    let rest = uri.split_once("://").map_or("", |(_, r)| r);
    let scheme = uri.split("://").next().unwrap_or("");
    !scheme.contains('+') && rest.starts_with('/')
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
    if let (Some(file), true) = (
        &plan.memory_file,
        ctx.conn.uri().is_ok_and(|u| uri_is_local(&u)),
    ) {
        let need = p.memory_kib.saturating_mul(1024);
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
        create_with_progress(ctx, &p.domain, &p.xml, plan.flags)
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
            let mut text = explain_libvirt_error(&message, &p.rule_input()).unwrap_or_else(|| {
                format!("creating snapshot '{name}' of {domain_name} failed: {message}")
            });
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
        while !call.is_finished() {
            for sample in samples.try_iter() {
                queries.answered();
                // Answers can come out of order (a held query answers last): only forward.
                let Some((done, total)) = sample else {
                    continue;
                };
                if shown.is_none_or(|(d, t)| done > d || total != t) {
                    ctx.bytes(done, total);
                    shown = Some((done, total));
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
