//! `virtsnap snapshot create` as a script runs it, against a real KVM VM in an embedded QEMU
//! root. The binary and this test cannot hold the same embedded root at once (one process per
//! root), so the VM is set up and torn down by this test binary re-run as a helper process.
//! Run: `cargo test --test snapshot_create_cli -- --nocapture`.

mod helper_process;

use std::path::Path;
use std::process::{Command, Output};

use helper_process::{uri, Root};
use virtsnap::libvirt::vmdef::{self, TinyCpu};

const HELPER_ENV: &str = "VIRTSNAP_CLI_HELPER";
const VM: &str = "cli-hp";

fn run_helper(root: &Path, action: &str) -> String {
    helper_process::run(HELPER_ENV, root, action)
}

/// The helper process: `start` defines and starts the VM, `count` prints its snapshot count,
/// `teardown` destroys and undefines it.
#[test]
#[ignore = "run by the other tests as a helper process"]
fn helper() {
    let Some((action, root, conn)) = helper_process::request(HELPER_ENV) else {
        return;
    };
    match action.as_str() {
        "start" => {
            let cpu = TinyCpu::HostPassthrough {
                migratable: Some(false),
            };
            let dom = helper_process::define_vm(&conn, &root, VM, cpu);
            dom.create().expect("start");
        }
        "count" => {
            let dom = conn.lookup_domain_by_name(VM).expect("lookup");
            println!("SNAPSHOTS={}", dom.num_snapshots(0).expect("count"));
        }
        "teardown" => helper_process::teardown_vm(&conn, VM),
        other => panic!("unknown helper action {other}"),
    }
}

fn virtsnap(root: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_virtsnap"))
        .arg("-c")
        .arg(uri(root))
        .args(args)
        .output()
        .expect("run virtsnap")
}

fn count(root: &Path) -> u32 {
    let out = run_helper(root, "count");
    // libtest prints "test helper ... " on the same line before the helper's own output.
    out.split("SNAPSHOTS=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count in: {out}"))
}

#[test]
fn create_refuses_blocked_memory_and_bad_names_then_creates_a_disk_only_snapshot() {
    if !vmdef::kvm_usable() || !vmdef::qemu_available() {
        println!("SKIPPED: /dev/kvm or qemu-system-x86_64 is missing");
        return;
    }
    let dir = std::env::temp_dir().join(format!("virtsnap-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    virtsnap::libvirt::demo_session::write_embed_qemu_conf(&dir, false).unwrap();
    let root = Root {
        path: dir,
        env: HELPER_ENV,
    };
    run_helper(&root.path, "start");

    let out = virtsnap(
        &root.path,
        &["snapshot", "create", VM, "with-mem", "--memory"],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("Memory snapshots are not supported with host-passthrough CPU.")
            && stderr.contains("Options:\n1. Create a disk-only snapshot"),
        "{stderr}"
    );

    // libvirt's own refusals ('/', a leading '.'), and virtsnap's concrete ones (a comma breaks
    // libvirt's qemu-img call, digits only are taken for QEMU IDs, control characters).
    for bad in ["a/b", ".dot", "a,b", "1", "tab\there", ""] {
        let out = virtsnap(&root.path, &["snapshot", "create", VM, "--", bad]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{bad:?}: {stderr}");
        assert!(stderr.contains("snapshot name"), "{bad:?}: {stderr}");
    }
    let out = virtsnap(&root.path, &["snapshot", "create", VM, "q", "--quiesce"]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(count(&root.path), 0, "refusals changed nothing");

    let description = "<x> & \"y\" ]]>\nsecond line";
    let out = virtsnap(
        &root.path,
        &[
            "snapshot",
            "create",
            VM,
            "nightly+1",
            "--description",
            description,
            "--json",
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(json["name"], "nightly+1");
    assert_eq!(json["location"], "external");
    assert_eq!(json["memory"], false);
    let overlay = json["files"][0].as_str().expect("overlay file");
    assert!(overlay.ends_with("cli-hp.nightly+1"), "{overlay}");
    assert!(Path::new(overlay).exists());
    assert_eq!(count(&root.path), 1);

    // The default name is the domain plus a time stamp.
    let out = virtsnap(&root.path, &["snapshot", "create", VM]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.starts_with(&format!("created snapshot '{VM}-20")),
        "{stdout}"
    );
    // A name that exists is refused before libvirt is asked.
    let out = virtsnap(&root.path, &["snapshot", "create", VM, "nightly+1"]);
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(count(&root.path), 2);
}

fn tmux(args: &[&str]) -> Output {
    Command::new("tmux").args(args).output().expect("run tmux")
}

fn screen(session: &str) -> String {
    String::from_utf8_lossy(&tmux(&["capture-pane", "-p", "-t", session]).stdout).into_owned()
}

/// Waits up to `secs` for `text` on the screen.
fn wait_for(session: &str, text: &str, secs: u64) -> String {
    let until = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        let shown = screen(session);
        if shown.contains(text) || std::time::Instant::now() > until {
            return shown;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

/// Kills the tmux session even when an assertion failed.
struct Session(String);

impl Drop for Session {
    fn drop(&mut self) {
        let _ = tmux(&["kill-session", "-t", &self.0]);
    }
}

#[test]
fn the_dialog_creates_a_disk_only_snapshot_in_a_real_terminal() {
    if !vmdef::kvm_usable() || !vmdef::qemu_available() {
        println!("SKIPPED: /dev/kvm or qemu-system-x86_64 is missing");
        return;
    }
    if Command::new("tmux").arg("-V").output().is_err() {
        println!("SKIPPED: tmux is not installed");
        return;
    }
    let dir = std::env::temp_dir().join(format!("virtsnap-tmux-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    virtsnap::libvirt::demo_session::write_embed_qemu_conf(&dir, false).unwrap();
    let root = Root {
        path: dir,
        env: HELPER_ENV,
    };
    run_helper(&root.path, "start");
    let name = format!("vs-create-{}", std::process::id());
    let command = format!(
        "{} --ascii -c '{}'",
        env!("CARGO_BIN_EXE_virtsnap"),
        uri(&root.path)
    );
    let started = tmux(&[
        "new-session",
        "-d",
        "-s",
        &name,
        "-x",
        "80",
        "-y",
        "24",
        &command,
    ]);
    assert!(started.status.success(), "{started:?}");
    {
        let session = Session(name.clone());
        let shown = wait_for(&session.0, "NO", 30);
        assert!(shown.contains(VM), "{shown}");
        tmux(&["send-keys", "-t", &session.0, "s"]);
        let shown = wait_for(&session.0, "Include memory state", 10);
        assert!(
            shown.contains("[ ] Include memory state (disabled)"),
            "{shown}"
        );
        assert!(shown.contains("Memory snapshots are not supported with host-passthrough CPU."));
        // Replace the prefilled name, add a description, create.
        for _ in 0..40 {
            tmux(&["send-keys", "-t", &session.0, "BSpace"]);
        }
        tmux(&["send-keys", "-t", &session.0, "-l", "from-tmux"]);
        tmux(&["send-keys", "-t", &session.0, "Tab"]);
        tmux(&["send-keys", "-t", &session.0, "-l", "typed <in> tmux"]);
        let shown = wait_for(&session.0, "from-tmux", 5);
        assert!(
            shown.contains("cli-hp.from-tmux"),
            "the summary names the overlay: {shown}"
        );
        tmux(&["send-keys", "-t", &session.0, "Enter"]);
        let shown = wait_for(&session.0, "created snapshot 'from-tmux'", 30);
        assert!(
            shown.contains("created snapshot 'from-tmux' of cli-hp (external, disks only)"),
            "{shown}"
        );
        tmux(&["send-keys", "-t", &session.0, "q"]);
        // The session ends with virtsnap; the helper opens the root next, which needs virtsnap
        // to have let go of it.
        let t = std::time::Instant::now();
        while tmux(&["has-session", "-t", &session.0]).status.success()
            && t.elapsed() < std::time::Duration::from_secs(30)
        {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
    assert_eq!(count(&root.path), 1);
}
