//! The parts of a domain's XML virtsnap reasons about: CPU mode and features, TSC clock,
//! disks, firmware and the devices that block memory state.

use serde::Serialize;

use super::xml::{parse_u64, scaled_to_kib, Element, XmlError};

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
        let root = Element::parse_root(xml, "domain")?;
        let devices = root.child("devices");
        let config = DomainConfig {
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
            blocking_devices: blocking_devices(devices),
            guest_agent: device_list(devices, "channel").find_map(parse_guest_agent),
            consoles: (device_list(devices, "serial").count()
                + device_list(devices, "console").count()) as u32,
        };
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
    })
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
        nvram: nvram
            .map(Element::text)
            .filter(|t| !t.is_empty())
            .map(str::to_string),
        nvram_format: nvram.and_then(|n| n.attr("format")).map(str::to_string),
    })
}

/// The devices libvirt 11 / QEMU 10 refuse to migrate (see qemuMigrationSrcIsAllowed and the
/// blockers QEMU registers): assigned PCI functions, mediated devices, virtiofs, vDPA,
/// shared memory other than role='master', and transient disks.
fn blocking_devices(devices: Option<&Element>) -> Vec<MigrationBlockingDevice> {
    let Some(devices) = devices else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for device in &devices.children {
        let attr = |name: &str| device.attr(name).unwrap_or_default();
        let child_attr = |child: &str, name: &str| {
            device
                .child(child)
                .and_then(|c| c.attr(name))
                .unwrap_or_default()
                .to_string()
        };
        // QEMU unplugs a failover VF with <teaming type='transient'/> before migrating.
        let transient_teaming = child_attr("teaming", "type") == "transient";
        let subsystem = device.attr("mode").unwrap_or("subsystem") == "subsystem";
        let blocking = match (device.name.as_str(), device.attr("type")) {
            ("hostdev", Some("pci")) if subsystem && !transient_teaming => {
                Some(("hostdev-pci", pci_address(device)))
            }
            ("hostdev", Some("mdev")) if subsystem => {
                let uuid = device.child("source").and_then(|s| s.child("address"));
                let uuid = uuid.and_then(|a| a.attr("uuid")).unwrap_or_default();
                Some(("hostdev-mdev", uuid.to_string()))
            }
            ("interface", Some("hostdev")) if !transient_teaming => {
                Some(("hostdev-pci", pci_address(device)))
            }
            ("interface", Some("vdpa")) => Some(("vdpa", child_attr("source", "dev"))),
            ("filesystem", _) if child_attr("driver", "type") == "virtiofs" => {
                Some(("virtiofs", child_attr("target", "dir")))
            }
            ("shmem", _) if attr("role") != "master" => Some(("shmem", attr("name").to_string())),
            ("disk", _) if device.child("transient").is_some() => {
                Some(("transient-disk", child_attr("target", "dev")))
            }
            _ => None,
        };
        if let Some((kind, detail)) = blocking {
            found.push(MigrationBlockingDevice {
                kind: kind.to_string(),
                detail,
            });
        }
    }
    found
}

/// `<source><address domain='0x0000' bus='0x03' slot='0x00' function='0x0'/>` as `0000:03:00.0`.
fn pci_address(hostdev: &Element) -> String {
    let Some(address) = hostdev.child("source").and_then(|s| s.child("address")) else {
        return String::new();
    };
    let field = |name: &str| {
        address.attr(name).and_then(|v| {
            let digits = v.trim().trim_start_matches("0x").trim_start_matches("0X");
            u32::from_str_radix(digits, 16).ok()
        })
    };
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

fn parse_guest_agent(channel: &Element) -> Option<GuestAgent> {
    let target = channel.child("target")?;
    (target.attr("name") == Some("org.qemu.guest_agent.0")).then(|| GuestAgent {
        connected: target.attr("state") == Some("connected"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> DomainConfig {
        let path = format!(
            "{}/tests/fixtures/domain/{name}.xml",
            env!("CARGO_MANIFEST_DIR")
        );
        let xml = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        DomainConfig::from_xml(&xml).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn feature(name: &str, policy: FeaturePolicy) -> CpuFeature {
        CpuFeature {
            name: name.to_string(),
            policy,
        }
    }

    fn policy_of(cfg: &DomainConfig, name: &str) -> Option<FeaturePolicy> {
        let cpu = cfg.cpu.as_ref()?;
        cpu.features
            .iter()
            .find(|f| f.name == name)
            .map(|f| f.policy)
    }

    #[test]
    fn host_passthrough_migratable_off_live_and_inactive() {
        for xml in ["hp-off-live", "hp-off-inactive"] {
            let cfg = fixture(xml);
            assert_eq!(cfg.name, "vsfx-hp-off");
            assert_eq!(cfg.domain_type, "kvm");
            assert_eq!(cfg.uuid.len(), 36);
            assert_eq!(cfg.vcpus, 1);
            assert_eq!(cfg.memory_kib, 65536);
            assert_eq!(cfg.cpu_mode(), CpuMode::HostPassthrough);
            let cpu = cfg.cpu.as_ref().unwrap();
            assert_eq!(cpu.migratable, Some(false));
            assert_eq!(cpu.model, None);
            assert_eq!(
                cpu.features,
                vec![feature("arch-capabilities", FeaturePolicy::Disable)]
            );
            assert_eq!(cfg.tsc_frequency_hz, None);
            assert_eq!(cfg.consoles, 2);
            assert_eq!(cfg.firmware, None);
            assert!(cfg.blocking_devices.is_empty());
            assert_eq!(cfg.guest_agent, None);
            assert_eq!(cfg.disks.len(), 1);
            let disk = &cfg.disks[0];
            assert_eq!(disk.disk_type, DiskType::File);
            assert_eq!(disk.device, DiskDevice::Disk);
            assert_eq!(disk.format.as_deref(), Some("qcow2"));
            assert_eq!(disk.source.as_deref(), Some("/tmp/vsfx/hp-off.qcow2"));
            assert_eq!(disk.target, "vda");
            assert!(disk.is_writable());
        }
    }

    #[test]
    fn host_passthrough_without_attribute_reads_back_migratable_on() {
        for xml in ["hp-default-live", "hp-default-inactive"] {
            let cpu = fixture(xml).cpu.unwrap();
            assert_eq!(cpu.mode, CpuMode::HostPassthrough);
            assert_eq!(cpu.migratable, Some(true));
        }
    }

    #[test]
    fn host_passthrough_with_tsc_timer_and_with_invtsc_disabled() {
        for xml in ["hp-off-tsc-live", "hp-off-tsc-inactive"] {
            let cfg = fixture(xml);
            assert_eq!(cfg.tsc_frequency_hz, Some(2_445_404_000));
            assert_eq!(cfg.cpu.unwrap().migratable, Some(false));
        }
        for xml in ["hp-off-noinvtsc-live", "hp-off-noinvtsc-inactive"] {
            assert_eq!(
                policy_of(&fixture(xml), "invtsc"),
                Some(FeaturePolicy::Disable)
            );
        }
    }

    #[test]
    fn host_model_inactive_says_host_model_live_says_custom() {
        let inactive = fixture("host-model-inactive");
        assert_eq!(inactive.cpu_mode(), CpuMode::HostModel);
        assert_eq!(inactive.cpu.as_ref().unwrap().model, None);
        let live = fixture("host-model-live");
        assert_eq!(live.cpu_mode(), CpuMode::Custom);
        assert_eq!(
            live.cpu.as_ref().unwrap().model.as_deref(),
            Some("EPYC-Milan")
        );
        assert_eq!(policy_of(&live, "invtsc"), None);
        for xml in ["host-model-invtsc-inactive", "host-model-invtsc-live"] {
            assert_eq!(
                policy_of(&fixture(xml), "invtsc"),
                Some(FeaturePolicy::Require)
            );
        }
    }

    #[test]
    fn custom_models() {
        for xml in ["custom-qemu64-live", "custom-qemu64-inactive"] {
            let cfg = fixture(xml);
            assert_eq!(cfg.cpu_mode(), CpuMode::Custom);
            assert_eq!(cfg.cpu.as_ref().unwrap().model.as_deref(), Some("qemu64"));
            assert_eq!(policy_of(&cfg, "svm"), Some(FeaturePolicy::Disable));
            assert_eq!(cfg.cpu.as_ref().unwrap().migratable, None);
        }
        for xml in ["custom-invtsc-tsc-live", "custom-invtsc-tsc-inactive"] {
            let cfg = fixture(xml);
            assert_eq!(policy_of(&cfg, "invtsc"), Some(FeaturePolicy::Require));
            assert_eq!(cfg.tsc_frequency_hz, Some(2_445_404_000));
        }
    }

    #[test]
    fn maximum_mode() {
        for xml in ["maximum-live", "maximum-inactive"] {
            let cpu = fixture(xml).cpu.unwrap();
            assert_eq!(cpu.mode, CpuMode::Maximum);
            assert_eq!(cpu.migratable, Some(false));
        }
    }

    #[test]
    fn defined_without_cpu_libvirt_writes_qemu64_in_both_xmls() {
        // libvirt 11 fills in its default model when the domain is defined, so a `<cpu>`-less
        // definition reads back as custom qemu64; only other drivers (test) keep no `<cpu>`.
        for xml in ["no-cpu-inactive", "no-cpu-live"] {
            let cfg = fixture(xml);
            assert_eq!(cfg.cpu_mode(), CpuMode::Custom);
            assert_eq!(cfg.cpu.unwrap().model.as_deref(), Some("qemu64"));
            assert_eq!(cfg.guest_agent, Some(GuestAgent { connected: false }));
        }
        let cfg = fixture("test-default-inactive");
        assert_eq!(cfg.cpu, None);
        assert_eq!(cfg.cpu_mode(), CpuMode::Default);
    }

    #[test]
    fn efi_firmware_with_raw_nvram() {
        for xml in ["efi-live", "efi-inactive"] {
            let firmware = fixture(xml).firmware.unwrap();
            assert!(firmware.pflash);
            assert_eq!(
                firmware.loader.as_deref(),
                Some("/usr/share/OVMF/OVMF_CODE_4M.fd")
            );
            assert_eq!(
                firmware.nvram.as_deref(),
                Some("/var/lib/libvirt/qemu/nvram/vsfx-efi_VARS.fd")
            );
            assert_eq!(firmware.nvram_format.as_deref(), Some("raw"));
        }
    }

    #[test]
    fn test_driver_domain() {
        for xml in ["test-default-live", "test-default-inactive"] {
            let cfg = fixture(xml);
            assert_eq!(cfg.name, "test");
            assert_eq!(cfg.domain_type, "test");
            assert_eq!(cfg.vcpus, 2);
            assert_eq!(cfg.memory_kib, 8_388_608);
            assert_eq!(cfg.cpu, None);
            assert_eq!(cfg.disks[0].format, None);
            assert_eq!(cfg.disks[0].source.as_deref(), Some("/guest/diskimage1"));
        }
    }

    const ODD: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<!-- written by hand -->
<domain xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'
        xmlns:test="http://libvirt.org/schemas/domain/test/1.0" type="kvm"   >
  <test:runstate>3</test:runstate>
  <uuid>  11111111-2222-3333-4444-555555555555  </uuid>
  <name>
     odd &amp; vm
  </name>
  <metadata><app:info xmlns:app='urn:x'><cpu mode='maximum'/><name>nope</name></app:info></metadata>
  <memory unit='GiB'>2</memory>
  <currentMemory unit="MiB">1024</currentMemory>
  <vcpu current="2" placement="static">4</vcpu>
  <features><acpi/><apic/></features>
  <os firmware="efi"><type>hvm</type><nvram format="qcow2"/></os>
  <?some processing instruction?>
  <cpu match='exact'  >
    <!-- a comment inside cpu -->
    <model  fallback='allow' >
      Skylake-Client
    </model>
    <feature name='invtsc'/>
    <feature name="vmx"   policy="forbid"/>
  </cpu>
  <clock offset='utc'><timer name='rtc' tickpolicy='catchup'/><timer frequency="1000000000" name="tsc"/></clock>
  <devices>
    <disk device='cdrom' type='file'><source file='/iso/x.iso'/><target dev='sda'/><readonly/></disk>
    <disk type='network' device='disk'><driver type='raw'/><source protocol='rbd' name='pool/img'/><target dev='vdb'/></disk>
    <disk type='volume' device='disk' snapshot='no'><source pool='p' volume='v'/><target dev='vdc'/><shareable/></disk>
    <disk type='block' device='lun'><source dev='/dev/sdz'/><target dev='sdb'/></disk>
    <hostdev mode='subsystem' type='pci' managed='yes'><source><address function='0x1' slot='0x00' bus='0x03' domain='0x0000'/></source></hostdev>
    <hostdev mode='subsystem' type='usb'><source><vendor id='0x1234'/><product id='0x1'/></source></hostdev>
    <filesystem type='mount'><driver type='virtiofs'/><source dir='/srv'/><target dir='share'/></filesystem>
    <filesystem type='mount'><source dir='/srv9p'/><target dir='p9'/></filesystem>
    <interface type='vdpa'><source dev='/dev/vhost-vdpa-0'/><model type='virtio'/></interface>
    <interface type='network'><source network='default'/><model type='e1000'/></interface>
    <shmem name='ivshmem0'><model type='ivshmem-plain'/></shmem>
    <channel type='unix'><target name='org.qemu.guest_agent.0' state='connected' type='virtio'/></channel>
    <channel type='spicevmc'><target type='virtio' name='com.redhat.spice.0' state='connected'/></channel>
    <console type='pty'/>
    <video><model type='vga'/></video>
  </devices>
  <qemu:commandline><qemu:arg value='-cpu'/><qemu:arg value='host'/></qemu:commandline>
</domain>
"#;

    #[test]
    fn odd_xml_comments_namespaces_attribute_order_whitespace() {
        let cfg = DomainConfig::from_xml(ODD).unwrap();
        assert_eq!(cfg.name, "odd & vm");
        assert_eq!(cfg.uuid, "11111111-2222-3333-4444-555555555555");
        assert_eq!(cfg.memory_kib, 2 * 1024 * 1024);
        assert_eq!(cfg.vcpus, 2);
        let cpu = cfg.cpu.as_ref().unwrap();
        // No mode attribute but a model: libvirt's default mode, custom.
        assert_eq!(cpu.mode, CpuMode::Custom);
        assert_eq!(cpu.model.as_deref(), Some("Skylake-Client"));
        assert_eq!(
            cpu.features,
            vec![
                feature("invtsc", FeaturePolicy::Require),
                feature("vmx", FeaturePolicy::Forbid)
            ]
        );
        assert_eq!(cfg.tsc_frequency_hz, Some(1_000_000_000));
        assert_eq!(cfg.guest_agent, Some(GuestAgent { connected: true }));
        assert_eq!(cfg.consoles, 1);
        let firmware = cfg.firmware.as_ref().unwrap();
        assert!(firmware.pflash);
        assert_eq!(firmware.nvram, None);
        assert_eq!(firmware.nvram_format.as_deref(), Some("qcow2"));
    }

    #[test]
    fn odd_xml_disks() {
        let cfg = DomainConfig::from_xml(ODD).unwrap();
        let disks: Vec<_> = cfg
            .disks
            .iter()
            .map(|d| {
                (
                    d.target.as_str(),
                    d.device,
                    d.disk_type,
                    d.source.as_deref(),
                    d.is_writable(),
                )
            })
            .collect();
        assert_eq!(
            disks,
            vec![
                (
                    "sda",
                    DiskDevice::Cdrom,
                    DiskType::File,
                    Some("/iso/x.iso"),
                    false
                ),
                (
                    "vdb",
                    DiskDevice::Disk,
                    DiskType::Network,
                    Some("pool/img"),
                    true
                ),
                (
                    "vdc",
                    DiskDevice::Disk,
                    DiskType::Volume,
                    Some("p/v"),
                    false
                ),
                (
                    "sdb",
                    DiskDevice::Lun,
                    DiskType::Block,
                    Some("/dev/sdz"),
                    true
                ),
            ]
        );
        assert!(cfg.disks[0].readonly);
        assert!(cfg.disks[2].shareable);
        assert_eq!(cfg.disks[2].snapshot.as_deref(), Some("no"));
        assert_eq!(cfg.disks[1].format.as_deref(), Some("raw"));
    }

    #[test]
    fn odd_xml_migration_blocking_devices() {
        let cfg = DomainConfig::from_xml(ODD).unwrap();
        let found: Vec<_> = cfg
            .blocking_devices
            .iter()
            .map(|d| (d.kind.as_str(), d.detail.as_str()))
            .collect();
        assert_eq!(
            found,
            vec![
                ("hostdev-pci", "0000:03:00.1"),
                ("virtiofs", "share"),
                ("vdpa", "/dev/vhost-vdpa-0"),
                ("shmem", "ivshmem0"),
            ]
        );
    }

    #[test]
    fn which_devices_block_migration() {
        let xml = "<domain><devices>\
            <interface type='hostdev'><source><address type='pci' domain='0x0000' bus='0x5e' \
              slot='0x10' function='0x2'/></source></interface>\
            <hostdev mode='subsystem' type='pci'><source><address domain='0x0000' bus='0x04' \
              slot='0x00' function='0x0'/></source><teaming type='transient' \
              persistent='ua-net0'/></hostdev>\
            <hostdev mode='subsystem' type='mdev' model='vfio-pci'><source><address \
              uuid='c2177883-f1bb-47f0-914d-32a22e3a8804'/></source></hostdev>\
            <hostdev mode='subsystem' type='usb'><source><vendor id='0x1'/></source></hostdev>\
            <shmem name='master0' role='master'><model type='ivshmem-plain'/></shmem>\
            <shmem name='peer0' role='peer'><model type='ivshmem-plain'/></shmem>\
            <disk type='file' device='disk'><source file='/a'/><target dev='vda'/>\
              <transient/></disk>\
            </devices></domain>";
        let cfg = DomainConfig::from_xml(xml).unwrap();
        let found: Vec<_> = cfg
            .blocking_devices
            .iter()
            .map(|d| (d.kind.as_str(), d.detail.as_str()))
            .collect();
        assert_eq!(
            found,
            vec![
                ("hostdev-pci", "0000:5e:10.2"),
                ("hostdev-mdev", "c2177883-f1bb-47f0-914d-32a22e3a8804"),
                ("shmem", "peer0"),
                ("transient-disk", "vda"),
            ]
        );
    }

    #[test]
    fn cpu_element_without_mode_or_model_is_default() {
        let xml = "<domain type='kvm'><name>t</name><cpu><topology sockets='1' cores='2' \
                   threads='1'/></cpu><memory>1024</memory></domain>";
        let cfg = DomainConfig::from_xml(xml).unwrap();
        assert_eq!(cfg.cpu_mode(), CpuMode::Default);
        assert_eq!(cfg.memory_kib, 1024);
        assert_eq!(cfg.vcpus, 1);
    }

    #[test]
    fn feature_policies_and_units() {
        let xml = "<domain><cpu mode='host-model'>\
                   <feature policy='force' name='a'/><feature policy='require' name='b'/>\
                   <feature policy='optional' name='c'/><feature policy='disable' name='d'/>\
                   <feature policy='forbid' name='e'/><feature name='f'/></cpu>\
                   <memory unit='b'>1048576</memory></domain>";
        let cfg = DomainConfig::from_xml(xml).unwrap();
        let policies: Vec<_> = cfg.cpu.unwrap().features.iter().map(|f| f.policy).collect();
        use FeaturePolicy::*;
        assert_eq!(
            policies,
            vec![Force, Require, Optional, Disable, Forbid, Require]
        );
        assert_eq!(cfg.memory_kib, 1024);
    }

    #[test]
    fn clear_errors_for_bad_documents() {
        let err = DomainConfig::from_xml("<capabilities/>").unwrap_err();
        assert_eq!(
            err.to_string(),
            "expected a <domain> document, found <capabilities>"
        );
        let err = DomainConfig::from_xml("<domain><cpu mode='weird'/></domain>").unwrap_err();
        assert_eq!(err.to_string(), "invalid value \"weird\" for <cpu mode>");
        let err = DomainConfig::from_xml("<domain><memory unit='KiB'>lots</memory></domain>")
            .unwrap_err();
        assert!(err.to_string().contains("<memory>"), "{err}");
        assert!(DomainConfig::from_xml("<domain><name>x</domain>").is_err());
        assert!(DomainConfig::from_xml("  ").is_err());
    }
}
