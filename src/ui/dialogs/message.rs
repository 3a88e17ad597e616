//! A long result (an explained failure with its options) in a scrollable box.

use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

use crate::ui::jobs::{centered, modal_block};
use crate::ui::Theme;

pub fn draw(frame: &mut Frame, title: &str, text: &str, scroll: u16, theme: &Theme) {
    let area = frame.area();
    let lines = text.lines().count() as u16;
    let area = centered(
        area,
        area.width.saturating_sub(4).min(100),
        (lines + 4).min(area.height),
    );
    let block = modal_block(frame, area, format!(" {title} "), theme)
        .title_bottom(" j/k scroll  Esc close ");
    let body = Paragraph::new(text.to_string())
        .wrap(Wrap { trim: false })
        .scroll((scroll, 0))
        .block(block);
    frame.render_widget(body, area);
}
