//! The tiny Linux guest that the demo and the real-guest tests boot. `tests/setup/build-guest.sh`
//! builds it; the script is embedded here so an installed binary can build its demo guest too
//! (the same text, so the same cache entry as the tests'). Which accelerator runs it is found
//! out, never assumed: nested KVM on some hosts starts QEMU but cannot run a Linux kernel (the
//! guest pauses on an emulation failure, or hangs before its first line of output), so a short
//! probe boot under KVM decides, and its verdict is kept next to the guest.

use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use virt::connect::Connect;
use virt::domain::Domain;

use super::guest;
use super::vmdef::{kvm_usable, DirectBoot, DiskFormat, TinyCpu, TinyVm};

/// The build script, as the tests run it.
pub const BUILD_SCRIPT: &str = include_str!("../../tests/setup/build-guest.sh");

/// The kernel command line: the serial port is the console (`c` in virtsnap shows its shell);
/// a panic reboots at once instead of hanging.
pub const CMDLINE: &str = "console=ttyS0 panic=-1 quiet";

/// A KVM boot of this guest reaches its agent in about a second where KVM works; one that
/// has not after this long is taken as KVM not running it.
pub const KVM_PROBE_LIMIT: Duration = Duration::from_secs(10);

/// Where KVM works the kernel announces itself ("Linux version ...") on the console within a
/// fraction of a second; where nested KVM hangs it never does (measured: the boot stops after
/// the real-mode setup's "Probing EDD"). Waiting for the agent's full limit then is wasted.
pub const KVM_PROBE_FIRST_WORDS: Duration = Duration::from_secs(3);

const PROBE_FILE: &str = "accel-probe";

/// Which guest the script builds (its argument); each flavour is cached on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    /// Debian's cloud kernel: boots to its agent in ~5 s under TCG. The demo and most tests.
    Cloud,
    /// Debian's generic kernel, which has 9p over virtio (the cloud kernel has none): a guest
    /// that mounts a 9p share. It boots several times slower.
    NineP,
}

impl Flavour {
    /// The script's argument and the manifest's `flavour=`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cloud => "cloud",
            Self::NineP => "9p",
        }
    }

    fn parse(word: &str) -> Option<Self> {
        [Self::Cloud, Self::NineP]
            .into_iter()
            .find(|f| f.as_str() == word)
    }
}

/// A built guest: kernel, initramfs and the data disk template, in the build cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestImage {
    pub dir: PathBuf,
    /// The hash of the build's inputs (the script, the flavour and the package versions).
    pub key: String,
    pub flavour: Flavour,
    pub kernel_version: String,
}

impl GuestImage {
    /// Builds the cloud guest (the demo's), or finds it in the cache when its inputs have not
    /// changed (about a second: apt is asked for the package versions). Err says why it cannot
    /// be built (no package lists, no mirror, a missing tool) with the script's last lines.
    pub fn build() -> Result<GuestImage, String> {
        Self::build_flavour(Flavour::Cloud)
    }

    /// As [`GuestImage::build`], for `flavour`.
    pub fn build_flavour(flavour: Flavour) -> Result<GuestImage, String> {
        let cache = cache_dir();
        std::fs::create_dir_all(&cache)
            .map_err(|e| format!("cannot create {}: {e}", cache.display()))?;
        let script = cache.join("build-guest.sh");
        if std::fs::read_to_string(&script).ok().as_deref() != Some(BUILD_SCRIPT) {
            std::fs::write(&script, BUILD_SCRIPT)
                .map_err(|e| format!("cannot write {}: {e}", script.display()))?;
        }
        let out = Command::new("bash")
            .arg(&script)
            .arg(flavour.as_str())
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run bash {}: {e}", script.display()))?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        for line in stderr.lines() {
            tracing::info!("{line}");
        }
        if !out.status.success() {
            let tail: Vec<&str> = stderr.lines().rev().take(3).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            return Err(format!(
                "building the Linux guest failed ({}): {}",
                out.status,
                tail.join(" / ")
            ));
        }
        let stdout = String::from_utf8_lossy(&out.stdout);
        let dir = stdout
            .lines()
            .last()
            .map(PathBuf::from)
            .ok_or("the guest build printed no directory")?;
        Self::from_dir(&dir)
    }

    /// A guest built earlier, from its directory's manifest.
    pub fn from_dir(dir: &Path) -> Result<GuestImage, String> {
        let manifest = std::fs::read_to_string(dir.join("manifest"))
            .map_err(|e| format!("no guest in {}: {e}", dir.display()))?;
        let field = |name: &str| {
            manifest
                .lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix('='))
                .map(str::to_string)
                .ok_or_else(|| format!("{} has no {name}", dir.join("manifest").display()))
        };
        // Builds from before flavours were all cloud ones.
        let flavour = match field("flavour") {
            Ok(word) => Flavour::parse(&word).ok_or_else(|| {
                format!(
                    "{} names an unknown flavour {word}",
                    dir.join("manifest").display()
                )
            })?,
            Err(_) => Flavour::Cloud,
        };
        Ok(GuestImage {
            dir: dir.to_path_buf(),
            key: field("key")?,
            flavour,
            kernel_version: field("kernel_version")?,
        })
    }

    pub fn kernel(&self) -> PathBuf {
        self.dir.join("vmlinuz")
    }

    pub fn initrd(&self) -> PathBuf {
        self.dir.join("initrd.gz")
    }

    /// The empty ext4 data disk (qcow2, so internal snapshots work). Never boot it: copy it.
    pub fn data_template(&self) -> PathBuf {
        self.dir.join("data.qcow2")
    }

    /// A fresh data disk for one VM at `path` (a 1 MiB copy of the template).
    pub fn new_data_disk(&self, path: &Path) -> io::Result<()> {
        std::fs::copy(self.data_template(), path).map(|_| ())
    }

    /// The guest's definition (GUEST-NOTES.md): q35, 256 MiB, one vCPU, qemu64, the kernel
    /// booted directly, `data_disk` as vda (mounted at /data), the agent's channel, suspend to
    /// RAM allowed, and the console on a pty.
    pub fn vm(&self, name: &str, data_disk: &Path, accel: Accel) -> TinyVm {
        let mut vm = TinyVm::new(
            name,
            TinyCpu::Custom {
                model: "qemu64".into(),
            },
        )
        .with_nested_host_workarounds()
        .disk(data_disk, DiskFormat::Qcow2);
        vm.domain_type = accel.domain_type().to_string();
        vm.memory_mib = 256;
        vm.machine = Some("q35".into());
        vm.direct_boot = Some(DirectBoot {
            kernel: self.kernel(),
            initrd: self.initrd(),
            cmdline: CMDLINE.into(),
        });
        vm.guest_agent = true;
        vm.suspend_to_mem = true;
        vm
    }
}

/// `$XDG_CACHE_HOME/virtsnap/guest`, by default `~/.cache/virtsnap/guest` (the script agrees).
pub fn cache_dir() -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .unwrap_or_else(|| {
            std::env::var_os("HOME")
                .map_or_else(std::env::temp_dir, PathBuf::from)
                .join(".cache")
        });
    base.join("virtsnap").join("guest")
}

/// What runs the guest's CPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accel {
    Kvm,
    /// QEMU's Tiny Code Generator: emulation, slower but independent of the host's KVM.
    Tcg,
}

impl Accel {
    /// The `<domain type=...>` that selects it.
    pub fn domain_type(self) -> &'static str {
        match self {
            Self::Kvm => "kvm",
            Self::Tcg => "qemu",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Kvm => "KVM",
            Self::Tcg => "TCG",
        }
    }
}

/// The accelerator for the guest and how it was chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccelChoice {
    pub accel: Accel,
    /// Why, e.g. "a KVM probe boot paused (crashed)" or "a KVM probe boot reached the agent".
    pub reason: String,
    /// The verdict came from an earlier probe on this host.
    pub cached: bool,
}

impl AccelChoice {
    /// One line for a log, a test's output or the demo's notes.
    pub fn line(&self) -> String {
        format!(
            "Linux guest runs under {}: {}{}",
            self.accel.label(),
            self.reason,
            if self.cached {
                " (probed earlier on this host)"
            } else {
                ""
            }
        )
    }
}

/// KVM when a probe boot under KVM reaches the guest agent, TCG otherwise. The verdict of a
/// probe that booted is kept in `verdict_dir` (the build's directory) with what it depends on
/// (host kernel, QEMU and libvirt versions, CPU model), so later runs skip the probe; a probe
/// that could not even start QEMU decides only this run. `scratch` holds the probe's
/// throwaway disk.
pub fn choose_accel(
    conn: &Connect,
    image: &GuestImage,
    scratch: &Path,
    verdict_dir: &Path,
) -> AccelChoice {
    if !kvm_usable() {
        return AccelChoice {
            accel: Accel::Tcg,
            reason: "/dev/kvm is missing or not usable".into(),
            cached: false,
        };
    }
    let fingerprint = host_fingerprint(conn);
    let file = verdict_dir.join(PROBE_FILE);
    if let Some(choice) = read_probe(&file, &fingerprint) {
        return choice;
    }
    let started = Instant::now();
    let (choice, keep) = match probe_kvm(conn, image, scratch) {
        Ok(took) => (
            AccelChoice {
                accel: Accel::Kvm,
                reason: format!(
                    "a KVM probe boot reached the guest agent in {:.1} s",
                    took.as_secs_f64()
                ),
                cached: false,
            },
            true,
        ),
        Err(Probe::Booted(why)) => (
            AccelChoice {
                accel: Accel::Tcg,
                reason: format!("KVM cannot run it here: {why}"),
                cached: false,
            },
            true,
        ),
        Err(Probe::NotStarted(why)) => (
            AccelChoice {
                accel: Accel::Tcg,
                reason: format!("the KVM probe could not start: {why}"),
                cached: false,
            },
            false,
        ),
    };
    tracing::info!(
        "KVM probe took {:.1} s: {}",
        started.elapsed().as_secs_f64(),
        choice.line()
    );
    if keep {
        write_probe(&file, &fingerprint, &choice);
    }
    choice
}

fn host_fingerprint(conn: &Connect) -> String {
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(str::to_string)
        })
        .unwrap_or_default();
    format!(
        "kernel {} qemu {} libvirt {} {}",
        kernel.trim(),
        conn.hyp_version().unwrap_or(0),
        conn.lib_version().unwrap_or(0),
        cpu.split(':').nth(1).unwrap_or("").trim()
    )
}

fn read_probe(file: &Path, fingerprint: &str) -> Option<AccelChoice> {
    let text = std::fs::read_to_string(file).ok()?;
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix('='))
    };
    if field("host")? != fingerprint {
        return None;
    }
    let accel = match field("accel")? {
        "kvm" => Accel::Kvm,
        "tcg" => Accel::Tcg,
        _ => return None,
    };
    Some(AccelChoice {
        accel,
        reason: field("reason")?.to_string(),
        cached: true,
    })
}

fn write_probe(file: &Path, fingerprint: &str, choice: &AccelChoice) {
    let accel = match choice.accel {
        Accel::Kvm => "kvm",
        Accel::Tcg => "tcg",
    };
    let text = format!(
        "host={fingerprint}\naccel={accel}\nreason={}\n",
        choice.reason.replace('\n', " ")
    );
    // Written whole and renamed: a concurrent reader sees the old verdict or the new one.
    let tmp = file.with_extension(format!("tmp{}", std::process::id()));
    if let Err(e) = std::fs::write(&tmp, text).and_then(|()| std::fs::rename(&tmp, file)) {
        tracing::warn!(
            "cannot keep the KVM probe's verdict in {}: {e}",
            file.display()
        );
        let _ = std::fs::remove_file(&tmp);
    }
}

/// Why a probe did not show KVM running the guest.
enum Probe {
    /// QEMU ran the guest under KVM and it failed: a verdict about this host.
    Booted(String),
    /// The probe never got that far (a file, a permission): says nothing about KVM.
    NotStarted(String),
}

/// Boots the guest under KVM as a transient domain and watches it: Ok(time to the agent's
/// first answer), or Err when QEMU paused it (how KVM reports an emulation failure), it
/// stopped, its kernel printed nothing within [`KVM_PROBE_FIRST_WORDS`], or the agent did not
/// answer within [`KVM_PROBE_LIMIT`].
fn probe_kvm(conn: &Connect, image: &GuestImage, scratch: &Path) -> Result<Duration, Probe> {
    probe_boot(conn, image, scratch, Accel::Kvm)
}

/// The probe boot under `accel`: public so a test can run it under TCG, where the guest boots
/// more slowly than under a working KVM, and show that a guest that boots passes it.
pub fn probe_boot_under(
    conn: &Connect,
    image: &GuestImage,
    scratch: &Path,
    accel: Accel,
) -> Result<Duration, String> {
    probe_boot(conn, image, scratch, accel).map_err(|p| match p {
        Probe::Booted(why) | Probe::NotStarted(why) => why,
    })
}

fn probe_boot(
    conn: &Connect,
    image: &GuestImage,
    scratch: &Path,
    accel: Accel,
) -> Result<Duration, Probe> {
    std::fs::create_dir_all(scratch).map_err(|e| Probe::NotStarted(e.to_string()))?;
    let name = format!(
        "virtsnap-{}-probe-{}",
        accel.domain_type(),
        std::process::id()
    );
    let disk = scratch.join(format!("{name}.qcow2"));
    image
        .new_data_disk(&disk)
        .map_err(|e| Probe::NotStarted(format!("cannot copy the data disk: {e}")))?;
    let console = scratch.join(format!("{name}.console.log"));
    let mut vm = image.vm(&name, &disk, accel);
    // Not quiet: the kernel's first line on the console is the first sign of life.
    if let Some(boot) = vm.direct_boot.as_mut() {
        boot.cmdline = "console=ttyS0 panic=-1".into();
    }
    vm.serial_log = Some(console.clone());
    let result = match conn.create_domain_xml(&vm.to_xml(), 0) {
        Ok(dom) => {
            let watched = watch_probe(&dom, &console, probe_limits(accel)).map_err(Probe::Booted);
            if let Err(e) = dom.destroy() {
                tracing::warn!("cannot stop the KVM probe {name}: {}", e.message());
            }
            watched
        }
        // The first line says why (QEMU's own error follows libvirt's prefix).
        Err(e) => Err(Probe::NotStarted(
            e.message().lines().next().unwrap_or_default().to_string(),
        )),
    };
    let _ = std::fs::remove_file(&disk);
    let _ = std::fs::remove_file(&console);
    result
}

/// How long the probe waits for the kernel's first words and for the agent. Under KVM a
/// guest that boots speaks within a second ([`KVM_PROBE_FIRST_WORDS`], [`KVM_PROBE_LIMIT`]);
/// under TCG (only the test that shows a booting guest passes the probe) the guest is ten
/// times slower, more on a loaded machine: measured 4-8 s at load average 4, failures with
/// the KVM limits at load average 5-8 on 2 cores.
fn probe_limits(accel: Accel) -> (Duration, Duration) {
    match accel {
        Accel::Kvm => (KVM_PROBE_FIRST_WORDS, KVM_PROBE_LIMIT),
        Accel::Tcg => (Duration::from_secs(30), Duration::from_secs(90)),
    }
}

fn watch_probe(
    dom: &Domain,
    console: &Path,
    (first_words, limit): (Duration, Duration),
) -> Result<Duration, String> {
    use virt::domain::DomainState as S;
    use virt::enumutil::Enum;
    let start = Instant::now();
    loop {
        match dom.state() {
            Ok((Enum::Known(S::Paused), reason)) => {
                return Err(format!(
                    "the probe boot was paused by QEMU ({reason}) after {:.1} s, as KVM does on an emulation failure",
                    start.elapsed().as_secs_f64()
                ))
            }
            Ok((Enum::Known(S::Running), _)) => {}
            Ok((state, reason)) => {
                return Err(format!("the probe boot ended ({state:?}, {reason})"));
            }
            Err(e) => return Err(format!("the probe boot vanished: {}", e.message())),
        }
        if guest::ping(dom, 1).is_ok() {
            return Ok(start.elapsed());
        }
        if start.elapsed() >= first_words && !kernel_spoke(console) {
            return Err(format!(
                "the probe boot's kernel printed nothing within {} s",
                first_words.as_secs()
            ));
        }
        if start.elapsed() >= limit {
            return Err(format!(
                "the probe boot showed no guest agent within {} s",
                limit.as_secs()
            ));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The kernel has started printing on the console.
fn kernel_spoke(console: &Path) -> bool {
    std::fs::read(console)
        .is_ok_and(|bytes| String::from_utf8_lossy(&bytes).contains("Linux version"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_manifest_names_the_flavour_and_older_builds_are_cloud_ones() {
        let dir = tempfile::tempdir().unwrap();
        let manifest = dir.path().join("manifest");
        std::fs::write(
            &manifest,
            "key=k1\nflavour=9p\nkernel_version=6.1.0-57-amd64\n",
        )
        .unwrap();
        let image = GuestImage::from_dir(dir.path()).unwrap();
        assert_eq!(image.flavour, Flavour::NineP);
        assert_eq!(image.kernel_version, "6.1.0-57-amd64");
        std::fs::write(&manifest, "key=k0\nkernel_version=6.1.0-57-cloud-amd64\n").unwrap();
        assert_eq!(
            GuestImage::from_dir(dir.path()).unwrap().flavour,
            Flavour::Cloud
        );
        std::fs::write(&manifest, "key=k2\nflavour=xen\nkernel_version=6\n").unwrap();
        let err = GuestImage::from_dir(dir.path()).unwrap_err();
        assert!(err.contains("unknown flavour xen"), "{err}");
    }
}
