//! Tiny VM definitions for the demo host and the tests that start real VMs: no guest OS, one
//! small empty disk or more, a serial console on a pty. The guest just sits in SeaBIOS, which is
//! all a snapshot needs. Domain XML is written with quick-xml's Writer, so names and paths are
//! escaped whatever they contain.

use std::fs::OpenOptions;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

use quick_xml::events::{BytesEnd, BytesStart, BytesText, Event};
use quick_xml::Writer;

use crate::model::domain::FeaturePolicy;

/// The test driver's namespace for run states and preloaded snapshots in a node file.
pub const TEST_DRIVER_NS: &str = "http://libvirt.org/schemas/domain/test/1.0";

/// The virtio port name qemu-guest-agent listens on.
pub const GUEST_AGENT_CHANNEL: &str = "org.qemu.guest_agent.0";

/// The guest CPU, as the `<cpu>` element will configure it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TinyCpu {
    /// `migratable`: None leaves the attribute out (libvirt 11 fills in `on`).
    HostPassthrough {
        migratable: Option<bool>,
    },
    HostModel,
    Custom {
        model: String,
    },
    Maximum {
        migratable: Option<bool>,
    },
    /// No `<cpu>` element: the hypervisor's default model.
    Default,
}

impl TinyCpu {
    /// Only KVM can pass the host CPU through: libvirt refuses host-passthrough for a TCG
    /// (`type='qemu'`) domain. host-model, maximum and named models start under TCG (measured
    /// with libvirt 11.3 / QEMU 10.0).
    pub fn needs_kvm(&self) -> bool {
        matches!(self, Self::HostPassthrough { .. })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiskFormat {
    Qcow2,
    Raw,
}

impl DiskFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Qcow2 => "qcow2",
            Self::Raw => "raw",
        }
    }
}

/// A Linux kernel and initramfs booted directly by QEMU, without a boot loader on a disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectBoot {
    pub kernel: PathBuf,
    pub initrd: PathBuf,
    pub cmdline: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TinyDisk {
    pub path: PathBuf,
    pub format: DiskFormat,
}

/// A host directory the guest can mount over 9p (virtio) as `mount -t 9p -o trans=virtio TAG
/// DIR`, in access mode `squash`: passthrough (the guest's ids on the host files) whose failed
/// chowns are ignored. Plain passthrough needs QEMU to run as root: the tests' QEMU runs as
/// libvirt-qemu, and a file the guest's root creates fails with EPERM there (measured).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TinyShare {
    pub source: PathBuf,
    pub tag: String,
}

/// A tiny VM definition. `domain_type` is `kvm` or `qemu` (TCG); see [`TinyVm::new`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TinyVm {
    pub name: String,
    /// 64..128 keeps a handful of VMs within a small machine's memory.
    pub memory_mib: u32,
    pub vcpus: u32,
    pub cpu: TinyCpu,
    pub features: Vec<(FeaturePolicy, String)>,
    /// `<clock><timer name='tsc' frequency=...>`: pins the TSC frequency.
    pub tsc_frequency_hz: Option<u64>,
    pub disks: Vec<TinyDisk>,
    /// `<filesystem>` 9p shares.
    pub shares: Vec<TinyShare>,
    pub domain_type: String,
    /// The `<serial>`/`<console>` pty pair; off for a VM without a console.
    pub serial_console: bool,
    /// `<bios useserial='yes'/>`: SeaBIOS writes its messages to the serial console.
    pub bios_on_serial: bool,
    /// `<type machine=...>`, e.g. `q35` or `pc`; None leaves libvirt's default.
    pub machine: Option<String>,
    /// Boot a kernel directly; None sits in SeaBIOS with nothing to boot.
    pub direct_boot: Option<DirectBoot>,
    /// The `org.qemu.guest_agent.0` virtio channel qemu-guest-agent listens on.
    pub guest_agent: bool,
    /// `<pm><suspend-to-mem enabled='yes'/>`: the guest may suspend itself to RAM.
    pub suspend_to_mem: bool,
    /// `<log file=...>` on the serial port: everything the guest printed, for a test to show.
    pub serial_log: Option<PathBuf>,
}

impl TinyVm {
    /// 64 MiB, one vCPU, no disks, type `kvm` when /dev/kvm is usable else `qemu`.
    pub fn new(name: impl Into<String>, cpu: TinyCpu) -> Self {
        Self {
            name: name.into(),
            memory_mib: 64,
            vcpus: 1,
            cpu,
            features: Vec::new(),
            tsc_frequency_hz: None,
            disks: Vec::new(),
            shares: Vec::new(),
            domain_type: if kvm_usable() { "kvm" } else { "qemu" }.to_string(),
            serial_console: true,
            bios_on_serial: false,
            machine: None,
            direct_boot: None,
            guest_agent: false,
            suspend_to_mem: false,
            serial_log: None,
        }
    }

    /// No serial port and no console: nothing to attach to.
    pub fn without_console(mut self) -> Self {
        self.serial_console = false;
        self.bios_on_serial = false;
        self
    }

    /// SeaBIOS prints to the serial console, so an attached console shows output.
    pub fn bios_on_serial(mut self) -> Self {
        self.serial_console = true;
        self.bios_on_serial = true;
        self
    }

    pub fn feature(mut self, policy: FeaturePolicy, name: &str) -> Self {
        self.features.push((policy, name.to_string()));
        self
    }

    pub fn tsc_frequency(mut self, hz: u64) -> Self {
        self.tsc_frequency_hz = Some(hz);
        self
    }

    pub fn disk(mut self, path: impl Into<PathBuf>, format: DiskFormat) -> Self {
        self.disks.push(TinyDisk {
            path: path.into(),
            format,
        });
        self
    }

    pub fn share(mut self, source: impl Into<PathBuf>, tag: impl Into<String>) -> Self {
        self.shares.push(TinyShare {
            source: source.into(),
            tag: tag.into(),
        });
        self
    }

    /// Adds what QEMU needs to start on a nested KVM host (see LIBVIRT-NOTES.md): modes that
    /// copy the host CPU fail with "failed to set MSR 0x10a" unless `arch-capabilities` is
    /// disabled, and `qemu64` asks for `svm`, which the nested host does not offer. Neither
    /// feature touches the TSC, so the memory-snapshot rule is unaffected.
    pub fn with_nested_host_workarounds(mut self) -> Self {
        let wanted = match &self.cpu {
            TinyCpu::HostPassthrough { .. } | TinyCpu::HostModel | TinyCpu::Maximum { .. } => {
                Some("arch-capabilities")
            }
            TinyCpu::Custom { model } if model == "qemu64" => Some("svm"),
            _ => None,
        };
        if let Some(name) = wanted {
            if !self.features.iter().any(|(_, n)| n == name) {
                self.features
                    .push((FeaturePolicy::Disable, name.to_string()));
            }
        }
        self
    }

    /// The domain XML to define.
    pub fn to_xml(&self) -> String {
        self.render(None)
    }

    /// A `<domain type='test'>` element for a test-driver node file, with its run state
    /// (1 running, 3 paused, 5 shut off). The node element must declare [`TEST_DRIVER_NS`]
    /// as `xmlns:test`.
    pub fn to_test_driver_xml(&self, runstate: u8) -> String {
        self.render(Some(runstate))
    }

    fn render(&self, test_runstate: Option<u8>) -> String {
        let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
        // Writing into a Vec cannot fail.
        let _ = self.write(&mut w, test_runstate);
        String::from_utf8_lossy(&w.into_inner()).into_owned()
    }

    /// Writes the `<domain>` element into a document being written elsewhere (a node file).
    pub fn write(&self, w: &mut Writer<Vec<u8>>, test_runstate: Option<u8>) -> io::Result<()> {
        let dtype = if test_runstate.is_some() {
            "test"
        } else {
            self.domain_type.as_str()
        };
        w.create_element("domain")
            .with_attribute(("type", dtype))
            .write_inner_content(|w| {
                text_element(w, "name", &self.name)?;
                w.create_element("memory")
                    .with_attribute(("unit", "MiB"))
                    .write_text_content(BytesText::new(&self.memory_mib.to_string()))?;
                text_element(w, "vcpu", &self.vcpus.to_string())?;
                w.create_element("os").write_inner_content(|w| {
                    let mut os_type = w.create_element("type").with_attribute(("arch", "x86_64"));
                    if let Some(machine) = &self.machine {
                        os_type = os_type.with_attribute(("machine", machine.as_str()));
                    }
                    os_type.write_text_content(BytesText::new("hvm"))?;
                    match &self.direct_boot {
                        Some(boot) => {
                            text_element(w, "kernel", &boot.kernel.to_string_lossy())?;
                            text_element(w, "initrd", &boot.initrd.to_string_lossy())?;
                            text_element(w, "cmdline", &boot.cmdline)?;
                        }
                        None => {
                            w.create_element("boot")
                                .with_attribute(("dev", "hd"))
                                .write_empty()?;
                        }
                    }
                    if self.bios_on_serial {
                        w.create_element("bios")
                            .with_attribute(("useserial", "yes"))
                            .write_empty()?;
                    }
                    Ok(())
                })?;
                w.create_element("features").write_inner_content(|w| {
                    w.create_element("acpi").write_empty()?;
                    Ok(())
                })?;
                self.write_cpu(w)?;
                self.write_clock(w)?;
                text_element(w, "on_poweroff", "destroy")?;
                text_element(w, "on_crash", "destroy")?;
                if self.suspend_to_mem {
                    w.create_element("pm").write_inner_content(|w| {
                        w.create_element("suspend-to-mem")
                            .with_attribute(("enabled", "yes"))
                            .write_empty()?;
                        Ok(())
                    })?;
                }
                self.write_devices(w)?;
                if let Some(state) = test_runstate {
                    text_element(w, "test:runstate", &state.to_string())?;
                }
                Ok(())
            })?;
        Ok(())
    }

    fn write_cpu(&self, w: &mut Writer<Vec<u8>>) -> io::Result<()> {
        let mut cpu = BytesStart::new("cpu");
        let migratable = match &self.cpu {
            TinyCpu::Default => {
                // Features without a mode still need a <cpu>; libvirt reads it as custom.
                if self.features.is_empty() {
                    return Ok(());
                }
                None
            }
            TinyCpu::HostPassthrough { migratable } => {
                cpu.push_attribute(("mode", "host-passthrough"));
                *migratable
            }
            TinyCpu::HostModel => {
                cpu.push_attribute(("mode", "host-model"));
                None
            }
            TinyCpu::Custom { .. } => {
                cpu.push_attribute(("mode", "custom"));
                cpu.push_attribute(("match", "exact"));
                None
            }
            TinyCpu::Maximum { migratable } => {
                cpu.push_attribute(("mode", "maximum"));
                *migratable
            }
        };
        if let Some(m) = migratable {
            cpu.push_attribute(("migratable", if m { "on" } else { "off" }));
        }
        cpu.push_attribute(("check", "none"));
        w.write_event(Event::Start(cpu))?;
        if let TinyCpu::Custom { model } = &self.cpu {
            w.create_element("model")
                .with_attribute(("fallback", "forbid"))
                .write_text_content(BytesText::new(model))?;
        }
        for (policy, name) in &self.features {
            w.create_element("feature")
                .with_attribute(("policy", policy.as_str()))
                .with_attribute(("name", name.as_str()))
                .write_empty()?;
        }
        w.write_event(Event::End(BytesEnd::new("cpu")))
    }

    fn write_clock(&self, w: &mut Writer<Vec<u8>>) -> io::Result<()> {
        let clock = w.create_element("clock").with_attribute(("offset", "utc"));
        match self.tsc_frequency_hz {
            None => {
                clock.write_empty()?;
            }
            Some(hz) => {
                clock.write_inner_content(|w| {
                    w.create_element("timer")
                        .with_attribute(("name", "tsc"))
                        .with_attribute(("frequency", hz.to_string().as_str()))
                        .write_empty()?;
                    Ok(())
                })?;
            }
        }
        Ok(())
    }

    fn write_devices(&self, w: &mut Writer<Vec<u8>>) -> io::Result<()> {
        w.create_element("devices").write_inner_content(|w| {
            for (i, disk) in self.disks.iter().enumerate() {
                let path = disk.path.to_string_lossy();
                w.create_element("disk")
                    .with_attribute(("type", "file"))
                    .with_attribute(("device", "disk"))
                    .write_inner_content(|w| {
                        w.create_element("driver")
                            .with_attribute(("name", "qemu"))
                            .with_attribute(("type", disk.format.as_str()))
                            .write_empty()?;
                        w.create_element("source")
                            .with_attribute(("file", path.as_ref()))
                            .write_empty()?;
                        w.create_element("target")
                            .with_attribute(("dev", disk_target(i).as_str()))
                            .with_attribute(("bus", "virtio"))
                            .write_empty()?;
                        Ok(())
                    })?;
            }
            for share in &self.shares {
                // No <driver>: libvirt's default for QEMU is 9p ('path'), not virtiofs.
                w.create_element("filesystem")
                    .with_attribute(("type", "mount"))
                    .with_attribute(("accessmode", "squash"))
                    .write_inner_content(|w| {
                        w.create_element("source")
                            .with_attribute(("dir", share.source.to_string_lossy().as_ref()))
                            .write_empty()?;
                        w.create_element("target")
                            .with_attribute(("dir", share.tag.as_str()))
                            .write_empty()?;
                        Ok(())
                    })?;
            }
            // No USB, network or balloon: fewer devices start faster and block nothing.
            w.create_element("controller")
                .with_attribute(("type", "usb"))
                .with_attribute(("model", "none"))
                .write_empty()?;
            if self.serial_console {
                w.create_element("serial")
                    .with_attribute(("type", "pty"))
                    .write_inner_content(|w| {
                        if let Some(log) = &self.serial_log {
                            w.create_element("log")
                                .with_attribute(("file", log.to_string_lossy().as_ref()))
                                .write_empty()?;
                        }
                        w.create_element("target")
                            .with_attribute(("port", "0"))
                            .write_empty()?;
                        Ok(())
                    })?;
                w.create_element("console")
                    .with_attribute(("type", "pty"))
                    .write_inner_content(|w| {
                        w.create_element("target")
                            .with_attribute(("type", "serial"))
                            .with_attribute(("port", "0"))
                            .write_empty()?;
                        Ok(())
                    })?;
            }
            if self.guest_agent {
                // libvirt picks the socket path in its own channel directory.
                w.create_element("channel")
                    .with_attribute(("type", "unix"))
                    .write_inner_content(|w| {
                        w.create_element("target")
                            .with_attribute(("type", "virtio"))
                            .with_attribute(("name", GUEST_AGENT_CHANNEL))
                            .write_empty()?;
                        Ok(())
                    })?;
            }
            w.create_element("memballoon")
                .with_attribute(("model", "none"))
                .write_empty()?;
            Ok(())
        })?;
        Ok(())
    }
}

fn text_element(w: &mut Writer<Vec<u8>>, name: &str, text: &str) -> io::Result<()> {
    w.create_element(name)
        .write_text_content(BytesText::new(text))?;
    Ok(())
}

/// `vda`, `vdb`, ... (a tiny VM never has more than 26 disks).
fn disk_target(index: usize) -> String {
    let letter = char::from(b'a' + (index % 26) as u8);
    let mut t = String::from("vd");
    t.push(letter);
    t
}

/// /dev/kvm can be opened read-write, so QEMU can use KVM (the device may exist but belong to a
/// group this user is not in).
pub fn kvm_usable() -> bool {
    OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
        .is_ok()
}

/// The emulator libvirt's QEMU driver would run for an x86_64 guest.
pub fn qemu_available() -> bool {
    find_in_path("qemu-system-x86_64").is_some()
}

fn find_in_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into());
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

/// Creates an empty disk image of `size_mib` with `qemu-img create` (no shell involved).
pub fn create_disk(path: &Path, format: DiskFormat, size_mib: u32) -> io::Result<()> {
    let output = Command::new("qemu-img")
        .arg("create")
        .arg("-q")
        .arg("-f")
        .arg(format.as_str())
        .arg(path)
        .arg(format!("{size_mib}M"))
        .output()?;
    if output.status.success() {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "qemu-img create {} failed: {}",
            path.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_names_and_paths() {
        let vm = TinyVm::new(
            "a<b&'c",
            TinyCpu::HostPassthrough {
                migratable: Some(false),
            },
        )
        .disk("/tmp/x&y/disk.qcow2", DiskFormat::Qcow2)
        .with_nested_host_workarounds();
        let xml = vm.to_xml();
        assert!(xml.contains("<name>a&lt;b&amp;&apos;c</name>"), "{xml}");
        assert!(xml.contains("file=\"/tmp/x&amp;y/disk.qcow2\""), "{xml}");
        assert!(
            xml.contains("mode=\"host-passthrough\" migratable=\"off\""),
            "{xml}"
        );
        assert!(
            xml.contains("policy=\"disable\" name=\"arch-capabilities\""),
            "{xml}"
        );
    }

    #[test]
    fn qemu64_gets_svm_disabled_and_default_has_no_cpu() {
        let vm = TinyVm::new(
            "q",
            TinyCpu::Custom {
                model: "qemu64".into(),
            },
        )
        .with_nested_host_workarounds()
        .tsc_frequency(2_000_000_000);
        let xml = vm.to_xml();
        assert!(
            xml.contains("<model fallback=\"forbid\">qemu64</model>"),
            "{xml}"
        );
        assert!(xml.contains("name=\"svm\""), "{xml}");
        assert!(
            xml.contains("<timer name=\"tsc\" frequency=\"2000000000\"/>"),
            "{xml}"
        );
        let plain = TinyVm::new("d", TinyCpu::Default)
            .with_nested_host_workarounds()
            .to_xml();
        assert!(!plain.contains("<cpu"), "{plain}");
        let test = TinyVm::new("t", TinyCpu::HostModel).to_test_driver_xml(3);
        assert!(test.contains("<domain type=\"test\">"), "{test}");
        assert!(test.contains("<test:runstate>3</test:runstate>"), "{test}");
    }

    #[test]
    fn linux_guest_boots_its_kernel_and_has_the_agent_channel() {
        let mut vm = TinyVm::new("g&1", TinyCpu::Default).disk("/d/g.qcow2", DiskFormat::Qcow2);
        vm.machine = Some("q35".into());
        vm.direct_boot = Some(DirectBoot {
            kernel: "/c/vmlinuz".into(),
            initrd: "/c/initrd.gz".into(),
            cmdline: "console=ttyS0 a=<b>".into(),
        });
        vm.guest_agent = true;
        vm.suspend_to_mem = true;
        vm.serial_log = Some("/d/g&1.log".into());
        let xml = vm.to_xml();
        for want in [
            "<type arch=\"x86_64\" machine=\"q35\">hvm</type>",
            "<kernel>/c/vmlinuz</kernel>",
            "<initrd>/c/initrd.gz</initrd>",
            "<cmdline>console=ttyS0 a=&lt;b&gt;</cmdline>",
            "<suspend-to-mem enabled=\"yes\"/>",
            "<target type=\"virtio\" name=\"org.qemu.guest_agent.0\"/>",
            "<log file=\"/d/g&amp;1.log\"/>",
        ] {
            assert!(xml.contains(want), "{want} missing:\n{xml}");
        }
        assert!(!xml.contains("<boot dev"), "{xml}");
    }

    #[test]
    fn a_share_is_a_9p_filesystem_with_its_tag() {
        let xml = TinyVm::new("s", TinyCpu::Default)
            .share("/srv/a&b's", "tag<1>")
            .to_xml();
        assert!(
            xml.contains(
                "<filesystem type=\"mount\" accessmode=\"squash\">\n      \
                 <source dir=\"/srv/a&amp;b&apos;s\"/>\n      \
                 <target dir=\"tag&lt;1&gt;\"/>\n    </filesystem>"
            ),
            "{xml}"
        );
        // What the memory rule reads back from it: a 9p share, found by its tag.
        let cfg = crate::model::DomainConfig::from_xml(&xml).unwrap();
        assert_eq!(cfg.filesystems.len(), 1);
        assert!(cfg.filesystems[0].is_9p());
        assert_eq!(cfg.filesystems[0].target, "tag<1>");
        assert_eq!(cfg.filesystems[0].source_dir.as_deref(), Some("/srv/a&b's"));
        assert!(!TinyVm::new("n", TinyCpu::Default)
            .to_xml()
            .contains("<filesystem"));
    }
}
