//! What the two bulk dialogs draw alike: the table of marked VMs (one row each, the selected
//! one marked with `>` so it reads without colour) and, under it, the selected VM's details.

use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::{Cell, Paragraph, Row, Table};
use ratatui::Frame;

use crate::ui::columns::{fit, Column};
use crate::ui::Theme;

/// One table column: its heading, its cells' texts, and how it gives way when narrow.
pub struct TableColumn {
    pub title: &'static str,
    pub cells: Vec<String>,
    /// Higher ranks drop first (`columns::fit`); 0 never drops.
    pub drop_rank: u8,
    /// The narrowest it may get, and the most it asks for.
    pub min: u16,
    pub max: u16,
    /// Takes what the others leave (the note or plan column).
    pub fill: bool,
}

impl TableColumn {
    pub fn new(title: &'static str, cells: Vec<String>, drop_rank: u8, min: u16, max: u16) -> Self {
        Self {
            title,
            cells,
            drop_rank,
            min,
            max,
            fill: false,
        }
    }

    /// A column whose cells are never cut (a name cut short reads as another name): as wide
    /// as its longest cell, up to `cap`; it drops whole when there is no room.
    pub fn whole(title: &'static str, cells: Vec<String>, drop_rank: u8, cap: u16) -> Self {
        let longest = cells
            .iter()
            .map(|c| c.chars().count())
            .chain([title.len()])
            .max()
            .unwrap_or(0);
        let width = u16::try_from(longest).unwrap_or(cap).min(cap);
        Self::new(title, cells, drop_rank, width, width)
    }

    pub fn filling(mut self) -> Self {
        self.fill = true;
        self
    }

    fn want(&self) -> u16 {
        let longest = self
            .cells
            .iter()
            .map(|c| c.chars().count())
            .chain([self.title.len()])
            .max()
            .unwrap_or(0);
        u16::try_from(longest)
            .unwrap_or(u16::MAX)
            .clamp(self.min, self.max)
    }
}

/// Draws the VM table into `area`, scrolled so `selected` is shown; `styles` gives each row's
/// style (refused rows dimmed or red).
pub fn draw_table(
    frame: &mut Frame,
    area: Rect,
    columns: &[TableColumn],
    selected: usize,
    styles: &[Style],
    theme: &Theme,
) {
    let rows_fit = usize::from(area.height.saturating_sub(1)).max(1);
    let len = styles.len();
    let offset = crate::app::domains::list::scroll_offset(selected, 0, len, rows_fit);
    // The marker column is always there and never drops.
    let mut specs = vec![Column {
        min: 1,
        want: 1,
        drop_rank: 0,
    }];
    specs.extend(columns.iter().map(|c| Column {
        min: c.min,
        want: if c.fill { u16::MAX / 4 } else { c.want() },
        drop_rank: c.drop_rank,
    }));
    let widths = fit(&specs, area.width, 1);
    let shown: Vec<usize> = (0..specs.len()).filter(|i| widths[*i].is_some()).collect();
    let constraints: Vec<Constraint> = shown
        .iter()
        .map(|&i| match (i, widths[i]) {
            (0, _) => Constraint::Length(1),
            (i, Some(w)) if columns[i - 1].fill => Constraint::Min(w.min(area.width)),
            (_, w) => Constraint::Length(w.unwrap_or(0)),
        })
        .collect();
    let heading = |i: usize| if i == 0 { "" } else { columns[i - 1].title };
    let header = Row::new(shown.iter().map(|&i| Cell::from(heading(i)))).style(theme.heading());
    let body: Vec<Row> = (offset..(offset + rows_fit).min(len))
        .map(|r| {
            let cell = |i: usize| -> Cell {
                if i == 0 {
                    return Cell::from(if r == selected { ">" } else { " " });
                }
                Cell::from(columns[i - 1].cells.get(r).cloned().unwrap_or_default())
            };
            let mut style = styles.get(r).copied().unwrap_or_default();
            if r == selected {
                style = style.patch(theme.selected());
            }
            Row::new(shown.iter().map(|&i| cell(i))).style(style)
        })
        .collect();
    frame.render_widget(
        Table::new(body, constraints)
            .header(header)
            .column_spacing(1),
        area,
    );
}

/// The selected VM's details: a rule with its name, then `lines` as given (already wrapped
/// to the width), cut to the area with a note when they do not all fit.
pub fn draw_detail(
    frame: &mut Frame,
    area: Rect,
    title: &str,
    lines: Vec<Line<'static>>,
    theme: &Theme,
) {
    if area.height == 0 {
        return;
    }
    let width = usize::from(area.width);
    let rule = if theme.ascii { "-" } else { "─" };
    let head = format!("{rule}{rule} {title} ");
    let fill = width.saturating_sub(head.chars().count());
    let mut out = vec![Line::styled(
        format!("{head}{}", rule.repeat(fill)),
        theme.dim(),
    )];
    let room = usize::from(area.height) - 1;
    let total = lines.len();
    if total > room {
        out.extend(lines.into_iter().take(room.saturating_sub(1)));
        out.push(Line::styled(
            format!("(+{} more lines: widen the terminal)", total + 1 - room),
            theme.dim(),
        ));
    } else {
        out.extend(lines);
    }
    frame.render_widget(Paragraph::new(out), area);
}
