//! The host dimension: rows stamped with their host, each host's listing replacing only its
//! own rows, `/` matching host names, and every command going to the row's own host.

use crossterm::event::{KeyCode, KeyEvent};

use super::*;
use crate::libvirt::jobs::lifecycle::LifecycleAction;
use crate::model::inventory::DomainInfo;
use crate::model::DomainState;

fn key(c: KeyCode) -> Msg {
    Msg::Key(KeyEvent::from(c))
}

fn row(name: &str, state: DomainState) -> DomainInfo {
    let mut r = DomainInfo::named(name.into(), format!("uuid-{name}"));
    r.state = Some(state);
    r
}

fn info(uri: &str) -> Box<HostInfo> {
    Box::new(HostInfo {
        uri: uri.into(),
        hostname: None,
        hypervisor: "QEMU".into(),
        hypervisor_version: 10_000_000,
        libvirt_version: 11_003_000,
        capabilities: Default::default(),
        readonly: false,
        demo: None,
    })
}

/// Two hosts, both connected, each with a `web` (same name on both) and one more domain.
fn two_hosts() -> App {
    let mut app = App::with_hosts(
        vec![
            ("hv1".into(), "qemu+ssh://hv1/system".into()),
            ("hv2".into(), "qemu+ssh://hv2/system".into()),
        ],
        100,
        30,
    );
    for (h, other) in [(0, "db"), (1, "mail")] {
        let host = HostId(h);
        app.update(Msg::Worker(
            host,
            Event::Connected(info("qemu+ssh://x/system")),
        ));
        app.update(Msg::Worker(
            host,
            Event::DomainList(vec![
                row(other, DomainState::Shutoff),
                row("web", DomainState::Running),
            ]),
        ));
    }
    app
}

fn select(app: &mut App, host: usize, name: &str) {
    let at = app
        .list
        .visible_rows()
        .position(|r| r.host == HostId(host) && r.name == name)
        .unwrap_or_else(|| panic!("no {name} on host {host}"));
    app.list.move_to(at, 10);
}

#[test]
fn rows_are_grouped_by_host_and_a_listing_replaces_only_its_own() {
    let mut app = two_hosts();
    let shown: Vec<(usize, &str)> = app
        .list
        .rows
        .iter()
        .map(|r| (r.host.0, r.name.as_str()))
        .collect();
    assert_eq!(shown, [(0, "db"), (0, "web"), (1, "mail"), (1, "web")]);
    select(&mut app, 1, "web");
    app.update(Msg::Worker(
        HostId(0),
        Event::DomainList(vec![row("web", DomainState::Running)]),
    ));
    assert_eq!(app.list.rows.len(), 3, "hv1's db is gone, hv2 untouched");
    let sel = app.list.selected_row().unwrap();
    assert_eq!((sel.host, sel.name.as_str()), (HostId(1), "web"));
}

#[test]
fn the_filter_matches_host_names() {
    let mut app = two_hosts();
    app.list.set_filter("hv2".into());
    let names: Vec<&str> = app.list.visible_rows().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["mail", "web"]);
}

#[test]
fn every_command_goes_to_the_rows_own_host() {
    let mut app = two_hosts();
    select(&mut app, 1, "web");
    let cmds = app.update(key(KeyCode::Char('D')));
    assert!(
        matches!(
            &cmds[..],
            [Command::StartJob { host: HostId(1), job: crate::libvirt::jobs::Job::Lifecycle { domain, action: LifecycleAction::Shutdown { .. } }, .. }]
                if domain == "web"
        ),
        "{cmds:?}"
    );
    let cancel = app.update(Msg::Key(KeyEvent::new(
        KeyCode::Char('x'),
        crossterm::event::KeyModifiers::CONTROL,
    )));
    assert!(
        matches!(
            &cancel[..],
            [Command::Control {
                host: HostId(1),
                ..
            }]
        ),
        "{cancel:?}"
    );
    select(&mut app, 0, "web");
    assert_eq!(
        app.update(key(KeyCode::Char('c'))),
        vec![Command::OpenConsole {
            host: HostId(0),
            domain: "web".into(),
            force: false
        }]
    );
    app.update(Msg::Key(KeyEvent::from(KeyCode::Esc)));
    let Some(Command::StartJob { id, .. }) = cmds.first() else {
        panic!("{cmds:?}")
    };
    app.update(Msg::Worker(
        HostId(1),
        Event::Job {
            id: *id,
            update: crate::libvirt::jobs::JobUpdate::Finished(Ok("web shut down".into())),
        },
    ));
    select(&mut app, 1, "web");
    assert_eq!(
        app.update(key(KeyCode::Enter)),
        vec![Command::LoadSnapshots {
            host: HostId(1),
            domain: "web".into()
        }]
    );
    // The snapshot view's keys act on its host's web, not hv1's.
    let cmds = app.update(key(KeyCode::Char('R')));
    assert!(
        matches!(
            &cmds[..],
            [Command::StartJob {
                host: HostId(1),
                ..
            }]
        ),
        "{cmds:?}"
    );
}

#[test]
fn a_disconnected_host_refuses_its_own_rows_only() {
    let mut app = two_hosts();
    app.update(Msg::Worker(
        HostId(0),
        Event::Disconnected {
            reason: "keepalive timed out".into(),
            retry_in: 4,
        },
    ));
    select(&mut app, 0, "db");
    assert!(app.update(key(KeyCode::Char('S'))).is_empty());
    let why = app.status.clone().unwrap();
    assert!(why.contains("on hv1") && why.contains("keepalive"), "{why}");
    select(&mut app, 1, "mail");
    let cmds = app.update(key(KeyCode::Char('S')));
    assert!(matches!(
        &cmds[..],
        [Command::StartJob {
            host: HostId(1),
            ..
        }]
    ));
    let c = app.hosts.counts();
    assert_eq!((c.connected, c.reconnecting, c.failing), (1, 1, 0));
    assert_eq!(
        app.hosts
            .get(HostId(0))
            .and_then(|h| h.trouble())
            .as_deref(),
        Some("hv1: disconnected, reconnecting in 4s (keepalive timed out)")
    );
}

#[test]
fn bulk_marks_span_hosts_and_skip_a_host_that_is_down() {
    let mut app = two_hosts();
    app.update(Msg::Worker(
        HostId(1),
        Event::Disconnected {
            reason: "the daemon closed the connection".into(),
            retry_in: 2,
        },
    ));
    for (h, name) in [(0, "db"), (1, "mail")] {
        select(&mut app, h, name);
        app.update(key(KeyCode::Char(' ')));
    }
    assert!(app.update(key(KeyCode::Char('S'))).is_empty());
    let Some(Overlay::Confirm(c)) = &app.overlay else {
        panic!("{:?}", app.overlay)
    };
    assert_eq!(c.lines[0], "Start 1 marked domain?");
    assert_eq!(c.lines[1], "db (hv1)");
    assert!(c.lines[2].starts_with("Skipped: mail: not connected to libvirt on hv2"));
    let cmds = app.update(key(KeyCode::Char('y')));
    assert!(matches!(
        &cmds[..],
        [Command::StartJob {
            host: HostId(0),
            ..
        }]
    ));
}

#[test]
fn an_answer_for_another_hosts_console_is_ignored() {
    let mut app = two_hosts();
    select(&mut app, 1, "web");
    app.update(key(KeyCode::Char('c')));
    let handle_for = |host| {
        Msg::Worker(
            HostId(host),
            Event::ConsoleFailed {
                domain: "web".into(),
                error: crate::libvirt::console::ConsoleError::Failed("nope".into()),
            },
        )
    };
    app.update(handle_for(0));
    assert_eq!(
        app.lifecycle.console_opening,
        Some((HostId(1), "web".into()))
    );
    app.update(handle_for(1));
    assert_eq!(app.lifecycle.console_opening, None);
}
