//! The yes/no confirmation box (`app::confirm::Confirm`), centred over everything.

use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

use crate::app::dialogs::confirm::Confirm;
use crate::ui::jobs::{centered, modal_block};
use crate::ui::Theme;

pub fn draw(frame: &mut Frame, confirm: &Confirm, theme: &Theme) {
    let width = 64u16;
    let inner = usize::from(width - 2);
    // Wrapped height: each entry takes its length over the inner width, rounded up.
    let text_rows: usize = confirm
        .lines
        .iter()
        .map(|l| l.chars().count().max(1).div_ceil(inner))
        .sum();
    let height = (text_rows + 4) as u16;
    let area = centered(frame.area(), width, height);
    let block = modal_block(frame, area, format!(" {} ", confirm.title), theme);
    let mut lines: Vec<Line> = confirm
        .lines
        .iter()
        .map(|l| Line::from(l.clone()))
        .collect();
    lines.push(Line::from(""));
    lines.push(Line::from(vec![
        Span::styled("y", theme.heading()),
        Span::raw(format!(" {}    ", confirm.yes)),
        Span::styled("n", theme.heading()),
        Span::raw(format!("/Esc {}", confirm.no)),
    ]));
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(block),
        area,
    );
}
