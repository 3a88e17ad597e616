//! The config file: `$XDG_CONFIG_HOME/virtsnap/config.toml` (else `~/.config/virtsnap/`), or
//! the file `--config PATH` names. Hosts, the default shutdown timeout, the stale-snapshot
//! age, display preferences and key remaps. Every mistake is reported with the line and the
//! key it is on (toml's spans), so an admin can fix the file without guessing.

mod duration;
mod error;
mod raw;

use std::path::{Path, PathBuf};
use std::time::Duration;

pub use error::ConfigError;
use raw::RawConfig;

/// The file name under the config directory.
pub const FILE_NAME: &str = "config.toml";

/// Seconds `D` (and `virtsnap shutdown`) waits for a guest before asking to force it off,
/// when neither the file nor `--shutdown-timeout` says otherwise.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration =
    crate::libvirt::jobs::lifecycle::DEFAULT_SHUTDOWN_TIMEOUT;

/// Snapshots older than this are stale (3 days), when the file does not say otherwise.
pub const DEFAULT_STALE_SNAPSHOT_AGE: Duration = Duration::from_secs(3 * 86_400);

/// Everything the config file can set, with the defaults filled in where it says nothing.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The file these values came from; None when there was none (all defaults).
    pub path: Option<PathBuf>,
    /// `[[host]]` tables, in file order. Empty: the command line or libvirt's default URI.
    pub hosts: Vec<HostConfig>,
    /// How long a graceful shutdown may take before virtsnap asks to force the guest off.
    pub shutdown_timeout: Duration,
    /// Age past which a snapshot counts as stale (retention and the list's age marker).
    pub stale_snapshot_age: Duration,
    /// Draw with ASCII only, as `--ascii` does.
    pub ascii: bool,
    /// Use colours; false as `--no-color` (or NO_COLOR) does.
    pub color: bool,
    /// `[keys.VIEW]` tables: for each view name, action name -> the keys that replace its
    /// defaults, as written. Checked against the views' key tables by `app::keys`.
    pub keys: KeyRemaps,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            path: None,
            hosts: Vec::new(),
            shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
            stale_snapshot_age: DEFAULT_STALE_SNAPSHOT_AGE,
            ascii: false,
            color: true,
            keys: KeyRemaps::default(),
        }
    }
}

/// One `[[host]]` table: a libvirt connection URI and the name the HOST column shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostConfig {
    pub name: String,
    /// A libvirt URI (`qemu:///system`, `qemu+ssh://root@hv01/system`, `test:///default`).
    pub uri: String,
}

/// A key remap as written in the file, with the byte ranges of its parts so a later check
/// (an unknown action, a key bound twice) can still name the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRemap {
    pub action: String,
    pub action_span: std::ops::Range<usize>,
    /// The keys, each as written (`"d"`, `"Ctrl-R"`, `"F5"`), with its own span.
    pub keys: Vec<(String, std::ops::Range<usize>)>,
}

/// One `[keys.VIEW]` table: the view's name as written, where, and its remaps in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewRemaps {
    pub view: String,
    pub span: std::ops::Range<usize>,
    pub remaps: Vec<KeyRemap>,
}

/// Every `[keys.VIEW]` table, in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyRemaps {
    pub views: Vec<ViewRemaps>,
    /// The file's text, kept so later checks can turn spans into lines.
    pub source: String,
    pub path: PathBuf,
}

impl KeyRemaps {
    /// An error about the text at `span`, naming its line and key like parse errors do.
    pub fn error_at(&self, span: std::ops::Range<usize>, message: String) -> ConfigError {
        ConfigError::at(&self.path, &self.source, Some(span), message)
    }

    /// The remaps of the view named `view`, if the file has a table for it.
    pub fn view(&self, view: &str) -> Option<&ViewRemaps> {
        self.views.iter().find(|v| v.view == view)
    }
}

/// `$XDG_CONFIG_HOME/virtsnap/config.toml`, else `$HOME/.config/virtsnap/config.toml`;
/// None when neither variable is set.
pub fn default_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("virtsnap").join(FILE_NAME))
}

/// Reads the config: the file `explicit` names (it must exist), else the default path (a
/// missing file there means all defaults).
///
/// # Errors
/// The file cannot be read, is not TOML, has an unknown key or a value of the wrong kind, or
/// breaks a rule (two hosts of one name, an empty URI): the error names the file, the line
/// and the key.
pub fn load(explicit: Option<&Path>) -> Result<Config, ConfigError> {
    let path = match explicit {
        Some(p) => p.to_path_buf(),
        None => match default_path() {
            Some(p) if p.exists() => p,
            _ => return Ok(Config::default()),
        },
    };
    let text = std::fs::read_to_string(&path).map_err(|e| ConfigError {
        path: path.clone(),
        line: None,
        key: None,
        message: format!("cannot read it: {e}"),
    })?;
    parse(&path, &text)
}

/// Parses the text of a config file read from `path` (named in errors).
///
/// # Errors
/// As [`load`], without the I/O.
pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
    let raw: RawConfig = toml::from_str(text)
        .map_err(|e| ConfigError::at(path, text, e.span(), e.message().to_string()))?;
    raw.into_config(path, text)
}

/// The hosts to connect to: the `-c` values when any were given (a value that is the name of
/// a host in the file means that host), else the file's hosts, else one host with no URI
/// (`$LIBVIRT_DEFAULT_URI`, else libvirt's default).
pub fn resolve_hosts(connect: &[String], config: &Config) -> Vec<HostTarget> {
    if connect.is_empty() {
        if config.hosts.is_empty() {
            return vec![HostTarget {
                name: None,
                uri: None,
            }];
        }
        return config
            .hosts
            .iter()
            .map(|h| HostTarget {
                name: Some(h.name.clone()),
                uri: Some(h.uri.clone()),
            })
            .collect();
    }
    connect
        .iter()
        .map(|c| match config.hosts.iter().find(|h| &h.name == c) {
            Some(h) => HostTarget {
                name: Some(h.name.clone()),
                uri: Some(h.uri.clone()),
            },
            None => HostTarget {
                name: None,
                uri: Some(c.clone()),
            },
        })
        .collect()
}

/// Each host's name for the HOST column and the JSON: its `[[host]]` name, else one made from
/// its URI (the host part, `127.0.0.1:2222` with a port; `local` for `qemu:///system`; else
/// the path's last part without `.xml`, `default` for `test:///default`). A name given twice
/// gets `-2`, `-3` added, so every row's host can be told apart.
pub fn host_names(targets: &[HostTarget]) -> Vec<String> {
    let mut names: Vec<String> = Vec::with_capacity(targets.len());
    for t in targets {
        let base = t
            .name
            .clone()
            .unwrap_or_else(|| name_from_uri(t.uri.as_deref()));
        let mut name = base.clone();
        let mut n = 1;
        while names.contains(&name) {
            n += 1;
            name = format!("{base}-{n}");
        }
        names.push(name);
    }
    names
}

fn name_from_uri(uri: Option<&str>) -> String {
    let Some(uri) = uri else {
        return "default".into();
    };
    let rest = uri.split_once("://").map_or(uri, |(_, r)| r);
    let rest = rest.split(['?', '#']).next().unwrap_or(rest);
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let host = authority.rsplit('@').next().unwrap_or(authority);
    if !host.is_empty() {
        return host.to_string();
    }
    if path == "/system" {
        return "local".into();
    }
    let last = path
        .rsplit('/')
        .find(|p| !p.is_empty())
        .unwrap_or("default");
    last.strip_suffix(".xml").unwrap_or(last).to_string()
}

/// A host to connect to, before its name is settled (a `-c` URI has none yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostTarget {
    pub name: Option<String>,
    /// None: `$LIBVIRT_DEFAULT_URI`, else libvirt's default.
    pub uri: Option<String>,
}

#[cfg(test)]
pub(crate) mod tests;
