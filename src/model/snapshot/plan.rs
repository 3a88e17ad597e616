//! A planned snapshot creation: what will be created and how. Planned by
//! `model::storage::plan_create` against the domain's storage model.

use std::path::PathBuf;

use serde::Serialize;

use super::parse::SnapshotLocation;
use super::request::CreateRequest;

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
    /// Why this kind: "follows the tree: ...", "external: ...".
    pub kind_reason: String,
    /// Set when the snapshot is of another kind than the domain's tree uses: the risk, for a
    /// confirmation the caller must get before creating it.
    pub mixes: Option<String>,
    /// Things the admin should know (e.g. libvirt cannot revert this snapshot later).
    pub warnings: Vec<String>,
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
    #[error("{0}")]
    NotPossible(String),
    #[error("{0} already exists; choose another snapshot name")]
    FileExists(String),
}
