//! The demo host: tiny real VMs in an embedded QEMU driver root, so `virtsnap --demo` shows the
//! blocked and allowed CPU configurations on a fresh machine with no daemon.
//!
//! The caller opens [`DemoHost::uri`] (`qemu:///embed?root=<DemoHost::root_dir()>`) after
//! [`super::init`], calls [`DemoHost::prepare`], and on exit [`DemoHost::shutdown`]: the embedded
//! driver leaves QEMU running after the process ends, so the VMs it started must be destroyed.
//! Only one embedded root can be open per process. When QEMU or the embedded driver is missing,
//! [`DemoHost::test_driver_uri`] gives libvirt's test driver with the shipped host file instead.

use std::path::{Path, PathBuf};

use virt::connect::Connect;
use virt::domain::Domain;

use super::error::VirtError;
use super::guest_image::{choose_accel, GuestImage};
use super::vmdef::{create_disk, kvm_usable, DiskFormat, TinyCpu, TinyVm};
use crate::model::domain::{DomainConfig, DomainState};
use crate::model::host::HostCapabilities;

/// The test-driver host file, embedded so an installed binary needs no asset directory.
const TEST_DRIVER_HOST: &str = include_str!("../../assets/demo-host.xml");

/// Used when the capabilities carry no TSC counter: a common frequency, said so in the report.
const FALLBACK_TSC_HZ: u64 = 2_500_000_000;

const DISK_MIB: u32 = 16;

/// The demo VMs that boot the tiny Linux guest (tests/setup/build-guest.sh): a real shell on
/// `c`, a graceful `D`, quiesce with a connected agent, and memory worth saving. One keeps
/// its data disk in qcow2 (internal snapshots), one in raw (external snapshots).
pub const GUEST_VMS: [&str; 2] = ["linux-guest", "linux-raw-disk"];

/// What [`DemoHost::prepare`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DemoReport {
    /// VMs running or paused now that this process must destroy on exit.
    pub started: Vec<String>,
    /// VMs left shut off against the plan, with the reason (no KVM, libvirt's error).
    pub left_off: Vec<(String, String)>,
    /// VMs defined by this run (the rest were already defined and reused).
    pub defined: Vec<String>,
    /// KVM was usable; otherwise the VMs run under TCG.
    pub kvm: bool,
    /// Things the user should know, e.g. a TSC frequency that had to be guessed.
    pub notes: Vec<String>,
    /// How the Linux guest VMs run ("Linux guest runs under TCG: ..."), or None when they were
    /// left out (a note says why).
    pub linux_guest: Option<String>,
}

impl DemoReport {
    /// One line per thing worth telling the user, for a notice or a log.
    pub fn lines(&self) -> Vec<String> {
        let mut lines = Vec::new();
        if !self.kvm {
            lines.push("KVM is not usable (/dev/kvm): the demo VMs run under TCG emulation".into());
        }
        if let Some(line) = &self.linux_guest {
            lines.push(line.clone());
        }
        for (name, why) in &self.left_off {
            lines.push(format!("{name} left shut off: {why}"));
        }
        lines.extend(self.notes.iter().cloned());
        lines
    }
}

/// How a demo VM should end up after [`DemoHost::prepare`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Goal {
    Running,
    Paused,
    ShutOff,
}

struct DemoVm {
    vm: TinyVm,
    goal: Goal,
}

pub struct DemoHost;

impl DemoHost {
    /// `$XDG_STATE_HOME/virtsnap/demo`, by default `~/.local/state/virtsnap/demo`.
    pub fn root_dir() -> PathBuf {
        state_dir().join("demo")
    }

    /// The URI to open for the demo: the embedded QEMU driver rooted at [`Self::root_dir`].
    pub fn uri() -> String {
        let mut uri = String::from("qemu:///embed?root=");
        uri.push_str(&percent_encode(&Self::root_dir().to_string_lossy()));
        uri
    }

    /// The embedded driver needs the emulator; the rest (the driver module) shows when opening.
    pub fn qemu_available() -> bool {
        super::vmdef::qemu_available()
    }

    /// `test:///<state dir>/demo-host.xml`, written from the copy built into the binary. If no
    /// state dir is writable, a file in the temp dir; failing that libvirt's built-in
    /// `test:///default` host (logged).
    pub fn test_driver_uri() -> String {
        let candidates = [
            state_dir().join("demo-host.xml"),
            std::env::temp_dir().join(format!("virtsnap-demo-host-{}.xml", uid())),
        ];
        for path in candidates {
            match write_if_changed(&path, TEST_DRIVER_HOST) {
                Ok(()) => {
                    let mut uri = String::from("test://");
                    uri.push_str(&path.to_string_lossy());
                    return uri;
                }
                Err(e) => tracing::warn!("cannot write {}: {e}", path.display()),
            }
        }
        "test:///default".into()
    }

    /// Defines the demo VMs (first run; later runs reuse the definitions) and brings each to its
    /// planned state. A VM that cannot start is reported in `left_off`, not an error: the demo
    /// is still worth showing. Errors are for what makes the demo impossible (no disk dir).
    pub fn prepare(conn: &Connect) -> Result<DemoReport, VirtError> {
        let kvm = kvm_usable();
        let mut report = DemoReport {
            kvm,
            ..DemoReport::default()
        };
        let disks = Self::root_dir().join("disks");
        std::fs::create_dir_all(&disks).map_err(|e| VirtError::Call {
            action: format!("creating the demo disk directory {}", disks.display()),
            reason: e.to_string(),
        })?;
        let tsc_hz = host_tsc_frequency(conn).unwrap_or_else(|| {
            report.notes.push(format!(
                "the host's TSC frequency is unknown: db-tsc-pinned pins {FALLBACK_TSC_HZ} Hz"
            ));
            FALLBACK_TSC_HZ
        });
        // QEMU start-up and teardown are mostly waiting (~2 s a VM here): one thread per VM,
        // and one that builds (or finds) the Linux guest and brings up the VMs that boot it.
        let plan = plan(&disks, tsc_hz);
        type Outcome = (String, DemoReport, Result<bool, String>);
        let (mut outcomes, guests): (Vec<Outcome>, _) = std::thread::scope(|s| {
            let guests = s.spawn(|| bring_up_guests(conn, &disks, kvm));
            let handles: Vec<_> = plan
                .iter()
                .map(|demo| {
                    s.spawn(move || {
                        let mut part = DemoReport::default();
                        let result = bring_up(conn, demo, kvm, &mut part);
                        (demo.vm.name.clone(), part, result)
                    })
                })
                .collect();
            let outcomes = handles
                .into_iter()
                .zip(&plan)
                .map(|(h, demo)| {
                    h.join().unwrap_or_else(|_| {
                        let why = "setting it up panicked (a bug in virtsnap)".to_string();
                        (demo.vm.name.clone(), DemoReport::default(), Err(why))
                    })
                })
                .collect();
            let guests = guests.join().unwrap_or_else(|_| {
                Err("setting them up panicked (a bug in virtsnap)".to_string())
            });
            (outcomes, guests)
        });
        match guests {
            Ok((line, guest_outcomes)) => {
                tracing::info!("{line}");
                report.linux_guest = Some(line);
                outcomes.extend(guest_outcomes);
            }
            Err(why) => report.notes.push(format!(
                "the Linux guest VMs ({}) are left out: {why}",
                GUEST_VMS.join(", ")
            )),
        }
        for (name, part, result) in outcomes {
            report.defined.extend(part.defined);
            report.notes.extend(part.notes);
            match result {
                Ok(true) => report.started.push(name),
                Ok(false) => {}
                Err(why) => report.left_off.push((name, why)),
            }
        }
        Ok(report)
    }

    /// Destroys the VMs `prepare` started, all at once (each takes ~2 s). Keeps going past
    /// failures; returns the first.
    pub fn shutdown(conn: &Connect, report: &DemoReport) -> Result<(), VirtError> {
        let mut first_err = None;
        let results: Vec<Result<(), VirtError>> = std::thread::scope(|s| {
            let handles: Vec<_> = report
                .started
                .iter()
                .map(|name| s.spawn(move || stop(conn, name)))
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join().unwrap_or_else(|_| {
                        Err(VirtError::Call {
                            action: "stopping a demo VM".into(),
                            reason: "the thread panicked".into(),
                        })
                    })
                })
                .collect()
        });
        for result in results {
            if let Err(e) = result {
                first_err.get_or_insert(e);
            }
        }
        first_err.map_or(Ok(()), Err)
    }
}

fn stop(conn: &Connect, name: &str) -> Result<(), VirtError> {
    let result = conn.lookup_domain_by_name(name).and_then(|dom| {
        if dom.is_active()? {
            dom.destroy()?;
        }
        Ok(())
    });
    result.map_err(|e| VirtError::call(format!("stopping {name}"), &e))
}

/// The demo VMs. Names say what each one shows.
fn plan(disks: &Path, tsc_hz: u64) -> Vec<DemoVm> {
    let off = Some(false);
    let qcow2 = |name: &str| disks.join(format!("{name}.qcow2"));
    let vm = |name: &str, cpu: TinyCpu| TinyVm::new(name, cpu).disk(qcow2(name), DiskFormat::Qcow2);
    let qemu64 = || TinyCpu::Custom {
        model: "qemu64".into(),
    };
    let mut archive = TinyVm::new("archive-stopped", TinyCpu::Default);
    archive = archive.disk(disks.join("archive-stopped.img"), DiskFormat::Raw);
    let items = [
        // Memory snapshots refused on an invtsc host: the case virtsnap explains.
        (
            vm(
                "web-passthrough",
                TinyCpu::HostPassthrough { migratable: off },
            ),
            Goal::Running,
        ),
        // Same CPU, but a pinned TSC frequency lifts the block.
        (
            vm(
                "db-tsc-pinned",
                TinyCpu::HostPassthrough { migratable: off },
            )
            .tsc_frequency(tsc_hz),
            Goal::Running,
        ),
        (vm("app-host-model", TinyCpu::HostModel), Goal::Running),
        (vm("legacy-qemu64", qemu64()), Goal::Running),
        (
            vm("build-maximum", TinyCpu::Maximum { migratable: off }),
            Goal::Running,
        ),
        (archive, Goal::ShutOff),
        (vm("batch-paused", qemu64()), Goal::Paused),
    ];
    items
        .into_iter()
        .map(|(mut vm, goal)| {
            vm.memory_mib = 64;
            DemoVm {
                vm: vm.with_nested_host_workarounds(),
                goal,
            }
        })
        .collect()
}

/// Defines (or reuses) one VM and brings it to its goal. Ok(true): it runs or is paused now and
/// this process owns stopping it. Err: why it was left off.
fn bring_up(
    conn: &Connect,
    demo: &DemoVm,
    kvm: bool,
    report: &mut DemoReport,
) -> Result<bool, String> {
    let vm = &demo.vm;
    for disk in &vm.disks {
        if !disk.path.exists() {
            create_disk(&disk.path, disk.format, DISK_MIB).map_err(|e| e.to_string())?;
        }
    }
    let dom = match conn.lookup_domain_by_name(&vm.name) {
        Ok(dom) if definition_fits(&dom, vm) => dom,
        // Not defined yet, or defined for another accelerator (KVM came or went): (re)define.
        _ => {
            let dom = conn
                .define_domain_xml(&vm.to_xml())
                .map_err(|e| e.message().to_string())?;
            report.defined.push(vm.name.clone());
            dom
        }
    };
    let state = dom
        .state()
        .map(|(s, _)| DomainState::from_raw(s.to_raw()))
        .map_err(|e| e.message().to_string())?;
    if demo.goal == Goal::ShutOff {
        // A leftover QEMU from an earlier run that died: stop it with the others on exit.
        return Ok(state.is_active());
    }
    if !state.is_active() {
        if !kvm && vm.cpu.needs_kvm() {
            return Err("host-passthrough needs KVM and /dev/kvm is not usable (TCG cannot pass the host CPU through)".into());
        }
        dom.create().map_err(|e| e.message().to_string())?;
    }
    if demo.goal == Goal::Paused && state != DomainState::Paused {
        if let Err(e) = dom.suspend() {
            report.notes.push(format!(
                "{} runs instead of paused: {}",
                vm.name,
                e.message()
            ));
        }
    }
    Ok(true)
}

/// Builds (or finds in the cache) the Linux guest, picks its accelerator (a KVM probe boot the
/// first time on a host, remembered after), and brings up [`GUEST_VMS`]. Ok: the accelerator
/// line for the report and each VM's outcome; Err: why the guest VMs are left out.
#[allow(clippy::type_complexity)]
fn bring_up_guests(
    conn: &Connect,
    disks: &Path,
    kvm: bool,
) -> Result<(String, Vec<(String, DemoReport, Result<bool, String>)>), String> {
    let built = GuestImage::build()?;
    let image = demo_copy(&built, &disks.with_file_name("guest"))?;
    let accel = choose_accel(conn, &image, disks, &built.dir);
    let image = &image;
    let accel_kind = accel.accel;
    let outcomes = std::thread::scope(|s| {
        let handles: Vec<_> = GUEST_VMS
            .iter()
            .zip([DiskFormat::Qcow2, DiskFormat::Raw])
            .map(|(name, format)| {
                s.spawn(move || {
                    let mut part = DemoReport::default();
                    let result = guest_disk(image, disks, name, format).and_then(|disk| {
                        let mut vm = image.vm(name, &disk, accel_kind);
                        vm.disks[0].format = format;
                        let demo = DemoVm {
                            vm,
                            goal: Goal::Running,
                        };
                        bring_up(conn, &demo, kvm, &mut part)
                    });
                    (name.to_string(), part, result)
                })
            })
            .collect();
        handles
            .into_iter()
            .zip(GUEST_VMS)
            .map(|(h, name)| {
                h.join().unwrap_or_else(|_| {
                    let why = "setting it up panicked (a bug in virtsnap)".to_string();
                    (name.to_string(), DemoReport::default(), Err(why))
                })
            })
            .collect()
    });
    Ok((accel.line(), outcomes))
}

/// The kernel and initramfs copied into the demo root, so the definitions never point into a
/// cache that may be cleaned or rebuilt under another key, and QEMU reads them whoever it
/// runs as. Copied again only when the build changed.
fn demo_copy(built: &GuestImage, dir: &Path) -> Result<GuestImage, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let current = GuestImage::from_dir(dir).ok();
    if current.is_none_or(|c| c.key != built.key) {
        // The manifest last: a copy cut short is not mistaken for a complete one.
        for f in ["vmlinuz", "initrd.gz", "data.qcow2", "manifest"] {
            let tmp = dir.join(format!(".{f}.new"));
            std::fs::copy(built.dir.join(f), &tmp)
                .and_then(|_| std::fs::rename(&tmp, dir.join(f)))
                .map_err(|e| format!("cannot copy the guest's {f}: {e}"))?;
        }
    }
    GuestImage::from_dir(dir)
}

/// The guest VM's data disk, made from the template the first time (raw: converted).
fn guest_disk(
    image: &GuestImage,
    disks: &Path,
    name: &str,
    format: DiskFormat,
) -> Result<PathBuf, String> {
    let path = disks.join(match format {
        DiskFormat::Qcow2 => format!("{name}.qcow2"),
        DiskFormat::Raw => format!("{name}.img"),
    });
    if path.exists() {
        return Ok(path);
    }
    match format {
        DiskFormat::Qcow2 => image.new_data_disk(&path).map_err(|e| e.to_string())?,
        DiskFormat::Raw => {
            let out = std::process::Command::new("qemu-img")
                .args(["convert", "-q", "-f", "qcow2", "-O", "raw"])
                .arg(image.data_template())
                .arg(&path)
                .output()
                .map_err(|e| format!("cannot run qemu-img: {e}"))?;
            if !out.status.success() {
                return Err(format!(
                    "qemu-img convert failed: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                ));
            }
        }
    }
    Ok(path)
}

/// The existing definition was made for the accelerator this machine has now.
fn definition_fits(dom: &Domain, vm: &TinyVm) -> bool {
    match dom.xml_desc(virt::sys::VIR_DOMAIN_XML_INACTIVE) {
        Ok(xml) => DomainConfig::from_xml(&xml)
            .map(|cfg| cfg.domain_type == vm.domain_type)
            // Unparsable: keep what the user has rather than overwrite it.
            .unwrap_or(true),
        Err(_) => true,
    }
}

fn host_tsc_frequency(conn: &Connect) -> Option<u64> {
    let xml = conn.capabilities().ok()?;
    HostCapabilities::from_xml(&xml).ok()?.tsc_frequency_hz
}

/// `$XDG_STATE_HOME/virtsnap`, by default `~/.local/state/virtsnap` (XDG says relative values
/// are invalid and must be ignored).
fn state_dir() -> PathBuf {
    let xdg = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute());
    let base = xdg.unwrap_or_else(|| {
        let home = std::env::var_os("HOME").map_or_else(std::env::temp_dir, PathBuf::from);
        home.join(".local").join("state")
    });
    base.join("virtsnap")
}

fn write_if_changed(path: &Path, contents: &str) -> std::io::Result<()> {
    if std::fs::read_to_string(path).is_ok_and(|old| old == contents) {
        return Ok(());
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, contents)
}

/// libvirt unescapes URI query values, so a root path with spaces, `&` or `%` survives.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn uid() -> u32 {
    std::fs::metadata("/proc/self").map_or(0, |m| std::os::unix::fs::MetadataExt::uid(&m))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_escapes_the_root_path() {
        assert_eq!(percent_encode("/home/a b/&x%"), "/home/a%20b/%26x%25");
        assert!(DemoHost::uri().starts_with("qemu:///embed?root=/"));
    }

    #[test]
    fn plan_has_the_promised_vms() {
        let names: Vec<String> = plan(Path::new("/d"), 1)
            .into_iter()
            .map(|d| d.vm.name)
            .collect();
        for want in [
            "web-passthrough",
            "db-tsc-pinned",
            "app-host-model",
            "legacy-qemu64",
        ] {
            assert!(
                names.iter().any(|n| n == want),
                "{want} missing from {names:?}"
            );
        }
        // The test-driver host shows the same VMs, the Linux guests too.
        for name in names.iter().map(String::as_str).chain(GUEST_VMS) {
            assert!(
                TEST_DRIVER_HOST.contains(&format!("<name>{name}</name>")),
                "{name}"
            );
        }
    }
}
