//! Planning a new snapshot against the storage model: which kind (one kind per disk: a new
//! snapshot follows the kind the domain's tree already uses), which files, which flags.
//!
//! Default kind for a domain without snapshots: external, the way virt-manager 5 and
//! cockpit-machines choose it, where libvirt can revert and delete external snapshots: libvirt
//! 9.9 or newer and every disk of the definition a plain file (libvirt 11.3 refuses to revert an
//! external snapshot whose saved definition has any other disk type: "source disk for 'vda'
//! is not a regular file, reverting to snapshot is not supported", measured for pool volumes
//! and block devices). Internal otherwise. External also pauses the guest less during a
//! memory snapshot (GUEST-NOTES: 0.76 s of 3.24 s with LIVE, against 1.72 s internal).

use std::path::{Path, PathBuf};

use virt::sys::{
    VIR_DOMAIN_SNAPSHOT_CREATE_ATOMIC, VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY,
    VIR_DOMAIN_SNAPSHOT_CREATE_LIVE, VIR_DOMAIN_SNAPSHOT_CREATE_QUIESCE,
};

use super::layout::{DiskNow, Layout, SnapDisk, SnapStore};
use super::Refusal;
use crate::model::snapshot::{
    CreateRequest, DiskChoice, DiskSnapshotMode, MemoryChoice, MemoryMode, PlanError,
    SnapshotLocation, SnapshotPlan, SnapshotState, MAX_FILE_NAME_BYTES,
};
use crate::model::{DiskDevice, DiskType, DomainState};

/// libvirt 9.9 reverts and deletes external snapshots (with memory), which is when
/// virt-manager and cockpit switched to them (capability `<externalSnapshot/>`).
pub const EXTERNAL_REVERT_SINCE: u64 = 9_009_000;
/// libvirt 10.9 takes internal snapshots of VMs with pflash firmware (qcow2 NVRAM only).
const PFLASH_INTERNAL_SINCE: u64 = 10_009_000;

/// What the host and the memory rule allow, decided by the caller from the eligibility
/// verdict (`model::eligibility`), which this module does not repeat.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CreateAbility {
    /// An internal memory snapshot passes the memory rule.
    pub memory_internal: bool,
    /// An external memory snapshot passes the memory rule.
    pub memory_external: bool,
}

/// What the user asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateIntent {
    pub name: String,
    pub memory: bool,
    pub quiesce: bool,
    /// Use this kind even if the tree uses the other (the admin confirmed the mix).
    pub location: Option<SnapshotLocation>,
}

/// The kind a new snapshot of this domain takes by default, and why.
pub fn preferred_location(layout: &Layout) -> (SnapshotLocation, String) {
    if layout.test_driver {
        return (
            SnapshotLocation::Internal,
            "internal: libvirt's test driver takes no other kind".into(),
        );
    }
    if let Some(kind) = tree_location(layout) {
        let from = layout
            .current()
            .map(|c| format!("the current snapshot '{}' is {}", c.name, kind.as_str()))
            .unwrap_or_else(|| format!("the domain's snapshots are {}", kind.as_str()));
        return (kind, format!("follows the tree: {from}"));
    }
    match external_unrevertable(layout) {
        None => (
            SnapshotLocation::External,
            "external: libvirt can revert and delete it, and the guest pauses less".into(),
        ),
        Some(why) => (SnapshotLocation::Internal, format!("internal: {why}")),
    }
}

/// The kind the tree uses: the current snapshot's, else the newest snapshot's.
pub fn tree_location(layout: &Layout) -> Option<SnapshotLocation> {
    layout
        .current()
        .or_else(|| layout.snapshots.iter().max_by_key(|s| s.created))
        .map(|s| s.location)
}

/// Why libvirt could not revert an external snapshot taken now, or None.
pub fn external_unrevertable(layout: &Layout) -> Option<String> {
    if layout.libvirt_version < EXTERNAL_REVERT_SINCE {
        return Some(format!(
            "libvirt {} cannot revert external snapshots (9.9 can)",
            crate::model::inventory::version_string(layout.libvirt_version)
        ));
    }
    // qemuSnapshotRevertValidate: every disk of the saved definition must be type='file'.
    layout
        .disks
        .iter()
        .find(|d| d.disk_type != DiskType::File && (d.top.is_some() || d.writable))
        .map(|d| {
            format!(
                "libvirt 11 reverts external snapshots only when every disk is a plain file, and {} is {}",
                d.target,
                disk_kind_words(d)
            )
        })
}

fn disk_kind_words(d: &DiskNow) -> &'static str {
    match d.disk_type {
        DiskType::Volume => "a storage pool volume",
        DiskType::Block => "a block device",
        DiskType::Network => "network storage",
        DiskType::File => "a file",
        _ => "not a file",
    }
}

/// Plans a new snapshot: the kind the tree uses (or the default), else the other kind with
/// `mixes` saying the risk (the caller must get a confirmation), else why not.
pub fn plan_create(
    layout: &Layout,
    intent: &CreateIntent,
    ability: &CreateAbility,
) -> Result<SnapshotPlan, PlanError> {
    let state = layout.state;
    let live = match state {
        DomainState::Running
        | DomainState::Blocked
        | DomainState::Shutdown
        | DomainState::Paused => true,
        DomainState::Shutoff | DomainState::Crashed => false,
        other => return Err(PlanError::UnsupportedState(other.label())),
    };
    if intent.quiesce {
        if intent.memory {
            return Err(PlanError::QuiesceNeedsDiskOnly);
        }
        if !live || state == DomainState::Paused {
            return Err(PlanError::QuiesceNeedsRunningVm);
        }
        if !layout.config.guest_agent.is_some_and(|a| a.connected) {
            return Err(PlanError::QuiesceNeedsAgent);
        }
    }
    if intent.memory && !live {
        return Err(PlanError::MemoryNeedsRunningVm);
    }
    if intent.memory {
        if let Some(r) = Refusal::disks_inactive(layout, "save the memory state") {
            return Err(PlanError::NotPossible(format!(
                "{}. A disk-only snapshot works: the guest has not run since that memory \
                 snapshot, which holds the memory state it has now. Or {}",
                r.reason, r.ways_out[0].text
            )));
        }
    }
    if let Some(why) = transient_disk_refusal(layout) {
        return Err(PlanError::NotPossible(why));
    }
    let (preferred, why) = match intent.location {
        Some(l) => (l, "chosen".to_string()),
        None => preferred_location(layout),
    };
    let planner = Planner {
        layout,
        intent,
        ability,
        live,
    };
    let first = planner.plan(preferred);
    let mut plan = match first {
        Ok(p) => p,
        // A name that makes a file name too long or taken is the name's problem: say so
        // rather than quietly taking the other kind.
        Err(e @ (PlanError::FileNameTooLong { .. } | PlanError::FileExists(_))) => return Err(e),
        Err(first_err) => {
            let other = match preferred {
                SnapshotLocation::Internal => SnapshotLocation::External,
                SnapshotLocation::External => SnapshotLocation::Internal,
            };
            if intent.location.is_some() {
                return Err(first_err);
            }
            let mut p = planner
                .plan(other)
                .map_err(|second| both_failed(intent, preferred, first_err.clone(), second))?;
            if let Some(tree) = tree_location(layout).filter(|t| *t != other) {
                p.mixes = Some(mixing_risk(layout, tree, other, &first_err));
            }
            p
        }
    };
    plan.kind_reason = why;
    if plan.location == SnapshotLocation::External {
        if let Some(why) = external_unrevertable(layout) {
            plan.warnings
                .push(format!("this snapshot cannot be reverted later: {why}"));
        }
    }
    Ok(plan)
}

/// The error to report when neither kind can be planned: nothing to capture wins; for a
/// memory snapshot both reasons; else the internal one (it names the disk that rules it out).
fn both_failed(
    intent: &CreateIntent,
    first_kind: SnapshotLocation,
    first: PlanError,
    second: PlanError,
) -> PlanError {
    let (internal, external) = match first_kind {
        SnapshotLocation::Internal => (first, second),
        SnapshotLocation::External => (second, first),
    };
    if matches!(external, PlanError::NothingToCapture) {
        return PlanError::NothingToCapture;
    }
    if intent.memory {
        let why = |e: &PlanError| match e {
            PlanError::MemoryNotPossible(w) | PlanError::NotPossible(w) => w
                .trim_start_matches("an internal snapshot is not possible: ")
                .to_string(),
            other => other.to_string(),
        };
        return PlanError::MemoryNotPossible(format!(
            "internal: {}; external: {}",
            why(&internal),
            why(&external)
        ));
    }
    match (&internal, &external) {
        (
            _,
            PlanError::NoOverlayPath { .. }
            | PlanError::FileNameTooLong { .. }
            | PlanError::FileExists(_),
        ) => external,
        _ => internal,
    }
}

/// What mixing kinds on one disk risks, in words for the confirmation.
fn mixing_risk(
    layout: &Layout,
    tree: SnapshotLocation,
    new: SnapshotLocation,
    why_not_tree: &PlanError,
) -> String {
    let names: Vec<&str> = layout
        .snapshots
        .iter()
        .filter(|s| s.location == tree)
        .map(|s| s.name.as_str())
        .take(4)
        .collect();
    let list = names.join(", ");
    match new {
        SnapshotLocation::External => format!(
            "The domain's snapshots are internal ({list}), and an internal one is not possible \
             now ({why_not_tree}). An external snapshot puts an overlay on the image that holds \
             them: while it exists, reverting to an internal snapshot would rewrite the image it \
             is built on, so virtsnap will refuse those reverts until it is deleted."
        ),
        SnapshotLocation::Internal => format!(
            "The domain's snapshots are external ({list}), and an external one is not possible \
             now ({why_not_tree}). An internal snapshot is stored inside an overlay: reverting \
             to it later rewrites that overlay in place, which virtsnap refuses while external \
             snapshots are built on it."
        ),
    }
}

/// libvirt 11.3 takes no snapshot of a running VM with a `<transient/>` disk (measured:
/// internal "migration with transient disk is not supported", external "block jobs are not
/// supported on transient disk 'vda'").
fn transient_disk_refusal(layout: &Layout) -> Option<String> {
    if !layout.active() {
        return None;
    }
    layout.config.disks.iter().find(|d| d.transient).map(|d| {
        format!(
            "disk {} is transient (<transient/>): libvirt cannot snapshot it while the VM runs; \
                 shut the VM down first",
            d.target
        )
    })
}

struct Planner<'a> {
    layout: &'a Layout,
    intent: &'a CreateIntent,
    ability: &'a CreateAbility,
    live: bool,
}

impl Planner<'_> {
    fn writable(&self) -> Vec<&DiskNow> {
        self.layout
            .disks
            .iter()
            .filter(|d| d.writable && d.top.is_some())
            .collect()
    }

    fn plan(&self, location: SnapshotLocation) -> Result<SnapshotPlan, PlanError> {
        match location {
            SnapshotLocation::Internal => self.internal(),
            SnapshotLocation::External => self.external(),
        }
    }

    fn internal(&self) -> Result<SnapshotPlan, PlanError> {
        if let Some(why) = self.internal_blocker() {
            return Err(PlanError::NotPossible(format!(
                "an internal snapshot is not possible: {why}"
            )));
        }
        if self.live && !self.intent.memory {
            return Err(PlanError::NotPossible(
                "an internal snapshot of a running VM must include the memory state (libvirt)"
                    .into(),
            ));
        }
        if self.intent.memory && !self.ability.memory_internal {
            return Err(PlanError::MemoryNotPossible(
                "an internal memory snapshot is not possible for this VM".into(),
            ));
        }
        let mut stored_in = Vec::new();
        let disks = self
            .layout
            .disks
            .iter()
            .map(|d| {
                let captured = d.writable && d.top.is_some();
                if captured {
                    stored_in.push(d.target.as_str());
                }
                DiskChoice {
                    target: d.target.clone(),
                    mode: if captured {
                        DiskSnapshotMode::Internal
                    } else {
                        DiskSnapshotMode::No
                    },
                    file: None,
                }
            })
            .collect();
        let inside = match stored_in.as_slice() {
            _ if self.layout.test_driver => "libvirt's test driver (metadata only)".to_string(),
            [one] => format!("{one}'s qcow2"),
            many => format!("the qcow2 images of {}", many.join(", ")),
        };
        let what = if self.intent.memory {
            "internal snapshot with memory state"
        } else {
            "internal snapshot of the shut-off VM's disks"
        };
        Ok(SnapshotPlan {
            location: SnapshotLocation::Internal,
            memory: self.intent.memory,
            request: self.request(
                if self.intent.memory {
                    MemoryChoice::Internal
                } else {
                    MemoryChoice::None
                },
                disks,
            ),
            flags: 0,
            overlay_files: Vec::new(),
            memory_file: None,
            summary: format!("{what}, stored inside {inside}{}", self.skipped()),
            kind_reason: String::new(),
            mixes: None,
            warnings: Vec::new(),
        })
    }

    /// Why the disks cannot hold an internal snapshot now, or None.
    fn internal_blocker(&self) -> Option<String> {
        if self.layout.test_driver {
            // Metadata only: no image is written, so no disk, format or file matters
            // (measured: the test driver takes a memory snapshot of a domain without disks).
            return None;
        }
        let writable = self.writable();
        if writable.is_empty() {
            return Some("there is no writable disk to hold it".into());
        }
        // libvirt: "internal and full system snapshots require all disks to be selected".
        if let Some(d) = self.layout.config.disks.iter().find(|d| {
            !d.readonly
                && matches!(d.device, DiskDevice::Disk | DiskDevice::Lun)
                && d.snapshot.as_deref().is_some_and(|s| s != "internal")
                && d.source.is_some()
        }) {
            return Some(format!(
                "{} is set to snapshot='{}' and internal snapshots need every disk",
                d.target,
                d.snapshot.as_deref().unwrap_or_default()
            ));
        }
        let not_qcow2: Vec<String> = writable
            .iter()
            .filter(|d| d.format.as_deref() != Some("qcow2"))
            .map(|d| format!("{} is {}", d.target, d.format.as_deref().unwrap_or("raw")))
            .collect();
        if !not_qcow2.is_empty() {
            return Some(format!("{}, not qcow2", not_qcow2.join(", ")));
        }
        if let Some(d) = writable.iter().find(|d| {
            d.top
                .as_deref()
                .is_some_and(|t| self.layout.has_data_file(t))
        }) {
            return Some(format!(
                "{}'s qcow2 keeps its data in an external data file, where QEMU cannot keep \
                 internal snapshots",
                d.target
            ));
        }
        if let Some(d) = self
            .layout
            .config
            .disks
            .iter()
            .find(|d| d.is_writable() && d.data_store.is_some())
        {
            return Some(format!(
                "{}'s qcow2 keeps its data in an external data file (<dataStore>), where QEMU \
                 cannot keep internal snapshots",
                d.target
            ));
        }
        let firmware = self.layout.config.firmware.as_ref().filter(|f| f.pflash);
        if let Some(f) = firmware {
            if f.nvram_format.as_deref() != Some("qcow2") {
                return Some("UEFI firmware keeps its NVRAM in a raw file".into());
            }
            if self.live && self.layout.libvirt_version < PFLASH_INTERNAL_SINCE {
                return Some("UEFI firmware rules it out before libvirt 10.9".into());
            }
        }
        None
    }

    fn external(&self) -> Result<SnapshotPlan, PlanError> {
        if self.layout.test_driver {
            return Err(PlanError::NotPossible(
                "libvirt's test driver takes internal snapshots only (it refuses disk-only and \
                 external ones)"
                    .into(),
            ));
        }
        let writable = self.writable();
        if self.intent.memory && !self.ability.memory_external {
            return Err(PlanError::MemoryNotPossible(
                "an external memory snapshot is not possible for this VM".into(),
            ));
        }
        if writable.is_empty() && !(self.intent.memory && self.live) {
            return Err(PlanError::NothingToCapture);
        }
        let memory_file = if self.intent.memory {
            let dir = memory_dir(self.layout);
            let name = [self.layout.domain.as_str(), ".", &self.intent.name, ".mem"].concat();
            check_file_name(&name)?;
            let file = dir.join(name);
            self.check_free(&file.to_string_lossy())?;
            Some(file)
        } else {
            None
        };
        let mut overlays = Vec::new();
        let mut parts = Vec::new();
        if let Some(file) = &memory_file {
            parts.push(format!("memory -> {}", file.display()));
        }
        let mut disks = Vec::with_capacity(self.layout.disks.len());
        for d in &self.layout.disks {
            if !(d.writable && d.top.is_some()) {
                disks.push(DiskChoice {
                    target: d.target.clone(),
                    mode: DiskSnapshotMode::No,
                    file: None,
                });
                continue;
            }
            // Two disks whose images differ only in their suffix (web.qcow2, web.img) would get
            // the same overlay name: the second is told apart by its target.
            let mut overlay = self.overlay_path(d, false)?;
            if overlays.contains(&overlay) || memory_file.as_ref() == Some(&overlay) {
                overlay = self.overlay_path(d, true)?;
            }
            parts.push(format!("{} -> {}", d.target, overlay.display()));
            disks.push(DiskChoice {
                target: d.target.clone(),
                mode: DiskSnapshotMode::External,
                file: Some(overlay.clone()),
            });
            overlays.push(overlay);
        }
        let mut flags = VIR_DOMAIN_SNAPSHOT_CREATE_ATOMIC;
        if memory_file.is_some() {
            // LIVE keeps the guest running while memory is written; a paused one stays paused.
            if self.layout.state != DomainState::Paused {
                flags |= VIR_DOMAIN_SNAPSHOT_CREATE_LIVE;
            }
        } else {
            flags |= VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY;
            if self.intent.quiesce {
                flags |= VIR_DOMAIN_SNAPSHOT_CREATE_QUIESCE;
            }
        }
        let what = if memory_file.is_some() {
            "external snapshot with memory state"
        } else {
            "external disk-only snapshot"
        };
        let memory = match &memory_file {
            Some(file) => MemoryChoice::External { file: file.clone() },
            None => MemoryChoice::None,
        };
        Ok(SnapshotPlan {
            location: SnapshotLocation::External,
            memory: memory_file.is_some(),
            request: self.request(memory, disks),
            flags,
            overlay_files: overlays,
            memory_file,
            summary: format!(
                "{what}: {}; {}{}",
                parts.join(", "),
                flag_names(flags),
                self.skipped()
            ),
            kind_reason: String::new(),
            mixes: None,
            warnings: Vec::new(),
        })
    }

    /// The overlay for one disk, named the way libvirt names its own (the top image's file
    /// name without its last suffix, then `.` and the snapshot name: `web.qcow2` ->
    /// `web.snap1`, then `web.snap2`), so names do not grow with each generation. Block
    /// devices and pool volumes get a file: libvirt accepts a file overlay for them.
    fn overlay_path(&self, disk: &DiskNow, with_target: bool) -> Result<PathBuf, PlanError> {
        let refuse = |reason: String| PlanError::NoOverlayPath {
            target: disk.target.clone(),
            reason,
        };
        if disk.device == DiskDevice::Lun {
            return Err(refuse(
                "it is a SCSI passthrough LUN: libvirt cannot take an external snapshot of it"
                    .into(),
            ));
        }
        let top = disk
            .top
            .as_deref()
            .ok_or_else(|| refuse("it has no source".into()))?;
        let (dir, stem) = match disk.disk_type {
            DiskType::File | DiskType::Volume => {
                let (dir, file) = top.rsplit_once('/').unwrap_or((".", top));
                let stem = match file.rsplit_once('.') {
                    Some((stem, _)) if !stem.is_empty() => stem,
                    _ => file,
                };
                (PathBuf::from(dir), stem.to_string())
            }
            // A file next to the VM's other images; never a file in /dev.
            DiskType::Block => (
                memory_dir(self.layout),
                format!("{}-{}", self.layout.domain, disk.target),
            ),
            other => {
                return Err(refuse(format!(
                    "it is {}: libvirt cannot take an external snapshot of it",
                    match other {
                        DiskType::Network => "network storage",
                        DiskType::Nvme => "an NVMe disk",
                        DiskType::Vhostuser => "a vhost-user disk",
                        DiskType::Vhostvdpa => "a vhost-vdpa disk",
                        DiskType::Dir => "a directory-backed disk",
                        _ => "a disk of an unknown type",
                    }
                )))
            }
        };
        let name = if with_target {
            format!("{stem}-{}.{}", disk.target, self.intent.name)
        } else {
            format!("{stem}.{}", self.intent.name)
        };
        check_file_name(&name)?;
        let path = dir.join(&name);
        let as_str = path.to_string_lossy().to_string();
        let known = self
            .layout
            .disks
            .iter()
            .filter_map(|d| d.top.clone())
            .any(|t| self.layout.chain(&t).contains(&as_str))
            || self.layout.snapshots.iter().any(|s| {
                s.memory_file.as_deref() == Some(&as_str)
                    || s.disks.iter().any(|d| {
                        [&d.image, &d.overlay, &d.revert_overlay]
                            .into_iter()
                            .flatten()
                            .any(|p| p == &as_str)
                    })
            });
        if known {
            return Err(PlanError::FileExists(as_str));
        }
        self.check_free(&as_str)?;
        Ok(path)
    }

    /// A file the snapshot would create must not exist already (local hosts; the job checks
    /// again just before creating).
    fn check_free(&self, path: &str) -> Result<(), PlanError> {
        if self.layout.local && self.layout.file_exists(path) {
            return Err(PlanError::FileExists(path.to_string()));
        }
        Ok(())
    }

    fn request(&self, memory: MemoryChoice, disks: Vec<DiskChoice>) -> CreateRequest {
        CreateRequest {
            name: self.intent.name.clone(),
            description: None,
            memory,
            disks,
        }
    }

    /// "; sda not captured (cdrom)" for each disk left out, or "".
    fn skipped(&self) -> String {
        self.layout
            .disks
            .iter()
            .filter(|d| !(d.writable && d.top.is_some()))
            .map(|d| {
                let why = match d.device {
                    DiskDevice::Cdrom => "cdrom",
                    DiskDevice::Floppy => "floppy",
                    _ if d.top.is_none() => "empty",
                    _ if d.readonly => "read-only",
                    _ => "snapshot='no' in its definition",
                };
                format!("; {} not captured ({why})", d.target)
            })
            .collect()
    }
}

/// Memory files (and overlays of block devices) go next to the first writable file disk,
/// where the admin keeps this VM's images; else libvirt's default image directory.
pub fn memory_dir(layout: &Layout) -> PathBuf {
    layout
        .disks
        .iter()
        .filter(|d| d.writable && matches!(d.disk_type, DiskType::File | DiskType::Volume))
        .find_map(|d| d.top.as_deref())
        .and_then(|s| Path::new(s).parent().map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("/var/lib/libvirt/images"))
}

fn check_file_name(name: &str) -> Result<(), PlanError> {
    if name.len() > MAX_FILE_NAME_BYTES {
        return Err(PlanError::FileNameTooLong {
            file: name.to_string(),
            bytes: name.len(),
        });
    }
    Ok(())
}

/// Flags worth an admin's attention (DISK_ONLY is already said in words).
fn flag_names(flags: u32) -> String {
    let names = [
        (VIR_DOMAIN_SNAPSHOT_CREATE_LIVE, "LIVE"),
        (VIR_DOMAIN_SNAPSHOT_CREATE_ATOMIC, "ATOMIC"),
        (VIR_DOMAIN_SNAPSHOT_CREATE_QUIESCE, "QUIESCE"),
    ];
    names
        .iter()
        .filter(|(bit, _)| flags & bit != 0)
        .map(|(_, name)| *name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The storage model's view of a snapshot this plan creates, for planning what comes after
/// it (the safety snapshot of a revert).
pub fn created_snapshot(layout: &Layout, plan: &SnapshotPlan) -> SnapStore {
    let disks = plan
        .request
        .disks
        .iter()
        .filter(|c| c.mode != DiskSnapshotMode::No)
        .map(|c| SnapDisk {
            target: c.target.clone(),
            mode: c.mode,
            image: layout.disk(&c.target).and_then(|d| d.top.clone()),
            overlay: c.file.as_ref().map(|f| f.to_string_lossy().to_string()),
            revert_overlay: None,
        })
        .collect();
    SnapStore {
        name: plan.request.name.clone(),
        parent: layout.current.clone(),
        location: plan.location,
        state: if plan.memory {
            if layout.state == DomainState::Paused {
                SnapshotState::Paused
            } else {
                SnapshotState::Running
            }
        } else if layout.active() {
            SnapshotState::DiskSnapshot
        } else {
            SnapshotState::Shutoff
        },
        memory: match (&plan.memory_file, plan.memory) {
            (Some(_), _) => MemoryMode::External,
            (None, true) => MemoryMode::Internal,
            (None, false) => MemoryMode::No,
        },
        memory_file: plan
            .memory_file
            .as_ref()
            .map(|f| f.to_string_lossy().to_string()),
        created: layout.now,
        disks,
        saved: None,
        saved_config: Some(Box::new(layout.config.clone())),
    }
}

/// Why a create is not carried out as asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreateDenied {
    /// virtsnap will not (the memory rule, the name, the disks); the text says why.
    Refused(String),
    /// Possible only as the other kind than the tree uses: the risk, and the kind to confirm.
    NeedsConfirmation {
        risk: String,
        location: SnapshotLocation,
    },
}

impl CreateDenied {
    pub fn text(&self) -> String {
        match self {
            Self::Refused(t) => t.clone(),
            Self::NeedsConfirmation { risk, location } => format!(
                "{risk} To create it anyway, confirm the kind ({} snapshot).",
                location.as_str()
            ),
        }
    }
}

/// The one create decision: the memory rule's verdict, the name, the storage plan and the
/// confirmation a mix of kinds needs. `check`, the dialog and the job all call this.
pub fn decide_create(
    layout: &Layout,
    verdict: &crate::model::Verdict,
    intent: &CreateIntent,
) -> Result<SnapshotPlan, CreateDenied> {
    use CreateDenied::Refused;
    let m = &verdict.memory;
    if intent.memory && !m.applicable {
        return Err(Refused(format!(
            "{} is {}: there is no memory state to capture; leave memory out and the snapshot captures its disks",
            layout.domain,
            layout.state.label()
        )));
    }
    if intent.memory && !m.allowed {
        return Err(Refused(m.explanation().unwrap_or_else(|| {
            let why: Vec<&str> = m.blockers.iter().map(|b| b.message.as_str()).collect();
            format!(
                "Memory state of {} cannot be captured: {}",
                layout.domain,
                why.join("; ")
            )
        })));
    }
    if intent.quiesce && !verdict.disk_only.quiesce {
        let why = verdict
            .disk_only
            .quiesce_reason
            .clone()
            .unwrap_or_else(|| "no guest agent is connected".into());
        return Err(Refused(format!(
            "cannot quiesce {}'s file systems: {why}",
            layout.domain
        )));
    }
    let existing: Vec<&str> = layout.snapshots.iter().map(|s| s.name.as_str()).collect();
    let in_images = layout.image_snapshot_names();
    let in_images: Vec<(&str, &str)> = in_images
        .iter()
        .map(|(i, n)| (i.as_str(), n.as_str()))
        .collect();
    crate::model::snapshot::validate_name(&intent.name, &existing, &in_images)
        .map_err(|e| Refused(format!("snapshot name: {e}")))?;
    let ability = CreateAbility {
        memory_internal: m.internal,
        memory_external: m.external,
    };
    let plan = plan_create(layout, intent, &ability).map_err(|e| Refused(e.to_string()))?;
    if let (Some(risk), None) = (&plan.mixes, intent.location) {
        return Err(CreateDenied::NeedsConfirmation {
            risk: risk.clone(),
            location: plan.location,
        });
    }
    if layout.managed_save && plan.location == SnapshotLocation::External {
        return Err(Refused(format!(
            "{} has a managed-save image: libvirt would resume it at the next start on the disks \
             it saved, under the new overlay, and write into this snapshot's data. Start the VM \
             first (it resumes), or discard the managed-save image, then take the snapshot",
            layout.domain
        )));
    }
    Ok(plan)
}
