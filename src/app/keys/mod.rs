//! Keys as data: one table per view of (keys, action), with each action's help text and
//! footer label. The key dispatch, the footer and the `?` help all read these tables, so
//! they cannot drift apart, and the config file's `[keys.VIEW]` remaps change all three.
//! Dialogs and typed fields keep their own keys (they edit text); Ctrl-C always quits.

mod chord;
mod defaults;
mod remap;

pub use chord::{KeyChord, KEY_FORMS};

use crossterm::event::KeyEvent;

use super::lifecycle::LifecycleKey;

/// The full-screen views that have a key table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Domains,
    Snapshots,
}

impl View {
    pub const ALL: [View; 2] = [View::Domains, View::Snapshots];

    /// The name in the config file's `[keys.NAME]`.
    pub fn name(self) -> &'static str {
        match self {
            View::Domains => "domains",
            View::Snapshots => "snapshots",
        }
    }
}

/// What a key does in a view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Down,
    Up,
    First,
    Last,
    PageUp,
    PageDown,
    Filter,
    Jump,
    ClearFilter,
    Open,
    Snapshot,
    Lifecycle(LifecycleKey),
    Mark,
    Details,
    Xml,
    Revert,
    Delete,
    Describe,
    Back,
    Refresh,
    CancelJob,
    Help,
    Quit,
}

impl Action {
    /// The action's name in the config file.
    pub fn name(self) -> &'static str {
        match self {
            Self::Down => "down",
            Self::Up => "up",
            Self::First => "first",
            Self::Last => "last",
            Self::PageUp => "page-up",
            Self::PageDown => "page-down",
            Self::Filter => "filter",
            Self::Jump => "jump",
            Self::ClearFilter => "clear-filter",
            Self::Open => "open",
            Self::Snapshot => "snapshot",
            Self::Lifecycle(LifecycleKey::Start) => "start",
            Self::Lifecycle(LifecycleKey::Shutdown) => "shutdown",
            Self::Lifecycle(LifecycleKey::ForceOff) => "force-off",
            Self::Lifecycle(LifecycleKey::Reboot) => "reboot",
            Self::Lifecycle(LifecycleKey::PauseResume) => "pause-resume",
            Self::Lifecycle(LifecycleKey::Console) => "console",
            Self::Mark => "mark",
            Self::Details => "details",
            Self::Xml => "xml",
            Self::Revert => "revert",
            Self::Delete => "delete",
            Self::Describe => "describe",
            Self::Back => "back",
            Self::Refresh => "refresh",
            Self::CancelJob => "cancel-job",
            Self::Help => "help",
            Self::Quit => "quit",
        }
    }

    /// The footer's word for it, where the footer shows it (lifecycle words can change with
    /// the selected domain: see `lifecycle::footer_label`).
    pub fn footer_label(self) -> &'static str {
        match self {
            Self::Filter => "filter",
            Self::Help => "help",
            Self::Quit => "quit",
            Self::Back => "back",
            Self::Xml => "XML",
            Self::Revert => "revert",
            Self::Delete => "delete",
            Self::Describe => "describe",
            Self::Snapshot => "snapshot",
            other => other.name(),
        }
    }
}

/// One row of a view's table: the action and the keys that do it (the first is the one the
/// footer shows).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub action: Action,
    pub keys: Vec<KeyChord>,
    /// What `?` says it does; for a row joined to the one before it (`j` beside `k`), empty.
    pub help: &'static str,
}

/// A view's table, in help order, and the actions its footer shows, in footer order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewKeys {
    pub bindings: Vec<Binding>,
    pub footer: Vec<Action>,
}

/// Every view's table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyMap {
    pub domains: ViewKeys,
    pub snapshots: ViewKeys,
}

/// A row of the `?` help: keys as shown, what they do, and the actions (for dimming those
/// that do not apply now).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelpRow {
    pub keys: String,
    pub text: &'static str,
    pub actions: Vec<Action>,
}

impl Default for KeyMap {
    fn default() -> Self {
        Self {
            domains: defaults::domains(),
            snapshots: defaults::snapshots(),
        }
    }
}

impl KeyMap {
    pub fn view(&self, view: View) -> &ViewKeys {
        match view {
            View::Domains => &self.domains,
            View::Snapshots => &self.snapshots,
        }
    }

    fn view_mut(&mut self, view: View) -> &mut ViewKeys {
        match view {
            View::Domains => &mut self.domains,
            View::Snapshots => &mut self.snapshots,
        }
    }
}

impl ViewKeys {
    /// The action `key` does in this view, if any.
    pub fn action_for(&self, key: &KeyEvent) -> Option<Action> {
        let chord = KeyChord::of(key);
        self.bindings
            .iter()
            .find(|b| b.keys.contains(&chord))
            .map(|b| b.action)
    }

    pub fn binding(&self, action: Action) -> Option<&Binding> {
        self.bindings.iter().find(|b| b.action == action)
    }

    /// The key the footer shows for `action`: its first key; empty when it has none.
    pub fn first_key(&self, action: Action) -> String {
        self.binding(action)
            .and_then(|b| b.keys.first())
            .map(ToString::to_string)
            .unwrap_or_default()
    }

    /// The help rows: a row with no text of its own is joined to the one before it, key by
    /// key (`j / k, Down / Up`), as the help has always paired opposite moves.
    pub fn help_rows(&self) -> Vec<HelpRow> {
        let mut rows: Vec<(Vec<&Binding>, &'static str)> = Vec::new();
        for b in &self.bindings {
            match rows.last_mut() {
                Some((group, _)) if b.help.is_empty() => group.push(b),
                _ => rows.push((vec![b], b.help)),
            }
        }
        rows.into_iter()
            .map(|(group, text)| {
                let depth = group.iter().map(|b| b.keys.len()).max().unwrap_or(0);
                let columns: Vec<String> = (0..depth)
                    .map(|i| {
                        group
                            .iter()
                            .filter_map(|b| b.keys.get(i))
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join(" / ")
                    })
                    .collect();
                HelpRow {
                    keys: columns.join(", "),
                    text,
                    actions: group.iter().map(|b| b.action).collect(),
                }
            })
            .collect()
    }
}

/// Whether a key press is Ctrl-C, which quits from anywhere and cannot be remapped: the way
/// out must never depend on a config file.
pub fn is_ctrl_c(key: &KeyEvent) -> bool {
    KeyChord::of(key) == KeyChord::ctrl('c')
}

#[cfg(test)]
mod tests;
