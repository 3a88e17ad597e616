//! The revert, delete and edit-description dialogs of the snapshot view, and the XML pane's
//! keys. Each dialog is plain data; Enter turns it into a job.

use super::text_field::TextField;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::snapshot_view::{local_time, view};
use super::{App, Command, Overlay};
use crate::libvirt::jobs::delete::{delete_refusal, delete_summary, DeleteJob, DeleteMode};
use crate::libvirt::jobs::describe::DescribeJob;
use crate::libvirt::jobs::revert::{memory_dir, AfterRevert, ForcePolicy, RevertJob};
use crate::libvirt::jobs::Job;
use crate::model::snapshot::{
    plan_create, PlanError, SnapshotInfo, SnapshotLocation, SnapshotTree,
};
use crate::model::DomainState;

/// The rows of the revert dialog that take the cursor.
pub const REVERT_ROWS: usize = 4;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevertDialog {
    pub domain: String,
    pub snapshot: String,
    pub snapshot_created: String,
    /// The snapshot the unsaved changes are counted from (the current one, else the target).
    pub since: String,
    /// Running or paused: the memory is lost too.
    pub vm_active: bool,
    pub after: AfterRevert,
    pub safety: bool,
    /// `pre-revert-<local time>`; made unique by the job.
    pub safety_name: String,
    /// What the safety snapshot will be, or why it cannot be taken.
    pub safety_summary: String,
    pub safety_possible: bool,
    /// False when there is nothing a safety snapshot could keep.
    pub safety_needed: bool,
    /// 0..3 the after-revert choices, 3 the safety checkbox.
    pub focus: usize,
}

impl RevertDialog {
    pub fn new(app: &App, domain: &str, target: &SnapshotInfo) -> Self {
        let row = app.list.rows.iter().find(|r| r.name == domain);
        let state = row.and_then(|r| r.state);
        let vm_active = state.is_some_and(DomainState::is_active);
        let current = view(app).and_then(|v| v.tree.current().map(|c| c.name.clone()));
        let stamp = local_time(i64::try_from(app.now).unwrap_or(0), true)
            .replace(['-', ':'], "")
            .replace(' ', "-");
        let safety_name = format!("pre-revert-{stamp}");
        let planned = match (row, app.host.as_ref(), state) {
            (Some(row), Some(host), Some(state)) => {
                let verdict = row.verdict(host);
                let with_memory = verdict
                    .as_ref()
                    .is_some_and(|v| v.memory.applicable && v.memory.allowed);
                let (internal, external) = verdict
                    .as_ref()
                    .map_or((false, false), |v| (v.memory.internal, v.memory.external));
                match row.effective_config() {
                    Some(cfg) => plan_create(
                        cfg,
                        state,
                        with_memory,
                        false,
                        internal,
                        external,
                        &safety_name,
                        &memory_dir(cfg),
                    )
                    .map(|p| {
                        if state.is_active() && !p.memory {
                            format!("{} (memory state cannot be saved for this VM)", p.summary)
                        } else {
                            p.summary
                        }
                    })
                    .map_err(|e| match e {
                        // Nothing is lost: a shut-off VM without disks has no state.
                        PlanError::NothingToCapture if !state.is_active() => (
                            false,
                            "not needed: a shut-off VM without disks has no state to keep"
                                .to_string(),
                        ),
                        e => (true, format!("not possible: {e}")),
                    }),
                    None => Err((
                        true,
                        "not possible: the VM's definition is not read yet".into(),
                    )),
                }
            }
            _ => Err((true, "not possible: the VM's state is not known yet".into())),
        };
        let (safety_possible, safety_needed, safety_summary) = match planned {
            Ok(summary) => (true, true, summary),
            Err((needed, why)) => (false, needed, why),
        };
        Self {
            domain: domain.to_string(),
            snapshot: target.name.clone(),
            snapshot_created: local_time(target.created, false),
            since: current.unwrap_or_else(|| target.name.clone()),
            vm_active,
            after: AfterRevert::Saved,
            safety: safety_possible,
            safety_name,
            safety_summary,
            safety_possible,
            safety_needed,
            focus: 0,
        }
    }

    /// The sentence saying what is lost.
    pub fn loss(&self) -> String {
        let what = if self.vm_active {
            "disk changes, and the running memory"
        } else {
            "disk changes"
        };
        format!(
            "The current state of {} since {} will be discarded ({what}).",
            self.domain, self.since
        )
    }

    pub fn job(&self) -> Job {
        Job::RevertSnapshot(RevertJob {
            domain: self.domain.clone(),
            snapshot: self.snapshot.clone(),
            after: self.after,
            force: ForcePolicy::Ask,
            safety: self.safety.then(|| self.safety_name.clone()),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteOption {
    pub mode: DeleteMode,
    /// Why libvirt would refuse it; the option is shown disabled.
    pub refusal: Option<String>,
    pub summary: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteDialog {
    pub domain: String,
    pub snapshot: String,
    pub options: Vec<DeleteOption>,
    pub choice: usize,
    pub external: bool,
}

impl DeleteDialog {
    pub fn new(
        tree: &SnapshotTree,
        domain: &str,
        snapshot: &str,
        libvirt_version: u64,
        vm_active: bool,
    ) -> Self {
        let options: Vec<DeleteOption> = DeleteMode::ALL
            .iter()
            .map(|&mode| DeleteOption {
                mode,
                refusal: delete_refusal(tree, snapshot, mode, libvirt_version, vm_active),
                summary: delete_summary(tree, snapshot, mode),
            })
            .collect();
        let choice = options
            .iter()
            .position(|o| o.refusal.is_none())
            .unwrap_or(0);
        let external = tree
            .get(snapshot)
            .is_some_and(|s| s.location == SnapshotLocation::External);
        Self {
            domain: domain.to_string(),
            snapshot: snapshot.to_string(),
            options,
            choice,
            external,
        }
    }

    pub fn chosen(&self) -> Option<&DeleteOption> {
        self.options.get(self.choice)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribeDialog {
    pub domain: String,
    pub snapshot: String,
    pub text: TextField,
    pub original: String,
}

impl DescribeDialog {
    pub fn new(domain: &str, info: &SnapshotInfo) -> Self {
        let text = info.description.clone().unwrap_or_default();
        Self {
            domain: domain.to_string(),
            snapshot: info.name.clone(),
            text: TextField::new(text.clone(), super::snapshot_dialog::MAX_DESCRIPTION),
            original: text,
        }
    }
}

/// `s` in the snapshot view: the create dialog, told the names already taken.
pub fn create_hook(app: &mut App) -> Vec<Command> {
    let Some(v) = view(app) else {
        return Vec::new();
    };
    let domain = v.domain.clone();
    let existing = v.tree.snapshots().iter().map(|s| s.name.clone()).collect();
    super::snapshot_dialog::open_from_view(app, &domain, existing)
}

pub fn on_revert_key(app: &mut App, key: KeyEvent) -> Vec<Command> {
    let Some(Overlay::Revert(d)) = app.overlay.as_mut() else {
        return Vec::new();
    };
    match key.code {
        KeyCode::Esc => app.overlay = None,
        KeyCode::Char('j') | KeyCode::Down | KeyCode::Tab => d.focus = (d.focus + 1) % REVERT_ROWS,
        KeyCode::Char('k') | KeyCode::Up | KeyCode::BackTab => {
            d.focus = (d.focus + REVERT_ROWS - 1) % REVERT_ROWS
        }
        KeyCode::Char(' ') => match d.focus {
            0 => d.after = AfterRevert::Saved,
            1 => d.after = AfterRevert::Running,
            2 => d.after = AfterRevert::Paused,
            _ if d.safety_possible => d.safety = !d.safety,
            _ => app.status = Some(format!("safety snapshot {}", d.safety_summary)),
        },
        KeyCode::Enter => {
            let job = d.job();
            let name = d.snapshot.clone();
            app.overlay = None;
            app.status = Some(format!("reverting to {name}..."));
            return vec![app.start_job(job)];
        }
        _ => {}
    }
    Vec::new()
}

pub fn on_delete_key(app: &mut App, key: KeyEvent) -> Vec<Command> {
    let Some(Overlay::Delete(d)) = app.overlay.as_mut() else {
        return Vec::new();
    };
    let n = d.options.len().max(1);
    match key.code {
        KeyCode::Esc => app.overlay = None,
        KeyCode::Char('j') | KeyCode::Down | KeyCode::Tab => d.choice = (d.choice + 1) % n,
        KeyCode::Char('k') | KeyCode::Up | KeyCode::BackTab => d.choice = (d.choice + n - 1) % n,
        KeyCode::Enter => {
            let Some(option) = d.chosen() else {
                return Vec::new();
            };
            if let Some(why) = &option.refusal {
                app.status = Some(format!("cannot delete this way: {why}"));
                return Vec::new();
            }
            let job = Job::DeleteSnapshot(DeleteJob {
                domain: d.domain.clone(),
                snapshot: d.snapshot.clone(),
                mode: option.mode,
                external: d.external,
            });
            app.overlay = None;
            return vec![app.start_job(job)];
        }
        _ => {}
    }
    Vec::new()
}

pub fn on_describe_key(app: &mut App, key: KeyEvent) -> Vec<Command> {
    let Some(Overlay::Describe(d)) = app.overlay.as_mut() else {
        return Vec::new();
    };
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    match key.code {
        KeyCode::Esc => app.overlay = None,
        // Ctrl-J is a line feed on every terminal; Enter saves.
        KeyCode::Char('j') if ctrl => {
            d.text.insert('\n');
        }
        KeyCode::Char('u') if ctrl => d.text.clear(),
        KeyCode::Enter => {
            if d.text.value() == d.original {
                app.overlay = None;
                app.status = Some("description unchanged".into());
                return Vec::new();
            }
            let job = Job::DescribeSnapshot(DescribeJob {
                domain: d.domain.clone(),
                snapshot: d.snapshot.clone(),
                description: d.text.value().to_string(),
            });
            app.overlay = None;
            return vec![app.start_job(job)];
        }
        _ => {
            d.text.on_key(key);
        }
    }
    Vec::new()
}

/// The XML pane: scroll, or close with Esc, q or x.
pub fn on_xml_key(app: &mut App, key: KeyEvent) -> Vec<Command> {
    let Some(Overlay::SnapshotXml { scroll }) = app.overlay.as_mut() else {
        return Vec::new();
    };
    match key.code {
        KeyCode::Esc | KeyCode::Char('q') | KeyCode::Char('x') => app.overlay = None,
        KeyCode::Char('j') | KeyCode::Down => *scroll = scroll.saturating_add(1),
        KeyCode::Char('k') | KeyCode::Up => *scroll = scroll.saturating_sub(1),
        KeyCode::PageDown | KeyCode::Char(' ') => *scroll = scroll.saturating_add(10),
        KeyCode::PageUp => *scroll = scroll.saturating_sub(10),
        KeyCode::Char('g') | KeyCode::Home => *scroll = 0,
        _ => {}
    }
    Vec::new()
}
