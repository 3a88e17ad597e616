//! `virtsnap snapshot list DOMAIN [--json]`: the tree in topological order (parents before
//! children), as text or as a JSON array, with the space each snapshot holds
//! (`model::space`: `size_bytes`, null when unknown, and `size_known`, how the figure was
//! obtained or why it is unknown).

use serde::Serialize;

use super::{print_out, CliError, Target};
use crate::app::snapshot_view::{age, local_time};
use crate::libvirt::{open, snapshots, space, storage};
use crate::model::snapshot::{SnapshotListEntry, SnapshotTree};
use crate::model::space::{short_bytes, snapshot_space, SnapshotSpace, SpacePart};
use crate::model::storage::Layout;
use crate::ui::snapshot_view::tree::tree_prefix;

/// Reads a domain's snapshots into the tree the TUI shows.
pub fn read_tree(target: &Target, domain: &str) -> Result<SnapshotTree, CliError> {
    let conn = open(&target.connect)?;
    let data = snapshots::load(&conn, domain)?;
    for (name, why) in &data.unreadable {
        crate::err_println!("virtsnap: snapshot '{name}' left out: {why}");
    }
    Ok(SnapshotTree::new(data.snapshots, data.current))
}

/// One element of `snapshot list --json`: the snapshot, its place in the tree, its space.
#[derive(Serialize)]
struct ListedSnapshot<'a> {
    #[serde(flatten)]
    entry: SnapshotListEntry<'a>,
    /// Bytes the snapshot holds on disk; null when unknown.
    size_bytes: Option<u64>,
    /// How `size_bytes` was obtained, or why it is unknown.
    size_known: String,
    size_parts: &'a [SpacePart],
}

/// The tree and each snapshot's space, read in one go.
fn read_with_space(
    target: &Target,
    domain: &str,
) -> Result<(SnapshotTree, Vec<SnapshotSpace>), CliError> {
    let conn = open(&target.connect)?;
    let data = storage::load_view(&conn, domain)?;
    for (name, why) in &data.unreadable {
        crate::err_println!("virtsnap: snapshot '{name}' left out: {why}");
    }
    let spaces = match &data.storage {
        Some(facts) => {
            let layout = Layout::new(facts);
            snapshot_space(&layout, &space::measure(&conn, &layout))
        }
        None => Vec::new(),
    };
    Ok((SnapshotTree::new(data.snapshots, data.current), spaces))
}

pub fn run(target: &Target, domain: &str, json: bool) -> Result<(), CliError> {
    let (tree, spaces) = read_with_space(target, domain)?;
    if json {
        let unknown = "not measured".to_string();
        let listed: Vec<ListedSnapshot> = tree
            .list_entries()
            .into_iter()
            .map(|entry| {
                let sp = spaces.iter().find(|s| s.name == entry.info.name);
                ListedSnapshot {
                    size_bytes: sp.and_then(|s| s.size_bytes),
                    size_known: sp.map_or_else(|| unknown.clone(), |s| s.size_known.clone()),
                    size_parts: sp.map_or(&[], |s| s.parts.as_slice()),
                    entry,
                }
            })
            .collect();
        let mut text = serde_json::to_string_pretty(&listed)?;
        text.push('\n');
        return print_out(&text);
    }
    print_out(&text_table(&tree, &spaces, unix_now()))
}

/// The SIZE cell: bytes, "70M+" when only part is known (a lower bound), "?" when unknown.
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

/// One line per snapshot, `*` marking the current one, children indented under parents.
pub fn text_table(tree: &SnapshotTree, spaces: &[SnapshotSpace], now: u64) -> String {
    if tree.is_empty() {
        return "no snapshots\n".into();
    }
    let rows: Vec<[String; 7]> = tree
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
                size_cell(spaces.iter().find(|sp| sp.name == s.name)),
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
        "SIZE",
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
