//! Marks -> bulk dialog -> a job per VM on its own host -> one results table: `s` and `d` on
//! marked rows, pure (the workers' answers are fed in as events).

use crossterm::event::{KeyCode, KeyEvent};

use super::*;
use crate::libvirt::jobs::JobUpdate;
use crate::libvirt::worker::Event;
use crate::model::inventory::DomainInfo;
use crate::model::DomainState;
use crate::ui::tests::{demo_host, loaded, row, storage_of};

/// 2026-11-26 14:30:00 UTC.
pub(crate) const NOW: u64 = 1_795_703_400;

pub(crate) fn key(app: &mut App, code: KeyCode) -> Vec<Command> {
    app.update(Msg::Key(KeyEvent::from(code)))
}

pub(crate) fn typed(app: &mut App, text: &str) {
    for c in text.chars() {
        key(app, KeyCode::Char(c));
    }
}

/// Three running VMs of different CPU kinds (one memory-blocked: host-passthrough with
/// migratable='off', so invtsc) and one shut off.
pub(crate) fn fleet_rows() -> Vec<DomainInfo> {
    vec![
        row("archive", "no-cpu", DomainState::Shutoff, 0, None),
        row("db-passthrough", "hp-off", DomainState::Running, 0, None),
        row(
            "legacy-qemu64",
            "custom-qemu64",
            DomainState::Running,
            0,
            None,
        ),
        row("web-hostmodel", "host-model", DomainState::Running, 0, None),
    ]
}

/// `hosts` (name, rows): each connected and listed; `down` is a host that lost its
/// connection afterwards (its rows stay, dimmed).
pub(crate) fn app_on(
    hosts: Vec<(&str, Vec<DomainInfo>)>,
    down: Option<usize>,
    width: u16,
    height: u16,
) -> App {
    let names = hosts
        .iter()
        .map(|(n, _)| (n.to_string(), format!("qemu+ssh://{n}/system")))
        .collect();
    let mut app = App::with_hosts(names, width, height);
    if hosts.len() == 1 {
        app = App::new("qemu:///system".into(), width, height);
    }
    for (h, (_, rows)) in hosts.into_iter().enumerate() {
        let host = HostId(h);
        app.update(Msg::Worker(host, Event::Connected(Box::new(demo_host()))));
        app.update(Msg::Worker(host, Event::DomainList(rows)));
        app.update(Msg::Worker(
            host,
            Event::RefreshDone {
                names_after: Default::default(),
                filled_after: Default::default(),
            },
        ));
    }
    if let Some(h) = down {
        app.update(Msg::Worker(
            HostId(h),
            Event::Disconnected {
                reason: "keepalive timed out".into(),
                retry_in: 8,
            },
        ));
    }
    app.update(Msg::Tick { now: NOW });
    app
}

/// Marks every row with Space, from the top.
pub(crate) fn mark_all(app: &mut App) {
    app.list.move_to(0, 20);
    for _ in 0..app.list.visible_len() {
        key(app, KeyCode::Char(' '));
    }
}

/// Answers each `LoadSnapshots` the way the VM's host would.
pub(crate) fn answer(app: &mut App, commands: &[Command]) {
    for c in commands {
        if let Command::LoadSnapshots { host, domain } = c {
            let row = app.list.row(*host, domain).cloned().expect("a marked row");
            app.update(Msg::Worker(*host, loaded(&row, NOW as i64)));
        }
    }
}

fn bulk_create(app: &App) -> &dialogs::bulk_create::BulkCreateDialog {
    match &app.overlay {
        Some(Overlay::BulkCreate(d)) => d,
        other => panic!("no bulk create dialog: {other:?} ({:?})", app.status),
    }
}

fn bulk_delete(app: &App) -> &dialogs::bulk_delete::BulkDeleteDialog {
    match &app.overlay {
        Some(Overlay::BulkDelete(d)) => d,
        other => panic!("no bulk delete dialog: {other:?} ({:?})", app.status),
    }
}

fn started(commands: &[Command]) -> Vec<(HostId, JobId, Job)> {
    commands
        .iter()
        .filter_map(|c| match c {
            Command::StartJob { host, id, job } => Some((*host, *id, job.clone())),
            _ => None,
        })
        .collect()
}

fn finish(app: &mut App, host: HostId, id: JobId, result: Result<&str, &str>) {
    let result = result.map(str::to_string).map_err(str::to_string);
    app.update(Msg::Worker(
        host,
        Event::Job {
            id,
            update: JobUpdate::Finished(result),
        },
    ));
}

#[test]
fn s_with_marks_plans_each_vm_as_the_cli_does_and_enter_starts_one_job_each() {
    let mut app = app_on(vec![("hv01", fleet_rows())], None, 80, 24);
    mark_all(&mut app);
    assert_eq!(app.list.marked.len(), 4);
    let load = key(&mut app, KeyCode::Char('s'));
    // One facts request per marked VM, to its host; the dialog waits for them.
    assert_eq!(load.len(), 4, "{load:?}");
    assert!(load
        .iter()
        .all(|c| matches!(c, Command::LoadSnapshots { host, .. } if *host == HostId(0))));
    let d = bulk_create(&app);
    assert!(d.memory, "memory where allowed is the point of the dialog");
    assert!(d.rows().iter().all(|r| r.gets() == "reading..."));
    assert!(
        key(&mut app, KeyCode::Enter).is_empty(),
        "nothing runs while reading"
    );
    assert!(bulk_create(&app)
        .error
        .as_deref()
        .unwrap()
        .contains("still reading 4 VMs"));
    answer(&mut app, &load);

    let d = bulk_create(&app);
    let gets: Vec<String> = d.rows().iter().map(|r| r.gets()).collect();
    assert_eq!(
        gets,
        [
            "disk-only, external",
            "disk-only, external",
            "memory, external",
            "memory, external"
        ]
    );
    let notes: Vec<String> = d.rows().iter().map(|r| r.note()).collect();
    assert!(notes[0].contains("shut off"), "{notes:?}");
    assert!(notes[1].starts_with("disk-only: "), "{notes:?}");
    assert!(
        notes[1].contains("host-passthrough"),
        "the reason: {notes:?}"
    );
    assert!(notes[2].is_empty() && notes[3].is_empty());
    // The decision is model::bulk's on the same facts: what the CLI would say.
    let db = app.list.row(HostId(0), "db-passthrough").unwrap().clone();
    let layout = crate::model::storage::Layout::new(&storage_of(&db, NOW as i64));
    let verdict = crate::model::bulk::verdict_for(&layout, Some(&demo_host().capabilities));
    let intent = crate::model::bulk::BulkIntent {
        name: d.name_for("db-passthrough").unwrap(),
        memory: true,
        quiesce: false,
        location: None,
    };
    let cli = crate::model::bulk::decide_for_bulk(&layout, &verdict, &intent).unwrap();
    assert!(
        matches!(&d.rows()[1], dialogs::bulk_create::CreateRow::Create { choice, .. } if **choice == cli)
    );

    // One name for all, with a description.
    for _ in 0..20 {
        key(&mut app, KeyCode::Backspace);
    }
    typed(&mut app, "before-patch");
    key(&mut app, KeyCode::Tab);
    typed(&mut app, "monthly patches");
    let cmds = key(&mut app, KeyCode::Enter);
    let jobs = started(&cmds);
    assert_eq!(jobs.len(), 4);
    for (host, _, job) in &jobs {
        assert_eq!(*host, HostId(0));
        let Job::CreateSnapshot(j) = job else {
            panic!("{job:?}")
        };
        assert_eq!(j.name, "before-patch");
        assert_eq!(j.description.as_deref(), Some("monthly patches"));
        assert_eq!(
            j.memory,
            j.domain.ends_with("qemu64") || j.domain.ends_with("hostmodel")
        );
        assert!(!j.quiesce);
    }
    assert!(app.overlay.is_none());
    assert_eq!(app.jobs.running.len(), 4, "the jobs bar shows each");
    assert_eq!(app.list.marked.len(), 4, "the marks stay for d");

    // One fails; the others still end, and one table tells all.
    let (h, id, _) = jobs[1].clone();
    finish(&mut app, h, id, Err("libvirt: disk full"));
    assert!(
        app.overlay.is_none(),
        "no box per job: one table at the end"
    );
    assert_eq!(app.status.as_deref(), Some("Snapshot 4 VMs: 1 of 4 ended"));
    for (h, id, _) in [&jobs[0], &jobs[2], &jobs[3]] {
        finish(&mut app, *h, *id, Ok("created"));
    }
    let Some(Overlay::Message { title, text, .. }) = &app.overlay else {
        panic!("no results: {:?}", app.overlay)
    };
    assert_eq!(title, "Snapshot 4 VMs");
    assert!(text.starts_with("4 VMs: 3 ok, 1 FAILED\n"), "{text}");
    assert!(
        text.contains("\nFAILED  db-passthrough: libvirt: disk full"),
        "{text}"
    );
}

#[test]
fn marks_on_several_hosts_send_each_request_and_job_to_the_rows_host() {
    let rows = fleet_rows();
    let mut app = app_on(
        vec![
            ("hv01", rows[..2].to_vec()),
            ("hv02", rows[2..].to_vec()),
            (
                "rack-b",
                vec![row("mail", "host-model", DomainState::Running, 0, None)],
            ),
        ],
        Some(2),
        100,
        30,
    );
    mark_all(&mut app);
    assert_eq!(app.list.marked.len(), 5);
    let load = key(&mut app, KeyCode::Char('s'));
    let asked: Vec<(usize, String)> = load
        .iter()
        .filter_map(|c| match c {
            Command::LoadSnapshots { host, domain } => Some((host.0, domain.clone())),
            _ => None,
        })
        .collect();
    // The disconnected host is not asked: its row is refused with the reason.
    assert_eq!(
        asked,
        [
            (0, "archive".into()),
            (0, "db-passthrough".into()),
            (1, "legacy-qemu64".into()),
            (1, "web-hostmodel".into())
        ]
    );
    answer(&mut app, &load);
    let d = bulk_create(&app);
    let mail = d.rows()[4].clone();
    assert_eq!(mail.gets(), "REFUSED");
    assert!(mail.note().contains("rack-b"), "{}", mail.note());
    let cmds = key(&mut app, KeyCode::Enter);
    let hosts: Vec<(usize, String)> = started(&cmds)
        .into_iter()
        .map(|(h, _, j)| (h.0, j.domain().unwrap_or_default().to_string()))
        .collect();
    assert_eq!(
        hosts,
        [
            (0, "archive".into()),
            (0, "db-passthrough".into()),
            (1, "legacy-qemu64".into()),
            (1, "web-hostmodel".into())
        ]
    );
    // The refused one is in the results too, with its host.
    for (h, id, _) in started(&cmds) {
        finish(&mut app, h, id, Ok("created"));
    }
    let Some(Overlay::Message { text, .. }) = &app.overlay else {
        panic!("{:?}", app.overlay)
    };
    assert!(text.starts_with("5 VMs: 4 ok, 1 refused"), "{text}");
    assert!(
        text.contains("refused mail (rack-b): not connected"),
        "{text}"
    );
}

#[test]
fn d_with_marks_deletes_a_name_from_each_vm_that_has_it() {
    let rows = fleet_rows();
    let mut app = app_on(
        vec![("hv01", rows[..2].to_vec()), ("hv02", rows[2..].to_vec())],
        None,
        100,
        30,
    );
    // Without marks, d says what it is for.
    assert!(key(&mut app, KeyCode::Char('d')).is_empty());
    assert!(app
        .status
        .as_deref()
        .unwrap()
        .contains("mark them with Space"));
    mark_all(&mut app);
    let load = key(&mut app, KeyCode::Char('d'));
    assert_eq!(load.len(), 4);
    // Three of the four have "before-patch": internal on two, external on the blocked one.
    for c in &load {
        let Command::LoadSnapshots { host, domain } = c else {
            continue;
        };
        let r = app.list.row(*host, domain).cloned().unwrap();
        let mut facts = storage_of(&r, NOW as i64);
        let fake = crate::model::storage::fixture::Fake::new(domain, r.state.unwrap());
        let fake = match domain.as_str() {
            "archive" => fake,
            "db-passthrough" => fake.external("before-patch", false),
            _ => fake.internal("before-patch", true),
        };
        let built = fake.build();
        facts.snapshots = built.snapshots;
        facts.current = built.current;
        facts.config = built.config;
        facts.persistent_config = built.persistent_config;
        app.update(Msg::Worker(
            *host,
            Event::Snapshots {
                domain: domain.clone(),
                result: Ok(Box::new(crate::libvirt::snapshots::DomainSnapshots {
                    domain: domain.clone(),
                    storage: Some(Box::new(facts)),
                    ..Default::default()
                })),
            },
        ));
    }
    assert!(key(&mut app, KeyCode::Enter).is_empty());
    assert!(bulk_delete(&app)
        .error
        .as_deref()
        .unwrap()
        .contains("type the snapshot"));
    // Tab offers the name the most VMs hold.
    key(&mut app, KeyCode::Tab);
    let d = bulk_delete(&app);
    assert_eq!(d.name.value(), "before-patch");
    assert_eq!(d.names(), [("before-patch".to_string(), 3)]);
    assert_eq!(d.tally(), "4 VMs: 3 delete, 1 nothing to do");
    let first: Vec<String> = d.rows().iter().map(|r| r.lines()[0].text.clone()).collect();
    assert_eq!(
        first[0],
        "has no snapshot named 'before-patch': nothing to do"
    );
    assert!(
        first[1..]
            .iter()
            .all(|l| l.starts_with("Deletes 1 snapshot: before-patch")),
        "{first:?}"
    );
    let cmds = key(&mut app, KeyCode::Enter);
    let jobs = started(&cmds);
    let went: Vec<(usize, String)> = jobs
        .iter()
        .map(|(h, _, j)| (h.0, j.domain().unwrap_or_default().to_string()))
        .collect();
    assert_eq!(
        went,
        [
            (0, "db-passthrough".into()),
            (1, "legacy-qemu64".into()),
            (1, "web-hostmodel".into())
        ]
    );
    assert!(jobs.iter().all(|(_, _, j)| matches!(j, Job::DeleteSnapshot(d) if d.snapshot == "before-patch" && d.mode == crate::model::storage::DeleteMode::This)));
    for (h, id, _) in jobs {
        finish(&mut app, h, id, Ok("deleted"));
    }
    let Some(Overlay::Message { title, text, .. }) = &app.overlay else {
        panic!("{:?}", app.overlay)
    };
    assert_eq!(title, "Delete 'before-patch' from 3 VMs");
    assert!(
        text.contains("skipped archive (hv01): has no snapshot named"),
        "{text}"
    );
}

#[test]
fn a_results_table_waits_for_an_open_box_to_close() {
    let mut app = app_on(vec![("hv01", fleet_rows())], None, 80, 24);
    mark_all(&mut app);
    let load = key(&mut app, KeyCode::Char('s'));
    answer(&mut app, &load);
    let jobs = started(&key(&mut app, KeyCode::Enter));
    key(&mut app, KeyCode::Char('?'));
    for (h, id, _) in jobs {
        finish(&mut app, h, id, Ok("created"));
    }
    assert_eq!(app.overlay, Some(Overlay::Help), "the help is not replaced");
    key(&mut app, KeyCode::Esc);
    assert!(matches!(app.overlay, Some(Overlay::Message { .. })));
}

#[test]
fn names_a_bulk_create_gave_read_back_as_one_pattern_for_d() {
    let mut app = app_on(vec![("hv01", fleet_rows())], None, 100, 30);
    mark_all(&mut app);
    let load = key(&mut app, KeyCode::Char('d'));
    // Each VM holds "<its name>-20261126-143000", as `{domain}-{time}` named them, and one
    // VM holds another.
    for c in &load {
        let Command::LoadSnapshots { host, domain } = c else {
            continue;
        };
        let r = app.list.row(*host, domain).cloned().unwrap();
        let mut facts = storage_of(&r, NOW as i64);
        let mut fake = crate::model::storage::fixture::Fake::new(domain, r.state.unwrap())
            .internal(&format!("{domain}-20261126-143000"), false);
        if domain == "archive" {
            fake = fake.internal("old", false);
        }
        let built = fake.build();
        facts.snapshots = built.snapshots;
        facts.current = built.current;
        facts.config = built.config;
        facts.persistent_config = built.persistent_config;
        app.update(Msg::Worker(
            *host,
            Event::Snapshots {
                domain: domain.clone(),
                result: Ok(Box::new(crate::libvirt::snapshots::DomainSnapshots {
                    domain: domain.clone(),
                    storage: Some(Box::new(facts)),
                    ..Default::default()
                })),
            },
        ));
    }
    key(&mut app, KeyCode::Tab);
    let d = bulk_delete(&app);
    assert_eq!(d.name.value(), "{domain}-20261126-143000");
    assert_eq!(d.names()[0], ("{domain}-20261126-143000".to_string(), 4));
    let cmds = key(&mut app, KeyCode::Enter);
    let names: Vec<String> = started(&cmds)
        .into_iter()
        .map(|(_, _, j)| match j {
            Job::DeleteSnapshot(d) => d.snapshot,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        names,
        [
            "archive-20261126-143000",
            "db-passthrough-20261126-143000",
            "legacy-qemu64-20261126-143000",
            "web-hostmodel-20261126-143000"
        ]
    );
}
