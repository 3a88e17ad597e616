//! Snapshots of the lifecycle keys: dimmed footer keys, the shutdown countdown in the row and
//! the jobs bar, the force-off question, and marked rows with the bulk confirmation (ASCII).

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::backend::TestBackend;
use ratatui::style::Color;
use ratatui::Terminal;

use super::tests::{app_with, mixed_rows, render};
use super::{draw, Theme};
use crate::app::{App, Command, Msg};
use crate::libvirt::jobs::lifecycle::force_off_question;
use crate::libvirt::jobs::JobUpdate;
use crate::libvirt::worker::Event;
use crate::model::inventory::HostId;

const UNICODE: Theme = Theme {
    color: true,
    ascii: false,
};

fn key(c: char) -> Msg {
    Msg::Key(KeyEvent::from(KeyCode::Char(c)))
}

fn select(app: &mut App, name: &str) {
    let at = app
        .list
        .visible_rows()
        .position(|r| r.name == name)
        .unwrap_or_else(|| panic!("no row {name}"));
    app.list.move_to(at, 20);
}

/// The footer row, with a second line marking dimmed cells (`~`): styles are the point here.
fn footer_with_dimming(app: &App) -> String {
    let (w, h) = (80, 24);
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    terminal.draw(|f| draw(f, app, &UNICODE)).unwrap();
    let buffer = terminal.backend().buffer();
    let (mut text, mut marks) = (String::new(), String::new());
    for x in 0..w {
        let cell = &buffer[(x, h - 1)];
        text.push_str(cell.symbol());
        let dim = cell.fg == Color::DarkGray && cell.symbol() != " ";
        marks.push(if dim { '~' } else { ' ' });
    }
    format!("{}\n{}\n", text.trim_end(), marks.trim_end())
}

#[test]
fn footer_dims_keys_that_do_not_apply() {
    let mut app = app_with(mixed_rows(), 80, 24);
    select(&mut app, "archive-stopped");
    let stopped = footer_with_dimming(&app);
    select(&mut app, "batch-paused");
    let paused = footer_with_dimming(&app);
    select(&mut app, "app-host-model");
    let running = footer_with_dimming(&app);
    insta::assert_snapshot!(format!(
        "shut off:\n{stopped}paused:\n{paused}running:\n{running}"
    ));
}

#[test]
fn shutdown_countdown_in_the_row_and_the_jobs_bar() {
    let mut app = app_with(mixed_rows(), 80, 24);
    app.update(Msg::Tick { now: 1_000 });
    select(&mut app, "app-host-model");
    let cmds = app.update(key('D'));
    let Some(Command::StartJob { id, .. }) = cmds.first() else {
        panic!("{cmds:?}")
    };
    let id = *id;
    app.update(Msg::Tick { now: 1_083 });
    app.update(Msg::Worker(
        HostId(0),
        Event::Job {
            id,
            update: JobUpdate::Step("waiting for app-host-model to shut down (37 s left)".into()),
        },
    ));
    insta::assert_snapshot!(render(&app, UNICODE, 80, 24));

    app.update(Msg::Tick { now: 1_120 });
    app.update(Msg::Worker(
        HostId(0),
        Event::Job {
            id,
            update: JobUpdate::Question(force_off_question("app-host-model")),
        },
    ));
    insta::assert_snapshot!("shutdown_force_off_question", render(&app, UNICODE, 80, 24));
}

#[test]
fn marked_rows_and_the_bulk_confirmation_in_ascii() {
    let mut app = app_with(mixed_rows(), 80, 24);
    select(&mut app, "app-host-model");
    app.update(key(' '));
    app.update(key(' '));
    let ascii = Theme {
        color: false,
        ascii: true,
    };
    insta::assert_snapshot!("marked_rows_ascii", render(&app, ascii, 80, 24));
    app.update(key('D'));
    insta::assert_snapshot!("bulk_shutdown_confirm_ascii", render(&app, ascii, 80, 24));
}
