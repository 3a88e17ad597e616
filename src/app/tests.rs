use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::*;
use crate::model::inventory::DomainInfo;

fn key(c: KeyCode) -> Msg {
    Msg::Key(KeyEvent::from(c))
}

fn app_with(n: usize) -> App {
    let mut app = App::new("test:///default".into(), 80, 24);
    let rows = (0..n)
        .map(|i| DomainInfo::named(format!("vm{i:03}"), format!("uuid-{i}")))
        .collect();
    app.update(Msg::Worker(HostId(0), Event::DomainList(rows)));
    app
}

#[test]
fn moves_and_clamps() {
    let mut app = app_with(3);
    app.update(key(KeyCode::Char('k')));
    assert_eq!(app.list.selected, 0);
    app.update(key(KeyCode::Char('j')));
    app.update(key(KeyCode::Down));
    app.update(key(KeyCode::Down));
    assert_eq!(app.list.selected, 2);
    app.update(key(KeyCode::Char('g')));
    assert_eq!(app.list.selected, 0);
    app.update(key(KeyCode::Char('G')));
    assert_eq!(app.list.selected, 2);
}

#[test]
fn paging_scrolls_and_keeps_selection_visible() {
    let mut app = app_with(100);
    let page = app.page_rows();
    app.update(key(KeyCode::PageDown));
    assert_eq!(app.list.selected, page);
    assert!(app.list.offset <= app.list.selected);
    assert!(app.list.selected < app.list.offset + page);
    app.update(key(KeyCode::End));
    assert_eq!(app.list.selected, 99);
    assert_eq!(app.list.offset, 100 - page);
    app.update(Msg::Resize {
        width: 80,
        height: 50,
    });
    assert!(app.list.offset <= 100 - app.page_rows());
}

#[test]
fn q_and_ctrl_c_quit() {
    let mut app = app_with(1);
    assert_eq!(app.update(key(KeyCode::Char('q'))), vec![Command::Quit]);
    let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
    assert_eq!(app.update(Msg::Key(ctrl_c)), vec![Command::Quit]);
}

#[test]
fn behind_the_too_small_screen_only_q_and_ctrl_c_act() {
    let mut app = app_with(3);
    app.update(Msg::Resize {
        width: 40,
        height: 10,
    });
    assert!(app.too_small());
    // What a user types blind must not open a dialog, take a snapshot or force a VM off.
    for c in ['s', 'F', 'D', 'j', ' ', 'y', '?', ':', '/'] {
        assert_eq!(app.update(key(KeyCode::Char(c))), vec![], "{c}");
    }
    for k in [KeyCode::Enter, KeyCode::Esc, KeyCode::Tab, KeyCode::F(5)] {
        assert_eq!(app.update(key(k)), vec![], "{k:?}");
    }
    assert!(app.overlay.is_none() && app.input.is_none());
    assert_eq!(app.list.selected, 0);
    assert!(app.list.marked.is_empty());
    assert_eq!(app.update(key(KeyCode::Char('q'))), vec![Command::Quit]);
    let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
    assert_eq!(app.update(Msg::Key(ctrl_c)), vec![Command::Quit]);
    // Large enough again: keys act as before.
    app.update(Msg::Resize {
        width: 80,
        height: 24,
    });
    app.update(key(KeyCode::Char('j')));
    assert_eq!(app.list.selected, 1);
}

#[test]
fn a_new_listing_keeps_details_and_selection() {
    let mut app = app_with(3);
    app.update(key(KeyCode::Char('j')));
    let mut filled = DomainInfo::named("vm001".into(), "uuid-1".into());
    filled.snapshots = Some(4);
    app.update(Msg::Worker(HostId(0), Event::DomainDetails(vec![filled])));
    // vm000 went away; vm001 stays selected and keeps its details until re-read.
    let rows = vec![
        DomainInfo::named("vm001".into(), "uuid-1".into()),
        DomainInfo::named("vm002".into(), "uuid-2".into()),
    ];
    app.update(Msg::Worker(HostId(0), Event::DomainList(rows)));
    assert_eq!(app.list.selected, 0);
    assert_eq!(app.list.rows[0].snapshots, Some(4));
}

#[test]
fn too_small_below_minimum() {
    let mut app = app_with(1);
    app.update(Msg::Resize {
        width: 40,
        height: 10,
    });
    assert!(app.too_small());
}

fn typed(app: &mut App, text: &str) {
    for c in text.chars() {
        app.update(key(KeyCode::Char(c)));
    }
}

#[test]
fn slash_filters_live_and_esc_clears() {
    let mut app = app_with(20);
    app.update(key(KeyCode::Char('/')));
    typed(&mut app, "vm01");
    assert_eq!(app.list.visible_len(), 10, "vm010..vm019");
    app.update(key(KeyCode::Enter));
    assert!(app.input.is_none());
    assert_eq!(app.list.selected_row().unwrap().name, "vm010");
    app.update(key(KeyCode::Esc));
    assert_eq!(app.list.visible_len(), 20);
    assert_eq!(
        app.list.selected_row().unwrap().name,
        "vm010",
        "selection kept"
    );
}

#[test]
fn the_filter_is_edited_at_its_cursor_and_applies_live() {
    let mut app = app_with(20);
    app.update(key(KeyCode::Char('/')));
    typed(&mut app, "vm1");
    assert_eq!(app.list.visible_len(), 0, "vm000..vm019: no name holds vm1");
    // "vm1" -> "vm01": Left, then the missing digit in the middle.
    app.update(key(KeyCode::Left));
    typed(&mut app, "0");
    assert_eq!(app.list.filter, "vm01");
    assert_eq!(app.list.visible_len(), 10);
    app.update(key(KeyCode::Home));
    app.update(key(KeyCode::Delete));
    assert_eq!(app.list.filter, "m01");
}

#[test]
fn filter_matches_state_and_cpu_mode() {
    let mut app = App::new("x".into(), 80, 24);
    let mut a = DomainInfo::named("a".into(), "ua".into());
    a.state = Some(crate::model::DomainState::Paused);
    let b = DomainInfo::named("b".into(), "ub".into());
    app.update(Msg::Worker(HostId(0), Event::DomainList(vec![a, b])));
    app.list.set_filter("paused".into());
    assert_eq!(app.list.visible_len(), 1);
    assert_eq!(app.list.selected_row().unwrap().name, "a");
}

#[test]
fn colon_jumps_even_outside_the_filter() {
    let mut app = app_with(50);
    app.list.set_filter("vm00".into());
    app.update(key(KeyCode::Char(':')));
    typed(&mut app, "vm042");
    app.update(key(KeyCode::Enter));
    assert_eq!(app.list.selected_row().unwrap().name, "vm042");
    app.update(key(KeyCode::Char(':')));
    typed(&mut app, "nope");
    app.update(key(KeyCode::Enter));
    assert_eq!(app.status.as_deref(), Some("no domain named like 'nope'"));
}

#[test]
fn mutations_are_refused_while_disconnected_or_read_only() {
    let mut app = app_with(1);
    assert!(app.mutation_refused().is_some(), "not connected yet");
    app.update(Msg::Worker(
        HostId(0),
        Event::Disconnected {
            reason: "daemon gone".into(),
            retry_in: 4,
        },
    ));
    assert!(app.mutation_refused().unwrap().contains("daemon gone"));
}

#[test]
fn job_question_takes_y_or_n_only() {
    use crate::libvirt::jobs::{JobQuestion, JobUpdate};
    let mut app = app_with(1);
    let cmd = app.start_job(HostId(0), Job::Probe { seconds: 1 });
    let Command::StartJob { id, .. } = cmd else {
        panic!("{cmd:?}")
    };
    let q = JobQuestion {
        text: "force?".into(),
        yes: "force".into(),
        no: "keep".into(),
    };
    app.update(Msg::Worker(
        HostId(0),
        Event::Job {
            id,
            update: JobUpdate::Question(q),
        },
    ));
    assert!(
        app.update(key(KeyCode::Char('j'))).is_empty(),
        "stray keys wait"
    );
    let cmds = app.update(key(KeyCode::Char('y')));
    assert_eq!(
        cmds,
        vec![Command::Control {
            host: HostId(0),
            id,
            control: JobControl::Answer(true)
        }]
    );
    app.update(Msg::Worker(
        HostId(0),
        Event::Job {
            id,
            update: JobUpdate::Finished(Ok("done".into())),
        },
    ));
    assert!(app.jobs.running.is_empty());
    assert_eq!(app.status.as_deref(), Some("done"));
}

#[test]
fn a_failure_wider_than_the_status_line_opens_in_full() {
    use crate::libvirt::jobs::JobUpdate;
    let mut app = app_with(1);
    let finish = |app: &mut App, why: &str| {
        let Command::StartJob { id, .. } = app.start_job(HostId(0), Job::Probe { seconds: 1 })
        else {
            panic!("no job")
        };
        app.update(Msg::Worker(
            HostId(0),
            Event::Job {
                id,
                update: JobUpdate::Finished(Err(why.into())),
            },
        ));
    };
    finish(&mut app, "short");
    assert_eq!(app.status.as_deref(), Some("probe 1s failed: short"));
    assert!(
        app.overlay.is_none(),
        "a short failure stays on the status line"
    );

    let long = "the connection to libvirt was lost while this ran, so its outcome is unknown; \
                the list and snapshots are re-read after reconnecting (End of file)";
    finish(&mut app, long);
    let Some(Overlay::Message { text, .. }) = &app.overlay else {
        panic!("{:?}", app.overlay)
    };
    assert!(text.ends_with("after reconnecting (End of file)"), "{text}");
}
