//! The devices and domain settings that decide whether QEMU can save a VM's memory state: host
//! devices, shared filesystems, network back-ends, shared memory, launch security, memory
//! backing and the handful of device models QEMU marks non-migratable. Plain data read from the
//! domain XML (libvirt's formatdomain vocabulary); the blocker table in
//! `eligibility::blockers` reads it.

use serde::Serialize;

use crate::model::xml::{parse_u64, Element, XmlError};

/// `<hostdev>` or `<interface type='hostdev'>`: a host device given to the guest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostDevice {
    /// `mode='subsystem'` (QEMU; the default) or `capabilities` (LXC only).
    pub mode: String,
    pub source: HostDeviceSource,
    /// `<teaming type='transient'/>`: QEMU unplugs such a VF before migrating, so it never
    /// blocks.
    pub transient_teaming: bool,
    /// Written as `<interface type='hostdev'>` (an SR-IOV VF as a NIC) rather than `<hostdev>`.
    pub as_interface: bool,
}

/// What `<hostdev type=...>` passes through, with the identifier an admin recognises.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum HostDeviceSource {
    /// `type='pci'`: `<source><address domain bus slot function/>` as `0000:03:00.0` (empty
    /// when the address is incomplete).
    Pci { address: String },
    /// `type='usb'`: `vendor:product` ids (`0x1234:0x0001`) or `bus.device` from `<address>`.
    Usb { id: String },
    /// `type='scsi'`: an adapter and address (`scsi_host0:0:0:0`) or an iSCSI `name`.
    Scsi { id: String },
    /// `type='scsi_host'` (`<source protocol='vhost' wwpn='naa...'/>`): a vhost-scsi target.
    ScsiHost { protocol: String, wwpn: String },
    /// `type='mdev'`: the mediated device's UUID and `model` (vfio-pci, vfio-ccw, vfio-ap).
    Mdev { uuid: String, model: String },
    /// Any other `type`, kept by name.
    Other { kind: String },
}

/// `<filesystem>`: a host directory shared with the guest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Filesystem {
    /// `type=`: `mount` for QEMU (the default); `template`, `ram`, `bind` are LXC's.
    pub fs_type: String,
    /// `<driver type=...>`: absent, `path` or `handle` mean 9p (virtio-9p) for QEMU;
    /// `virtiofs` means vhost-user-fs.
    pub driver: Option<String>,
    /// `<source dir=...>`: the host directory.
    pub source_dir: Option<String>,
    /// `<source socket=...>`: a virtiofsd started outside libvirt.
    pub source_socket: Option<String>,
    /// `<target dir=...>`: the mount tag the guest uses.
    pub target: String,
    /// `accessmode=`: passthrough (the default), mapped, squash.
    pub accessmode: Option<String>,
    pub readonly: bool,
}

impl Filesystem {
    /// QEMU exports it over 9p (virtio-9p): no driver, or `path`/`handle`.
    pub fn is_9p(&self) -> bool {
        self.fs_type == "mount"
            && matches!(
                self.driver.as_deref(),
                None | Some("default" | "path" | "handle")
            )
    }

    pub fn is_virtiofs(&self) -> bool {
        self.driver.as_deref() == Some("virtiofs")
    }
}

/// `<interface>`: a guest NIC and its host back-end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NetInterface {
    /// `type=`: network, bridge, user, vdpa, vhostuser, hostdev, direct, ...
    pub net_type: String,
    /// `<source dev|path|network|bridge=...>`: what names the back-end.
    pub source: Option<String>,
    /// `<mac address=...>`.
    pub mac: Option<String>,
    /// `<backend type=...>`: `passt` for a user interface served by passt.
    pub backend_type: Option<String>,
}

/// `<shmem name=...>`: an ivshmem device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Shmem {
    pub name: String,
    /// `<model type=...>`: ivshmem-plain, ivshmem-doorbell (or the legacy ivshmem).
    pub model: Option<String>,
    /// `role=`: master, peer, or None (libvirt's default, which is not master).
    pub role: Option<String>,
}

/// `<launchSecurity type=...>`: confidential computing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LaunchSecurity {
    /// `sev` (SEV and SEV-ES), `sev-snp`, `s390-pv`, or a type this build does not know.
    pub security_type: String,
    /// `<policy>` as a number (SEV: bit 2, 0x04, asks for SEV-ES).
    pub policy: Option<u64>,
}

impl LaunchSecurity {
    /// SEV with policy bit 2 set: the guest's register state is encrypted too.
    pub fn is_sev_es(&self) -> bool {
        self.security_type == "sev" && self.policy.is_some_and(|p| p & 0x04 != 0)
    }
}

/// `<memoryBacking>`: how guest RAM is allocated on the host.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MemoryBacking {
    /// `<hugepages>`.
    pub hugepages: bool,
    /// `<nosharepages/>`: no KSM merging.
    pub nosharepages: bool,
    /// `<locked/>`: RAM locked in host memory.
    pub locked: bool,
    /// `<source type=...>`: file, anonymous, memfd.
    pub source_type: Option<String>,
    /// `<access mode=...>`: shared, private.
    pub access_mode: Option<String>,
    /// `<allocation mode=...>`: immediate, ondemand.
    pub allocation_mode: Option<String>,
    /// `<discard/>`.
    pub discard: bool,
}

/// `<video>`: `<model type=...>` and `<driver name=...>` (`vhostuser` for vhost-user-gpu).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Video {
    pub model: Option<String>,
    pub driver: Option<String>,
}

/// `<input type=... bus=...>`; `<source evdev=...>` for a passed-through host input device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Input {
    pub input_type: String,
    pub bus: Option<String>,
    pub evdev: Option<String>,
}

/// `<channel type=...><target name=...>`: qemu-vdagent, spicevmc, unix (guest agent), ...
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Channel {
    pub channel_type: String,
    pub target_name: Option<String>,
}

/// `<tpm model=...><backend type=...>`: passthrough or emulator (swtpm).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Tpm {
    pub model: Option<String>,
    pub backend: Option<String>,
}

fn parse_hostdev(hostdev: &Element) -> HostDevice {
    let source = hostdev.child("source");
    let source_attr = |name: &str| {
        source
            .and_then(|s| s.attr(name))
            .unwrap_or_default()
            .to_string()
    };
    let kind = hostdev.attr("type").unwrap_or_default();
    let source_kind = match kind {
        "pci" => HostDeviceSource::Pci {
            address: pci_address(hostdev),
        },
        "usb" => HostDeviceSource::Usb { id: usb_id(source) },
        "scsi" => HostDeviceSource::Scsi {
            id: scsi_id(source),
        },
        "scsi_host" => HostDeviceSource::ScsiHost {
            protocol: source_attr("protocol"),
            wwpn: source_attr("wwpn"),
        },
        "mdev" => HostDeviceSource::Mdev {
            uuid: source
                .and_then(|s| s.child("address"))
                .and_then(|a| a.attr("uuid"))
                .unwrap_or_default()
                .to_string(),
            model: hostdev.attr("model").unwrap_or_default().to_string(),
        },
        other => HostDeviceSource::Other {
            kind: other.to_string(),
        },
    };
    HostDevice {
        mode: hostdev.attr("mode").unwrap_or("subsystem").to_string(),
        source: source_kind,
        transient_teaming: transient_teaming(hostdev),
        as_interface: false,
    }
}

/// `<interface type='hostdev'>`: libvirt always means a PCI function (an SR-IOV VF).
fn interface_hostdev(interface: &Element) -> HostDevice {
    HostDevice {
        mode: "subsystem".to_string(),
        source: HostDeviceSource::Pci {
            address: pci_address(interface),
        },
        transient_teaming: transient_teaming(interface),
        as_interface: true,
    }
}

fn transient_teaming(device: &Element) -> bool {
    device.child("teaming").and_then(|t| t.attr("type")) == Some("transient")
}

/// Every host device, from `<hostdev>` and `<interface type='hostdev'>`, in document order.
pub(super) fn host_devices(devices: Option<&Element>) -> Vec<HostDevice> {
    let Some(devices) = devices else {
        return Vec::new();
    };
    devices
        .children
        .iter()
        .filter_map(|d| match (d.name.as_str(), d.attr("type")) {
            ("hostdev", _) => Some(parse_hostdev(d)),
            ("interface", Some("hostdev")) => Some(interface_hostdev(d)),
            _ => None,
        })
        .collect()
}

/// `<source><address domain='0x0000' bus='0x03' slot='0x00' function='0x0'/>` as `0000:03:00.0`.
fn pci_address(device: &Element) -> String {
    let Some(address) = device.child("source").and_then(|s| s.child("address")) else {
        return String::new();
    };
    let field = |name: &str| address.attr(name).and_then(parse_hex);
    match (
        field("domain"),
        field("bus"),
        field("slot"),
        field("function"),
    ) {
        (domain, Some(bus), Some(slot), Some(function)) => format!(
            "{:04x}:{bus:02x}:{slot:02x}.{function:x}",
            domain.unwrap_or(0)
        ),
        _ => String::new(),
    }
}

/// libvirt writes PCI address parts in hex (`0x03`), and accepts decimal for USB ids.
fn parse_hex(value: &str) -> Option<u32> {
    let value = value.trim();
    match value
        .strip_prefix("0x")
        .or_else(|| value.strip_prefix("0X"))
    {
        Some(digits) => u32::from_str_radix(digits, 16).ok(),
        None => u32::from_str_radix(value, 16).ok(),
    }
}

fn usb_id(source: Option<&Element>) -> String {
    let Some(source) = source else {
        return String::new();
    };
    let id = |child: &str| source.child(child).and_then(|c| c.attr("id"));
    match (id("vendor"), id("product"), source.child("address")) {
        (Some(vendor), Some(product), _) => format!("{vendor}:{product}"),
        (Some(vendor), None, _) => vendor.to_string(),
        (None, _, Some(address)) => format!(
            "{}.{}",
            address.attr("bus").unwrap_or("?"),
            address.attr("device").unwrap_or("?")
        ),
        _ => String::new(),
    }
}

fn scsi_id(source: Option<&Element>) -> String {
    let Some(source) = source else {
        return String::new();
    };
    if let Some(name) = source.attr("name") {
        return name.to_string();
    }
    let adapter = source
        .child("adapter")
        .and_then(|a| a.attr("name"))
        .unwrap_or("?");
    match source.child("address") {
        Some(a) => format!(
            "{adapter}:{}:{}:{}",
            a.attr("bus").unwrap_or("0"),
            a.attr("target").unwrap_or("0"),
            a.attr("unit").unwrap_or("0")
        ),
        None => adapter.to_string(),
    }
}

pub(super) fn parse_filesystem(fs: &Element) -> Filesystem {
    let source = fs.child("source");
    Filesystem {
        fs_type: fs.attr("type").unwrap_or("mount").to_string(),
        driver: fs
            .child("driver")
            .and_then(|d| d.attr("type"))
            .map(str::to_string),
        source_dir: source
            .and_then(|s| s.attr("dir").or_else(|| s.attr("file")))
            .map(str::to_string),
        source_socket: source.and_then(|s| s.attr("socket")).map(str::to_string),
        target: fs
            .child("target")
            .and_then(|t| t.attr("dir"))
            .unwrap_or_default()
            .to_string(),
        accessmode: fs.attr("accessmode").map(str::to_string),
        readonly: fs.child("readonly").is_some(),
    }
}

pub(super) fn parse_interface(interface: &Element) -> NetInterface {
    let source = interface.child("source");
    NetInterface {
        net_type: interface.attr("type").unwrap_or_default().to_string(),
        source: source.and_then(|s| {
            ["dev", "path", "network", "bridge", "name"]
                .iter()
                .find_map(|key| s.attr(key))
                .map(str::to_string)
        }),
        mac: interface
            .child("mac")
            .and_then(|m| m.attr("address"))
            .map(str::to_string),
        backend_type: interface
            .child("backend")
            .and_then(|b| b.attr("type"))
            .map(str::to_string),
    }
}

pub(super) fn parse_shmem(shmem: &Element) -> Shmem {
    Shmem {
        name: shmem.attr("name").unwrap_or_default().to_string(),
        model: shmem
            .child("model")
            .and_then(|m| m.attr("type"))
            .map(str::to_string),
        role: shmem.attr("role").map(str::to_string),
    }
}

/// `<launchSecurity type='sev'><policy>0x0003</policy>...`. A policy that is not a number is
/// an error, as libvirt would refuse it too.
pub(super) fn parse_launch_security(security: &Element) -> Result<LaunchSecurity, XmlError> {
    let policy = match security.child_text("policy") {
        Some(text) => Some(parse_policy(text)?),
        None => None,
    };
    Ok(LaunchSecurity {
        security_type: security.attr("type").unwrap_or_default().to_string(),
        policy,
    })
}

fn parse_policy(text: &str) -> Result<u64, XmlError> {
    let invalid = || XmlError::InvalidValue {
        what: "<launchSecurity><policy>".to_string(),
        value: text.to_string(),
    };
    match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).map_err(|_| invalid()),
        None => parse_u64(text, "<launchSecurity><policy>"),
    }
}

pub(super) fn parse_memory_backing(backing: &Element) -> MemoryBacking {
    let attr_of = |child: &str, name: &str| {
        backing
            .child(child)
            .and_then(|c| c.attr(name))
            .map(str::to_string)
    };
    MemoryBacking {
        hugepages: backing.child("hugepages").is_some(),
        nosharepages: backing.child("nosharepages").is_some(),
        locked: backing.child("locked").is_some(),
        source_type: attr_of("source", "type"),
        access_mode: attr_of("access", "mode"),
        allocation_mode: attr_of("allocation", "mode"),
        discard: backing.child("discard").is_some(),
    }
}

pub(super) fn parse_video(video: &Element) -> Video {
    Video {
        model: video
            .child("model")
            .and_then(|m| m.attr("type"))
            .map(str::to_string),
        driver: video
            .child("driver")
            .and_then(|d| d.attr("name"))
            .map(str::to_string),
    }
}

pub(super) fn parse_input(input: &Element) -> Input {
    Input {
        input_type: input.attr("type").unwrap_or_default().to_string(),
        bus: input.attr("bus").map(str::to_string),
        evdev: input
            .child("source")
            .and_then(|s| s.attr("evdev").or_else(|| s.attr("dev")))
            .map(str::to_string),
    }
}

pub(super) fn parse_channel(channel: &Element) -> Channel {
    Channel {
        channel_type: channel.attr("type").unwrap_or_default().to_string(),
        target_name: channel
            .child("target")
            .and_then(|t| t.attr("name"))
            .map(str::to_string),
    }
}

pub(super) fn parse_tpm(tpm: &Element) -> Tpm {
    Tpm {
        model: tpm.attr("model").map(str::to_string),
        backend: tpm
            .child("backend")
            .and_then(|b| b.attr("type"))
            .map(str::to_string),
    }
}
