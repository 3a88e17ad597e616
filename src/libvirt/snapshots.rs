//! Reading a domain's snapshots, and creating one from a planned request.

use std::path::Path;

use virt::connect::Connect;
use virt::domain::Domain;
use virt::domain_snapshot::DomainSnapshot;

use super::error::VirtError;
use super::inventory;
use crate::model::snapshot::{SnapshotInfo, SnapshotPlan};

/// Everything the snapshot view shows for one domain, read in one go.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DomainSnapshots {
    pub domain: String,
    pub snapshots: Vec<SnapshotInfo>,
    pub current: Option<String>,
    /// Sizes of the overlay and memory files the snapshots name, where this process can stat
    /// them (only on a local connection: a remote host's paths mean nothing here).
    pub file_sizes: Vec<(String, u64)>,
    /// Snapshots whose XML could not be read: (name, why). They are left out of the tree.
    pub unreadable: Vec<(String, String)>,
    /// The storage facts read with them, for the revert, delete and create plans; None when
    /// only the listing was read (`snapshot list`).
    pub storage: Option<Box<crate::model::storage::StorageFacts>>,
    /// The space each snapshot holds (`model::space`), for the tree's SIZE column; empty when
    /// the storage facts were not read.
    pub space: Vec<crate::model::space::SnapshotSpace>,
}

impl DomainSnapshots {
    /// The space snapshot `name` holds, when it was measured.
    pub fn space_of(&self, name: &str) -> Option<&crate::model::space::SnapshotSpace> {
        self.space.iter().find(|s| s.name == name)
    }

    pub fn file_size(&self, path: &str) -> Option<u64> {
        self.file_sizes
            .iter()
            .find(|(p, _)| p == path)
            .map(|(_, s)| *s)
    }
}

/// Lists a domain's snapshots with their XML and the current one.
pub fn load(conn: &Connect, domain: &str) -> Result<DomainSnapshots, VirtError> {
    let dom = inventory::lookup(conn, domain)?;
    let handles = dom
        .list_all_snapshots(0)
        .map_err(|e| VirtError::call(format!("listing the snapshots of '{domain}'"), &e))?;
    let mut out = DomainSnapshots {
        domain: domain.to_string(),
        ..Default::default()
    };
    for snap in handles {
        let name = snap.name().unwrap_or_default();
        // A snapshot deleted between the listing and this call is simply gone.
        match snap.xml_desc(0) {
            Ok(xml) => match SnapshotInfo::from_xml(&xml) {
                Ok(info) => out.snapshots.push(info),
                Err(e) => out.unreadable.push((name, e.to_string())),
            },
            Err(e) => tracing::info!("snapshot {name} of {domain}: {}", e.message()),
        }
    }
    out.current = current_name(&dom);
    if is_local(conn) {
        out.file_sizes = file_sizes(&out.snapshots);
    }
    Ok(out)
}

/// The current snapshot's name; "no current snapshot" is an error code, not an empty answer.
pub fn current_name(dom: &Domain) -> Option<String> {
    dom.current_snapshot(0).ok().and_then(|s| s.name().ok())
}

/// Finds a snapshot by name, with an error that names both.
pub fn lookup(dom: &Domain, domain: &str, name: &str) -> Result<DomainSnapshot, VirtError> {
    Domain::lookup_snapshot_by_name(dom, name, 0)
        .map_err(|e| VirtError::call(format!("finding snapshot '{name}' of '{domain}'"), &e))
}

/// Creates the snapshot a [`SnapshotPlan`] describes (the request XML and flags as planned).
pub fn create_from_plan(dom: &Domain, plan: &SnapshotPlan) -> Result<DomainSnapshot, String> {
    let xml = plan
        .request
        .to_xml()
        .map_err(|e| format!("cannot write the snapshot request: {e}"))?;
    dom.create_snapshot_xml(&xml, plan.flags)
        .map_err(|e| e.message().to_string())
}

/// Whether paths libvirt reports are paths on this machine.
fn is_local(conn: &Connect) -> bool {
    conn.uri().is_ok_and(|u| super::storage::uri_is_local(&u))
}

fn file_sizes(snapshots: &[SnapshotInfo]) -> Vec<(String, u64)> {
    let mut sizes = Vec::new();
    let files = snapshots
        .iter()
        .flat_map(|s| s.disks.iter().filter_map(|d| d.source.as_deref()))
        .chain(snapshots.iter().filter_map(|s| s.memory_file.as_deref()));
    for file in files {
        if sizes.iter().any(|(p, _): &(String, u64)| p == file) {
            continue;
        }
        if let Ok(meta) = std::fs::metadata(Path::new(file)) {
            if meta.is_file() {
                sizes.push((file.to_string(), meta.len()));
            }
        }
    }
    sizes
}
