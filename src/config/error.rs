//! A config mistake, located: the file, the line and the key, from the byte span toml (or a
//! later check) points at.

use std::ops::Range;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.render())]
pub struct ConfigError {
    pub path: PathBuf,
    /// 1-based line of the mistake, when known.
    pub line: Option<usize>,
    /// The dotted key it is on (`host.uri`, `keys.domains.shutdown`), when known.
    pub key: Option<String>,
    /// What is wrong, in toml's or virtsnap's words, on one line.
    pub message: String,
}

impl ConfigError {
    /// An error about `span` of `source` (the whole file's text).
    pub fn at(path: &Path, source: &str, span: Option<Range<usize>>, message: String) -> Self {
        let (line, key) = match span {
            Some(span) => {
                let start = span.start.min(source.len());
                (Some(line_of(source, start)), key_at(source, start))
            }
            None => (None, None),
        };
        Self {
            path: path.to_path_buf(),
            line,
            key,
            message: message.split_whitespace().collect::<Vec<_>>().join(" "),
        }
    }

    fn render(&self) -> String {
        let mut s = format!("config file {}", self.path.display());
        if let Some(line) = self.line {
            s.push_str(&format!(", line {line}"));
        }
        if let Some(key) = &self.key {
            s.push_str(&format!(", key `{key}`"));
        }
        s.push_str(": ");
        s.push_str(&self.message);
        s
    }
}

/// The 1-based line holding byte `at`.
fn line_of(source: &str, at: usize) -> usize {
    source.as_bytes()[..at]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// The dotted key of the line holding byte `at`: the table header above it (`[keys.domains]`,
/// `[[host]]`) joined with the key before `=`, or the header itself when `at` is on one.
fn key_at(source: &str, at: usize) -> Option<String> {
    let line_start = source[..at].rfind('\n').map_or(0, |i| i + 1);
    let line_end = source[at..].find('\n').map_or(source.len(), |i| at + i);
    let line = source[line_start..line_end].trim();
    if let Some(header) = table_header(line) {
        return Some(header);
    }
    let table = source[..line_start].lines().rev().find_map(table_header);
    let key = line
        .split_once('=')
        .map(|(k, _)| k.trim().trim_matches(['"', '\'']).to_string())
        .filter(|k| !k.is_empty());
    match (table, key) {
        (Some(t), Some(k)) => Some(format!("{t}.{k}")),
        (None, Some(k)) => Some(k),
        (Some(t), None) => Some(t),
        (None, None) => None,
    }
}

/// `[a.b]` -> `a.b`, `[[host]]` -> `host`; None for other lines.
fn table_header(line: &str) -> Option<String> {
    let line = line.trim();
    let inner = line.strip_prefix("[[").and_then(|l| l.strip_suffix("]]"));
    let inner = inner.or_else(|| line.strip_prefix('[').and_then(|l| l.strip_suffix(']')))?;
    Some(inner.trim().to_string())
}
