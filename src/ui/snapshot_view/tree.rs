//! The snapshot screen: the tree of one domain's snapshots (roots first, children indented as
//! `virsh snapshot-list --tree` nests them, the current one marked) and the detail pane.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table};
use ratatui::Frame;

use super::detail as snapshot_detail;
use crate::app::snapshot_view::{age, layout, local_time, SnapshotView};
use crate::app::App;
use crate::model::snapshot::{
    SnapshotInfo, SnapshotLocation, SnapshotState, SnapshotTree, TreeRow,
};
use crate::model::space::{short_bytes, SnapshotSpace};
use crate::ui::columns::{fit, Column};
use crate::ui::Theme;

const TITLES: [&str; 9] = [
    "",
    "NAME",
    "CREATED",
    "AGE",
    "SIZE",
    "STATE",
    "MEM",
    "LOCATION",
    "DESCRIPTION",
];

/// Deeper than this, the indentation is summarised: a 20,000-long chain must stay readable.
const MAX_DRAWN_DEPTH: usize = 12;

pub fn draw(frame: &mut Frame, area: Rect, app: &App, v: &SnapshotView, theme: &Theme) {
    let l = layout(app);
    let (tree_area, detail_area) = if l.side_by_side {
        let [a, b] = Layout::horizontal([Constraint::Percentage(62), Constraint::Percentage(38)])
            .areas(area);
        (a, b)
    } else {
        let [a, b] =
            Layout::vertical([Constraint::Min(3), Constraint::Length(l.detail_height)]).areas(area);
        (a, b)
    };
    draw_tree(frame, tree_area, app, v, theme);
    snapshot_detail::draw(frame, detail_area, app, v, theme);
}

fn title(app: &App, v: &SnapshotView) -> String {
    let total = v.tree.len();
    let mut t = format!(" Snapshots of {}", v.domain);
    if app.hosts.several() {
        t.push_str(&format!(" on {}", app.hosts.name(v.host)));
    }
    t.push_str(&format!(" ({total}"));
    if !v.filter.is_empty() {
        t.push_str(&format!(", {} shown", v.rows.len()));
    }
    t.push_str(") ");
    if v.filter_editing || !v.filter.is_empty() {
        t.push_str(&format!("/{}", v.filter));
        if v.filter_editing {
            t.push('_');
        }
        t.push(' ');
    }
    t
}

fn draw_tree(frame: &mut Frame, area: Rect, app: &App, v: &SnapshotView, theme: &Theme) {
    let block = Block::new()
        .borders(Borders::TOP | Borders::BOTTOM)
        .border_set(theme.border())
        .title(title(app, v));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let empty = if v.loading {
        Some("Reading snapshots...".to_string())
    } else if let Some(e) = &v.error {
        Some(format!("Cannot read the snapshots: {e}"))
    } else if v.tree.is_empty() {
        Some(format!(
            "{} has no snapshots. Press s to create one.",
            v.domain
        ))
    } else if v.rows.is_empty() {
        Some(format!("No snapshot matches '{}'.", v.filter))
    } else {
        None
    };
    if let Some(text) = empty {
        frame.render_widget(Paragraph::new(text).style(theme.dim()), inner);
        return;
    }
    let page = usize::from(inner.height.saturating_sub(1));
    let start = v.offset.min(v.rows.len());
    let visible = &v.rows[start..(start + page).min(v.rows.len())];
    let texts: Vec<RowText> = visible
        .iter()
        .map(|r| RowText::of(v, r, app.now, theme))
        .collect();
    // Without descriptions the column asks for no room of its own.
    let described: u16 = if texts.iter().any(|t| !t.description.is_empty()) {
        11
    } else {
        0
    };
    let longest = |f: fn(&RowText) -> usize, floor: usize| -> u16 {
        texts.iter().map(f).max().unwrap_or(0).max(floor).min(60) as u16
    };
    let cols = [
        Column {
            min: 1,
            want: 1,
            drop_rank: 0,
        },
        Column {
            min: longest(|t| t.name_len(), 4).min(24),
            want: longest(|t| t.name_len(), 4).min(40),
            drop_rank: 0,
        },
        Column {
            min: 11,
            want: 16,
            drop_rank: 3,
        },
        Column {
            min: 8,
            want: 8,
            drop_rank: 0,
        },
        // SIZE: "1.2G", "512K+" (a lower bound), "?" (the detail pane says why).
        Column {
            min: 5,
            want: 5,
            drop_rank: 2,
        },
        Column {
            min: 9,
            want: 9,
            drop_rank: 1,
        },
        Column {
            min: 3,
            want: 3,
            drop_rank: 2,
        },
        Column {
            min: 3,
            want: 8,
            drop_rank: 5,
        },
        Column {
            min: described,
            want: longest(|t| t.description.chars().count(), described.into()),
            drop_rank: 4,
        },
    ];
    let widths = fit(&cols, inner.width, 1);
    let short_created = widths[2].is_some_and(|w| w < 16);
    let shown: Vec<usize> = (0..cols.len()).filter(|i| widths[*i].is_some()).collect();
    let short_location = widths[7].is_some_and(|w| w < 8);
    let constraints: Vec<Constraint> = shown
        .iter()
        .map(|&i| match (i, widths[i]) {
            // The description takes whatever is left.
            (8, Some(w)) => Constraint::Min(w),
            (_, w) => Constraint::Length(w.unwrap_or(0)),
        })
        .collect();
    let heading = |i: usize| match i {
        7 if short_location => "LOC",
        _ => TITLES[i],
    };
    let header = Row::new(shown.iter().map(|&i| Cell::from(heading(i)))).style(theme.heading());
    let rows: Vec<Row> = texts
        .iter()
        .enumerate()
        .map(|(n, t)| {
            let all = t.cells(theme, short_location, short_created);
            let mut style = Style::new();
            if start + n == v.selected {
                style = if v.detail_focus {
                    theme.heading()
                } else {
                    theme.selected()
                };
            }
            Row::new(shown.iter().map(|i| all[*i].clone())).style(style)
        })
        .collect();
    let table = Table::new(rows, constraints)
        .header(header)
        .column_spacing(1);
    frame.render_widget(table, inner);
}

struct RowText {
    current: bool,
    prefix: String,
    name: String,
    created: String,
    age: String,
    size: String,
    state: String,
    state_style: fn(&Theme) -> Style,
    memory: bool,
    location: SnapshotLocation,
    description: String,
}

impl RowText {
    fn of(v: &SnapshotView, row: &TreeRow, now: u64, theme: &Theme) -> Self {
        let tree = &v.tree;
        let info: &SnapshotInfo = tree.info(row);
        Self {
            current: row.is_current,
            prefix: tree_prefix(tree, row, theme.ascii),
            name: info.name.clone(),
            created: local_time(info.created, false),
            age: age(info.created, now),
            size: size_cell(v.data.space_of(&info.name)),
            state: info.state.label().to_string(),
            state_style: match info.state {
                SnapshotState::Running => Theme::good,
                SnapshotState::Paused => Theme::warn,
                SnapshotState::DiskSnapshot => Theme::accent,
                _ => Theme::dim,
            },
            memory: info.memory,
            location: info.location,
            description: info.description_first_line().to_string(),
        }
    }

    fn name_len(&self) -> usize {
        self.prefix.chars().count() + self.name.chars().count()
    }

    fn cells(
        &self,
        theme: &Theme,
        short_location: bool,
        short_created: bool,
    ) -> [Cell<'static>; 9] {
        let marker = if self.current {
            Span::styled("*", theme.good())
        } else {
            Span::raw(" ")
        };
        let mut name = vec![
            Span::styled(self.prefix.clone(), theme.dim()),
            Span::raw(self.name.clone()),
        ];
        if self.current {
            name[1] = Span::styled(self.name.clone(), theme.heading());
        }
        let location = match (self.location, short_location) {
            (SnapshotLocation::Internal, false) => "internal",
            (SnapshotLocation::External, false) => "external",
            (SnapshotLocation::Internal, true) => "int",
            (SnapshotLocation::External, true) => "ext",
        };
        [
            Cell::from(marker),
            Cell::from(Line::from(name)),
            // Narrow: `11-26 14:05`, the year is in the detail pane.
            Cell::from(if short_created {
                self.created.get(5..).unwrap_or(&self.created).to_string()
            } else {
                self.created.clone()
            }),
            Cell::from(Line::from(self.age.clone()).right_aligned()),
            Cell::from(
                Line::from(Span::styled(
                    self.size.clone(),
                    if self.size == "?" {
                        theme.dim()
                    } else {
                        Style::new()
                    },
                ))
                .right_aligned(),
            ),
            Cell::from(Span::styled(self.state.clone(), (self.state_style)(theme))),
            Cell::from(if self.memory { "yes" } else { "no" }),
            Cell::from(location),
            Cell::from(Span::styled(self.description.clone(), theme.dim())),
        ]
    }
}

/// The SIZE cell: the bytes the snapshot holds, "1.2G+" when part of it is unknown (a lower
/// bound), "?" when nothing of it is known or it was not measured.
fn size_cell(space: Option<&SnapshotSpace>) -> String {
    match space {
        Some(SnapshotSpace {
            size_bytes: Some(b),
            ..
        }) => short_bytes(*b),
        Some(s) if s.known_bytes > 0 => format!("{}+", short_bytes(s.known_bytes)),
        _ => "?".into(),
    }
}

/// `│  ├─ ` style indentation from the row's ancestors (ASCII: `|  +- `).
pub fn tree_prefix(tree: &SnapshotTree, row: &TreeRow, ascii: bool) -> String {
    if row.depth == 0 {
        return String::new();
    }
    let (pipe, tee, elbow) = if ascii {
        ("|  ", "+- ", "`- ")
    } else {
        ("│  ", "├─ ", "└─ ")
    };
    // Ancestors from the parent up; each one says whether its column continues below.
    let rows = tree.rows();
    let mut columns = Vec::with_capacity(row.depth.min(MAX_DRAWN_DEPTH));
    let mut at = row.parent_row.and_then(|p| rows.get(p));
    while let Some(ancestor) = at {
        if ancestor.depth == 0 || columns.len() + 1 >= MAX_DRAWN_DEPTH {
            break;
        }
        columns.push(if ancestor.is_last_sibling {
            "   "
        } else {
            pipe
        });
        at = ancestor.parent_row.and_then(|p| rows.get(p));
    }
    let mut prefix = String::new();
    if row.depth >= MAX_DRAWN_DEPTH {
        prefix.push_str(&format!("[{}] ", row.depth));
    }
    for c in columns.iter().rev() {
        prefix.push_str(c);
    }
    prefix.push_str(if row.is_last_sibling { elbow } else { tee });
    prefix
}

#[cfg(test)]
#[path = "tree_tests.rs"]
mod tests;
