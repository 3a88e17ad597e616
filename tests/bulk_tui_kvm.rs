//! Bulk snapshots from the TUI, as a user does it in tmux at 80x24 on real QEMU: three running
//! KVM VMs of different CPU kinds, one memory-blocked (host-passthrough migratable='off', so
//! invtsc). Mark all three, `s`: the table says memory for two and disk-only with the reason
//! for the blocked one; Enter: all three snapshots exist. Then `d` with the same marks deletes
//! that name from all three, and the memory files go with their snapshots.
//! The TUI holds the embedded root while it runs, so the VMs are set up and inspected by this
//! test binary re-run as a helper process between the two TUI sessions.
//! Run: `cargo test --test bulk_tui_kvm -- --nocapture`.

mod helper_process;
mod tmux;

use std::path::{Path, PathBuf};
use std::time::Duration;

use helper_process::{uri, Root};
use virtsnap::libvirt::vmdef;

const BIN: &str = env!("CARGO_BIN_EXE_virtsnap");
const HELPER_ENV: &str = "VIRTSNAP_BULK_TUI_HELPER";
const VMS: [&str; 3] = ["tui-hostmodel", "tui-passthrough-off", "tui-qemu64"];
const BLOCKED: &str = "tui-passthrough-off";
const NAME: &str = "tui-before-patch";

fn run_helper(root: &Path, action: &str) -> String {
    helper_process::run(HELPER_ENV, root, action)
}

/// The helper process: see `helper_process::serve_running_vms`.
#[test]
#[ignore = "run by the other tests as a helper process"]
fn helper() {
    helper_process::serve_running_vms(HELPER_ENV, &VMS);
}

/// (vm, snapshot, state) of every snapshot.
fn snapshots(root: &Path) -> Vec<(String, String, String)> {
    helper_process::parse_snapshots(&run_helper(root, "snapshots"))
}

/// One TUI session on the root at 80x24; `rc` is written when it exits.
struct Session {
    t: tmux::Tmux,
    rc: PathBuf,
}

impl Session {
    fn start(tag: &str, root: &Path, state: &Path) -> Session {
        let rc = state.join(format!("{tag}.rc"));
        let _ = std::fs::remove_file(&rc);
        // Single quotes outside (the pane's shell must not expand $?), double inside.
        let script = format!(
            "XDG_STATE_HOME={} {BIN} -c \"{}\" 2>>{}/stderr; echo $? > {}; sleep 60",
            state.display(),
            uri(root),
            state.display(),
            rc.display()
        );
        let t = tmux::Tmux::start(tag, 80, 24, &format!("bash --norc -c '{script}'"));
        let s = Session { t, rc };
        // Listed, and each row's details read (the memory column is filled in).
        s.wait("the three VMs listed", 30, |s| {
            s.contains("Domains (3)") && s.matches(" ok ").count() >= 2 && s.contains(" NO ")
        });
        s
    }

    fn wait(&self, what: &str, secs: u64, pred: impl Fn(&str) -> bool) -> String {
        self.t
            .wait_for(Duration::from_secs(secs), &pred)
            .unwrap_or_else(|| panic!("{what}: not seen in {secs} s:\n{}", self.t.screen()));
        self.t.screen()
    }

    fn keys(&self, keys: &[&str]) {
        self.t.keys(keys);
        std::thread::sleep(Duration::from_millis(150));
    }

    /// Quits and waits until virtsnap has let go of the root.
    fn quit(self) {
        self.keys(&["q"]);
        for _ in 0..400 {
            if self.rc.exists() {
                let rc = std::fs::read_to_string(&self.rc).unwrap_or_default();
                assert_eq!(rc.trim(), "0", "virtsnap's exit code");
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("virtsnap did not exit after q:\n{}", self.t.screen());
    }
}

/// The table row of `vm` in the bulk dialog.
fn row_of<'a>(screen: &'a str, vm: &str) -> &'a str {
    screen
        .lines()
        .find(|l| l.starts_with('│') && l.contains(&format!(" {vm} ")))
        .unwrap_or_else(|| panic!("no row for {vm}:\n{screen}"))
}

#[test]
fn three_cpu_kinds_snapshotted_and_deleted_from_the_tui_in_one_go() {
    if !tmux::available() {
        println!("SKIPPED: tmux is not installed (tests/setup/install-deps.sh installs it)");
        return;
    }
    if !vmdef::kvm_usable() || !vmdef::qemu_available() {
        println!("SKIPPED: /dev/kvm or qemu-system-x86_64 is missing");
        return;
    }
    let dir = std::env::temp_dir().join(format!("virtsnap-bulk-tui-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    virtsnap::libvirt::demo_session::write_embed_qemu_conf(&dir, false).unwrap();
    let root = Root {
        path: dir,
        env: HELPER_ENV,
    };
    let state = tempfile::tempdir().unwrap();
    run_helper(&root.path, "start");

    // Create: mark all three (Space marks and moves down), s.
    let s = Session::start("bulk-tui-create", &root.path, state.path());
    s.keys(&["Space", "Space", "Space"]);
    s.wait("three marks", 5, |s| s.contains("3 marked"));
    s.keys(&["s"]);
    let screen = s.wait("every VM planned", 30, |s| {
        s.contains("New snapshot of 3 marked VMs") && !s.contains("reading...")
    });
    for vm in VMS {
        let row = row_of(&screen, vm);
        if vm == BLOCKED {
            assert!(row.contains("disk-only"), "{row}");
            assert!(row.contains("disk-only: "), "the reason: {row}");
        } else {
            assert!(row.contains("memory"), "{row}");
        }
    }
    assert!(
        screen.contains("3 VMs: 2 with memory, 1 disk-only"),
        "{screen}"
    );
    // The blocked one's reason in full under the table: the rule's words.
    s.keys(&["Down"]);
    let screen = s.wait("the blocked VM's details", 5, |s| {
        s.contains(&format!("── {BLOCKED} "))
    });
    assert!(screen.contains("host-passthrough"), "{screen}");
    println!("The bulk dialog at 80x24:\n{screen}");
    // One name for all three.
    s.keys(&["BSpace"; 20]);
    s.keys(&["-l", NAME]);
    s.wait("the name typed", 5, |s| s.contains(&format!("e.g. {NAME}")));
    s.keys(&["Enter"]);
    let results = s.wait("the results table", 120, |s| s.contains("3 VMs: 3 ok"));
    println!("The results:\n{results}");
    s.keys(&["Escape"]);
    s.quit();

    let snaps = snapshots(&root.path);
    assert_eq!(snaps.len(), 3, "{snaps:?}");
    for (vm, snap, state) in &snaps {
        assert_eq!(snap, NAME);
        let want = if vm == BLOCKED {
            "disk-snapshot"
        } else {
            "running"
        };
        assert_eq!(state, want, "{vm}");
    }

    // Delete: the same marks, d, the name (Tab offers it: all three hold it).
    let s = Session::start("bulk-tui-delete", &root.path, state.path());
    s.keys(&["Space", "Space", "Space"]);
    s.keys(&["d"]);
    s.wait("the names read", 30, |s| {
        s.contains(&format!("{NAME} (3 of 3)"))
    });
    s.keys(&["Tab"]);
    let screen = s.wait("three plans", 10, |s| s.contains("3 VMs: 3 delete"));
    for vm in VMS {
        assert!(!row_of(&screen, vm).contains("REFUSED"), "{screen}");
    }
    println!("The bulk delete dialog at 80x24:\n{screen}");
    s.keys(&["Enter"]);
    let results = s.wait("the delete results", 120, |s| s.contains("3 VMs: 3 ok"));
    println!("The results:\n{results}");
    s.keys(&["Escape"]);
    s.quit();

    assert_eq!(snapshots(&root.path), Vec::new());
    let mems: Vec<_> = std::fs::read_dir(root.path.join("disks"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".mem"))
        .collect();
    assert!(
        mems.is_empty(),
        "memory files are deleted with their snapshots"
    );
}
