//! Planning a delete: libvirt 11.3's own acceptance rules (qemu_snapshot.c
//! `qemuSnapshotDeleteValidate`, `qemuSnapshotDeleteExternalPrepareData`), what it does to
//! files, and what is left on disk.
//!
//! - Internal: the snapshot is removed from its image (`qemu-img snapshot -d` shut off, QMP
//!   `snapshot-delete` running), by name (first match).
//! - External leaf that is not current: the image holding its data is deleted, but only when
//!   the nearest ancestor covering the disk is external; its own overlay is never touched.
//! - External current leaf, or with one child on the current branch: the overlay above its
//!   data image is block-committed into it and deleted; accepted only when that overlay's
//!   backing file is the snapshot's data image.
//! - Metadata only: libvirt forgets it, no file is touched, nothing is checked.

use serde::Serialize;
use virt::sys::{
    VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN, VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN_ONLY,
    VIR_DOMAIN_SNAPSHOT_DELETE_METADATA_ONLY,
};

use super::effects::{short, Commit, Damage, Effects};
use super::layout::{Holder, Layout, SnapStore};
use super::revert::{prove_name, Lookup};
use super::{Refusal, RefusalKind, WayOut};
use crate::model::snapshot::{DiskSnapshotMode, MemoryMode, SnapshotLocation};

/// libvirt 9.0 deletes external snapshots (merging their overlays).
pub const EXTERNAL_DELETE_SINCE: u64 = 9_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
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

    /// `VIR_DOMAIN_SNAPSHOT_DELETE_*` flags.
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

/// A file a delete leaves on disk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LeftFile {
    pub path: String,
    /// "overlay of vda", "memory state", "data of vda"...
    pub what: String,
    /// The VM reads or writes it now (its disk's top image or below).
    pub in_use: bool,
    /// How the VM uses it, when it does: `in_use` told apart for the words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vm_use: Option<VmUse>,
}

/// How the VM uses a file of its disks' chains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum VmUse {
    /// The top image of a disk of the running VM: it writes there.
    Writes,
    /// The top image of a disk of the shut-off VM: its disk is this file.
    Disk,
    /// Below a top image: the VM reads it through the backing chain.
    Backing,
}

impl VmUse {
    /// How `path` is used by `layout`'s VM once `commits` have run (none: now), or None when
    /// the VM does not use it. A block commit of a disk's top image into its base makes the
    /// base the disk's top image (libvirt repoints the disk to it, `Commit::relinked`).
    pub fn after(layout: &Layout, path: &str, commits: &[Commit]) -> Option<VmUse> {
        let top = layout
            .disks
            .iter()
            .filter_map(|d| d.top.as_deref())
            .any(|t| {
                let t = commits
                    .iter()
                    .find(|c| c.top == t)
                    .map_or(t, |c| c.base.as_str());
                t == path
            });
        if top {
            Some(if layout.active() {
                VmUse::Writes
            } else {
                VmUse::Disk
            })
        } else if layout.current_images().contains(path) {
            Some(VmUse::Backing)
        } else {
            None
        }
    }

    /// "the VM writes to it".
    pub fn words(self) -> &'static str {
        match self {
            VmUse::Writes => "the VM writes to it",
            VmUse::Disk => "it is the VM's disk",
            VmUse::Backing => "the VM reads it as a backing file",
        }
    }
}

/// Everything a delete will do, decided before anything changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeletePlan {
    pub domain: String,
    pub snapshot: String,
    pub mode: DeleteMode,
    pub refusal: Option<Refusal>,
    /// The snapshots that go, parents first.
    pub deleted: Vec<String>,
    pub effects: Effects,
    /// Files of the deleted snapshots that stay on disk.
    pub left_on_disk: Vec<LeftFile>,
    /// What libvirt will refuse afterwards that it accepts now.
    pub follow_up: Vec<String>,
    /// libvirt starts the shut-off VM paused for the merge and stops it again.
    pub starts_vm: bool,
    pub warnings: Vec<String>,
}

impl DeletePlan {
    /// False when it was refused before anything was worked out (no such snapshot): then only
    /// the refusal means anything.
    pub fn worked_out(&self) -> bool {
        !matches!(&self.refusal, Some(r) if r.kind == RefusalKind::NotFound)
    }
}

/// Plans deleting `name` in `mode`.
pub fn plan_delete(layout: &Layout, name: &str, mode: DeleteMode) -> DeletePlan {
    let mut plan = DeletePlan {
        domain: layout.domain.clone(),
        snapshot: name.to_string(),
        mode,
        refusal: None,
        deleted: Vec::new(),
        effects: Effects::default(),
        left_on_disk: Vec::new(),
        follow_up: Vec::new(),
        starts_vm: false,
        warnings: Vec::new(),
    };
    let Some(snap) = layout.snapshot(name) else {
        plan.refusal = Some(Refusal::of(
            RefusalKind::NotFound,
            format!("{} has no snapshot named '{name}'", layout.domain),
        ));
        return plan;
    };
    let descendants = layout.descendants(name);
    let doomed: Vec<&SnapStore> = match mode {
        DeleteMode::This | DeleteMode::MetadataOnly => vec![snap],
        DeleteMode::WithChildren => std::iter::once(snap).chain(descendants.clone()).collect(),
        DeleteMode::ChildrenOnly => descendants.clone(),
    };
    plan.deleted = doomed.iter().map(|s| s.name.clone()).collect();
    if mode == DeleteMode::ChildrenOnly && doomed.is_empty() {
        plan.refusal = Some(Refusal::of(
            RefusalKind::Input,
            format!("'{name}' has no children"),
        ));
        return plan;
    }
    if mode == DeleteMode::MetadataOnly {
        plan.left_on_disk = left_on_disk(layout, &doomed, &Effects::default());
        plan.follow_up = follow_up(layout, snap);
        return plan;
    }
    match delete_effects(layout, snap, mode, &descendants) {
        Ok((effects, starts_vm, warnings)) => {
            plan.effects = effects;
            plan.starts_vm = starts_vm;
            plan.warnings = warnings;
        }
        Err(refusal) => {
            plan.refusal = Some(refusal);
            return plan;
        }
    }
    let spared: Vec<Holder> = doomed
        .iter()
        .map(|s| Holder::Snapshot(s.name.clone()))
        .collect();
    let damage = layout.damage(&plan.effects, &layout.holders(), &spared);
    if !damage.is_empty() {
        plan.refusal = Some(damage_refusal(layout, snap, &damage));
    }
    if !layout.test_driver {
        plan.left_on_disk = left_on_disk(layout, &doomed, &plan.effects);
    }
    plan
}

/// libvirt's checks and the file effects of a delete that is not metadata-only.
fn delete_effects(
    layout: &Layout,
    snap: &SnapStore,
    mode: DeleteMode,
    descendants: &[&SnapStore],
) -> Result<(Effects, bool, Vec<String>), Refusal> {
    let name = &snap.name;
    let mut warnings = Vec::new();
    let libvirt = |msg: String| Refusal::plain(msg);
    if layout.test_driver {
        // libvirt's test driver only drops metadata (testDomainSnapshotDelete): no image is
        // touched, and none of QEMU's rules below apply.
        return Ok((Effects::default(), false, warnings));
    }
    if snap.location == SnapshotLocation::Internal && layout.active() {
        for d in &snap.disks {
            let Some(now) = layout.disk(&d.target) else {
                return Err(libvirt(format!(
                    "libvirt refuses while the VM runs: disk {} of '{name}' is not in the current \
                     definition",
                    d.target
                )));
            };
            if d.mode == DiskSnapshotMode::No && now.top.is_none() && d.image.is_none() {
                continue;
            }
            if now.top != d.image {
                return Err(Refusal {
                    kind: RefusalKind::Libvirt,
                    reason: format!(
                        "libvirt cannot delete the internal snapshot '{name}' while the VM runs: \
                         {} now uses {}, not {} which holds it (libvirt: \"disk image '{}' for \
                         internal snapshot '{name}' is not the same as disk image currently used by VM\")",
                        d.target,
                        now.top.as_deref().map_or("no image", short),
                        d.image.as_deref().map_or("-", short),
                        d.target
                    ),
                    ways_out: vec![
                        WayOut::text("shut the VM down, then delete it"),
                        WayOut::cli("forget it without touching the image", "--metadata-only"),
                    ],
                });
            }
        }
    }
    if matches!(mode, DeleteMode::WithChildren | DeleteMode::ChildrenOnly) {
        let external = descendants
            .iter()
            .filter(|s| s.location == SnapshotLocation::External)
            .count();
        if external > 0 {
            return Err(Refusal {
                kind: RefusalKind::Libvirt,
                reason: format!(
                    "libvirt cannot delete external snapshots together with others ({external} \
                     of the children {} external: \"deletion of external children disk \
                     snapshots not supported\")",
                    if external == 1 { "is" } else { "are" }
                ),
                ways_out: vec![WayOut::text("delete them one at a time, children first")],
            });
        }
    }
    let mut effects = Effects::default();
    // Deleting an internal snapshot of a running VM is a QEMU job on its disks (measured
    // while they were inactive: "Device '...' is writable but does not support snapshots").
    let itself = snap.location == SnapshotLocation::Internal && mode != DeleteMode::ChildrenOnly;
    let internal_children = matches!(mode, DeleteMode::WithChildren | DeleteMode::ChildrenOnly)
        && descendants
            .iter()
            .any(|s| s.location == SnapshotLocation::Internal);
    let internal_doomed = itself || internal_children;
    if internal_doomed && layout.active() {
        if let Some(r) = Refusal::disks_inactive(layout, "delete an internal snapshot") {
            return Err(r);
        }
    }
    if snap.location == SnapshotLocation::Internal {
        let doomed: Vec<&SnapStore> = match mode {
            DeleteMode::This => vec![snap],
            DeleteMode::WithChildren => std::iter::once(snap)
                .chain(descendants.iter().copied())
                .collect(),
            _ => descendants.to_vec(),
        };
        for s in doomed {
            for d in s
                .disks
                .iter()
                .filter(|d| d.mode == DiskSnapshotMode::Internal)
            {
                let Some(image) = &d.image else { continue };
                if layout.local && layout.is_missing(image) {
                    warnings.push(format!(
                        "{image} is gone: libvirt only forgets '{}'",
                        s.name
                    ));
                    continue;
                }
                prove_name(layout, image, &s.name, Lookup::Name).or_else(|r| {
                    if r.reason.contains("holds no internal snapshot") {
                        Ok(())
                    } else {
                        Err(r)
                    }
                })?;
                effects
                    .internal_removed
                    .push((image.clone(), s.name.clone()));
            }
        }
        return Ok((effects, false, warnings));
    }
    // External: this snapshot only, or only its (internal) children. libvirt's validation
    // (`qemuSnapshotDeleteValidate`) checks the snapshot itself in both modes: with
    // CHILDREN_ONLY an external snapshot must still be a proper ancestor of the current one with
    // exactly one child, or libvirt refuses (measured by the random model test, seed
    // 1795987446025478051: CHILDREN_ONLY of an external snapshot on a branch the VM left).
    // Before 9.0 libvirt refused an external snapshot itself, not CHILDREN_ONLY of one.
    if layout.libvirt_version < EXTERNAL_DELETE_SINCE && mode == DeleteMode::This {
        return Err(Refusal {
            kind: RefusalKind::Libvirt,
            reason: format!(
                "deleting external snapshots needs libvirt 9.0 or newer (this host runs {})",
                crate::model::inventory::version_string(layout.libvirt_version)
            ),
            ways_out: vec![WayOut::cli(
                "forget it, keeping its files",
                "--metadata-only",
            )],
        });
    }
    if mode == DeleteMode::WithChildren {
        return Err(libvirt(
            "libvirt cannot delete an external snapshot together with its children; delete them \
             one at a time, children first"
                .into(),
        ));
    }
    let children = layout.children(name);
    let current = layout.current.as_deref();
    let is_current = current == Some(name.as_str());
    let what = if mode == DeleteMode::ChildrenOnly {
        format!("the children of the external snapshot '{name}'")
    } else {
        format!("'{name}'")
    };
    // Each internal child on its own is checked as an internal snapshot, not against this one.
    let one_by_one = |mut r: Refusal| {
        if mode == DeleteMode::ChildrenOnly {
            r.ways_out.insert(
                0,
                WayOut::text("delete each child on its own (\"only this snapshot\")"),
            );
        }
        r
    };
    if !children.is_empty() {
        match current {
            None => {
                return Err(Refusal::plain(format!(
                    "{} has no current snapshot, and libvirt 11.3 crashes (libvirtd segfault) \
                     deleting an external snapshot with children without one",
                    layout.domain
                )))
            }
            Some(_) if is_current => {
                return Err(one_by_one(Refusal {
                    kind: RefusalKind::Libvirt,
                    reason: format!(
                        "libvirt cannot delete {what}: '{name}' is the current snapshot and has \
                         children (\"deletion of active external snapshot that is not a leaf \
                         snapshot is not supported\")"
                    ),
                    ways_out: vec![WayOut::text(
                        "revert to one of its children first, or delete the children first",
                    )],
                }))
            }
            Some(c) if !layout.is_ancestor_or_self(name, c) => {
                return Err(one_by_one(Refusal {
                    kind: RefusalKind::Libvirt,
                    reason: format!(
                        "libvirt cannot delete {what}: '{name}' is an external snapshot with \
                         children that is not on the VM's current branch (\"deletion of non-leaf external \
                         snapshot that is not in active chain is not supported\")"
                    ),
                    ways_out: vec![WayOut::text(
                        "revert into that branch first, or delete its children first",
                    )],
                }))
            }
            _ => {}
        }
        if children.len() > 1 {
            return Err(one_by_one(Refusal {
                kind: RefusalKind::Libvirt,
                reason: format!(
                    "libvirt cannot delete {what}: '{name}' has {} children (\"deletion of external \
                     disk snapshot with multiple children snapshots not supported\")",
                    children.len()
                ),
                ways_out: vec![WayOut::text("delete all but one child first")],
            }));
        }
    }
    if mode == DeleteMode::ChildrenOnly {
        // Only internal children reach here (external ones were refused above); libvirt does
        // not merge anything of the snapshot itself.
        for s in descendants {
            for d in s
                .disks
                .iter()
                .filter(|d| d.mode == DiskSnapshotMode::Internal)
            {
                if let Some(image) = &d.image {
                    effects
                        .internal_removed
                        .push((image.clone(), s.name.clone()));
                }
            }
        }
        return Ok((effects, false, warnings));
    }
    let merge = is_current || !children.is_empty();
    // The merge is a block commit in QEMU while the VM runs (measured while its disks were
    // inactive: "Inactive '...' can't be a backing child of active '...'").
    if merge && layout.active() {
        if let Some(mut r) =
            Refusal::disks_inactive(layout, "merge the snapshot's data (a block commit)")
        {
            r.ways_out
                .push(WayOut::text("shut the VM down, then delete it"));
            return Err(r);
        }
    }
    let mut starts_vm = false;
    for d in snap
        .disks
        .iter()
        .filter(|d| d.mode == DiskSnapshotMode::External)
    {
        let Some(image) = &d.image else {
            return Err(libvirt(format!(
                "libvirt cannot delete '{name}': disk {} is not in its saved definition (\"failed \
                 to find disk in snapshot VM XML\")",
                d.target
            )));
        };
        let parent = nearest_ancestor_covering(layout, name, &d.target);
        if !merge {
            if parent.is_some_and(|p| p.location == SnapshotLocation::External) {
                effects.removed.push(image.clone());
            }
            continue;
        }
        if parent.is_some_and(|p| p.location == SnapshotLocation::Internal) {
            return Err(Refusal {
                kind: RefusalKind::Libvirt,
                reason: format!(
                    "libvirt cannot delete the external snapshot '{name}': its parent '{}' is \
                     internal (\"deleting external snapshot that has internal snapshot as parent \
                     not supported\")",
                    parent.map_or("", |p| p.name.as_str())
                ),
                ways_out: vec![WayOut::cli(
                    "forget it without merging (its files stay)",
                    "--metadata-only",
                )],
            });
        }
        let x = match children.first() {
            Some(child) => child
                .saved
                .as_ref()
                .and_then(|s| s.iter().find(|sd| sd.target == d.target))
                .and_then(|sd| sd.source.clone()),
            None => layout.disk(&d.target).and_then(|n| n.top.clone()),
        };
        let Some(x) = x else {
            return Err(libvirt(format!(
                "libvirt cannot delete '{name}': there is no image above it for {} to merge",
                d.target
            )));
        };
        let top = layout.disk(&d.target).and_then(|n| n.top.clone());
        let chain = top.as_deref().map(|t| layout.chain(t)).unwrap_or_default();
        if !chain.contains(&x) {
            return Err(libvirt(format!(
                "libvirt cannot delete '{name}': {} is not in {}'s current backing chain (\"could \
                 not find base disk source in disk source chain\")",
                short(&x),
                d.target
            )));
        }
        match layout.backing_of(&x) {
            None => {
                return Err(libvirt(format!(
                "libvirt cannot delete '{name}': {} has no backing file to merge into (\"failed \
                     to find parent disk source in backing chain\")",
                short(&x)
            )))
            }
            Some(b) if b != image => {
                return Err(Refusal {
                    kind: RefusalKind::Libvirt,
                    reason: format!(
                    "libvirt cannot delete '{name}': {} would have to be merged into {}, but it \
                         is built on {} (\"snapshot VM disk source and parent disk source are not \
                         the same\"; typically after a metadata-only delete of a later snapshot)",
                    short(&x),
                    short(image),
                    short(b)
                ),
                    ways_out: vec![WayOut::cli(
                        "forget it without merging (its files stay)",
                        "--metadata-only",
                    )],
                })
            }
            Some(_) => {}
        }
        let mut relinked = vec![Holder::Current];
        relinked.extend(
            layout
                .descendants(name)
                .into_iter()
                .map(|s| Holder::Snapshot(s.name.clone())),
        );
        effects.commits.push(Commit {
            top: x.clone(),
            base: image.clone(),
            relinked,
        });
        starts_vm = !layout.active();
    }
    if let (MemoryMode::External, Some(f)) = (snap.memory, &snap.memory_file) {
        effects.removed.push(f.clone());
    }
    Ok((effects, starts_vm, warnings))
}

/// The nearest ancestor whose `<disks>` covers `target` (qemu_snapshot.c
/// `qemuSnapshotFindParentSnapForDisk`).
fn nearest_ancestor_covering<'a>(
    layout: &'a Layout,
    name: &str,
    target: &str,
) -> Option<&'a SnapStore> {
    layout.ancestors(name).into_iter().find(|a| {
        a.disk(target)
            .is_some_and(|d| d.mode != DiskSnapshotMode::No)
    })
}

fn damage_refusal(layout: &Layout, snap: &SnapStore, damage: &[Damage]) -> Refusal {
    let victims: Vec<String> = damage.iter().map(Damage::sentence).collect();
    Refusal {
        kind: RefusalKind::DataLoss,
        reason: format!(
            "deleting '{}' of {} would destroy data that is still needed: {}",
            snap.name,
            layout.domain,
            victims.join("; ")
        ),
        ways_out: vec![WayOut::cli(
            "forget the snapshot without touching any file",
            "--metadata-only",
        )],
    }
}

/// Files of the doomed snapshots that stay on disk after `effects`.
fn left_on_disk(layout: &Layout, doomed: &[&SnapStore], effects: &Effects) -> Vec<LeftFile> {
    let in_use = layout.current_images();
    let gone = |p: &str| {
        effects.removed.iter().any(|r| r == p) || effects.commits.iter().any(|c| c.top == p)
    };
    let mut out: Vec<LeftFile> = Vec::new();
    let mut push = |path: &str, what: String| {
        if gone(path) || out.iter().any(|f| f.path == path) {
            return;
        }
        out.push(LeftFile {
            path: path.to_string(),
            what,
            in_use: in_use.contains(path),
            vm_use: VmUse::after(layout, path, &effects.commits),
        });
    };
    for s in doomed {
        for d in &s.disks {
            if let Some(o) = &d.overlay {
                push(
                    o,
                    format!("overlay of {} written after '{}'", d.target, s.name),
                );
            }
            if let Some(o) = &d.revert_overlay {
                push(
                    o,
                    format!(
                        "overlay of {} from the last revert to '{}'",
                        d.target, s.name
                    ),
                );
            }
            match (d.mode, &d.image) {
                (DiskSnapshotMode::External, Some(i)) => {
                    push(i, format!("{}'s data for {}", s.name, d.target))
                }
                (DiskSnapshotMode::Internal, Some(i))
                    if !effects
                        .internal_removed
                        .iter()
                        .any(|(img, n)| img == i && n == &s.name) =>
                {
                    push(i, format!("holds '{}' inside it (internal)", s.name))
                }
                _ => {}
            }
        }
        if let Some(m) = &s.memory_file {
            push(m, format!("memory state of '{}'", s.name));
        }
    }
    // An image another (surviving) snapshot or the VM still needs is not "left behind".
    out.retain(|f| {
        f.in_use
            || !layout.snapshots.iter().any(|s| {
                !doomed.iter().any(|d| d.name == s.name)
                    && layout
                        .needs(&Holder::Snapshot(s.name.clone()))
                        .iter()
                        .any(|n| match n {
                            super::layout::Need::Content(i) => i == &f.path,
                            super::layout::Need::Internal { image, .. } => image == &f.path,
                        })
            })
    });
    out
}

/// Deletes libvirt will refuse after a metadata-only delete of `snap` that it accepts now.
fn follow_up(layout: &Layout, snap: &SnapStore) -> Vec<String> {
    let after = layout.forgetting(&snap.name);
    let mut out = Vec::new();
    for s in &after.snapshots {
        let before = plan_delete(layout, &s.name, DeleteMode::This);
        let then = plan_delete(&after, &s.name, DeleteMode::This);
        if before.refusal.is_none() {
            if let Some(r) = then.refusal {
                out.push(format!(
                    "deleting '{}' will be refused: {}",
                    s.name, r.reason
                ));
            }
        }
    }
    if after.current.is_none()
        && layout.current.is_some()
        && after
            .snapshots
            .iter()
            .any(|s| s.location == SnapshotLocation::External)
    {
        out.push(
            "the domain will have no current snapshot: virtsnap then reverts to external \
             snapshots only with a safety snapshot (libvirt 11.3 crashes otherwise)"
                .into(),
        );
    }
    out
}

impl Layout {
    /// The layout after libvirt forgets `name` (metadata-only delete,
    /// `qemuSnapshotDiscardMetadata`): children move to its parent, its parent becomes current
    /// if it was, the parent's `<revertDisks>` replace its `<disks>`. No file changes.
    pub fn forgetting(&self, name: &str) -> Layout {
        let mut next = self.clone();
        let Some(gone) = self.snapshot(name).cloned() else {
            return next;
        };
        next.snapshots.retain(|s| s.name != name);
        for s in next.snapshots.iter_mut() {
            if s.parent.as_deref() == Some(name) {
                s.parent = gone.parent.clone();
            }
            if Some(&s.name) == gone.parent.as_ref() {
                for d in s.disks.iter_mut() {
                    if let Some(r) = d.revert_overlay.take() {
                        d.overlay = Some(r);
                    }
                }
            }
        }
        if next.current.as_deref() == Some(name) {
            next.current = gone.parent.clone();
        }
        next
    }
}
