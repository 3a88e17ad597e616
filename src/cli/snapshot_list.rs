//! `virtsnap snapshot list DOMAIN [--json]`: the tree in topological order (parents before
//! children), as text or as a JSON array.

use super::{print_out, CliError, Target};
use crate::app::snapshot_view::{age, local_time};
use crate::libvirt::{open, snapshots};
use crate::model::snapshot::SnapshotTree;
use crate::ui::snapshot_view::tree::tree_prefix;

/// Reads a domain's snapshots into the tree the TUI shows.
pub fn read_tree(target: &Target, domain: &str) -> Result<SnapshotTree, CliError> {
    let conn = open(&target.connect)?;
    let data = snapshots::load(&conn, domain)?;
    for (name, why) in &data.unreadable {
        eprintln!("virtsnap: snapshot '{name}' left out: {why}");
    }
    Ok(SnapshotTree::new(data.snapshots, data.current))
}

pub fn run(target: &Target, domain: &str, json: bool) -> Result<(), CliError> {
    let tree = read_tree(target, domain)?;
    if json {
        let mut text = serde_json::to_string_pretty(&tree.list_entries())?;
        text.push('\n');
        return print_out(&text);
    }
    print_out(&text_table(&tree, unix_now()))
}

/// One line per snapshot, `*` marking the current one, children indented under parents.
pub fn text_table(tree: &SnapshotTree, now: u64) -> String {
    if tree.is_empty() {
        return "no snapshots\n".into();
    }
    let rows: Vec<[String; 6]> = tree
        .rows()
        .iter()
        .map(|r| {
            let s = tree.info(r);
            [
                format!("{}{}", tree_prefix(tree, r, true), s.name),
                format!("{} ({})", local_time(s.created, false), age(s.created, now)),
                s.state.label().to_string(),
                if s.memory { "yes" } else { "no" }.to_string(),
                s.location.as_str().to_string(),
                s.description_first_line().to_string(),
            ]
        })
        .collect();
    let heads = [
        "NAME",
        "CREATED",
        "STATE",
        "MEMORY",
        "LOCATION",
        "DESCRIPTION",
    ];
    let mut widths: Vec<usize> = heads.iter().map(|h| h.len()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |marker: &str, cells: &[String]| {
        let mut out = String::from(marker);
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            if i + 1 == cells.len() {
                out.push_str(cell);
            } else {
                let pad = w.saturating_sub(cell.chars().count());
                out.push_str(cell);
                out.push_str(&" ".repeat(pad + 2));
            }
        }
        out.trim_end().to_string() + "\n"
    };
    let heads: Vec<String> = heads.iter().map(|h| h.to_string()).collect();
    let mut out = line("  ", &heads);
    for (row, cells) in tree.rows().iter().zip(&rows) {
        out.push_str(&line(if row.is_current { "* " } else { "  " }, cells));
    }
    out
}

pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
