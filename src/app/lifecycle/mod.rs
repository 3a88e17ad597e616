//! Lifecycle keys on the selected domain (list and snapshot views): `S` start, `D` graceful
//! shutdown, `F` force off, `R` reboot, `p` pause/resume, `c` console, and Space to mark rows
//! for bulk start / shutdown / force off. Every key is refused up front with the reason when it
//! does not apply; the row shows the transition while the job runs, and the final state comes
//! from libvirt when the worker re-reads the row.

mod bulk;
mod console;

pub use console::{on_console_ended, on_console_failed, on_console_opened, open_console};

use super::dialogs::confirm::{Confirm, ConfirmAction};
use super::{Action, App, Command, Screen};
use crate::libvirt::jobs::lifecycle::{self, LifecycleAction, DEFAULT_SHUTDOWN_TIMEOUT};
use crate::libvirt::jobs::{Job, JobId};
use crate::model::inventory::{DomainInfo, HostId};

#[derive(Debug, Clone, PartialEq)]
pub struct LifecycleState {
    /// Seconds `D` waits for the guest before asking to force it off (`--shutdown-timeout`).
    pub shutdown_timeout: u64,
    /// Lifecycle jobs started from here: their rows show the transition while they run.
    pub transitions: Vec<Transition>,
    /// The console being opened (host, domain); an answer for another one is ignored.
    pub console_opening: Option<(HostId, String)>,
}

impl Default for LifecycleState {
    fn default() -> Self {
        Self {
            shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT.as_secs(),
            transitions: Vec::new(),
            console_opening: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    pub job: JobId,
    pub host: HostId,
    pub domain: String,
    pub action: LifecycleAction,
    /// Unix seconds.
    pub started: u64,
}

/// A lifecycle key, as the footer and help name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LifecycleKey {
    Start,
    Shutdown,
    ForceOff,
    Reboot,
    PauseResume,
    Console,
}

impl LifecycleKey {
    pub const ALL: [LifecycleKey; 6] = [
        Self::Start,
        Self::Shutdown,
        Self::ForceOff,
        Self::Reboot,
        Self::PauseResume,
        Self::Console,
    ];

    /// The action on `row`; None for the console.
    fn action(self, app: &App, row: &DomainInfo) -> Option<LifecycleAction> {
        Some(match self {
            Self::Start => LifecycleAction::Start,
            Self::Shutdown => LifecycleAction::Shutdown {
                timeout_secs: app.lifecycle.shutdown_timeout,
            },
            Self::ForceOff => LifecycleAction::ForceOff,
            Self::Reboot => LifecycleAction::Reboot,
            Self::PauseResume
                if matches!(
                    row.state,
                    Some(
                        crate::model::DomainState::Paused | crate::model::DomainState::Pmsuspended
                    )
                ) =>
            {
                LifecycleAction::Resume
            }
            Self::PauseResume => LifecycleAction::Suspend,
            Self::Console => return None,
        })
    }
}

/// The footer label of a key for the current target ("pause", "resume" or "wake").
pub fn footer_label(app: &App, key: LifecycleKey) -> &'static str {
    match key {
        LifecycleKey::Start => "start",
        LifecycleKey::Shutdown => "stop",
        LifecycleKey::ForceOff => "off",
        LifecycleKey::Reboot => "reboot",
        LifecycleKey::PauseResume => match target(app).and_then(|r| r.state) {
            Some(crate::model::DomainState::Paused) => "resume",
            Some(crate::model::DomainState::Pmsuspended) => "wake",
            _ => "pause",
        },
        LifecycleKey::Console => "console",
    }
}

/// The domain the keys act on: the selected row, or the snapshot view's domain.
pub fn target(app: &App) -> Option<&DomainInfo> {
    match &app.screen {
        Screen::Domains => app.list.selected_row(),
        Screen::Snapshots(v) => app.list.row(v.host, &v.domain),
    }
}

/// Why `key` does nothing now (shown when pressed; the footer dims it), or None.
pub fn refusal(app: &App, key: LifecycleKey) -> Option<String> {
    if let Some(why) = app.mutation_refused() {
        return Some(why);
    }
    let Some(row) = target(app) else {
        return Some("no domain selected".into());
    };
    refusal_for(app, key, row)
}

pub(super) fn refusal_for(app: &App, key: LifecycleKey, row: &DomainInfo) -> Option<String> {
    let name = &row.name;
    let Some(state) = row.state else {
        return Some(format!("{name}'s state is not known yet"));
    };
    // The console does not change the VM: it stays usable while a job runs (watch a shutdown).
    let busy = app
        .jobs
        .running
        .iter()
        .find(|j| j.host == row.host && j.domain.as_deref() == Some(name));
    if let Some(job) = busy.filter(|_| key != LifecycleKey::Console) {
        return Some(format!("{name} is busy: {} is running", job.title));
    }
    match key.action(app, row) {
        Some(action) => lifecycle::refusal(name, state, action),
        None if !state.is_active() => Some(format!(
            "{name} is not running: its console exists only while it runs (S starts it)"
        )),
        None if row.effective_config().is_some_and(|c| c.consoles == 0) => Some(format!(
            "{name} has no serial or console device to attach to"
        )),
        None => None,
    }
}

/// A lifecycle action of a view's key table, or Space's mark (domain list only).
pub fn on_action(app: &mut App, action: Action) -> Vec<Command> {
    let which = match action {
        Action::Lifecycle(which) => which,
        Action::Mark if app.screen == Screen::Domains => {
            bulk::toggle_mark(app);
            return Vec::new();
        }
        _ => return Vec::new(),
    };
    let bulk = app.screen == Screen::Domains
        && !app.list.marked.is_empty()
        && matches!(
            which,
            LifecycleKey::Start | LifecycleKey::Shutdown | LifecycleKey::ForceOff
        );
    if bulk {
        bulk::on_bulk_key(app, which)
    } else {
        on_single_key(app, which)
    }
}

fn on_single_key(app: &mut App, which: LifecycleKey) -> Vec<Command> {
    if let Some(why) = refusal(app, which) {
        app.status = Some(why);
        return Vec::new();
    }
    let Some(row) = target(app) else {
        return Vec::new();
    };
    let (host, name) = (row.host, row.name.clone());
    let Some(action) = which.action(app, row) else {
        return open_console(app, host, name, false);
    };
    let job = Job::Lifecycle {
        domain: name.clone(),
        action,
    };
    if action == LifecycleAction::ForceOff {
        app.confirm(Confirm {
            title: "Force off".into(),
            lines: vec![
                format!("Force {name} off now?"),
                "Like pulling the power cord: data the guest has not flushed is lost.".into(),
            ],
            yes: format!("force {name} off"),
            no: "keep it running".into(),
            action: ConfirmAction::Jobs {
                jobs: vec![(host, job)],
                clear_marks: false,
            },
        });
        return Vec::new();
    }
    start_jobs(app, vec![(host, job)])
}

/// Starts jobs, remembering lifecycle ones so their rows show the transition.
/// Each job goes to its own host's worker.
pub fn start_jobs(app: &mut App, jobs: Vec<(HostId, Job)>) -> Vec<Command> {
    let live: Vec<JobId> = app.jobs.running.iter().map(|j| j.id).collect();
    app.lifecycle.transitions.retain(|t| live.contains(&t.job));
    let mut commands = Vec::with_capacity(jobs.len());
    for (host, job) in jobs {
        let transition = match &job {
            Job::Lifecycle { domain, action } => Some((domain.clone(), *action)),
            _ => None,
        };
        let command = app.start_job(host, job);
        if let (Command::StartJob { id, .. }, Some((domain, action))) = (&command, transition) {
            app.lifecycle.transitions.push(Transition {
                job: *id,
                host,
                domain,
                action,
                started: app.now,
            });
        }
        commands.push(command);
    }
    commands
}

/// The state cell's words while a lifecycle job runs on `domain` of `host`: "shutting
/// down 37s".
pub fn transition_text(app: &App, host: HostId, domain: &str) -> Option<String> {
    let t = app
        .lifecycle
        .transitions
        .iter()
        .rev()
        .find(|t| t.host == host && t.domain == domain)?;
    let job = app.jobs.get(t.job)?;
    if job.question.is_some() {
        return Some("force off?".into());
    }
    Some(match t.action {
        LifecycleAction::Shutdown { timeout_secs } => {
            // The job's own count ("(37 s left)") when it has sent one, so the row and the
            // jobs bar agree; the clock before that.
            let left = seconds_left(&job.step)
                .unwrap_or_else(|| timeout_secs.saturating_sub(app.now.saturating_sub(t.started)));
            format!("{} {left}s", t.action.progressive())
        }
        _ => format!("{}...", t.action.progressive()),
    })
}

/// "waiting for web-01 to shut down (37 s left)" -> 37.
fn seconds_left(step: &str) -> Option<u64> {
    let inner = step.strip_suffix(" s left)")?;
    inner.rsplit('(').next()?.parse().ok()
}

/// Whether a key does something now; with marks, S / D / F count the marked rows.
pub fn key_enabled(app: &App, key: LifecycleKey) -> bool {
    let bulk = app.screen == Screen::Domains
        && !app.list.marked.is_empty()
        && matches!(
            key,
            LifecycleKey::Start | LifecycleKey::Shutdown | LifecycleKey::ForceOff
        );
    if !bulk {
        return refusal(app, key).is_none();
    }
    app.list.marked.iter().any(|(host, name)| {
        app.hosts.mutation_refused(*host).is_none()
            && app
                .list
                .row(*host, name)
                .is_some_and(|row| refusal_for(app, key, row).is_none())
    })
}

/// For the help: whether a row's actions are lifecycle keys that do not apply now.
pub fn help_disabled(app: &App, actions: &[Action]) -> bool {
    actions.iter().any(|a| match a {
        Action::Lifecycle(k) => !key_enabled(app, *k),
        _ => false,
    })
}

#[cfg(test)]
mod tests;
