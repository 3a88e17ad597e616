//! The domain list screen's state: the rows with their filter, selection and marks (`list`),
//! and the `/` and `:` prompts (`prompt`). `ui/domains/` draws it.

pub mod list;
pub mod prompt;
