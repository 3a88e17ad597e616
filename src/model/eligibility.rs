//! The memory-capture rule: can this VM's memory state be saved, and if not, why and what to do.
//!
//! QEMU refuses to save memory state when a migration blocker is registered (invariant TSC
//! without a pinned TSC frequency, assigned PCI devices, vhost-scsi, SEV, ...), and libvirt
//! refuses some configurations itself (transient disks, shmem roles, virtiofs); libvirt reports
//! both as errors of memory snapshots, save and managed save. This module predicts them from
//! the XML alone, with the table in [`blockers`], so the user is told before asking.

use serde::Serialize;

use super::domain::{CpuMode, DomainConfig, DomainState, FeaturePolicy};
use super::host::HostCapabilities;

pub mod blockers;
mod disks;
mod words;

use blockers::Finding;
use disks::{disk_only_verdict, internal_possible};
use words::{
    capitalize, conditional_refusal_text, invtsc_cause_line, mode_phrase, push_device_text,
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
    /// Blockers that depend on the guest or the host back-end: memory state can be captured
    /// now, but libvirt will refuse it once the guest does something (mounts a 9p share) or
    /// when a back-end lacks a feature the XML cannot show.
    pub conditional_blockers: Vec<ConditionalBlocker>,
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
    /// Short machine word, a row of [`blockers::ROWS`]: `invtsc`, `hostdev-pci`, `vdpa`,
    /// `shmem`, `transient-disk`, `vhost-scsi`, `launch-security-sev`, ...; or `pmsuspended`.
    pub kind: String,
    pub message: String,
}

/// A blocker that applies only under a condition the XML cannot settle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConditionalBlocker {
    /// The row's kind: `9p`, `virtiofs`, `vhost-user`.
    pub kind: String,
    /// Who decides: `guest` (the guest mounts a share) or `host` (a back-end's features).
    pub depends_on: &'static str,
    /// A whole sentence: "Memory state can be captured now, but QEMU will refuse it once the
    /// guest mounts the 9p share 'tag'."
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
                conditional_blockers: Vec::new(),
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
            conditional_blockers: Vec::new(),
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

/// Some row refuses whatever the guest does.
fn memory_blocked(cfg: &DomainConfig, host: Option<&HostCapabilities>) -> bool {
    blockers::findings(cfg, host)
        .iter()
        .any(|f| !f.row.is_conditional())
}

fn conditional_blocker(finding: &Finding) -> Option<ConditionalBlocker> {
    let depends_on = match finding.row.condition {
        blockers::Condition::Always => return None,
        blockers::Condition::Guest { .. } => "guest",
        blockers::Condition::Backend { .. } => "host",
    };
    Some(ConditionalBlocker {
        kind: finding.row.kind.to_string(),
        depends_on,
        message: finding.conditional_message()?,
    })
}

fn memory_verdict(input: &RuleInput, running: &DomainConfig) -> MemoryVerdict {
    let mode = input.persistent.cpu_mode();
    let mut refusals = Vec::new();
    let mut intro = Vec::new();
    let mut remedies = vec![OPTION_DISK_ONLY.to_string(), OPTION_STOP.to_string()];
    let mut actions = vec![Remedy::DiskOnly, Remedy::StopSnapshotStart];
    let mut notes = Vec::new();

    let findings = blockers::findings(running, input.host);
    if let Some(cause) = invtsc_blocks(running, input.host) {
        let cause_line = invtsc_cause_line(cause);
        refusals.push(Blocker {
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
    // invtsc has its own words above; every other row speaks through the table.
    let refusing: Vec<&Finding> = findings
        .iter()
        .filter(|f| !f.row.is_conditional() && f.row.kind != "invtsc")
        .collect();
    for finding in &refusing {
        refusals.push(Blocker {
            kind: finding.row.kind.to_string(),
            message: finding.message(),
        });
    }
    push_device_text(&refusing, intro.is_empty(), &mut intro, &mut remedies);
    let conditional_blockers: Vec<ConditionalBlocker> =
        findings.iter().filter_map(conditional_blocker).collect();

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

    let allowed = refusals.is_empty();
    // libvirt's test driver (`<domain type='test'>`) only records metadata and takes internal
    // snapshots only: it refuses DISK_ONLY, so no external one (measured, libvirt 11.3).
    let test_driver = running.domain_type == "test";
    let internal = allowed && (test_driver || internal_possible(input, running, &mut notes));
    let external = allowed && !test_driver;
    if allowed {
        remedies.clear();
        actions.clear();
        intro.clear();
    }
    MemoryVerdict {
        allowed,
        applicable: true,
        blockers: refusals,
        remedies,
        remedy_actions: actions,
        internal,
        external,
        conditional_blockers,
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
        // A conditional blocker came true (the guest mounted its 9p share).
        _ => match came_true(libvirt_message, input) {
            Some(finding) => conditional_refusal_text(&finding),
            None => unexpected_blocker_text(),
        },
    };
    Some(format!("{explained}\n\nlibvirt said: {libvirt_message}"))
}

/// The conditional finding of the running configuration whose words libvirt returned.
fn came_true(libvirt_message: &str, input: &RuleInput) -> Option<Finding> {
    let running = input.live.unwrap_or(input.persistent);
    blockers::findings(running, input.host)
        .into_iter()
        .filter(|f| f.row.is_conditional())
        .find(|f| {
            f.row
                .sources
                .iter()
                .filter_map(|s| s.says)
                .any(|says| blockers::says_match(says, libvirt_message))
        })
}

/// The wordings of qemuMigrationSrcIsAllowed (libvirt 11) and of QEMU's blockers, which
/// libvirt passes on as "cannot migrate domain: <reasons>", plus every row's own words.
fn is_migration_blocker(lower: &str) -> bool {
    const MARKERS: [&str; 10] = [
        "cannot migrate domain",
        "cannot migrate a domain with",
        "migration blocker",
        "non-migratable",
        "cannot be migrated",
        // libvirt before 10.x; 11.3 says "with this virtiofs device".
        "migration with virtiofs device is not supported",
        "migration with transient disk is not supported",
        "migration with this virtiofs device is not supported",
        "cannot migrate this domain without dbus-vmstate support",
        "the running swtpm does not support migration with shared storage",
    ];
    MARKERS.iter().any(|m| lower.contains(m))
        || blockers::ROWS
            .iter()
            .flat_map(|r| r.sources.iter().filter_map(|s| s.says))
            .any(|says| blockers::says_match(&says.to_ascii_lowercase(), lower))
}

#[cfg(test)]
mod tests;
