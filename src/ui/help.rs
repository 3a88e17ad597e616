//! `?`: every key of the current view, read from the view's key table (so remaps show).

use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::jobs::{centered, modal_block};
use super::Theme;
use crate::app::keys::HelpRow;
use crate::app::App;

/// The rows for the screen under the help.
pub fn keys_for(app: &App) -> Vec<HelpRow> {
    app.keys.view(app.view()).help_rows()
}

pub fn draw(frame: &mut Frame, app: &App, theme: &Theme) {
    let rows = keys_for(app);
    let key_width = rows.iter().map(|r| r.keys.len()).max().unwrap_or(0);
    let text_width = rows.iter().map(|r| r.text.len()).max().unwrap_or(0);
    // Key column, two spaces, the text, and the borders.
    let widest = key_width + 2 + text_width + 2;
    let area = centered(frame.area(), widest as u16, rows.len() as u16 + 2);
    let block = modal_block(frame, area, " Keys (Esc closes) ".into(), theme);
    let width = key_width;
    let lines: Vec<Line> = rows
        .iter()
        .map(|r| {
            Line::from(vec![
                Span::styled(format!("{:<width$}", r.keys), theme.heading()),
                Span::raw(format!("  {}", r.text)),
            ])
            // Lifecycle keys that do not apply to the selected domain are dimmed.
            .style(if crate::app::lifecycle::help_disabled(app, &r.actions) {
                theme.dim()
            } else {
                ratatui::style::Style::new()
            })
        })
        .collect();
    frame.render_widget(Paragraph::new(lines).block(block), area);
}
