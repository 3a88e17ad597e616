//! `virtsnap list [--json] [--stale-after DAYS]`: every domain with its CPU mode, memory
//! snapshot verdict, and its snapshots' space and age (`model::space`): the total they hold,
//! the oldest, and markers for snapshots older than DAYS and for overlay chains deeper than
//! `model::space::DEEP_CHAIN_OVERLAYS`.

use std::sync::Mutex;

use serde::Serialize;

use super::{print_out, CliError, Fleet};
use crate::libvirt::{inventory, open, space, ConnectOptions};
use crate::model::inventory::{DomainInfo, HostInfo};
use crate::model::space::{VmSpace, DEEP_CHAIN_OVERLAYS};
use crate::model::{CpuMode, DomainState};

#[derive(Debug, Serialize)]
pub struct ListEntry {
    /// The host's name (`[[host]]` name, or made from its URI): which connection this is.
    pub host: String,
    pub name: String,
    pub uuid: String,
    pub state: Option<DomainState>,
    pub vcpus: Option<u32>,
    pub memory_kib: Option<u64>,
    pub snapshots: Option<u32>,
    pub current_snapshot: Option<String>,
    /// The CPU of the definition in effect (the live one while the VM runs).
    pub cpu: Option<CpuEntry>,
    /// What changes at the next start: the persistent definition was edited while the VM
    /// runs. Absent when nothing is pending.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after_restart: Option<AfterRestart>,
    pub memory_snapshot: Option<MemorySnapshotEntry>,
    /// The snapshots' space and age; None when the domain's storage could not be read (see
    /// `space_error`).
    pub space: Option<VmSpace>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub space_error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct CpuEntry {
    pub mode: CpuMode,
    pub model: Option<String>,
    pub migratable: Option<bool>,
    pub invtsc: bool,
    pub tsc_frequency_hz: Option<u64>,
}

#[derive(Debug, Serialize)]
pub struct AfterRestart {
    /// The CPU the next start gets, when it differs.
    pub cpu: Option<CpuEntry>,
    /// Every pending change in words ("vCPUs 2 -> 4", "CPU host-model -> host-passthrough").
    pub changes: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct MemorySnapshotEntry {
    pub allowed: bool,
    pub applicable: bool,
}

impl ListEntry {
    pub fn of(host_name: &str, row: &DomainInfo, host: &HostInfo) -> Self {
        let entry = |b: crate::model::inventory::CpuBadge,
                     c: Option<&crate::model::DomainConfig>| {
            CpuEntry {
                mode: b.mode,
                model: b.model,
                migratable: c.and_then(|c| c.cpu.as_ref()).and_then(|c| c.migratable),
                invtsc: b.invtsc,
                tsc_frequency_hz: c.and_then(|c| c.tsc_frequency_hz),
            }
        };
        let caps = Some(&host.capabilities);
        let cpu = row
            .cpu_badge(caps)
            .map(|b| entry(b, row.effective_config()));
        let changes = row.changes_after_restart();
        let next_cpu = row
            .cpu_after_restart(caps)
            .map(|b| entry(b, row.persistent.as_ref()));
        let after_restart = (!changes.is_empty() || next_cpu.is_some()).then_some(AfterRestart {
            cpu: next_cpu,
            changes,
        });
        let memory_snapshot = row.verdict(host).map(|v| MemorySnapshotEntry {
            allowed: v.memory.allowed,
            applicable: v.memory.applicable,
        });
        Self {
            host: host_name.to_string(),
            name: row.name.clone(),
            uuid: row.uuid.clone(),
            state: row.state,
            vcpus: row.vcpus,
            memory_kib: row.memory_kib,
            snapshots: row.snapshots,
            current_snapshot: row.current_snapshot.clone(),
            cpu,
            after_restart,
            memory_snapshot,
            space: None,
            space_error: None,
            error: row.error.clone(),
        }
    }
}

/// One host's listing: its info, its domains (sorted by name) and each one's snapshot space
/// and age, or why that could not be read.
pub type HostListing = (HostInfo, Vec<DomainInfo>, Vec<Result<VmSpace, String>>);

/// Reads every domain of one host with the same overlapping calls the TUI uses, and their
/// snapshots' space and age (`stale_after_days` marks old ones).
pub fn collect(connect: &ConnectOptions, stale_after_days: u32) -> Result<HostListing, CliError> {
    let conn = open(connect)?;
    let host = inventory::host_info(&conn, connect.readonly, None)?;
    let rows = inventory::list_domains(&conn)?;
    let filled = Mutex::new(Vec::with_capacity(rows.len()));
    inventory::fetch_all(rows, inventory::FETCH_THREADS, 256, &|batch| {
        if let Ok(mut f) = filled.lock() {
            f.extend(batch);
        }
    });
    let mut rows = filled
        .into_inner()
        .map_err(|_| CliError::Runtime("worker panicked".into()))?;
    rows.sort_by(|a, b| a.name.cmp(&b.name));
    let names: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
    let spaces = read_spaces(&conn, &names, stale_after_days);
    Ok((host, rows, spaces))
}

/// Each domain's snapshot space and age, a few domains at a time (each reads the domain's
/// snapshot XML and image headers; libvirt connections are thread-safe), in `names`' order.
fn read_spaces(
    conn: &virt::connect::Connect,
    names: &[&str],
    stale_after_days: u32,
) -> Vec<Result<VmSpace, String>> {
    let mut out: Vec<Result<VmSpace, String>> = names.iter().map(|_| Err(String::new())).collect();
    let chunk = names.len().div_ceil(inventory::FETCH_THREADS).max(1);
    std::thread::scope(|scope| {
        for (part, slots) in names.chunks(chunk).zip(out.chunks_mut(chunk)) {
            scope.spawn(move || {
                for (name, slot) in part.iter().zip(slots) {
                    *slot = space::read_vm_space(conn, name, stale_after_days, DEEP_CHAIN_OVERLAYS)
                        .map_err(|e| e.to_string());
                }
            });
        }
    });
    out
}

/// Every host's domains, read at once, in host order. With one host a failure is the error;
/// with several, the hosts that answered are printed, each failure goes to stderr naming its
/// host, and the exit code is 1.
pub fn run(fleet: &Fleet, json: bool, stale_after_days: u32) -> Result<(), CliError> {
    let mut entries = Vec::new();
    let mut failed = Vec::new();
    for (name, result) in fleet.read_all(|c| collect(c, stale_after_days)) {
        match result {
            Ok((host, rows, spaces)) => {
                for (row, space) in rows.iter().zip(spaces) {
                    let mut e = ListEntry::of(&name, row, &host);
                    match space {
                        Ok(s) => e.space = Some(s),
                        Err(err) => e.space_error = Some(err),
                    }
                    entries.push(e);
                }
            }
            Err(e) if !fleet.several() => return Err(e),
            Err(e) => failed.push(format!("{name}: {e}")),
        }
    }
    if json {
        let mut text = serde_json::to_string_pretty(&entries)?;
        text.push('\n');
        print_out(&text)?;
    } else {
        print_out(&render_text(&entries, fleet.several()))?;
    }
    match failed.is_empty() {
        true => Ok(()),
        false => Err(CliError::Runtime(format!(
            "not listed: {}",
            failed.join("; ")
        ))),
    }
}

/// SPACE, OLDEST and CHAIN (`VmSpace::cells`, as the TUI's list shows them); "?" when the
/// domain's storage could not be read.
fn space_cells(e: &ListEntry) -> [String; 3] {
    match &e.space {
        Some(s) => s.cells(),
        None => ["?".into(), "?".into(), "?".into()],
    }
}

fn render_text(entries: &[ListEntry], with_host: bool) -> String {
    let mut table: Vec<[String; 11]> = vec![[
        "HOST".into(),
        "NAME".into(),
        "STATE".into(),
        "CPU".into(),
        "MEMSNAP".into(),
        "VCPU".into(),
        "SNAPS".into(),
        "SPACE".into(),
        "OLDEST".into(),
        "CHAIN".into(),
        "CURRENT".into(),
    ]];
    for e in entries {
        let cpu = match &e.cpu {
            None => "?".to_string(),
            Some(c) => {
                let mut s = match (c.mode, &c.model) {
                    (CpuMode::HostPassthrough, _) => "passthrough".to_string(),
                    (CpuMode::Custom, Some(m)) => format!("custom {m}"),
                    (mode, _) => serde_json::to_value(mode)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default(),
                };
                if c.invtsc {
                    s.push_str(" invtsc");
                }
                if c.tsc_frequency_hz.is_some() {
                    s.push_str(" tsc-pinned");
                }
                if c.migratable == Some(false) {
                    s.push_str(" no-migrate");
                }
                s
            }
        };
        let mem = match &e.memory_snapshot {
            None => "?",
            Some(m) if !m.applicable => "n/a",
            Some(m) if m.allowed => "ok",
            Some(_) => "blocked",
        };
        let [space, oldest, chain] = space_cells(e);
        table.push([
            e.host.clone(),
            e.name.clone(),
            e.state.map_or("?", |s| s.label()).to_string(),
            cpu,
            mem.to_string(),
            e.vcpus.map(|v| v.to_string()).unwrap_or_default(),
            e.snapshots.map(|v| v.to_string()).unwrap_or_default(),
            space,
            oldest,
            chain,
            e.current_snapshot.clone().unwrap_or_else(|| "-".into()),
        ]);
    }
    let mut widths = [0usize; 11];
    for row in &table {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    // HOST only with several hosts: one host's table looks as it always did.
    let skip = usize::from(!with_host);
    for row in &table {
        let line: Vec<String> = row
            .iter()
            .zip(widths)
            .skip(skip)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(host: &str, name: &str) -> ListEntry {
        ListEntry {
            host: host.into(),
            name: name.into(),
            uuid: String::new(),
            state: Some(DomainState::Running),
            vcpus: Some(1),
            memory_kib: None,
            snapshots: Some(0),
            current_snapshot: None,
            cpu: None,
            after_restart: None,
            memory_snapshot: None,
            space: None,
            space_error: None,
            error: None,
        }
    }

    #[test]
    fn the_host_column_shows_only_with_several_hosts() {
        let rows = [entry("hv01", "web"), entry("rack-b", "db")];
        let several = render_text(&rows, true);
        assert!(several.starts_with("HOST    NAME  STATE"), "{several}");
        assert!(several.contains("\nrack-b  db    running"), "{several}");
        let one = render_text(&rows[..1], false);
        assert!(one.starts_with("NAME  STATE"), "{one}");
        let json = serde_json::to_value(&rows[1]).unwrap();
        assert_eq!(json["host"], "rack-b");
    }
}
