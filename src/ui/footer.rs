//! The status line (one message for the user) and the key legend.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::theme::cursor_spans;
use super::Theme;
use crate::app::{App, InputKind, Screen};
use ratatui::style::Style;

pub fn draw_status(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    if let Some(text) = &app.status {
        let line = Line::from(Span::styled(text.clone(), theme.warn()));
        frame.render_widget(Paragraph::new(line), area);
    }
}

/// A key in the footer; a disabled one is drawn dimmed (the reason comes when pressed).
pub struct FooterKey {
    pub key: &'static str,
    pub label: &'static str,
    pub enabled: bool,
}

const fn on(key: &'static str, label: &'static str) -> FooterKey {
    FooterKey {
        key,
        label,
        enabled: true,
    }
}

/// The footer for the current screen, most used keys first; `?` lists everything.
pub fn footer_keys(app: &App) -> Vec<FooterKey> {
    match app.screen {
        Screen::Domains => {
            // j/k are left to the help: the lifecycle keys fill an 80-column footer.
            let mut keys = lifecycle_keys(app);
            keys.extend([on("/", "filter"), on("?", "help"), on("q", "quit")]);
            keys
        }
        Screen::Snapshots(_) => snapshot_keys(app),
    }
}

pub fn draw_keys(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    if let Some(input) = &app.input {
        let hint = match input.kind {
            InputKind::Filter => "  (name, state, CPU mode or marker; Enter keeps, Esc clears)",
            InputKind::Jump => "  (domain name; Enter jumps, Esc cancels)",
        };
        let mut spans = vec![Span::styled(input.prompt().to_string(), theme.heading())];
        spans.extend(cursor_spans(
            input.text.value(),
            input.text.cursor(),
            theme.heading(),
            theme.selected(),
            Span::raw(if theme.ascii { "_" } else { "█" }),
        ));
        spans.push(Span::styled(hint, theme.dim()));
        let line = Line::from(spans);
        frame.render_widget(Paragraph::new(line), area);
        return;
    }
    let mut spans = Vec::new();
    for k in footer_keys(app) {
        let (key_style, label_style) = if k.enabled {
            (theme.heading(), Style::new())
        } else {
            (theme.dim(), theme.dim())
        };
        spans.push(Span::styled(k.key, key_style));
        spans.push(Span::styled(format!(" {}  ", k.label), label_style));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// The snapshot view's keys; changing ones are dimmed on a read-only connection.
fn snapshot_keys(app: &App) -> Vec<FooterKey> {
    let can_change = app.mutation_refused().is_none();
    let change = |key, label| FooterKey {
        key,
        label,
        enabled: can_change,
    };
    let mut keys = vec![
        on("Esc", "back"),
        on("/", "filter"),
        on("x", "XML"),
        FooterKey {
            key: "r",
            label: "revert",
            enabled: can_change && revert_allowed(app),
        },
        change("d", "delete"),
        change("e", "describe"),
        change("s", "snapshot"),
        on("?", "help"),
    ];
    // The domain's lifecycle keys work here too; they join the footer where they fit whole.
    let mut used: usize = keys.iter().map(|k| k.key.len() + k.label.len() + 3).sum();
    for k in lifecycle_keys(app) {
        used += k.key.len() + k.label.len() + 3;
        if used > usize::from(app.width) {
            break;
        }
        keys.push(k);
    }
    keys
}

/// `S D F R p c`, dimmed when they do not apply to the selected (or marked) domains; pressing
/// a dimmed key says why.
pub fn lifecycle_keys(app: &App) -> Vec<FooterKey> {
    use crate::app::lifecycle::{self, LifecycleKey};
    LifecycleKey::ALL
        .iter()
        .map(|&k| FooterKey {
            key: k.key(),
            label: lifecycle::footer_label(app, k),
            enabled: lifecycle::key_enabled(app, k),
        })
        .collect()
}

/// A snapshot is selected to revert to (the dialog says whether and how it can be done).
fn revert_allowed(app: &App) -> bool {
    crate::app::snapshot_view::view(app).is_some_and(|v| v.selected_info().is_some())
}
