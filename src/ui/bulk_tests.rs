//! Snapshots of the bulk dialogs (`s` and `d` with marked rows) at 80x24 and 160x48, and of
//! their results table.

use crossterm::event::KeyCode;

use super::tests::{loaded, render, row, storage_of};
use super::Theme;
use crate::app::bulk_tests::{answer, app_on, fleet_rows, key, mark_all, typed, NOW};
use crate::app::{App, Command, HostId, Msg};
use crate::libvirt::snapshots::DomainSnapshots;
use crate::libvirt::worker::Event;
use crate::model::storage::fixture::Fake;
use crate::model::DomainState;

const UNICODE: Theme = Theme {
    color: true,
    ascii: false,
};
const ASCII: Theme = Theme {
    color: false,
    ascii: true,
};

/// The facts of `domain` on `host` with snapshots made by `fake` (the CPU stays the row's).
fn answer_with(app: &mut App, host: HostId, domain: &str, fake: impl Fn(Fake) -> Fake) {
    let r = app.list.row(host, domain).cloned().unwrap();
    let mut facts = storage_of(&r, NOW as i64);
    // The fake's disk is the row's own, so the snapshots sit on the chain the VM runs on.
    let mut base = Fake::new(domain, r.state.unwrap());
    base.disks[0].top = facts.config.disks[0].source.clone().unwrap();
    let built = fake(base).build();
    facts.snapshots = built.snapshots;
    facts.current = built.current;
    let top = built.config.disks[0].source.clone();
    facts.config.disks[0].source = top.clone();
    if let Some(p) = facts.persistent_config.as_mut() {
        p.disks[0].source = top;
    }
    app.update(Msg::Worker(
        host,
        Event::Snapshots {
            domain: domain.into(),
            result: Ok(Box::new(DomainSnapshots {
                domain: domain.into(),
                storage: Some(Box::new(facts)),
                ..Default::default()
            })),
        },
    ));
}

#[test]
fn bulk_create_80x24() {
    let mut app = app_on(vec![("hv01", fleet_rows())], None, 80, 24);
    mark_all(&mut app);
    let load = key(&mut app, KeyCode::Char('s'));
    let reading = render(&app, UNICODE, 80, 24);
    assert!(reading.contains("reading..."), "{reading}");
    answer(&mut app, &load);
    // The blocked VM's row selected: its reason in full under the table.
    key(&mut app, KeyCode::Down);
    insta::assert_snapshot!(render(&app, UNICODE, 80, 24));
    // On a bare console (TERM=linux) it draws with ASCII only.
    let ascii = render(&app, ASCII, 80, 24);
    assert!(ascii.is_ascii(), "{ascii}");
}

#[test]
fn bulk_create_160x48_several_hosts() {
    let rows = fleet_rows();
    let mut hv02 = rows[2..].to_vec();
    hv02.push(row(
        "rt-passthrough",
        "hp-off",
        DomainState::Running,
        1,
        Some("base"),
    ));
    let mut app = app_on(
        vec![
            ("hv01", rows[..2].to_vec()),
            ("hv02", hv02),
            (
                "rack-b",
                vec![row("mail", "host-model", DomainState::Running, 0, None)],
            ),
        ],
        Some(2),
        160,
        48,
    );
    mark_all(&mut app);
    let load = key(&mut app, KeyCode::Char('s'));
    let (plain, mixed): (Vec<Command>, Vec<Command>) = load.into_iter().partition(
        |c| !matches!(c, Command::LoadSnapshots { domain, .. } if domain == "rt-passthrough"),
    );
    answer(&mut app, &plain);
    assert_eq!(mixed.len(), 1);
    // Its tree is internal; memory is blocked, so a disk-only one would be external: it would
    // mix kinds, and the row says so.
    answer_with(&mut app, HostId(1), "rt-passthrough", |f| {
        f.internal("base", false)
    });
    for _ in 0..30 {
        key(&mut app, KeyCode::Backspace);
    }
    typed(&mut app, "nightly-{utc}");
    key(&mut app, KeyCode::Tab);
    typed(&mut app, "before the kernel update");
    key(&mut app, KeyCode::Tab);
    key(&mut app, KeyCode::Tab);
    key(&mut app, KeyCode::Char(' '));
    for _ in 0..4 {
        key(&mut app, KeyCode::Down);
    }
    let screen = render(&app, UNICODE, 160, 48);
    assert!(screen.contains("nightly-20261126-143000Z"), "{screen}");
    assert!(screen.contains("mixes kinds"), "{screen}");
    insta::assert_snapshot!(screen);
}

#[test]
fn bulk_delete_80x24_and_160x48() {
    for (w, h) in [(80, 24), (160, 48)] {
        let rows = fleet_rows();
        let mut app = app_on(vec![("hv01", rows)], None, w, h);
        mark_all(&mut app);
        let load = key(&mut app, KeyCode::Char('d'));
        for c in &load {
            let Command::LoadSnapshots { domain, .. } = c else {
                continue;
            };
            answer_with(&mut app, HostId(0), domain, |f| match domain.as_str() {
                "archive" => f,
                // An external snapshot with an external child: merged into its base.
                "db-passthrough" => f
                    .external("before-patch", false)
                    .external("after-patch", false),
                "legacy-qemu64" => f.internal("before-patch", true),
                // Internal, but the VM runs on a later overlay now: libvirt refuses while
                // it runs, and the row says so.
                _ => f
                    .internal("before-patch", true)
                    .external("after-patch", false),
            });
        }
        typed(&mut app, "before-patch");
        key(&mut app, KeyCode::Down);
        assert!(render(&app, ASCII, w, h).is_ascii());
        insta::assert_snapshot!(format!("bulk_delete_{w}x{h}"), render(&app, UNICODE, w, h));
    }
}

#[test]
fn the_results_table_after_a_bulk_create() {
    let mut app = app_on(vec![("hv01", fleet_rows())], None, 80, 24);
    mark_all(&mut app);
    let load = key(&mut app, KeyCode::Char('s'));
    for c in &load {
        if let Command::LoadSnapshots { host, domain } = c {
            let r = app.list.row(*host, domain).cloned().unwrap();
            app.update(Msg::Worker(*host, loaded(&r, NOW as i64)));
        }
    }
    let cmds = key(&mut app, KeyCode::Enter);
    for (i, c) in cmds.iter().enumerate() {
        let Command::StartJob { host, id, job } = c else {
            continue;
        };
        let result = if i == 1 {
            Err(
                "QEMU stopped during the snapshot: db-passthrough crashed; no snapshot was \
                 created"
                    .to_string(),
            )
        } else {
            Ok(format!(
                "snapshot of {} created",
                job.domain().unwrap_or("?")
            ))
        };
        app.update(Msg::Worker(
            *host,
            Event::Job {
                id: *id,
                update: crate::libvirt::jobs::JobUpdate::Finished(result),
            },
        ));
    }
    insta::assert_snapshot!(render(&app, ASCII, 80, 24));
}
