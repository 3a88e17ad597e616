//! `?`: every key of the current view.

use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::jobs::{centered, modal_block};
use super::Theme;
use crate::app::{App, Screen};

/// (key, what it does) for the screen under the help.
pub fn keys_for(app: &App) -> Vec<(&'static str, &'static str)> {
    let mut keys = match app.screen {
        Screen::Domains => vec![
            ("j / k, arrows", "move down / up"),
            ("g / G, Home / End", "first / last domain"),
            ("PgUp / PgDn", "page up / down"),
            ("/", "filter by name, state, CPU mode or marker"),
            (":", "jump to a domain by name"),
            ("Enter", "open the domain's snapshots"),
            ("s", "take a snapshot (name, memory, quiesce, remedies)"),
            ("Esc", "clear the filter"),
            ("F5, Ctrl-R", "refresh now"),
            ("Ctrl-X", "cancel the latest running job"),
            ("?", "this help"),
            ("q, Ctrl-C", "quit"),
        ],
        Screen::Snapshots(_) => vec![
            ("j / k, arrows", "move down / up"),
            ("g / G, PgUp / PgDn", "first / last, page up / down"),
            ("Tab, Enter", "focus the detail pane (j/k scroll it)"),
            ("x", "the snapshot's XML"),
            ("/", "filter by name or description"),
            ("r", "revert to the snapshot"),
            ("d", "delete (this, with children, children, metadata)"),
            ("e", "edit the description"),
            ("s", "take a snapshot"),
            ("F5, Ctrl-R", "refresh now"),
            ("Ctrl-X", "cancel the latest running job"),
            ("Esc, Backspace", "back to the domains"),
            ("q, Ctrl-C", "quit"),
        ],
    };
    // The lifecycle keys go before refresh / help / quit.
    let at = keys
        .iter()
        .position(|(k, _)| k.contains("F5"))
        .unwrap_or(keys.len());
    let with_marks = matches!(app.screen, Screen::Domains);
    keys.splice(at..at, crate::app::lifecycle::help_entries(with_marks));
    keys
}

pub fn draw(frame: &mut Frame, app: &App, theme: &Theme) {
    let keys = keys_for(app);
    let key_width = keys.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    let text_width = keys.iter().map(|(_, w)| w.len()).max().unwrap_or(0);
    // Key column, two spaces, the text, and the borders.
    let widest = key_width + 2 + text_width + 2;
    let area = centered(frame.area(), widest as u16, keys.len() as u16 + 2);
    let block = modal_block(frame, area, " Keys (Esc closes) ".into(), theme);
    let width = key_width;
    let lines: Vec<Line> = keys
        .iter()
        .map(|(k, what)| {
            Line::from(vec![
                Span::styled(format!("{k:<width$}"), theme.heading()),
                Span::raw(format!("  {what}")),
            ])
            // Lifecycle keys that do not apply to the selected domain are dimmed.
            .style(if crate::app::lifecycle::help_disabled(app, k) {
                theme.dim()
            } else {
                ratatui::style::Style::new()
            })
        })
        .collect();
    frame.render_widget(Paragraph::new(lines).block(block), area);
}
