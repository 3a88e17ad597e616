//! The file as serde reads it (every key optional, unknown keys refused), then checked and
//! turned into a [`Config`].

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use super::duration::ConfigDuration;
use super::{Config, ConfigError, HostConfig, KeyRemap, KeyRemaps, ViewRemaps};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    #[serde(default)]
    host: Vec<Spanned<RawHost>>,
    shutdown_timeout: Option<ConfigDuration>,
    stale_snapshot_age: Option<ConfigDuration>,
    ascii: Option<bool>,
    color: Option<bool>,
    #[serde(default)]
    keys: BTreeMap<Spanned<String>, BTreeMap<Spanned<String>, Spanned<toml::Value>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHost {
    name: Spanned<String>,
    uri: Spanned<String>,
}

impl RawConfig {
    pub(super) fn into_config(self, path: &Path, text: &str) -> Result<Config, ConfigError> {
        let err = |span: std::ops::Range<usize>, message: String| {
            ConfigError::at(path, text, Some(span), message)
        };
        let mut hosts: Vec<HostConfig> = Vec::with_capacity(self.host.len());
        for host in self.host {
            let host = host.into_inner();
            let name = host.name.get_ref().trim();
            if name.is_empty() {
                return Err(err(
                    host.name.span(),
                    "a host's name cannot be empty".into(),
                ));
            }
            if hosts.iter().any(|h| h.name == name) {
                return Err(err(
                    host.name.span(),
                    format!("two hosts are named \"{name}\": each needs its own name"),
                ));
            }
            let uri = host.uri.get_ref().trim();
            if uri.is_empty() {
                return Err(err(
                    host.uri.span(),
                    format!("host \"{name}\" has an empty uri"),
                ));
            }
            hosts.push(HostConfig {
                name: name.to_string(),
                uri: uri.to_string(),
            });
        }
        let mut keys = KeyRemaps {
            views: Vec::new(),
            source: text.to_string(),
            path: path.to_path_buf(),
        };
        for (view, actions) in self.keys {
            let mut remaps = Vec::with_capacity(actions.len());
            for (action, value) in actions {
                let span = value.span();
                let value_span = span.clone();
                let keys = match value.into_inner() {
                    toml::Value::String(k) => vec![(k, span)],
                    toml::Value::Array(items) => items
                        .into_iter()
                        .map(|i| match i {
                            toml::Value::String(k) => Ok((k, span.clone())),
                            other => Err(err(
                                span.clone(),
                                format!("expected a key name, found {}", other.type_str()),
                            )),
                        })
                        .collect::<Result<Vec<_>, _>>()?,
                    other => {
                        return Err(err(
                            span,
                            format!(
                                "expected a key name or a list of key names, found {}",
                                other.type_str()
                            ),
                        ))
                    }
                };
                if keys.is_empty() {
                    return Err(err(
                        value_span,
                        format!("no key given for \"{}\"", action.get_ref()),
                    ));
                }
                remaps.push(KeyRemap {
                    action: action.get_ref().clone(),
                    action_span: action.span(),
                    keys,
                });
            }
            // File order, so the first mistake reported is the first one in the file.
            remaps.sort_by_key(|r| r.action_span.start);
            keys.views.push(ViewRemaps {
                span: view.span(),
                view: view.into_inner(),
                remaps,
            });
        }
        keys.views.sort_by_key(|v| v.span.start);
        let defaults = Config::default();
        Ok(Config {
            path: Some(path.to_path_buf()),
            hosts,
            shutdown_timeout: self
                .shutdown_timeout
                .map_or(defaults.shutdown_timeout, |d| d.0),
            stale_snapshot_age: self
                .stale_snapshot_age
                .map_or(defaults.stale_snapshot_age, |d| d.0),
            ascii: self.ascii.unwrap_or(defaults.ascii),
            color: self.color.unwrap_or(defaults.color),
            keys,
        })
    }
}
