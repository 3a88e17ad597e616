//! The application state and `update`: plain data in, commands out. No terminal, no libvirt.

pub mod bulk_run;
pub mod dialogs;
pub mod domains;
mod events;
pub mod guest_view;
pub mod hosts;
mod jobs;
pub mod keys;
pub mod lifecycle;
pub mod snapshot_view;
pub mod text_field;
pub mod time;

pub use domains::list::DomainList;
use domains::prompt::InputOutcome;
pub use domains::prompt::{InputKind, InputLine};
pub use hosts::{Connection, HostState, Hosts};
pub use jobs::{JobState, Jobs};
pub use keys::{Action, KeyMap, View};

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use dialogs::confirm::ConfirmAction;

use crate::libvirt::jobs::{Job, JobControl, JobId};
use crate::libvirt::worker::Event;
pub use crate::model::inventory::HostId;
use crate::model::inventory::HostInfo;

/// Smallest terminal the views are laid out for; below it a message asks for more room.
pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 12;

/// Rows the header, table borders and heading, the two detail lines, status and footer take;
/// the rest shows domains.
pub const CHROME_ROWS: u16 = 9;

/// What `update` asks the outside world to do. Everything about a domain goes to the worker
/// of the domain's own host.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Quit,
    /// Re-read every domain of every host.
    Refresh,
    RefreshDomain {
        host: HostId,
        name: String,
    },
    LoadSnapshots {
        host: HostId,
        domain: String,
    },
    StartJob {
        host: HostId,
        id: JobId,
        job: Job,
    },
    Control {
        host: HostId,
        id: JobId,
        control: JobControl,
    },
    /// Ask the worker to open a domain's console (`force` takes it over).
    OpenConsole {
        host: HostId,
        domain: String,
        force: bool,
    },
    /// Hand the terminal to an open console (of a domain on `host`) until the user detaches.
    AttachConsole {
        host: HostId,
        handle: crate::libvirt::console::ConsoleHandle,
    },
    /// Ask the guest agent of a running domain on `host` (for the create-snapshot dialog).
    InspectGuest {
        host: HostId,
        domain: String,
    },
    /// Read these domains' snapshot space and age on `host` (the list's SPACE, OLDEST and
    /// CHAIN), marking snapshots older than `stale_after_days`.
    LoadSpace {
        host: HostId,
        domains: Vec<String>,
        stale_after_days: u32,
    },
}

/// The full-screen view under any overlay.
#[derive(Debug, Clone, PartialEq)]
pub enum Screen {
    Domains,
    Snapshots(Box<snapshot_view::SnapshotView>),
}

/// A dialog or pane drawn over the screen; it takes the keys while open.
#[derive(Debug, Clone, PartialEq)]
pub enum Overlay {
    Help,
    /// A yes/no question before an action (force off, bulk actions, taking over a console).
    Confirm(Box<dialogs::confirm::Confirm>),
    /// The selected snapshot's XML, scrolled by `scroll` lines.
    SnapshotXml {
        scroll: u16,
    },
    Revert(Box<dialogs::existing::RevertDialog>),
    Delete(Box<dialogs::existing::DeleteDialog>),
    Describe(Box<dialogs::existing::DescribeDialog>),
    /// `s`: create a snapshot.
    CreateSnapshot(Box<dialogs::create::SnapshotDialog>),
    /// `s` with marked rows: a snapshot of each marked VM.
    BulkCreate(Box<dialogs::bulk_create::BulkCreateDialog>),
    /// `d` with marked rows: delete a snapshot name from each marked VM.
    BulkDelete(Box<dialogs::bulk_delete::BulkDeleteDialog>),
    /// A result too long for the status line (an explained failure), scrolled by `scroll`.
    Message {
        title: String,
        text: String,
        scroll: u16,
    },
}

/// Everything `update` reacts to.
#[derive(Debug, Clone, PartialEq)]
pub enum Msg {
    Key(KeyEvent),
    Resize {
        width: u16,
        height: u16,
    },
    /// What a host's worker reported.
    Worker(HostId, Event),
    /// The clock, in Unix seconds: sent once a second while jobs run, and before keys.
    Tick {
        now: u64,
    },
    /// Back from an attached console.
    ConsoleEnded {
        host: HostId,
        domain: String,
        end: Result<crate::libvirt::console::ConsoleEnd, String>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct App {
    /// Every host, each with its own worker; rows carry the `HostId` of theirs.
    pub hosts: Hosts,
    pub list: DomainList,
    /// One line for the user: the last notice or error, cleared by the next key.
    pub status: Option<String>,
    pub width: u16,
    pub height: u16,
    pub screen: Screen,
    pub overlay: Option<Overlay>,
    pub jobs: Jobs,
    /// Unix seconds, from the last `Msg::Tick`.
    pub now: u64,
    pub lifecycle: lifecycle::LifecycleState,
    /// A `/` or `:` prompt being typed.
    pub input: Option<InputLine>,
    /// Each view's keys (defaults, or remapped by the config file).
    pub keys: KeyMap,
    /// Bulk runs (`s`, `d` on marked rows) until their results table is shown.
    pub bulk: bulk_run::BulkRuns,
    /// The snapshot space and age of the rows that have been on screen.
    pub space: domains::space::SpaceCache,
}

impl App {
    /// One host, labelled `uri_label` until it connects.
    pub fn new(uri_label: String, width: u16, height: u16) -> Self {
        Self::with_hosts(vec![(uri_label.clone(), uri_label)], width, height)
    }

    /// Several hosts, as (name, URI label) in `HostId` order.
    pub fn with_hosts(hosts: Vec<(String, String)>, width: u16, height: u16) -> Self {
        let hosts = Hosts {
            all: hosts
                .into_iter()
                .map(|(name, uri)| HostState::new(name, uri))
                .collect(),
        };
        let mut list = DomainList::default();
        list.set_hosts(hosts.all.iter().map(|h| h.name.clone()).collect());
        Self {
            hosts,
            list,
            status: None,
            width,
            height,
            screen: Screen::Domains,
            overlay: None,
            jobs: Jobs::default(),
            now: 0,
            lifecycle: lifecycle::LifecycleState::default(),
            input: None,
            keys: KeyMap::default(),
            bulk: bulk_run::BulkRuns::default(),
            space: domains::space::SpaceCache::default(),
        }
    }

    /// The view whose key table applies now.
    pub fn view(&self) -> View {
        match self.screen {
            Screen::Domains => View::Domains,
            Screen::Snapshots(_) => View::Snapshots,
        }
    }

    /// The action `key` does in the current view.
    pub fn action_for(&self, key: &KeyEvent) -> Option<Action> {
        self.keys.view(self.view()).action_for(key)
    }

    pub fn too_small(&self) -> bool {
        self.width < MIN_WIDTH || self.height < MIN_HEIGHT
    }

    pub fn page_rows(&self) -> usize {
        let jobs = self.jobs.running.len().min(3) as u16;
        usize::from(self.height.saturating_sub(CHROME_ROWS + jobs)).max(1)
    }

    pub fn update(&mut self, msg: Msg) -> Vec<Command> {
        let mut commands = self.react(msg);
        // A bulk run's results wait for the screen to be free of other boxes.
        bulk_run::show_ready(self);
        // Whatever scrolled, filtered, refreshed or returned to the list: the rows now on
        // screen get their snapshot space read.
        commands.extend(domains::space::requests(self));
        commands
    }

    fn react(&mut self, msg: Msg) -> Vec<Command> {
        match msg {
            Msg::Key(key) => self.on_key(key),
            Msg::Resize { width, height } => {
                self.width = width;
                self.height = height;
                self.list.keep_visible(self.page_rows());
                Vec::new()
            }
            Msg::Worker(host, event) => self.on_worker(host, event),
            Msg::Tick { now } => {
                self.now = now;
                Vec::new()
            }
            Msg::ConsoleEnded { domain, end, .. } => {
                lifecycle::on_console_ended(self, &domain, end);
                Vec::new()
            }
        }
    }

    fn on_key(&mut self, key: KeyEvent) -> Vec<Command> {
        if key.kind == KeyEventKind::Release {
            return Vec::new();
        }
        if keys::is_ctrl_c(&key) {
            return vec![Command::Quit];
        }
        // Behind the "Terminal too small" screen nothing else is visible, so no key may act
        // on it (a blind `s` Enter would take a snapshot): only the `q` that screen offers.
        if self.too_small() {
            let q = key.code == KeyCode::Char('q')
                && !key
                    .modifiers
                    .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT);
            return if q { vec![Command::Quit] } else { Vec::new() };
        }
        let action = self.action_for(&key);
        // Chords that cannot be typed text act even while a dialog or prompt takes the keys.
        let command = keys::KeyChord::of(&key).is_command();
        if command && action == Some(Action::CancelJob) {
            return self.cancel_latest_job();
        }
        if let Some(job) = self.jobs.pending_question().map(|j| j.id) {
            return self.on_question_key(job, key);
        }
        if self.overlay.is_some() {
            return self.on_overlay_key(key);
        }
        if self.input.is_some() {
            return self.on_input_key(key);
        }
        if command && action == Some(Action::Refresh) {
            return self.refresh();
        }
        if snapshot_view::view(self).is_some_and(|v| v.filter_editing) {
            return snapshot_view::on_filter_key(self, key);
        }
        self.status = None;
        let Some(action) = action else {
            return Vec::new();
        };
        match action {
            Action::Lifecycle(_) | Action::Mark => lifecycle::on_action(self, action),
            Action::Refresh => self.refresh(),
            Action::CancelJob => self.cancel_latest_job(),
            Action::Help => {
                self.overlay = Some(Overlay::Help);
                Vec::new()
            }
            Action::Quit => vec![Command::Quit],
            _ => match self.screen {
                Screen::Domains => self.on_domains_action(action),
                Screen::Snapshots(_) => snapshot_view::on_action(self, action),
            },
        }
    }

    /// F5 / Ctrl-R: every domain again, and the open snapshot view's snapshots.
    fn refresh(&mut self) -> Vec<Command> {
        self.status = Some("refreshing...".into());
        let mut cmds = vec![Command::Refresh];
        cmds.extend(snapshot_view::reload_if_showing(self, None, None));
        cmds
    }

    fn on_input_key(&mut self, key: KeyEvent) -> Vec<Command> {
        let Some(input) = self.input.as_mut() else {
            return Vec::new();
        };
        let outcome = input.on_key(key);
        let (kind, text) = (input.kind, input.text.value().to_string());
        let page = self.page_rows();
        match (kind, outcome) {
            (InputKind::Filter, InputOutcome::Edited) => self.list.set_filter(text),
            (InputKind::Filter, InputOutcome::Cancelled) => {
                self.input = None;
                self.list.set_filter(String::new());
            }
            (InputKind::Jump, InputOutcome::Accepted) => {
                self.input = None;
                if !text.is_empty() && !self.list.jump_to(&text, page) {
                    // Not among the filtered rows: look in all of them.
                    let filter = std::mem::take(&mut self.list.filter);
                    self.list.set_filter(String::new());
                    if !self.list.jump_to(&text, page) {
                        self.list.set_filter(filter);
                        self.status = Some(format!("no domain named like '{text}'"));
                    }
                }
            }
            (_, InputOutcome::Accepted) | (_, InputOutcome::Cancelled) => self.input = None,
            _ => {}
        }
        self.list.keep_visible(page);
        Vec::new()
    }

    fn on_domains_action(&mut self, action: Action) -> Vec<Command> {
        let page = self.page_rows();
        match action {
            Action::Filter => {
                self.input = Some(InputLine::new(InputKind::Filter, self.list.filter.clone()));
            }
            Action::Jump => self.input = Some(InputLine::new(InputKind::Jump, String::new())),
            Action::ClearFilter if !self.list.filter.is_empty() => {
                self.list.set_filter(String::new())
            }
            Action::Open => return snapshot_view::open(self),
            Action::Down => self.list.move_by(1, page),
            Action::Up => self.list.move_by(-1, page),
            Action::First => self.list.move_to(0, page),
            Action::Last => self.list.move_to(usize::MAX, page),
            Action::PageDown => self.list.move_by(page as isize, page),
            Action::PageUp => self.list.move_by(-(page as isize), page),
            Action::Snapshot if !self.list.marked.is_empty() => {
                return dialogs::bulk_create::open(self)
            }
            Action::Snapshot => return dialogs::create::open_from_list(self),
            Action::Delete if !self.list.marked.is_empty() => {
                return dialogs::bulk_delete::open(self)
            }
            Action::Delete => {
                self.status = Some(
                    "d deletes a snapshot from the marked VMs: mark them with Space (Enter \
                     opens one VM's snapshots)"
                        .into(),
                )
            }
            _ => {}
        }
        Vec::new()
    }

    /// y answers yes, n or Esc no; other keys wait, so a stray key never decides.
    fn on_question_key(&mut self, id: JobId, key: KeyEvent) -> Vec<Command> {
        let answer = match key.code {
            KeyCode::Char('y') | KeyCode::Char('Y') => true,
            KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Esc => false,
            _ => return Vec::new(),
        };
        self.jobs.answered(id);
        let host = self.jobs.get(id).map(|j| j.host).unwrap_or_default();
        vec![Command::Control {
            host,
            id,
            control: JobControl::Answer(answer),
        }]
    }

    fn on_overlay_key(&mut self, key: KeyEvent) -> Vec<Command> {
        match self.overlay {
            Some(Overlay::SnapshotXml { .. }) => dialogs::existing::on_xml_key(self, key),
            Some(Overlay::Revert(_)) => dialogs::existing::on_revert_key(self, key),
            Some(Overlay::Delete(_)) => dialogs::existing::on_delete_key(self, key),
            Some(Overlay::Describe(_)) => dialogs::existing::on_describe_key(self, key),
            Some(Overlay::CreateSnapshot(_)) => dialogs::create::on_key(self, key),
            Some(Overlay::BulkCreate(_)) => dialogs::bulk_create::on_key(self, key),
            Some(Overlay::BulkDelete(_)) => dialogs::bulk_delete::on_key(self, key),
            Some(Overlay::Confirm(_)) => match dialogs::confirm::on_key(self, key) {
                Some(ConfirmAction::Jobs { jobs, clear_marks }) => {
                    if clear_marks {
                        self.list.marked.clear();
                    }
                    lifecycle::start_jobs(self, jobs)
                }
                Some(ConfirmAction::ForceConsole { host, domain }) => {
                    lifecycle::open_console(self, host, domain, true)
                }
                None => Vec::new(),
            },
            Some(Overlay::Message { ref mut scroll, .. }) => {
                match key.code {
                    KeyCode::Char('j') | KeyCode::Down => *scroll = scroll.saturating_add(1),
                    KeyCode::Char('k') | KeyCode::Up => *scroll = scroll.saturating_sub(1),
                    KeyCode::PageDown => *scroll = scroll.saturating_add(10),
                    KeyCode::PageUp => *scroll = scroll.saturating_sub(10),
                    KeyCode::Esc | KeyCode::Enter | KeyCode::Char('q') => self.overlay = None,
                    _ => {}
                }
                Vec::new()
            }
            Some(Overlay::Help) | None => {
                // The view's own help key closes it too, whatever it was remapped to.
                if matches!(key.code, KeyCode::Esc | KeyCode::Char('q'))
                    || self.action_for(&key) == Some(Action::Help)
                {
                    self.overlay = None;
                }
                Vec::new()
            }
        }
    }

    /// Ctrl-X: asks the most recent job to stop (a memory snapshot is aborted where libvirt
    /// can; a job waiting for an answer takes it as "no").
    fn cancel_latest_job(&mut self) -> Vec<Command> {
        match self.jobs.running.last() {
            Some(job) => {
                self.status = Some(format!("asking '{}' to cancel...", job.title));
                vec![Command::Control {
                    host: job.host,
                    id: job.id,
                    control: JobControl::Cancel,
                }]
            }
            None => {
                self.status = Some("no job is running".into());
                Vec::new()
            }
        }
    }

    /// The host the keys act on now: the snapshot view's, else the selected row's.
    pub fn target_host(&self) -> HostId {
        match &self.screen {
            Screen::Snapshots(v) => v.host,
            Screen::Domains => self.list.selected_row().map(|r| r.host).unwrap_or_default(),
        }
    }

    /// What libvirt said about host `id`.
    pub fn host(&self, id: HostId) -> Option<&HostInfo> {
        self.hosts.info(id)
    }

    /// Why a mutating action on the target host cannot run now, if it cannot: a read-only
    /// connection, or no connection at all. Mutating keys show this in the status line and
    /// do nothing else.
    pub fn mutation_refused(&self) -> Option<String> {
        self.hosts.mutation_refused(self.target_host())
    }

    /// Registers a job on `host` and returns the command that starts it on that host's worker.
    pub fn start_job(&mut self, host: HostId, job: Job) -> Command {
        let id = self.jobs.start(host, &job, self.now);
        Command::StartJob { host, id, job }
    }
}

#[cfg(test)]
pub(crate) mod bulk_tests;
#[cfg(test)]
mod hosts_tests;
#[cfg(test)]
pub(crate) mod space_tests;
#[cfg(test)]
mod tests;
