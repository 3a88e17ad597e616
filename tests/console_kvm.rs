//! The serial console against real tiny VMs in the embedded QEMU driver: SeaBIOS output comes
//! through, Ctrl-] detaches, a second client is refused until it forces, and a stopped VM and a
//! VM without a console get their own errors.
//! In tmux, the TUI attaches with `c`, shows the firmware's output and comes back with
//! `Ctrl-]` to the same list.
//! Run: `cargo test --test console_kvm -- --nocapture`.

mod common;
mod tmux;

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{embed_conn, TestVm};
use virtsnap::libvirt::console::{self, ConsoleEnd, ConsoleError, ESCAPE};
use virtsnap::libvirt::vmdef::{self, TinyCpu, TinyVm};
use virtsnap::libvirt::ConnectOptions;

fn tiny(name: &str) -> TinyVm {
    TinyVm::new(name, TinyCpu::Default).with_nested_host_workarounds()
}

/// What the guest printed so far, shared between the pump and the typist.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<u8>>>);

impl Write for Seen {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Seen {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// Attaches until the guest printed one of `until` (or `secs` passed), then types Enter
/// followed by Ctrl-]; returns how the session ended and what the guest printed. Waiting for
/// the text rather than a fixed time keeps the test right on a loaded machine (measured: 4 s
/// were not enough for SeaBIOS's banner under TCG while other VMs ran).
fn attach_until(
    handle: &console::ConsoleHandle,
    until: &'static [&'static str],
    secs: u64,
) -> (Result<ConsoleEnd, String>, String) {
    let (mut user, mut input) = UnixStream::pair().unwrap();
    let seen = Seen::default();
    let watched = seen.clone();
    let typist = std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < deadline {
            let text = watched.text();
            if until.iter().any(|w| text.contains(w)) {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        user.write_all(&[b'\r', ESCAPE, b'x']).unwrap();
        user
    });
    let mut output = seen.clone();
    let end = console::pump(handle, &mut input, &mut output, ESCAPE);
    drop(typist.join());
    (end, seen.text())
}

const FIRMWARE: &[&str] = &["SeaBIOS", "Booting", "bootable"];

#[test]
fn seabios_output_comes_through_and_ctrl_bracket_detaches() {
    let Some(conn) = embed_conn() else { return };
    // Started paused and resumed once attached: the banner comes right at power-on and
    // nothing before the attach is replayed.
    let vm = TestVm::define(conn, tiny("console").bios_on_serial()).unwrap();
    vm.dom
        .create_with_flags(virt::sys::VIR_DOMAIN_START_PAUSED)
        .unwrap();
    let started = Instant::now();
    let handle = console::open(conn, &vm.name, false).unwrap();
    vm.dom.resume().unwrap();
    let (end, text) = attach_until(&handle, FIRMWARE, 60);
    println!("console output after {:?}: {text:?}", started.elapsed());
    assert_eq!(end, Ok(ConsoleEnd::Detached));
    assert!(
        FIRMWARE.iter().any(|w| text.contains(w)),
        "no firmware output on the serial console: {text:?}"
    );
    // Detaching released the console: a new session opens without forcing.
    drop(handle);
    let again = console::open(conn, &vm.name, false);
    assert!(again.is_ok(), "{again:?}");
}

#[test]
fn a_second_client_is_refused_until_it_forces() {
    let Some(conn) = embed_conn() else { return };
    let vm = TestVm::start(conn, tiny("console-busy")).unwrap();
    let first = console::open(conn, &vm.name, false).unwrap();
    let second = console::open(conn, &vm.name, false);
    assert_eq!(
        second.as_ref().err(),
        Some(&ConsoleError::Busy {
            name: vm.name.clone()
        })
    );
    let forced = console::open(conn, &vm.name, true).unwrap();
    // The first session was cut off: its pump ends on its own.
    let (end, _) = attach_until(&first, &[], 2);
    assert!(matches!(end, Ok(ConsoleEnd::Closed(_))), "{end:?}");
    drop(forced);
}

#[test]
fn the_session_ends_when_the_vm_stops() {
    let Some(conn) = embed_conn() else { return };
    let vm = TestVm::start(conn, tiny("console-stop")).unwrap();
    let handle = console::open(conn, &vm.name, false).unwrap();
    let dom = vm.dom.clone();
    let killer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(1));
        dom.destroy().unwrap();
    });
    // Nobody types: only the VM going away can end this.
    let (_user, mut input) = UnixStream::pair().unwrap();
    let mut output = Vec::new();
    let t = Instant::now();
    let end = console::pump(&handle, &mut input, &mut output, ESCAPE);
    killer.join().unwrap();
    assert!(matches!(end, Ok(ConsoleEnd::Closed(_))), "{end:?}");
    assert!(t.elapsed() < Duration::from_secs(15), "{:?}", t.elapsed());
}

#[test]
fn stopped_vm_and_vm_without_console_are_explained() {
    let Some(conn) = embed_conn() else { return };
    let stopped = TestVm::define(conn, tiny("console-off")).unwrap();
    let err = console::open(conn, &stopped.name, false).unwrap_err();
    assert_eq!(
        err,
        ConsoleError::NotRunning {
            name: stopped.name.clone()
        }
    );
    assert!(err.to_string().contains("is not running"), "{err}");

    let bare = TestVm::start(conn, tiny("console-none").without_console()).unwrap();
    let err = console::open(conn, &bare.name, false).unwrap_err();
    assert_eq!(
        err,
        ConsoleError::NoConsole {
            name: bare.name.clone()
        }
    );
    assert!(
        err.to_string().contains("no serial or console device"),
        "{err}"
    );
}

const TUI_VM: &str = "tmux-console";

/// Not a test by itself: the tmux test runs this binary again with VIRTSNAP_CONSOLE_ROOT set,
/// to define or remove its VM in an embedded root that the TUI opens and this process never
/// does (two processes must not hold one root).
#[test]
fn console_root_helper() {
    let Ok(root) = std::env::var("VIRTSNAP_CONSOLE_ROOT") else {
        return;
    };
    let conn = virtsnap::libvirt::open(&ConnectOptions {
        uri: Some(format!("qemu:///embed?root={root}")),
        readonly: false,
    })
    .unwrap();
    let name = std::env::var("VIRTSNAP_CONSOLE_VM").unwrap();
    match std::env::var("VIRTSNAP_CONSOLE_ACTION").as_deref() {
        Ok("define") => {
            conn.define_domain_xml(&tiny(&name).bios_on_serial().to_xml())
                .unwrap();
        }
        _ => {
            if let Ok(dom) = conn.lookup_domain_by_name(&name) {
                if dom.is_active().unwrap_or(true) {
                    let _ = dom.destroy();
                }
                dom.undefine().unwrap();
            }
        }
    }
}

fn root_helper(root: &Path, vm: &str, action: &str) {
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "console_root_helper",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("VIRTSNAP_CONSOLE_ROOT", root)
        .env("VIRTSNAP_CONSOLE_ACTION", action)
        .env("VIRTSNAP_CONSOLE_VM", vm)
        .status()
        .unwrap();
    assert!(status.success(), "{action} in {}", root.display());
}

/// Removes the VM (and so its QEMU) after the TUI is gone, whatever the test's outcome.
struct RootVm<'a>(&'a Path, &'static str);

impl Drop for RootVm<'_> {
    fn drop(&mut self) {
        root_helper(self.0, self.1, "remove");
    }
}

/// A fresh embedded root with `vm` defined in it (not started), removed with the VM on drop.
fn root_with_vm(vm: &'static str) -> (tempfile::TempDir, String) {
    let dir = tempfile::Builder::new()
        .prefix("virtsnap-console-tui-")
        .tempdir()
        .unwrap();
    let root = dir.path();
    virtsnap::libvirt::demo_session::write_embed_qemu_conf(root, false).unwrap();
    root_helper(root, vm, "define");
    let d = root.display().to_string();
    (dir, d)
}

fn skip_without_tmux_or_kvm() -> bool {
    if !tmux::available() {
        println!("SKIPPED: tmux is not installed");
        return true;
    }
    if !vmdef::kvm_usable() || !vmdef::qemu_available() {
        println!("SKIPPED: /dev/kvm or qemu-system-x86_64 is missing");
        return true;
    }
    false
}

#[test]
fn tui_console_in_tmux_shows_firmware_output_and_detaches_to_the_same_list() {
    if skip_without_tmux_or_kvm() {
        return;
    }
    let (dir, d) = root_with_vm(TUI_VM);
    let _vm = RootVm(dir.path(), TUI_VM);
    let bin = env!("CARGO_BIN_EXE_virtsnap");
    let t = tmux::Tmux::start(
        "console",
        80,
        24,
        &format!("XDG_STATE_HOME={d}/state {bin} -c 'qemu:///embed?root={d}'"),
    );
    let row = |state: &'static str| {
        move |s: &str| {
            s.lines()
                .any(|l| l.starts_with(TUI_VM) && l.contains(state))
        }
    };
    t.wait_for(Duration::from_secs(20), row("shut off"))
        .unwrap_or_else(|| panic!("no row:\n{}", t.screen()));
    t.keys(&["S"]);
    t.wait_for(Duration::from_secs(20), row("running"))
        .unwrap_or_else(|| panic!("not started:\n{}", t.screen()));
    t.wait_for(Duration::from_secs(5), |s| s.contains("started"));
    let before = t.screen();

    t.keys(&["c"]);
    t.wait_for(Duration::from_secs(10), |s| {
        s.contains("Escape character is ^]")
    })
    .unwrap_or_else(|| panic!("not attached:\n{}", t.screen()));
    let firmware = t.wait_for(Duration::from_secs(30), |s| {
        s.contains("Booting from") || s.contains("bootable")
    });
    let console_screen = t.screen();
    println!("console after {firmware:?}:\n{console_screen}");
    assert!(firmware.is_some(), "no firmware output:\n{console_screen}");

    t.keys(&["C-]"]);
    t.wait_for(Duration::from_secs(15), |s| {
        s.contains("detached from tmux-console's console")
    })
    .unwrap_or_else(|| {
        let log = std::fs::read_to_string(dir.path().join("state/virtsnap/virtsnap.log"));
        panic!("not back:\n{}\nlog: {log:?}", t.screen())
    });
    let after = t.screen();
    let log = std::fs::read_to_string(dir.path().join("state/virtsnap/virtsnap.log"));
    println!("virtsnap log: {log:?}");
    // Everything but the status line (second from the bottom) is as it was.
    let strip = |s: &str| {
        let mut lines: Vec<String> = s.lines().map(str::to_string).collect();
        if lines.len() >= 2 {
            let at = lines.len() - 2;
            lines.remove(at);
        }
        lines
    };
    assert_eq!(
        strip(&before),
        strip(&after),
        "before:\n{before}\nafter:\n{after}"
    );
    assert!(!after.contains("Escape character"), "{after}");
    t.keys(&["q"]);
    // The root is removed next by another process: virtsnap must have let go of it.
    assert!(
        t.wait_exited(Duration::from_secs(30)),
        "virtsnap did not exit"
    );
    drop(t);
}

#[test]
fn cli_console_attaches_and_ctrl_bracket_exits_0() {
    if skip_without_tmux_or_kvm() {
        return;
    }
    const VM: &str = "cli-console";
    let (dir, d) = root_with_vm(VM);
    let _vm = RootVm(dir.path(), VM);
    let bin = env!("CARGO_BIN_EXE_virtsnap");
    let uri = format!("'qemu:///embed?root={d}'");
    let t = tmux::Tmux::start(
        "cli-console",
        80,
        24,
        &format!(
            "export XDG_STATE_HOME={d}/state; {bin} -c {uri} start {VM} && \
             {bin} -c {uri} console {VM}; echo rc=$?; sleep 60"
        ),
    );
    t.wait_for(Duration::from_secs(20), |s| {
        s.contains("Escape character is ^]")
    })
    .unwrap_or_else(|| panic!("not attached:\n{}", t.screen()));
    let firmware = t.wait_for(Duration::from_secs(30), |s| {
        s.contains("Booting from") || s.contains("bootable")
    });
    assert!(firmware.is_some(), "no firmware output:\n{}", t.screen());
    t.keys(&["C-]"]);
    t.wait_for(Duration::from_secs(10), |s| s.contains("rc="))
        .unwrap_or_else(|| panic!("did not exit:\n{}", t.screen()));
    let screen = t.screen();
    assert!(screen.contains("rc=0"), "{screen}");
    drop(t);
}
