//! The delete confirmation: the four choices (refused ones marked, with libvirt's or
//! virtsnap's reason), and the chosen one's plan: which snapshots go, what happens to the
//! files, what stays on disk and what libvirt will refuse afterwards.

use ratatui::layout::{Constraint, Layout};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

use super::plan_lines::styled;
use crate::app::dialogs::existing::DeleteDialog;
use crate::ui::jobs::{centered, modal_block};
use crate::ui::theme::key_hints;
use crate::ui::Theme;

pub fn draw(frame: &mut Frame, d: &DeleteDialog, theme: &Theme) {
    let area = centered(frame.area(), 78, 22);
    let block = modal_block(
        frame,
        area,
        format!(" Delete snapshot {} of {} ", d.snapshot, d.domain),
        theme,
    );
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let (on, off) = if theme.ascii {
        ("(*)", "( )")
    } else {
        ("(•)", "( )")
    };
    let mut choices = Vec::new();
    for (i, option) in d.options.iter().enumerate() {
        let chosen = i == d.choice;
        let mut style = if option.refusal().is_some() {
            theme.dim()
        } else {
            Default::default()
        };
        if chosen {
            style = style.patch(theme.selected());
        }
        let mut text = format!("{} {}", if chosen { on } else { off }, option.mode.label());
        if option.refusal().is_some() {
            text.push_str("  (not possible)");
        }
        choices.push(Line::from(vec![
            Span::raw(if chosen { "> " } else { "  " }),
            Span::styled(text, style),
        ]));
    }
    let plan = match d.chosen() {
        Some(option) => styled(&option.lines(), theme),
        None => vec![Line::raw("Reading the VM's disks and snapshots...")],
    };
    let [head, body, keys] = Layout::vertical([
        Constraint::Length(choices.len() as u16 + 1),
        Constraint::Fill(1),
        Constraint::Length(1),
    ])
    .areas(inner);
    frame.render_widget(Paragraph::new(choices), head);
    frame.render_widget(
        Paragraph::new(plan)
            .wrap(Wrap { trim: false })
            .scroll((d.scroll, 0)),
        body,
    );
    frame.render_widget(
        Paragraph::new(key_hints(
            &[
                ("Enter", "delete"),
                ("j/k", "choose"),
                ("PgDn", "more"),
                ("Esc", "cancel"),
            ],
            theme,
        )),
        keys,
    );
}
