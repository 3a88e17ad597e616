//! Insta snapshots of the snapshot screen and its dialogs, and the keys that drive them.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::app::{App, Command, Msg, Overlay, Screen};
use crate::libvirt::jobs::Job;
use crate::libvirt::snapshots::DomainSnapshots;
use crate::libvirt::worker::Event;
use crate::model::inventory::HostId;
use crate::model::snapshot::{
    DiskSnapshotMode, MemoryMode, SnapshotDisk, SnapshotInfo, SnapshotLocation, SnapshotState,
};
use crate::model::storage::fixture::Fake;
use crate::model::storage::{AfterRevert, DeleteMode};
use crate::model::DomainState;
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
        revert_disks: Vec::new(),
        domain: Some(Box::new(fake().config())),
        raw_xml: format!("<domainsnapshot>\n  <name>{name}</name>\n</domainsnapshot>"),
    }
}

/// web-passthrough as the storage model sees it: running, one qcow2 disk.
fn fake() -> Fake {
    Fake::new("web-passthrough", DomainState::Running)
}

/// The listing plus the storage facts the worker reads with it.
fn with_storage(snapshots: Vec<SnapshotInfo>, current: &str) -> DomainSnapshots {
    let mut facts = fake().build();
    facts.snapshots = snapshots.clone();
    facts.current = Some(current.into());
    // Nothing measured: internal snapshots' disk data is unknown anyway.
    let layout = crate::model::storage::Layout::new(&facts);
    let space = crate::model::space::snapshot_space(&layout, &Default::default());
    DomainSnapshots {
        domain: "web-passthrough".into(),
        snapshots,
        current: Some(current.into()),
        file_sizes: vec![],
        unreadable: vec![],
        storage: Some(Box::new(facts)),
        space,
    }
}

/// A nested tree on web-passthrough (running): two roots, a branch, the current one deep.
fn nested() -> DomainSnapshots {
    with_storage(
        vec![
            snap("base-install", None, 24 * 40, false),
            snap("before-upgrade", Some("base-install"), 50, false),
            snap("after-upgrade", Some("before-upgrade"), 26, false),
            snap("hotfix-1", Some("after-upgrade"), 3, false),
            snap("experiment", Some("before-upgrade"), 30, false),
            snap("other-root", None, 2, false),
        ],
        "hotfix-1",
    )
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
            host: HostId(0),
            domain: data.domain.clone()
        }]
    );
    let domain = data.domain.clone();
    app.update(Msg::Worker(
        HostId(0),
        Event::Snapshots {
            domain,
            result: Ok(Box::new(data)),
        },
    ));
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
fn the_focused_detail_pane_has_one_title() {
    let mut app = opened(nested(), 160, 48);
    app.update(key(KeyCode::Tab));
    assert!(view(&app).detail_focus);
    let screen = render(&app, UNICODE, 160, 48);
    assert!(screen.contains("Detail (j/k scroll, Tab back)"), "{screen}");
    assert_eq!(screen.matches("Detail").count(), 1, "{screen}");
    app.update(key(KeyCode::Tab));
    let screen = render(&app, UNICODE, 160, 48);
    assert_eq!(screen.matches("Detail").count(), 1, "{screen}");
}

#[test]
fn tree_160x48_side_by_side_ascii() {
    let app = opened(nested(), 160, 48);
    insta::assert_snapshot!(render(&app, ASCII, 160, 48));
}

#[test]
fn revert_dialog_refuses_when_no_safety_snapshot_survives_and_offers_the_ways_out() {
    // The signature case: web-passthrough is a running host-passthrough VM with invtsc (no
    // memory state), and its snapshots are internal. A safety snapshot would have to be
    // internal, which needs memory state, or external, which the revert destroys.
    for (w, h) in [(80, 24), (120, 40)] {
        let mut app = opened(nested(), w, h);
        app.update(key(KeyCode::Char('k')));
        app.update(key(KeyCode::Char('r')));
        let Some(Overlay::Revert(d)) = &app.overlay else {
            panic!("no revert dialog: {:?}", app.status)
        };
        assert_eq!(d.snapshot, "after-upgrade");
        assert!(d.safety, "the safety snapshot is on by default");
        let plan = d.plan.as_ref().expect("planned");
        let refusal = plan.refusal.as_ref().expect("refused up front");
        assert!(
            refusal.reason.contains("no safety snapshot"),
            "{}",
            refusal.reason
        );
        assert_eq!(
            plan.discarded,
            [
                "changes to the disks since 'hotfix-1'",
                "the running memory (unsaved work in the guest)"
            ]
        );
        insta::assert_snapshot!(
            format!("revert_dialog_refused_{w}x{h}"),
            render(&app, UNICODE, w, h)
        );
        // Enter on a refused plan says why and starts nothing.
        assert!(app.update(key(KeyCode::Enter)).is_empty());
        assert!(app.status.as_deref().unwrap().contains("cannot revert"));
    }
    let mut app = opened(nested(), 100, 30);
    app.update(key(KeyCode::Char('k')));
    app.update(key(KeyCode::Char('r')));
    // The way out: shut down first (the last row), then an internal safety snapshot survives.
    for _ in 0..4 {
        app.update(key(KeyCode::Down));
    }
    app.update(key(KeyCode::Char(' ')));
    let Some(Overlay::Revert(d)) = &app.overlay else {
        panic!("closed")
    };
    assert!(d.stop_first);
    assert!(d.plan.as_ref().unwrap().refusal.is_none(), "{:?}", d.plan);
    insta::assert_snapshot!("revert_dialog_stop_first", render(&app, UNICODE, 100, 30));
    // Choose "running" too, confirm: one job, the dialog closes.
    app.update(key(KeyCode::Up));
    app.update(key(KeyCode::Up));
    app.update(key(KeyCode::Up));
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
    assert!(job.stop_first);
    assert!(job.safety.as_deref().unwrap().starts_with("pre-revert-"));
    assert!(app.overlay.is_none());
}

#[test]
fn delete_dialog_with_refused_choices() {
    let mut listed = nested().snapshots;
    // An external leaf under an internal parent: libvirt refuses deleting it (not metadata).
    listed.push(snap("ext-leaf", Some("hotfix-1"), 1, true));
    let data = with_storage(listed, "hotfix-1");
    let mut app = opened(data, 100, 30);
    app.update(key(KeyCode::Char('d')));
    let Some(Overlay::Delete(d)) = &app.overlay else {
        panic!("no delete dialog")
    };
    // Children of hotfix-1 include an external one: only "this only" and "metadata" remain.
    let refused: Vec<DeleteMode> = d
        .options
        .iter()
        .filter(|o| o.refusal().is_some())
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
    assert!(app.status.as_deref().unwrap().contains("external children"));
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
    if let Some(h) = app.hosts.all[0].info.as_mut() {
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
    let cmds = app.update(Msg::Worker(
        HostId(0),
        Event::Job {
            id: *id,
            update: crate::libvirt::jobs::JobUpdate::Finished(Ok("done".into())),
        },
    ));
    assert_eq!(
        cmds,
        vec![Command::LoadSnapshots {
            host: HostId(0),
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
    let same = app.update(Msg::Worker(
        HostId(0),
        Event::DomainDetails(vec![row.clone()]),
    ));
    assert!(same.is_empty(), "nothing changed: {same:?}");
    row.snapshots = Some(7);
    row.current_snapshot = Some("made-by-virsh".into());
    let cmds = app.update(Msg::Worker(HostId(0), Event::DomainDetails(vec![row])));
    assert_eq!(
        cmds,
        vec![Command::LoadSnapshots {
            host: HostId(0),
            domain: "web-passthrough".into()
        }]
    );
}

#[test]
fn tree_with_size_and_the_reason_for_a_question_mark() {
    use crate::model::space::{snapshot_space, FileSpace, Measure};
    // An internal root (its disk data has no recorded size), then two external snapshots
    // whose overlays and memory file were measured on this host.
    let facts = Fake::new("web-passthrough", DomainState::Running)
        .internal("base", false)
        .external("before-patch", false)
        .external("nightly", true)
        .build();
    let layout = crate::model::storage::Layout::new(&facts);
    let known = |mib: u64| FileSpace::Known {
        bytes: mib << 20,
        how: Measure::LocalStat,
    };
    let files = [
        ("/i/web-passthrough.before-patch", known(640)),
        ("/i/web-passthrough.nightly", known(12)),
        ("/i/web-passthrough.nightly.mem", known(1100)),
    ]
    .into_iter()
    .map(|(p, s)| (p.to_string(), s))
    .collect();
    let data = DomainSnapshots {
        domain: "web-passthrough".into(),
        snapshots: facts.snapshots.clone(),
        current: facts.current.clone(),
        space: snapshot_space(&layout, &files),
        storage: Some(Box::new(facts)),
        ..Default::default()
    };
    let mut app = opened(data, 80, 24);
    let screen = render(&app, UNICODE, 80, 24);
    assert!(screen.contains("SIZE"), "{screen}");
    assert!(
        screen.contains("1.1G"),
        "nightly: overlay and memory file: {screen}"
    );
    // The internal root: "?" in the tree, and why in the detail pane.
    app.update(key(KeyCode::Char('g')));
    let screen = render(&app, UNICODE, 80, 24);
    assert!(screen.contains("QEMU records no size"), "{screen}");
    insta::assert_snapshot!(screen);
}

#[test]
fn a_transient_domain_cannot_be_left_shut_off_by_a_revert() {
    // A transient running domain and a disk-only snapshot: "as saved" would leave it shut
    // off, which libvirt refuses for a transient domain.
    let mut fake = Fake::new("web-passthrough", DomainState::Running).external("before", false);
    fake.persistent = false;
    let facts = fake.build();
    let data = DomainSnapshots {
        domain: "web-passthrough".into(),
        snapshots: facts.snapshots.clone(),
        current: facts.current.clone(),
        storage: Some(Box::new(facts)),
        ..Default::default()
    };
    let mut app = opened(data, 80, 24);
    app.update(key(KeyCode::Char('r')));
    let Some(Overlay::Revert(d)) = &app.overlay else {
        panic!("no revert dialog: {:?}", app.status)
    };
    // It opens on the first state libvirt takes, and says why "as saved" is not one.
    assert_eq!(d.after, AfterRevert::Running);
    assert_eq!(
        d.after_label(AfterRevert::Saved),
        "as saved in the snapshot (not possible here)"
    );
    let screen = render(&app, UNICODE, 80, 24);
    assert!(screen.contains("(not possible here)"), "{screen}");
    // Space on it keeps the choice and says why; Enter reverts with what is chosen.
    app.update(key(KeyCode::Char(' ')));
    let Some(Overlay::Revert(d)) = &app.overlay else {
        panic!("closed")
    };
    assert_eq!(d.after, AfterRevert::Running);
    let status = app.status.clone().unwrap_or_default();
    assert!(status.contains("transient"), "{status}");
    let cmds = app.update(key(KeyCode::Enter));
    let [Command::StartJob {
        job: Job::RevertSnapshot(job),
        ..
    }] = cmds.as_slice()
    else {
        panic!("{cmds:?} {:?}", app.status)
    };
    assert_eq!(job.after, AfterRevert::Running);
}
