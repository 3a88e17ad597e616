//! Choosing how to create a snapshot so that libvirt accepts it (see LIBVIRT-NOTES.md,
//! "Snapshot semantics").

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::parse::SnapshotLocation;
use super::request::CreateRequest;
use crate::model::domain::{DomainConfig, DomainState};

/// What will be created, and how: the request XML, the flags and the files it makes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SnapshotPlan {
    pub location: SnapshotLocation,
    /// Whether memory state is captured.
    pub memory: bool,
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
    #[error("memory state cannot be saved: {0}")]
    MemoryNotPossible(String),
    #[error("{0}")]
    Unsupported(String),
}

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
    let _ = (
        domain,
        state,
        with_memory,
        quiesce,
        memory_internal_possible,
        memory_external_possible,
        name,
        memory_dir,
    );
    Err(PlanError::Unsupported("not implemented yet".into()))
}
