//! The dialogs drawn over a screen, each plain data with its own keys: `create` (a new
//! snapshot, `s`), `existing` (revert, delete and describe a snapshot of the tree),
//! `bulk_create` and `bulk_delete` (`s` and `d` on marked rows, sharing `bulk`), and `confirm`
//! (a yes/no question before an action). `ui/dialogs/` draws them.

pub mod bulk;
pub mod bulk_create;
pub mod bulk_delete;
pub mod confirm;
pub mod create;
pub mod existing;
