//! The revert, delete and edit-description dialogs of the snapshot view, and the XML pane's
//! keys. Each dialog is plain data; Enter turns it into a job.

use crate::app::text_field::TextField;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::app::snapshot_view::{local_time, view};
use crate::app::{App, Command, Overlay};
use crate::libvirt::jobs::delete::DeleteJob;
use crate::libvirt::jobs::describe::DescribeJob;
use crate::libvirt::jobs::revert::RevertJob;
use crate::libvirt::jobs::Job;
use crate::model::inventory::HostId;
use crate::model::snapshot::SnapshotInfo;
use crate::model::storage::render::{delete_lines, revert_lines, PlanLine};
use crate::model::storage::{
    plan_delete, plan_revert, AfterRevert, CreateAbility, DeleteMode, DeletePlan, Layout,
    RevertOptions, RevertPlan,
};

/// The revert dialog's choices, in cursor order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevertRow {
    After(AfterRevert),
    Safety,
    StopFirst,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RevertDialog {
    pub host: HostId,
    pub domain: String,
    pub snapshot: String,
    pub snapshot_created: String,
    pub vm_active: bool,
    pub after: AfterRevert,
    pub safety: bool,
    /// `pre-revert-<local time>`, made unique against the domain's snapshot names.
    pub safety_name: String,
    pub stop_first: bool,
    /// The graceful-shutdown countdown of "shut down first" (`--shutdown-timeout`), seconds.
    pub stop_timeout_secs: u64,
    pub rows: Vec<RevertRow>,
    pub focus: usize,
    /// First plan line shown (PgUp/PgDn scroll the plan).
    pub scroll: u16,
    /// The storage model the plan is made against; None while it is being read.
    pub layout: Option<Box<Layout>>,
    pub ability: CreateAbility,
    /// The plan for the choices now, made again whenever one changes.
    pub plan: Option<RevertPlan>,
}

impl RevertDialog {
    pub fn new(app: &App, host: HostId, domain: &str, target: &SnapshotInfo) -> Self {
        let row = app.list.row(host, domain);
        let vm_active = row.and_then(|r| r.state).is_some_and(|s| s.is_active());
        let layout = view(app)
            .and_then(|v| v.data.storage.as_deref())
            .map(|f| Box::new(Layout::new(f)));
        let ability = match (row, app.host(host)) {
            (Some(row), Some(host)) => row
                .verdict(host)
                .map(|v| CreateAbility {
                    memory_internal: v.memory.applicable && v.memory.allowed && v.memory.internal,
                    memory_external: v.memory.applicable && v.memory.allowed && v.memory.external,
                })
                .unwrap_or_default(),
            _ => CreateAbility::default(),
        };
        let base = crate::app::snapshot_view::safety_base_name(i64::try_from(app.now).unwrap_or(0));
        let safety_name = layout
            .as_ref()
            .map_or(base.clone(), |l| l.unique_name(&base));
        let mut rows: Vec<RevertRow> = AfterRevert::ALL
            .iter()
            .map(|a| RevertRow::After(*a))
            .collect();
        rows.push(RevertRow::Safety);
        if vm_active {
            rows.push(RevertRow::StopFirst);
        }
        let mut d = Self {
            host,
            domain: domain.to_string(),
            snapshot: target.name.clone(),
            snapshot_created: local_time(target.created, false),
            vm_active,
            after: AfterRevert::Saved,
            safety: true,
            safety_name,
            stop_first: false,
            stop_timeout_secs: app.lifecycle.shutdown_timeout,
            rows,
            focus: 0,
            scroll: 0,
            layout,
            ability,
            plan: None,
        };
        d.replan();
        // A transient domain cannot be left shut off: start on the first state libvirt takes.
        if d.plan.as_ref().is_some_and(|p| p.after.state == "unknown") {
            d.after = AfterRevert::Running;
            d.replan();
        }
        d
    }

    pub fn options(&self) -> RevertOptions {
        RevertOptions {
            after: self.after,
            safety: self.safety.then(|| self.safety_name.clone()),
            stop_first: self.stop_first,
        }
    }

    pub fn replan(&mut self) {
        self.plan = self
            .layout
            .as_deref()
            .map(|l| plan_revert(l, &self.snapshot, &self.options(), &self.ability));
    }

    /// The plan in words; a placeholder while the facts are read.
    pub fn lines(&self) -> Vec<PlanLine> {
        match &self.plan {
            Some(p) => revert_lines(p),
            None => vec![PlanLine {
                tone: crate::model::storage::render::Tone::Plain,
                text: "Reading the VM's disks and snapshots...".into(),
            }],
        }
    }

    /// Why an after-state cannot be chosen for this snapshot (a transient domain cannot be
    /// left shut off), or None.
    pub fn after_refusal(&self, after: AfterRevert) -> Option<String> {
        let layout = self.layout.as_deref()?;
        let probe = RevertOptions {
            after,
            safety: None,
            stop_first: false,
        };
        let p = plan_revert(layout, &self.snapshot, &probe, &self.ability);
        (p.after.state == "unknown").then(|| {
            p.refusal
                .map(|r| r.reason)
                .unwrap_or_else(|| "libvirt would not take it".into())
        })
    }

    /// What an after-state choice leads to for this snapshot, e.g. "shut off".
    pub fn after_label(&self, after: AfterRevert) -> String {
        let Some(layout) = self.layout.as_deref() else {
            return after.label().to_string();
        };
        let probe = RevertOptions {
            after,
            safety: None,
            stop_first: false,
        };
        let p = plan_revert(layout, &self.snapshot, &probe, &self.ability);
        match (after, p.after.state) {
            (_, "unknown") => format!("{} (not possible here)", after.label()),
            (AfterRevert::Saved, state) => format!("{}: {state}", after.label()),
            (_, state) => state.to_string(),
        }
    }

    pub fn job(&self) -> Job {
        Job::RevertSnapshot(RevertJob {
            domain: self.domain.clone(),
            snapshot: self.snapshot.clone(),
            after: self.after,
            safety: self.safety.then(|| self.safety_name.clone()),
            stop_first: self.stop_first,
            stop_timeout_secs: self.stop_timeout_secs,
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct DeleteOption {
    pub mode: DeleteMode,
    pub plan: DeletePlan,
}

impl DeleteOption {
    pub fn refusal(&self) -> Option<&str> {
        self.plan.refusal.as_ref().map(|r| r.reason.as_str())
    }

    pub fn lines(&self) -> Vec<PlanLine> {
        delete_lines(&self.plan)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct DeleteDialog {
    pub host: HostId,
    pub domain: String,
    pub snapshot: String,
    /// Empty while the facts are read.
    pub options: Vec<DeleteOption>,
    pub choice: usize,
    pub scroll: u16,
}

impl DeleteDialog {
    pub fn new(layout: Option<&Layout>, host: HostId, domain: &str, snapshot: &str) -> Self {
        let options: Vec<DeleteOption> = layout
            .map(|l| {
                DeleteMode::ALL
                    .iter()
                    .map(|&mode| DeleteOption {
                        mode,
                        plan: plan_delete(l, snapshot, mode),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let choice = options
            .iter()
            .position(|o| o.plan.refusal.is_none())
            .unwrap_or(0);
        Self {
            host,
            domain: domain.to_string(),
            snapshot: snapshot.to_string(),
            options,
            choice,
            scroll: 0,
        }
    }

    pub fn chosen(&self) -> Option<&DeleteOption> {
        self.options.get(self.choice)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribeDialog {
    pub host: HostId,
    pub domain: String,
    pub snapshot: String,
    pub text: TextField,
    pub original: String,
}

impl DescribeDialog {
    pub fn new(host: HostId, domain: &str, info: &SnapshotInfo) -> Self {
        let text = info.description.clone().unwrap_or_default();
        Self {
            host,
            domain: domain.to_string(),
            snapshot: info.name.clone(),
            text: TextField::new(text.clone(), crate::app::dialogs::create::MAX_DESCRIPTION),
            original: text,
        }
    }
}

/// `s` in the snapshot view: the create dialog, told the names already taken.
pub fn create_hook(app: &mut App) -> Vec<Command> {
    let Some(v) = view(app) else {
        return Vec::new();
    };
    let (host, domain) = (v.host, v.domain.clone());
    let existing = v.tree.snapshots().iter().map(|s| s.name.clone()).collect();
    crate::app::dialogs::create::open_from_view(app, host, &domain, existing)
}

pub fn on_revert_key(app: &mut App, key: KeyEvent) -> Vec<Command> {
    let Some(Overlay::Revert(d)) = app.overlay.as_mut() else {
        return Vec::new();
    };
    let n = d.rows.len().max(1);
    match key.code {
        KeyCode::Esc => app.overlay = None,
        KeyCode::Char('j') | KeyCode::Down | KeyCode::Tab => d.focus = (d.focus + 1) % n,
        KeyCode::Char('k') | KeyCode::Up | KeyCode::BackTab => d.focus = (d.focus + n - 1) % n,
        KeyCode::PageDown => d.scroll = d.scroll.saturating_add(5),
        KeyCode::PageUp => d.scroll = d.scroll.saturating_sub(5),
        KeyCode::Char(' ') => {
            match d.rows.get(d.focus) {
                // Only after-states libvirt accepts can be chosen; the row says why not.
                Some(RevertRow::After(a)) => match d.after_refusal(*a) {
                    Some(why) => {
                        app.status = Some(format!("{} is not possible here: {why}", a.label()));
                        return Vec::new();
                    }
                    None => d.after = *a,
                },
                Some(RevertRow::Safety) => d.safety = !d.safety,
                Some(RevertRow::StopFirst) => d.stop_first = !d.stop_first,
                None => {}
            }
            d.replan();
        }
        KeyCode::Enter => {
            let Some(plan) = &d.plan else {
                app.status = Some("still reading the VM's disks and snapshots".into());
                return Vec::new();
            };
            if let Some(r) = &plan.refusal {
                app.status = Some(format!("cannot revert: {}", r.reason));
                return Vec::new();
            }
            let (host, job) = (d.host, d.job());
            let name = d.snapshot.clone();
            app.overlay = None;
            app.status = Some(format!("reverting to {name}..."));
            return vec![app.start_job(host, job)];
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
        KeyCode::Char('j') | KeyCode::Down | KeyCode::Tab => {
            d.choice = (d.choice + 1) % n;
            d.scroll = 0;
        }
        KeyCode::Char('k') | KeyCode::Up | KeyCode::BackTab => {
            d.choice = (d.choice + n - 1) % n;
            d.scroll = 0;
        }
        KeyCode::PageDown => d.scroll = d.scroll.saturating_add(5),
        KeyCode::PageUp => d.scroll = d.scroll.saturating_sub(5),
        KeyCode::Enter => {
            let Some(option) = d.chosen() else {
                app.status = Some("still reading the VM's disks and snapshots".into());
                return Vec::new();
            };
            if let Some(why) = option.refusal() {
                app.status = Some(format!("cannot delete this way: {why}"));
                return Vec::new();
            }
            let job = Job::DeleteSnapshot(DeleteJob {
                domain: d.domain.clone(),
                snapshot: d.snapshot.clone(),
                mode: option.mode,
            });
            let host = d.host;
            app.overlay = None;
            return vec![app.start_job(host, job)];
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
            let host = d.host;
            app.overlay = None;
            return vec![app.start_job(host, job)];
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
