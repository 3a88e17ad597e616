//! `virtsnap list [--json] [--stale-after DAYS]`: every domain with its CPU mode, memory
//! snapshot verdict, and its snapshots' space and age (`model::space`): the total they hold,
//! the oldest, and markers for snapshots older than DAYS and for overlay chains deeper than
//! `model::space::DEEP_CHAIN_OVERLAYS`.

use std::sync::Mutex;

use serde::Serialize;
use virt::connect::Connect;

use super::{print_out, CliError, Target};
use crate::libvirt::{inventory, open, space};
use crate::model::inventory::{DomainInfo, HostInfo};
use crate::model::space::{short_bytes, VmSpace, DEEP_CHAIN_OVERLAYS};
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
    pub fn of(row: &DomainInfo, host: &HostInfo) -> Self {
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

/// Reads every domain with the same overlapping calls the TUI uses.
pub fn collect(target: &Target) -> Result<(Connect, HostInfo, Vec<DomainInfo>), CliError> {
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
    Ok((conn, host, rows))
}

/// Fills each entry's space and age, a few domains at a time (each reads the domain's
/// snapshot XML and image headers; libvirt connections are thread-safe).
fn fill_space(conn: &Connect, entries: &mut [ListEntry], stale_after_days: u32) {
    let chunk = entries.len().div_ceil(inventory::FETCH_THREADS).max(1);
    std::thread::scope(|scope| {
        for part in entries.chunks_mut(chunk) {
            scope.spawn(move || {
                for e in part {
                    match space::read_vm_space(conn, &e.name, stale_after_days, DEEP_CHAIN_OVERLAYS)
                    {
                        Ok(s) => e.space = Some(s),
                        Err(err) => e.space_error = Some(err.to_string()),
                    }
                }
            });
        }
    });
}

pub fn run(target: &Target, json: bool, stale_after_days: u32) -> Result<(), CliError> {
    let (conn, host, rows) = collect(target)?;
    let mut entries: Vec<ListEntry> = rows.iter().map(|r| ListEntry::of(r, &host)).collect();
    fill_space(&conn, &mut entries, stale_after_days);
    if json {
        let mut text = serde_json::to_string_pretty(&entries)?;
        text.push('\n');
        return print_out(&text);
    }
    print_out(&render_text(&entries))
}

/// SPACE: the total ("?" unknown, "1.2G+" a lower bound); OLDEST: the oldest snapshot's age,
/// `!` when some snapshot is older than the threshold; CHAIN: overlays above the base, `!`
/// when deeper than the threshold.
fn space_cells(e: &ListEntry) -> [String; 3] {
    let Some(s) = &e.space else {
        return ["?".into(), "?".into(), "?".into()];
    };
    let total = match s.snapshot_bytes {
        Some(b) => short_bytes(b),
        None if s.snapshot_bytes_known > 0 => format!("{}+", short_bytes(s.snapshot_bytes_known)),
        None => "?".into(),
    };
    let oldest = match s.oldest_age_seconds {
        None => "-".to_string(),
        Some(age) => {
            let mark = if s.stale_snapshots.is_empty() {
                ""
            } else {
                "!"
            };
            format!("{}{mark}", short_age(age))
        }
    };
    let chain = match s.chain_overlays {
        None => "?".to_string(),
        Some(n) => format!("{n}{}", if s.deep_chain { "!" } else { "" }),
    };
    [total, oldest, chain]
}

/// "45m", "5h", "3d", "10w".
fn short_age(secs: i64) -> String {
    match secs.max(0) {
        s @ 0..3_600 => format!("{}m", s / 60),
        s @ 3_600..86_400 => format!("{}h", s / 3_600),
        s @ 86_400..1_209_600 => format!("{}d", s / 86_400),
        s => format!("{}w", s / 604_800),
    }
}

fn render_text(entries: &[ListEntry]) -> String {
    let mut table: Vec<[String; 10]> = vec![[
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
    let mut widths = [0usize; 10];
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
