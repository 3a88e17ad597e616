//! `d` with marked rows: delete one snapshot name from every marked VM (or one pattern: `{domain}`
//! stands for each VM's name, so the names a bulk create gave read back). Each VM's row is its
//! own delete plan (`model::storage::plan_delete`, "this snapshot only": children stay, data
//! is merged), in the words of `render::delete_lines`, as `snapshot delete --match/--all`
//! plans it; a refused plan is marked and skipped, a VM without that name has nothing to do.
//! Enter starts a job per VM whose plan stands, each on its host.

use crossterm::event::{KeyCode, KeyEvent};

use super::bulk::{fill, marked_vms, move_selection, reading, BulkVm, VmFacts};
use crate::app::bulk_run::{self, RunResult};
use crate::app::text_field::TextField;
use crate::app::{App, Command, Overlay};
use crate::libvirt::jobs::delete::DeleteJob;
use crate::libvirt::jobs::Job;
use crate::libvirt::snapshots::DomainSnapshots;
use crate::model::bulk::{expand_existing, pattern_of};
use crate::model::inventory::HostId;
use crate::model::storage::render::{delete_lines, PlanLine};
use crate::model::storage::{plan_delete, DeleteMode, DeletePlan};

/// The mode every VM's delete uses: the CLI's default, the one that loses no snapshot's data.
pub const MODE: DeleteMode = DeleteMode::This;
const MAX_NAME: usize = 512;

#[derive(Debug, Clone, PartialEq)]
pub struct BulkDeleteDialog {
    pub vms: Vec<BulkVm>,
    /// The snapshot name to delete from each; `{domain}` stands for each VM's name.
    pub name: TextField,
    /// The row whose plan is shown in full.
    pub selected: usize,
    /// Which of `names()` Tab filled in last.
    pub suggestion: Option<usize>,
    pub error: Option<String>,
}

/// What happens to one VM.
#[derive(Debug, Clone, PartialEq)]
pub enum DeleteRow {
    Reading,
    /// Not planned: why (its host, a job on it, its facts).
    Refused(String),
    /// It has no snapshot of that name (the name, as the pattern gave it).
    Absent(String),
    /// The plan; refused when `plan.refusal` is set.
    Planned(Box<DeletePlan>),
}

impl DeleteRow {
    pub fn refused(&self) -> bool {
        match self {
            Self::Refused(_) => true,
            Self::Planned(p) => p.refusal.is_some(),
            _ => false,
        }
    }

    /// The plan in words (the delete dialog's, the CLI's).
    pub fn lines(&self) -> Vec<PlanLine> {
        use crate::model::storage::render::Tone;
        let one = |tone, text: String| vec![PlanLine { tone, text }];
        match self {
            Self::Reading => one(Tone::Plain, "reading its snapshots...".into()),
            Self::Refused(why) => one(Tone::Refused, format!("Not possible: {why}")),
            Self::Absent(name) => one(
                Tone::Plain,
                format!("has no snapshot named '{name}': nothing to do"),
            ),
            Self::Planned(plan) => delete_lines(plan),
        }
    }
}

impl BulkDeleteDialog {
    /// The name one VM's snapshot has, from what was typed.
    pub fn name_for(&self, domain: &str) -> Result<String, String> {
        expand_existing(self.name.value(), domain)
    }

    pub fn row(&self, vm: &BulkVm) -> DeleteRow {
        if let Some(why) = &vm.refusal {
            return DeleteRow::Refused(why.clone());
        }
        match &vm.facts {
            VmFacts::Reading => DeleteRow::Reading,
            VmFacts::NotRead => DeleteRow::Refused("not read".into()),
            VmFacts::Failed(why) => {
                DeleteRow::Refused(format!("its snapshots could not be read: {why}"))
            }
            VmFacts::Read { layout, .. } => {
                let name = match self.name_for(&vm.domain) {
                    Ok(n) => n,
                    Err(why) => return DeleteRow::Refused(format!("snapshot name: {why}")),
                };
                if layout.snapshot(&name).is_none() {
                    DeleteRow::Absent(name)
                } else {
                    DeleteRow::Planned(Box::new(plan_delete(layout, &name, MODE)))
                }
            }
        }
    }

    pub fn rows(&self) -> Vec<DeleteRow> {
        self.vms.iter().map(|vm| self.row(vm)).collect()
    }

    /// The snapshot names the marked VMs hold, and the `{domain}...` patterns their names
    /// read back as, most widely held first (then by name), with how many VMs hold each: what
    /// Tab offers.
    pub fn names(&self) -> Vec<(String, usize)> {
        let mut counts: std::collections::BTreeMap<String, usize> = Default::default();
        for vm in &self.vms {
            let Some(layout) = vm.layout() else { continue };
            let mut held: std::collections::BTreeSet<String> = Default::default();
            for s in &layout.snapshots {
                held.insert(s.name.clone());
                held.extend(pattern_of(&s.name, &vm.domain));
            }
            for name in held {
                *counts.entry(name).or_default() += 1;
            }
        }
        let mut names: Vec<(String, usize)> = counts
            .into_iter()
            .map(|(n, c)| (n.to_string(), c))
            .collect();
        names.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        names
    }

    /// "2 delete, 1 refused, 1 nothing to do".
    pub fn tally(&self) -> String {
        let rows = self.rows();
        let n = |f: &dyn Fn(&DeleteRow) -> bool| rows.iter().filter(|r| f(r)).count();
        let go = n(&|r| matches!(r, DeleteRow::Planned(p) if p.refusal.is_none()));
        let refused = n(&|r| r.refused());
        let absent = n(&|r| matches!(r, DeleteRow::Absent(_)));
        let waiting = n(&|r| matches!(r, DeleteRow::Reading));
        let mut parts = Vec::new();
        for (count, words) in [
            (go, "delete"),
            (refused, "refused"),
            (absent, "nothing to do"),
            (waiting, "reading"),
        ] {
            if count > 0 {
                parts.push(format!("{count} {words}"));
            }
        }
        format!("{} VMs: {}", self.vms.len(), parts.join(", "))
    }

    /// Tab / Shift-Tab: the next (previous) name the marked VMs hold.
    fn suggest(&mut self, forward: bool) {
        let names = self.names();
        if names.is_empty() {
            self.error = Some("the marked VMs have no snapshots (or are still being read)".into());
            return;
        }
        let n = names.len();
        let next = match self.suggestion {
            None if forward => 0,
            None => n - 1,
            Some(i) if forward => (i + 1) % n,
            Some(i) => (i + n - 1) % n,
        };
        self.suggestion = Some(next);
        self.name = TextField::new(names[next].0.clone(), MAX_NAME);
    }
}

/// `d` on the list with marks: the dialog (the name is asked in it), and the facts requests.
pub fn open(app: &mut App) -> Vec<Command> {
    let (vms, load) = marked_vms(app);
    app.overlay = Some(Overlay::BulkDelete(Box::new(BulkDeleteDialog {
        vms,
        name: TextField::new("", MAX_NAME),
        selected: 0,
        suggestion: None,
        error: None,
    })));
    load
}

/// The worker read one VM's snapshots.
pub fn on_loaded(
    app: &mut App,
    host: HostId,
    domain: &str,
    result: &Result<DomainSnapshots, String>,
) {
    if let Some(Overlay::BulkDelete(d)) = app.overlay.as_mut() {
        fill(&app.hosts, &mut d.vms, host, domain, result);
    }
}

pub fn on_key(app: &mut App, key: KeyEvent) -> Vec<Command> {
    let Some(Overlay::BulkDelete(d)) = app.overlay.as_mut() else {
        return Vec::new();
    };
    d.error = None;
    match key.code {
        KeyCode::Esc => {
            app.overlay = None;
            app.status = Some("nothing was deleted".into());
        }
        KeyCode::Tab => d.suggest(true),
        KeyCode::BackTab => d.suggest(false),
        KeyCode::Enter => return submit(app),
        code if move_selection(&mut d.selected, d.vms.len(), code) => {}
        _ => {
            if d.name.on_key(key) {
                d.suggestion = None;
            }
        }
    }
    Vec::new()
}

/// Enter: a delete job for every VM whose plan stands.
fn submit(app: &mut App) -> Vec<Command> {
    let Some(Overlay::BulkDelete(d)) = app.overlay.as_mut() else {
        return Vec::new();
    };
    let name = d.name.value().to_string();
    if name.is_empty() {
        d.error = Some("type the snapshot's name (Tab offers the names the VMs hold)".into());
        return Vec::new();
    }
    let waiting = reading(&d.vms);
    if waiting > 0 {
        d.error = Some(format!(
            "still reading {waiting} VM{}: Enter again in a moment",
            if waiting == 1 { "" } else { "s" }
        ));
        return Vec::new();
    }
    let several = app.hosts.several();
    let label = |vm: &BulkVm| vm.label(several.then_some(&app.hosts));
    let mut jobs = Vec::new();
    let mut skipped = Vec::new();
    for (vm, row) in d.vms.iter().zip(d.rows()) {
        match row {
            DeleteRow::Planned(plan) if plan.refusal.is_none() => jobs.push((
                vm.host,
                label(vm),
                Job::DeleteSnapshot(DeleteJob {
                    domain: vm.domain.clone(),
                    snapshot: plan.snapshot.clone(),
                    mode: MODE,
                }),
            )),
            DeleteRow::Planned(plan) => {
                let why = plan.refusal.as_ref().map_or(String::new(), |r| r.text());
                skipped.push((label(vm), RunResult::Refused(why)));
            }
            DeleteRow::Refused(why) => skipped.push((label(vm), RunResult::Refused(why))),
            DeleteRow::Absent(name) => skipped.push((
                label(vm),
                RunResult::Skipped(format!("has no snapshot named '{name}'")),
            )),
            DeleteRow::Reading => {}
        }
    }
    if jobs.is_empty() {
        d.error = Some(format!(
            "nothing to delete: no marked VM has a '{name}' it can lose (each row says why)"
        ));
        return Vec::new();
    }
    let title = format!(
        "Delete '{name}' from {} VM{}",
        jobs.len(),
        if jobs.len() == 1 { "" } else { "s" }
    );
    app.overlay = None;
    let started = jobs.len();
    let commands = bulk_run::start(app, title, jobs, skipped);
    app.status = Some(format!(
        "started {started} delete job{}",
        if started == 1 { "" } else { "s" }
    ));
    commands
}
