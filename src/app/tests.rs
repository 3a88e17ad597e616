use crossterm::event::{KeyCode, KeyEvent};

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
    app.update(Msg::Worker(Event::DomainList(rows)));
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
fn a_new_listing_keeps_details_and_selection() {
    let mut app = app_with(3);
    app.update(key(KeyCode::Char('j')));
    let mut filled = DomainInfo::named("vm001".into(), "uuid-1".into());
    filled.snapshots = Some(4);
    app.update(Msg::Worker(Event::DomainDetails(vec![filled])));
    // vm000 went away; vm001 stays selected and keeps its details until re-read.
    let rows = vec![
        DomainInfo::named("vm001".into(), "uuid-1".into()),
        DomainInfo::named("vm002".into(), "uuid-2".into()),
    ];
    app.update(Msg::Worker(Event::DomainList(rows)));
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
