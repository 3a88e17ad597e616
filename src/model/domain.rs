//! The parts of a domain's XML virtsnap reasons about: CPU mode and features, TSC clock,
//! disks, firmware and the devices and settings that decide whether memory state can be saved.

use serde::Serialize;

use super::xml::{parse_u64, scaled_to_kib, Element, XmlError};

pub mod blocking;
mod devices;

pub use devices::{
    Channel, Filesystem, HostDevice, HostDeviceSource, Input, LaunchSecurity, MemoryBacking,
    NetInterface, Shmem, Tpm, Video,
};

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

impl FeaturePolicy {
    /// libvirt's spelling, as in `<feature policy='require'/>`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Force => "force",
            Self::Require => "require",
            Self::Optional => "optional",
            Self::Disable => "disable",
            Self::Forbid => "forbid",
        }
    }
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
    /// `<source pool=... volume=...>` of a `type='volume'` disk; libvirt's storage API turns
    /// it into a path (`source` holds `pool/volume` for display).
    pub pool_volume: Option<(String, String)>,
    /// The images below the top one, nearest first, from `<backingStore>` (live XML of a
    /// running VM, and persistent XML where libvirt recorded it); empty when unknown.
    pub backing_chain: Vec<BackingImage>,
    /// `<source><dataStore type='file'><source file=.../>`: a qcow2 image whose guest data lives
    /// in a separate (raw) data file (libvirt >= 10.10); the data file's path.
    pub data_store: Option<String>,
    /// `<transient/>`: changes are discarded when the VM stops (libvirt refuses to migrate,
    /// and so to save, such a VM).
    pub transient: bool,
}

/// One `<backingStore>` level of a disk: an image the one above it is an overlay of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BackingImage {
    /// `file`, `block`, `network`...
    pub disk_type: String,
    /// The path (file, block device) or network name.
    pub source: Option<String>,
    /// `<format type=...>`: `qcow2`, `raw`...
    pub format: Option<String>,
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
    /// The NVRAM path: `<nvram>PATH</nvram>`, or `<nvram type='file'><source file=PATH/>`
    /// (libvirt >= 8.5; a network NVRAM gives its source `name`).
    pub nvram: Option<String>,
    /// `<nvram format='qcow2'>` (libvirt >= 10.x); None when unspecified (raw).
    pub nvram_format: Option<String>,
}

/// A device or setting libvirt/QEMU cannot migrate, so memory state cannot be saved: one
/// finding of a row of the blocker table (`eligibility::blockers`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MigrationBlockingDevice {
    /// The row's kind: `hostdev-pci`, `virtiofs`, `vdpa`, `shmem`, `9p`, ...
    pub kind: String,
    /// What identifies it to an admin, e.g. `0000:03:00.0` or the share's mount tag; may be
    /// empty.
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
    /// The devices that always keep libvirt/QEMU from saving memory state (the refusing
    /// device rows of the blocker table, [`blocking::REFUSING_DEVICES`]); CPU and launch
    /// settings and guest- or back-end-dependent ones (9p, virtiofs, vhost-user) are not here:
    /// ask `eligibility::evaluate`.
    pub blocking_devices: Vec<MigrationBlockingDevice>,
    pub guest_agent: Option<GuestAgent>,
    /// Number of `<serial>` + `<console>` devices.
    pub consoles: u32,
    /// `<hostdev>` and `<interface type='hostdev'>`.
    pub hostdevs: Vec<HostDevice>,
    pub filesystems: Vec<Filesystem>,
    /// Every `<interface>` except `type='hostdev'` (those are in `hostdevs`).
    pub interfaces: Vec<NetInterface>,
    pub shmems: Vec<Shmem>,
    pub launch_security: Option<LaunchSecurity>,
    pub memory_backing: Option<MemoryBacking>,
    /// `<features><hyperv mode=...>`: `custom` (the default) or `passthrough`.
    pub hyperv_mode: Option<String>,
    /// `<sound model=...>`: ich9, ich6, usb, ...
    pub sound_models: Vec<String>,
    /// `<serial><target type=...>`: isa-serial, usb-serial, pci-serial, ...
    pub serial_targets: Vec<String>,
    /// `<crypto model=...>`: virtio.
    pub crypto_models: Vec<String>,
    pub videos: Vec<Video>,
    pub inputs: Vec<Input>,
    pub channels: Vec<Channel>,
    pub tpms: Vec<Tpm>,
}

impl DomainConfig {
    /// Parses `virsh dumpxml`-style domain XML (live or `--inactive`).
    pub fn from_xml(xml: &str) -> Result<DomainConfig, XmlError> {
        let root = Element::parse_root(xml, "domain", keep_domain_element)?;
        let devices = root.child("devices");
        let mut config = DomainConfig {
            name: root.child_text("name").unwrap_or_default().to_string(),
            uuid: root.child_text("uuid").unwrap_or_default().to_string(),
            domain_type: root.attr("type").unwrap_or_default().to_string(),
            vcpus: parse_vcpus(root.child("vcpu"))?,
            memory_kib: match root.child("memory") {
                Some(m) => scaled_to_kib(m.text(), m.attr("unit"), "<memory>")?,
                None => 0,
            },
            cpu: root.child("cpu").map(parse_cpu).transpose()?,
            tsc_frequency_hz: parse_tsc_frequency(root.child("clock"))?,
            disks: device_list(devices, "disk")
                .map(parse_disk)
                .collect::<Result<_, _>>()?,
            firmware: root.child("os").and_then(parse_firmware),
            blocking_devices: Vec::new(),
            guest_agent: device_list(devices, "channel").find_map(parse_guest_agent),
            consoles: (device_list(devices, "serial").count()
                + device_list(devices, "console").count()) as u32,
            hostdevs: devices::host_devices(devices),
            filesystems: device_list(devices, "filesystem")
                .map(devices::parse_filesystem)
                .collect(),
            interfaces: device_list(devices, "interface")
                .filter(|i| i.attr("type") != Some("hostdev"))
                .map(devices::parse_interface)
                .collect(),
            shmems: device_list(devices, "shmem")
                .map(devices::parse_shmem)
                .collect(),
            launch_security: root
                .child("launchSecurity")
                .map(devices::parse_launch_security)
                .transpose()?,
            memory_backing: root
                .child("memoryBacking")
                .map(devices::parse_memory_backing),
            hyperv_mode: root
                .child("features")
                .and_then(|f| f.child("hyperv"))
                .map(|h| h.attr("mode").unwrap_or("custom").to_string()),
            sound_models: device_list(devices, "sound")
                .filter_map(|s| s.attr("model"))
                .map(str::to_string)
                .collect(),
            serial_targets: device_list(devices, "serial")
                .filter_map(serial_target)
                .collect(),
            crypto_models: device_list(devices, "crypto")
                .filter_map(|c| c.attr("model"))
                .map(str::to_string)
                .collect(),
            videos: device_list(devices, "video")
                .map(devices::parse_video)
                .collect(),
            inputs: device_list(devices, "input")
                .map(devices::parse_input)
                .collect(),
            channels: device_list(devices, "channel")
                .map(devices::parse_channel)
                .collect(),
            tpms: device_list(devices, "tpm")
                .map(devices::parse_tpm)
                .collect(),
        };
        config.blocking_devices = blocking::blocking_devices(&config);
        Ok(config)
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

/// The parts of a domain the model reads; the rest (controllers, addresses of ordinary devices,
/// seclabels, metadata) is never built into the tree.
fn keep_domain_element(ancestors: &[Element], name: &str) -> bool {
    match ancestors {
        [_domain] => matches!(
            name,
            "name"
                | "uuid"
                | "memory"
                | "vcpu"
                | "cpu"
                | "clock"
                | "os"
                | "devices"
                | "features"
                | "launchSecurity"
                | "memoryBacking"
        ),
        [_domain, devices] if devices.name == "devices" => matches!(
            name,
            "disk"
                | "hostdev"
                | "filesystem"
                | "interface"
                | "shmem"
                | "channel"
                | "serial"
                | "console"
                | "sound"
                | "crypto"
                | "video"
                | "input"
                | "tpm"
        ),
        // Only a host device's own address (`<source><address>`) matters, never the guest
        // bus address or the alias libvirt gives every device.
        [.., parent] => match name {
            "alias" => false,
            "address" => parent.name == "source",
            _ => true,
        },
        [] => true,
    }
}

fn device_list<'a>(
    devices: Option<&'a Element>,
    name: &'a str,
) -> impl Iterator<Item = &'a Element> {
    devices
        .into_iter()
        .flat_map(move |d| d.children_named(name))
}

/// `<vcpu current='N'>MAX</vcpu>`: the vCPUs the guest has now.
fn parse_vcpus(vcpu: Option<&Element>) -> Result<u32, XmlError> {
    let Some(vcpu) = vcpu else { return Ok(1) };
    let value = vcpu.attr("current").unwrap_or(vcpu.text());
    value.trim().parse().map_err(|_| XmlError::InvalidValue {
        what: "<vcpu>".to_string(),
        value: value.to_string(),
    })
}

fn parse_cpu(cpu: &Element) -> Result<CpuConfig, XmlError> {
    let model = cpu.child_text("model").map(str::to_string);
    let mode = match cpu.attr("mode") {
        Some("host-passthrough") => CpuMode::HostPassthrough,
        Some("host-model") => CpuMode::HostModel,
        Some("custom") => CpuMode::Custom,
        Some("maximum") => CpuMode::Maximum,
        Some(other) => {
            return Err(XmlError::InvalidValue {
                what: "<cpu mode>".to_string(),
                value: other.to_string(),
            })
        }
        // libvirt's default mode is custom; without a model (only topology, say) the guest
        // gets the hypervisor's default CPU, which is what `default` means to an admin.
        None if model.is_some() => CpuMode::Custom,
        None => CpuMode::Default,
    };
    let migratable = match cpu.attr("migratable") {
        Some("on") => Some(true),
        Some("off") => Some(false),
        _ => None,
    };
    let features = cpu
        .children_named("feature")
        .filter_map(|f| f.attr("name").map(|name| (name, f.attr("policy"))))
        .map(|(name, policy)| {
            Ok(CpuFeature {
                name: name.to_string(),
                policy: parse_policy(policy)?,
            })
        })
        .collect::<Result<_, XmlError>>()?;
    Ok(CpuConfig {
        mode,
        model,
        migratable,
        features,
    })
}

/// An absent policy means `require`, as in libvirt.
fn parse_policy(policy: Option<&str>) -> Result<FeaturePolicy, XmlError> {
    Ok(match policy {
        None | Some("require") => FeaturePolicy::Require,
        Some("force") => FeaturePolicy::Force,
        Some("optional") => FeaturePolicy::Optional,
        Some("disable") => FeaturePolicy::Disable,
        Some("forbid") => FeaturePolicy::Forbid,
        Some(other) => {
            return Err(XmlError::InvalidValue {
                what: "<cpu><feature policy>".to_string(),
                value: other.to_string(),
            })
        }
    })
}

fn parse_tsc_frequency(clock: Option<&Element>) -> Result<Option<u64>, XmlError> {
    let timer = clock.and_then(|c| {
        c.children_named("timer")
            .find(|t| t.attr("name") == Some("tsc"))
    });
    match timer.and_then(|t| t.attr("frequency")) {
        Some(hz) => parse_u64(hz, "<timer name='tsc' frequency>").map(Some),
        None => Ok(None),
    }
}

fn parse_disk(disk: &Element) -> Result<Disk, XmlError> {
    let device = match disk.attr("device").unwrap_or("disk") {
        "disk" => DiskDevice::Disk,
        "cdrom" => DiskDevice::Cdrom,
        "floppy" => DiskDevice::Floppy,
        "lun" => DiskDevice::Lun,
        other => {
            return Err(XmlError::InvalidValue {
                what: "<disk device>".to_string(),
                value: other.to_string(),
            })
        }
    };
    let disk_type = match disk.attr("type").unwrap_or("file") {
        "file" => DiskType::File,
        "block" => DiskType::Block,
        "network" => DiskType::Network,
        "volume" => DiskType::Volume,
        "dir" => DiskType::Dir,
        "nvme" => DiskType::Nvme,
        "vhostuser" => DiskType::Vhostuser,
        "vhostvdpa" => DiskType::Vhostvdpa,
        _ => DiskType::Other,
    };
    let source = disk.child("source").and_then(|s| {
        let named = ["file", "dev", "dir", "path"]
            .iter()
            .find_map(|key| s.attr(key))
            .map(str::to_string);
        named.or_else(
            || match (s.attr("pool"), s.attr("volume"), s.attr("name")) {
                (Some(pool), Some(volume), _) => Some(format!("{pool}/{volume}")),
                (None, Some(volume), _) => Some(volume.to_string()),
                (_, None, Some(name)) => Some(name.to_string()),
                _ => None,
            },
        )
    });
    Ok(Disk {
        device,
        disk_type,
        format: disk
            .child("driver")
            .and_then(|d| d.attr("type"))
            .map(str::to_string),
        source,
        target: disk
            .child("target")
            .and_then(|t| t.attr("dev"))
            .unwrap_or_default()
            .to_string(),
        readonly: disk.child("readonly").is_some(),
        shareable: disk.child("shareable").is_some(),
        snapshot: disk.attr("snapshot").map(str::to_string),
        pool_volume: disk
            .child("source")
            .and_then(|s| Some((s.attr("pool")?.to_string(), s.attr("volume")?.to_string()))),
        backing_chain: backing_chain(disk),
        data_store: disk
            .child("source")
            .and_then(|s| s.child("dataStore"))
            .and_then(|d| d.child("source"))
            .and_then(source_path),
        transient: disk.child("transient").is_some(),
    })
}

/// Walks `<backingStore>` down from a disk until the empty terminator (or a level without a
/// source, which libvirt writes when it has not probed further).
fn backing_chain(disk: &Element) -> Vec<BackingImage> {
    let mut chain = Vec::new();
    let mut at = disk.child("backingStore");
    while let Some(level) = at {
        let Some(source) = level.child("source") else {
            break;
        };
        chain.push(BackingImage {
            disk_type: level.attr("type").unwrap_or("file").to_string(),
            source: ["file", "dev", "name"]
                .iter()
                .find_map(|k| source.attr(k))
                .map(str::to_string),
            format: level
                .child("format")
                .and_then(|f| f.attr("type"))
                .map(str::to_string),
        });
        // A chain deeper than this is a loop in hand-written XML, not an image chain.
        if chain.len() > 1000 {
            break;
        }
        at = level.child("backingStore");
    }
    chain
}

/// `<source file|dev|dir|path=...>` (a nested data store or NVRAM source).
fn source_path(source: &Element) -> Option<String> {
    ["file", "dev", "dir", "path", "name"]
        .iter()
        .find_map(|key| source.attr(key))
        .map(str::to_string)
}

/// `<serial><target type='usb-serial'>`, or only `<target><model name=...>`.
fn serial_target(serial: &Element) -> Option<String> {
    let target = serial.child("target")?;
    target
        .attr("type")
        .or_else(|| target.child("model").and_then(|m| m.attr("name")))
        .map(str::to_string)
}

/// `<os firmware='efi'>` or a `<loader>`/`<nvram>`; None for plain BIOS.
fn parse_firmware(os: &Element) -> Option<Firmware> {
    let loader = os.child("loader");
    let nvram = os.child("nvram");
    let efi = os.attr("firmware") == Some("efi");
    if !efi && loader.is_none() && nvram.is_none() {
        return None;
    }
    let pflash = efi || loader.and_then(|l| l.attr("type")) == Some("pflash");
    Some(Firmware {
        pflash,
        loader: loader
            .map(Element::text)
            .filter(|t| !t.is_empty())
            .map(str::to_string),
        // `<nvram>PATH</nvram>`, or since libvirt 8.5 `<nvram type='file'><source file=.../>`.
        nvram: nvram.and_then(|n| {
            Some(n.text())
                .filter(|t| !t.is_empty())
                .map(str::to_string)
                .or_else(|| n.child("source").and_then(source_path))
        }),
        nvram_format: nvram.and_then(|n| n.attr("format")).map(str::to_string),
    })
}

fn parse_guest_agent(channel: &Element) -> Option<GuestAgent> {
    let target = channel.child("target")?;
    (target.attr("name") == Some("org.qemu.guest_agent.0")).then(|| GuestAgent {
        connected: target.attr("state") == Some("connected"),
    })
}

#[cfg(test)]
#[path = "domain_tests.rs"]
mod tests;
