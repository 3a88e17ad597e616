//! One line under the domain table about the selected domain: what its CPU configuration means
//! for snapshots, in words, so the table's short markers never have to be decoded.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::app::App;
use crate::ui::Theme;

pub fn draw(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let Some(row) = app.list.selected_row() else {
        return;
    };
    let mut spans = vec![Span::styled(format!("{}: ", row.name), theme.heading())];
    // A row of a host that is not connected now: say why it is dimmed, before anything else.
    if let Some(trouble) = app
        .hosts
        .get(row.host)
        .filter(|_| app.hosts.several())
        .and_then(|h| h.trouble())
    {
        spans.push(Span::styled(trouble, theme.warn()));
        spans.push(Span::styled(
            "; the row shows what was last read",
            theme.dim(),
        ));
        frame.render_widget(Paragraph::new(Line::from(spans)), area);
        return;
    }
    let Some(host) = app.host(row.host) else {
        return;
    };
    match row.verdict(host) {
        None => spans.push(Span::styled(
            row.error.clone().unwrap_or_else(|| "reading...".into()),
            theme.dim(),
        )),
        Some(v) if !v.memory.applicable => spans.push(Span::raw(
            "not running: a snapshot captures its disks and is always possible",
        )),
        Some(v) if v.memory.allowed => {
            let how = match (v.memory.internal, v.memory.external) {
                (true, _) => "internal",
                (false, true) => "external only",
                _ => "",
            };
            spans.push(Span::styled("memory state can be captured", theme.good()));
            spans.push(Span::raw(format!(" ({how}); s: snapshot")));
        }
        Some(v) => {
            let kinds: Vec<&str> = v.memory.blockers.iter().map(|b| b.kind.as_str()).collect();
            spans.push(Span::styled("memory state cannot be captured", theme.bad()));
            spans.push(Span::raw(format!(
                " ({}); s: disk-only or remedies. ",
                kinds.join(", ")
            )));
            let cause = v
                .memory
                .blockers
                .first()
                .map(|b| b.message.as_str())
                .unwrap_or("");
            spans.push(Span::styled(cause.to_string(), theme.dim()));
        }
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}
