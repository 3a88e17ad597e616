//! A real remote transport for tests: an sshd of our own on a free loopback port, with host
//! and client keys generated in a temporary directory, and an `ssh` wrapper that libvirt's
//! `qemu+ssh://` transport finds first on PATH. The wrapper points ssh at that directory's
//! known_hosts (holding our host key, so host keys are still checked) and ignores
//! ~/.ssh/config; the URI's `keyfile` parameter gives the client key. Nothing in ~/.ssh is
//! read or written: `Drop` checks that and restores it if ssh wrote anything anyway.
//! Needs Debian's openssh-server (tests/setup/install-deps.sh) and root.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const SSHD: &str = "/usr/sbin/sshd";

pub struct Sshd {
    dir: tempfile::TempDir,
    pub port: u16,
    /// The listener's pid while it runs.
    pid: Option<u32>,
    /// ~/.ssh as it was: (file name, contents); None when it did not exist.
    ssh_dir_before: Option<Vec<(String, Vec<u8>)>>,
    /// /run/sshd (privilege separation) was created here, so it is removed at the end.
    made_privsep_dir: bool,
}

/// Why the fixture cannot run here, for the SKIPPED line.
pub fn unavailable() -> Option<String> {
    if !Path::new(SSHD).exists() {
        return Some(format!(
            "{SSHD} is missing (openssh-server; tests/setup/install-deps.sh installs it)"
        ));
    }
    if !is_root() {
        return Some("not root: sshd and qemu:///system need root".into());
    }
    None
}

/// The effective uid is 0 (read from /proc: the crate's nix has no `user` feature).
fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let uids = s.lines().find_map(|l| l.strip_prefix("Uid:"))?.to_string();
            uids.split_whitespace().nth(1).map(|e| e == "0")
        })
        .unwrap_or(false)
}

fn home_ssh() -> PathBuf {
    PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| "/root".into())).join(".ssh")
}

fn snapshot_dir(dir: &Path) -> Option<Vec<(String, Vec<u8>)>> {
    let entries = std::fs::read_dir(dir).ok()?;
    let mut files: Vec<(String, Vec<u8>)> = entries
        .flatten()
        .map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            (name, std::fs::read(e.path()).unwrap_or_default())
        })
        .collect();
    files.sort();
    Some(files)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

fn keygen(path: &Path) {
    let ok = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", ""])
        .arg("-f")
        .arg(path)
        .status()
        .expect("ssh-keygen runs")
        .success();
    assert!(ok, "ssh-keygen failed for {}", path.display());
}

impl Sshd {
    /// Generates the keys, the config and the ssh wrapper, and starts sshd.
    pub fn start() -> Sshd {
        let dir = tempfile::Builder::new()
            .prefix("vtf-sshd-")
            .tempdir()
            .expect("temp dir");
        let d = dir.path();
        let port = free_port();
        keygen(&d.join("host_key"));
        keygen(&d.join("client"));
        std::fs::copy(d.join("client.pub"), d.join("authorized_keys")).expect("authorized_keys");
        let config = format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host_key\nPidFile {d}/sshd.pid\n\
             AuthorizedKeysFile {d}/authorized_keys\nStrictModes no\n\
             PermitRootLogin prohibit-password\nPasswordAuthentication no\n\
             KbdInteractiveAuthentication no\nUsePAM no\n",
            d = d.display()
        );
        std::fs::write(d.join("sshd_config"), config).expect("sshd_config");
        let host_pub = std::fs::read_to_string(d.join("host_key.pub")).expect("host key");
        let key: Vec<&str> = host_pub.split_whitespace().take(2).collect();
        std::fs::write(
            d.join("known_hosts"),
            format!("[127.0.0.1]:{port} {}\n", key.join(" ")),
        )
        .expect("known_hosts");
        let bin = d.join("bin");
        std::fs::create_dir_all(&bin).expect("bin dir");
        let wrapper = [
            "#!/bin/sh".to_string(),
            "# ssh for libvirt's qemu+ssh transport in a test: our known_hosts, no ~/.ssh".into(),
            format!(
                "exec /usr/bin/ssh -F /dev/null -o UserKnownHostsFile={}/known_hosts \
                 -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes \
                 -o BatchMode=yes \"$@\"",
                d.display()
            ),
        ]
        .join("\n");
        std::fs::write(bin.join("ssh"), wrapper + "\n").expect("ssh wrapper");
        // Executable, or PATH lookup passes it over for the real ssh and ~/.ssh.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(bin.join("ssh"), std::fs::Permissions::from_mode(0o755))
            .expect("chmod ssh wrapper");
        let made_privsep_dir = !Path::new("/run/sshd").exists();
        std::fs::create_dir_all("/run/sshd").expect("/run/sshd");
        let mut sshd = Sshd {
            dir,
            port,
            pid: None,
            ssh_dir_before: snapshot_dir(&home_ssh()),
            made_privsep_dir,
        };
        sshd.launch();
        sshd
    }

    /// Starts (again) the listener on the same port with the same keys.
    pub fn launch(&mut self) {
        let d = self.dir.path();
        let _ = std::fs::remove_file(d.join("sshd.pid"));
        let ok = Command::new(SSHD)
            .arg("-f")
            .arg(d.join("sshd_config"))
            .arg("-E")
            .arg(d.join("sshd.log"))
            .status()
            .expect("sshd runs")
            .success();
        assert!(ok, "sshd did not start: {}", self.log());
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(10) {
            let pid = std::fs::read_to_string(d.join("sshd.pid"))
                .ok()
                .and_then(|p| p.trim().parse().ok());
            if let (Some(pid), true) = (pid, self.accepts()) {
                self.pid = Some(pid);
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("sshd did not listen on {}: {}", self.port, self.log());
    }

    fn accepts(&self) -> bool {
        std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("sshd.log")).unwrap_or_default()
    }

    /// Kills the listener and every session it forked (and what they run: libvirt's
    /// virt-ssh-helper), as a crashed or stopped sshd would leave the client: link gone.
    pub fn kill(&mut self) {
        let Some(pid) = self.pid.take() else {
            return;
        };
        let mut doomed = vec![pid];
        doomed.extend(descendants(pid));
        for p in &doomed {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(*p as i32),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        let started = Instant::now();
        while self.accepts() && started.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `qemu+ssh://root@127.0.0.1:PORT/system` with our client key.
    pub fn uri(&self) -> String {
        format!(
            "qemu+ssh://root@127.0.0.1:{}/system?keyfile={}",
            self.port,
            self.dir.path().join("client").display()
        )
    }

    /// Put this first on PATH for the process that opens `uri()`.
    pub fn bin_dir(&self) -> PathBuf {
        self.dir.path().join("bin")
    }
}

/// Every process below `pid`, read from /proc.
fn descendants(pid: u32) -> Vec<u32> {
    let parents: Vec<(u32, u32)> = std::fs::read_dir("/proc")
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| {
                    let p: u32 = e.file_name().to_str()?.parse().ok()?;
                    let stat = std::fs::read_to_string(format!("/proc/{p}/stat")).ok()?;
                    let ppid = stat.rsplit(')').next()?.split_whitespace().nth(1)?;
                    Some((p, ppid.parse().ok()?))
                })
                .collect()
        })
        .unwrap_or_default();
    let mut found = Vec::new();
    let mut frontier = vec![pid];
    while let Some(parent) = frontier.pop() {
        for (child, _) in parents.iter().filter(|(_, pp)| *pp == parent) {
            found.push(*child);
            frontier.push(*child);
        }
    }
    found
}

impl Drop for Sshd {
    fn drop(&mut self) {
        self.kill();
        let other_sshd = Command::new("pgrep")
            .args(["-x", "sshd"])
            .output()
            .is_ok_and(|o| o.status.success());
        if self.made_privsep_dir && !other_sshd {
            let _ = std::fs::remove_dir("/run/sshd");
        }
        let home = home_ssh();
        let after = snapshot_dir(&home);
        if after != self.ssh_dir_before {
            eprintln!("WARNING: ~/.ssh changed during the test; restoring it");
            let before = self.ssh_dir_before.clone().unwrap_or_default();
            for (name, _) in after.unwrap_or_default() {
                if !before.iter().any(|(n, _)| *n == name) {
                    let _ = std::fs::remove_file(home.join(name));
                }
            }
            for (name, bytes) in before {
                let _ = std::fs::write(home.join(name), bytes);
            }
        }
    }
}
