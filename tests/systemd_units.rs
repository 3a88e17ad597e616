//! The shipped systemd units (assets/systemd): they parse (`systemd-analyze verify`), and the
//! command lines the service runs, expanded the way systemd expands them from the example
//! EnvironmentFile, work against a real QEMU host (an embedded root). Two runs in one day
//! leave one scheduled snapshot (the example keeps the newest of each day) and never touch a
//! hand-made one. The binary and this test cannot hold one embedded root at once, so the VM is
//! set up by this test binary re-run as a helper process (as in tests/snapshot_create_cli.rs).
//! Run: `cargo test --test systemd_units -- --nocapture`.

mod helper_process;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

use helper_process::{uri, Root};
use virtsnap::libvirt::vmdef::{self, TinyCpu};

const HELPER_ENV: &str = "VIRTSNAP_UNITS_HELPER";
const VM: &str = "svc-web";
const UNITS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/systemd");

fn read(name: &str) -> String {
    std::fs::read_to_string(Path::new(UNITS).join(name)).unwrap()
}

/// The service's ExecStart= lines, in order.
fn exec_lines() -> Vec<String> {
    read("virtsnap-snapshot@.service")
        .lines()
        .filter_map(|l| l.strip_prefix("ExecStart="))
        .map(str::to_string)
        .collect()
}

/// VAR=value lines of an EnvironmentFile (no quotes are used in ours).
fn env_file(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// systemd's expansion of one command line (systemd.service(5), "Command lines"): a word that
/// is `$VAR` becomes the variable's words (none when empty), `${VAR}` exactly one word. Our
/// units use no other forms; anything else with a `$` fails the test.
fn expand(line: &str, env: &BTreeMap<String, String>) -> Vec<String> {
    let mut out = Vec::new();
    for word in line.split_whitespace() {
        if let Some(name) = word.strip_prefix("${").and_then(|w| w.strip_suffix('}')) {
            out.push(env.get(name).cloned().unwrap_or_default());
        } else if let Some(name) = word.strip_prefix('$') {
            let v = env.get(name).cloned().unwrap_or_default();
            out.extend(v.split_whitespace().map(str::to_string));
        } else {
            assert!(!word.contains('$'), "unexpected expansion form in {word:?}");
            out.push(word.to_string());
        }
    }
    out
}

#[test]
fn the_units_parse() {
    let ok = Command::new("systemd-analyze").arg("--version").output();
    if !ok.is_ok_and(|o| o.status.success()) {
        println!("SKIPPED: systemd-analyze is not installed");
        return;
    }
    for line in exec_lines() {
        assert!(
            line.starts_with("virtsnap "),
            "found on systemd's PATH: {line}"
        );
    }
    // verify also checks that the command exists: point it at the binary this test built,
    // as an install to /usr/local/bin or /usr/bin would. Nothing else is changed.
    let dir = tempfile::tempdir().unwrap();
    let service = read("virtsnap-snapshot@.service").replace(
        "ExecStart=virtsnap ",
        &format!("ExecStart={} ", env!("CARGO_BIN_EXE_virtsnap")),
    );
    std::fs::write(
        dir.path().join("virtsnap-snapshot@nightly.service"),
        service,
    )
    .unwrap();
    std::fs::write(
        dir.path().join("virtsnap-snapshot@nightly.timer"),
        read("virtsnap-snapshot@.timer"),
    )
    .unwrap();
    let out = Command::new("systemd-analyze")
        .current_dir(dir.path())
        .args([
            "verify",
            "./virtsnap-snapshot@nightly.service",
            "./virtsnap-snapshot@nightly.timer",
        ])
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{said}");
    assert_eq!(said.trim(), "", "no warnings");
    println!("systemd-analyze verify: both units clean");
}

fn run_helper(root: &Path, action: &str) -> String {
    helper_process::run(HELPER_ENV, root, action)
}

/// `define`: a shut-off KVM VM with a qcow2 disk; `names`: its snapshot names; `teardown`.
#[test]
#[ignore = "run by the other tests as a helper process"]
fn helper() {
    let Some((action, root, conn)) = helper_process::request(HELPER_ENV) else {
        return;
    };
    match action.as_str() {
        "define" => {
            helper_process::define_vm(&conn, &root, VM, TinyCpu::Default);
        }
        "names" => {
            let dom = conn.lookup_domain_by_name(VM).unwrap();
            let mut names: Vec<String> = dom
                .list_all_snapshots(0)
                .unwrap()
                .iter()
                .map(|s| s.name().unwrap())
                .collect();
            names.sort();
            println!("NAMES={}", names.join(","));
        }
        "teardown" => helper_process::teardown_vm(&conn, VM),
        other => panic!("unknown helper action {other}"),
    }
}

fn names(root: &Path) -> Vec<String> {
    let out = run_helper(root, "names");
    let list = out.split("NAMES=").nth(1).unwrap().lines().next().unwrap();
    list.split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

fn virtsnap(args: &[String], state: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_virtsnap"))
        .args(args)
        .env("XDG_STATE_HOME", state)
        .output()
        .unwrap()
}

/// One run of the service: its ExecStart lines in order, stopping at the first failure as
/// systemd does for Type=oneshot.
fn run_service(env: &BTreeMap<String, String>, state: &Path) -> Vec<Output> {
    let mut outs = Vec::new();
    for line in exec_lines() {
        let mut words = expand(&line, env);
        assert_eq!(words.remove(0), "virtsnap");
        let out = virtsnap(&words, state);
        println!(
            "$ virtsnap {}\n{}{}",
            words.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let ok = out.status.success();
        outs.push(out);
        if !ok {
            break;
        }
    }
    outs
}

#[test]
fn the_service_command_lines_snapshot_and_prune_a_real_vm() {
    if !vmdef::kvm_usable() || !vmdef::qemu_available() {
        println!("SKIPPED: /dev/kvm or qemu-system-x86_64 is missing");
        return;
    }
    let dir = std::env::temp_dir().join(format!("virtsnap-units-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    virtsnap::libvirt::demo_session::write_embed_qemu_conf(&dir, false).unwrap();
    let root = Root {
        path: dir,
        env: HELPER_ENV,
    };
    let state = tempfile::tempdir().unwrap();
    run_helper(&root.path, "define");
    // A hand-made snapshot first: prune must never touch it.
    let made = virtsnap(
        &[
            "-c".into(),
            uri(&root.path),
            "snapshot".into(),
            "create".into(),
            VM.into(),
            "handmade".into(),
        ],
        state.path(),
    );
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    // The example configuration as shipped, pointed at this host and VM.
    let mut env = env_file(&read("virtsnap.conf.example"));
    env.insert("VIRTSNAP_URI".into(), uri(&root.path));
    env.insert("VIRTSNAP_SELECT".into(), "--match svc-*".into());
    for run in 1..=2 {
        if run == 2 {
            // Scheduled names carry the second: the next run must be in another one.
            std::thread::sleep(std::time::Duration::from_millis(1100));
        }
        let outs = run_service(&env, state.path());
        assert_eq!(outs.len(), 2, "run {run}: the prune ran after the create");
        for o in &outs {
            assert!(
                o.status.success(),
                "run {run}: {}",
                String::from_utf8_lossy(&o.stderr)
            );
        }
    }
    let left = names(&root.path);
    assert_eq!(left.len(), 2, "{left:?}");
    assert_eq!(left[0], "handmade");
    assert!(
        left[1].starts_with("nightly-") && left[1].ends_with('Z'),
        "{left:?}"
    );
    println!("left after two runs: {left:?}");
}
