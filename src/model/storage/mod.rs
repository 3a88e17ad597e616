//! The storage model of a domain's snapshots: where each snapshot's data lives (inside which
//! image, on which backing file, in which memory file), what the VM runs on now, and what a
//! proposed create, revert or delete does to those files and to whose data. Every snapshot
//! operation virtsnap carries out is planned here first; the dialogs, `check`, the CLI's text
//! and `--json`, and the job itself all read the same plan. Pure: the facts come from
//! `libvirt::storage::read_facts`.
//!
//! The libvirt 11.3 / QEMU 10.0 behaviour this encodes was read from their sources
//! (qemu_snapshot.c, snapshot_conf.c, block/qcow2-snapshot.c, migration/savevm.c) and
//! measured on this project's machines; each rule names its source where it is applied.

pub mod create;
mod delete;
mod effects;
pub mod facts;
mod layout;
pub mod render;
mod revert;
pub mod rules;
mod words;

use serde::Serialize;

pub use create::{
    decide_create, external_unrevertable, memory_dir, plan_create, preferred_location,
    tree_location, CreateAbility, CreateDenied, CreateIntent, EXTERNAL_REVERT_SINCE,
};
pub use delete::{plan_delete, DeleteMode, DeletePlan, LeftFile, VmUse, EXTERNAL_DELETE_SINCE};
pub use effects::{short, Commit, Damage, DamageKind, Effects, NewFile, Rewrite};
pub use facts::{ImageFacts, ImageKind, StorageFacts};
pub use layout::{DiskNow, Holder, Layout, SavedDisk, SnapDisk, SnapStore};
pub use revert::{
    plan_revert, prove_name, revert_overlay_name, AfterRevert, AfterState, Lookup, RevertOptions,
    RevertPlan, SafetyPlan,
};
pub use words::definition_changes;

/// Why virtsnap will not do something, and what the admin can do instead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refusal {
    pub reason: String,
    pub ways_out: Vec<WayOut>,
    pub kind: RefusalKind,
}

/// What a refusal protects against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RefusalKind {
    /// libvirt would refuse it (said first, in libvirt's words), or crash on it.
    Libvirt,
    /// It would destroy data a snapshot or the VM needs.
    DataLoss,
    /// No safety snapshot of the current state could survive it.
    NoSafety,
    /// QEMU could take the name for another snapshot.
    WrongSnapshot,
    /// The request itself: nothing to delete, an option that does not apply.
    Input,
    /// No snapshot of that name (the CLI exits 1, as for an unknown domain).
    NotFound,
}

/// One way out of a refusal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WayOut {
    pub text: String,
    /// The CLI flag that takes it, e.g. `--stop-first`.
    pub flag: Option<String>,
}

impl WayOut {
    pub fn text(text: impl Into<String>) -> Self {
        WayOut {
            text: text.into(),
            flag: None,
        }
    }

    pub fn cli(text: impl Into<String>, flag: &str) -> Self {
        WayOut {
            text: text.into(),
            flag: Some(flag.to_string()),
        }
    }
}

impl Refusal {
    /// A refusal of `kind` without ways out.
    pub fn of(kind: RefusalKind, reason: impl Into<String>) -> Self {
        Refusal {
            reason: reason.into(),
            ways_out: Vec::new(),
            kind,
        }
    }

    /// What libvirt would refuse, without ways out.
    pub fn plain(reason: impl Into<String>) -> Self {
        Self::of(RefusalKind::Libvirt, reason)
    }

    /// Why QEMU cannot `what` ("take a memory snapshot") while its disks are inactive after a
    /// memory snapshot of the paused VM ([`facts::StorageFacts::disks_inactive`]), with the way
    /// out that always works: resume the guest. None when the disks are active.
    pub fn disks_inactive(layout: &Layout, what: &str) -> Option<Refusal> {
        layout.disks_inactive.then(|| Refusal {
            kind: RefusalKind::Libvirt,
            reason: format!(
                "QEMU cannot {what} now: a memory snapshot of {} was taken while it was paused, \
                 and QEMU has kept its disks inactive since (its run state is 'postmigrate'; \
                 libvirt still reports 'paused'). They become active again when the guest \
                 resumes",
                layout.domain
            ),
            ways_out: vec![WayOut::text(format!(
                "resume the VM (p in the list, or `virtsnap resume {}`), then pause it again \
                 if it must stay paused",
                layout.domain
            ))],
        })
    }

    /// The reason, then each way out on its own line ("  - ... (--flag)").
    pub fn text(&self) -> String {
        let mut out = self.reason.clone();
        for w in &self.ways_out {
            out.push_str("\n  - ");
            out.push_str(&w.text);
            if let Some(flag) = &w.flag {
                out.push_str(&format!(" ({flag})"));
            }
        }
        out
    }
}

#[cfg(test)]
mod create_tests;
#[cfg(test)]
pub(crate) mod fixture;
#[cfg(test)]
mod render_tests;
#[cfg(test)]
mod tests;
