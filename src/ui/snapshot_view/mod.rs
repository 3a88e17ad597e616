//! Drawing the snapshot screen of `app/snapshot_view/`: the tree and the detail pane (with the
//! XML pane and the describe editor).

pub mod detail;
pub mod tree;
