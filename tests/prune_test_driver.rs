//! `virtsnap snapshot prune` through the real binary against libvirt's test driver: which
//! snapshots are candidates, what --dry-run prints, what a real run reports, and the
//! benchmark over 100 VMs with 50 snapshots each. Retention itself is unit-tested in
//! src/model/retention_tests.rs; deletes on real QEMU in tests/prune_kvm.rs.

mod testnode;

use std::time::Instant;

use serde_json::Value;
use testnode::{run_virtsnap, write_node, NodeCpu, NodeDomain};

const DAY: u64 = 86_400;
/// 2026-11-29 02:00:00 UTC.
const NEWEST: u64 = 1_795_917_600;

/// A running VM with a hand-made root snapshot and `n` nightly ones after it, oldest first.
fn nightly_vm(name: &str, n: u64) -> NodeDomain {
    let mut d = NodeDomain::new(name, 1, NodeCpu::HostModel);
    d.snapshots
        .push(("before-upgrade".into(), None, NEWEST - (n + 5) * DAY));
    let mut parent = "before-upgrade".to_string();
    for i in (0..n).rev() {
        let t = NEWEST - i * DAY;
        let snap = format!("nightly-{t}");
        d.snapshots.push((snap.clone(), Some(parent), t));
        parent = snap;
    }
    d
}

fn entries(vm: &Value) -> &Vec<Value> {
    vm["detail"]["entries"].as_array().unwrap()
}

#[test]
fn dry_run_says_what_is_kept_and_removed_and_never_touches_other_names() {
    let dir = tempfile::tempdir().unwrap();
    let (_, uri) = write_node(dir.path(), &[nightly_vm("web-1", 10)]);
    let args = [
        "-c",
        &uri,
        "snapshot",
        "prune",
        "web-1",
        "--prefix",
        "nightly-",
        "--keep-daily",
        "3",
        "--keep-last",
        "1",
        "--dry-run",
    ];
    let out = run_virtsnap(&args);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.starts_with(
            "web-1: prefix 'nightly-', --keep-last 1 --keep-daily 3: 10 candidates, 3 kept, \
             7 would be removed (dry run)"
        ),
        "{text}"
    );
    assert!(text.contains("kept by last 1 of 1, daily "), "{text}");
    assert!(text.contains("no rule keeps it: last keeps only the 1 newest snapshots; daily keeps only the 3 newest days"), "{text}");
    assert!(
        !text.contains("before-upgrade  "),
        "hand-made snapshots are no candidates: {text}"
    );

    let mut json_args = args.to_vec();
    json_args.push("--json");
    let out = run_virtsnap(&json_args);
    let list: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let e = entries(&list[0]);
    assert_eq!(e.len(), 10);
    assert_eq!(e.iter().filter(|e| e["action"] == "keep").count(), 3);
    assert_eq!(
        e.iter().filter(|e| e["action"] == "would_remove").count(),
        7
    );
    assert_eq!(e[0]["kept_by"][0]["rule"], "last");
    assert!(e[9]["detail"]
        .as_str()
        .unwrap()
        .starts_with("Deletes 1 snapshot"));
}

#[test]
fn a_real_prune_removes_oldest_first_and_reports_each() {
    let dir = tempfile::tempdir().unwrap();
    let (_, uri) = write_node(dir.path(), &[nightly_vm("web-1", 6), nightly_vm("db-1", 2)]);
    let out = run_virtsnap(&[
        "-c",
        &uri,
        "snapshot",
        "prune",
        "--match",
        "*-1",
        "--prefix",
        "nightly-",
        "--keep-last",
        "2",
        "--json",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let list: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list.len(), 2);
    let web = list.iter().find(|v| v["domain"] == "web-1").unwrap();
    let removed: Vec<&str> = entries(web)
        .iter()
        .filter(|e| e["action"] == "removed")
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(removed.len(), 4);
    // The steps on stderr show the order: oldest first.
    let steps: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("deleting nightly-"))
        .collect();
    let mut sorted = steps.clone();
    sorted.sort();
    assert_eq!(steps.len(), 4, "{stderr}");
    assert_eq!(steps, sorted, "oldest first");
    let db = list.iter().find(|v| v["domain"] == "db-1").unwrap();
    assert!(entries(db).iter().all(|e| e["action"] == "keep"));
}

#[test]
fn prune_needs_a_rule_and_a_prefix() {
    let dir = tempfile::tempdir().unwrap();
    let (_, uri) = write_node(dir.path(), &[nightly_vm("web-1", 2)]);
    let no_rule = run_virtsnap(&["-c", &uri, "snapshot", "prune", "web-1", "--prefix", "n"]);
    assert_eq!(no_rule.status.code(), Some(2));
    let empty = run_virtsnap(&[
        "-c",
        &uri,
        "snapshot",
        "prune",
        "web-1",
        "--prefix",
        "",
        "--keep-last",
        "1",
    ]);
    assert_eq!(empty.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&empty.stderr).contains("hand-made"));
}

/// Run: `cargo test --release --test prune_test_driver -- --ignored --nocapture bench`.
#[test]
#[ignore = "benchmark: prints figures"]
fn bench_prune_dry_run_100_vms_50_snapshots() {
    let dir = tempfile::tempdir().unwrap();
    let vms: Vec<NodeDomain> = (0..100)
        .map(|i| nightly_vm(&format!("vm-{i:03}"), 49))
        .collect();
    let (_, uri) = write_node(dir.path(), &vms);
    let args = [
        "-c",
        &uri,
        "snapshot",
        "prune",
        "--all",
        "--prefix",
        "nightly-",
        "--keep-daily",
        "7",
        "--keep-weekly",
        "4",
        "--keep-monthly",
        "6",
        "--dry-run",
        "--json",
    ];
    let mut times = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let out = run_virtsnap(&args);
        times.push(t.elapsed().as_secs_f64());
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let list: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(list.len(), 100);
        assert!(list.iter().all(|v| entries(v).len() == 49));
    }
    times.sort_by(f64::total_cmp);
    println!(
        "prune --dry-run, 100 VMs x 50 snapshots (49 candidates each), whole process: \
         min {:.3} s, median {:.3} s, max {:.3} s",
        times[0], times[2], times[4]
    );
}
