//! Insta snapshots of the snapshot screen and its dialogs, and the keys that drive them.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::app::{App, Command, Msg, Overlay, Screen};
use crate::libvirt::jobs::delete::DeleteMode;
use crate::libvirt::jobs::revert::AfterRevert;
use crate::libvirt::jobs::Job;
use crate::libvirt::snapshots::DomainSnapshots;
use crate::libvirt::worker::Event;
use crate::model::snapshot::{
    DiskSnapshotMode, MemoryMode, SnapshotDisk, SnapshotInfo, SnapshotLocation, SnapshotState,
};
use crate::ui::tests::{app_with, mixed_rows, render};
use crate::ui::Theme;

const UNICODE: Theme = Theme {
    color: true,
    ascii: false,
};
const ASCII: Theme = Theme {
    color: false,
    ascii: true,
};

/// 2026-11-26 12:00:00 UTC: tests render times in UTC (no local offset was read).
const NOW: u64 = 1_795_694_400;

fn snap(name: &str, parent: Option<&str>, hours_ago: i64, external: bool) -> SnapshotInfo {
    let created = NOW as i64 - hours_ago * 3600;
    let (state, memory, location) = if external {
        (
            SnapshotState::DiskSnapshot,
            false,
            SnapshotLocation::External,
        )
    } else {
        (SnapshotState::Running, true, SnapshotLocation::Internal)
    };
    let disks = vec![SnapshotDisk {
        name: "vda".into(),
        mode: Some(if external {
            DiskSnapshotMode::External
        } else {
            DiskSnapshotMode::Internal
        }),
        disk_type: Some("file".into()),
        source: external.then(|| format!("/var/lib/libvirt/images/web-01.qcow2.{name}")),
        format: Some("qcow2".into()),
    }];
    SnapshotInfo {
        name: name.into(),
        description: Some(format!("{name} notes\nsecond line")),
        parent: parent.map(str::to_string),
        created,
        state,
        memory,
        memory_mode: if memory {
            MemoryMode::Internal
        } else {
            MemoryMode::No
        },
        memory_file: None,
        location,
        disks,
        domain: None,
        raw_xml: format!("<domainsnapshot>\n  <name>{name}</name>\n</domainsnapshot>"),
    }
}

/// A nested tree on web-passthrough (running): two roots, a branch, the current one deep.
fn nested() -> DomainSnapshots {
    DomainSnapshots {
        domain: "web-passthrough".into(),
        snapshots: vec![
            snap("base-install", None, 24 * 40, false),
            snap("before-upgrade", Some("base-install"), 50, false),
            snap("after-upgrade", Some("before-upgrade"), 26, false),
            snap("hotfix-1", Some("after-upgrade"), 3, false),
            snap("experiment", Some("before-upgrade"), 30, false),
            snap("other-root", None, 2, false),
        ],
        current: Some("hotfix-1".into()),
        file_sizes: vec![],
        unreadable: vec![],
    }
}

fn key(c: KeyCode) -> Msg {
    Msg::Key(KeyEvent::from(c))
}

fn opened(data: DomainSnapshots, width: u16, height: u16) -> App {
    let mut app = app_with(mixed_rows(), width, height);
    app.update(Msg::Tick { now: NOW });
    let at = app
        .list
        .rows
        .iter()
        .position(|r| r.name == data.domain)
        .unwrap();
    app.list.selected = at;
    let cmds = app.update(key(KeyCode::Enter));
    assert_eq!(
        cmds,
        vec![Command::LoadSnapshots {
            domain: data.domain.clone()
        }]
    );
    let domain = data.domain.clone();
    app.update(Msg::Worker(Event::Snapshots {
        domain,
        result: Ok(Box::new(data)),
    }));
    app
}

fn view(app: &App) -> &crate::app::snapshot_view::SnapshotView {
    match &app.screen {
        Screen::Snapshots(v) => v,
        _ => panic!("not on the snapshot screen"),
    }
}

#[test]
fn tree_80x24_nested_with_current_marker() {
    let app = opened(nested(), 80, 24);
    // The view opens on the current snapshot.
    assert_eq!(view(&app).selected_info().unwrap().name, "hotfix-1");
    insta::assert_snapshot!(render(&app, UNICODE, 80, 24));
}

#[test]
fn tree_160x48_side_by_side_ascii() {
    let app = opened(nested(), 160, 48);
    insta::assert_snapshot!(render(&app, ASCII, 160, 48));
}

#[test]
fn revert_dialog() {
    let mut app = opened(nested(), 100, 30);
    app.update(key(KeyCode::Char('k')));
    app.update(key(KeyCode::Char('r')));
    let Some(Overlay::Revert(d)) = &app.overlay else {
        panic!("no revert dialog: {:?}", app.status)
    };
    assert_eq!(d.snapshot, "after-upgrade");
    assert!(d.safety, "the safety snapshot is on by default");
    assert_eq!(
        d.loss(),
        "The current state of web-passthrough since hotfix-1 will be discarded (disk changes, and the running memory)."
    );
    insta::assert_snapshot!(render(&app, UNICODE, 100, 30));
    // Choose "running", turn the safety snapshot off, confirm: one job, the dialog closes.
    app.update(key(KeyCode::Down));
    app.update(key(KeyCode::Char(' ')));
    app.update(key(KeyCode::Down));
    app.update(key(KeyCode::Down));
    app.update(key(KeyCode::Char(' ')));
    let cmds = app.update(key(KeyCode::Enter));
    let [Command::StartJob {
        job: Job::RevertSnapshot(job),
        ..
    }] = cmds.as_slice()
    else {
        panic!("{cmds:?}")
    };
    assert_eq!(job.after, AfterRevert::Running);
    assert_eq!(job.safety, None);
    assert!(app.overlay.is_none());
}

#[test]
fn delete_dialog_with_refused_choices() {
    let mut data = nested();
    // An external leaf under an internal parent: libvirt refuses deleting it (not metadata).
    data.snapshots
        .push(snap("ext-leaf", Some("hotfix-1"), 1, true));
    let mut app = opened(data, 100, 30);
    app.update(key(KeyCode::Char('d')));
    let Some(Overlay::Delete(d)) = &app.overlay else {
        panic!("no delete dialog")
    };
    // Children of hotfix-1 include an external one: only "this only" and "metadata" remain.
    let refused: Vec<DeleteMode> = d
        .options
        .iter()
        .filter(|o| o.refusal.is_some())
        .map(|o| o.mode)
        .collect();
    assert_eq!(
        refused,
        vec![DeleteMode::WithChildren, DeleteMode::ChildrenOnly]
    );
    app.update(key(KeyCode::Char('j')));
    insta::assert_snapshot!(render(&app, UNICODE, 100, 30));
    // Enter on a refused choice says why and deletes nothing.
    let cmds = app.update(key(KeyCode::Enter));
    assert!(cmds.is_empty());
    assert!(app
        .status
        .as_deref()
        .unwrap()
        .contains("together with their children"));
    app.update(key(KeyCode::Esc));
    assert!(app.overlay.is_none());
}

#[test]
fn filter_keeps_ancestors_and_esc_goes_back() {
    let mut app = opened(nested(), 80, 24);
    app.update(key(KeyCode::Char('/')));
    for c in "hotfix".chars() {
        app.update(key(KeyCode::Char(c)));
    }
    app.update(key(KeyCode::Enter));
    let names: Vec<&str> = view(&app)
        .rows
        .iter()
        .map(|r| view(&app).tree.info(r).name.as_str())
        .collect();
    assert_eq!(
        names,
        vec![
            "base-install",
            "before-upgrade",
            "after-upgrade",
            "hotfix-1"
        ]
    );
    // Esc first clears the filter, then leaves the view.
    app.update(key(KeyCode::Esc));
    assert_eq!(view(&app).rows.len(), 6);
    app.update(key(KeyCode::Backspace));
    assert_eq!(app.screen, Screen::Domains);
}

#[test]
fn xml_pane_and_describe_editor() {
    let mut app = opened(nested(), 80, 24);
    app.update(key(KeyCode::Char('x')));
    assert_eq!(app.overlay, Some(Overlay::SnapshotXml { scroll: 0 }));
    let screen = render(&app, UNICODE, 80, 24);
    assert!(screen.contains("<name>hotfix-1</name>"), "{screen}");
    app.update(key(KeyCode::Esc));
    app.update(key(KeyCode::Char('e')));
    app.update(Msg::Key(KeyEvent::new(
        KeyCode::Char('u'),
        KeyModifiers::CONTROL,
    )));
    for c in "a <b> & c".chars() {
        app.update(key(KeyCode::Char(c)));
    }
    let cmds = app.update(key(KeyCode::Enter));
    let [Command::StartJob {
        job: Job::DescribeSnapshot(job),
        ..
    }] = cmds.as_slice()
    else {
        panic!("{cmds:?}")
    };
    assert_eq!(job.description, "a <b> & c");
    assert_eq!(job.snapshot, "hotfix-1");
}

#[test]
fn the_describe_editor_edits_in_the_middle_and_keeps_the_cursor_in_view() {
    for (w, h) in [(80, 24), (160, 48)] {
        let mut app = opened(nested(), w, h);
        app.update(key(KeyCode::Char('e')));
        let ctrl = |c| Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL));
        app.update(ctrl('u'));
        for line in 1..=12 {
            for c in format!("line {line}").chars() {
                app.update(key(KeyCode::Char(c)));
            }
            if line < 12 {
                app.update(ctrl('j'));
            }
        }
        // Home is the start of the text: the box scrolls back to the first line.
        app.update(key(KeyCode::Home));
        let screen = render(&app, UNICODE, w, h);
        assert!(screen.contains("line 2"), "{screen}");
        assert!(!screen.contains("line 12"), "{screen}");
        // End, then fix the last line in its middle.
        app.update(key(KeyCode::End));
        app.update(key(KeyCode::Left));
        app.update(key(KeyCode::Left));
        app.update(key(KeyCode::Char('-')));
        let screen = render(&app, UNICODE, w, h);
        assert!(screen.contains("line 11"), "{screen}");
        assert!(screen.contains("line -12"), "{screen}");
        insta::assert_snapshot!(format!("describe_editor_{w}x{h}"), screen);
        let cmds = app.update(key(KeyCode::Enter));
        let [Command::StartJob {
            job: Job::DescribeSnapshot(job),
            ..
        }] = cmds.as_slice()
        else {
            panic!("{cmds:?}")
        };
        assert!(
            job.description.ends_with("line 11\nline -12"),
            "{}",
            job.description
        );
    }
}

#[test]
fn read_only_refuses_changes_with_the_reason() {
    let mut app = opened(nested(), 80, 24);
    if let Some(h) = app.host.as_mut() {
        h.readonly = true;
    }
    for c in ['r', 'd', 'e'] {
        let cmds = app.update(key(KeyCode::Char(c)));
        assert!(cmds.is_empty());
        assert!(app.overlay.is_none());
        assert!(app.status.as_deref().unwrap().contains("read-only"), "{c}");
    }
}

#[test]
fn a_finished_job_on_the_domain_reloads_the_tree() {
    let mut app = opened(nested(), 80, 24);
    app.update(key(KeyCode::Char('e')));
    app.update(key(KeyCode::Char('!')));
    let cmds = app.update(key(KeyCode::Enter));
    let Some(Command::StartJob { id, .. }) = cmds.first() else {
        panic!("{cmds:?}")
    };
    let cmds = app.update(Msg::Worker(Event::Job {
        id: *id,
        update: crate::libvirt::jobs::JobUpdate::Finished(Ok("done".into())),
    }));
    assert_eq!(
        cmds,
        vec![Command::LoadSnapshots {
            domain: "web-passthrough".into()
        }]
    );
}

#[test]
fn a_deep_chain_renders_without_running_off_the_screen() {
    let mut snapshots = vec![snap("s0", None, 1000, false)];
    for i in 1..500 {
        snapshots.push(snap(
            &format!("s{i}"),
            Some(&format!("s{}", i - 1)),
            1000 - i,
            false,
        ));
    }
    let data = DomainSnapshots {
        domain: "web-passthrough".into(),
        current: Some("s499".into()),
        snapshots,
        ..Default::default()
    };
    let app = opened(data, 80, 24);
    let screen = render(&app, ASCII, 80, 24);
    assert!(screen.contains("[499]"), "{screen}");
    assert!(screen.contains("s499"), "{screen}");
}

#[test]
fn a_change_made_elsewhere_reloads_the_tree() {
    let mut app = opened(nested(), 80, 24);
    let mut row = mixed_rows()
        .into_iter()
        .find(|r| r.name == "web-passthrough")
        .unwrap();
    row.snapshots = Some(6);
    row.current_snapshot = Some("hotfix-1".into());
    let same = app.update(Msg::Worker(Event::DomainDetails(vec![row.clone()])));
    assert!(same.is_empty(), "nothing changed: {same:?}");
    row.snapshots = Some(7);
    row.current_snapshot = Some("made-by-virsh".into());
    let cmds = app.update(Msg::Worker(Event::DomainDetails(vec![row])));
    assert_eq!(
        cmds,
        vec![Command::LoadSnapshots {
            domain: "web-passthrough".into()
        }]
    );
}

#[test]
fn delete_refusals_follow_libvirt() {
    use crate::libvirt::jobs::delete::delete_refusal;
    use crate::model::snapshot::SnapshotTree;
    let tree = SnapshotTree::new(
        vec![
            snap("int-root", None, 10, false),
            snap("ext-a", Some("int-root"), 9, true),
            snap("ext-b", Some("ext-a"), 8, true),
            snap("ext-side", Some("ext-a"), 7, true),
            snap("ext-side-child", Some("ext-side"), 6, true),
        ],
        Some("ext-b".into()),
    );
    let refused = |name, mode, version| delete_refusal(&tree, name, mode, version, false);
    // External under an internal parent.
    assert!(refused("ext-a", DeleteMode::This, 11_003_000)
        .unwrap()
        .contains("parent 'int-root' is internal"));
    // External with CHILDREN flags.
    assert!(refused("ext-a", DeleteMode::WithChildren, 11_003_000)
        .unwrap()
        .contains("together with their children"));
    assert!(refused("int-root", DeleteMode::ChildrenOnly, 11_003_000).is_some());
    // A non-leaf external snapshot off the current branch.
    assert!(refused("ext-side", DeleteMode::This, 11_003_000)
        .unwrap()
        .contains("not on the VM's current branch"));
    // A leaf on the current branch is fine; so is metadata only, and old libvirt refuses.
    assert_eq!(refused("ext-b", DeleteMode::This, 11_003_000), None);
    assert_eq!(
        refused("ext-side", DeleteMode::MetadataOnly, 11_003_000),
        None
    );
    assert!(refused("ext-b", DeleteMode::This, 8_000_000)
        .unwrap()
        .contains("libvirt 9.0"));
    // Running, the internal root sits under the overlays of the current branch.
    assert!(
        delete_refusal(&tree, "int-root", DeleteMode::This, 11_003_000, true)
            .unwrap()
            .contains("while the VM runs")
    );
    assert_eq!(
        delete_refusal(&tree, "int-root", DeleteMode::This, 11_003_000, false),
        None
    );
    // Reverting to an external snapshot needs 9.9.
    let ext = tree.get("ext-b").unwrap();
    assert!(crate::libvirt::jobs::revert::revert_refusal(ext, 9_008_000).is_some());
    assert!(crate::libvirt::jobs::revert::revert_refusal(ext, 9_009_000).is_none());
}
