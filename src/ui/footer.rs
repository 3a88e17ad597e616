//! The status line (one message for the user) and the key legend.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::theme::cursor_spans;
use super::Theme;
use crate::app::{Action, App, InputKind, Screen};
use ratatui::style::Style;

pub fn draw_status(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    if let Some(text) = &app.status {
        let line = Line::from(Span::styled(text.clone(), theme.warn()));
        frame.render_widget(Paragraph::new(line), area);
    }
}

/// A key in the footer; a disabled one is drawn dimmed (the reason comes when pressed).
pub struct FooterKey {
    /// The action's first key in the view's table, as `?` writes it.
    pub key: String,
    pub label: &'static str,
    pub enabled: bool,
}

/// The footer for the current screen, in the order the view's key table gives, most used
/// keys first; `?` lists everything.
pub fn footer_keys(app: &App) -> Vec<FooterKey> {
    let keys = app.keys.view(app.view());
    let all = keys.footer.iter().map(|&action| FooterKey {
        key: keys.first_key(action),
        label: match action {
            Action::Lifecycle(k) => crate::app::lifecycle::footer_label(app, k),
            other => other.footer_label(),
        },
        enabled: enabled(app, action),
    });
    match app.screen {
        // j/k are left to the help: the lifecycle keys fill an 80-column footer.
        Screen::Domains => all.collect(),
        Screen::Snapshots(_) => {
            // The domain's lifecycle keys work here too; they join where they fit whole.
            let mut used = 0;
            let mut fits = true;
            keys.footer
                .iter()
                .zip(all)
                .filter(|(_, k)| !k.key.is_empty())
                .filter(|(action, k)| {
                    used += k.key.len() + k.label.len() + 3;
                    fits &=
                        !matches!(action, Action::Lifecycle(_)) || used <= usize::from(app.width);
                    fits
                })
                .map(|(_, k)| k)
                .collect()
        }
    }
}

/// Whether a footer action does something now: lifecycle keys for the selected (or marked)
/// domains, the snapshot view's changing keys on a connection that allows changes.
fn enabled(app: &App, action: Action) -> bool {
    let can_change = || app.mutation_refused().is_none();
    match action {
        Action::Lifecycle(k) => crate::app::lifecycle::key_enabled(app, k),
        Action::Revert => can_change() && revert_allowed(app),
        Action::Delete | Action::Describe | Action::Snapshot
            if matches!(app.screen, Screen::Snapshots(_)) =>
        {
            can_change()
        }
        _ => true,
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

/// A snapshot is selected to revert to (the dialog says whether and how it can be done).
fn revert_allowed(app: &App) -> bool {
    crate::app::snapshot_view::view(app).is_some_and(|v| v.selected_info().is_some())
}
