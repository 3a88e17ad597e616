//! Plan lines (`model::storage::render`) drawn with the theme: warnings stand out, a refusal
//! is the loudest line.

use ratatui::text::Line;

use crate::model::storage::render::{PlanLine, Tone};
use crate::ui::Theme;

pub fn styled(lines: &[PlanLine], theme: &Theme) -> Vec<Line<'static>> {
    lines
        .iter()
        .map(|l| {
            let style = match l.tone {
                Tone::Plain => Default::default(),
                Tone::Warn => theme.warn(),
                Tone::Refused => theme.bad(),
            };
            Line::styled(l.text.clone(), style)
        })
        .collect()
}
