//! Sentences the plans share.

use crate::model::{CpuMode, DomainConfig};

fn cpu_words(c: &DomainConfig) -> String {
    let mode = match c.cpu_mode() {
        CpuMode::HostPassthrough => "host-passthrough".to_string(),
        CpuMode::HostModel => "host-model".to_string(),
        CpuMode::Maximum => "maximum".to_string(),
        CpuMode::Default => "default".to_string(),
        CpuMode::Custom => format!(
            "custom {}",
            c.cpu
                .as_ref()
                .and_then(|cpu| cpu.model.as_deref())
                .unwrap_or("?")
        ),
    };
    match c.cpu.as_ref().and_then(|cpu| cpu.migratable) {
        Some(false) => format!("{mode} migratable=off"),
        _ => mode,
    }
}

fn mib(kib: u64) -> String {
    if kib.is_multiple_of(1024 * 1024) && kib > 0 {
        format!("{} GiB", kib / (1024 * 1024))
    } else {
        format!("{} MiB", kib / 1024)
    }
}

/// How the definition changes when libvirt replaces `now` with the snapshot's `saved` one
/// (a revert does: qemu_snapshot.c `qemuSnapshotRevertPrep`). Empty when nothing an admin
/// tunes differs.
pub fn definition_changes(now: &DomainConfig, saved: &DomainConfig) -> Vec<String> {
    let mut out = Vec::new();
    if now.vcpus != saved.vcpus {
        out.push(format!("vCPUs {} -> {}", now.vcpus, saved.vcpus));
    }
    if now.memory_kib != saved.memory_kib {
        out.push(format!(
            "memory {} -> {}",
            mib(now.memory_kib),
            mib(saved.memory_kib)
        ));
    }
    let (a, b) = (cpu_words(now), cpu_words(saved));
    if a != b {
        out.push(format!("CPU {a} -> {b}"));
    }
    if now.tsc_frequency_hz != saved.tsc_frequency_hz {
        let hz = |f: Option<u64>| f.map_or("not pinned".to_string(), |h| format!("{h} Hz"));
        out.push(format!(
            "TSC frequency {} -> {}",
            hz(now.tsc_frequency_hz),
            hz(saved.tsc_frequency_hz)
        ));
    }
    let targets = |c: &DomainConfig| -> Vec<String> {
        c.disks.iter().map(|d| d.target.clone()).collect::<Vec<_>>()
    };
    let (before, after) = (targets(now), targets(saved));
    let gone: Vec<&str> = before
        .iter()
        .filter(|t| !after.contains(t))
        .map(String::as_str)
        .collect();
    let back: Vec<&str> = after
        .iter()
        .filter(|t| !before.contains(t))
        .map(String::as_str)
        .collect();
    if !gone.is_empty() {
        out.push(format!("disks removed: {}", gone.join(", ")));
    }
    if !back.is_empty() {
        out.push(format!("disks added back: {}", back.join(", ")));
    }
    let kinds = |c: &DomainConfig| -> Vec<String> {
        let mut k: Vec<String> = c
            .blocking_devices
            .iter()
            .map(|b| format!("{} {}", b.kind, b.detail))
            .collect();
        k.sort();
        k
    };
    if kinds(now) != kinds(saved) {
        out.push(format!(
            "devices: [{}] -> [{}]",
            kinds(now).join(", "),
            kinds(saved).join(", ")
        ));
    }
    if now.guest_agent.is_some() != saved.guest_agent.is_some() {
        out.push(if saved.guest_agent.is_some() {
            "guest agent channel added back".into()
        } else {
            "guest agent channel removed".into()
        });
    }
    if now.firmware.is_some() != saved.firmware.is_some() {
        out.push("firmware (BIOS/UEFI) changes".into());
    }
    out
}
