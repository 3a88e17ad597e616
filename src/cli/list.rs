//! `virtsnap list [--json]`.

use std::sync::Mutex;

use serde::Serialize;

use super::{print_out, CliError, Fleet};
use crate::libvirt::{inventory, open, ConnectOptions};
use crate::model::inventory::{DomainInfo, HostInfo};
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
    pub cpu: Option<CpuEntry>,
    pub memory_snapshot: Option<MemorySnapshotEntry>,
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
pub struct MemorySnapshotEntry {
    pub allowed: bool,
    pub applicable: bool,
}

impl ListEntry {
    pub fn of(host_name: &str, row: &DomainInfo, host: &HostInfo) -> Self {
        let badge = row.cpu_badge(Some(&host.capabilities));
        let cpu = badge.map(|b| {
            let configured = row.persistent.as_ref().or(row.live.as_ref());
            CpuEntry {
                mode: b.mode,
                model: b.model,
                migratable: configured
                    .and_then(|c| c.cpu.as_ref())
                    .and_then(|c| c.migratable),
                invtsc: b.invtsc,
                tsc_frequency_hz: row.effective_config().and_then(|c| c.tsc_frequency_hz),
            }
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
            memory_snapshot,
            error: row.error.clone(),
        }
    }
}

/// Reads every domain of one host with the same overlapping calls the TUI uses.
pub fn collect(connect: &ConnectOptions) -> Result<(HostInfo, Vec<DomainInfo>), CliError> {
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
    Ok((host, rows))
}

/// Every host's domains, read at once, in host order. With one host a failure is the error;
/// with several, the hosts that answered are printed, each failure goes to stderr naming its
/// host, and the exit code is 1.
pub fn run(fleet: &Fleet, json: bool) -> Result<(), CliError> {
    let mut entries = Vec::new();
    let mut failed = Vec::new();
    for (name, result) in fleet.read_all(collect) {
        match result {
            Ok((host, rows)) => entries.extend(rows.iter().map(|r| ListEntry::of(&name, r, &host))),
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

fn render_text(entries: &[ListEntry], with_host: bool) -> String {
    let mut table: Vec<[String; 8]> = vec![[
        "HOST".into(),
        "NAME".into(),
        "STATE".into(),
        "CPU".into(),
        "MEMSNAP".into(),
        "VCPU".into(),
        "SNAPS".into(),
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
        table.push([
            e.host.clone(),
            e.name.clone(),
            e.state.map_or("?", |s| s.label()).to_string(),
            cpu,
            mem.to_string(),
            e.vcpus.map(|v| v.to_string()).unwrap_or_default(),
            e.snapshots.map(|v| v.to_string()).unwrap_or_default(),
            e.current_snapshot.clone().unwrap_or_else(|| "-".into()),
        ]);
    }
    let mut widths = [0usize; 8];
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
            memory_snapshot: None,
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
