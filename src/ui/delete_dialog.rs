//! The delete confirmation: the four choices (refused ones disabled with libvirt's reason),
//! how many snapshots go and what happens to the files.

use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

use super::jobs::{centered, modal_block};
use super::theme::key_hints;
use super::Theme;
use crate::app::snapshot_dialogs::DeleteDialog;

pub fn draw(frame: &mut Frame, d: &DeleteDialog, theme: &Theme) {
    let area = centered(frame.area(), 76, 18);
    let block = modal_block(
        frame,
        area,
        format!(" Delete snapshot {} of {} ", d.snapshot, d.domain),
        theme,
    );
    let (on, off) = if theme.ascii {
        ("(*)", "( )")
    } else {
        ("(•)", "( )")
    };
    let mut lines = Vec::new();
    for (i, option) in d.options.iter().enumerate() {
        let chosen = i == d.choice;
        let mut style = if option.refusal.is_some() {
            theme.dim()
        } else {
            Default::default()
        };
        if chosen {
            style = style.patch(theme.selected());
        }
        let mut text = format!("{} {}", if chosen { on } else { off }, option.mode.label());
        if option.refusal.is_some() {
            text.push_str("  (not possible)");
        }
        lines.push(Line::from(vec![
            Span::raw(if chosen { "> " } else { "  " }),
            Span::styled(text, style),
        ]));
    }
    lines.push(Line::raw(""));
    if let Some(option) = d.chosen() {
        match &option.refusal {
            Some(why) => lines.push(Line::styled(format!("Not possible: {why}"), theme.bad())),
            None => {
                for (i, l) in option.summary.iter().enumerate() {
                    let style = if i == 0 {
                        theme.warn()
                    } else {
                        Default::default()
                    };
                    lines.push(Line::styled(l.clone(), style));
                }
            }
        }
    }
    lines.push(Line::raw(""));
    lines.push(key_hints(
        &[("Enter", "delete"), ("j/k", "choose"), ("Esc", "cancel")],
        theme,
    ));
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        area,
    );
}
