//! Lifecycle keys on the selected domain (list and snapshot views): `S` start, `D` graceful
//! shutdown, `F` force off, `R` reboot, `p` pause/resume, `c` console, and Space to mark rows
//! for bulk start / shutdown / force off. Every key is refused up front with the reason when it
//! does not apply; the row shows the transition while the job runs, and the final state comes
//! from libvirt when the worker re-reads the row.

use super::dialogs::confirm::{Confirm, ConfirmAction};
use super::{Action, App, Command, Screen};
use crate::libvirt::console::{ConsoleEnd, ConsoleError, ConsoleHandle};
use crate::libvirt::jobs::lifecycle::{self, LifecycleAction, DEFAULT_SHUTDOWN_TIMEOUT};
use crate::libvirt::jobs::{Job, JobId};
use crate::model::inventory::DomainInfo;

#[derive(Debug, Clone, PartialEq)]
pub struct LifecycleState {
    /// Seconds `D` waits for the guest before asking to force it off (`--shutdown-timeout`).
    pub shutdown_timeout: u64,
    /// Lifecycle jobs started from here: their rows show the transition while they run.
    pub transitions: Vec<Transition>,
    /// The console being opened; an answer for another domain is ignored.
    pub console_opening: Option<String>,
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
        Screen::Snapshots(v) => app.list.row_by_name(&v.domain),
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

fn refusal_for(app: &App, key: LifecycleKey, row: &DomainInfo) -> Option<String> {
    let name = &row.name;
    let Some(state) = row.state else {
        return Some(format!("{name}'s state is not known yet"));
    };
    // The console does not change the VM: it stays usable while a job runs (watch a shutdown).
    let busy = app
        .jobs
        .running
        .iter()
        .find(|j| j.domain.as_deref() == Some(name));
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
            toggle_mark(app);
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
        on_bulk_key(app, which)
    } else {
        on_single_key(app, which)
    }
}

fn toggle_mark(app: &mut App) {
    let Some(name) = app.list.selected_row().map(|r| r.name.clone()) else {
        return;
    };
    if !app.list.marked.remove(&name) {
        app.list.marked.insert(name);
    }
    let page = app.page_rows();
    app.list.move_by(1, page);
    let n = app.list.marked.len();
    app.status = (n > 0).then(|| {
        format!("{n} marked: S starts, D shuts down, F forces off all of them (Space unmarks)")
    });
}

fn on_single_key(app: &mut App, which: LifecycleKey) -> Vec<Command> {
    if let Some(why) = refusal(app, which) {
        app.status = Some(why);
        return Vec::new();
    }
    let Some(row) = target(app) else {
        return Vec::new();
    };
    let name = row.name.clone();
    let Some(action) = which.action(app, row) else {
        return open_console(app, name, false);
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
                jobs: vec![job],
                clear_marks: false,
            },
        });
        return Vec::new();
    }
    start_jobs(app, vec![job])
}

fn on_bulk_key(app: &mut App, which: LifecycleKey) -> Vec<Command> {
    if let Some(why) = app.mutation_refused() {
        app.status = Some(why);
        return Vec::new();
    }
    let mut jobs = Vec::new();
    let mut skipped = Vec::new();
    for name in &app.list.marked {
        let Some(row) = app.list.row_by_name(name) else {
            continue;
        };
        match (refusal_for(app, which, row), which.action(app, row)) {
            (None, Some(action)) => jobs.push(Job::Lifecycle {
                domain: name.clone(),
                action,
            }),
            (Some(why), _) => skipped.push(why),
            (None, None) => {}
        }
    }
    if jobs.is_empty() {
        app.status = Some(format!("nothing to do: {}", skipped.join("; ")));
        return Vec::new();
    }
    let names: Vec<&str> = jobs.iter().filter_map(Job::domain).collect();
    let (title, verb, cost) = match which {
        LifecycleKey::Start => ("Start", "Start", None),
        LifecycleKey::Shutdown => (
            "Shut down",
            "Shut down",
            Some(format!(
                "Each gets {} s to stop, then you are asked about forcing it off.",
                app.lifecycle.shutdown_timeout
            )),
        ),
        _ => (
            "Force off",
            "Force off",
            Some("Like pulling the power cord: data the guests have not flushed is lost.".into()),
        ),
    };
    let plural = if names.len() == 1 { "" } else { "s" };
    let mut lines = vec![
        format!("{verb} {} marked domain{plural}?", names.len()),
        names.join(", "),
    ];
    lines.extend(cost);
    if !skipped.is_empty() {
        lines.push(format!("Skipped: {}", skipped.join("; ")));
    }
    app.confirm(Confirm {
        title: title.into(),
        lines,
        yes: format!("{} {}", verb.to_lowercase(), names.len()),
        no: "change nothing".into(),
        action: ConfirmAction::Jobs {
            jobs,
            clear_marks: true,
        },
    });
    Vec::new()
}

/// Starts jobs, remembering lifecycle ones so their rows show the transition.
pub fn start_jobs(app: &mut App, jobs: Vec<Job>) -> Vec<Command> {
    let live: Vec<JobId> = app.jobs.running.iter().map(|j| j.id).collect();
    app.lifecycle.transitions.retain(|t| live.contains(&t.job));
    let mut commands = Vec::with_capacity(jobs.len());
    for job in jobs {
        let transition = match &job {
            Job::Lifecycle { domain, action } => Some((domain.clone(), *action)),
            _ => None,
        };
        let command = app.start_job(job);
        if let (Command::StartJob { id, .. }, Some((domain, action))) = (&command, transition) {
            app.lifecycle.transitions.push(Transition {
                job: *id,
                domain,
                action,
                started: app.now,
            });
        }
        commands.push(command);
    }
    commands
}

/// The state cell's words while a lifecycle job runs on `domain`: "shutting down 37s".
pub fn transition_text(app: &App, domain: &str) -> Option<String> {
    let t = app
        .lifecycle
        .transitions
        .iter()
        .rev()
        .find(|t| t.domain == domain)?;
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

/// Asks the worker for the console; `Command::AttachConsole` follows when it is open.
pub fn open_console(app: &mut App, domain: String, force: bool) -> Vec<Command> {
    app.status = Some(format!("attaching to {domain}'s console..."));
    app.lifecycle.console_opening = Some(domain.clone());
    vec![Command::OpenConsole { domain, force }]
}

/// The worker opened the console: hand the terminal over, unless the user moved on.
pub fn on_console_opened(app: &mut App, handle: ConsoleHandle) -> Vec<Command> {
    if app.lifecycle.console_opening.as_deref() != Some(handle.domain.as_str()) {
        return Vec::new();
    }
    app.lifecycle.console_opening = None;
    app.status = None;
    vec![Command::AttachConsole(handle)]
}

/// The console could not be opened; a busy one may be taken over.
pub fn on_console_failed(app: &mut App, domain: String, error: ConsoleError) {
    if app.lifecycle.console_opening.as_deref() != Some(domain.as_str()) {
        return;
    }
    app.lifecycle.console_opening = None;
    if let ConsoleError::Busy { .. } = error {
        app.status = None;
        app.confirm(Confirm {
            title: "Console in use".into(),
            lines: vec![
                format!("{domain}'s console is attached elsewhere (virsh console, or another virtsnap)."),
                "Take it over? The other session is disconnected.".into(),
            ],
            yes: "take it over".into(),
            no: "leave it".into(),
            action: ConfirmAction::ForceConsole { domain },
        });
    } else {
        app.status = Some(error.to_string());
    }
}

/// Back from the console: say how it ended (nothing else was printed on the way back).
pub fn on_console_ended(app: &mut App, domain: &str, end: Result<ConsoleEnd, String>) {
    app.status = Some(match end {
        Ok(ConsoleEnd::Detached) => format!("detached from {domain}'s console"),
        Ok(ConsoleEnd::Closed(why)) => why,
        Err(why) => format!("console of {domain}: {why}"),
    });
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
    app.mutation_refused().is_none()
        && app.list.marked.iter().any(|name| {
            app.list
                .row_by_name(name)
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
mod tests {
    use crossterm::event::{KeyCode, KeyEvent};

    use super::*;
    use crate::app::{Connection, Msg, Overlay};
    use crate::libvirt::jobs::JobUpdate;
    use crate::libvirt::worker::Event;
    use crate::model::DomainState;

    fn key(c: char) -> Msg {
        Msg::Key(KeyEvent::from(KeyCode::Char(c)))
    }

    fn row(name: &str, state: DomainState) -> DomainInfo {
        let mut r = DomainInfo::named(name.into(), format!("uuid-{name}"));
        r.state = Some(state);
        r
    }

    fn app(rows: Vec<DomainInfo>) -> App {
        let mut app = App::new("test".into(), 80, 24);
        app.connection = Connection::Connected;
        app.update(Msg::Worker(Event::DomainList(rows)));
        app.now = 1_000;
        app
    }

    fn lifecycle_job(cmd: &Command) -> Option<(&str, LifecycleAction)> {
        match cmd {
            Command::StartJob {
                job: Job::Lifecycle { domain, action },
                ..
            } => Some((domain.as_str(), *action)),
            _ => None,
        }
    }

    #[test]
    fn keys_that_do_not_apply_say_why_and_do_nothing() {
        let mut app = app(vec![
            row("web-01", DomainState::Running),
            row("db-01", DomainState::Shutoff),
        ]);
        assert!(app.update(key('S')).is_empty());
        assert_eq!(app.status.as_deref(), Some("web-01 is already running"));
        assert!(!key_enabled(&app, LifecycleKey::Start));
        assert!(key_enabled(&app, LifecycleKey::Shutdown));
        app.update(key('j'));
        for k in ['D', 'F', 'R', 'p'] {
            assert!(app.update(key(k)).is_empty(), "{k}");
            assert_eq!(app.status.as_deref(), Some("db-01 is not running"), "{k}");
        }
        app.update(key('c'));
        assert!(app
            .status
            .as_deref()
            .unwrap()
            .contains("db-01 is not running"));
        assert_eq!(footer_label(&app, LifecycleKey::PauseResume), "pause");
    }

    #[test]
    fn a_read_only_connection_refuses_every_lifecycle_key() {
        let mut app = app(vec![row("web-01", DomainState::Running)]);
        app.host = Some(crate::model::inventory::HostInfo {
            uri: "qemu:///system".into(),
            hostname: None,
            hypervisor: "QEMU".into(),
            hypervisor_version: 10_000_000,
            libvirt_version: 11_003_000,
            capabilities: Default::default(),
            readonly: true,
            demo: None,
        });
        for k in ['S', 'D', 'F', 'R', 'p', 'c'] {
            assert!(app.update(key(k)).is_empty(), "{k}");
            assert!(app.status.as_deref().unwrap().contains("read-only"), "{k}");
        }
        assert!(LifecycleKey::ALL.iter().all(|k| !key_enabled(&app, *k)));
    }

    #[test]
    fn start_pause_resume_and_reboot_start_jobs_and_the_row_shows_the_transition() {
        let mut app = app(vec![
            row("a", DomainState::Shutoff),
            row("b", DomainState::Paused),
        ]);
        let cmds = app.update(key('S'));
        assert_eq!(lifecycle_job(&cmds[0]), Some(("a", LifecycleAction::Start)));
        assert_eq!(transition_text(&app, "a").as_deref(), Some("starting..."));
        // A second key on a busy domain is refused.
        assert!(app.update(key('S')).is_empty());
        assert!(app.status.as_deref().unwrap().contains("a is busy"));
        app.update(key('j'));
        assert_eq!(footer_label(&app, LifecycleKey::PauseResume), "resume");
        let cmds = app.update(key('p'));
        assert_eq!(
            lifecycle_job(&cmds[0]),
            Some(("b", LifecycleAction::Resume))
        );
    }

    #[test]
    fn p_wakes_a_guest_that_suspended_itself_to_ram() {
        let mut app = app(vec![row("sleepy", DomainState::Pmsuspended)]);
        assert_eq!(footer_label(&app, LifecycleKey::PauseResume), "wake");
        let cmds = app.update(key('p'));
        assert_eq!(
            lifecycle_job(&cmds[0]),
            Some(("sleepy", LifecycleAction::Resume))
        );
    }

    #[test]
    fn shutdown_counts_down_then_shows_the_question() {
        let mut app = app(vec![row("web-01", DomainState::Running)]);
        app.lifecycle.shutdown_timeout = 120;
        let cmds = app.update(key('D'));
        let Some(Command::StartJob { id, .. }) = cmds.first() else {
            panic!("{cmds:?}")
        };
        assert_eq!(
            lifecycle_job(&cmds[0]),
            Some(("web-01", LifecycleAction::Shutdown { timeout_secs: 120 }))
        );
        app.update(Msg::Tick { now: 1_083 });
        assert_eq!(
            transition_text(&app, "web-01").as_deref(),
            Some("shutting down 37s")
        );
        // The job's own count wins once it has sent one.
        app.update(Msg::Worker(Event::Job {
            id: *id,
            update: JobUpdate::Step("waiting for web-01 to shut down (36 s left)".into()),
        }));
        assert_eq!(
            transition_text(&app, "web-01").as_deref(),
            Some("shutting down 36s")
        );
        let question = JobUpdate::Question(lifecycle::force_off_question("web-01"));
        app.update(Msg::Worker(Event::Job {
            id: *id,
            update: question,
        }));
        assert_eq!(
            transition_text(&app, "web-01").as_deref(),
            Some("force off?")
        );
        app.update(Msg::Worker(Event::Job {
            id: *id,
            update: JobUpdate::Finished(Ok("web-01 forced off".into())),
        }));
        assert_eq!(transition_text(&app, "web-01"), None);
    }

    #[test]
    fn keys_act_on_the_snapshot_views_domain() {
        let mut app = app(vec![
            row("a", DomainState::Running),
            row("b", DomainState::Shutoff),
        ]);
        app.update(key('j'));
        app.update(Msg::Key(KeyEvent::from(KeyCode::Enter)));
        assert!(
            matches!(app.screen, Screen::Snapshots(_)),
            "{:?}",
            app.screen
        );
        let cmds = app.update(key('S'));
        assert_eq!(lifecycle_job(&cmds[0]), Some(("b", LifecycleAction::Start)));
        // R is reboot here too (refresh is F5 / Ctrl-R): b is not running.
        assert!(app.update(key('R')).is_empty());
        assert!(app.status.as_deref().unwrap().contains("b is busy"));
    }

    #[test]
    fn force_off_is_confirmed_with_the_name() {
        let mut app = app(vec![row("web-01", DomainState::Running)]);
        assert!(app.update(key('F')).is_empty());
        let Some(Overlay::Confirm(c)) = &app.overlay else {
            panic!("no confirmation")
        };
        assert_eq!(c.lines[0], "Force web-01 off now?");
        // A stray key does not decide; n changes nothing.
        assert!(app.update(key('x')).is_empty());
        assert!(app.update(key('n')).is_empty());
        assert!(app.overlay.is_none());
        app.update(key('F'));
        let cmds = app.update(key('y'));
        assert_eq!(
            lifecycle_job(&cmds[0]),
            Some(("web-01", LifecycleAction::ForceOff))
        );
    }

    #[test]
    fn bulk_start_confirms_with_count_and_names_and_skips_running_ones() {
        let mut app = app(vec![
            row("a", DomainState::Shutoff),
            row("b", DomainState::Running),
            row("c", DomainState::Shutoff),
            row("d", DomainState::Shutoff),
        ]);
        for _ in 0..4 {
            app.update(key(' '));
        }
        assert_eq!(app.list.marked.len(), 4);
        assert!(app.update(key('S')).is_empty());
        let Some(Overlay::Confirm(c)) = &app.overlay else {
            panic!("no confirmation")
        };
        assert_eq!(c.lines[0], "Start 3 marked domains?");
        assert_eq!(c.lines[1], "a, c, d");
        assert_eq!(c.lines[2], "Skipped: b is already running");
        let cmds = app.update(key('y'));
        let started: Vec<_> = cmds.iter().filter_map(lifecycle_job).collect();
        assert_eq!(
            started,
            ["a", "c", "d"]
                .map(|n| (n, LifecycleAction::Start))
                .to_vec()
        );
        assert!(app.list.marked.is_empty());
    }

    #[test]
    fn console_opens_through_the_worker_and_a_busy_one_offers_force() {
        let mut app = app(vec![row("web-01", DomainState::Running)]);
        assert_eq!(
            app.update(key('c')),
            vec![Command::OpenConsole {
                domain: "web-01".into(),
                force: false
            }]
        );
        app.update(Msg::Worker(Event::ConsoleFailed {
            domain: "web-01".into(),
            error: ConsoleError::Busy {
                name: "web-01".into(),
            },
        }));
        assert!(matches!(app.overlay, Some(Overlay::Confirm(_))));
        assert_eq!(
            app.update(key('y')),
            vec![Command::OpenConsole {
                domain: "web-01".into(),
                force: true
            }]
        );
        app.update(Msg::ConsoleEnded {
            domain: "web-01".into(),
            end: Ok(ConsoleEnd::Detached),
        });
        assert_eq!(
            app.status.as_deref(),
            Some("detached from web-01's console")
        );
    }
}
