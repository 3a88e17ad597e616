//! The memory-capture rule: can this VM's memory state be saved, and if not, why and what to do.

use serde::Serialize;

use super::domain::{DomainConfig, DomainState};
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
    pub allowed: bool,
    pub applicable: bool,
    pub blockers: Vec<Blocker>,
    /// The numbered options' text, without the numbers.
    pub remedies: Vec<String>,
    #[serde(skip)]
    pub remedy_actions: Vec<Remedy>,
    /// An internal memory snapshot is possible.
    pub internal: bool,
    /// An external memory snapshot is possible.
    pub external: bool,
    pub notes: Vec<String>,
}

impl MemoryVerdict {
    /// The full explanation shown to the user; None when memory state can be captured.
    pub fn explanation(&self) -> Option<String> {
        None
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

/// Decides whether memory state and disk-only snapshots are possible.
pub fn evaluate(input: &RuleInput) -> Verdict {
    let _ = input;
    Verdict {
        memory: MemoryVerdict {
            allowed: true,
            applicable: true,
            blockers: Vec::new(),
            remedies: Vec::new(),
            remedy_actions: Vec::new(),
            internal: true,
            external: true,
            notes: Vec::new(),
        },
        disk_only: DiskOnlyVerdict {
            allowed: true,
            quiesce: false,
            reason: None,
            quiesce_reason: None,
        },
    }
}

/// Whether the guest CPU exposes invariant TSC (ignoring a pinned TSC frequency).
pub fn invtsc_in_effect(cfg: &DomainConfig, host: Option<&HostCapabilities>) -> bool {
    let _ = (cfg, host);
    false
}

/// Maps a libvirt error message from a memory operation (snapshot with memory, save, managed
/// save) to the explained text, keeping libvirt's line underneath ("libvirt said: ...").
/// None if it is not a migration-blocker error.
pub fn explain_libvirt_error(libvirt_message: &str, input: &RuleInput) -> Option<String> {
    let _ = (libvirt_message, input);
    None
}
