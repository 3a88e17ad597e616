//! `s` with marked rows: one snapshot request for every marked VM. One name (a pattern with
//! `{domain}`, `{time}`, `{utc}`), one description, "memory where allowed" and "quiesce where
//! an agent answers"; each VM's row says what it will get, decided by `model::bulk` on that
//! VM's own storage facts, exactly as `snapshot create --match/--all` decides. Enter starts a
//! job per VM that can have one (each on its host); the others are in the results table.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::bulk::{fill, marked_vms, move_selection, reading, BulkVm, VmFacts};
use crate::app::bulk_run::{self, RunResult};
use crate::app::text_field::TextField;
use crate::app::{App, Command, Overlay};
use crate::libvirt::jobs::snapshot_create::CreateJob;
use crate::libvirt::jobs::Job;
use crate::libvirt::snapshots::DomainSnapshots;
use crate::model::bulk::{decide_for_bulk, expand_name, BulkChoice, BulkIntent};
use crate::model::inventory::HostId;
use crate::model::snapshot::validate_name;
use crate::model::storage::CreateDenied;

/// The pattern the name field starts with: each VM's default name, one time for all.
pub const DEFAULT_PATTERN: &str = "{domain}-{time}";
const MAX_PATTERN: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkField {
    Name,
    Description,
    Memory,
    Quiesce,
}

const FIELDS: [BulkField; 4] = [
    BulkField::Name,
    BulkField::Description,
    BulkField::Memory,
    BulkField::Quiesce,
];

#[derive(Debug, Clone, PartialEq)]
pub struct BulkCreateDialog {
    pub vms: Vec<BulkVm>,
    pub name: TextField,
    pub description: TextField,
    /// Memory state where the VM allows it (the others get their disks, and the reason).
    pub memory: bool,
    /// Quiesce where a guest agent answers (disk-only snapshots only).
    pub quiesce: bool,
    pub focus: BulkField,
    /// The row whose details are shown under the table.
    pub selected: usize,
    /// `{time}`: the local stamp, taken once when the dialog opened, the same for every VM.
    pub stamp: String,
    /// `{utc}`: Unix seconds, taken with `stamp`.
    pub now: i64,
    /// Why the last Enter did nothing.
    pub error: Option<String>,
}

/// What one VM will get.
#[derive(Debug, Clone, PartialEq)]
pub enum CreateRow {
    Reading,
    /// It gets no snapshot: why (its host, its name, its tree, its storage).
    Refused(String),
    Create {
        name: String,
        choice: Box<BulkChoice>,
    },
}

impl CreateRow {
    /// The GETS cell: "memory, internal", "disk-only, external, quiesced", "REFUSED".
    pub fn gets(&self) -> String {
        match self {
            Self::Reading => "reading...".into(),
            Self::Refused(_) => "REFUSED".into(),
            Self::Create { choice, .. } => {
                let mut s = String::from(if choice.memory { "memory" } else { "disk-only" });
                s.push_str(", ");
                s.push_str(choice.plan.location.as_str());
                if choice.quiesce {
                    s.push_str(", quiesced");
                }
                s
            }
        }
    }

    /// The NOTE cell: why it does not get all that was asked, or why it is refused.
    pub fn note(&self) -> String {
        match self {
            Self::Reading => String::new(),
            Self::Refused(why) => why.clone(),
            Self::Create { choice, .. } => choice.notes.join("; "),
        }
    }
}

impl BulkCreateDialog {
    /// The name one VM's snapshot gets from the pattern.
    pub fn name_for(&self, domain: &str) -> Result<String, String> {
        expand_name(self.name.value(), domain, &self.stamp, self.now)
    }

    pub fn row(&self, vm: &BulkVm) -> CreateRow {
        if let Some(why) = &vm.refusal {
            return CreateRow::Refused(why.clone());
        }
        let (layout, verdict) = match &vm.facts {
            VmFacts::Reading => return CreateRow::Reading,
            VmFacts::NotRead => return CreateRow::Refused("not read".into()),
            VmFacts::Failed(why) => {
                return CreateRow::Refused(format!("its storage could not be read: {why}"))
            }
            VmFacts::Read { layout, verdict } => (layout, verdict),
        };
        let name = match self.name_for(&vm.domain) {
            Ok(n) => n,
            Err(why) => return CreateRow::Refused(format!("snapshot name: {why}")),
        };
        let taken: Vec<&str> = layout.snapshots.iter().map(|s| s.name.as_str()).collect();
        let in_images = layout.image_snapshot_names();
        let pairs: Vec<(&str, &str)> = in_images
            .iter()
            .map(|(i, n)| (i.as_str(), n.as_str()))
            .collect();
        if let Err(e) = validate_name(&name, &taken, &pairs) {
            return CreateRow::Refused(format!("snapshot name '{name}': {e}"));
        }
        let intent = BulkIntent {
            name: name.clone(),
            memory: self.memory,
            quiesce: self.quiesce,
            location: None,
        };
        match decide_for_bulk(layout, verdict, &intent) {
            Ok(choice) => CreateRow::Create {
                name,
                choice: Box::new(choice),
            },
            // The CLI asks for --kind here; one VM's kind is confirmed in its own dialog.
            Err(CreateDenied::NeedsConfirmation { risk, location }) => CreateRow::Refused(format!(
                "mixes kinds: {risk} (an {} snapshot can be confirmed in its own dialog: \
                     Enter on it, then s)",
                location.as_str()
            )),
            Err(CreateDenied::Refused(why)) => CreateRow::Refused(why),
        }
    }

    pub fn rows(&self) -> Vec<CreateRow> {
        self.vms.iter().map(|vm| self.row(vm)).collect()
    }

    /// "3 VMs: 2 with memory, 1 disk-only, 1 refused".
    pub fn tally(&self) -> String {
        let rows = self.rows();
        let n = |f: &dyn Fn(&CreateRow) -> bool| rows.iter().filter(|r| f(r)).count();
        let memory = n(&|r| matches!(r, CreateRow::Create { choice, .. } if choice.memory));
        let disk = n(&|r| matches!(r, CreateRow::Create { choice, .. } if !choice.memory));
        let refused = n(&|r| matches!(r, CreateRow::Refused(_)));
        let waiting = n(&|r| matches!(r, CreateRow::Reading));
        let mut parts = Vec::new();
        for (count, words) in [
            (memory, "with memory"),
            (disk, "disk-only"),
            (refused, "refused"),
            (waiting, "reading"),
        ] {
            if count > 0 {
                parts.push(format!("{count} {words}"));
            }
        }
        format!("{} VMs: {}", self.vms.len(), parts.join(", "))
    }

    fn move_focus(&mut self, forward: bool) {
        let i = FIELDS.iter().position(|f| *f == self.focus).unwrap_or(0);
        let n = FIELDS.len();
        self.focus = FIELDS[if forward {
            (i + 1) % n
        } else {
            (i + n - 1) % n
        }];
    }
}

/// `s` on the list with marks: the dialog, and a request for each VM's facts.
pub fn open(app: &mut App) -> Vec<Command> {
    let (vms, load) = marked_vms(app);
    let now = i64::try_from(app.now).unwrap_or(0);
    let stamp = super::create::local_stamp(app.now);
    app.overlay = Some(Overlay::BulkCreate(Box::new(BulkCreateDialog {
        vms,
        name: TextField::new(DEFAULT_PATTERN, MAX_PATTERN),
        description: TextField::new("", super::create::MAX_DESCRIPTION),
        memory: true,
        quiesce: false,
        focus: BulkField::Name,
        selected: 0,
        stamp,
        now,
        error: None,
    })));
    load
}

/// The worker read one VM's facts.
pub fn on_loaded(
    app: &mut App,
    host: HostId,
    domain: &str,
    result: &Result<DomainSnapshots, String>,
) {
    if let Some(Overlay::BulkCreate(d)) = app.overlay.as_mut() {
        fill(&app.hosts, &mut d.vms, host, domain, result);
    }
}

pub fn on_key(app: &mut App, key: KeyEvent) -> Vec<Command> {
    let Some(Overlay::BulkCreate(d)) = app.overlay.as_mut() else {
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
        KeyCode::Enter if alt_or_ctrl && d.focus == BulkField::Description => {
            d.description.insert('\n');
        }
        KeyCode::Enter => return submit(app),
        KeyCode::Char(' ') if d.focus == BulkField::Memory => d.memory = !d.memory,
        KeyCode::Char(' ') if d.focus == BulkField::Quiesce => d.quiesce = !d.quiesce,
        code if move_selection(&mut d.selected, d.vms.len(), code) => {}
        _ => match d.focus {
            BulkField::Name => {
                d.name.on_key(key);
            }
            BulkField::Description => {
                d.description.on_key(key);
            }
            _ => {}
        },
    }
    Vec::new()
}

/// Enter: a job for every VM that gets a snapshot; the refused ones go to the results table.
fn submit(app: &mut App) -> Vec<Command> {
    let Some(Overlay::BulkCreate(d)) = app.overlay.as_mut() else {
        return Vec::new();
    };
    let waiting = reading(&d.vms);
    if waiting > 0 {
        d.error = Some(format!(
            "still reading {waiting} VM{}: Enter again in a moment",
            if waiting == 1 { "" } else { "s" }
        ));
        return Vec::new();
    }
    let description = Some(d.description.value().to_string()).filter(|t| !t.trim().is_empty());
    let several = app.hosts.several();
    let label = |vm: &BulkVm| vm.label(several.then_some(&app.hosts));
    let mut jobs = Vec::new();
    let mut refused = Vec::new();
    for (vm, row) in d.vms.iter().zip(d.rows()) {
        match row {
            CreateRow::Create { name, choice } => jobs.push((
                vm.host,
                label(vm),
                Job::CreateSnapshot(CreateJob {
                    domain: vm.domain.clone(),
                    name,
                    description: description.clone(),
                    memory: choice.memory,
                    quiesce: choice.quiesce,
                    location: None,
                }),
            )),
            CreateRow::Refused(why) => refused.push((label(vm), RunResult::Refused(why))),
            CreateRow::Reading => {}
        }
    }
    if jobs.is_empty() {
        d.error = Some("no VM can get this snapshot: each row says why".into());
        return Vec::new();
    }
    let title = format!(
        "Snapshot {} VM{}",
        jobs.len(),
        if jobs.len() == 1 { "" } else { "s" }
    );
    app.overlay = None;
    let started = jobs.len();
    let commands = bulk_run::start(app, title, jobs, refused);
    // Marks stay: the same VMs are usually the ones whose snapshot is deleted later (d).
    app.status = Some(format!(
        "started {started} snapshot job{}; the marks stay for d (delete) later",
        if started == 1 { "" } else { "s" }
    ));
    commands
}
