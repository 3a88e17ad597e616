//! Snapshot list, revert and delete through the real binary against libvirt's test driver,
//! and a render of a tree of hundreds of preloaded snapshots.

mod testnode;

use std::collections::HashMap;
use std::time::Instant;

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use serde_json::Value;
use testnode::{write_node, NodeCpu, NodeDomain};
use virtsnap::app::{App, Msg, Screen};
use virtsnap::libvirt::worker::Event;
use virtsnap::model::inventory::DomainInfo;

fn virtsnap(args: &[&str]) -> std::process::Output {
    testnode::run_virtsnap(args)
}

/// `n` snapshots: three roots, each node getting up to three children, so the tree branches
/// and nests several levels deep. The last one listed is the current one.
fn big_tree(n: usize) -> Vec<(String, Option<String>, u64)> {
    (0..n)
        .map(|i| {
            let parent = if i < 3 {
                None
            } else {
                Some(format!("snap-{:04}", (i - 3) / 3))
            };
            (
                format!("snap-{i:04}"),
                parent,
                1_700_000_000 + i as u64 * 60,
            )
        })
        .collect()
}

fn node(snapshots: usize) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut big = NodeDomain::new("big-tree", 5, NodeCpu::HostModel);
    big.snapshots = big_tree(snapshots);
    let mut small = NodeDomain::new("small", 5, NodeCpu::HostModel);
    small.snapshots = vec![
        ("root".into(), None, 1_700_000_000),
        ("mid".into(), Some("root".into()), 1_700_000_100),
        ("leaf-a".into(), Some("mid".into()), 1_700_000_200),
        ("leaf-b".into(), Some("mid".into()), 1_700_000_300),
    ];
    let mut bare = NodeDomain::new("bare", 5, NodeCpu::HostModel);
    bare.snapshots = vec![("no-rollback".into(), None, 1_700_000_000)];
    let (path, uri) = write_node(dir.path(), &[big, bare, small]);
    // libvirt refuses to revert to a snapshot without the domain definition it captured
    // ("lacks rollback info", even forced): give small's snapshots one (small comes last).
    let xml = std::fs::read_to_string(&path).unwrap();
    let at = xml.find("<name>small</name>").unwrap();
    let (head, tail) = xml.split_at(at);
    let tail = tail.replace(
        "<active>",
        "<domain type='test'><name>small</name><memory>131072</memory><vcpu>1</vcpu>\
         <os><type>hvm</type></os></domain><active>",
    );
    std::fs::write(&path, format!("{head}{tail}")).unwrap();
    (dir, uri)
}

fn list(uri: &str, domain: &str) -> Vec<Value> {
    let out = virtsnap(&["-c", uri, "snapshot", "list", domain, "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn list_json_is_topological_with_the_fields_scripts_need() {
    let (_dir, uri) = node(300);
    let started = Instant::now();
    let entries = list(&uri, "big-tree");
    println!("snapshot list of 300: {:?}", started.elapsed());
    assert_eq!(entries.len(), 300);
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (pos, e) in entries.iter().enumerate() {
        if let Some(parent) = e["parent"].as_str() {
            assert!(
                seen.contains_key(parent),
                "{} listed before its parent",
                e["name"]
            );
        }
        seen.insert(e["name"].as_str().unwrap(), pos);
        for key in [
            "created",
            "state",
            "memory",
            "location",
            "description",
            "children",
            "current",
        ] {
            assert!(e.get(key).is_some(), "{key} missing in {e}");
        }
        assert!(e["created"].as_i64().unwrap() >= 1_700_000_000);
        assert!(e["location"] == "internal" || e["location"] == "external");
    }
    let current: Vec<&str> = entries
        .iter()
        .filter(|e| e["current"] == true)
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(current, vec!["snap-0299"]);
    let root = &entries[0];
    assert_eq!(root["name"], "snap-0000");
    assert_eq!(root["parent"], Value::Null);
    assert_eq!(root["children"], 3);
    // Children directly follow their parent (depth-first, like virsh --tree).
    assert_eq!(entries[1]["parent"], "snap-0000");
}

#[test]
fn list_text_marks_the_current_snapshot_and_nests_children() {
    let (_dir, uri) = node(10);
    let out = virtsnap(&["-c", &uri, "snapshot", "list", "small"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].contains("NAME") && lines[0].contains("DESCRIPTION"),
        "{text}"
    );
    assert!(lines[1].starts_with("  root"), "{text}");
    assert!(lines[2].starts_with("  `- mid"), "{text}");
    assert!(lines[3].starts_with("     +- leaf-a"), "{text}");
    assert!(lines[4].starts_with("*    `- leaf-b"), "{text}");
}

#[test]
fn unknown_domain_exits_1() {
    let (_dir, uri) = node(3);
    let out = virtsnap(&["-c", &uri, "snapshot", "list", "nope"]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn revert_moves_the_current_snapshot() {
    let (_dir, uri) = node(3);
    let revert = |extra: &[&str]| {
        let mut args = vec!["-c", uri.as_str(), "snapshot", "revert"];
        args.extend_from_slice(extra);
        virtsnap(&args)
    };
    // Each command opens the node file afresh, so the proof is the command's own report.
    let out = revert(&["small", "mid", "--no-safety-snapshot"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("reverted small to 'mid'"), "{stdout}");
    // A shut-off VM without disks has no state for a safety snapshot to keep: it is skipped.
    let out = revert(&["small", "leaf-a", "--paused"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("no safety snapshot"), "{stdout}");
}

#[test]
fn a_revert_libvirt_would_refuse_is_refused_up_front_with_its_reason() {
    let (_dir, uri) = node(3);
    // A snapshot without the domain definition it captured: libvirt refuses to revert to it
    // even forced ("lacks domain rollback info"); virtsnap says so before trying.
    let out = virtsnap(&["-c", &uri, "snapshot", "revert", "bare", "no-rollback"]);
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("lacks domain rollback info"), "{stderr}");
    assert!(
        !stderr.contains("reverting to"),
        "nothing was tried: {stderr}"
    );
}

#[test]
fn a_snapshot_that_does_not_exist_is_refused_alone_in_text_and_json() {
    let (_dir, uri) = node(3);
    for verb in ["revert", "delete"] {
        let out = virtsnap(&["-c", &uri, "snapshot", verb, "small", "7", "--dry-run"]);
        // An unknown snapshot exits 1, as an unknown domain does.
        assert_eq!(out.status.code(), Some(1), "{verb}");
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(said.contains("small has no snapshot named '7'"), "{said}");
        for empty in ["Afterwards", "safety", "Discards", "It would delete", ": ."] {
            assert!(!said.contains(empty), "{verb}: {said}");
        }
        let out = virtsnap(&[
            "-c",
            &uri,
            "snapshot",
            verb,
            "small",
            "7",
            "--dry-run",
            "--json",
        ]);
        assert_eq!(out.status.code(), Some(1), "{verb}");
        let json: Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
        let plan = json["plan"].as_object().expect("a plan object");
        assert_eq!(
            plan["refusal"]["reason"], "small has no snapshot named '7'",
            "{json}"
        );
        assert_eq!(plan["refusal"]["kind"], "not-found", "{json}");
        for absent in ["after", "safety", "discarded", "deleted", "effects"] {
            assert!(!plan.contains_key(absent), "{verb}: {json}");
        }
    }
}

#[test]
fn refusals_exit_3_before_anything_changes() {
    let (_dir, uri) = node(3);
    let leaf_children = virtsnap(&[
        "-c",
        &uri,
        "snapshot",
        "delete",
        "small",
        "leaf-a",
        "--children-only",
    ]);
    assert_eq!(leaf_children.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&leaf_children.stderr).contains("has no children"));
    let readonly = virtsnap(&[
        "-c",
        &uri,
        "--readonly",
        "snapshot",
        "delete",
        "small",
        "mid",
    ]);
    assert_eq!(readonly.status.code(), Some(3));
    let readonly = virtsnap(&[
        "-c",
        &uri,
        "--readonly",
        "snapshot",
        "revert",
        "small",
        "mid",
    ]);
    assert_eq!(readonly.status.code(), Some(3));
    let usage = virtsnap(&[
        "-c",
        &uri,
        "snapshot",
        "delete",
        "small",
        "mid",
        "--children",
        "--metadata-only",
    ]);
    assert_eq!(usage.status.code(), Some(2));
    let missing = virtsnap(&["-c", &uri, "snapshot", "delete", "small", "nope"]);
    assert_eq!(missing.status.code(), Some(1));
}

#[test]
fn delete_choices_report_what_went() {
    let (_dir, uri) = node(3);
    for (args, says) in [
        (
            vec!["mid", "--children-only"],
            "deleted the children of 'mid'",
        ),
        (vec!["mid", "--children"], "and its children"),
        (vec!["mid"], "deleted snapshot 'mid'"),
    ] {
        let mut full = vec!["-c", &uri, "snapshot", "delete", "small"];
        full.extend(args.iter().copied());
        let out = virtsnap(&full);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains(says), "{args:?}: {stdout}");
    }
    // The test driver has no METADATA_ONLY: libvirt's refusal comes back explained, exit 1.
    let out = virtsnap(&[
        "-c",
        &uri,
        "snapshot",
        "delete",
        "small",
        "leaf-a",
        "--metadata-only",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("deleting 'leaf-a' of small failed"),
        "{stderr}"
    );
}

/// The library path the TUI uses: load through libvirt, show in the view, draw.
#[test]
fn hundreds_of_preloaded_snapshots_render_in_the_tree() {
    let (_dir, uri) = node(600);
    let conn = virtsnap::libvirt::open(&virtsnap::libvirt::ConnectOptions {
        uri: Some(uri),
        readonly: true,
    })
    .unwrap();
    let started = Instant::now();
    let data = virtsnap::libvirt::snapshots::load(&conn, "big-tree").unwrap();
    println!("load of 600 snapshots: {:?}", started.elapsed());
    assert_eq!(data.snapshots.len(), 600);
    assert_eq!(data.current.as_deref(), Some("snap-0599"));

    let mut app = App::new("test".into(), 120, 40);
    app.update(Msg::Tick { now: 1_700_100_000 });
    app.update(Msg::Worker(
        virtsnap::app::HostId(0),
        Event::DomainList(vec![DomainInfo::named("big-tree".into(), "uuid".into())]),
    ));
    app.update(Msg::Key(KeyEvent::from(KeyCode::Enter)));
    app.update(Msg::Worker(
        virtsnap::app::HostId(0),
        Event::Snapshots {
            domain: "big-tree".into(),
            result: Ok(Box::new(data)),
        },
    ));
    let Screen::Snapshots(view) = &app.screen else {
        panic!("Enter did not open the snapshot view")
    };
    assert_eq!(view.rows.len(), 600);
    assert_eq!(view.selected_info().unwrap().name, "snap-0599");

    let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();
    let theme = virtsnap::ui::Theme {
        color: false,
        ascii: true,
    };
    let started = Instant::now();
    terminal
        .draw(|f| virtsnap::ui::draw(f, &app, &theme))
        .unwrap();
    println!("draw: {:?}", started.elapsed());
    let buffer = terminal.backend().buffer();
    let screen: String = (0..40)
        .map(|y| {
            let mut line: String = (0..120).map(|x| buffer[(x, y)].symbol()).collect();
            line.push('\n');
            line
        })
        .collect();
    assert!(screen.contains("Snapshots of big-tree (600)"), "{screen}");
    // The view scrolled to the current snapshot, marked with `*`.
    let current = screen
        .lines()
        .find(|l| l.contains("`- snap-0599"))
        .unwrap_or_else(|| panic!("{screen}"));
    assert!(current.starts_with('*'), "{screen}");
    assert!(current.contains("`- snap-0599"), "{screen}");

    // Moving to the top shows the roots.
    app.update(Msg::Key(KeyEvent::from(KeyCode::Char('g'))));
    terminal
        .draw(|f| virtsnap::ui::draw(f, &app, &theme))
        .unwrap();
    let top: String = (0..120)
        .map(|x| terminal.backend().buffer()[(x, 4)].symbol())
        .collect();
    assert!(top.contains("snap-0000"), "{top}");
}
