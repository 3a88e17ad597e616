//! Choosing how to create a snapshot so that libvirt accepts it (see LIBVIRT-NOTES.md,
//! "Snapshot semantics").

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use serde::Serialize;
use virt::sys::{
    VIR_DOMAIN_SNAPSHOT_CREATE_ATOMIC, VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY,
    VIR_DOMAIN_SNAPSHOT_CREATE_LIVE, VIR_DOMAIN_SNAPSHOT_CREATE_QUIESCE,
};

use super::name::MAX_FILE_NAME_BYTES;
use super::parse::{DiskSnapshotMode, SnapshotLocation};
use super::request::{CreateRequest, DiskChoice, MemoryChoice};
use crate::model::domain::{Disk, DiskDevice, DiskType, DomainConfig, DomainState};

/// What will be created, and how: the request XML, the flags and the files it makes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SnapshotPlan {
    pub location: SnapshotLocation,
    /// Whether memory state is captured.
    pub memory: bool,
    /// The request; its `description` is left for the caller to fill in.
    pub request: CreateRequest,
    /// `VIR_DOMAIN_SNAPSHOT_CREATE_*` flags.
    pub flags: u32,
    /// External overlay files the snapshot will create, one per captured disk.
    pub overlay_files: Vec<PathBuf>,
    pub memory_file: Option<PathBuf>,
    /// One line an admin reads before pressing Enter.
    pub summary: String,
}

/// Why no snapshot can be planned; `Display` says what to do instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("memory state cannot be saved: {0}; take a disk-only snapshot instead")]
    MemoryNotPossible(String),
    #[error("the VM is shut off, so there is no memory state; the snapshot captures its disks")]
    MemoryNeedsRunningVm,
    #[error("quiescing file systems applies to disk-only snapshots; leave memory state out")]
    QuiesceNeedsDiskOnly,
    #[error(
        "quiescing needs a running guest; a paused or shut-off one cannot freeze its file systems"
    )]
    QuiesceNeedsRunningVm,
    #[error("quiescing needs a connected qemu-guest-agent in the VM")]
    QuiesceNeedsAgent,
    #[error("{target} cannot get an external overlay: {reason}")]
    NoOverlayPath { target: String, reason: String },
    #[error("file name '{file}' would be {bytes} bytes, the limit is 255; choose a shorter snapshot name")]
    FileNameTooLong { file: String, bytes: usize },
    #[error("the VM has no writable disk to snapshot")]
    NothingToCapture,
    #[error("cannot snapshot a VM that is {0}; wait until it is running or shut off")]
    UnsupportedState(&'static str),
}

/// Picks internal or external, the disks' modes, the files and the flags for a new snapshot.
///
/// `memory_internal_possible` / `memory_external_possible` come from the caller's knowledge of
/// the host (memory-state rule, libvirt version); disk formats and firmware are checked here.
#[allow(clippy::too_many_arguments)]
pub fn plan_create(
    domain: &DomainConfig,
    state: DomainState,
    with_memory: bool,
    quiesce: bool,
    memory_internal_possible: bool,
    memory_external_possible: bool,
    name: &str,
    memory_dir: &Path,
) -> Result<SnapshotPlan, PlanError> {
    let live = match state {
        DomainState::Running
        | DomainState::Blocked
        | DomainState::Shutdown
        | DomainState::Paused => true,
        DomainState::Shutoff => false,
        other => return Err(PlanError::UnsupportedState(other.label())),
    };
    if quiesce {
        if with_memory {
            return Err(PlanError::QuiesceNeedsDiskOnly);
        }
        if !live || state == DomainState::Paused {
            return Err(PlanError::QuiesceNeedsRunningVm);
        }
        if !domain.guest_agent.is_some_and(|a| a.connected) {
            return Err(PlanError::QuiesceNeedsAgent);
        }
    }
    if with_memory && !live {
        return Err(PlanError::MemoryNeedsRunningVm);
    }
    let writable: Vec<&Disk> = domain.disks.iter().filter(|d| d.is_writable()).collect();
    let not_internal = internal_blocker(domain, &writable);
    let plan = Planner { domain, name };

    if with_memory {
        let internal_ok = memory_internal_possible && not_internal.is_none();
        if internal_ok {
            return Ok(plan.internal(true));
        }
        if memory_external_possible {
            let file = memory_dir.join(plan.memory_file_name()?);
            // LIVE keeps the guest running while memory is written; a paused one stays paused.
            let mut flags = VIR_DOMAIN_SNAPSHOT_CREATE_ATOMIC;
            if state != DomainState::Paused {
                flags |= VIR_DOMAIN_SNAPSHOT_CREATE_LIVE;
            }
            return plan.external(Some(file), flags, None);
        }
        let internal_reason = if memory_internal_possible {
            not_internal.unwrap_or_default()
        } else {
            "this host cannot keep it inside the disk images".to_owned()
        };
        return Err(PlanError::MemoryNotPossible(format!(
            "{internal_reason}, and external memory snapshots are not supported here"
        )));
    }
    if writable.is_empty() {
        return Err(PlanError::NothingToCapture);
    }
    let mut flags = VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY | VIR_DOMAIN_SNAPSHOT_CREATE_ATOMIC;
    if live {
        if quiesce {
            flags |= VIR_DOMAIN_SNAPSHOT_CREATE_QUIESCE;
        }
        return plan.external(None, flags, None);
    }
    match not_internal {
        None => Ok(plan.internal(false)),
        Some(reason) => plan.external(None, flags, Some(reason)),
    }
}

/// Why the disks cannot hold an internal snapshot, or None when they can.
fn internal_blocker(domain: &DomainConfig, writable: &[&Disk]) -> Option<String> {
    if writable.is_empty() {
        return Some("there is no qcow2 disk to hold it".to_owned());
    }
    let not_qcow2: Vec<String> = writable
        .iter()
        .filter(|d| d.format.as_deref() != Some("qcow2"))
        .map(|d| format!("{} is {}", d.target, d.format.as_deref().unwrap_or("raw")))
        .collect();
    if !not_qcow2.is_empty() {
        return Some(format!("{}, not qcow2", not_qcow2.join(", ")));
    }
    let raw_nvram = domain
        .firmware
        .as_ref()
        .is_some_and(|f| f.pflash && f.nvram_format.as_deref() != Some("qcow2"));
    if raw_nvram {
        return Some("UEFI firmware keeps its NVRAM in a raw file".to_owned());
    }
    None
}

struct Planner<'a> {
    domain: &'a DomainConfig,
    name: &'a str,
}

impl Planner<'_> {
    fn request(&self, memory: MemoryChoice, disks: Vec<DiskChoice>) -> CreateRequest {
        CreateRequest {
            name: self.name.to_owned(),
            description: None,
            memory,
            disks,
        }
    }

    fn internal(&self, memory: bool) -> SnapshotPlan {
        let mut stored_in = Vec::new();
        let disks = self
            .domain
            .disks
            .iter()
            .map(|d| {
                let mode = if d.is_writable() {
                    stored_in.push(d.target.as_str());
                    DiskSnapshotMode::Internal
                } else {
                    DiskSnapshotMode::No
                };
                choice(d, mode, None)
            })
            .collect();
        let inside = match stored_in.as_slice() {
            [one] => format!("{one}'s qcow2"),
            many => format!("the qcow2 images of {}", many.join(", ")),
        };
        let what = if memory {
            "internal snapshot with memory state"
        } else {
            "internal snapshot of the shut-off VM's disks"
        };
        let summary = format!("{what}, stored inside {inside}{}", self.skipped());
        SnapshotPlan {
            location: SnapshotLocation::Internal,
            memory,
            request: self.request(
                if memory {
                    MemoryChoice::Internal
                } else {
                    MemoryChoice::None
                },
                disks,
            ),
            flags: 0,
            overlay_files: Vec::new(),
            memory_file: None,
            summary,
        }
    }

    fn external(
        &self,
        memory_file: Option<PathBuf>,
        flags: u32,
        why: Option<String>,
    ) -> Result<SnapshotPlan, PlanError> {
        let mut overlays = Vec::new();
        let mut parts = Vec::new();
        if let Some(file) = &memory_file {
            parts.push(format!("memory -> {}", file.display()));
        }
        let mut disks = Vec::with_capacity(self.domain.disks.len());
        for d in &self.domain.disks {
            if !d.is_writable() {
                disks.push(choice(d, DiskSnapshotMode::No, None));
                continue;
            }
            let overlay = self.overlay_path(d)?;
            parts.push(format!("{} -> {}", d.target, overlay.display()));
            disks.push(choice(d, DiskSnapshotMode::External, Some(overlay.clone())));
            overlays.push(overlay);
        }
        let what = match (&memory_file, why) {
            (Some(_), _) => "external snapshot with memory state".to_owned(),
            (None, None) => "external disk-only snapshot".to_owned(),
            (None, Some(why)) => format!("external disk-only snapshot ({why})"),
        };
        let summary = format!(
            "{what}: {}; {}{}",
            parts.join(", "),
            flag_names(flags),
            self.skipped()
        );
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
            summary,
        })
    }

    /// `<disk source>.<snapshot name>`, libvirt's own default, for file-backed disks only.
    fn overlay_path(&self, disk: &Disk) -> Result<PathBuf, PlanError> {
        let refuse = |reason: &str| PlanError::NoOverlayPath {
            target: disk.target.clone(),
            reason: reason.to_owned(),
        };
        if disk.disk_type != DiskType::File {
            return Err(refuse(
                "it is not a file (block device or network storage), and virtsnap only puts overlays next to files",
            ));
        }
        let Some(source) = disk.source.as_deref().filter(|s| !s.is_empty()) else {
            return Err(refuse("it has no source file"));
        };
        let base = source.rsplit('/').next().unwrap_or(source);
        check_file_name(&[base, ".", self.name])?;
        let mut path = OsString::from(source);
        path.push(".");
        path.push(self.name);
        Ok(PathBuf::from(path))
    }

    fn memory_file_name(&self) -> Result<String, PlanError> {
        check_file_name(&[&self.domain.name, ".", self.name, ".mem"])?;
        Ok([self.domain.name.as_str(), ".", self.name, ".mem"].concat())
    }

    /// "; sda not captured (cdrom)" for each disk left out, or "".
    fn skipped(&self) -> String {
        self.domain
            .disks
            .iter()
            .filter(|d| !d.is_writable())
            .map(|d| format!("; {} not captured ({})", d.target, skip_reason(d)))
            .collect()
    }
}

fn check_file_name(parts: &[&str]) -> Result<(), PlanError> {
    let bytes: usize = parts.iter().map(|p| p.len()).sum();
    if bytes > MAX_FILE_NAME_BYTES {
        return Err(PlanError::FileNameTooLong {
            file: parts.concat(),
            bytes,
        });
    }
    Ok(())
}

fn choice(disk: &Disk, mode: DiskSnapshotMode, file: Option<PathBuf>) -> DiskChoice {
    DiskChoice {
        target: disk.target.clone(),
        mode,
        file,
    }
}

fn skip_reason(disk: &Disk) -> &'static str {
    match disk.device {
        DiskDevice::Cdrom => "cdrom",
        DiskDevice::Floppy => "floppy",
        _ if disk.readonly => "read-only",
        _ => "snapshot='no' in its definition",
    }
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
