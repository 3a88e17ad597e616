//! The memory-capture rule: can this VM's memory state be saved, and if not, why and what to do.
//!
//! QEMU refuses to save memory state when a migration blocker is registered: invariant TSC
//! without a pinned TSC frequency, PCI host devices, virtiofs, vDPA, shmem. libvirt turns that
//! into "cannot migrate domain: ..." for memory snapshots, save and managed save. This module
//! predicts it from the XML alone, so the user is told before asking.

use serde::Serialize;

use super::domain::{
    CpuMode, DiskDevice, DiskType, DomainConfig, DomainState, FeaturePolicy,
    MigrationBlockingDevice,
};
use super::host::HostCapabilities;

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

#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    pub memory: MemoryVerdict,
    pub disk_only: DiskOnlyVerdict,
}

#[derive(Debug, Clone, Serialize)]
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

#[derive(Debug, Clone, Serialize)]
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

#[derive(Debug, Clone, Serialize)]
pub struct DiskOnlyVerdict {
    pub allowed: bool,
    pub quiesce: bool,
    pub reason: Option<String>,
    pub quiesce_reason: Option<String>,
}

/// libvirt 10.9 added internal snapshots of VMs with pflash firmware (qcow2 NVRAM only).
const PFLASH_INTERNAL_SINCE: u64 = 10_009_000;

const OPTION_DISK_ONLY: &str = "Create a disk-only snapshot (uncheck 'Include memory state')";
const OPTION_STOP: &str = "Stop the VM first, then take a snapshot";
const LIMITATION: &str = "This is a limitation of libvirt/QEMU, not of virtsnap.";
const USES_INVTSC: &str = "This VM uses the 'invtsc' CPU flag which prevents memory state capture.";

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

/// How the headline names the configured CPU: "host-passthrough", "'custom' (model qemu64)".
fn mode_phrase(mode: CpuMode, running: &DomainConfig) -> String {
    match mode {
        CpuMode::HostPassthrough => "host-passthrough".to_string(),
        CpuMode::HostModel => "host-model".to_string(),
        CpuMode::Maximum => "maximum".to_string(),
        CpuMode::Custom => match running.cpu.as_ref().and_then(|c| c.model.as_deref()) {
            Some(model) => format!("'custom' (model {model})"),
            None => "'custom'".to_string(),
        },
        CpuMode::Default => "the hypervisor's default".to_string(),
    }
}

fn mode_name(mode: CpuMode) -> &'static str {
    match mode {
        CpuMode::HostPassthrough => "host-passthrough",
        CpuMode::HostModel => "host-model",
        CpuMode::Custom => "custom",
        CpuMode::Maximum => "maximum",
        CpuMode::Default => "default",
    }
}

fn policy_word(policy: FeaturePolicy) -> &'static str {
    match policy {
        FeaturePolicy::Force => "force",
        FeaturePolicy::Require => "require",
        FeaturePolicy::Optional => "optional",
        FeaturePolicy::Disable => "disable",
        FeaturePolicy::Forbid => "forbid",
    }
}

fn invtsc_cause_line(cause: InvtscCause) -> String {
    match cause {
        InvtscCause::Explicit(policy) => format!(
            "invtsc is required by <feature policy='{}' name='invtsc'/>, and no TSC frequency \
             is pinned.",
            policy_word(policy)
        ),
        InvtscCause::NonMigratableHostCpu => "invtsc is exposed because migratable='off' and \
                                              the host CPU has invtsc, and no TSC frequency is \
                                              pinned."
            .to_string(),
    }
}

fn push_invtsc_remedies(
    cause: InvtscCause,
    mode: CpuMode,
    host: Option<&HostCapabilities>,
    remedies: &mut Vec<String>,
    actions: &mut Vec<Remedy>,
) {
    let copies_host = matches!(mode, CpuMode::HostPassthrough | CpuMode::Maximum);
    match (copies_host, cause) {
        (true, InvtscCause::NonMigratableHostCpu) => {
            remedies.push(format!(
                "Reconfigure the VM to use 'host-model' CPU instead of '{}'",
                mode_name(mode)
            ));
            actions.push(Remedy::SwitchToHostModel);
        }
        (true, InvtscCause::Explicit(_)) => {
            remedies.push(format!(
                "Reconfigure the VM to use 'host-model' CPU instead of '{}', without the \
                 'invtsc' feature",
                mode_name(mode)
            ));
            actions.push(Remedy::SwitchToHostModel);
        }
        (false, _) => remedies.push(
            "Remove the 'invtsc' feature from the VM's CPU definition (or set its policy to \
             'optional')"
                .to_string(),
        ),
    }
    let keeps = if copies_host {
        mode_name(mode)
    } else {
        "the 'invtsc' flag"
    };
    let hz = host.and_then(|h| h.tsc_frequency_hz);
    let target = match hz {
        Some(hz) => format!("the host's {hz} Hz"),
        None => "the host's TSC frequency".to_string(),
    };
    remedies.push(format!(
        "Pin the TSC frequency to {target} (keeps {keeps}; restoring on another host needs the \
         same frequency or TSC scaling)"
    ));
    if let Some(hz) = hz {
        actions.push(Remedy::PinTscFrequency { hz });
    }
}

fn device_phrase(device: &MigrationBlockingDevice) -> String {
    let detail = if device.detail.is_empty() {
        String::new()
    } else {
        format!(" {}", device.detail)
    };
    match device.kind.as_str() {
        "hostdev-pci" => format!("the PCI host device{detail}"),
        "virtiofs" => format!("the virtiofs share{detail}"),
        "vdpa" => format!("the vDPA network interface{detail}"),
        "hostdev-mdev" => format!("the mediated device{detail}"),
        "shmem" => format!("the shared memory device{detail}"),
        "transient-disk" => format!("the transient disk{detail}"),
        other => format!("the {other} device{detail}"),
    }
}

fn device_message(device: &MigrationBlockingDevice) -> String {
    format!(
        "{} cannot be migrated, so QEMU cannot save the VM's memory state.",
        capitalize(&device_phrase(device))
    )
}

fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn push_device_text(
    devices: &[MigrationBlockingDevice],
    leads: bool,
    intro: &mut Vec<String>,
    remedies: &mut Vec<String>,
) {
    if devices.is_empty() {
        return;
    }
    let phrases: Vec<String> = devices.iter().map(device_phrase).collect();
    let listed = join_words(&phrases);
    if leads {
        let headline = if devices.len() == 1 {
            format!("Memory snapshots are not supported with {listed} attached.")
        } else {
            "Memory snapshots are not supported with the devices this VM uses.".to_string()
        };
        intro.push(headline);
        intro.push(format!(
            "This VM uses {listed}, which prevents memory state capture."
        ));
        intro.push(LIMITATION.to_string());
    } else {
        intro.push(format!(
            "The VM also uses {listed}, which prevents memory state capture."
        ));
    }
    remedies.push(format!("Detach {listed} from the VM"));
}

fn join_words(words: &[String]) -> String {
    match words {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// Internal memory snapshots live inside qcow2 images (savevm), and pflash NVRAM must be
/// qcow2 too since libvirt 10.9 (refused outright before).
fn internal_possible(input: &RuleInput, running: &DomainConfig, notes: &mut Vec<String>) -> bool {
    let writable: Vec<_> = running.disks.iter().filter(|d| d.is_writable()).collect();
    let not_qcow2: Vec<String> = writable
        .iter()
        .filter(|d| d.format.as_deref() != Some("qcow2"))
        .map(|d| d.target.clone())
        .collect();
    // libvirt: "internal and full system snapshots require all disks to be selected".
    let excluded: Vec<String> = running
        .disks
        .iter()
        .filter(|d| !d.readonly && matches!(d.device, DiskDevice::Disk | DiskDevice::Lun))
        .filter(|d| d.snapshot.as_deref().is_some_and(|s| s != "internal"))
        .map(|d| d.target.clone())
        .collect();
    let mut internal = true;
    if !excluded.is_empty() {
        notes.push(format!(
            "only an external memory snapshot works: an internal one needs every disk included, \
             and {} is set to snapshot='no' or external",
            join_words(&excluded)
        ));
        internal = false;
    } else if writable.is_empty() {
        notes.push(
            "only an external memory snapshot works: an internal one needs a writable qcow2 disk \
             to hold the memory state"
                .to_string(),
        );
        internal = false;
    } else if !not_qcow2.is_empty() {
        notes.push(format!(
            "only an external memory snapshot works: an internal one needs every writable disk \
             in qcow2 format, and {} is not",
            join_words(&not_qcow2)
        ));
        internal = false;
    }
    if let Some(firmware) = running.firmware.as_ref().filter(|f| f.pflash) {
        let qcow2_nvram = firmware.nvram_format.as_deref() == Some("qcow2");
        if input.libvirt_version < PFLASH_INTERNAL_SINCE {
            notes.push(
                "only an external memory snapshot works: pflash firmware (UEFI) rules out \
                 internal snapshots before libvirt 10.9"
                    .to_string(),
            );
            internal = false;
        } else if !qcow2_nvram {
            notes.push(
                "only an external memory snapshot works: pflash firmware (UEFI) needs qcow2 NVRAM \
                 for an internal snapshot"
                    .to_string(),
            );
            internal = false;
        }
    }
    internal
}

fn disk_only_verdict(running: &DomainConfig) -> DiskOnlyVerdict {
    let reason = disk_only_refusal(running);
    let allowed = reason.is_none();
    let quiesce_reason = if !allowed {
        Some("disk-only snapshots are not possible for this VM".to_string())
    } else {
        match running.guest_agent {
            None => Some(
                "no qemu-guest-agent channel (org.qemu.guest_agent.0) is configured".to_string(),
            ),
            Some(agent) if !agent.connected => Some(
                "the qemu-guest-agent channel is configured but the agent is not connected"
                    .to_string(),
            ),
            Some(_) => None,
        }
    };
    DiskOnlyVerdict {
        allowed,
        quiesce: quiesce_reason.is_none(),
        reason,
        quiesce_reason,
    }
}

/// External disk-only snapshots of a running VM need an overlay file libvirt can name and
/// create next to each writable disk, and a block job on it.
fn disk_only_refusal(running: &DomainConfig) -> Option<String> {
    let candidates: Vec<_> = running
        .disks
        .iter()
        .filter(|d| !d.readonly && matches!(d.device, DiskDevice::Disk | DiskDevice::Lun))
        .collect();
    if candidates.is_empty() {
        return Some("the VM has no writable disk to snapshot".to_string());
    }
    let included: Vec<_> = candidates
        .iter()
        .filter(|d| d.snapshot.as_deref() != Some("no"))
        .collect();
    if included.is_empty() {
        return Some("every writable disk has snapshot='no'".to_string());
    }
    for disk in included {
        if disk.device == DiskDevice::Lun {
            return Some(format!(
                "disk {} is a SCSI passthrough LUN: libvirt cannot take an external snapshot of it",
                disk.target
            ));
        }
        let kind = match disk.disk_type {
            DiskType::Network => "a network disk",
            DiskType::Nvme => "an NVMe disk",
            DiskType::Vhostuser => "a vhost-user disk",
            DiskType::Vhostvdpa => "a vhost-vdpa disk",
            DiskType::Dir => "a directory-backed disk",
            DiskType::Other => "a disk of an unknown type",
            DiskType::File | DiskType::Block | DiskType::Volume => continue,
        };
        return Some(format!(
            "disk {} is {kind}: libvirt cannot take an external snapshot of it",
            disk.target
        ));
    }
    None
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

fn unexpected_invtsc_text(input: &RuleInput) -> String {
    let mode = input.persistent.cpu_mode();
    let running = input.live.unwrap_or(input.persistent);
    let mut remedies = vec![OPTION_DISK_ONLY.to_string(), OPTION_STOP.to_string()];
    let mut actions = Vec::new();
    let cause = match invtsc_cause(running, input.host) {
        Some(cause) => cause,
        None if matches!(mode, CpuMode::HostPassthrough | CpuMode::Maximum) => {
            InvtscCause::NonMigratableHostCpu
        }
        None => InvtscCause::Explicit(FeaturePolicy::Require),
    };
    push_invtsc_remedies(cause, mode, input.host, &mut remedies, &mut actions);
    let verdict = MemoryVerdict {
        allowed: false,
        applicable: true,
        blockers: Vec::new(),
        remedies,
        remedy_actions: actions,
        internal: false,
        external: false,
        notes: Vec::new(),
        intro: vec![
            format!(
                "Memory snapshots are not supported with {} CPU.",
                mode_phrase(mode, running)
            ),
            USES_INVTSC.to_string(),
            LIMITATION.to_string(),
            "libvirt reports that invtsc is in effect and no TSC frequency is pinned.".to_string(),
        ],
    };
    verdict.explanation().unwrap_or_default()
}

fn unexpected_blocker_text() -> String {
    [
        "Memory snapshots are not supported for this VM right now.",
        "QEMU reports a device or setting that cannot be migrated, which prevents memory state \
         capture.",
        LIMITATION,
        "",
        "Options:",
        &format!("1. {OPTION_DISK_ONLY}"),
        &format!("2. {OPTION_STOP}"),
    ]
    .join("\n")
}

#[cfg(test)]
#[path = "eligibility_tests.rs"]
mod tests;
