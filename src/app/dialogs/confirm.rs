//! A yes/no confirmation over any screen: what will happen and what it costs, then `y` runs
//! the action and `n`/Esc changes nothing. Any feature can open one with its own action.

use crossterm::event::{KeyCode, KeyEvent};

use crate::app::{App, Overlay};
use crate::libvirt::jobs::Job;
use crate::model::inventory::HostId;

#[derive(Debug, Clone, PartialEq)]
pub struct Confirm {
    /// The box title, e.g. "Force off".
    pub title: String,
    /// The question and what a yes costs, one entry per line.
    pub lines: Vec<String>,
    /// Words for the yes and no keys, e.g. "force off" / "keep it running".
    pub yes: String,
    pub no: String,
    pub action: ConfirmAction,
}

/// What `y` does.
#[derive(Debug, Clone, PartialEq)]
pub enum ConfirmAction {
    /// Start these jobs, each on its host; `clear_marks` when they came from the marked rows.
    Jobs {
        jobs: Vec<(HostId, Job)>,
        clear_marks: bool,
    },
    /// Open a domain's console, taking it over from another client.
    ForceConsole { host: HostId, domain: String },
}

impl App {
    pub fn confirm(&mut self, confirm: Confirm) {
        self.overlay = Some(Overlay::Confirm(Box::new(confirm)));
    }
}

/// Keys while a confirmation is open: `y` closes it and returns the action for the caller to
/// run (this file knows no feature), `n`/Esc closes it. Other keys wait, so a stray key never
/// decides.
pub fn on_key(app: &mut App, key: KeyEvent) -> Option<ConfirmAction> {
    let yes = match key.code {
        KeyCode::Char('y') | KeyCode::Char('Y') => true,
        KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Esc => false,
        _ => return None,
    };
    let Some(Overlay::Confirm(confirm)) = app.overlay.take() else {
        return None;
    };
    if !yes {
        app.status = Some("cancelled: nothing was changed".into());
        return None;
    }
    Some(confirm.action)
}
