//! The bulk delete dialog (`d` with marked rows): the snapshot name, the names the VMs hold,
//! a row per VM with its delete plan in words (refused ones marked), and the selected VM's
//! plan in full.

use ratatui::layout::{Constraint, Layout};
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::bulk::{draw_detail, draw_table, TableColumn};
use super::create::{field_line, truncate, wrap};
use crate::app::dialogs::bulk_delete::{BulkDeleteDialog, DeleteRow, MODE};
use crate::app::Hosts;
use crate::model::storage::render::Tone;
use crate::ui::jobs::{centered, modal_block};
use crate::ui::theme::key_hints;
use crate::ui::Theme;

pub fn draw(frame: &mut Frame, d: &BulkDeleteDialog, hosts: &Hosts, theme: &Theme) {
    let full = frame.area();
    let box_width = full.width.min(150);
    let width = usize::from(box_width.saturating_sub(2)).max(10);
    let name = d.name.value();
    let rows = d.rows();
    let detail = match (d.vms.get(d.selected), rows.get(d.selected)) {
        (Some(vm), Some(row)) => {
            Some((vm.label(Some(hosts)), detail_lines(name, row, width, theme)))
        }
        _ => None,
    };
    let height = super::bulk_create::box_height(d.vms.len(), detail.as_ref(), full.height);
    let area = centered(full, box_width, height);
    let block = modal_block(
        frame,
        area,
        format!(" Delete a snapshot from {} marked VMs ", d.vms.len()),
        theme,
    );
    let inner = block.inner(area);
    frame.render_widget(block, area);

    let mut top = vec![field_line(
        "Snapshot",
        name,
        Some(d.name.cursor()),
        width,
        theme,
    )];
    let held: Vec<String> = d
        .names()
        .iter()
        .take(4)
        .map(|(n, count)| format!("{n} ({count} of {})", d.vms.len()))
        .collect();
    top.push(Line::styled(
        truncate(
            &if held.is_empty() {
                format!("{:14}reading the VMs' snapshots...", "")
            } else {
                format!("{:14}Tab: {}", "", held.join(", "))
            },
            width,
        ),
        theme.dim(),
    ));
    top.push(Line::styled(
        truncate(&format!("Each VM: {}", MODE.label()), width),
        theme.dim(),
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
    columns.push(TableColumn::whole(
        "VM",
        d.vms.iter().map(|v| v.domain.clone()).collect(),
        0,
        32,
    ));
    let plans = rows
        .iter()
        .map(|r| {
            let mut words: Vec<String> = r.lines().into_iter().map(|l| l.text).collect();
            // "Deletes 1 snapshot: NAME." is every row's first line: what follows tells them
            // apart (merges, removals, files left).
            if words.len() > 1 && words[0].starts_with("Deletes 1 snapshot: ") {
                words.remove(0);
            }
            let text = words.join(" ");
            if r.refused() {
                format!("REFUSED {}", text.trim_start_matches("Not possible: "))
            } else {
                text
            }
        })
        .collect();
    columns.push(TableColumn::new("PLAN", plans, 0, 12, 300).filling());
    let styles: Vec<Style> = rows
        .iter()
        .map(|r| match r {
            r if r.refused() => theme.bad(),
            DeleteRow::Absent(_) | DeleteRow::Reading => theme.dim(),
            _ => Style::new(),
        })
        .collect();

    let bottom = vec![
        Line::raw(if name.is_empty() {
            format!("{} VMs", d.vms.len())
        } else {
            d.tally()
        }),
        match &d.error {
            Some(e) => Line::styled(truncate(e, width), theme.bad()),
            None => key_hints(
                &[
                    ("Enter", "delete"),
                    ("Tab", "a held name"),
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

/// The selected VM's plan in full, wrapped to `width`.
fn detail_lines(name: &str, row: &DeleteRow, width: usize, theme: &Theme) -> Vec<Line<'static>> {
    if name.is_empty() {
        return vec![Line::styled(
            "Type the snapshot's name, or Tab for one the marked VMs hold.",
            theme.dim(),
        )];
    }
    row.lines()
        .into_iter()
        .flat_map(|l| {
            let style = match l.tone {
                Tone::Plain => Style::new(),
                Tone::Warn => theme.warn(),
                Tone::Refused => theme.bad(),
            };
            wrap(&l.text, width)
                .into_iter()
                .map(move |t| Line::styled(t, style))
        })
        .collect()
}
