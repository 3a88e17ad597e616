//! Driving virtsnap in a real terminal: a detached tmux session per test, with keys in and the
//! screen out, the way a user on an SSH session sees it.
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// The peak resident set size (VmHWM, in MiB) of the running process whose command line starts
/// with `bin` and contains `marker` (an argument only one test's pane passes), or None.
pub fn peak_rss_mib(bin: &str, marker: &str) -> Option<f64> {
    let pid = std::fs::read_dir("/proc")
        .ok()?
        .filter_map(|e| e.ok())
        .find_map(|e| {
            let pid: u32 = e.file_name().to_str()?.parse().ok()?;
            let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
            (cmd.starts_with(bin) && cmd.contains(marker)).then_some(pid)
        })?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib: f64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kib / 1024.0)
}

pub struct Tmux {
    pub session: String,
}

pub fn available() -> bool {
    Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}

impl Tmux {
    /// Starts `command` (run by bash) in a new session of `width`x`height`.
    pub fn start(tag: &str, width: u16, height: u16, command: &str) -> Tmux {
        let session = format!("vs-{tag}-{}", std::process::id());
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &session])
            .output();
        let status = Command::new("tmux")
            .args([
                "new-session",
                "-d",
                "-s",
                &session,
                "-x",
                &width.to_string(),
                "-y",
                &height.to_string(),
            ])
            .arg(command)
            .env("TERM", "xterm-256color")
            .status()
            .expect("tmux runs");
        assert!(status.success(), "tmux new-session failed");
        let _ = Command::new("tmux")
            .args(["set-option", "-t", &session, "remain-on-exit", "on"])
            .output();
        Tmux { session }
    }

    /// Waits until the pane's command has exited (the session keeps the dead pane:
    /// remain-on-exit). A screen that stopped showing virtsnap is not enough: the process may
    /// still be tearing down, holding an embedded root another process wants next.
    pub fn wait_exited(&self, timeout: Duration) -> bool {
        let start = Instant::now();
        while start.elapsed() < timeout {
            let out = Command::new("tmux")
                .args(["display-message", "-p", "-t", &self.session, "#{pane_dead}"])
                .output();
            match out {
                Ok(o) if o.status.success() && String::from_utf8_lossy(&o.stdout).trim() == "0" => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                _ => return true,
            }
        }
        false
    }

    pub fn keys(&self, keys: &[&str]) {
        let status = Command::new("tmux")
            .args(["send-keys", "-t", &self.session])
            .args(keys)
            .status()
            .expect("tmux send-keys");
        assert!(status.success());
    }

    /// The process id of the pane's command.
    pub fn pane_pid(&self) -> u32 {
        let out = Command::new("tmux")
            .args(["display-message", "-p", "-t", &self.session, "#{pane_pid}"])
            .output()
            .expect("tmux display-message");
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .expect("a pane pid")
    }

    pub fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["capture-pane", "-p", "-t", &self.session])
            .output()
            .expect("tmux capture-pane");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Waits until the screen satisfies `pred`; returns the time it took, or None on timeout.
    pub fn wait_for(&self, timeout: Duration, pred: impl Fn(&str) -> bool) -> Option<Duration> {
        let start = Instant::now();
        while start.elapsed() < timeout {
            if pred(&self.screen()) {
                return Some(start.elapsed());
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        None
    }

    /// Copies everything the program writes to the terminal into `file` from now on.
    pub fn record_output(&self, file: &Path) {
        let cmd = format!("cat >> '{}'", file.display());
        let status = Command::new("tmux")
            .args(["pipe-pane", "-o", "-t", &self.session, &cmd])
            .status()
            .expect("tmux pipe-pane");
        assert!(status.success());
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &self.session])
            .output();
    }
}

impl Tmux {
    /// The screen with its colours and attributes as escape sequences (`capture-pane -e`).
    pub fn screen_styled(&self) -> String {
        let out = Command::new("tmux")
            .args(["capture-pane", "-p", "-e", "-t", &self.session])
            .output()
            .expect("tmux capture-pane");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}
