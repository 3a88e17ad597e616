//! The status line (one message for the user) and the key legend.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::Theme;
use crate::app::App;

pub fn draw_status(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    if let Some(text) = &app.status {
        let line = Line::from(Span::styled(text.clone(), theme.warn()));
        frame.render_widget(Paragraph::new(line), area);
    }
}

const KEYS: &[(&str, &str)] = &[
    ("j/k", "move"),
    ("g/G", "top/end"),
    ("PgUp/PgDn", "page"),
    ("R", "refresh"),
    ("q", "quit"),
];

pub fn draw_keys(frame: &mut Frame, area: Rect, theme: &Theme) {
    let mut spans = Vec::new();
    for (key, what) in KEYS {
        spans.push(Span::styled(*key, theme.heading()));
        spans.push(Span::raw(format!(" {what}  ")));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}
