//! `virtsnap list` against libvirt's test driver: a generated host with every CPU mode and
//! state, read through the real binary.

mod testnode;

use std::process::Command;

use serde_json::Value;
use testnode::{mixed_domains, write_node};

fn virtsnap(args: &[&str]) -> std::process::Output {
    testnode::run_virtsnap(args)
}

fn entry<'a>(list: &'a [Value], name: &str) -> &'a Value {
    list.iter()
        .find(|e| e["name"] == name)
        .unwrap_or_else(|| panic!("{name} missing"))
}

#[test]
fn list_json_reports_modes_states_and_markers() {
    let dir = tempfile::tempdir().unwrap();
    let (_, uri) = write_node(dir.path(), &mixed_domains());
    let out = virtsnap(&["-c", &uri, "list", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list.len(), 8);
    let names: Vec<&str> = list.iter().map(|e| e["name"].as_str().unwrap()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "rows are in name order");

    let web = entry(&list, "web-passthrough");
    assert_eq!(web["state"], "running");
    assert_eq!(web["cpu"]["mode"], "host-passthrough");
    assert_eq!(web["cpu"]["migratable"], false);
    assert_eq!(web["cpu"]["model"], Value::Null);
    assert_eq!(web["cpu"]["tsc_frequency_hz"], Value::Null);
    assert_eq!(web["vcpus"], 2);
    assert_eq!(web["memory_kib"], 131072);
    assert!(web["uuid"].as_str().unwrap().len() == 36);

    let pinned = entry(&list, "db-tsc-pinned");
    assert_eq!(pinned["cpu"]["tsc_frequency_hz"], 2_592_000_000u64);

    let hm = entry(&list, "app-host-model");
    assert_eq!(hm["cpu"]["mode"], "host-model");
    assert_eq!(hm["snapshots"], 2);
    assert_eq!(hm["current_snapshot"], "after-upgrade");

    let legacy = entry(&list, "legacy-qemu64");
    assert_eq!(legacy["state"], "shutoff");
    assert_eq!(legacy["cpu"]["mode"], "custom");
    assert_eq!(legacy["cpu"]["model"], "qemu64");
    assert_eq!(legacy["cpu"]["invtsc"], false);
    assert_eq!(legacy["memory_snapshot"]["applicable"], false);

    let rt = entry(&list, "rt-custom-invtsc");
    assert_eq!(
        rt["cpu"]["invtsc"], true,
        "invtsc require counts in any mode"
    );
    assert_eq!(rt["memory_snapshot"]["allowed"], false);
    assert_eq!(rt["memory_snapshot"]["applicable"], true);

    assert_eq!(entry(&list, "build-maximum")["state"], "paused");
    assert_eq!(entry(&list, "build-maximum")["cpu"]["mode"], "maximum");
    assert_eq!(entry(&list, "plain-default")["cpu"]["mode"], "default");
    assert_eq!(
        entry(&list, "plain-default")["current_snapshot"],
        Value::Null
    );
    assert_eq!(entry(&list, "mig-passthrough")["cpu"]["migratable"], true);
}

#[test]
fn list_text_has_a_row_per_domain() {
    let dir = tempfile::tempdir().unwrap();
    let (_, uri) = write_node(dir.path(), &mixed_domains());
    let out = virtsnap(&["-c", &uri, "list"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 9, "{text}");
    assert!(text
        .lines()
        .any(|l| l.starts_with("web-passthrough") && l.contains("passthrough")));
}

#[test]
fn bad_uri_is_one_line_naming_the_uri_and_exit_1() {
    let out = virtsnap(&["-c", "test:///nonexistent/node.xml", "list"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("test:///nonexistent/node.xml"), "{err}");
    assert!(!err.contains('\x1b'), "no escape sequences: {err:?}");

    let out = virtsnap(&["-c", "nosuchdriver:///x", "list", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("nosuchdriver:///x"), "{err}");
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(virtsnap(&["--no-such-flag"]).status.code(), Some(2));
    assert_eq!(virtsnap(&["frobnicate"]).status.code(), Some(2));
    assert_eq!(virtsnap(&["list", "--bogus"]).status.code(), Some(2));
}

#[test]
fn libvirt_default_uri_is_honoured() {
    let dir = tempfile::tempdir().unwrap();
    let (_, uri) = write_node(dir.path(), &mixed_domains());
    let out = Command::new(env!("CARGO_BIN_EXE_virtsnap"))
        .args(["list", "--json"])
        .env("LIBVIRT_DEFAULT_URI", &uri)
        .env("XDG_STATE_HOME", dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list.len(), 8);
}

/// Runs the binary with stdout and stderr on a pipe nobody reads any more (`... 2>&1 | head`
/// after head has exited) and returns its exit code. Every write then fails with EPIPE.
fn exit_code_on_a_closed_pipe(args: &[&str]) -> Option<i32> {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let status = Command::new(env!("CARGO_BIN_EXE_virtsnap"))
        .args(args)
        .env(
            "XDG_STATE_HOME",
            std::env::temp_dir().join("virtsnap-pipe-test"),
        )
        .stdout(writer.try_clone().unwrap())
        .stderr(writer)
        .status()
        .unwrap();
    status.code()
}

#[test]
fn a_closed_output_pipe_never_turns_the_exit_code_into_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let (_, uri) = write_node(dir.path(), &mixed_domains());
    // (arguments, the exit code the command has on a terminal)
    let cases: [(&[&str], i32); 5] = [
        (&["list"], 0),
        (&["list", "--json"], 0),
        (&["check", "web-passthrough"], 0),
        // Output on both streams, then an error: the code must still be the error's.
        (
            &["snapshot", "revert", "web-passthrough", "7", "--dry-run"],
            1,
        ),
        (&["snapshot", "delete", "no-such-vm", "x"], 1),
    ];
    for (args, code) in cases {
        let mut all = vec!["-c", uri.as_str()];
        all.extend_from_slice(args);
        assert_eq!(exit_code_on_a_closed_pipe(&all), Some(code), "{args:?}");
        let _ = std::fs::remove_dir_all(std::env::temp_dir().join("virtsnap-pipe-test"));
    }
}
