//! The snapshot tree in `virsh snapshot-list --tree` order.

use std::cmp::Ordering;
use std::collections::HashMap;

use serde::Serialize;

use super::parse::SnapshotInfo;

/// One visible row of the tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TreeRow {
    /// Index into [`SnapshotTree::snapshots`].
    pub index: usize,
    /// 0 for roots.
    pub depth: usize,
    /// Number of direct children.
    pub children: usize,
    pub is_current: bool,
    /// The last child of its parent (or the last root): draws `└` instead of `├`.
    pub is_last_sibling: bool,
    /// Position of the parent's row in [`SnapshotTree::rows`].
    pub parent_row: Option<usize>,
}

/// One element of `snapshot list --json`.
#[derive(Debug, Clone, Serialize)]
pub struct SnapshotListEntry<'a> {
    #[serde(flatten)]
    pub info: &'a SnapshotInfo,
    pub current: bool,
    pub children: usize,
    pub depth: usize,
}

/// A domain's snapshots, ordered roots first and children after their parent.
///
/// A parent that is missing, or a parent link that would close a cycle, is ignored: that
/// snapshot becomes a root, so every snapshot appears exactly once.
#[derive(Debug, Clone, Default)]
pub struct SnapshotTree {
    snapshots: Vec<SnapshotInfo>,
    rows: Vec<TreeRow>,
    /// Position in `rows` of each snapshot (by index into `snapshots`).
    row_of: Vec<usize>,
    by_name: HashMap<String, usize>,
    current: Option<usize>,
}

impl SnapshotTree {
    pub fn new(snapshots: Vec<SnapshotInfo>, current: Option<String>) -> Self {
        let mut by_name = HashMap::with_capacity(snapshots.len());
        for (i, s) in snapshots.iter().enumerate() {
            by_name.entry(s.name.clone()).or_insert(i);
        }
        let n = snapshots.len();
        let parent: Vec<Option<usize>> = snapshots
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let p = s.parent.as_ref().and_then(|p| by_name.get(p).copied());
                p.filter(|&p| p != i)
            })
            .collect();
        let parent = break_cycles(parent);
        let sibling_order = |a: &usize, b: &usize| -> Ordering {
            let (x, y) = (&snapshots[*a], &snapshots[*b]);
            x.created
                .cmp(&y.created)
                .then_with(|| x.name.cmp(&y.name))
                .then(a.cmp(b))
        };
        let mut children: Vec<Vec<usize>> = vec![Vec::new(); n];
        let mut roots = Vec::new();
        for (i, p) in parent.iter().enumerate() {
            match p {
                Some(p) => children[*p].push(i),
                None => roots.push(i),
            }
        }
        roots.sort_by(sibling_order);
        for c in &mut children {
            c.sort_by(sibling_order);
        }
        let current = current.and_then(|c| by_name.get(&c).copied());

        // Iterative pre-order walk: a long linear chain must not overflow the stack.
        let mut rows = Vec::with_capacity(n);
        let mut row_of = vec![0; n];
        let mut stack: Vec<(usize, usize, bool, Option<usize>)> = Vec::new();
        push_siblings(&mut stack, &roots, 0, None);
        while let Some((index, depth, is_last_sibling, parent_row)) = stack.pop() {
            row_of[index] = rows.len();
            rows.push(TreeRow {
                index,
                depth,
                children: children[index].len(),
                is_current: current == Some(index),
                is_last_sibling,
                parent_row,
            });
            let me = rows.len() - 1;
            push_siblings(&mut stack, &children[index], depth + 1, Some(me));
        }
        Self {
            snapshots,
            rows,
            row_of,
            by_name,
            current,
        }
    }

    pub fn snapshots(&self) -> &[SnapshotInfo] {
        &self.snapshots
    }

    /// All rows in display order.
    pub fn rows(&self) -> &[TreeRow] {
        &self.rows
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The snapshot shown in a row.
    pub fn info(&self, row: &TreeRow) -> &SnapshotInfo {
        &self.snapshots[row.index]
    }

    pub fn get(&self, name: &str) -> Option<&SnapshotInfo> {
        self.by_name.get(name).map(|&i| &self.snapshots[i])
    }

    /// Position of a snapshot's row in [`Self::rows`].
    pub fn row_position(&self, name: &str) -> Option<usize> {
        self.by_name.get(name).map(|&i| self.row_of[i])
    }

    pub fn row(&self, name: &str) -> Option<&TreeRow> {
        self.row_position(name).map(|p| &self.rows[p])
    }

    pub fn current(&self) -> Option<&SnapshotInfo> {
        self.current.map(|i| &self.snapshots[i])
    }

    /// Direct children count; 0 for an unknown name.
    pub fn children_count(&self, name: &str) -> usize {
        self.row(name).map_or(0, |r| r.children)
    }

    /// Every snapshot below `name`, parents before children (not `name` itself).
    pub fn descendants(&self, name: &str) -> Vec<&SnapshotInfo> {
        let Some(pos) = self.row_position(name) else {
            return Vec::new();
        };
        let depth = self.rows[pos].depth;
        self.rows[pos + 1..]
            .iter()
            .take_while(|r| r.depth > depth)
            .map(|r| &self.snapshots[r.index])
            .collect()
    }

    /// Rows whose name or description contains `query` (ignoring case), with their ancestors
    /// for context, in display order. An empty query keeps every row.
    pub fn filter(&self, query: &str) -> Vec<TreeRow> {
        let query = query.trim().to_lowercase();
        if query.is_empty() {
            return self.rows.clone();
        }
        let mut keep = vec![false; self.rows.len()];
        for (pos, row) in self.rows.iter().enumerate() {
            let s = &self.snapshots[row.index];
            let hit = s.name.to_lowercase().contains(&query)
                || s.description
                    .as_deref()
                    .is_some_and(|d| d.to_lowercase().contains(&query));
            if !hit {
                continue;
            }
            // Stop at the first ancestor already kept: its own ancestors are kept too.
            let mut at = Some(pos);
            while let Some(p) = at {
                if keep[p] {
                    break;
                }
                keep[p] = true;
                at = self.rows[p].parent_row;
            }
        }
        self.rows
            .iter()
            .zip(keep)
            .filter_map(|(row, k)| k.then_some(*row))
            .collect()
    }

    /// The entries of `snapshot list --json`, in display order.
    pub fn list_entries(&self) -> Vec<SnapshotListEntry<'_>> {
        self.rows
            .iter()
            .map(|r| SnapshotListEntry {
                info: &self.snapshots[r.index],
                current: r.is_current,
                children: r.children,
                depth: r.depth,
            })
            .collect()
    }
}

/// Pushes siblings so that the first one is popped first.
fn push_siblings(
    stack: &mut Vec<(usize, usize, bool, Option<usize>)>,
    siblings: &[usize],
    depth: usize,
    parent_row: Option<usize>,
) {
    for (k, &i) in siblings.iter().enumerate().rev() {
        stack.push((i, depth, k + 1 == siblings.len(), parent_row));
    }
}

/// Cuts one link in every parent cycle, so that the walk from the roots reaches everything.
fn break_cycles(mut parent: Vec<Option<usize>>) -> Vec<Option<usize>> {
    // 0 = unvisited, 1 = on the current path, 2 = known to reach a root.
    let mut mark = vec![0u8; parent.len()];
    let mut path = Vec::new();
    for start in 0..parent.len() {
        let mut at = start;
        while mark[at] == 0 {
            mark[at] = 1;
            path.push(at);
            match parent[at] {
                Some(p) => at = p,
                None => break,
            }
        }
        if mark[at] == 1 && parent[at].is_some_and(|p| mark[p] == 1) {
            // `at` points back into the current path: a cycle. Making it a root breaks it.
            parent[at] = None;
        }
        for p in path.drain(..) {
            mark[p] = 2;
        }
    }
    parent
}
