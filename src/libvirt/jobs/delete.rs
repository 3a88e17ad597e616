//! Deleting snapshots: the four choices, the combinations libvirt refuses (said up front), and
//! the words the confirmation uses for what goes and what happens to the files.

use virt::sys::{
    VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN, VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN_ONLY,
    VIR_DOMAIN_SNAPSHOT_DELETE_METADATA_ONLY,
};

use super::JobContext;
use crate::libvirt::{inventory, snapshots};
use crate::model::snapshot::{SnapshotInfo, SnapshotLocation, SnapshotTree};

/// libvirt 9.0 deletes external snapshots (merging their overlays).
pub const EXTERNAL_DELETE_SINCE: u64 = 9_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeleteMode {
    /// This snapshot only: its children stay, its data is merged.
    #[default]
    This,
    WithChildren,
    ChildrenOnly,
    /// libvirt forgets the snapshot; its data and files stay.
    MetadataOnly,
}

impl DeleteMode {
    pub const ALL: [DeleteMode; 4] = [
        Self::This,
        Self::WithChildren,
        Self::ChildrenOnly,
        Self::MetadataOnly,
    ];

    pub fn flags(self) -> u32 {
        match self {
            Self::This => 0,
            Self::WithChildren => VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN,
            Self::ChildrenOnly => VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN_ONLY,
            Self::MetadataOnly => VIR_DOMAIN_SNAPSHOT_DELETE_METADATA_ONLY,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::This => "This snapshot only (children stay, data is merged)",
            Self::WithChildren => "This snapshot and all its children",
            Self::ChildrenOnly => "Only its children",
            Self::MetadataOnly => "Metadata only (libvirt forgets it, files are kept)",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteJob {
    pub domain: String,
    pub snapshot: String,
    pub mode: DeleteMode,
    /// Whether overlays get merged (block commits): said in the progress step.
    pub external: bool,
}

/// The snapshots a choice removes, parents first.
pub fn doomed<'a>(tree: &'a SnapshotTree, name: &str, mode: DeleteMode) -> Vec<&'a SnapshotInfo> {
    let this = tree.get(name).into_iter();
    match mode {
        DeleteMode::This | DeleteMode::MetadataOnly => this.collect(),
        DeleteMode::WithChildren => this.chain(tree.descendants(name)).collect(),
        DeleteMode::ChildrenOnly => tree.descendants(name),
    }
}

/// Why libvirt would refuse this choice, said before anything is tried; None when it is fine.
///
/// `vm_active`: the VM runs (or is paused), so its disks are open where libvirt looks.
pub fn delete_refusal(
    tree: &SnapshotTree,
    name: &str,
    mode: DeleteMode,
    libvirt_version: u64,
    vm_active: bool,
) -> Option<String> {
    let Some(info) = tree.get(name) else {
        return Some(format!("there is no snapshot named '{name}'"));
    };
    let gone = doomed(tree, name, mode);
    if mode == DeleteMode::ChildrenOnly && gone.is_empty() {
        return Some(format!("'{name}' has no children"));
    }
    if mode == DeleteMode::MetadataOnly {
        return None;
    }
    if vm_active {
        if let Some(why) = internal_under_overlay(tree, &gone) {
            return Some(why);
        }
    }
    let external: Vec<&str> = gone
        .iter()
        .filter(|s| s.location == SnapshotLocation::External)
        .map(|s| s.name.as_str())
        .collect();
    if external.is_empty() {
        return None;
    }
    if libvirt_version < EXTERNAL_DELETE_SINCE {
        return Some(format!(
            "deleting external snapshots needs libvirt 9.0 or newer (this host runs {}); \
             'metadata only' is possible",
            crate::model::inventory::version_string(libvirt_version)
        ));
    }
    if matches!(mode, DeleteMode::WithChildren | DeleteMode::ChildrenOnly) {
        return Some(format!(
            "libvirt cannot delete external snapshots together with their children ({} {} \
             external); delete them one at a time, children first",
            external.join(", "),
            if external.len() == 1 { "is" } else { "are" }
        ));
    }
    let parent = info.parent.as_deref().and_then(|p| tree.get(p));
    if parent.is_some_and(|p| p.location == SnapshotLocation::Internal) {
        return Some(format!(
            "libvirt cannot delete the external snapshot '{name}' because its parent '{}' is \
             internal; use 'metadata only', or delete the parent's children first",
            parent.map_or("", |p| p.name.as_str())
        ));
    }
    let has_children = tree.children_count(name) > 0;
    if has_children && !in_active_chain(tree, name) {
        return Some(format!(
            "libvirt cannot delete '{name}': it is an external snapshot with children that is not \
             on the VM's current branch; revert into that branch first, or delete its children"
        ));
    }
    None
}

/// libvirt 11 (measured): a running VM's internal snapshot cannot be deleted once an external
/// snapshot put an overlay on top of the image holding it ("disk image 'vda' for internal
/// snapshot is not the same as disk image currently used by VM").
fn internal_under_overlay(tree: &SnapshotTree, gone: &[&SnapshotInfo]) -> Option<String> {
    let current_chain = chain_of_current(tree);
    gone.iter()
        .filter(|s| s.location == SnapshotLocation::Internal)
        .find(|s| {
            // An external snapshot between this one and the current state means the VM now
            // writes to an overlay, not to the image that holds this snapshot.
            let mut below = false;
            for c in &current_chain {
                if c.name == s.name {
                    return below;
                }
                below |= c.location == SnapshotLocation::External;
            }
            false
        })
        .map(|s| {
            format!(
                "libvirt cannot delete the internal snapshot '{}' while the VM runs: an external \
                 snapshot taken later moved the VM onto an overlay; shut the VM down first, or \
                 use 'metadata only'",
                s.name
            )
        })
}

/// The current snapshot and its ancestors, current first.
fn chain_of_current(tree: &SnapshotTree) -> Vec<&SnapshotInfo> {
    let mut chain = Vec::new();
    let mut at = tree.current();
    while let Some(s) = at {
        if chain.len() > tree.len() {
            break;
        }
        chain.push(s);
        at = s.parent.as_deref().and_then(|p| tree.get(p));
    }
    chain
}

/// The snapshot is the current one or one of its ancestors: its overlays back the live disks.
fn in_active_chain(tree: &SnapshotTree, name: &str) -> bool {
    let mut at = tree.current();
    while let Some(s) = at {
        if s.name == name {
            return true;
        }
        at = s.parent.as_deref().and_then(|p| tree.get(p));
    }
    false
}

/// "Deletes 3 snapshots (a, b, c)." and what happens to the data, for the confirmation.
pub fn delete_summary(tree: &SnapshotTree, name: &str, mode: DeleteMode) -> Vec<String> {
    let gone = doomed(tree, name, mode);
    let names: Vec<&str> = gone.iter().map(|s| s.name.as_str()).collect();
    let shown = if names.len() > 4 {
        format!(
            "{}, ... and {} more",
            names[..3].join(", "),
            names.len() - 3
        )
    } else {
        names.join(", ")
    };
    let count = match gone.len() {
        1 => "1 snapshot".to_string(),
        n => format!("{n} snapshots"),
    };
    let mut lines = vec![format!("Deletes {count}: {shown}.")];
    let external = gone
        .iter()
        .any(|s| s.location == SnapshotLocation::External);
    let internal = gone
        .iter()
        .any(|s| s.location == SnapshotLocation::Internal);
    let children = tree.children_count(name);
    lines.push(match mode {
        DeleteMode::MetadataOnly if external => "Files: overlay and memory files stay on disk \
             untouched; libvirt just stops listing the snapshot."
            .into(),
        DeleteMode::MetadataOnly => "Files: the snapshot's data stays inside the qcow2 images \
             (qemu-img can still see it); libvirt just stops listing it."
            .into(),
        _ if external => "Files: the overlay's data is merged into the neighbouring image \
             (block commit, may take a while) and the snapshot's files are removed."
            .into(),
        DeleteMode::This if children == 1 => "Files: the snapshot's data is removed from the \
             qcow2 images; its child keeps what it needs and moves up to its parent."
            .into(),
        DeleteMode::This if children > 0 => format!(
            "Files: the snapshot's data is removed from the qcow2 images; its {children} \
             children keep what they need and move up to its parent."
        ),
        _ if internal => {
            "Files: the snapshots' data is removed from the qcow2 images (space is freed).".into()
        }
        _ => "Files: none are touched.".into(),
    });
    lines
}

pub fn run(ctx: &JobContext, job: &DeleteJob) -> Result<String, String> {
    let dom = inventory::lookup(ctx.conn, &job.domain).map_err(|e| e.to_string())?;
    let snap = snapshots::lookup(&dom, &job.domain, &job.snapshot).map_err(|e| e.to_string())?;
    let step = match job.mode {
        DeleteMode::MetadataOnly => format!("forgetting {} (metadata only)", job.snapshot),
        _ if job.external => format!(
            "deleting {}: merging its overlays (block commit)",
            job.snapshot
        ),
        DeleteMode::ChildrenOnly => format!("deleting the children of {}", job.snapshot),
        _ => format!("deleting {}", job.snapshot),
    };
    ctx.step(step);
    snap.delete(job.mode.flags()).map_err(|e| {
        format!(
            "deleting '{}' of {} failed: {}",
            job.snapshot,
            job.domain,
            e.message()
        )
    })?;
    Ok(match job.mode {
        DeleteMode::This => format!("deleted snapshot '{}' of {}", job.snapshot, job.domain),
        DeleteMode::WithChildren => format!(
            "deleted snapshot '{}' of {} and its children",
            job.snapshot, job.domain
        ),
        DeleteMode::ChildrenOnly => format!(
            "deleted the children of '{}' of {}",
            job.snapshot, job.domain
        ),
        DeleteMode::MetadataOnly => format!(
            "libvirt forgot snapshot '{}' of {}; its files are kept",
            job.snapshot, job.domain
        ),
    })
}
