//! `virtsnap check DOMAIN [--json]`: can this VM's memory state be captured, and if not, why
//! and what to do. Exit code 0 whatever the verdict; 1 when the domain does not exist.

use serde::Serialize;

use super::{print_out, CliError, Target};
use crate::libvirt::{inventory, open};
use crate::model::inventory::{DomainInfo, HostInfo};
use crate::model::{DiskOnlyVerdict, DomainState, MemoryVerdict, Verdict};

#[derive(Debug, Serialize)]
pub struct CheckReport {
    pub domain: String,
    pub state: DomainState,
    pub memory_snapshot: MemoryVerdict,
    pub disk_only_snapshot: DiskOnlyVerdict,
    /// The text a person reads: the explanation when memory state is blocked.
    pub explanation: Option<String>,
}

/// Reads one domain and the host, as the list does.
pub fn read_domain(target: &Target, name: &str) -> Result<(HostInfo, DomainInfo), CliError> {
    let conn = open(&target.connect)?;
    let host = inventory::host_info(&conn, target.connect.readonly, None)?;
    let domain = inventory::lookup(&conn, name)?;
    let mut row = DomainInfo::named(name.to_string(), domain.uuid_string().unwrap_or_default());
    inventory::fetch_details(&domain, &mut row);
    Ok((host, row))
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

pub fn run(target: &Target, name: &str, json: bool) -> Result<(), CliError> {
    let (host, row) = read_domain(target, name)?;
    let (state, verdict) = verdict_of(&host, &row)?;
    let report = CheckReport {
        domain: row.name.clone(),
        state,
        explanation: verdict.memory.explanation(),
        memory_snapshot: verdict.memory,
        disk_only_snapshot: verdict.disk_only,
    };
    if json {
        let mut text = serde_json::to_string_pretty(&report)?;
        text.push('\n');
        return print_out(&text);
    }
    print_out(&render_text(&report))
}

fn render_text(r: &CheckReport) -> String {
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
    if d.allowed {
        out.push_str("Disk-only snapshot: possible.\n");
    } else {
        let why = d
            .reason
            .as_deref()
            .unwrap_or("libvirt cannot snapshot this disk set-up");
        out.push_str(&format!("Disk-only snapshot: not possible: {why}\n"));
    }
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
            domain: cfg.name.clone(),
            state: DomainState::Running,
            explanation: verdict.memory.explanation(),
            memory_snapshot: verdict.memory,
            disk_only_snapshot: verdict.disk_only,
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
}
