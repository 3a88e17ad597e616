//! The snapshot tree in `virsh snapshot-list --tree` order.

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
#[derive(Debug, Clone, Default)]
pub struct SnapshotTree {
    snapshots: Vec<SnapshotInfo>,
    rows: Vec<TreeRow>,
}

impl SnapshotTree {
    pub fn new(snapshots: Vec<SnapshotInfo>, current: Option<String>) -> Self {
        let _ = current;
        Self {
            snapshots,
            rows: Vec::new(),
        }
    }

    pub fn snapshots(&self) -> &[SnapshotInfo] {
        &self.snapshots
    }

    /// All rows in display order.
    pub fn rows(&self) -> &[TreeRow] {
        &self.rows
    }
}
