//! A yes/no confirmation over any screen: what will happen and what it costs, then `y` runs
//! the action and `n`/Esc changes nothing. Any feature can open one with its own action.

use crossterm::event::{KeyCode, KeyEvent};

use crate::app::{App, Command, Overlay};
use crate::libvirt::jobs::Job;

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
    /// Start these jobs; `clear_marks` when they came from the marked rows.
    Jobs { jobs: Vec<Job>, clear_marks: bool },
    /// Open a domain's console, taking it over from another client.
    ForceConsole { domain: String },
}

impl App {
    pub fn confirm(&mut self, confirm: Confirm) {
        self.overlay = Some(Overlay::Confirm(Box::new(confirm)));
    }
}

/// Keys while a confirmation is open. Other keys wait, so a stray key never decides.
pub fn on_key(app: &mut App, key: KeyEvent) -> Vec<Command> {
    let yes = match key.code {
        KeyCode::Char('y') | KeyCode::Char('Y') => true,
        KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Esc => false,
        _ => return Vec::new(),
    };
    let Some(Overlay::Confirm(confirm)) = app.overlay.take() else {
        return Vec::new();
    };
    if !yes {
        app.status = Some("cancelled: nothing was changed".into());
        return Vec::new();
    }
    match confirm.action {
        ConfirmAction::Jobs { jobs, clear_marks } => {
            if clear_marks {
                app.list.marked.clear();
            }
            crate::app::lifecycle::start_jobs(app, jobs)
        }
        ConfirmAction::ForceConsole { domain } => {
            crate::app::lifecycle::open_console(app, domain, true)
        }
    }
}
