//! Bulk create and delete from the CLI on real QEMU: three running KVM VMs of different CPU
//! kinds, one of them memory-blocked (host-passthrough migratable='off': invtsc), snapshotted
//! with --memory in one go (the blocked one gets a disk-only snapshot and the reason), their
//! space read back (`snapshot list --json`, `list --json`), then the snapshot deleted from all
//! of them in one go. The binary and this test cannot hold one embedded root at once, so the
//! VMs are set up and inspected by this test binary re-run as a helper process.
//! Run: `cargo test --test bulk_cli_kvm -- --nocapture`.

mod helper_process;

use std::path::Path;
use std::process::{Command, Output};

use helper_process::{uri, Root};
use serde_json::Value;
use virtsnap::libvirt::vmdef;

const HELPER_ENV: &str = "VIRTSNAP_BULK_HELPER";
const VMS: [&str; 3] = ["bulk-hostmodel", "bulk-passthrough-off", "bulk-qemu64"];

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

fn virtsnap(root: &Path, state: &Path, args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_virtsnap"))
        .arg("-c")
        .arg(uri(root))
        .args(args)
        .env("XDG_STATE_HOME", state)
        .output()
        .unwrap();
    println!(
        "$ virtsnap {}\n{}{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).expect("JSON on stdout")
}

fn row<'a>(list: &'a Value, key: &str, name: &str) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|e| e[key] == name)
        .unwrap_or_else(|| panic!("{name} missing"))
}

#[test]
fn three_cpu_kinds_snapshotted_with_memory_and_deleted_in_one_go() {
    if !vmdef::kvm_usable() || !vmdef::qemu_available() {
        println!("SKIPPED: /dev/kvm or qemu-system-x86_64 is missing");
        return;
    }
    let dir = std::env::temp_dir().join(format!("virtsnap-bulk-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    virtsnap::libvirt::demo_session::write_embed_qemu_conf(&dir, false).unwrap();
    let root = Root {
        path: dir,
        env: HELPER_ENV,
    };
    let state = tempfile::tempdir().unwrap();
    let st = state.path();
    run_helper(&root.path, "start");

    let out = virtsnap(
        &root.path,
        st,
        &[
            "snapshot",
            "create",
            "--match",
            "bulk-*",
            "--name",
            "before-patch",
            "--memory",
            "--json",
        ],
    );
    assert_eq!(out.status.code(), Some(0));
    let created = json(&out);
    for name in VMS {
        let r = row(&created, "domain", name);
        assert_eq!(r["outcome"], "ok", "{r}");
        let blocked = name == "bulk-passthrough-off";
        assert_eq!(r["detail"]["memory"], !blocked, "{r}");
        if blocked {
            let note = r["detail"]["notes"][0].as_str().unwrap();
            assert!(note.starts_with("disk-only: "), "{note}");
            assert!(
                note.contains("host-passthrough"),
                "the reason is named: {note}"
            );
        }
    }
    let snaps = snapshots(&root.path);
    assert_eq!(snaps.len(), 3, "{snaps:?}");
    for (vm, snap, state) in &snaps {
        assert_eq!(snap, "before-patch");
        let want = if vm == "bulk-passthrough-off" {
            "disk-snapshot"
        } else {
            "running"
        };
        assert_eq!(state, want, "{vm}");
    }

    // Space: an external memory snapshot holds its memory file and its overlay.
    let list = virtsnap(
        &root.path,
        st,
        &["snapshot", "list", "bulk-hostmodel", "--json"],
    );
    let listed = json(&list);
    let s = &listed[0];
    let size = s["size_bytes"].as_u64().expect("known on a local host");
    let parts = s["size_parts"].as_array().unwrap();
    let sum: u64 = parts.iter().map(|p| p["bytes"].as_u64().unwrap()).sum();
    assert_eq!(size, sum, "{s}");
    let mem = parts.iter().find(|p| p["what"] == "memory state").unwrap();
    // A tiny idle guest's migration stream is small (zero pages are skipped), but not empty.
    assert!(mem["bytes"].as_u64().unwrap() > 64 << 10, "{s}");
    assert_eq!(s["size_known"], "measured: file allocation on this host");
    let text = virtsnap(
        &root.path,
        st,
        &["snapshot", "list", "bulk-passthrough-off"],
    );
    assert!(String::from_utf8_lossy(&text.stdout).contains("SIZE"));
    let vms = virtsnap(&root.path, st, &["list", "--json"]);
    let vms = json(&vms);
    for name in VMS {
        let space = &row(&vms, "name", name)["space"];
        assert!(space["snapshot_bytes"].as_u64().is_some(), "{space}");
        assert_eq!(space["oldest_snapshot"], "before-patch");
        assert_eq!(space["chain_overlays"], 1, "{space}");
        assert_eq!(space["deep_chain"], false);
        assert_eq!(space["stale_snapshots"], Value::Array(vec![]));
    }

    // One VM that does not exist: the others still get theirs, and the exit code says 1.
    let mixed = virtsnap(
        &root.path,
        st,
        &[
            "snapshot",
            "create",
            "--domain",
            "bulk-qemu64",
            "--domain",
            "bulk-nope",
            "--name",
            "extra",
        ],
    );
    assert_eq!(mixed.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&mixed.stdout).contains("bulk-nope: FAILED: "));
    assert_eq!(snapshots(&root.path).len(), 4, "bulk-qemu64 got 'extra'");

    let del = virtsnap(
        &root.path,
        st,
        &["snapshot", "delete", "before-patch", "--all", "--json"],
    );
    assert_eq!(del.status.code(), Some(0));
    let deleted = json(&del);
    for name in VMS {
        assert_eq!(row(&deleted, "domain", name)["outcome"], "ok");
    }
    let del = virtsnap(
        &root.path,
        st,
        &["snapshot", "delete", "extra", "--match", "bulk-*"],
    );
    assert_eq!(
        del.status.code(),
        Some(0),
        "the VMs without 'extra' have nothing to do"
    );
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
