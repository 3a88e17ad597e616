//! The domain table: one row per domain with state, CPU badge and snapshot facts, and the
//! snapshots' space and age (SPACE, OLDEST, CHAIN) as the worker reads them for rows on screen.

use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table};
use ratatui::Frame;

use crate::app::{App, Connection};
use crate::model::inventory::{DomainInfo, HostId, HostInfo};
use crate::model::DomainState;
use crate::ui::columns::{fit, Column};
use crate::ui::Theme;

const TITLES: [&str; 11] = [
    "NAME", "STATE", "CPU", "MEM", "VCPU", "RAM", "SNAPS", "SPACE", "OLDEST", "CHAIN", "CURRENT",
];

pub fn draw(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let all = &app.list.rows;
    let loaded = all.iter().filter(|r| r.is_loaded()).count();
    let mut title = if all.len() == loaded {
        format!(" Domains ({}) ", all.len())
    } else {
        format!(
            " Domains ({}, reading {}/{}) ",
            all.len(),
            loaded,
            all.len()
        )
    };
    if !app.list.filter.is_empty() {
        title.push_str(&format!(
            "filter /{}: {} shown (Esc clears) ",
            app.list.filter,
            app.list.visible_len()
        ));
    }
    let block = Block::new()
        .borders(Borders::TOP | Borders::BOTTOM)
        .border_set(theme.border())
        .title(title);
    let inner = block.inner(area);
    frame.render_widget(block, area);

    if app.list.visible_len() == 0 {
        let hosts = &app.hosts.all;
        let text = if !all.is_empty() {
            "No domain matches the filter."
        } else if hosts
            .iter()
            .all(|h| matches!(h.connection, Connection::Failed { .. }))
        {
            "Not connected."
        } else if hosts.iter().any(|h| h.listed) && hosts.len() > 1 {
            "No domains on these hosts."
        } else if hosts.iter().any(|h| h.listed) {
            "No domains on this connection."
        } else {
            "Listing domains..."
        };
        frame.render_widget(Paragraph::new(text).style(theme.dim()), inner);
        return;
    }

    let several = app.hosts.several();
    let page = usize::from(inner.height.saturating_sub(1));
    let cells: Vec<RowText> = app
        .list
        .visible_rows()
        .skip(app.list.offset)
        .take(page)
        .map(|r| {
            let mut text = RowText::of(r, app.host(r.host));
            text.space = space_cells(app, r);
            with_lifecycle(text, app, r)
        })
        .collect();

    let longest = |f: fn(&RowText) -> usize, floor: usize| -> u16 {
        cells.iter().map(f).max().unwrap_or(0).max(floor).min(60) as u16
    };
    let cpu_width = longest(|c| c.cpu_len(), 3);
    // HOST shows only with several hosts: one host's list looks as it always did.
    let host_width = cells
        .iter()
        .map(|c| app.hosts.name(c.host).len())
        .max()
        .unwrap_or(0)
        .clamp(4, 16) as u16;
    let host_col = several.then_some(Column {
        min: host_width.min(8),
        want: host_width,
        drop_rank: 0,
    });
    let cols = [
        Column {
            min: longest(|c| c.name.len(), 4).min(16),
            want: longest(|c| c.name.len(), 4),
            drop_rank: 0,
        },
        Column {
            // Grows past 8 only for a transition ("shutting down 37s"), which must not be cut.
            min: longest(|c| c.state.len(), 8).min(18),
            want: longest(|c| c.state.len(), 5),
            drop_rank: 0,
        },
        // The badge is the point of the list: its markers are never cut.
        Column {
            min: cpu_width.min(34),
            want: cpu_width,
            drop_rank: 0,
        },
        Column {
            min: 3,
            want: 3,
            drop_rank: 0,
        },
        // Narrow terminals drop columns in this order (highest rank first): VCPU and RAM
        // (the definition's, in `virsh dominfo`), CURRENT (the snapshot view marks it), SNAPS
        // (SPACE and OLDEST say more about whether snapshots need attention, and the tree
        // counts them), CHAIN (a deep chain is named under the table too), OLDEST, SPACE. At
        // 80 columns with the widest CPU badges, SPACE and OLDEST stay.
        Column {
            min: 4,
            want: 4,
            drop_rank: 9,
        },
        Column {
            min: 7,
            want: 8,
            drop_rank: 8,
        },
        Column {
            min: 5,
            want: 5,
            drop_rank: 6,
        },
        Column {
            min: 5,
            want: 6,
            drop_rank: 3,
        },
        Column {
            min: 6,
            want: 6,
            drop_rank: 4,
        },
        Column {
            min: 5,
            want: 5,
            drop_rank: 5,
        },
        Column {
            min: 8,
            want: longest(|c| c.current.len(), 7),
            drop_rank: 7,
        },
    ];
    let titles: Vec<&str> = host_col.map(|_| "HOST").into_iter().chain(TITLES).collect();
    let cols: Vec<Column> = host_col.into_iter().chain(cols).collect();
    let widths = fit(&cols, inner.width, 1);
    let shown: Vec<usize> = (0..cols.len()).filter(|i| widths[*i].is_some()).collect();
    let constraints: Vec<Constraint> = shown
        .iter()
        .filter_map(|i| widths[*i])
        .map(Constraint::Length)
        .collect();

    let header = Row::new(shown.iter().map(|i| Cell::from(titles[*i]))).style(theme.heading());
    let body: Vec<Row> = cells
        .iter()
        .enumerate()
        .map(|(n, c)| {
            let host_cell = several.then(|| Cell::from(app.hosts.name(c.host).to_string()));
            let all: Vec<Cell> = host_cell.into_iter().chain(c.cells(theme)).collect();
            let row = Row::new(shown.iter().map(|i| all[*i].clone()));
            // A host's last known rows stay visible while it is disconnected, dimmed: they
            // may be stale (the line under the table says why when one is selected).
            let connected = app.hosts.get(c.host).is_some_and(|h| h.is_connected());
            let mut style = if connected { Style::new() } else { theme.dim() };
            if app.list.offset + n == app.list.selected {
                style = style.patch(theme.selected());
            }
            row.style(style)
        })
        .collect();
    let table = Table::new(body, constraints)
        .header(header)
        .column_spacing(1);
    frame.render_widget(table, inner);
}

/// A row's texts, computed once so column widths can follow the content.
struct RowText {
    host: HostId,
    name: String,
    state: String,
    state_style: fn(&Theme) -> Style,
    cpu_mode: String,
    cpu_markers: Vec<&'static str>,
    mem: &'static str,
    vcpus: String,
    ram: String,
    snaps: String,
    /// SPACE, OLDEST, CHAIN and whether each carries a warning marker.
    space: [(String, bool); 3],
    current: String,
}

impl RowText {
    fn of(row: &DomainInfo, host: Option<&HostInfo>) -> Self {
        let (state, state_style): (String, fn(&Theme) -> Style) = match row.state {
            None => ("...".into(), Theme::dim),
            Some(s) => (
                s.label().into(),
                match s {
                    DomainState::Running => Theme::good,
                    DomainState::Paused | DomainState::Pmsuspended | DomainState::Shutdown => {
                        Theme::warn
                    }
                    DomainState::Crashed => Theme::bad,
                    _ => Theme::dim,
                },
            ),
        };
        let badge = row.cpu_badge(host.map(|h| &h.capabilities));
        let mem = match host.and_then(|h| row.verdict(h)) {
            None => "",
            Some(v) if !v.memory.applicable => "n/a",
            Some(v) if v.memory.allowed => "ok",
            Some(_) => "NO",
        };
        Self {
            host: row.host,
            name: row.name.clone(),
            state,
            state_style,
            cpu_mode: badge
                .as_ref()
                .map_or_else(|| "...".into(), |b| b.mode_label()),
            cpu_markers: badge.map(|b| b.markers()).unwrap_or_default(),
            mem,
            vcpus: row.vcpus.map(|v| v.to_string()).unwrap_or_default(),
            ram: row.memory_kib.map(format_kib).unwrap_or_default(),
            snaps: row.snapshots.map(|n| n.to_string()).unwrap_or_default(),
            space: Default::default(),
            current: row.current_snapshot.clone().unwrap_or_else(|| "-".into()),
        }
    }

    fn cpu_len(&self) -> usize {
        self.cpu_mode.len() + self.cpu_markers.iter().map(|m| m.len() + 1).sum::<usize>()
    }

    fn cells(&self, theme: &Theme) -> [Cell<'static>; 11] {
        let mut cpu = vec![Span::raw(self.cpu_mode.clone())];
        for m in &self.cpu_markers {
            let style = match *m {
                "invtsc" => theme.marker_invtsc(),
                "tsc-pinned" => theme.marker_pinned(),
                _ => theme.marker_nomigrate(),
            };
            cpu.push(Span::raw(" "));
            cpu.push(Span::styled(*m, style));
        }
        let mem_style = match self.mem {
            "NO" => theme.bad(),
            "ok" => theme.good(),
            _ => theme.dim(),
        };
        [
            Cell::from(self.name.clone()),
            Cell::from(Span::styled(self.state.clone(), (self.state_style)(theme))),
            Cell::from(Line::from(cpu)),
            Cell::from(Span::styled(self.mem, mem_style)),
            Cell::from(Line::from(self.vcpus.clone()).right_aligned()),
            Cell::from(Line::from(self.ram.clone()).right_aligned()),
            Cell::from(Line::from(self.snaps.clone()).right_aligned()),
            space_cell(&self.space[0], theme),
            space_cell(&self.space[1], theme),
            space_cell(&self.space[2], theme),
            Cell::from(self.current.clone()),
        ]
    }
}

/// A SPACE/OLDEST/CHAIN cell, right-aligned; a `!` marker (stale, deep) stands out, and "?"
/// and "..." are dim.
fn space_cell((text, marked): &(String, bool), theme: &Theme) -> Cell<'static> {
    let style = if *marked {
        theme.warn()
    } else if text == "?" || text == "..." {
        theme.dim()
    } else {
        Style::new()
    };
    Cell::from(Line::from(Span::styled(text.clone(), style)).right_aligned())
}

/// The row's SPACE, OLDEST, CHAIN: "..." while its host reads them, "?" when it could not
/// (the line under the table says why), empty before they were asked for.
fn space_cells(app: &App, row: &DomainInfo) -> [(String, bool); 3] {
    let Some(entry) = app.space.get(row.host, &row.name) else {
        return Default::default();
    };
    match &entry.value {
        None => std::array::from_fn(|_| ("...".to_string(), false)),
        Some(Err(_)) => std::array::from_fn(|_| ("?".to_string(), false)),
        Some(Ok(s)) => s.cells().map(|c| {
            let marked = c.ends_with('!');
            (c, marked)
        }),
    }
}

/// `131072` KiB -> `128 MiB`; whole units keep the column narrow.
pub fn format_kib(kib: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    let mut value = kib as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if value >= 10.0 || value.fract() == 0.0 {
        format!("{value:.0} {}", UNITS[unit])
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// Marks (`*` before the name, only while some row is marked, so an unmarked list looks as
/// before) and a running lifecycle job's transition in the state cell ("shutting down 37s").
fn with_lifecycle(mut text: RowText, app: &App, row: &DomainInfo) -> RowText {
    if !app.list.marked.is_empty() {
        let mark = if app.list.marked.contains(&(row.host, row.name.clone())) {
            "*"
        } else {
            " "
        };
        text.name = format!("{mark} {}", text.name);
    }
    if let Some(words) = crate::app::lifecycle::transition_text(app, row.host, &row.name) {
        text.state = words;
        text.state_style = Theme::warn;
    }
    text
}
