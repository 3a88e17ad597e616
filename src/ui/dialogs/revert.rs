//! The revert confirmation: where the VM is left, the safety snapshot, shutting down first,
//! and the plan: what is rewritten, created, deleted and discarded, or why it is refused.

use ratatui::layout::{Constraint, Layout};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

use super::plan_lines::styled;
use crate::app::dialogs::existing::{RevertDialog, RevertRow};
use crate::ui::jobs::{centered, modal_block};
use crate::ui::theme::key_hints;
use crate::ui::Theme;

pub fn draw(frame: &mut Frame, d: &RevertDialog, theme: &Theme) {
    let area = centered(frame.area(), 78, 22);
    let block = modal_block(
        frame,
        area,
        format!(" Revert {} to {} ", d.domain, d.snapshot),
        theme,
    );
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let (radio_on, radio_off, box_on, box_off) = if theme.ascii {
        ("(*)", "( )", "[x]", "[ ]")
    } else {
        ("(•)", "( )", "[x]", "[ ]")
    };
    let kind = d
        .plan
        .as_ref()
        .and_then(|p| p.location)
        .map_or("", |l| l.as_str());
    let mut top = vec![
        Line::raw(format!(
            "Target: {} ({kind} snapshot, created {})",
            d.snapshot, d.snapshot_created
        )),
        Line::styled("After the revert, leave the VM", theme.heading()),
    ];
    for (i, row) in d.rows.iter().enumerate() {
        let style = if d.focus == i {
            theme.selected()
        } else {
            Default::default()
        };
        let text = match row {
            RevertRow::After(a) => {
                let mark = if d.after == *a { radio_on } else { radio_off };
                format!("{mark} {}", d.after_label(*a))
            }
            RevertRow::Safety => {
                let mark = if d.safety { box_on } else { box_off };
                format!("{mark} Take a safety snapshot first ({})", d.safety_name)
            }
            RevertRow::StopFirst => {
                let mark = if d.stop_first { box_on } else { box_off };
                format!("{mark} Shut the VM down first")
            }
        };
        top.push(Line::from(vec![
            Span::raw(if d.focus == i { "> " } else { "  " }),
            Span::styled(text, style),
        ]));
    }
    let [head, plan, keys] = Layout::vertical([
        Constraint::Length(top.len() as u16 + 1),
        Constraint::Fill(1),
        Constraint::Length(1),
    ])
    .areas(inner);
    frame.render_widget(Paragraph::new(top), head);
    frame.render_widget(
        Paragraph::new(styled(&d.lines(), theme))
            .wrap(Wrap { trim: false })
            .scroll((d.scroll, 0)),
        plan,
    );
    frame.render_widget(
        Paragraph::new(key_hints(
            &[
                ("Enter", "revert"),
                ("j/k", "move"),
                ("Space", "choose"),
                ("PgDn", "more"),
                ("Esc", "cancel"),
            ],
            theme,
        )),
        keys,
    );
}
