//! Changing a snapshot's description in place: REDEFINE with the snapshot's own XML, only the
//! description changed (written with quick-xml, so any text is stored verbatim).

use virt::sys::{
    VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT, VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE,
    VIR_DOMAIN_SNAPSHOT_XML_SECURE,
};

use super::JobContext;
use crate::libvirt::{inventory, snapshots};
use crate::model::snapshot::redefine_with_description;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribeJob {
    pub domain: String,
    pub snapshot: String,
    /// The new description; empty removes it.
    pub description: String,
}

pub fn run(ctx: &JobContext, job: &DescribeJob) -> Result<String, String> {
    let failed = |why: String| {
        format!(
            "changing the description of '{}' of {} failed: {why}",
            job.snapshot, job.domain
        )
    };
    let dom = inventory::lookup(ctx.conn, &job.domain).map_err(|e| e.to_string())?;
    let snap = snapshots::lookup(&dom, &job.domain, &job.snapshot).map_err(|e| e.to_string())?;
    ctx.step(format!("rewriting the description of {}", job.snapshot));
    // Read fresh, not from the view: the definition may have changed since it was shown.
    // SECURE keeps passwords in the saved domain definition, which REDEFINE writes back.
    let xml = snap
        .xml_desc(VIR_DOMAIN_SNAPSHOT_XML_SECURE)
        .map_err(|e| failed(e.message().to_string()))?;
    let redefined =
        redefine_with_description(&xml, &job.description).map_err(|e| failed(e.to_string()))?;
    let mut flags = VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE;
    // Redefining the current snapshot without CURRENT would leave the VM with none.
    if snap.is_current(0).unwrap_or(false) {
        flags |= VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT;
    }
    dom.create_snapshot_xml(&redefined, flags)
        .map_err(|e| failed(e.message().to_string()))?;
    Ok(if job.description.is_empty() {
        format!("removed the description of '{}'", job.snapshot)
    } else {
        format!("changed the description of '{}'", job.snapshot)
    })
}
