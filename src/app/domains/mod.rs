//! The domain list screen's state: the rows with their filter, selection and marks (`list`),
//! the `/` and `:` prompts (`prompt`), and the snapshot space and age of the rows on screen
//! (`space`). `ui/domains/` draws it.

pub mod list;
pub mod prompt;
pub mod space;
