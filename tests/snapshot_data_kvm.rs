//! Proof with data, not metadata: byte patterns written into real disks with qemu-io, snapshots
//! taken with the create strategy, reverted and deleted through virtsnap's jobs in the embedded
//! QEMU driver, and the patterns read back.
//! Run: `cargo test --test snapshot_data_kvm -- --nocapture`.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::{embed_conn, make_disk, TestVm};
use virt::connect::Connect;
use virt::domain::Domain;
use virtsnap::cli::snapshot_revert::run_job;
use virtsnap::libvirt::jobs::delete::{self, DeleteJob};
use virtsnap::libvirt::jobs::describe::{self, DescribeJob};
use virtsnap::libvirt::jobs::revert::{self, RevertJob};
use virtsnap::libvirt::jobs::snapshot_create::{self, CreateJob};
use virtsnap::libvirt::snapshots;
use virtsnap::libvirt::vmdef::{DiskFormat, TinyCpu, TinyVm};
use virtsnap::model::domain::DomainConfig;
use virtsnap::model::snapshot::SnapshotLocation;
use virtsnap::model::storage::{AfterRevert, DeleteMode};

fn tiny(name: &str, disk: PathBuf, format: DiskFormat) -> TinyVm {
    TinyVm::new(name, TinyCpu::Default)
        .with_nested_host_workarounds()
        .disk(disk, format)
}

/// The disk's current top image and its format, from the definition (the VM is stopped).
fn top(dom: &Domain) -> (String, String) {
    let xml = dom.xml_desc(virt::sys::VIR_DOMAIN_XML_INACTIVE).unwrap();
    let cfg = DomainConfig::from_xml(&xml).unwrap();
    let disk = cfg.disks.iter().find(|d| d.is_writable()).unwrap();
    (
        disk.source.clone().unwrap(),
        disk.format.clone().unwrap_or_else(|| "raw".into()),
    )
}

fn qemu_io(dom: &Domain, read_only: bool, command: &str) -> String {
    let (file, format) = top(dom);
    let mut cmd = Command::new("qemu-io");
    if read_only {
        cmd.arg("-r");
    }
    let out = cmd
        .args(["-f", &format, "-c", command, &file])
        .output()
        .expect("qemu-io runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // A failed pattern check exits non-zero too: that is an answer, not a tool failure.
    assert!(
        out.status.success() || text.contains("verification failed"),
        "qemu-io {command} {file}: {text}"
    );
    text
}

fn write(dom: &Domain, pattern: u8) {
    let text = qemu_io(dom, false, &format!("write -P {pattern:#04x} 0 64k"));
    assert!(text.contains("wrote 65536/65536"), "{text}");
}

/// Whether the first 64 KiB of the disk as the guest sees it hold `pattern`.
fn holds(dom: &Domain, pattern: u8) -> bool {
    let text = qemu_io(dom, true, &format!("read -P {pattern:#04x} 0 64k"));
    text.contains("read 65536/65536") && !text.contains("verification failed")
}

/// A snapshot as virtsnap creates it: the tree's kind, or `kind` for the first one.
fn snapshot_kind(
    conn: &Connect,
    vm: &mut TestVm,
    name: &str,
    kind: Option<SnapshotLocation>,
    memory: bool,
) -> SnapshotLocation {
    let job = CreateJob {
        domain: vm.name.clone(),
        name: name.into(),
        description: None,
        memory,
        quiesce: false,
        location: kind,
    };
    let created = run_job(conn, |ctx| snapshot_create::create(ctx, &job))
        .unwrap_or_else(|e| panic!("create {name}: {}", e.text()));
    for f in &created.files {
        vm.track(f.clone());
    }
    created.location
}

fn snapshot(conn: &Connect, vm: &mut TestVm, name: &str) -> SnapshotLocation {
    snapshot_kind(conn, vm, name, None, false)
}

fn revert_to(conn: &Connect, vm: &TestVm, name: &str, safety: Option<&str>) -> String {
    let job = RevertJob {
        domain: vm.name.clone(),
        snapshot: name.into(),
        after: AfterRevert::Saved,
        safety: safety.map(str::to_string),
        stop_first: false,
        stop_timeout_secs: 120,
    };
    run_job(conn, |ctx| revert::run(ctx, &job)).unwrap_or_else(|e| panic!("{e}"))
}

fn delete_snapshot(conn: &Connect, vm: &TestVm, name: &str) {
    let job = DeleteJob {
        domain: vm.name.clone(),
        snapshot: name.into(),
        mode: DeleteMode::This,
    };
    run_job(conn, |ctx| delete::run(ctx, &job)).unwrap_or_else(|e| panic!("{e}"));
}

fn stopped_vm(conn: &Connect, base: &str, format: DiskFormat) -> TestVm {
    let disk = make_disk(base, format).unwrap();
    TestVm::define(conn, tiny(base, disk, format)).unwrap()
}

/// Overlays libvirt makes on revert (`<disk>.<unix seconds>`) are deleted with the root.
fn check_simple_revert(format: DiskFormat, want: SnapshotLocation) {
    let Some(conn) = embed_conn() else { return };
    let mut vm = stopped_vm(conn, "data-simple", format);
    write(&vm.dom, 0x11);
    assert_eq!(snapshot_kind(conn, &mut vm, "s1", Some(want), false), want);
    write(&vm.dom, 0x22);
    assert!(holds(&vm.dom, 0x22));
    revert_to(conn, &vm, "s1", None);
    assert!(
        holds(&vm.dom, 0x11),
        "after revert to s1 the disk holds s1's pattern"
    );
    // The check tells patterns apart: what was overwritten is gone.
    assert!(!holds(&vm.dom, 0x22));
}

#[test]
fn internal_snapshot_revert_restores_the_bytes() {
    check_simple_revert(DiskFormat::Qcow2, SnapshotLocation::Internal);
}

#[test]
fn external_snapshot_revert_restores_the_bytes() {
    check_simple_revert(DiskFormat::Raw, SnapshotLocation::External);
}

fn check_chain_of_three(format: DiskFormat, kind: SnapshotLocation) {
    let Some(conn) = embed_conn() else { return };
    let mut vm = stopped_vm(conn, "data-chain", format);
    for (name, pattern) in [("c1", 0x11), ("c2", 0x22), ("c3", 0x33)] {
        write(&vm.dom, pattern);
        // The first sets the kind; the others follow the tree.
        let first = (name == "c1").then_some(kind);
        assert_eq!(snapshot_kind(conn, &mut vm, name, first, false), kind);
    }
    write(&vm.dom, 0x44);
    delete_snapshot(conn, &vm, "c2");
    let data = snapshots::load(conn, &vm.name).unwrap();
    let names: Vec<&str> = data.snapshots.iter().map(|s| s.name.as_str()).collect();
    assert!(!names.contains(&"c2"), "{names:?}");
    let c3 = data.snapshots.iter().find(|s| s.name == "c3").unwrap();
    assert_eq!(c3.parent.as_deref(), Some("c1"), "c3 moved up to c1");
    revert_to(conn, &vm, "c1", None);
    assert!(holds(&vm.dom, 0x11), "c1's pattern after deleting c2");
    revert_to(conn, &vm, "c3", None);
    assert!(holds(&vm.dom, 0x33), "c3's pattern after deleting c2");
    revert_to(conn, &vm, "c1", None);
    assert!(
        holds(&vm.dom, 0x11),
        "c1 again, a second revert within seconds"
    );
}

#[test]
fn chain_of_three_internal_middle_deleted() {
    check_chain_of_three(DiskFormat::Qcow2, SnapshotLocation::Internal);
}

#[test]
fn chain_of_three_external_middle_deleted() {
    check_chain_of_three(DiskFormat::Raw, SnapshotLocation::External);
}

#[test]
fn chain_of_three_external_on_qcow2_by_default() {
    check_chain_of_three(DiskFormat::Qcow2, SnapshotLocation::External);
}

fn check_safety_snapshot(format: DiskFormat, kind: SnapshotLocation) {
    let Some(conn) = embed_conn() else { return };
    let mut vm = stopped_vm(conn, "data-safety", format);
    write(&vm.dom, 0x11);
    snapshot_kind(conn, &mut vm, "before", Some(kind), false);
    write(&vm.dom, 0x22);
    let said = revert_to(conn, &vm, "before", Some("pre-revert-test"));
    assert!(said.contains("safety snapshot 'pre-revert-test'"), "{said}");
    assert!(holds(&vm.dom, 0x11));
    let data = snapshots::load(conn, &vm.name).unwrap();
    let safety = data
        .snapshots
        .iter()
        .find(|s| s.name == "pre-revert-test")
        .expect("the safety snapshot exists after the revert");
    for d in &safety.disks {
        if let Some(src) = &d.source {
            vm.track(PathBuf::from(src));
        }
    }
    revert_to(conn, &vm, "pre-revert-test", None);
    assert!(
        holds(&vm.dom, 0x22),
        "the safety snapshot holds what the disk held before the revert"
    );
}

#[test]
fn safety_snapshot_holds_the_pre_revert_bytes_internal() {
    check_safety_snapshot(DiskFormat::Qcow2, SnapshotLocation::Internal);
}

#[test]
fn safety_snapshot_holds_the_pre_revert_bytes_external() {
    check_safety_snapshot(DiskFormat::Raw, SnapshotLocation::External);
}

#[test]
fn running_vm_reverts_to_a_memory_snapshot_and_runs() {
    let Some(conn) = embed_conn() else { return };
    let disk = make_disk("data-running", DiskFormat::Qcow2).unwrap();
    let mut vm = TestVm::start(conn, tiny("data-running", disk, DiskFormat::Qcow2)).unwrap();
    let name = "live".to_string();
    // A default-CPU VM can save its memory; the first snapshot is external by default.
    assert_eq!(
        snapshot_kind(conn, &mut vm, &name, None, true),
        SnapshotLocation::External
    );
    vm.dom.destroy().unwrap();
    assert!(!vm.dom.is_active().unwrap());
    let said = revert_to(conn, &vm, &name, None);
    assert!(
        vm.dom.is_active().unwrap(),
        "running again after the revert: {said}"
    );
    let state = vm.dom.info().unwrap().state;
    assert_eq!(
        virtsnap::libvirt::inventory::state_from_virt(&state),
        virtsnap::model::DomainState::Running,
        "{said}"
    );
    assert!(said.contains("now running"), "{said}");
    // The same memory snapshot, left paused on request.
    let job = RevertJob {
        domain: vm.name.clone(),
        snapshot: name.clone(),
        after: AfterRevert::Paused,
        safety: None,
        stop_first: false,
        stop_timeout_secs: 120,
    };
    let said = run_job(conn, |ctx| revert::run(ctx, &job)).unwrap_or_else(|e| panic!("{e}"));
    assert!(said.contains("now paused"), "{said}");
}

#[test]
fn external_snapshot_of_a_running_vm_is_deleted_by_block_commit() {
    let Some(conn) = embed_conn() else { return };
    let disk = make_disk("data-commit", DiskFormat::Raw).unwrap();
    let mut vm = TestVm::start(conn, tiny("data-commit", disk.clone(), DiskFormat::Raw)).unwrap();
    // Raw disks cannot hold memory internally and this plan leaves memory out: external.
    assert_eq!(
        snapshot(conn, &mut vm, "live-ext"),
        SnapshotLocation::External
    );
    let data = snapshots::load(conn, &vm.name).unwrap();
    let overlay = data.snapshots[0].disks[0].source.clone().unwrap();
    assert!(
        data.file_size(&overlay).is_some(),
        "the overlay's size is shown on a local connection"
    );
    delete_snapshot(conn, &vm, "live-ext");
    assert!(vm.dom.is_active().unwrap(), "the VM kept running");
    let live = DomainConfig::from_xml(&vm.dom.xml_desc(0).unwrap()).unwrap();
    assert_eq!(
        live.disks[0].source.as_deref(),
        disk.to_str(),
        "the overlay was committed back into the base image"
    );
    assert!(
        !PathBuf::from(&overlay).exists(),
        "the overlay file is gone"
    );
    assert!(snapshots::load(conn, &vm.name)
        .unwrap()
        .snapshots
        .is_empty());
}

#[test]
fn description_is_rewritten_in_place_and_the_snapshot_still_reverts() {
    let Some(conn) = embed_conn() else { return };
    let mut vm = stopped_vm(conn, "data-describe", DiskFormat::Qcow2);
    write(&vm.dom, 0x11);
    snapshot(conn, &mut vm, "described");
    write(&vm.dom, 0x22);
    let hostile = "a <b> & \"c\" ]]> 'd'\nsecond line\r\n";
    let job = DescribeJob {
        domain: vm.name.clone(),
        snapshot: "described".into(),
        description: hostile.into(),
    };
    run_job(conn, |ctx| describe::run(ctx, &job)).unwrap_or_else(|e| panic!("{e}"));
    let data = snapshots::load(conn, &vm.name).unwrap();
    let s = data
        .snapshots
        .iter()
        .find(|s| s.name == "described")
        .unwrap();
    assert_eq!(s.description.as_deref(), Some(hostile));
    assert_eq!(
        data.current.as_deref(),
        Some("described"),
        "still the current one"
    );
    revert_to(conn, &vm, "described", None);
    assert!(holds(&vm.dom, 0x11), "only the description changed");
}
