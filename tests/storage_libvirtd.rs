//! pool-volume-disk-only (../shared/cases) and the pool-volume row of the storage table on the
//! system libvirtd (the embedded driver has no storage pools): a VM on `<disk type='volume'>`
//! in a dir pool. `check`'s decision and `snapshot create` agree; disk-only works (an overlay
//! next to the volume's file); memory and shut-off snapshots are internal by default and
//! revert; a revert libvirt would refuse (an external snapshot of a volume) is refused up front.
//! Needs root and KVM; prints SKIPPED otherwise. Run:
//! `cargo test --test storage_libvirtd -- --nocapture`.

mod common;

use std::process::Command;
use std::time::Duration;

use common::with_job_context;
use virt::connect::Connect;
use virt::domain::Domain;
use virtsnap::cli::check::plans;
use virtsnap::libvirt::jobs::revert::{self, RevertError, RevertJob};
use virtsnap::libvirt::jobs::snapshot_create::{self, verdict_for, CreateJob};
use virtsnap::libvirt::storage;
use virtsnap::libvirt::vmdef;
use virtsnap::model::snapshot::SnapshotLocation;
use virtsnap::model::storage::{AfterRevert, RefusalKind};
use virtsnap::model::HostCapabilities;

const URI: &str = "qemu:///system";

/// The system libvirtd, started (as CI does) if it does not answer.
fn libvirtd() -> Option<Connect> {
    if let Ok(c) = Connect::open(Some(URI)) {
        return Some(c);
    }
    let _ = Command::new("virtlogd").arg("-d").status();
    let _ = Command::new("libvirtd").arg("-d").status();
    for _ in 0..50 {
        if let Ok(c) = Connect::open(Some(URI)) {
            return Some(c);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    None
}

/// A dir pool with one qcow2 volume and a VM on it; all of it removed on drop.
struct PoolVm {
    conn: Connect,
    pool: String,
    dir: String,
    dom: Domain,
    name: String,
}

impl Drop for PoolVm {
    fn drop(&mut self) {
        let _ = self.dom.destroy();
        let flags = virt::sys::VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA;
        let _ = self.dom.undefine_flags(flags);
        if let Ok(p) = self.conn.lookup_storage_pool_by_name(&self.pool) {
            let _ = p.destroy();
            let _ = p.undefine();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn pool_vm(conn: Connect) -> PoolVm {
    let tag = format!("vts-{}", std::process::id());
    let dir = format!("/var/lib/libvirt/images/{tag}-pool");
    std::fs::create_dir_all(&dir).unwrap();
    let pool_xml = format!(
        "<pool type='dir'><name>{tag}-pool</name><target><path>{dir}</path></target></pool>"
    );
    let pool = conn.define_storage_pool_xml(&pool_xml, 0).unwrap();
    pool.create(0).unwrap();
    let vol = "<volume><name>v1.qcow2</name><capacity unit='MiB'>64</capacity><target><format type='qcow2'/></target></volume>";
    virt::storage_vol::StorageVol::create_xml(&pool, vol, 0).unwrap();
    let xml = format!(
        "<domain type='kvm'><name>{tag}</name><memory unit='MiB'>128</memory><vcpu>1</vcpu>\
         <os><type arch='x86_64' machine='q35'>hvm</type></os>\
         <devices><disk type='volume' device='disk'><driver name='qemu' type='qcow2'/>\
         <source pool='{tag}-pool' volume='v1.qcow2'/><target dev='vda' bus='virtio'/></disk>\
         <controller type='usb' model='none'/><memballoon model='none'/></devices></domain>"
    );
    let dom = conn.define_domain_xml(&xml).unwrap();
    PoolVm {
        conn,
        pool: format!("{tag}-pool"),
        dir,
        dom,
        name: tag,
    }
}

fn create(vm: &PoolVm, name: &str, memory: bool) -> Result<SnapshotLocation, String> {
    let job = CreateJob {
        domain: vm.name.clone(),
        name: name.into(),
        description: None,
        memory,
        quiesce: false,
        location: None,
    };
    with_job_context(&vm.conn, true, |ctx| snapshot_create::create(ctx, &job))
        .0
        .map(|c| c.location)
        .map_err(|e| e.text().to_string())
}

fn revert_to(vm: &PoolVm, target: &str) -> Result<String, RevertError> {
    let job = RevertJob {
        domain: vm.name.clone(),
        snapshot: target.into(),
        after: AfterRevert::Saved,
        safety: None,
        stop_first: false,
        stop_timeout_secs: 2,
    };
    with_job_context(&vm.conn, true, |ctx| revert::run_planned(ctx, &job)).0
}

#[test]
fn a_vm_on_a_pool_volume_snapshots_reverts_and_check_agrees() {
    if !vmdef::kvm_usable() || !vmdef::qemu_available() {
        println!("SKIPPED: /dev/kvm or QEMU is missing");
        return;
    }
    let Some(conn) = libvirtd() else {
        println!("SKIPPED: the system libvirtd does not answer");
        return;
    };
    let vm = pool_vm(conn);
    // Shut off: internal by default (an external one could not be reverted), and it reverts.
    assert_eq!(create(&vm, "off1", false), Ok(SnapshotLocation::Internal));
    revert_to(&vm, "off1").unwrap();
    vm.dom.create().unwrap();
    let host = vm
        .conn
        .capabilities()
        .ok()
        .and_then(|x| HostCapabilities::from_xml(&x).ok());
    let layout = storage::read_layout(&vm.conn, &vm.name).unwrap();
    let verdict = verdict_for(&layout, host.as_ref());
    let predicted = plans(&layout, &verdict);
    // check says what create does: memory internal, disk-only external (a mix: confirmed).
    let mem = predicted.memory.as_ref().unwrap();
    assert!(mem.possible, "{mem:?}");
    assert_eq!(create(&vm, "m1", true), Ok(SnapshotLocation::Internal));
    revert_to(&vm, "m1").unwrap();
    assert!(vm.dom.is_active().unwrap());
    let disk_only = &predicted.disk_only;
    println!("check: disk-only {disk_only:?}");
    // The tree is internal now and a running VM's disk-only snapshot can only be external:
    // check says so (a mix to confirm), and create takes it once confirmed.
    assert!(
        disk_only.possible && disk_only.needs_confirmation,
        "{disk_only:?}"
    );
    let job = CreateJob {
        domain: vm.name.clone(),
        name: "d1".into(),
        description: None,
        memory: false,
        quiesce: false,
        location: disk_only.kind,
    };
    let created = with_job_context(&vm.conn, true, |ctx| snapshot_create::create(ctx, &job))
        .0
        .unwrap_or_else(|e| panic!("{}", e.text()));
    assert_eq!(created.location, SnapshotLocation::External);
    assert!(
        created.files[0].starts_with(&vm.dir),
        "the overlay sits next to the volume: {:?}",
        created.files
    );
    // libvirt cannot revert it (its saved definition has the volume): refused up front, the
    // VM keeps running.
    let err = revert_to(&vm, "d1").unwrap_err();
    let RevertError::Refused(r) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(r.kind, RefusalKind::Libvirt);
    assert!(r.reason.contains("storage pool volume"), "{}", r.reason);
    assert!(vm.dom.is_active().unwrap());
}
