//! The bulk create dialog (`s` with marked rows): the name pattern, the description, the two
//! "where allowed" checkboxes, the table of what each VM gets, and the selected VM's details.

use ratatui::layout::{Constraint, Layout};
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::bulk::{draw_detail, draw_table, TableColumn};
use super::create::{checkbox, field_line, truncate, wrap};
use crate::app::dialogs::bulk::VmFacts;
use crate::app::dialogs::bulk_create::{BulkCreateDialog, BulkField, CreateRow};
use crate::app::Hosts;
use crate::model::bulk::NAME_PLACEHOLDERS;
use crate::ui::jobs::{centered, modal_block};
use crate::ui::theme::key_hints;
use crate::ui::Theme;

pub fn draw(frame: &mut Frame, d: &BulkCreateDialog, hosts: &Hosts, theme: &Theme) {
    let full = frame.area();
    let box_width = full.width.min(150);
    let width = usize::from(box_width.saturating_sub(2)).max(10);
    let rows = d.rows();
    let detail = match (d.vms.get(d.selected), rows.get(d.selected)) {
        (Some(vm), Some(row)) => Some((
            vm.label(Some(hosts)),
            detail_lines(d, d.selected, row, width, theme),
        )),
        _ => None,
    };
    let area = centered(
        full,
        box_width,
        box_height(d.vms.len(), detail.as_ref(), full.height),
    );
    let block = modal_block(
        frame,
        area,
        format!(" New snapshot of {} marked VMs ", d.vms.len()),
        theme,
    );
    let inner = block.inner(area);
    frame.render_widget(block, area);

    let mut top = vec![field_line(
        "Name",
        d.name.value(),
        (d.focus == BulkField::Name).then(|| d.name.cursor()),
        width,
        theme,
    )];
    let example = d.vms.first().map(|vm| d.name_for(&vm.domain));
    top.push(match example {
        Some(Err(e)) => Line::styled(truncate(&format!("{:14}! {e}", ""), width), theme.bad()),
        Some(Ok(name)) => Line::styled(
            truncate(&format!("{:14}{NAME_PLACEHOLDERS}; e.g. {name}", ""), width),
            theme.dim(),
        ),
        None => Line::raw(""),
    });
    let desc = d.description.value();
    let last = desc.rsplit('\n').next().unwrap_or("");
    let focused = d.focus == BulkField::Description;
    let cursor = focused.then(|| d.description.cursor_line_col().1);
    top.push(field_line("Description", last, cursor, width, theme));
    top.push(checkbox(
        "Memory state where allowed (the others: disk-only, and why)",
        d.memory,
        true,
        d.focus == BulkField::Memory,
        theme,
    ));
    top.push(checkbox(
        "Quiesce where a guest agent answers (disk-only snapshots)",
        d.quiesce,
        true,
        d.focus == BulkField::Quiesce,
        theme,
    ));

    let several = hosts.several();
    let mut columns = Vec::new();
    if several {
        let cells = d
            .vms
            .iter()
            .map(|v| hosts.name(v.host).to_string())
            .collect();
        columns.push(TableColumn::whole("HOST", cells, 0, 16));
    }
    let names = d.vms.iter().map(|v| v.domain.clone()).collect();
    columns.push(TableColumn::whole("VM", names, 0, 32));
    // What a VM gets is the point of the row.
    let gets = rows.iter().map(CreateRow::gets).collect();
    columns.push(TableColumn::whole("GETS", gets, 0, 30));
    // The expanded names only where there is room: the detail shows the selected one's.
    let snapshot_names = rows
        .iter()
        .map(|r| match r {
            CreateRow::Create { name, .. } => name.clone(),
            _ => String::new(),
        })
        .collect();
    columns.push(TableColumn::whole("SNAPSHOT", snapshot_names, 2, 60));
    columns.push(
        TableColumn::new(
            "NOTE",
            rows.iter().map(CreateRow::note).collect(),
            1,
            12,
            200,
        )
        .filling(),
    );
    let styles: Vec<Style> = rows
        .iter()
        .map(|r| match r {
            CreateRow::Refused(_) => theme.bad(),
            CreateRow::Reading => theme.dim(),
            CreateRow::Create { choice, .. } if !choice.notes.is_empty() => theme.warn(),
            CreateRow::Create { .. } => Style::new(),
        })
        .collect();

    let bottom = vec![
        Line::raw(d.tally()),
        match &d.error {
            Some(e) => Line::styled(truncate(e, width), theme.bad()),
            None => key_hints(
                &[
                    ("Enter", "create"),
                    ("Tab", "next"),
                    ("Space", "toggle"),
                    ("Up/Down", "VM"),
                    ("Esc", "cancel"),
                ],
                theme,
            ),
        },
    ];
    let body = inner
        .height
        .saturating_sub((top.len() + bottom.len()) as u16);
    // The table takes its rows up to half the body; the details get the rest.
    let table_rows = (d.vms.len() as u16 + 1).min(body / 2).max(2.min(body));
    let [top_area, table_area, detail_area, bottom_area] = Layout::vertical([
        Constraint::Length(top.len() as u16),
        Constraint::Length(table_rows),
        Constraint::Fill(1),
        Constraint::Length(bottom.len() as u16),
    ])
    .areas(inner);
    frame.render_widget(Paragraph::new(top), top_area);
    draw_table(frame, table_area, &columns, d.selected, &styles, theme);
    if let Some((title, lines)) = detail {
        draw_detail(frame, detail_area, &title, lines, theme);
    }
    frame.render_widget(Paragraph::new(bottom), bottom_area);
}

/// Tall enough for the fields, every VM's row and the selected one's details (at least a
/// few lines, so moving between VMs does not make the box jump), and no taller than `full`.
pub(super) fn box_height(
    vms: usize,
    detail: Option<&(String, Vec<Line<'static>>)>,
    full: u16,
) -> u16 {
    let detail = detail.map_or(0, |(_, l)| l.len()).max(6);
    let wanted = 5 + (vms + 1) + 1 + detail + 2 + 2;
    u16::try_from(wanted).unwrap_or(u16::MAX).min(full)
}

/// What the selected VM gets, in full: the snapshot's name and plan, what it does not get and
/// why, the plan's warnings, and memory state that the guest can still make QEMU refuse.
fn detail_lines(
    d: &BulkCreateDialog,
    index: usize,
    row: &CreateRow,
    width: usize,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let mut out: Vec<(String, Style)> = Vec::new();
    match row {
        CreateRow::Reading => out.push(("Reading its disks and snapshots...".into(), theme.dim())),
        CreateRow::Refused(why) => out.push((format!("No snapshot: {why}"), theme.bad())),
        CreateRow::Create { name, choice } => {
            out.push((format!("'{name}': {}", choice.plan.summary), Style::new()));
            for note in &choice.notes {
                out.push((note.clone(), theme.warn()));
            }
            // Why memory state is blocked, in the rule's own words (its first paragraph: the
            // remedies are for one VM's own dialog).
            let facts = d.vms.get(index).map(|v| &v.facts);
            if let (false, true, Some(VmFacts::Read { verdict, .. })) =
                (choice.memory, d.memory, facts)
            {
                if let Some(text) = verdict.memory.explanation() {
                    let intro = text.split("\n\nOptions:").next().unwrap_or("");
                    for para in intro.lines().skip(1).filter(|l| !l.trim().is_empty()) {
                        out.push((para.to_string(), theme.dim()));
                    }
                }
            }
            if let Some(risk) = &choice.plan.mixes {
                out.push((format!("Mixes kinds: {risk}"), theme.warn()));
            }
            for w in &choice.plan.warnings {
                out.push((format!("Note: {w}"), theme.warn()));
            }
            if let Some(VmFacts::Read { verdict, .. }) = d.vms.get(index).map(|v| &v.facts) {
                if choice.memory {
                    for c in &verdict.memory.conditional_blockers {
                        out.push((format!("Warning: {}", c.message), theme.warn()));
                    }
                }
            }
        }
    }
    out.into_iter()
        .flat_map(|(text, style)| {
            wrap(&text, width)
                .into_iter()
                .map(move |l| Line::styled(l, style))
        })
        .collect()
}
