//! The hosts virtsnap is connected to, each with its own worker: how its connection stands,
//! what libvirt said about it, and the words the header and the dimmed rows use.

use crate::model::inventory::{HostId, HostInfo};

#[derive(Debug, Clone, PartialEq)]
pub enum Connection {
    Connecting {
        uri: String,
    },
    Connected,
    /// The first connection failed.
    Failed {
        message: String,
    },
    /// Not connected now (lost, or still failing); the last known list stays on screen,
    /// read-only, and the next attempt is `retry_in` seconds away.
    Lost {
        reason: String,
        retry_in: u64,
    },
}

/// One host: its name in the HOST column and how its connection stands.
#[derive(Debug, Clone, PartialEq)]
pub struct HostState {
    /// The `[[host]]` name, or one made from the URI (`hv01`, `system`).
    pub name: String,
    pub connection: Connection,
    /// What libvirt said when it connected (kept while reconnecting, for the header).
    pub info: Option<HostInfo>,
    /// A full refresh completed, so "no domains" is not claimed while still listing.
    pub listed: bool,
    /// Connected at least once: a lost host is reconnecting, a never-connected one failing.
    pub ever_connected: bool,
}

impl HostState {
    pub fn new(name: String, uri_label: String) -> Self {
        Self {
            name,
            connection: Connection::Connecting { uri: uri_label },
            info: None,
            listed: false,
            ever_connected: false,
        }
    }

    pub fn is_connected(&self) -> bool {
        self.connection == Connection::Connected
    }

    /// Why this host's rows are dimmed and its actions refused, in words; None when connected.
    pub fn trouble(&self) -> Option<String> {
        match &self.connection {
            Connection::Connected => None,
            Connection::Connecting { .. } => Some(format!("{}: connecting...", self.name)),
            Connection::Failed { message } => Some(format!("{}: {message}", self.name)),
            Connection::Lost { reason, retry_in } => Some(format!(
                "{}: {}, reconnecting in {retry_in}s ({reason})",
                self.name,
                if self.ever_connected {
                    "disconnected"
                } else {
                    "cannot connect"
                }
            )),
        }
    }
}

/// How many hosts are in each state, for the header.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HostCounts {
    pub connected: usize,
    /// Never connected yet, and the last attempt failed.
    pub failing: usize,
    /// Was connected, lost it, and is trying again.
    pub reconnecting: usize,
    /// First attempt still under way.
    pub connecting: usize,
}

/// Every host, in the order given; a `HostId` indexes this.
#[derive(Debug, Clone, PartialEq)]
pub struct Hosts {
    pub all: Vec<HostState>,
}

impl Hosts {
    pub fn get(&self, id: HostId) -> Option<&HostState> {
        self.all.get(id.0)
    }

    pub fn get_mut(&mut self, id: HostId) -> Option<&mut HostState> {
        self.all.get_mut(id.0)
    }

    /// What libvirt said about host `id` when it connected.
    pub fn info(&self, id: HostId) -> Option<&HostInfo> {
        self.get(id).and_then(|h| h.info.as_ref())
    }

    /// The HOST column's word for `id`.
    pub fn name(&self, id: HostId) -> &str {
        self.get(id).map_or("?", |h| h.name.as_str())
    }

    /// More than one host: the HOST column shows, and messages name the host.
    pub fn several(&self) -> bool {
        self.all.len() > 1
    }

    pub fn counts(&self) -> HostCounts {
        let mut c = HostCounts::default();
        for h in &self.all {
            match &h.connection {
                Connection::Connected => c.connected += 1,
                Connection::Connecting { .. } => c.connecting += 1,
                _ if h.ever_connected => c.reconnecting += 1,
                _ => c.failing += 1,
            }
        }
        c
    }

    /// Why nothing may be changed on host `id` now: not connected, or read-only.
    pub fn mutation_refused(&self, id: HostId) -> Option<String> {
        let Some(host) = self.get(id) else {
            return Some("no such host".into());
        };
        let on = if self.several() {
            format!(" on {}", host.name)
        } else {
            String::new()
        };
        match &host.connection {
            Connection::Connected => {}
            Connection::Connecting { .. } => return Some(format!("not connected{on} yet")),
            Connection::Failed { message } => return Some(format!("not connected{on}: {message}")),
            Connection::Lost { reason, .. } => {
                return Some(format!(
                    "not connected to libvirt{on} ({reason}); nothing was changed"
                ))
            }
        }
        match &host.info {
            Some(h) if h.readonly => Some(format!(
                "the connection{on} is read-only (--readonly): nothing can be changed"
            )),
            _ => None,
        }
    }
}
