//! The memory-capture rule: can this VM's memory state be saved, and if not, why and what to do.
//!
//! QEMU refuses to save memory state when a migration blocker is registered: invariant TSC
//! without a pinned TSC frequency, PCI host devices, virtiofs, vDPA, shmem. libvirt turns that
//! into "cannot migrate domain: ..." for memory snapshots, save and managed save. This module
//! predicts it from the XML alone, so the user is told before asking.

use serde::Serialize;

use super::domain::{CpuMode, DomainConfig, DomainState, FeaturePolicy};
use super::host::HostCapabilities;

mod disks;
mod words;

use disks::{disk_only_verdict, internal_possible};
use words::{
    capitalize, device_message, invtsc_cause_line, mode_phrase, push_device_text,
    push_invtsc_remedies, unexpected_blocker_text, unexpected_invtsc_text, LIMITATION,
    OPTION_DISK_ONLY, OPTION_STOP, USES_INVTSC,
};

/// Everything the rule looks at. No libvirt handles: the caller fetched the XML already.
pub struct RuleInput<'a> {
    pub persistent: &'a DomainConfig,
    /// Some when the domain is running or paused.
    pub live: Option<&'a DomainConfig>,
    pub host: Option<&'a HostCapabilities>,
    pub state: DomainState,
    /// major*1_000_000 + minor*1_000 + micro, as libvirt reports.
    pub libvirt_version: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    pub memory: MemoryVerdict,
    pub disk_only: DiskOnlyVerdict,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MemoryVerdict {
    /// Some memory snapshot (internal or external) can be taken now.
    pub allowed: bool,
    /// False when the VM is not running: there is no memory state to capture.
    pub applicable: bool,
    pub blockers: Vec<Blocker>,
    /// The numbered options' text, without the numbers.
    pub remedies: Vec<String>,
    /// The remedies virtsnap can carry out or prefill, in the order of `remedies`. Not
    /// index-aligned with it: "remove the invtsc feature" or "detach the device" have no action.
    #[serde(skip)]
    pub remedy_actions: Vec<Remedy>,
    /// An internal memory snapshot is possible (all writable disks qcow2, no pflash blocker).
    pub internal: bool,
    /// An external memory snapshot is possible.
    pub external: bool,
    pub notes: Vec<String>,
    /// The lines above "Options:" in the explanation.
    #[serde(skip)]
    intro: Vec<String>,
}

impl MemoryVerdict {
    /// The full explanation shown to the user; None when memory state can be captured or the
    /// question does not apply.
    pub fn explanation(&self) -> Option<String> {
        if self.allowed || !self.applicable || self.intro.is_empty() {
            return None;
        }
        let mut text = self.intro.join("\n");
        text.push_str("\n\nOptions:");
        for (i, remedy) in self.remedies.iter().enumerate() {
            text.push_str(&format!("\n{}. {remedy}", i + 1));
        }
        Some(text)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Blocker {
    /// Short machine word: `invtsc`, `hostdev-pci`, `virtiofs`, `vdpa`, `shmem`.
    pub kind: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Remedy {
    DiskOnly,
    StopSnapshotStart,
    SwitchToHostModel,
    PinTscFrequency { hz: u64 },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DiskOnlyVerdict {
    pub allowed: bool,
    pub quiesce: bool,
    pub reason: Option<String>,
    pub quiesce_reason: Option<String>,
}

/// Decides whether memory state and disk-only snapshots are possible.
pub fn evaluate(input: &RuleInput) -> Verdict {
    if !input.state.is_active() {
        return Verdict {
            memory: MemoryVerdict {
                allowed: false,
                applicable: false,
                blockers: Vec::new(),
                remedies: Vec::new(),
                remedy_actions: Vec::new(),
                internal: false,
                external: false,
                notes: vec![format!(
                    "the VM is {}: a snapshot captures its disks only",
                    input.state.label()
                )],
                intro: Vec::new(),
            },
            disk_only: DiskOnlyVerdict {
                allowed: true,
                quiesce: false,
                reason: None,
                quiesce_reason: Some("the VM is not running".to_string()),
            },
        };
    }
    if input.state == DomainState::Pmsuspended {
        return pmsuspended_verdict();
    }
    let running = input.live.unwrap_or(input.persistent);
    Verdict {
        memory: memory_verdict(input, running),
        disk_only: disk_only_verdict(running),
    }
}

/// libvirt refuses every snapshot of a guest suspended to RAM ("qemu doesn't support taking
/// snapshots of PMSUSPENDED guests"), disk-only included.
fn pmsuspended_verdict() -> Verdict {
    let reason = "the guest is suspended to RAM (pmsuspended), and QEMU cannot snapshot it in \
                  that state";
    Verdict {
        memory: MemoryVerdict {
            allowed: false,
            applicable: true,
            blockers: vec![Blocker {
                kind: "pmsuspended".to_string(),
                message: capitalize(reason) + ".",
            }],
            remedies: vec![
                "Wake the guest up (virsh dompmwakeup), then take a snapshot".to_string(),
                OPTION_STOP.to_string(),
            ],
            remedy_actions: vec![Remedy::StopSnapshotStart],
            internal: false,
            external: false,
            notes: Vec::new(),
            intro: vec![
                "Snapshots are not possible while the guest is suspended to RAM.".to_string(),
                "QEMU cannot take any snapshot of a guest in the pmsuspended state.".to_string(),
                LIMITATION.to_string(),
            ],
        },
        disk_only: DiskOnlyVerdict {
            allowed: false,
            quiesce: false,
            reason: Some(reason.to_string()),
            quiesce_reason: Some("disk-only snapshots are not possible for this VM".to_string()),
        },
    }
}

/// Whether the guest CPU exposes invariant TSC (a pinned TSC frequency does not change this;
/// it only keeps QEMU from blocking migration).
pub fn invtsc_in_effect(cfg: &DomainConfig, host: Option<&HostCapabilities>) -> bool {
    invtsc_cause(cfg, host).is_some()
}

/// Why invtsc is in effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum InvtscCause {
    /// `<feature policy='require|force' name='invtsc'/>`.
    Explicit(FeaturePolicy),
    /// host-passthrough or maximum with `migratable='off'` on a host that has invtsc.
    NonMigratableHostCpu,
}

fn invtsc_cause(cfg: &DomainConfig, host: Option<&HostCapabilities>) -> Option<InvtscCause> {
    let cpu = cfg.cpu.as_ref()?;
    // libvirt keeps the last occurrence when a feature is listed twice.
    let policy = cpu
        .features
        .iter()
        .rev()
        .find(|f| f.name == "invtsc")
        .map(|f| f.policy);
    match policy {
        Some(p @ (FeaturePolicy::Require | FeaturePolicy::Force)) => Some(InvtscCause::Explicit(p)),
        Some(FeaturePolicy::Disable | FeaturePolicy::Forbid) => None,
        Some(FeaturePolicy::Optional) | None => {
            let copies_host = matches!(cpu.mode, CpuMode::HostPassthrough | CpuMode::Maximum);
            let non_migratable = cpu.migratable == Some(false);
            (copies_host && non_migratable && host.is_some_and(HostCapabilities::has_invtsc))
                .then_some(InvtscCause::NonMigratableHostCpu)
        }
    }
}

/// invtsc in effect and no TSC frequency pinned: QEMU registers the migration blocker.
fn invtsc_blocks(cfg: &DomainConfig, host: Option<&HostCapabilities>) -> Option<InvtscCause> {
    invtsc_cause(cfg, host).filter(|_| cfg.tsc_frequency_hz.is_none())
}

fn memory_blocked(cfg: &DomainConfig, host: Option<&HostCapabilities>) -> bool {
    invtsc_blocks(cfg, host).is_some() || !cfg.blocking_devices.is_empty()
}

fn memory_verdict(input: &RuleInput, running: &DomainConfig) -> MemoryVerdict {
    let mode = input.persistent.cpu_mode();
    let mut blockers = Vec::new();
    let mut intro = Vec::new();
    let mut remedies = vec![OPTION_DISK_ONLY.to_string(), OPTION_STOP.to_string()];
    let mut actions = vec![Remedy::DiskOnly, Remedy::StopSnapshotStart];
    let mut notes = Vec::new();

    if let Some(cause) = invtsc_blocks(running, input.host) {
        let cause_line = invtsc_cause_line(cause);
        blockers.push(Blocker {
            kind: "invtsc".to_string(),
            message: cause_line.clone(),
        });
        intro.push(format!(
            "Memory snapshots are not supported with {} CPU.",
            mode_phrase(mode, running)
        ));
        intro.push(USES_INVTSC.to_string());
        intro.push(LIMITATION.to_string());
        intro.push(cause_line);
        push_invtsc_remedies(cause, mode, input.host, &mut remedies, &mut actions);
    }
    for device in &running.blocking_devices {
        blockers.push(Blocker {
            kind: device.kind.clone(),
            message: device_message(device),
        });
    }
    push_device_text(
        &running.blocking_devices,
        intro.is_empty(),
        &mut intro,
        &mut remedies,
    );

    if input.host.is_none() {
        notes.push(
            "the host CPU is unknown (no capabilities): virtsnap assumed it has no invtsc"
                .to_string(),
        );
    }
    if let Some(live) = input.live {
        let now = memory_blocked(live, input.host);
        if now != memory_blocked(input.persistent, input.host) {
            notes.push(if now {
                "the persistent definition differs from the running one: memory snapshots will \
                 work after the VM is restarted (the change applies at next boot)"
                    .to_string()
            } else {
                "the persistent definition differs from the running one: memory snapshots will \
                 be blocked after the VM is restarted (the change applies at next boot)"
                    .to_string()
            });
        }
    }

    let allowed = blockers.is_empty();
    let internal = allowed && internal_possible(input, running, &mut notes);
    if allowed {
        remedies.clear();
        actions.clear();
        intro.clear();
    }
    MemoryVerdict {
        allowed,
        applicable: true,
        blockers,
        remedies,
        remedy_actions: actions,
        internal,
        external: allowed,
        notes,
        intro,
    }
}

/// Maps a libvirt error message from a memory operation (snapshot with memory, save, managed
/// save) to the explained text, keeping libvirt's line underneath ("libvirt said: ...").
/// None if it is not a migration-blocker error.
pub fn explain_libvirt_error(libvirt_message: &str, input: &RuleInput) -> Option<String> {
    let lower = libvirt_message.to_ascii_lowercase();
    let about_invtsc = lower.contains("invtsc");
    if !about_invtsc && !is_migration_blocker(&lower) {
        return None;
    }
    let verdict = evaluate(input);
    let rule_saw_invtsc = verdict.memory.blockers.iter().any(|b| b.kind == "invtsc");
    let explained = match verdict.memory.explanation() {
        Some(text) if rule_saw_invtsc || !about_invtsc => text,
        // The rule missed it: explain from libvirt's words.
        _ if about_invtsc => unexpected_invtsc_text(input),
        _ => unexpected_blocker_text(),
    };
    Some(format!("{explained}\n\nlibvirt said: {libvirt_message}"))
}

/// The wordings of qemuMigrationSrcIsAllowed (libvirt 11) and of QEMU's blockers, which
/// libvirt passes on as "cannot migrate domain: <reasons>".
fn is_migration_blocker(lower: &str) -> bool {
    const MARKERS: [&str; 7] = [
        "cannot migrate domain",
        "cannot migrate a domain with",
        "migration blocker",
        "non-migratable",
        "cannot be migrated",
        "migration with virtiofs device is not supported",
        "migration with transient disk is not supported",
    ];
    MARKERS.iter().any(|m| lower.contains(m))
}

#[cfg(test)]
mod tests;
