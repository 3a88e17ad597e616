//! The revert confirmation: what is lost, where the VM is left, and the safety snapshot.

use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

use super::jobs::{centered, modal_block};
use super::theme::key_hints;
use super::Theme;
use crate::app::snapshot_dialogs::RevertDialog;
use crate::libvirt::jobs::revert::AfterRevert;

pub fn draw(frame: &mut Frame, d: &RevertDialog, theme: &Theme) {
    let area = centered(frame.area(), 76, 18);
    let block = modal_block(
        frame,
        area,
        format!(" Revert {} to {} ", d.domain, d.snapshot),
        theme,
    );
    let (radio_on, radio_off, box_on, box_off) = if theme.ascii {
        ("(*)", "( )", "[x]", "[ ]")
    } else {
        ("(•)", "( )", "[x]", "[ ]")
    };
    let cursor = |row: usize| if d.focus == row { "> " } else { "  " };
    let mut lines = vec![
        Line::styled(d.loss(), theme.warn()),
        Line::raw(format!(
            "Target: {} (created {})",
            d.snapshot, d.snapshot_created
        )),
        Line::raw(""),
        Line::styled("After the revert, leave the VM", theme.heading()),
    ];
    for (row, after) in [
        AfterRevert::Saved,
        AfterRevert::Running,
        AfterRevert::Paused,
    ]
    .into_iter()
    .enumerate()
    {
        let mark = if d.after == after {
            radio_on
        } else {
            radio_off
        };
        let style = if d.focus == row {
            theme.selected()
        } else {
            Default::default()
        };
        lines.push(Line::from(vec![
            Span::raw(cursor(row)),
            Span::styled(format!("{mark} {}", after.label()), style),
        ]));
    }
    lines.push(Line::raw(""));
    let mark = if d.safety { box_on } else { box_off };
    let style = match (d.focus == 3, d.safety_possible) {
        (true, _) => theme.selected(),
        (false, false) => theme.dim(),
        (false, true) => Default::default(),
    };
    lines.push(Line::from(vec![
        Span::raw(cursor(3)),
        Span::styled(
            format!("{mark} Take a safety snapshot of the current state first"),
            style,
        ),
    ]));
    let what = if d.safety_possible {
        format!("{}: {}", d.safety_name, d.safety_summary)
    } else {
        d.safety_summary.clone()
    };
    lines.push(Line::styled(format!("      {what}"), theme.dim()));
    if !d.safety && d.safety_needed {
        lines.push(Line::styled(
            "      Without it, the current state cannot be recovered.",
            theme.bad(),
        ));
    }
    lines.push(Line::raw(""));
    lines.push(key_hints(
        &[
            ("Enter", "revert"),
            ("j/k", "move"),
            ("Space", "choose"),
            ("Esc", "cancel"),
        ],
        theme,
    ));
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        area,
    );
}
