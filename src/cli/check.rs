//! `virtsnap check DOMAIN [--json]`: can this VM's memory state be captured, and if not, why
//! and what to do. Exit code 0 whatever the verdict; 1 when the domain does not exist.

use serde::Serialize;

use super::{print_out, CliError, Fleet, Target};
use crate::libvirt::{inventory, open, storage, ConnectOptions, VirtError};
use crate::model::inventory::{DomainInfo, HostInfo};
use crate::model::snapshot::{SnapshotLocation, SnapshotPlan};
use crate::model::storage::{decide_create, CreateDenied, CreateIntent, Layout};
use crate::model::{DiskOnlyVerdict, DomainState, MemoryVerdict, Verdict};

#[derive(Debug, Serialize)]
pub struct CheckReport {
    /// The host the domain is on (its `[[host]]` name, or made from its URI).
    pub host: String,
    pub domain: String,
    pub state: DomainState,
    pub memory_snapshot: MemoryVerdict,
    pub disk_only_snapshot: DiskOnlyVerdict,
    /// The text a person reads: the explanation when memory state is blocked.
    pub explanation: Option<String>,
    /// What `snapshot create` would do now, from the same decision it makes
    /// (`model::storage::decide_create`): with memory (None when not applicable), disk-only.
    pub plans: Plans,
}

#[derive(Debug, Serialize)]
pub struct Plans {
    pub memory: Option<PlanOutcome>,
    pub disk_only: PlanOutcome,
}

/// One create decision, as `check` reports it.
#[derive(Debug, Serialize)]
pub struct PlanOutcome {
    pub possible: bool,
    /// `internal` or `external` when possible.
    pub kind: Option<SnapshotLocation>,
    pub summary: Option<String>,
    /// Why not, or what needs confirming (mixing kinds).
    pub reason: Option<String>,
    /// Possible only as the other kind than the tree uses (`snapshot create --kind`).
    pub needs_confirmation: bool,
    pub warnings: Vec<String>,
}

impl PlanOutcome {
    fn of(decision: Result<SnapshotPlan, CreateDenied>) -> Self {
        match decision {
            Ok(p) => PlanOutcome {
                possible: true,
                kind: Some(p.location),
                summary: Some(p.summary),
                reason: None,
                needs_confirmation: false,
                warnings: p.warnings,
            },
            Err(CreateDenied::NeedsConfirmation { risk, location }) => PlanOutcome {
                possible: true,
                kind: Some(location),
                summary: None,
                reason: Some(risk),
                needs_confirmation: true,
                warnings: Vec::new(),
            },
            Err(CreateDenied::Refused(why)) => PlanOutcome {
                possible: false,
                kind: None,
                summary: None,
                reason: Some(why),
                needs_confirmation: false,
                warnings: Vec::new(),
            },
        }
    }
}

/// The create decisions `snapshot create` would make now, with and without memory.
pub fn plans(layout: &Layout, verdict: &Verdict) -> Plans {
    let intent = |memory| CreateIntent {
        name: "check".into(),
        memory,
        quiesce: false,
        location: None,
    };
    Plans {
        memory: verdict
            .memory
            .applicable
            .then(|| PlanOutcome::of(decide_create(layout, verdict, &intent(true)))),
        disk_only: PlanOutcome::of(decide_create(layout, verdict, &intent(false))),
    }
}

/// Reads one domain and the host, as the list does.
pub fn read_domain(target: &Target, name: &str) -> Result<(HostInfo, DomainInfo), CliError> {
    Ok(read_domain_on(&target.connect, name)?)
}

/// [`read_domain`] on one connection, with libvirt's error kept (`NoDomain` tells a host
/// without the domain from a host that failed).
pub fn read_domain_on(
    connect: &ConnectOptions,
    name: &str,
) -> Result<(HostInfo, DomainInfo), VirtError> {
    let conn = open(connect)?;
    let host = inventory::host_info(&conn, connect.readonly, None)?;
    let domain = inventory::lookup(&conn, name)?;
    let mut row = DomainInfo::named(name.to_string(), domain.uuid_string().unwrap_or_default());
    inventory::fetch_details(&domain, &mut row);
    Ok((host, row))
}

/// What `check` reads on one host: the domain's row and its storage model.
fn read_check_on(
    connect: &ConnectOptions,
    name: &str,
) -> Result<(HostInfo, DomainInfo, Layout), VirtError> {
    let (host, row) = read_domain_on(connect, name)?;
    let conn = open(connect)?;
    let layout = storage::read_layout(&conn, name)?;
    Ok((host, row, layout))
}

pub fn verdict_of(host: &HostInfo, row: &DomainInfo) -> Result<(DomainState, Verdict), CliError> {
    let detail = || row.error.clone().unwrap_or_else(|| "no details".into());
    let state = row.state.ok_or_else(|| {
        CliError::Runtime(format!("cannot read {}'s state: {}", row.name, detail()))
    })?;
    let verdict = row.verdict(host).ok_or_else(|| {
        CliError::Runtime(format!(
            "cannot read {}'s definition: {}",
            row.name,
            detail()
        ))
    })?;
    Ok((state, verdict))
}

/// The report of one domain on one host, from what [`run`] reads.
fn report(
    host_name: String,
    host: &HostInfo,
    row: &DomainInfo,
    layout: &Layout,
) -> Result<CheckReport, CliError> {
    let (state, verdict) = verdict_of(host, row)?;
    let plans = plans(layout, &verdict);
    // One decision: whether a disk-only snapshot is possible is what `snapshot create` decides.
    let mut disk_only = verdict.disk_only.clone();
    disk_only.allowed = plans.disk_only.possible;
    if !plans.disk_only.possible {
        disk_only.reason = plans.disk_only.reason.clone();
    }
    Ok(CheckReport {
        host: host_name,
        domain: row.name.clone(),
        state,
        explanation: verdict.memory.explanation(),
        memory_snapshot: verdict.memory,
        disk_only_snapshot: disk_only,
        plans,
    })
}

/// What `check NAME` reports on one connection (`host_name` labels it), without printing:
/// for a test that holds the connection's embedded root, where the binary cannot run.
pub fn check_on(
    connect: &ConnectOptions,
    host_name: &str,
    name: &str,
) -> Result<CheckReport, CliError> {
    let (host, row, layout) = read_check_on(connect, name)?;
    report(host_name.to_string(), &host, &row, &layout)
}

/// Checks DOMAIN on every host that has it. One host: a JSON object, as always. Several: a
/// JSON array with a report per host that has the domain (text: one block per host); a host
/// that could not be asked is named on stderr, and exit code 1 follows when none had it.
pub fn run(fleet: &Fleet, name: &str, json: bool) -> Result<(), CliError> {
    let mut reports = Vec::new();
    let mut failed = Vec::new();
    let results = fleet.read_all(|c| read_check_on(c, name).map_err(Into::into));
    for (host_name, result) in results {
        let (host, row, layout) = match result {
            Ok(found) => found,
            Err(e) if !fleet.several() => return Err(e),
            Err(e) => {
                let absent = e.to_string().starts_with("no domain named");
                if !absent {
                    failed.push(format!("{host_name}: {e}"));
                }
                continue;
            }
        };
        reports.push(report(host_name, &host, &row, &layout)?);
    }
    for f in &failed {
        crate::err_println!("virtsnap: not checked on {f}");
    }
    if reports.is_empty() {
        let names: Vec<&str> = fleet.hosts.iter().map(|(n, _)| n.as_str()).collect();
        return Err(CliError::Runtime(format!(
            "no domain named '{name}' on {}",
            names.join(", ")
        )));
    }
    let text = match (json, fleet.several()) {
        (true, false) => serde_json::to_string_pretty(&reports[0])? + "\n",
        (true, true) => serde_json::to_string_pretty(&reports)? + "\n",
        (false, false) => render_text(&reports[0]),
        (false, true) => reports
            .iter()
            .map(|r| format!("== {} ==\n{}", r.host, render_text(r)))
            .collect::<Vec<_>>()
            .join("\n"),
    };
    print_out(&text)
}

/// "Disk-only: external disk-only snapshot: vda -> ...".
fn plan_text(what: &str, p: &PlanOutcome) -> String {
    let mut out = match (&p.summary, &p.reason) {
        (Some(s), _) => format!("{what}: {s}\n"),
        (None, Some(r)) if p.needs_confirmation => {
            format!("{what}: possible after confirming: {r}\n")
        }
        (None, Some(r)) => format!("{what}: not possible: {r}\n"),
        (None, None) => format!("{what}: not possible\n"),
    };
    for w in &p.warnings {
        out.push_str(&format!("  Note: {w}\n"));
    }
    out
}

/// The text `check` prints for one report.
pub fn render_text(r: &CheckReport) -> String {
    let mut out = format!("{} ({})\n\n", r.domain, r.state.label());
    let m = &r.memory_snapshot;
    if !m.applicable {
        out.push_str(
            "Memory state: not applicable: the VM is not running. A snapshot captures its disks \
             and is always possible.\n",
        );
    } else if m.allowed {
        let kind = match (m.internal, m.external) {
            (true, true) => "internal or external",
            (true, false) => "internal",
            _ => "external",
        };
        out.push_str(&format!(
            "Memory state: can be captured ({kind} snapshot).\n"
        ));
    } else {
        out.push_str("Memory state: BLOCKED\n\n");
        if let Some(text) = &r.explanation {
            out.push_str(text);
            out.push('\n');
        }
    }
    // Guest- or back-end-dependent blockers: allowed now, refused later or elsewhere.
    for warning in m.conditional_blockers.iter().filter(|_| m.applicable) {
        out.push_str(&format!("Warning: {}\n", warning.message));
    }
    for note in m.notes.iter().filter(|_| m.applicable) {
        out.push_str(&format!("Note: {note}\n"));
    }
    let d = &r.disk_only_snapshot;
    out.push('\n');
    if let Some(plan) = &r.plans.memory {
        // A blocked memory state was explained in full above: the plan's refusal carries the
        // same explanation, so it is not printed twice.
        let explained_above = m.applicable && !m.allowed && r.explanation.is_some();
        if explained_above && plan.summary.is_none() {
            out.push_str("With memory: not possible (the memory state is blocked, above)\n");
        } else {
            out.push_str(&plan_text("With memory", plan));
        }
    }
    out.push_str(&plan_text("Disk-only", &r.plans.disk_only));
    if d.quiesce {
        out.push_str("Quiesce: possible (guest agent connected).\n");
    } else if let Some(why) = &d.quiesce_reason {
        out.push_str(&format!("Quiesce: not possible: {why}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{evaluate, DomainConfig, RuleInput};

    #[test]
    fn a_conditional_blocker_is_a_warning_in_text_and_a_field_in_json() {
        let xml = "<domain type='kvm'><name>share9p</name><devices>\
                   <disk type='file' device='disk'><driver type='qcow2'/>\
                   <source file='/a.qcow2'/><target dev='vda'/></disk>\
                   <filesystem type='mount' accessmode='passthrough'><driver type='path'/>\
                   <source dir='/srv'/><target dir='tag'/></filesystem></devices></domain>";
        let cfg = DomainConfig::from_xml(xml).unwrap();
        let verdict = evaluate(&RuleInput {
            persistent: &cfg,
            live: Some(&cfg),
            host: None,
            state: DomainState::Running,
            libvirt_version: 11_003_000,
        });
        let report = CheckReport {
            host: "local".into(),
            domain: cfg.name.clone(),
            state: DomainState::Running,
            explanation: verdict.memory.explanation(),
            memory_snapshot: verdict.memory,
            disk_only_snapshot: verdict.disk_only,
            plans: Plans {
                memory: None,
                disk_only: PlanOutcome::of(Err(CreateDenied::Refused("test".into()))),
            },
        };
        let text = render_text(&report);
        assert!(
            text.starts_with(
                "share9p (running)\n\n\
                 Memory state: can be captured (internal or external snapshot).\n\
                 Warning: Memory state can be captured now, but QEMU will refuse it once the \
                 guest mounts the 9p share 'tag'.\n"
            ),
            "{text}"
        );
        let json = serde_json::to_value(&report).unwrap();
        let warning = &json["memory_snapshot"]["conditional_blockers"][0];
        assert_eq!(warning["kind"], "9p");
        assert_eq!(warning["depends_on"], "guest");
    }

    #[test]
    fn a_blocked_memory_state_is_explained_once() {
        let xml = "<domain type='kvm'><name>pt</name><cpu mode='host-passthrough' \
                   migratable='off'/><devices><disk type='file' device='disk'>\
                   <driver type='qcow2'/><source file='/a.qcow2'/><target dev='vda'/></disk>\
                   </devices></domain>";
        let cfg = DomainConfig::from_xml(xml).unwrap();
        let host = crate::model::HostCapabilities::from_xml(
            "<capabilities><host><cpu><arch>x86_64</arch><model>Skylake-Client</model>\
             <feature name='invtsc'/><counter name='tsc' frequency='2000000000' \
             scaling='no'/></cpu></host></capabilities>",
        )
        .unwrap();
        let verdict = evaluate(&RuleInput {
            persistent: &cfg,
            live: Some(&cfg),
            host: Some(&host),
            state: DomainState::Running,
            libvirt_version: 11_003_000,
        });
        assert!(!verdict.memory.allowed, "{verdict:?}");
        let explanation = verdict.memory.explanation().expect("explanation");
        let report = CheckReport {
            host: "local".into(),
            domain: cfg.name.clone(),
            state: DomainState::Running,
            explanation: Some(explanation.clone()),
            memory_snapshot: verdict.memory,
            disk_only_snapshot: verdict.disk_only,
            plans: Plans {
                memory: Some(PlanOutcome::of(Err(CreateDenied::Refused(
                    explanation.clone(),
                )))),
                disk_only: PlanOutcome::of(Err(CreateDenied::Refused("test".into()))),
            },
        };
        let text = render_text(&report);
        assert_eq!(text.matches(explanation.as_str()).count(), 1, "{text}");
        assert!(
            text.contains("With memory: not possible (the memory state is blocked, above)"),
            "{text}"
        );
    }
}
