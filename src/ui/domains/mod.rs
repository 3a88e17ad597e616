//! Drawing the domain list screen of `app/domains/`: the table and the selected row's line.

pub mod detail;
pub mod list;
