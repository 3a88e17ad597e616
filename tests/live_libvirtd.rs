//! virtsnap keeps up with a real libvirtd and survives it: a VM started, stopped, defined or
//! undefined through the API (as another tool would) changes the row on screen within a
//! second, and killing and restarting the daemon shows the disconnected state and then the
//! live list again, without virtsnap exiting. Needs root (to run libvirtd) and KVM.

mod tmux;

use std::process::Command;
use std::time::Duration;

use virt::connect::Connect;
use virtsnap::libvirt::vmdef::{kvm_usable, TinyCpu, TinyVm};

const BIN: &str = env!("CARGO_BIN_EXE_virtsnap");
const URI: &str = "qemu:///system";

fn connect() -> Option<Connect> {
    Connect::open(Some(URI)).ok()
}

/// Starts virtlogd and libvirtd (as the CI does) unless they answer already. A libvirtd that
/// is still shutting down holds its pidfile and makes a new one exit at once, so the start is
/// repeated while no libvirtd process is left.
fn ensure_libvirtd() -> Option<Connect> {
    if let Some(c) = connect() {
        return Some(c);
    }
    let _ = Command::new("virtlogd").arg("-d").status();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while std::time::Instant::now() < deadline {
        if !libvirtd_running() {
            let _ = Command::new("libvirtd").arg("-d").status();
        }
        for _ in 0..20 {
            if let Some(c) = connect() {
                return Some(c);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    None
}

fn libvirtd_running() -> bool {
    Command::new("pgrep")
        .args(["-x", "libvirtd"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Kills libvirtd (as a crash or an admin's restart would) and waits until it is gone, which
/// takes longer while it is serving a call.
fn kill_libvirtd() {
    let killed = Command::new("pkill")
        .args(["-x", "libvirtd"])
        .status()
        .unwrap();
    assert!(killed.success(), "libvirtd was not running");
    let t = std::time::Instant::now();
    while libvirtd_running() && t.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(50));
    }
    eprintln!("libvirtd exited {:?} after SIGTERM", t.elapsed());
}

/// Whether the header says virtsnap is connected: neither disconnected nor still connecting
/// (while it connects, the rows on screen are the last ones read before the daemon went).
fn connected(screen: &str) -> bool {
    !screen.contains("DISCONNECTED") && !screen.contains("connecting...")
}

/// The screen line of domain `name`, if shown.
fn row(screen: &str, name: &str) -> Option<String> {
    screen
        .lines()
        .find(|l| l.starts_with(&format!("{name} ")))
        .map(str::to_string)
}

struct Cleanup(String);

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Some(conn) = ensure_libvirtd() {
            if let Ok(d) = conn.lookup_domain_by_name(&self.0) {
                let _ = d.destroy();
                let _ = d.undefine();
            }
        }
    }
}

#[test]
fn follows_libvirtd_events_and_survives_a_daemon_restart() {
    if !tmux::available() || !kvm_usable() {
        eprintln!("SKIPPED: needs tmux and a usable /dev/kvm");
        return;
    }
    let Some(conn) = ensure_libvirtd() else {
        eprintln!("SKIPPED: libvirtd could not be started (not root?)");
        return;
    };
    let name = format!("vs-live-{}", std::process::id());
    let _cleanup = Cleanup(name.clone());
    let xml = TinyVm::new(&name, TinyCpu::HostModel)
        .with_nested_host_workarounds()
        .to_xml();

    let state = tempfile::tempdir().unwrap();
    let t = tmux::Tmux::start(
        "live",
        120,
        30,
        &format!("XDG_STATE_HOME={} {BIN} -c {URI}", state.path().display()),
    );
    t.wait_for(Duration::from_secs(10), |s| s.contains("Domains ("))
        .unwrap_or_else(|| panic!("no list:\n{}", t.screen()));

    let within = Duration::from_secs(1);
    let dom = conn.define_domain_xml(&xml).expect("define");
    let took = t
        .wait_for(within, |s| {
            row(s, &name).is_some_and(|r| r.contains("shut off"))
        })
        .unwrap_or_else(|| panic!("defined VM not shown within 1 s:\n{}", t.screen()));
    eprintln!("defined elsewhere -> on screen in {took:?}");

    dom.create().expect("start");
    let took = t
        .wait_for(within, |s| {
            row(s, &name).is_some_and(|r| r.contains("running"))
        })
        .unwrap_or_else(|| panic!("start not shown within 1 s:\n{}", t.screen()));
    eprintln!("started elsewhere -> on screen in {took:?}");

    dom.destroy().expect("destroy");
    let took = t
        .wait_for(within, |s| {
            row(s, &name).is_some_and(|r| r.contains("shut off"))
        })
        .unwrap_or_else(|| panic!("stop not shown within 1 s:\n{}", t.screen()));
    eprintln!("stopped elsewhere -> on screen in {took:?}");

    // The daemon goes away: the header says so and the last list stays.
    drop(dom);
    drop(conn);
    kill_libvirtd();
    let took = t
        .wait_for(Duration::from_secs(10), |s| {
            s.contains("[DISCONNECTED]") && row(s, &name).is_some()
        })
        .unwrap_or_else(|| panic!("no disconnected state:\n{}", t.screen()));
    eprintln!("daemon gone -> disconnected header in {took:?}");
    assert!(t.screen().contains("reconnecting in"), "{}", t.screen());

    let conn = ensure_libvirtd().expect("libvirtd restarts");
    let took = t
        .wait_for(Duration::from_secs(40), |s| {
            connected(s) && row(s, &name).is_some()
        })
        .unwrap_or_else(|| panic!("did not reconnect:\n{}", t.screen()));
    eprintln!("daemon restarted -> live list again in {took:?}");

    // A job in flight when the daemon goes reports that its outcome is unknown, and the row is
    // re-read after the reconnect. A graceful shutdown of a guest without an OS waits for the
    // whole timeout, so the daemon is certainly killed while the job runs.
    let dom = conn.lookup_domain_by_name(&name).expect("lookup");
    dom.create().expect("start again");
    t.wait_for(within, |s| {
        row(s, &name).is_some_and(|r| r.contains("running"))
    })
    .unwrap_or_else(|| panic!("second start not shown within 1 s:\n{}", t.screen()));
    t.keys(&[":"]);
    t.keys(&["-l", &name]);
    // A graceful shutdown of the selected row asks nothing: the guest decides.
    t.keys(&["Enter", "D"]);
    t.wait_for(Duration::from_secs(10), |s| s.contains("to shut down ("))
        .unwrap_or_else(|| panic!("shutdown job not running:\n{}", t.screen()));
    drop(dom);
    drop(conn);
    kill_libvirtd();
    let took = t
        .wait_for(Duration::from_secs(10), |s| {
            s.contains("outcome is unknown")
        })
        .unwrap_or_else(|| panic!("no unknown outcome:\n{}", t.screen()));
    eprintln!(
        "daemon gone under a job -> outcome unknown on screen in {took:?}:\n{}",
        t.screen()
    );
    let conn = ensure_libvirtd().expect("libvirtd restarts");
    // The guest ignored the ACPI request, so the re-read row must say it still runs.
    t.wait_for(Duration::from_secs(40), |s| {
        connected(s) && row(s, &name).is_some_and(|r| r.contains("running"))
    })
    .unwrap_or_else(|| panic!("row not re-read after the reconnect:\n{}", t.screen()));
    let dom = conn.lookup_domain_by_name(&name).expect("lookup");
    // A destroy this soon after the restart can race libvirtd's reconnect to QEMU: QEMU dies,
    // the reconnect stops the domain first (reason "daemon") and the destroy reports "domain is
    // not running" (measured on libvirt 11.3). The VM is off either way, which is what counts.
    if let Err(e) = dom.destroy() {
        assert!(
            !dom.is_active().expect("is_active"),
            "destroy failed and the VM still runs: {e}"
        );
    }

    // Still live after the reconnect: events were registered again.
    dom.undefine().expect("undefine");
    t.wait_for(within, |s| row(s, &name).is_none())
        .unwrap_or_else(|| panic!("undefine not shown within 1 s:\n{}", t.screen()));
    t.keys(&["q"]);
}
