//! Drawing the dialogs of `app/dialogs/` and the other boxes drawn over a screen: `create`
//! (a new snapshot), `revert`, `delete` (and the describe editor in `snapshot_view`),
//! `bulk_create` and `bulk_delete` (marked VMs, sharing `bulk`'s table), `confirm` (yes/no),
//! `message` (a long result), with `plan_lines` colouring a plan's words.

pub mod bulk;
pub mod bulk_create;
pub mod bulk_delete;
pub mod confirm;
pub mod create;
pub mod delete;
pub mod message;
pub mod plan_lines;
pub mod revert;
