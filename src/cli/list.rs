//! `virtsnap list [--json]`.

use std::sync::Mutex;

use serde::Serialize;

use super::{print_out, CliError, Target};
use crate::libvirt::{inventory, open};
use crate::model::inventory::{DomainInfo, HostInfo};
use crate::model::{CpuMode, DomainState};

#[derive(Debug, Serialize)]
pub struct ListEntry {
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
    pub fn of(row: &DomainInfo, host: &HostInfo) -> Self {
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

/// Reads every domain with the same overlapping calls the TUI uses.
pub fn collect(target: &Target) -> Result<(HostInfo, Vec<DomainInfo>), CliError> {
    let conn = open(&target.connect)?;
    let host = inventory::host_info(&conn, target.connect.readonly, None)?;
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

pub fn run(target: &Target, json: bool) -> Result<(), CliError> {
    let (host, rows) = collect(target)?;
    let entries: Vec<ListEntry> = rows.iter().map(|r| ListEntry::of(r, &host)).collect();
    if json {
        let mut text = serde_json::to_string_pretty(&entries)?;
        text.push('\n');
        return print_out(&text);
    }
    print_out(&render_text(&entries))
}

fn render_text(entries: &[ListEntry]) -> String {
    let mut table: Vec<[String; 7]> = vec![[
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
            e.name.clone(),
            e.state.map_or("?", |s| s.label()).to_string(),
            cpu,
            mem.to_string(),
            e.vcpus.map(|v| v.to_string()).unwrap_or_default(),
            e.snapshots.map(|v| v.to_string()).unwrap_or_default(),
            e.current_snapshot.clone().unwrap_or_else(|| "-".into()),
        ]);
    }
    let mut widths = [0usize; 7];
    for row in &table {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in &table {
        let line: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}
