use crate::libvirt::console::{ConsoleEnd, ConsoleError};
use crossterm::event::{KeyCode, KeyEvent};

use super::*;
use crate::app::{Connection, Msg, Overlay};
use crate::libvirt::jobs::JobUpdate;
use crate::libvirt::worker::Event;
use crate::model::inventory::HostId;
use crate::model::DomainState;

fn key(c: char) -> Msg {
    Msg::Key(KeyEvent::from(KeyCode::Char(c)))
}

fn row(name: &str, state: DomainState) -> DomainInfo {
    let mut r = DomainInfo::named(name.into(), format!("uuid-{name}"));
    r.state = Some(state);
    r
}

fn app(rows: Vec<DomainInfo>) -> App {
    let mut app = App::new("test".into(), 80, 24);
    app.hosts.all[0].connection = Connection::Connected;
    app.update(Msg::Worker(HostId(0), Event::DomainList(rows)));
    app.now = 1_000;
    app
}

fn lifecycle_job(cmd: &Command) -> Option<(&str, LifecycleAction)> {
    match cmd {
        Command::StartJob {
            job: Job::Lifecycle { domain, action },
            ..
        } => Some((domain.as_str(), *action)),
        _ => None,
    }
}

#[test]
fn keys_that_do_not_apply_say_why_and_do_nothing() {
    let mut app = app(vec![
        row("web-01", DomainState::Running),
        row("db-01", DomainState::Shutoff),
    ]);
    assert!(app.update(key('S')).is_empty());
    assert_eq!(app.status.as_deref(), Some("web-01 is already running"));
    assert!(!key_enabled(&app, LifecycleKey::Start));
    assert!(key_enabled(&app, LifecycleKey::Shutdown));
    app.update(key('j'));
    for k in ['D', 'F', 'R', 'p'] {
        assert!(app.update(key(k)).is_empty(), "{k}");
        assert_eq!(app.status.as_deref(), Some("db-01 is not running"), "{k}");
    }
    app.update(key('c'));
    assert!(app
        .status
        .as_deref()
        .unwrap()
        .contains("db-01 is not running"));
    assert_eq!(footer_label(&app, LifecycleKey::PauseResume), "pause");
}

#[test]
fn a_read_only_connection_refuses_every_lifecycle_key() {
    let mut app = app(vec![row("web-01", DomainState::Running)]);
    app.hosts.all[0].info = Some(crate::model::inventory::HostInfo {
        uri: "qemu:///system".into(),
        hostname: None,
        hypervisor: "QEMU".into(),
        hypervisor_version: 10_000_000,
        libvirt_version: 11_003_000,
        capabilities: Default::default(),
        readonly: true,
        demo: None,
    });
    for k in ['S', 'D', 'F', 'R', 'p', 'c'] {
        assert!(app.update(key(k)).is_empty(), "{k}");
        assert!(app.status.as_deref().unwrap().contains("read-only"), "{k}");
    }
    assert!(LifecycleKey::ALL.iter().all(|k| !key_enabled(&app, *k)));
}

#[test]
fn start_pause_resume_and_reboot_start_jobs_and_the_row_shows_the_transition() {
    let mut app = app(vec![
        row("a", DomainState::Shutoff),
        row("b", DomainState::Paused),
    ]);
    let cmds = app.update(key('S'));
    assert_eq!(lifecycle_job(&cmds[0]), Some(("a", LifecycleAction::Start)));
    assert_eq!(
        transition_text(&app, HostId(0), "a").as_deref(),
        Some("starting...")
    );
    // A second key on a busy domain is refused.
    assert!(app.update(key('S')).is_empty());
    assert!(app.status.as_deref().unwrap().contains("a is busy"));
    app.update(key('j'));
    assert_eq!(footer_label(&app, LifecycleKey::PauseResume), "resume");
    let cmds = app.update(key('p'));
    assert_eq!(
        lifecycle_job(&cmds[0]),
        Some(("b", LifecycleAction::Resume))
    );
}

#[test]
fn p_wakes_a_guest_that_suspended_itself_to_ram() {
    let mut app = app(vec![row("sleepy", DomainState::Pmsuspended)]);
    assert_eq!(footer_label(&app, LifecycleKey::PauseResume), "wake");
    let cmds = app.update(key('p'));
    assert_eq!(
        lifecycle_job(&cmds[0]),
        Some(("sleepy", LifecycleAction::Resume))
    );
}

#[test]
fn shutdown_counts_down_then_shows_the_question() {
    let mut app = app(vec![row("web-01", DomainState::Running)]);
    app.lifecycle.shutdown_timeout = 120;
    let cmds = app.update(key('D'));
    let Some(Command::StartJob { id, .. }) = cmds.first() else {
        panic!("{cmds:?}")
    };
    assert_eq!(
        lifecycle_job(&cmds[0]),
        Some(("web-01", LifecycleAction::Shutdown { timeout_secs: 120 }))
    );
    app.update(Msg::Tick { now: 1_083 });
    assert_eq!(
        transition_text(&app, HostId(0), "web-01").as_deref(),
        Some("shutting down 37s")
    );
    // The job's own count wins once it has sent one.
    app.update(Msg::Worker(
        HostId(0),
        Event::Job {
            id: *id,
            update: JobUpdate::Step("waiting for web-01 to shut down (36 s left)".into()),
        },
    ));
    assert_eq!(
        transition_text(&app, HostId(0), "web-01").as_deref(),
        Some("shutting down 36s")
    );
    let question = JobUpdate::Question(lifecycle::force_off_question("web-01"));
    app.update(Msg::Worker(
        HostId(0),
        Event::Job {
            id: *id,
            update: question,
        },
    ));
    assert_eq!(
        transition_text(&app, HostId(0), "web-01").as_deref(),
        Some("force off?")
    );
    app.update(Msg::Worker(
        HostId(0),
        Event::Job {
            id: *id,
            update: JobUpdate::Finished(Ok("web-01 forced off".into())),
        },
    ));
    assert_eq!(transition_text(&app, HostId(0), "web-01"), None);
}

#[test]
fn keys_act_on_the_snapshot_views_domain() {
    let mut app = app(vec![
        row("a", DomainState::Running),
        row("b", DomainState::Shutoff),
    ]);
    app.update(key('j'));
    app.update(Msg::Key(KeyEvent::from(KeyCode::Enter)));
    assert!(
        matches!(app.screen, Screen::Snapshots(_)),
        "{:?}",
        app.screen
    );
    let cmds = app.update(key('S'));
    assert_eq!(lifecycle_job(&cmds[0]), Some(("b", LifecycleAction::Start)));
    // R is reboot here too (refresh is F5 / Ctrl-R): b is not running.
    assert!(app.update(key('R')).is_empty());
    assert!(app.status.as_deref().unwrap().contains("b is busy"));
}

#[test]
fn force_off_is_confirmed_with_the_name() {
    let mut app = app(vec![row("web-01", DomainState::Running)]);
    assert!(app.update(key('F')).is_empty());
    let Some(Overlay::Confirm(c)) = &app.overlay else {
        panic!("no confirmation")
    };
    assert_eq!(c.lines[0], "Force web-01 off now?");
    // A stray key does not decide; n changes nothing.
    assert!(app.update(key('x')).is_empty());
    assert!(app.update(key('n')).is_empty());
    assert!(app.overlay.is_none());
    app.update(key('F'));
    let cmds = app.update(key('y'));
    assert_eq!(
        lifecycle_job(&cmds[0]),
        Some(("web-01", LifecycleAction::ForceOff))
    );
}

#[test]
fn bulk_start_confirms_with_count_and_names_and_skips_running_ones() {
    let mut app = app(vec![
        row("a", DomainState::Shutoff),
        row("b", DomainState::Running),
        row("c", DomainState::Shutoff),
        row("d", DomainState::Shutoff),
    ]);
    for _ in 0..4 {
        app.update(key(' '));
    }
    assert_eq!(app.list.marked.len(), 4);
    assert!(app.update(key('S')).is_empty());
    let Some(Overlay::Confirm(c)) = &app.overlay else {
        panic!("no confirmation")
    };
    assert_eq!(c.lines[0], "Start 3 marked domains?");
    assert_eq!(c.lines[1], "a, c, d");
    assert_eq!(c.lines[2], "Skipped: b is already running");
    let cmds = app.update(key('y'));
    let started: Vec<_> = cmds.iter().filter_map(lifecycle_job).collect();
    assert_eq!(
        started,
        ["a", "c", "d"]
            .map(|n| (n, LifecycleAction::Start))
            .to_vec()
    );
    assert!(app.list.marked.is_empty());
}

#[test]
fn console_opens_through_the_worker_and_a_busy_one_offers_force() {
    let mut app = app(vec![row("web-01", DomainState::Running)]);
    assert_eq!(
        app.update(key('c')),
        vec![Command::OpenConsole {
            host: HostId(0),
            domain: "web-01".into(),
            force: false
        }]
    );
    app.update(Msg::Worker(
        HostId(0),
        Event::ConsoleFailed {
            domain: "web-01".into(),
            error: ConsoleError::Busy {
                name: "web-01".into(),
            },
        },
    ));
    assert!(matches!(app.overlay, Some(Overlay::Confirm(_))));
    assert_eq!(
        app.update(key('y')),
        vec![Command::OpenConsole {
            host: HostId(0),
            domain: "web-01".into(),
            force: true
        }]
    );
    app.update(Msg::ConsoleEnded {
        host: HostId(0),
        domain: "web-01".into(),
        end: Ok(ConsoleEnd::Detached),
    });
    assert_eq!(
        app.status.as_deref(),
        Some("detached from web-01's console")
    );
}
