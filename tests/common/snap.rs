//! Snapshot helpers the real-QEMU tests share: create through virtsnap's job (tracking the
//! files it makes), track every file a domain's layout names, and read disks with qemu-io.

use std::process::Command;

use virt::connect::Connect;
use virt::domain::Domain;
use virtsnap::libvirt::jobs::snapshot_create::{self, CreateError, CreateJob, Created};
use virtsnap::libvirt::storage;
use virtsnap::model::snapshot::SnapshotLocation;
use virtsnap::model::storage::Layout;
use virtsnap::model::DomainConfig;

use super::{with_job_context, TestVm};

/// Creates `name` through virtsnap's create job (`kind` None: the kind virtsnap picks), and
/// tracks the files it made so the VM's drop removes them. Questions are answered "no".
pub fn create(
    conn: &Connect,
    vm: &mut TestVm,
    name: &str,
    kind: Option<SnapshotLocation>,
    memory: bool,
) -> Result<Created, CreateError> {
    let job = CreateJob {
        domain: vm.name.clone(),
        name: name.into(),
        description: None,
        memory,
        quiesce: false,
        location: kind,
    };
    let created = with_job_context(conn, false, |ctx| snapshot_create::create(ctx, &job)).0?;
    for f in &created.files {
        vm.track(f.clone());
    }
    Ok(created)
}

/// Tracks every file the domain's disks and snapshots name (not block devices), so the VM's
/// drop removes the overlays a revert or delete made.
pub fn track_layout(conn: &Connect, vm: &mut TestVm) {
    let Ok(facts) = storage::read_facts(conn, &vm.name) else {
        return;
    };
    for f in Layout::new(&facts).named_files() {
        if !f.starts_with("/dev/") {
            vm.track(f.into());
        }
    }
}

/// The source of vda in the definition in effect (live while running, else persistent).
pub fn vda_top(dom: &Domain) -> String {
    let flags = if dom.is_active().unwrap_or(false) {
        0
    } else {
        virt::sys::VIR_DOMAIN_XML_INACTIVE
    };
    let cfg = DomainConfig::from_xml(&dom.xml_desc(flags).unwrap()).unwrap();
    cfg.disks
        .iter()
        .find(|d| d.target == "vda")
        .and_then(|d| d.source.clone())
        .unwrap()
}

/// Runs qemu-io on a qcow2 `file` with `args` before it; stdout and stderr together.
pub fn qemu_io(file: &str, args: &[&str]) -> String {
    let out = Command::new("qemu-io")
        .args(args)
        .args(["-f", "qcow2", file])
        .output()
        .expect("qemu-io runs");
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
