//! The selected snapshot in full: the detail pane, the `x` XML pane and the `e` description
//! editor.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
use ratatui::Frame;

use crate::app::dialogs::existing::DescribeDialog;
use crate::app::snapshot_view::{age, human_size, local_time, SnapshotView};
use crate::app::App;
use crate::model::snapshot::{MemoryMode, SnapshotInfo};
use crate::model::space::{short_bytes, SnapshotSpace};
use crate::ui::jobs::{centered, modal_block};
use crate::ui::theme::{cursor_spans, key_hints};
use crate::ui::Theme;

pub fn draw(frame: &mut Frame, area: Rect, app: &App, v: &SnapshotView, theme: &Theme) {
    if area.height == 0 || area.width == 0 {
        return;
    }
    // One title: ratatui's `title` adds another each call rather than replacing it.
    let title = if v.detail_focus {
        " Detail (j/k scroll, Tab back) "
    } else {
        " Detail "
    };
    let mut block = Block::new()
        .borders(Borders::ALL)
        .border_set(theme.border())
        .title(title);
    if v.detail_focus {
        block = block.border_style(theme.accent());
    }
    let Some(info) = v.selected_info() else {
        frame.render_widget(block, area);
        return;
    };
    let lines = detail_lines(v, info, app.now, theme);
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false })
            .scroll((v.detail_scroll, 0)),
        area,
    );
}

fn field<'a>(label: &'a str, value: String, theme: &Theme) -> Line<'a> {
    Line::from(vec![
        Span::styled(format!("{label:<12}"), theme.heading()),
        Span::raw(value),
    ])
}

pub fn detail_lines(
    v: &SnapshotView,
    info: &SnapshotInfo,
    now: u64,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let current = v.tree.current().is_some_and(|c| c.name == info.name);
    let mut name = info.name.clone();
    if current {
        name.push_str("  (current)");
    }
    let memory = match info.memory_mode {
        MemoryMode::No => "not included".to_string(),
        MemoryMode::Internal => "included (inside the qcow2 images)".to_string(),
        MemoryMode::External => "included (external file)".to_string(),
    };
    let mut lines = vec![
        field("Name", name, theme),
        field(
            "Created",
            format!(
                "{} ({})",
                local_time(info.created, true),
                age(info.created, now)
            ),
            theme,
        ),
    ];
    // The size comes early: the tree's SIZE "?" is explained without scrolling.
    if let Some(space) = v.data.space_of(&info.name) {
        lines.extend(size_lines(space, theme));
    }
    lines.extend([
        field(
            "Captured",
            format!("{}, {}", info.state.label(), info.location.as_str()),
            theme,
        ),
        field("Memory", memory, theme),
        field(
            "Parent",
            info.parent.clone().unwrap_or_else(|| "- (a root)".into()),
            theme,
        ),
        field(
            "Children",
            v.tree.children_count(&info.name).to_string(),
            theme,
        ),
    ]);
    if let Some(space) = v.data.space_of(&info.name) {
        lines.extend(size_parts(space, theme));
    }
    if let Some(file) = &info.memory_file {
        lines.push(field("Memory file", with_size(v, file), theme));
    }
    if !info.disks.is_empty() {
        lines.push(Line::styled("Disks", theme.heading()));
        for d in &info.disks {
            let mode = d.mode.map_or("default", |m| m.as_str());
            let mut text = format!("  {:<6} {mode}", d.name);
            if let Some(src) = &d.source {
                text.push_str(&format!("  {}", with_size(v, src)));
            }
            lines.push(Line::raw(text));
        }
    }
    lines.push(Line::styled("Description", theme.heading()));
    match info.description.as_deref().filter(|d| !d.trim().is_empty()) {
        Some(d) => lines.extend(d.lines().map(|l| Line::raw(format!("  {l}")))),
        None => lines.push(Line::styled("  (none; e edits)", theme.dim())),
    }
    lines
}

/// "Size  1.2G (measured: file allocation on this host)", or why it is unknown, so a "?" in
/// the tree is explained here.
fn size_lines(space: &SnapshotSpace, theme: &Theme) -> Vec<Line<'static>> {
    // size_known says how it was measured, or names the first part that is unknown and why.
    let total = match space.size_bytes {
        Some(b) => format!("{} ({})", short_bytes(b), space.size_known),
        None if space.known_bytes > 0 => {
            format!(
                "at least {}; {}",
                short_bytes(space.known_bytes),
                space.size_known
            )
        }
        None => space.size_known.clone(),
    };
    vec![field("Size", total, theme)]
}

/// Each part a snapshot's space is made of, when there are several: what, how much, how.
fn size_parts(space: &SnapshotSpace, theme: &Theme) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    if space.parts.len() > 1 {
        lines.push(Line::styled("Space held", theme.heading()));
        for p in &space.parts {
            let bytes = p.bytes.map_or("?".to_string(), short_bytes);
            lines.push(Line::styled(
                format!("  {}: {bytes} ({})", p.what, p.how),
                theme.dim(),
            ));
        }
    }
    lines
}

fn with_size(v: &SnapshotView, file: &str) -> String {
    // Sizes are read from this machine's files: a remote host's paths mean nothing here.
    let remote = v.data.storage.as_ref().is_some_and(|f| !f.local);
    match v.data.file_size(file) {
        Some(bytes) => format!("{file} ({})", human_size(bytes)),
        None if remote => format!("{file} (size unknown on a remote host)"),
        None => file.to_string(),
    }
}

/// The selected snapshot's XML as libvirt gave it, scrollable.
pub fn draw_xml(frame: &mut Frame, v: &SnapshotView, scroll: u16, theme: &Theme) {
    let Some(info) = v.selected_info() else {
        return;
    };
    let area = frame.area();
    let area = centered(
        area,
        area.width.saturating_sub(4),
        area.height.saturating_sub(2),
    );
    let block = modal_block(
        frame,
        area,
        format!(" XML of {} (j/k scroll, Esc closes) ", info.name),
        theme,
    );
    let lines: Vec<Line> = info.raw_xml.lines().map(Line::raw).collect();
    frame.render_widget(Paragraph::new(lines).block(block).scroll((scroll, 0)), area);
}

pub fn draw_describe(frame: &mut Frame, d: &DescribeDialog, theme: &Theme) {
    let area = centered(frame.area(), 70, 12);
    let block = modal_block(
        frame,
        area,
        format!(" Description of {} ", d.snapshot),
        theme,
    );
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let [text_area, _, hints_area] = Layout::vertical([
        Constraint::Min(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(inner);

    // The cursor: `_` after the end of its line, the character under it highlighted inside.
    let (cursor_line, cursor_col) = d.text.cursor_line_col();
    let text_lines: Vec<&str> = d.text.value().split('\n').collect();
    let lines: Vec<Line> = text_lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            if i != cursor_line {
                return Line::raw(l.to_string());
            }
            Line::from(cursor_spans(
                l,
                cursor_col,
                Style::new(),
                theme.selected(),
                Span::styled("_", theme.accent()),
            ))
        })
        .collect();
    // Scrolled so that the cursor's row is in view (rows counted as the wrap makes them,
    // near enough: a long word wrapped early may shift this by a row).
    let width = usize::from(text_area.width).max(1);
    let rows = |l: &str| l.chars().count().div_ceil(width).max(1);
    let cursor_row: usize = text_lines[..cursor_line]
        .iter()
        .map(|l| rows(l))
        .sum::<usize>()
        + cursor_col / width;
    let height = usize::from(text_area.height).max(1);
    let scroll = (cursor_row + 1).saturating_sub(height);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .scroll((u16::try_from(scroll).unwrap_or(u16::MAX), 0)),
        text_area,
    );
    frame.render_widget(
        Paragraph::new(key_hints(
            &[
                ("Enter", "save"),
                ("Ctrl-J", "new line"),
                ("Ctrl-U", "clear"),
                ("Esc", "cancel"),
            ],
            theme,
        )),
        hints_area,
    );
}
