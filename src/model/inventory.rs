//! What virtsnap knows about a host and its domains at a moment: the rows of the list.

use serde::Serialize;

use super::domain::{CpuMode, DomainConfig, DomainState};
use super::eligibility::{self, RuleInput, Verdict};
use super::host::HostCapabilities;

/// The connection's host, as shown in the header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostInfo {
    /// The URI libvirt reports for the open connection.
    pub uri: String,
    pub hostname: Option<String>,
    /// libvirt's driver name: `QEMU`, `Test`, ...
    pub hypervisor: String,
    /// `major*1_000_000 + minor*1_000 + micro`, as libvirt encodes versions.
    pub hypervisor_version: u64,
    pub libvirt_version: u64,
    pub capabilities: HostCapabilities,
    pub readonly: bool,
    pub demo: Option<DemoKind>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DemoKind {
    /// Real tiny VMs in an embedded QEMU driver root.
    Embedded,
    /// libvirt's test driver with the shipped host file: QEMU was not available.
    TestDriver,
}

/// Formats libvirt's encoded version number as `11.3.0`.
pub fn version_string(v: u64) -> String {
    format!("{}.{}.{}", v / 1_000_000, (v / 1_000) % 1_000, v % 1_000)
}

/// Which of the connections a row came from: an index into the hosts virtsnap was given
/// (`-c` values or the config file's `[[host]]` tables), in that order. Host 0 when there is
/// one. A domain is known by its host and its name (or UUID): two hosts may both have a `web`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct HostId(pub usize);

/// One domain, filled in stages: names arrive first, details as they are fetched.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DomainInfo {
    /// The connection it was read from; set by whoever receives the row (the worker does not
    /// know its index). Not part of the JSON: the CLI writes the host's name instead.
    #[serde(skip)]
    pub host: HostId,
    pub name: String,
    pub uuid: String,
    pub state: Option<DomainState>,
    pub vcpus: Option<u32>,
    pub memory_kib: Option<u64>,
    /// Parsed `VIR_DOMAIN_XML_INACTIVE` XML: the configured CPU mode lives here.
    pub persistent: Option<DomainConfig>,
    /// Parsed live XML when the domain is active.
    pub live: Option<DomainConfig>,
    pub snapshots: Option<u32>,
    pub current_snapshot: Option<String>,
    /// Why some detail is missing (a call failed); the row still shows what is known.
    pub error: Option<String>,
}

impl DomainInfo {
    /// A row with only the identity, before any detail call returned.
    pub fn named(name: String, uuid: String) -> Self {
        Self {
            host: HostId::default(),
            name,
            uuid,
            state: None,
            vcpus: None,
            memory_kib: None,
            persistent: None,
            live: None,
            snapshots: None,
            current_snapshot: None,
            error: None,
        }
    }

    pub fn is_loaded(&self) -> bool {
        self.state.is_some() && (self.persistent.is_some() || self.error.is_some())
    }

    /// The configuration that decides what the hypervisor does now: live when running.
    pub fn effective_config(&self) -> Option<&DomainConfig> {
        self.live.as_ref().or(self.persistent.as_ref())
    }

    pub fn verdict(&self, host: &HostInfo) -> Option<Verdict> {
        let persistent = self.persistent.as_ref().or(self.live.as_ref())?;
        let state = self.state?;
        Some(eligibility::evaluate(&RuleInput {
            persistent,
            live: self.live.as_ref(),
            host: Some(&host.capabilities),
            state,
            libvirt_version: host.libvirt_version,
        }))
    }

    /// The CPU as the definition in effect has it (the live one while the VM runs).
    pub fn cpu_badge(&self, host: Option<&HostCapabilities>) -> Option<CpuBadge> {
        let effective = self.effective_config()?;
        Some(badge_of(
            effective,
            self.persistent.as_ref(),
            self.live.is_some(),
            host,
        ))
    }

    /// The CPU the VM gets at its next start, when the persistent definition was changed
    /// while it runs: None when nothing is pending.
    pub fn cpu_after_restart(&self, host: Option<&HostCapabilities>) -> Option<CpuBadge> {
        let (live, persistent) = (self.live.as_ref()?, self.persistent.as_ref()?);
        let now = badge_of(live, Some(persistent), true, host);
        let next = badge_of(persistent, None, false, host);
        (now != next).then_some(next)
    }

    /// Changes that take effect at the next start (vCPUs, memory, CPU, disks, devices), in
    /// words; empty when the persistent definition is the one running.
    pub fn changes_after_restart(&self) -> Vec<String> {
        match (self.live.as_ref(), self.persistent.as_ref()) {
            (Some(live), Some(persistent)) => {
                let mut changes = crate::model::storage::definition_changes(live, persistent);
                // A running host-model VM's live XML holds the expanded model (mode='custom'):
                // that is what host-model runs as, not a pending change (see `badge_of`).
                let expanded = live.cpu_mode() == CpuMode::Custom
                    && persistent.cpu_mode() == CpuMode::HostModel;
                if expanded {
                    changes.retain(|c| !c.starts_with("CPU "));
                }
                changes
            }
            _ => Vec::new(),
        }
    }
}

/// The badge of `config`. A running host-model VM's live XML carries the expanded model as
/// `mode='custom'`: when the persistent definition says host-model, that is what runs.
fn badge_of(
    config: &DomainConfig,
    persistent: Option<&DomainConfig>,
    is_live: bool,
    host: Option<&HostCapabilities>,
) -> CpuBadge {
    let cpu = config.cpu.as_ref();
    let expanded_host_model = is_live
        && config.cpu_mode() == CpuMode::Custom
        && persistent.is_some_and(|p| p.cpu_mode() == CpuMode::HostModel);
    let (mode, model) = if expanded_host_model {
        (CpuMode::HostModel, None)
    } else {
        (config.cpu_mode(), cpu.and_then(|c| c.model.clone()))
    };
    CpuBadge {
        mode,
        model,
        invtsc: eligibility::invtsc_in_effect(config, host),
        tsc_pinned: config.tsc_frequency_hz.is_some(),
        no_migrate: cpu.and_then(|c| c.migratable) == Some(false),
    }
}

/// The CPU column: the configured mode plus the markers that matter for snapshots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CpuBadge {
    pub mode: CpuMode,
    pub model: Option<String>,
    pub invtsc: bool,
    pub tsc_pinned: bool,
    pub no_migrate: bool,
}

impl CpuBadge {
    pub fn mode_label(&self) -> String {
        match self.mode {
            CpuMode::HostPassthrough => "passthrough".into(),
            CpuMode::HostModel => "host-model".into(),
            CpuMode::Maximum => "maximum".into(),
            CpuMode::Default => "default".into(),
            CpuMode::Custom => match &self.model {
                Some(m) => format!("custom {m}"),
                None => "custom".into(),
            },
        }
    }

    pub fn markers(&self) -> Vec<&'static str> {
        let mut m = Vec::new();
        if self.invtsc {
            m.push("invtsc");
        }
        if self.tsc_pinned {
            m.push("tsc-pinned");
        }
        if self.no_migrate {
            m.push("no-migrate");
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_read_as_libvirt_prints_them() {
        assert_eq!(version_string(11_003_000), "11.3.0");
        assert_eq!(version_string(10_000_002), "10.0.2");
    }

    #[test]
    fn badge_labels() {
        let mut b = CpuBadge {
            mode: CpuMode::Custom,
            model: Some("qemu64".into()),
            invtsc: true,
            tsc_pinned: false,
            no_migrate: true,
        };
        assert_eq!(b.mode_label(), "custom qemu64");
        assert_eq!(b.markers(), vec!["invtsc", "no-migrate"]);
        b.mode = CpuMode::HostPassthrough;
        assert_eq!(b.mode_label(), "passthrough");
    }
}

#[cfg(test)]
mod after_restart_tests {
    use super::*;
    use crate::model::fixtures::{domain, host};

    #[test]
    fn the_badge_is_the_definition_in_effect_and_a_pending_change_says_after_restart() {
        let caps = host("qemu-system");
        let mut row = DomainInfo::named("web".into(), "u".into());
        row.state = Some(DomainState::Running);
        // Runs host-model (its live XML says custom: the expanded model); edited to
        // passthrough since. What runs is that custom model; the passthrough comes at restart.
        row.live = Some(domain("host-model-live"));
        row.persistent = Some(domain("hp-off-inactive"));
        let now = row.cpu_badge(Some(&caps)).unwrap();
        assert_eq!(now.mode, CpuMode::Custom);
        assert!(now.model.is_some());
        assert!(!now.no_migrate);
        let next = row.cpu_after_restart(Some(&caps)).expect("pending");
        assert_eq!(next.mode, CpuMode::HostPassthrough);
        assert!(next.no_migrate);
        assert!(row
            .changes_after_restart()
            .iter()
            .any(|c| c.starts_with("CPU ")));
        // Nothing pending when the persistent definition is the one running: and then the
        // expanded model reads as the host-model it is.
        row.persistent = Some(domain("host-model-inactive"));
        assert_eq!(row.cpu_after_restart(Some(&caps)), None);
        assert!(
            !row.changes_after_restart()
                .iter()
                .any(|c| c.starts_with("CPU ")),
            "the expanded host-model is not a pending change: {:?}",
            row.changes_after_restart()
        );
        assert_eq!(row.cpu_badge(Some(&caps)).unwrap().mode, CpuMode::HostModel);
    }
}
