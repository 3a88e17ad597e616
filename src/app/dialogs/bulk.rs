//! What the bulk dialogs (`s` and `d` with marked rows) share: one row per marked VM, on its
//! own host, with the storage facts its host's worker read for it. The facts are asked for
//! with `Command::LoadSnapshots` when the dialog opens and arrive as `Event::Snapshots`, as
//! for the single create dialog: the UI never waits on libvirt, a row says "reading" until
//! its answer is in.

use crate::app::{App, Command};
use crate::libvirt::snapshots::DomainSnapshots;
use crate::model::bulk::verdict_for;
use crate::model::inventory::HostId;
use crate::model::storage::Layout;
use crate::model::Verdict;

/// One marked VM in a bulk dialog.
#[derive(Debug, Clone, PartialEq)]
pub struct BulkVm {
    pub host: HostId,
    pub domain: String,
    pub facts: VmFacts,
    /// Why nothing may be changed on it now (its host is not connected or read-only, a job
    /// runs on it): the row is refused with these words.
    pub refusal: Option<String>,
}

/// What the VM's host said about its storage.
#[derive(Debug, Clone, PartialEq)]
pub enum VmFacts {
    /// Not asked for: the row is refused before anything is read.
    NotRead,
    Reading,
    /// The storage model and the memory rule's verdict, as the CLI's bulk commands read them.
    Read {
        layout: Box<Layout>,
        verdict: Box<Verdict>,
    },
    /// The read failed: why.
    Failed(String),
}

impl BulkVm {
    pub fn layout(&self) -> Option<&Layout> {
        match &self.facts {
            VmFacts::Read { layout, .. } => Some(layout),
            _ => None,
        }
    }

    /// `web` on one host, `web (hv02)` when marks span several.
    pub fn label(&self, app_hosts: Option<&crate::app::Hosts>) -> String {
        match app_hosts.filter(|h| h.several()) {
            Some(h) => format!("{} ({})", self.domain, h.name(self.host)),
            None => self.domain.clone(),
        }
    }
}

/// The marked rows, in host then name order, each judged on its own host; and the commands
/// that ask each readable one's host for its facts.
pub fn marked_vms(app: &App) -> (Vec<BulkVm>, Vec<Command>) {
    let mut vms = Vec::with_capacity(app.list.marked.len());
    let mut load = Vec::new();
    for (host, domain) in &app.list.marked {
        let refusal = app
            .hosts
            .mutation_refused(*host)
            .or_else(|| {
                app.jobs
                    .is_busy(*host, domain)
                    .then(|| "a job is still running on it".to_string())
            })
            .or_else(|| {
                app.list
                    .row(*host, domain)
                    .is_none()
                    .then(|| "it is not in the list any more".to_string())
            });
        // A VM that cannot be changed needs no facts; its host may not even answer.
        let facts = if refusal.is_some() {
            VmFacts::NotRead
        } else {
            load.push(Command::LoadSnapshots {
                host: *host,
                domain: domain.clone(),
            });
            VmFacts::Reading
        };
        vms.push(BulkVm {
            host: *host,
            domain: domain.clone(),
            facts,
            refusal,
        });
    }
    (vms, load)
}

/// The worker's answer for one VM: fills the rows of that VM (same host, same name).
pub fn fill(
    app_hosts: &crate::app::Hosts,
    vms: &mut [BulkVm],
    host: HostId,
    domain: &str,
    result: &Result<DomainSnapshots, String>,
) {
    let caps = app_hosts.info(host).map(|h| &h.capabilities);
    for vm in vms
        .iter_mut()
        .filter(|v| v.host == host && v.domain == domain && v.refusal.is_none())
    {
        vm.facts = match result {
            Ok(data) => match data.storage.as_deref() {
                Some(facts) => {
                    let layout = Layout::new(facts);
                    let verdict = verdict_for(&layout, caps);
                    VmFacts::Read {
                        layout: Box::new(layout),
                        verdict: Box::new(verdict),
                    }
                }
                None => VmFacts::Failed("its storage could not be read".into()),
            },
            Err(e) => VmFacts::Failed(e.clone()),
        };
    }
}

/// How many rows are still waiting for their host's answer.
pub fn reading(vms: &[BulkVm]) -> usize {
    vms.iter().filter(|v| v.facts == VmFacts::Reading).count()
}

/// Up/Down/PgUp/PgDn/Home/End move the row whose details are shown.
pub fn move_selection(selected: &mut usize, len: usize, key: crossterm::event::KeyCode) -> bool {
    use crossterm::event::KeyCode;
    let last = len.saturating_sub(1);
    *selected = match key {
        KeyCode::Down => (*selected + 1).min(last),
        KeyCode::Up => selected.saturating_sub(1),
        KeyCode::PageDown => (*selected + 5).min(last),
        KeyCode::PageUp => selected.saturating_sub(5),
        _ => return false,
    };
    true
}
