//! The dialogs drawn over a screen, each plain data with its own keys: `create` (a new
//! snapshot, `s`), `existing` (revert, delete and describe a snapshot of the tree), and
//! `confirm` (a yes/no question before an action). `ui/dialogs/` draws them.

pub mod confirm;
pub mod create;
pub mod existing;
