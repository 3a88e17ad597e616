//! Drawing. Every view is a function of `App`; nothing here changes state or calls libvirt.

mod columns;
pub mod dialogs;
mod domains;
mod footer;
mod header;
mod help;
pub mod jobs;
pub mod snapshot_view;
pub mod theme;

use dialogs::{confirm, message};
use domains::{detail as domain_detail, list as domain_list};
use snapshot_view::{detail as snapshot_detail, tree as snapshot_tree};

use ratatui::layout::{Constraint, Layout};
use ratatui::text::Line;
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::app::{App, Overlay, Screen, MIN_HEIGHT, MIN_WIDTH};
pub use theme::Theme;

pub fn draw(frame: &mut Frame, app: &App, theme: &Theme) {
    let area = frame.area();
    if app.too_small() {
        let text = vec![
            Line::from(format!(
                "Terminal too small: {}x{}.",
                area.width, area.height
            )),
            Line::from(format!("virtsnap needs at least {MIN_WIDTH}x{MIN_HEIGHT}.")),
            Line::from("Enlarge the window, or press q to quit."),
        ];
        frame.render_widget(Paragraph::new(text), area);
        return;
    }
    let [header, body, jobs_bar, status, footer] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Min(3),
        Constraint::Length(jobs::height(app)),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    header::draw(frame, header, app, theme);
    match &app.screen {
        Screen::Domains => {
            let [table, detail] = Layout::vertical([
                Constraint::Min(2),
                Constraint::Length(domain_detail::HEIGHT),
            ])
            .areas(body);
            domain_list::draw(frame, table, app, theme);
            domain_detail::draw(frame, detail, app, theme);
        }
        Screen::Snapshots(v) => snapshot_tree::draw(frame, body, app, v.as_ref(), theme),
    }
    jobs::draw_bar(frame, jobs_bar, app, theme);
    footer::draw_status(frame, status, app, theme);
    footer::draw_keys(frame, footer, app, theme);
    match &app.overlay {
        Some(Overlay::Help) => help::draw(frame, app, theme),
        Some(Overlay::Message {
            title,
            text,
            scroll,
        }) => message::draw(frame, title, text, *scroll, theme),
        Some(Overlay::Confirm(c)) => confirm::draw(frame, c, theme),
        Some(Overlay::SnapshotXml { scroll }) => {
            if let Screen::Snapshots(v) = &app.screen {
                snapshot_detail::draw_xml(frame, v, *scroll, theme);
            }
        }
        Some(Overlay::Revert(d)) => dialogs::revert::draw(frame, d, theme),
        Some(Overlay::Delete(d)) => dialogs::delete::draw(frame, d, theme),
        Some(Overlay::Describe(d)) => snapshot_detail::draw_describe(frame, d, theme),
        Some(Overlay::CreateSnapshot(d)) => dialogs::create::draw(frame, d, theme),
        Some(Overlay::BulkCreate(d)) => dialogs::bulk_create::draw(frame, d, &app.hosts, theme),
        Some(Overlay::BulkDelete(d)) => dialogs::bulk_delete::draw(frame, d, &app.hosts, theme),
        None => {}
    }
    if !dialogs::create::draw_long_question(frame, app, theme) {
        jobs::draw_question(frame, app, theme);
    }
}

#[cfg(test)]
mod bulk_tests;
#[cfg(test)]
mod hosts_tests;
#[cfg(test)]
mod lifecycle_tests;
#[cfg(test)]
mod space_tests;
// pub(crate): the app's tests build the same host.
#[cfg(test)]
pub(crate) mod tests;
