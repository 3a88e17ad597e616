//! Bulk `snapshot create` / `snapshot delete` selection, output and exit codes, through the
//! real binary against libvirt's test driver (each run reads the node file afresh). The
//! snapshot semantics themselves are proven on real QEMU in tests/bulk_cli_kvm.rs.

mod testnode;

use serde_json::Value;
use testnode::{mixed_domains, run_virtsnap, write_node};

fn node() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let (_, uri) = write_node(dir.path(), &mixed_domains());
    (dir, uri)
}

fn json(out: &std::process::Output) -> Vec<Value> {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

#[test]
fn delete_by_match_and_all_reports_each_vm_and_absent_ones_do_not_fail() {
    let (_d, uri) = node();
    let out = run_virtsnap(&[
        "-c",
        &uri,
        "snapshot",
        "delete",
        "before-upgrade",
        "--all",
        "--json",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let list = json(&out);
    assert_eq!(list.len(), 8, "every domain has a row");
    let app = list
        .iter()
        .find(|e| e["domain"] == "app-host-model")
        .unwrap();
    assert_eq!(app["outcome"], "ok", "{app}");
    assert!(app["message"]
        .as_str()
        .unwrap()
        .contains("deleted snapshot 'before-upgrade'"));
    assert_eq!(app["detail"]["snapshot"], "before-upgrade");
    let absent = list.iter().filter(|e| e["outcome"] == "absent").count();
    assert_eq!(absent, 7);

    let dry = run_virtsnap(&[
        "-c",
        &uri,
        "snapshot",
        "delete",
        "after-upgrade",
        "--match",
        "app-*",
        "--dry-run",
    ]);
    assert_eq!(dry.status.code(), Some(0));
    let text = String::from_utf8_lossy(&dry.stdout);
    assert!(
        text.starts_with("app-host-model: Deletes 1 snapshot: after-upgrade."),
        "{text}"
    );
}

#[test]
fn one_failing_vm_does_not_stop_the_others_and_sets_exit_1() {
    let (_d, uri) = node();
    let out = run_virtsnap(&[
        "-c",
        &uri,
        "snapshot",
        "delete",
        "before-upgrade",
        "--domain",
        "no-such-vm",
        "--domain",
        "app-host-model",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stdout.contains("no-such-vm: FAILED: "), "{stdout}");
    assert!(
        stdout.contains("app-host-model: deleted snapshot 'before-upgrade'"),
        "the VM after the failure ran: {stdout}"
    );
    assert!(
        stderr.contains("1 of 2 domains done; 0 refused, 1 failed"),
        "{stderr}"
    );
}

#[test]
fn refusals_exit_3_and_usage_errors_exit_2() {
    let (_d, uri) = node();
    let none = run_virtsnap(&["-c", &uri, "snapshot", "delete", "x", "--match", "zz*"]);
    assert_eq!(none.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&none.stderr).contains("--match \"zz*\" matches no domain"));
    let nowhere = run_virtsnap(&["-c", &uri, "snapshot", "delete", "nope", "--all"]);
    assert_eq!(nowhere.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&nowhere.stderr).contains("has a snapshot named 'nope'"));
    // Two arguments are DOMAIN NAME; with --all that is a mistake, not a guess.
    let two = run_virtsnap(&["-c", &uri, "snapshot", "delete", "a", "b", "--all"]);
    assert_eq!(two.status.code(), Some(2));
    let one = run_virtsnap(&["-c", &uri, "snapshot", "delete", "app-host-model"]);
    assert_eq!(one.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&one.stderr).contains("which snapshot?"));
    let create_pos = run_virtsnap(&["-c", &uri, "snapshot", "create", "--all", "snap"]);
    assert_eq!(create_pos.status.code(), Some(2));
    // The one-VM form is unchanged.
    let legacy = run_virtsnap(&[
        "-c",
        &uri,
        "snapshot",
        "delete",
        "app-host-model",
        "before-upgrade",
        "--dry-run",
    ]);
    assert_eq!(legacy.status.code(), Some(0));
}

#[test]
fn bulk_create_dry_run_says_what_each_vm_gets_or_why_not() {
    // The test driver's domains have no disks: running ones can only give memory state, and
    // shut-off ones nothing at all; each says so.
    let (_d, uri) = node();
    let out = run_virtsnap(&[
        "-c",
        &uri,
        "snapshot",
        "create",
        "--all",
        "--name",
        "before-patch",
        "--memory",
        "--dry-run",
        "--json",
    ]);
    let list = json(&out);
    assert_eq!(list.len(), 8);
    let entry = |name: &str| list.iter().find(|e| e["domain"] == name).unwrap();
    // Running with invtsc: memory is blocked, and the test driver takes no disk-only snapshot
    // of a running domain, so nothing is left: refused, with libvirt's rule.
    let blocked = entry("rt-custom-invtsc");
    assert_eq!(blocked["outcome"], "refused", "{blocked}");
    assert!(
        blocked["message"]
            .as_str()
            .unwrap()
            .contains("must include the memory state"),
        "{blocked}"
    );
    // Shut off and without disks: the test driver keeps snapshot metadata only, and takes it
    // (measured), so it is planned, not refused for want of a disk.
    let legacy = entry("legacy-qemu64");
    assert_eq!(legacy["outcome"], "ok", "{legacy}");
    let code = out.status.code();
    assert!(code == Some(3) || code == Some(0), "{code:?}");
    let refused = list.iter().any(|e| e["outcome"] == "refused");
    assert_eq!(code == Some(3), refused);
}
