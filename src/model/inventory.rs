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

    pub fn cpu_badge(&self, host: Option<&HostCapabilities>) -> Option<CpuBadge> {
        // The configured mode comes from the persistent XML (a running host-model VM's live
        // XML says custom); markers come from what is in effect.
        let configured = self.persistent.as_ref().or(self.live.as_ref())?;
        let effective = self.effective_config().unwrap_or(configured);
        let cpu = configured.cpu.as_ref();
        Some(CpuBadge {
            mode: configured.cpu_mode(),
            model: cpu.and_then(|c| c.model.clone()),
            invtsc: eligibility::invtsc_in_effect(effective, host),
            tsc_pinned: effective.tsc_frequency_hz.is_some(),
            no_migrate: cpu.and_then(|c| c.migratable) == Some(false),
        })
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
