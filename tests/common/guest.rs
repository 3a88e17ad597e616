//! Real Linux guests (tests/setup/build-guest.sh) in this process's embedded root: built on
//! demand (cached), run under KVM where a probe boot shows KVM runs them and under TCG
//! otherwise, driven through qemu-guest-agent (`guest-exec`), and removed with their files when
//! dropped (a [`TestVm`] underneath).
//!
//! Every test starts with `let Some(env) = guest_env() else { return };`: a machine that
//! cannot build or boot the guest prints a loud "SKIPPED:" line instead of failing.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use virt::connect::Connect;
use virtsnap::libvirt::guest;
use virtsnap::libvirt::guest_image::{choose_accel, AccelChoice, Flavour, GuestImage};
use virtsnap::libvirt::vmdef::{DiskFormat, TinyVm};

use super::{embed_conn_any_accel, embed_root, unique_name, TestVm};

/// A TCG boot takes ~5 s alone; several at once on two shared cores take longer.
pub const BOOT_LIMIT: Duration = Duration::from_secs(90);

pub struct GuestEnv {
    pub conn: &'static Connect,
    /// The built guest, its kernel and initramfs copied into the root (see [`guest_env`]).
    pub image: GuestImage,
    pub accel: AccelChoice,
}

static ENV: OnceLock<Result<GuestEnv, String>> = OnceLock::new();
static ENV_9P: OnceLock<Result<GuestEnv, String>> = OnceLock::new();

/// The guest environment, or None after printing "SKIPPED: why".
pub fn guest_env() -> Option<&'static GuestEnv> {
    flavour_env(&ENV, Flavour::Cloud)
}

/// The environment of the guest whose kernel has 9p (the generic kernel; it boots several
/// times slower than [`guest_env`]'s), or None after printing "SKIPPED: why".
pub fn guest_env_9p() -> Option<&'static GuestEnv> {
    flavour_env(&ENV_9P, Flavour::NineP)
}

fn flavour_env(
    cell: &'static OnceLock<Result<GuestEnv, String>>,
    flavour: Flavour,
) -> Option<&'static GuestEnv> {
    let conn = embed_conn_any_accel()?;
    match cell.get_or_init(|| prepare(conn, flavour)) {
        Ok(env) => Some(env),
        Err(why) => {
            println!(
                "SKIPPED: the Linux guest ({} flavour) is not available: {why}",
                flavour.as_str()
            );
            None
        }
    }
}

fn prepare(conn: &'static Connect, flavour: Flavour) -> Result<GuestEnv, String> {
    let t = Instant::now();
    let built = GuestImage::build_flavour(flavour)?;
    // The tests' QEMU runs as libvirt-qemu, which cannot enter root's home (the build cache):
    // the root gets its own copy (18 MB, the page cache makes it quick).
    let dir = embed_root().join(format!("guest-{}", flavour.as_str()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    for f in ["vmlinuz", "initrd.gz", "data.qcow2", "manifest"] {
        std::fs::copy(built.dir.join(f), dir.join(f))
            .map_err(|e| format!("copying the guest's {f}: {e}"))?;
    }
    let image = GuestImage::from_dir(&dir)?;
    let build_time = t.elapsed();
    // The probe boots this root's copy; its verdict is kept with the build, for later runs.
    let accel = choose_accel(conn, &image, &embed_root().join("disks"), &built.dir);
    println!(
        "guest {} ({} flavour, kernel {}) ready in {:.1} s; {}",
        built.key,
        flavour.as_str(),
        built.kernel_version,
        build_time.as_secs_f64(),
        accel.line()
    );
    Ok(GuestEnv { conn, image, accel })
}

/// One running (or defined) Linux guest.
pub struct Guest {
    pub vm: TestVm,
    pub serial_log: PathBuf,
    pub data_disk: PathBuf,
}

impl Guest {
    /// Defines a guest named `<base>-<n>` with a fresh qcow2 data disk; `adjust` may change
    /// the definition first (memory, machine type).
    pub fn define(env: &GuestEnv, base: &str, adjust: impl FnOnce(&mut TinyVm)) -> Guest {
        Self::define_with(env, base, DiskFormat::Qcow2, adjust)
    }

    /// As [`Guest::define`], with the data disk in `format` (raw: libvirt takes external
    /// snapshots, memory included).
    pub fn define_with(
        env: &GuestEnv,
        base: &str,
        format: DiskFormat,
        adjust: impl FnOnce(&mut TinyVm),
    ) -> Guest {
        let name = unique_name(base);
        let disks = embed_root().join("disks");
        let data_disk = match format {
            DiskFormat::Qcow2 => {
                let path = disks.join(format!("{name}.qcow2"));
                env.image
                    .new_data_disk(&path)
                    .unwrap_or_else(|e| panic!("data disk for {name}: {e}"));
                path
            }
            DiskFormat::Raw => {
                let path = disks.join(format!("{name}.img"));
                let out = std::process::Command::new("qemu-img")
                    .args(["convert", "-q", "-f", "qcow2", "-O", "raw"])
                    .arg(env.image.data_template())
                    .arg(&path)
                    .output()
                    .expect("qemu-img runs");
                assert!(out.status.success(), "{out:?}");
                path
            }
        };
        let serial_log = disks.join(format!("{name}.serial.log"));
        let mut vm = env.image.vm(&name, &data_disk, env.accel.accel);
        vm.disks[0].format = format;
        vm.serial_log = Some(serial_log.clone());
        adjust(&mut vm);
        // TestVm::define appends its own counter: keep ours as the base.
        vm.name = base.to_string();
        let mut test_vm = TestVm::define(env.conn, vm).unwrap_or_else(|e| panic!("{e}"));
        test_vm.track(serial_log.clone());
        Guest {
            vm: test_vm,
            serial_log,
            data_disk,
        }
    }

    /// Defines, starts and waits for the agent; prints the boot time.
    pub fn boot(env: &GuestEnv, base: &str, adjust: impl FnOnce(&mut TinyVm)) -> Guest {
        let g = Self::define(env, base, adjust);
        g.start();
        g
    }

    pub fn name(&self) -> &str {
        &self.vm.name
    }

    pub fn dom(&self) -> &virt::domain::Domain {
        &self.vm.dom
    }

    /// Starts the defined guest and waits for its agent.
    pub fn start(&self) -> Duration {
        let t = Instant::now();
        self.dom()
            .create()
            .unwrap_or_else(|e| panic!("start {}: {}", self.name(), e.message()));
        self.wait_agent();
        let took = t.elapsed();
        println!(
            "{} booted to its agent in {:.1} s",
            self.name(),
            took.as_secs_f64()
        );
        took
    }

    /// Waits until the agent answers; panics with the serial console's tail when it never does.
    pub fn wait_agent(&self) -> Duration {
        match guest::wait_for_agent(self.dom(), BOOT_LIMIT) {
            Ok(took) => took,
            Err(e) => panic!(
                "{}: no guest agent within {} s ({e}); console:\n{}",
                self.name(),
                BOOT_LIMIT.as_secs(),
                self.console_tail()
            ),
        }
    }

    /// The last lines the guest printed on its serial console.
    pub fn console_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.serial_log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }

    /// One agent command; panics on an error.
    pub fn agent(&self, command: Value) -> Value {
        guest::agent_command(self.dom(), &command, 30)
            .unwrap_or_else(|e| panic!("{}: {command}: {e}", self.name()))
    }

    /// Runs `script` with the guest's /bin/sh through `guest-exec` and waits for it.
    pub fn exec(&self, script: &str) -> Exec {
        self.try_exec(script)
            .unwrap_or_else(|e| panic!("{}: `{script}`: {e}", self.name()))
    }

    /// As [`Guest::exec`], with the agent's failures (a guest going down) as Err.
    pub fn try_exec(&self, script: &str) -> Result<Exec, String> {
        let call = |command: Value| guest::agent_command(self.dom(), &command, 30);
        let started = call(json!({
            "execute": "guest-exec",
            "arguments": {"path": "/bin/sh", "arg": ["-c", script], "capture-output": true}
        }))?;
        let pid = started["pid"]
            .as_i64()
            .ok_or("guest-exec returned no pid")?;
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let status = call(json!({
                "execute": "guest-exec-status", "arguments": {"pid": pid}
            }))?;
            if status["exited"].as_bool() == Some(true) {
                let text = |key: &str| {
                    String::from_utf8_lossy(&base64_decode(status[key].as_str().unwrap_or("")))
                        .into_owned()
                };
                return Ok(Exec {
                    code: status["exitcode"].as_i64().unwrap_or(-1),
                    stdout: text("out-data"),
                    stderr: text("err-data"),
                });
            }
            if Instant::now() >= deadline {
                return Err("still running after 60 s".into());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Runs `script` and returns its stdout; panics when it exits non-zero.
    pub fn sh(&self, script: &str) -> String {
        let r = self.exec(script);
        assert_eq!(
            r.code,
            0,
            "{}: `{script}` exited {}: {}",
            self.name(),
            r.code,
            r.stderr
        );
        r.stdout
    }

    /// Writes `text` to `path` in the guest and syncs it to the data disk, so a disk snapshot
    /// taken next holds it.
    pub fn write_file(&self, path: &str, text: &str) {
        self.sh(&format!(
            "printf %s {} > {} && sync",
            sh_quote(text),
            sh_quote(path)
        ));
    }

    pub fn read_file(&self, path: &str) -> String {
        self.sh(&format!("cat {}", sh_quote(path)))
    }

    /// How often the guest booted since its data disk was made (the init scripts count).
    pub fn boot_count(&self) -> u32 {
        self.read_file("/data/boot-count")
            .trim()
            .parse()
            .expect("boot-count holds a number")
    }

    /// `guest-fsfreeze-status`: "thawed" or "frozen".
    pub fn fsfreeze_status(&self) -> String {
        self.agent(json!({"execute": "guest-fsfreeze-status"}))
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// The guest's clock, in seconds since the epoch (`guest-get-time`).
    pub fn clock(&self) -> f64 {
        let ns = self.agent(json!({"execute": "guest-get-time"}));
        ns.as_i64().expect("guest-get-time returns nanoseconds") as f64 / 1e9
    }

    /// Waits until the domain is shut off; the time it took, or None after `limit`.
    pub fn wait_shutoff(&self, limit: Duration) -> Option<Duration> {
        let t = Instant::now();
        while t.elapsed() < limit {
            if !self.dom().is_active().unwrap_or(true) {
                return Some(t.elapsed());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        None
    }
}

/// What a command run in the guest returned.
#[derive(Debug)]
pub struct Exec {
    pub code: i64,
    pub stdout: String,
    pub stderr: String,
}

/// Boots several guests at once (each TCG boot is mostly waiting on one core).
pub fn boot_all(env: &GuestEnv, bases: &[&str]) -> Vec<Guest> {
    let defined: Vec<Guest> = bases
        .iter()
        .map(|b| Guest::define(env, b, |_| {}))
        .collect();
    std::thread::scope(|s| {
        for g in &defined {
            s.spawn(move || g.start());
        }
    });
    defined
}

/// Seconds since the epoch on this host.
pub fn host_clock() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// `'text'` for sh, with embedded single quotes kept.
pub fn sh_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// Standard base64 (the agent's out-data), without a crate for it.
fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for v in text.bytes().filter_map(value) {
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

/// A file an external snapshot made next to `disk`, for the test's cleanup.
pub fn sibling(disk: &Path, suffix: &str) -> PathBuf {
    let mut name = disk.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_decodes() {
        assert_eq!(super::base64_decode("aGk6IDEyMw=="), b"hi: 123");
    }
}
