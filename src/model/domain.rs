//! The parts of a domain's XML virtsnap reasons about: CPU mode and features, TSC clock,
//! disks, firmware and the devices that block memory state.

use serde::Serialize;

use super::xml::XmlError;

/// The configured CPU mode. Read it from the persistent XML: libvirt rewrites a running
/// host-model VM's live XML to `custom`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum CpuMode {
    #[serde(rename = "host-passthrough")]
    HostPassthrough,
    #[serde(rename = "host-model")]
    HostModel,
    #[serde(rename = "custom")]
    Custom,
    #[serde(rename = "maximum")]
    Maximum,
    /// No `<cpu>` element at all: the hypervisor's default model.
    #[serde(rename = "default")]
    Default,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FeaturePolicy {
    Force,
    Require,
    Optional,
    Disable,
    Forbid,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CpuFeature {
    pub name: String,
    pub policy: FeaturePolicy,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CpuConfig {
    pub mode: CpuMode,
    /// `<model>` text, e.g. `qemu64`, `Skylake-Client`.
    pub model: Option<String>,
    /// `migratable='on'|'off'`; None when the attribute is absent.
    pub migratable: Option<bool>,
    pub features: Vec<CpuFeature>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DiskDevice {
    Disk,
    Cdrom,
    Floppy,
    Lun,
}

/// `<disk type=...>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DiskType {
    File,
    Block,
    Network,
    Volume,
    Dir,
    Nvme,
    Vhostuser,
    Vhostvdpa,
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Disk {
    pub device: DiskDevice,
    pub disk_type: DiskType,
    /// `<driver type=...>`: `qcow2`, `raw`, ...
    pub format: Option<String>,
    /// `<source file|dev|name|volume=...>`.
    pub source: Option<String>,
    /// `<target dev=...>`, e.g. `vda`.
    pub target: String,
    pub readonly: bool,
    pub shareable: bool,
    /// `<disk snapshot='no|internal|external|manual'>`.
    pub snapshot: Option<String>,
}

impl Disk {
    /// A disk whose contents a snapshot must capture.
    pub fn is_writable(&self) -> bool {
        !self.readonly
            && matches!(self.device, DiskDevice::Disk | DiskDevice::Lun)
            && self.snapshot.as_deref() != Some("no")
    }
}

/// `<os><loader type='pflash'>` and `<nvram>`: UEFI firmware.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Firmware {
    /// `<os firmware='efi'>` or a pflash loader.
    pub pflash: bool,
    pub loader: Option<String>,
    pub nvram: Option<String>,
    /// `<nvram format='qcow2'>` (libvirt >= 10.x); None when unspecified (raw).
    pub nvram_format: Option<String>,
}

/// A device libvirt/QEMU cannot migrate, so memory state cannot be saved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MigrationBlockingDevice {
    /// Short kind: `hostdev-pci`, `virtiofs`, `vdpa`, `shmem`, ...
    pub kind: String,
    /// What identifies it to an admin, e.g. `0000:03:00.0` or the virtiofs target tag.
    pub detail: String,
}

/// The qemu-guest-agent channel (`<channel type='unix'><target type='virtio'
/// name='org.qemu.guest_agent.0' state='connected'/>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct GuestAgent {
    /// `state='connected'` in the live XML; false when absent or disconnected.
    pub connected: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DomainConfig {
    pub name: String,
    pub uuid: String,
    /// Domain type attribute: `kvm`, `qemu`, `test`.
    pub domain_type: String,
    pub vcpus: u32,
    pub memory_kib: u64,
    /// None when the XML has no `<cpu>` element (mode `default`).
    pub cpu: Option<CpuConfig>,
    /// `<clock><timer name='tsc' frequency='HZ'/>`.
    pub tsc_frequency_hz: Option<u64>,
    pub disks: Vec<Disk>,
    pub firmware: Option<Firmware>,
    pub blocking_devices: Vec<MigrationBlockingDevice>,
    pub guest_agent: Option<GuestAgent>,
    /// Number of `<serial>` + `<console>` devices.
    pub consoles: u32,
}

impl DomainConfig {
    /// Parses `virsh dumpxml`-style domain XML (live or `--inactive`).
    pub fn from_xml(xml: &str) -> Result<DomainConfig, XmlError> {
        let _ = xml;
        Err(XmlError::Empty)
    }

    pub fn cpu_mode(&self) -> CpuMode {
        self.cpu.as_ref().map_or(CpuMode::Default, |c| c.mode)
    }
}

/// libvirt's domain state, as lower-case words for JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DomainState {
    Nostate,
    Running,
    Blocked,
    Paused,
    Shutdown,
    Shutoff,
    Crashed,
    Pmsuspended,
}

impl DomainState {
    pub fn from_raw(state: u32) -> Self {
        match state {
            1 => Self::Running,
            2 => Self::Blocked,
            3 => Self::Paused,
            4 => Self::Shutdown,
            5 => Self::Shutoff,
            6 => Self::Crashed,
            7 => Self::Pmsuspended,
            _ => Self::Nostate,
        }
    }

    /// Words an admin reads in the table.
    pub fn label(self) -> &'static str {
        match self {
            Self::Nostate => "no state",
            Self::Running => "running",
            Self::Blocked => "blocked",
            Self::Paused => "paused",
            Self::Shutdown => "shutting down",
            Self::Shutoff => "shut off",
            Self::Crashed => "crashed",
            Self::Pmsuspended => "suspended",
        }
    }

    /// A QEMU process exists, so memory state exists.
    pub fn is_active(self) -> bool {
        !matches!(self, Self::Shutoff | Self::Crashed | Self::Nostate)
    }
}
