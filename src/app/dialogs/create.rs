//! The create-snapshot dialog (`s`): name, description, the memory and quiesce checkboxes with
//! the reasons they are disabled, the summary of what will be created, and the remedies for a
//! blocked memory state as actions. Plain data: what is shown is computed from the fields.

use std::path::{Path, PathBuf};

use crate::app::text_field::TextField;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::app::guest_view::GuestView;
use crate::app::{App, Command, Overlay};
use crate::libvirt::jobs::remedy::{EditDefinitionJob, StopSnapshotStartJob};
use crate::libvirt::jobs::snapshot_create::{human_bytes, CreateJob};
use crate::libvirt::jobs::Job;
use crate::libvirt::storage::uri_is_local;
use crate::model::inventory::HostId;
use crate::model::remedy::DefinitionEdit;
use crate::model::snapshot::{validate_name, SnapshotLocation, SnapshotPlan};
use crate::model::storage::{decide_create, CreateDenied, CreateIntent, Layout};
use crate::model::{DiskType, DomainConfig, DomainState, Remedy, Verdict};

/// The graceful-shutdown countdown of "stop, snapshot, start".
pub const SHUTDOWN_TIMEOUT_SECS: u64 = 120;
/// Longest description accepted from the keyboard (libvirt stores any length; this is a UI).
pub(crate) const MAX_DESCRIPTION: usize = 4096;
/// Longer names are refused by the name check anyway; typing stops here.
const MAX_NAME: usize = 512;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Name,
    Description,
    Memory,
    Quiesce,
    /// One of the remedy buttons, by index.
    Action(usize),
}

/// A remedy the dialog can carry out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemedyAction {
    StopSnapshotStart,
    Edit(DefinitionEdit),
}

impl RemedyAction {
    pub fn label(&self) -> String {
        match self {
            Self::StopSnapshotStart => "Stop, snapshot, start".into(),
            Self::Edit(DefinitionEdit::SwitchToHostModel) => "Switch to host-model".into(),
            Self::Edit(DefinitionEdit::PinTscFrequency { .. }) => "Pin TSC frequency".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct SnapshotDialog {
    /// The host the domain is on: the job goes to its worker.
    pub host: HostId,
    pub domain: String,
    pub state: DomainState,
    /// The configuration in effect (live when running): disks, memory size, agent.
    pub config: DomainConfig,
    pub name: TextField,
    pub description: TextField,
    pub memory: bool,
    pub quiesce: bool,
    pub focus: Field,
    /// Snapshot names known to exist (empty when not loaded; the job checks again).
    pub existing: Vec<String>,
    /// Why "Include memory state" cannot be toggled (the rule's explanation), or None.
    pub memory_lock: Option<String>,
    /// Why "Quiesce" cannot be toggled whatever the memory choice, or None.
    pub quiesce_lock: Option<String>,
    pub memory_internal: bool,
    pub memory_external: bool,
    pub remedies: Vec<RemedyAction>,
    /// Free bytes per directory the snapshot writes to; empty on a remote connection.
    pub free_space: Vec<(PathBuf, Option<u64>)>,
    pub local: bool,
    /// First line of the reason area shown (it scrolls with PgUp/PgDn).
    pub reason_scroll: u16,
    /// Why the last Enter did nothing.
    pub error: Option<String>,
    /// The domain's storage model (its snapshots, images, chains); None while it is read.
    pub layout: Option<Box<Layout>>,
    /// The memory rule's verdict the dialog opened with.
    pub verdict: Verdict,
    /// The kind the admin confirmed after being told the risk of mixing kinds.
    pub confirmed: Option<SnapshotLocation>,
    /// The guest agent's answer: whether it is there and what a quiesce would freeze.
    pub guest: GuestView,
}

/// Opens the dialog for the selected domain (the list) or the shown one (snapshot view).
/// `free` measures a directory's free bytes; injected so `update` stays free of I/O in tests.
pub fn open(
    app: &mut App,
    host_id: HostId,
    domain: &str,
    existing: Vec<String>,
    free: &dyn Fn(&Path) -> Option<u64>,
) -> Vec<Command> {
    let Some(host) = app.host(host_id) else {
        app.status = Some("not connected yet".into());
        return Vec::new();
    };
    if host.readonly {
        app.status = Some(
            "read-only connection: snapshots cannot be created (reconnect without --readonly)"
                .into(),
        );
        return Vec::new();
    }
    if app.jobs.is_busy(host_id, domain) {
        app.status = Some(format!(
            "a job is still running on {domain}: wait for it to finish"
        ));
        return Vec::new();
    }
    let Some(row) = app.list.row(host_id, domain) else {
        app.status = Some(format!("{domain} is not in the list any more"));
        return Vec::new();
    };
    let (Some(state), Some(config), Some(verdict)) = (
        row.state,
        row.effective_config().cloned(),
        row.verdict(host),
    ) else {
        app.status = Some(format!("still reading {domain}: try again in a moment"));
        return Vec::new();
    };
    let m = &verdict.memory;
    let memory_lock = if !m.applicable {
        Some(format!(
            "Not applicable: {domain} is {}, so there is no memory state; the snapshot captures its disks.",
            state.label()
        ))
    } else if !m.allowed {
        Some(m.explanation().unwrap_or_else(|| {
            let why: Vec<&str> = m.blockers.iter().map(|b| b.message.as_str()).collect();
            format!("Memory state cannot be captured: {}", why.join("; "))
        }))
    } else {
        None
    };
    let remedies = if m.applicable && !m.allowed {
        m.remedy_actions
            .iter()
            .filter_map(|r| match r {
                Remedy::StopSnapshotStart => Some(RemedyAction::StopSnapshotStart),
                Remedy::SwitchToHostModel => {
                    Some(RemedyAction::Edit(DefinitionEdit::SwitchToHostModel))
                }
                Remedy::PinTscFrequency { hz } => {
                    Some(RemedyAction::Edit(DefinitionEdit::PinTscFrequency {
                        hz: *hz,
                    }))
                }
                Remedy::DiskOnly => None,
            })
            .collect()
    } else {
        Vec::new()
    };
    let quiesce_lock = quiesce_lock(&verdict);
    // Only a running guest with an agent channel can answer; otherwise the Quiesce reason
    // already says why not.
    let ask_guest = state == DomainState::Running && config.guest_agent.is_some();
    let local = uri_is_local(&host.uri);
    let free_space = if local {
        target_dirs(&config)
            .into_iter()
            .map(|d| {
                let bytes = free(&d);
                (d, bytes)
            })
            .collect()
    } else {
        Vec::new()
    };
    let layout = crate::app::snapshot_view::view(app)
        .filter(|v| v.host == host_id && v.domain == domain)
        .and_then(|v| v.data.storage.as_deref())
        .map(|f| Box::new(Layout::new(f)));
    let load = vec![Command::LoadSnapshots {
        host: host_id,
        domain: domain.to_owned(),
    }];
    let dialog = SnapshotDialog {
        host: host_id,
        domain: domain.to_owned(),
        state,
        name: TextField::new(default_name(domain, app.now), MAX_NAME),
        description: TextField::new("", MAX_DESCRIPTION),
        memory: false,
        quiesce: false,
        focus: Field::Name,
        existing,
        memory_lock,
        quiesce_lock,
        memory_internal: m.internal,
        memory_external: m.external,
        remedies,
        free_space,
        local,
        reason_scroll: 0,
        error: None,
        config,
        layout,
        verdict,
        confirmed: None,
        guest: if ask_guest {
            GuestView::Checking
        } else {
            GuestView::NotAsked
        },
    };
    app.overlay = Some(Overlay::CreateSnapshot(Box::new(dialog)));
    let mut commands = load;
    if ask_guest {
        commands.push(Command::InspectGuest {
            host: host_id,
            domain: domain.to_owned(),
        });
    }
    commands
}

/// Why "Quiesce" cannot be toggled whatever the memory choice, or None.
pub(crate) fn quiesce_lock(verdict: &Verdict) -> Option<String> {
    if verdict.disk_only.quiesce {
        None
    } else {
        Some(
            verdict
                .disk_only
                .quiesce_reason
                .clone()
                .unwrap_or_else(|| "needs a connected qemu-guest-agent".into()),
        )
    }
}

/// `<vm>-YYYYMMDD-HHMMSS` in local time, valid whatever the domain's name
/// (`model::snapshot::default_name`).
pub fn default_name(domain: &str, now: u64) -> String {
    crate::model::snapshot::default_name(domain, &local_stamp(now))
}

/// `YYYYMMDD-HHMMSS` in local time: the stamp of default names and of `{time}` in the bulk
/// dialog's pattern.
pub(crate) fn local_stamp(now: u64) -> String {
    let stamp = crate::app::snapshot_view::local_time(i64::try_from(now).unwrap_or(0), true);
    stamp
        .chars()
        .filter_map(|c| match c {
            '-' | ':' => None,
            ' ' => Some('-'),
            c => Some(c),
        })
        .collect()
}

/// Directories the snapshot may write to: next to each file disk, and libvirt's default.
fn target_dirs(config: &DomainConfig) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = config
        .disks
        .iter()
        .filter(|d| d.is_writable() && d.disk_type == DiskType::File)
        .filter_map(|d| d.source.as_deref())
        .filter_map(|s| Path::new(s).parent().map(Path::to_path_buf))
        .collect();
    dirs.push(PathBuf::from("/var/lib/libvirt/images"));
    dirs.dedup();
    let mut seen = Vec::new();
    dirs.retain(|d| {
        let fresh = !seen.contains(d);
        seen.push(d.clone());
        fresh
    });
    dirs
}

impl SnapshotDialog {
    /// Fields in Tab order.
    pub fn fields(&self) -> Vec<Field> {
        let mut f = vec![
            Field::Name,
            Field::Description,
            Field::Memory,
            Field::Quiesce,
        ];
        f.extend((0..self.remedies.len()).map(Field::Action));
        f
    }

    /// The name problem shown next to the field.
    pub fn name_error(&self) -> Option<String> {
        let mut existing: Vec<&str> = self.existing.iter().map(String::as_str).collect();
        let in_images = self
            .layout
            .as_ref()
            .map(|l| l.image_snapshot_names())
            .unwrap_or_default();
        if let Some(l) = &self.layout {
            existing.extend(l.snapshots.iter().map(|s| s.name.as_str()));
        }
        let pairs: Vec<(&str, &str)> = in_images
            .iter()
            .map(|(i, n)| (i.as_str(), n.as_str()))
            .collect();
        validate_name(self.name.value(), &existing, &pairs)
            .err()
            .map(|e| e.to_string())
    }

    /// Why Quiesce is disabled now (it also depends on the memory checkbox).
    pub fn quiesce_reason(&self) -> Option<String> {
        if self.memory {
            return Some("only for disk-only snapshots: uncheck 'Include memory state'".into());
        }
        self.quiesce_lock.clone()
    }

    pub fn intent(&self) -> CreateIntent {
        CreateIntent {
            name: self.name.value().to_string(),
            memory: self.memory,
            quiesce: self.quiesce,
            location: self.confirmed,
        }
    }

    /// The one create decision (`model::storage::decide_create`), as the job will make it.
    pub fn decision(&self) -> Result<SnapshotPlan, CreateDenied> {
        let Some(layout) = &self.layout else {
            return Err(CreateDenied::Refused(
                "reading the VM's disks and snapshots...".into(),
            ));
        };
        decide_create(layout, &self.verdict, &self.intent())
    }

    pub fn plan(&self) -> Result<SnapshotPlan, String> {
        if let Some(e) = self.name_error() {
            return Err(e);
        }
        self.decision().map_err(|d| d.text())
    }

    /// The summary: what will be created, then free space lines and a warning when the memory
    /// file would not fit.
    pub fn summary(&self) -> Vec<(String, bool)> {
        if let Err(CreateDenied::NeedsConfirmation { risk, location }) = self.decision() {
            return vec![
                (format!("Mixing kinds: {risk}"), true),
                (
                    format!(
                        "Enter creates an {} snapshot anyway; Esc cancels.",
                        location.as_str()
                    ),
                    true,
                ),
            ];
        }
        let plan = match self.plan() {
            Ok(plan) => plan,
            Err(e) => return vec![(format!("Nothing can be created yet: {e}"), true)],
        };
        let mut lines = vec![(capitalise(&plan.summary), false)];
        if let Some(risk) = &plan.mixes {
            lines.push((format!("Mixes kinds: {risk}"), true));
        }
        for w in &plan.warnings {
            lines.push((format!("Note: {w}"), true));
        }
        if !self.local {
            lines.push(("Free space: unknown on a remote host".into(), false));
            return lines;
        }
        let mut dirs: Vec<&Path> = plan
            .overlay_files
            .iter()
            .filter_map(|f| f.parent())
            .collect();
        dirs.extend(plan.memory_file.iter().filter_map(|f| f.parent()));
        dirs.dedup();
        for dir in dirs {
            let free = self
                .free_space
                .iter()
                .find(|(d, _)| d == dir)
                .and_then(|(_, b)| *b);
            let text = match free {
                Some(b) => format!("Free in {}: {}", dir.display(), human_bytes(b)),
                None => format!("Free in {}: unknown", dir.display()),
            };
            lines.push((text, false));
            let needs = self.config.memory_kib.saturating_mul(1024);
            let holds_memory = plan.memory_file.as_deref().and_then(Path::parent) == Some(dir);
            if holds_memory && free.is_some_and(|b| b < needs) {
                lines.push((
                    format!(
                        "WARNING: the memory file needs about {} (the VM's RAM): it will not fit",
                        human_bytes(needs)
                    ),
                    true,
                ));
            }
        }
        lines
    }

    fn move_focus(&mut self, forward: bool) {
        let fields = self.fields();
        let i = fields.iter().position(|f| *f == self.focus).unwrap_or(0);
        let n = fields.len();
        let next = if forward {
            (i + 1) % n
        } else {
            (i + n - 1) % n
        };
        self.focus = fields[next];
    }

    fn toggle(&mut self) {
        match self.focus {
            Field::Memory if self.memory_lock.is_none() => {
                self.memory = !self.memory;
                if self.memory {
                    self.quiesce = false;
                }
            }
            Field::Quiesce if self.quiesce_reason().is_none() => self.quiesce = !self.quiesce,
            Field::Memory | Field::Quiesce => {
                self.error = Some("this option is disabled: the reason is shown under it".into())
            }
            _ => {}
        }
    }

    fn job(&self, memory: bool, quiesce: bool) -> CreateJob {
        CreateJob {
            domain: self.domain.clone(),
            name: self.name.value().to_string(),
            description: Some(self.description.value().to_string())
                .filter(|d| !d.trim().is_empty()),
            memory,
            quiesce,
            location: self.confirmed,
        }
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

pub fn on_key(app: &mut App, key: KeyEvent) -> Vec<Command> {
    let Some(Overlay::CreateSnapshot(d)) = app.overlay.as_mut() else {
        return Vec::new();
    };
    d.error = None;
    let alt_or_ctrl = key
        .modifiers
        .intersects(KeyModifiers::ALT | KeyModifiers::CONTROL);
    match key.code {
        KeyCode::Esc => {
            app.overlay = None;
            app.status = Some("no snapshot created".into());
        }
        KeyCode::Tab => d.move_focus(true),
        KeyCode::BackTab => d.move_focus(false),
        KeyCode::PageDown => d.reason_scroll = d.reason_scroll.saturating_add(3),
        KeyCode::PageUp => d.reason_scroll = d.reason_scroll.saturating_sub(3),
        // A new line in the description: Alt-Enter or Ctrl-J (Enter alone creates).
        KeyCode::Enter if alt_or_ctrl && d.focus == Field::Description => {
            d.description.insert('\n');
        }
        KeyCode::Char('j')
            if key.modifiers.contains(KeyModifiers::CONTROL) && d.focus == Field::Description =>
        {
            d.description.insert('\n');
        }
        KeyCode::Enter => return submit(app),
        KeyCode::Char(' ') if matches!(d.focus, Field::Memory | Field::Quiesce) => d.toggle(),
        _ => match d.focus {
            Field::Name => {
                d.name.on_key(key);
            }
            Field::Description => {
                d.description.on_key(key);
            }
            _ => {}
        },
    }
    Vec::new()
}

/// Enter: create, or run the focused remedy.
fn submit(app: &mut App) -> Vec<Command> {
    let Some(Overlay::CreateSnapshot(d)) = app.overlay.as_mut() else {
        return Vec::new();
    };
    let action = match d.focus {
        Field::Action(i) => d.remedies.get(i).copied(),
        _ => None,
    };
    let job = match action {
        Some(RemedyAction::Edit(edit)) => Job::EditDefinition(EditDefinitionJob {
            domain: d.domain.clone(),
            edit,
        }),
        Some(RemedyAction::StopSnapshotStart) => {
            if let Some(e) = d.name_error() {
                d.error = Some(format!("snapshot name: {e}"));
                d.focus = Field::Name;
                return Vec::new();
            }
            Job::StopSnapshotStart(StopSnapshotStartJob {
                snapshot: d.job(false, false),
                timeout_secs: SHUTDOWN_TIMEOUT_SECS,
            })
        }
        None => {
            if let Some(e) = d.name_error() {
                d.error = Some(format!("snapshot name: {e}"));
                d.focus = Field::Name;
                return Vec::new();
            }
            match d.decision() {
                Ok(_) => {}
                Err(CreateDenied::NeedsConfirmation { location, .. }) => {
                    // The summary shows the risk; the next Enter creates it anyway.
                    d.confirmed = Some(location);
                    d.error = Some(format!(
                        "this mixes snapshot kinds: Enter again creates an {} snapshot",
                        location.as_str()
                    ));
                    return Vec::new();
                }
                Err(e) => {
                    d.error = Some(e.text());
                    return Vec::new();
                }
            }
            Job::CreateSnapshot(d.job(d.memory, d.quiesce))
        }
    };
    let note = match &job {
        Job::EditDefinition(_) => "review the change and answer y or n".to_owned(),
        _ => format!("started: {}", job.title()),
    };
    let host = d.host;
    app.overlay = None;
    app.status = Some(note);
    vec![app.start_job(host, job)]
}

/// `s` on the domain list: the selected domain; its snapshot names are checked by the job.
pub fn open_from_list(app: &mut App) -> Vec<Command> {
    let Some((host, name)) = app.list.selected_row().map(|r| (r.host, r.name.clone())) else {
        return Vec::new();
    };
    open(
        app,
        host,
        &name,
        Vec::new(),
        &crate::libvirt::jobs::snapshot_create::free_bytes,
    )
}

/// `s` in a domain's snapshot view, which knows the existing names.
pub fn open_from_view(
    app: &mut App,
    host: HostId,
    domain: &str,
    existing: Vec<String>,
) -> Vec<Command> {
    open(
        app,
        host,
        domain,
        existing,
        &crate::libvirt::jobs::snapshot_create::free_bytes,
    )
}
