//! The integrity cases (../shared/cases: mixed-chain-revert, safety-snapshot-over-internal,
//! numeric-snapshot-name, metadata-only-delete) as the project's own tests, on real QEMU in
//! the embedded driver, proven by bytes: markers written with qemu-io, read back after each
//! step. A refusal must come before anything changed (same tree, same bytes).
//! Run: `cargo test --test integrity_kvm -- --nocapture`.

mod common;

use std::path::Path;

use common::snap::{create, qemu_io, track_layout as track_all, vda_top as top};
use common::{embed_conn, make_disk, with_job_context, TestVm};
use virt::connect::Connect;
use virtsnap::libvirt::jobs::delete::{self, DeleteError, DeleteJob};
use virtsnap::libvirt::jobs::revert::{self, RevertError, RevertJob};
use virtsnap::libvirt::jobs::snapshot_create::CreateError;
use virtsnap::libvirt::vmdef::{DiskFormat, TinyCpu, TinyVm};
use virtsnap::libvirt::{snapshots, storage};
use virtsnap::model::snapshot::SnapshotLocation;
use virtsnap::model::storage::{AfterRevert, DeleteMode};

fn tiny(name: &str, cpu: TinyCpu, disk: &Path) -> TinyVm {
    TinyVm::new(name, cpu)
        .with_nested_host_workarounds()
        .disk(disk, DiskFormat::Qcow2)
}

/// Writes `pattern` at `offset` KiB into `file` (the VM is stopped).
fn write_at(file: &str, offset_k: u32, pattern: u8) {
    let text = qemu_io(
        file,
        &["-c", &format!("write -P {pattern:#04x} {offset_k}k 4k")],
    );
    assert!(text.contains("wrote 4096/4096"), "{file}: {text}");
}

/// The byte at `offset` KiB of the disk as seen through `file`.
fn byte_at(file: &str, offset_k: u32) -> u8 {
    let text = qemu_io(file, &["-r", "-U", "-c", &format!("read -v {offset_k}k 1")]);
    let hex = text
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or_else(|| panic!("{file}: {text}"));
    u8::from_str_radix(hex, 16).unwrap_or_else(|_| panic!("{file}: {text}"))
}

fn revert_job(vm: &TestVm, target: &str, safety: Option<&str>, stop_first: bool) -> RevertJob {
    RevertJob {
        domain: vm.name.clone(),
        snapshot: target.into(),
        after: AfterRevert::Saved,
        safety: safety.map(str::to_string),
        stop_first,
        // A guest without an OS ignores the power button: the force-off question comes after
        // 2 s and is answered yes.
        stop_timeout_secs: 2,
    }
}

fn revert(conn: &Connect, job: &RevertJob) -> Result<String, RevertError> {
    with_job_context(conn, true, |ctx| revert::run_planned(ctx, job)).0
}

/// Every snapshot's name and the files they name: what must not change on a refusal.
fn tree(conn: &Connect, vm: &TestVm) -> Vec<String> {
    let data = snapshots::load(conn, &vm.name).unwrap();
    let mut out: Vec<String> = data
        .snapshots
        .iter()
        .map(|s| format!("{} {:?} {:?}", s.name, s.parent, s.disks))
        .collect();
    out.push(format!("current {:?} top {}", data.current, top(&vm.dom)));
    out.sort();
    out
}

#[test]
fn mixed_chain_an_internal_revert_under_an_external_snapshot_is_refused_before_anything_changes() {
    let Some(conn) = embed_conn() else { return };
    let disk = make_disk("mixed", DiskFormat::Qcow2).unwrap();
    let mut vm = TestVm::define(conn, tiny("mixed", TinyCpu::Default, &disk)).unwrap();
    let base = top(&vm.dom);
    write_at(&base, 0, 0xa1);
    assert_eq!(
        create(conn, &mut vm, "i1", Some(SnapshotLocation::Internal), false)
            .unwrap()
            .location,
        SnapshotLocation::Internal
    );
    write_at(&base, 64, 0xb2);
    // The tree is internal: a new snapshot follows it unless the admin asks for the other
    // kind (--kind external), as another tool might have done here.
    create(conn, &mut vm, "e1", Some(SnapshotLocation::External), false).unwrap();
    let e1_top = top(&vm.dom);
    assert_ne!(e1_top, base);
    write_at(&e1_top, 0, 0xa3);
    track_all(conn, &mut vm);
    let before = tree(conn, &vm);
    for safety in [Some("pre-revert-t"), None] {
        let err = revert(conn, &revert_job(&vm, "i1", safety, false)).unwrap_err();
        let RevertError::Refused(r) = &err else {
            panic!("{err:?}")
        };
        println!("refused (safety {safety:?}): {}", r.text());
        assert!(r.text().contains("mixed-"), "{}", r.text());
        assert_eq!(tree(conn, &vm), before, "nothing changed");
        assert_eq!((byte_at(&e1_top, 0), byte_at(&e1_top, 64)), (0xa3, 0xb2));
        assert_eq!(byte_at(&base, 0), 0xa1);
    }
    // e1 still brings back what it captured.
    revert(conn, &revert_job(&vm, "e1", None, false)).unwrap();
    track_all(conn, &mut vm);
    let now = top(&vm.dom);
    assert_eq!((byte_at(&now, 0), byte_at(&now, 64)), (0xa1, 0xb2));
}

#[test]
fn mixed_chain_as_the_case_script_builds_it_keeps_every_snapshots_bytes() {
    // The script's own steps: i1 by virtsnap (now external by default), e1 by another tool with
    // an explicit file, a revert to i1 with the safety snapshot.
    let Some(conn) = embed_conn() else { return };
    let disk = make_disk("mixcase", DiskFormat::Qcow2).unwrap();
    let mut vm = TestVm::define(conn, tiny("mixcase", TinyCpu::Default, &disk)).unwrap();
    let base = top(&vm.dom);
    write_at(&base, 0, 0xa1);
    create(conn, &mut vm, "i1", None, false).unwrap();
    let i1_top = top(&vm.dom);
    write_at(&i1_top, 64, 0xb2);
    let e1_file = format!("{}.e1.qcow2", base.trim_end_matches(".qcow2"));
    vm.track(e1_file.clone().into());
    let xml = common::snapshot_xml("e1", &[("vda", Path::new(&e1_file))]);
    vm.dom
        .create_snapshot_xml(&xml, virt::sys::VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY)
        .unwrap();
    write_at(&e1_file, 0, 0xa3);
    let said = revert(conn, &revert_job(&vm, "i1", Some("pre-revert-case"), false)).unwrap();
    track_all(conn, &mut vm);
    assert!(said.contains("safety snapshot 'pre-revert-case'"), "{said}");
    let now = top(&vm.dom);
    assert_eq!(
        (byte_at(&now, 0), byte_at(&now, 64)),
        (0xa1, 0x00),
        "i1's data"
    );
    revert(conn, &revert_job(&vm, "pre-revert-case", None, false)).unwrap();
    track_all(conn, &mut vm);
    let now = top(&vm.dom);
    assert_eq!(
        (byte_at(&now, 0), byte_at(&now, 64)),
        (0xa3, 0xb2),
        "the state before"
    );
    revert(conn, &revert_job(&vm, "e1", None, false)).unwrap();
    track_all(conn, &mut vm);
    let now = top(&vm.dom);
    assert_eq!(
        (byte_at(&now, 0), byte_at(&now, 64)),
        (0xa1, 0xb2),
        "e1's data"
    );
}

/// A running VM whose vda holds an internal shut-off snapshot A, the disk changed since.
fn running_with_internal_a(conn: &Connect, base: &str, cpu: TinyCpu) -> (TestVm, String) {
    let disk = make_disk(base, DiskFormat::Qcow2).unwrap();
    let mut vm = TestVm::define(conn, tiny(base, cpu, &disk)).unwrap();
    let image = top(&vm.dom);
    write_at(&image, 0, 0xaa);
    create(conn, &mut vm, "A", Some(SnapshotLocation::Internal), false).unwrap();
    write_at(&image, 0, 0xbb);
    vm.dom.create().unwrap();
    (vm, image)
}

fn check_stop_first_keeps_the_state_before(conn: &Connect, vm: &mut TestVm, image: &str) {
    let said = revert(conn, &revert_job(vm, "A", Some("pre-revert-stop"), true)).unwrap();
    track_all(conn, vm);
    println!("stop first: {said}");
    assert!(said.contains("(internal, disks only)"), "{said}");
    assert!(!vm.dom.is_active().unwrap());
    assert_eq!(byte_at(image, 0), 0xaa, "A's data");
    revert(conn, &revert_job(vm, "pre-revert-stop", None, false)).unwrap();
    assert_eq!(
        byte_at(&top(&vm.dom), 0),
        0xbb,
        "the safety snapshot holds the state before"
    );
}

#[test]
fn signature_case_a_running_invtsc_vm_reverting_to_an_internal_snapshot_is_told_the_ways_out() {
    let Some(conn) = embed_conn() else { return };
    let cpu = TinyCpu::HostPassthrough {
        migratable: Some(false),
    };
    let (mut vm, image) = running_with_internal_a(conn, "sig", cpu);
    let before = tree(conn, &vm);
    let err = revert(conn, &revert_job(&vm, "A", Some("pre-revert-sig"), false)).unwrap_err();
    let RevertError::Refused(r) = &err else {
        panic!("{err:?}")
    };
    println!("refused: {}", r.text());
    assert!(
        r.reason.contains("no safety snapshot can survive"),
        "{}",
        r.reason
    );
    assert!(
        r.reason.contains("memory state cannot be saved"),
        "{}",
        r.reason
    );
    let flags: Vec<&str> = r
        .ways_out
        .iter()
        .filter_map(|w| w.flag.as_deref())
        .collect();
    assert_eq!(flags, ["--stop-first", "--no-safety-snapshot"]);
    assert!(vm.dom.is_active().unwrap(), "still running");
    assert_eq!(tree(conn, &vm), before);
    check_stop_first_keeps_the_state_before(conn, &mut vm, &image);
}

#[test]
fn safety_snapshot_over_internal_with_a_raw_disk_attached_live() {
    let Some(conn) = embed_conn() else { return };
    let (mut vm, image) = running_with_internal_a(conn, "rawlive", TinyCpu::Default);
    let raw = make_disk("rawlive-vdb", DiskFormat::Raw).unwrap();
    vm.track(raw.clone());
    let xml = format!(
        "<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='{}'/><target dev='vdb' bus='virtio'/></disk>",
        raw.display()
    );
    vm.dom
        .attach_device_flags(&xml, virt::sys::VIR_DOMAIN_AFFECT_LIVE)
        .unwrap();
    let before = tree(conn, &vm);
    let err = revert(conn, &revert_job(&vm, "A", Some("pre-revert-raw"), false)).unwrap_err();
    let RevertError::Refused(r) = &err else {
        panic!("{err:?}")
    };
    println!("refused: {}", r.text());
    assert_eq!(
        tree(conn, &vm),
        before,
        "no safety snapshot was taken, nothing reverted"
    );
    assert!(r
        .ways_out
        .iter()
        .any(|w| w.flag.as_deref() == Some("--stop-first")));
    check_stop_first_keeps_the_state_before(conn, &mut vm, &image);
}

#[test]
fn numeric_names_are_refused_at_create_and_an_ambiguous_revert_is_refused() {
    let Some(conn) = embed_conn() else { return };
    let disk = make_disk("numeric", DiskFormat::Qcow2).unwrap();
    let mut vm = TestVm::define(conn, tiny("numeric", TinyCpu::Default, &disk)).unwrap();
    let image = top(&vm.dom);
    write_at(&image, 0, 0xaa);
    create(
        conn,
        &mut vm,
        "base",
        Some(SnapshotLocation::Internal),
        false,
    )
    .unwrap();
    write_at(&image, 0, 0xbb);
    let err = create(conn, &mut vm, "1", None, false).unwrap_err();
    assert!(
        matches!(&err, CreateError::Refused(t) if t.contains("digits only")),
        "{err:?}"
    );
    // Another tool made it anyway (an internal snapshot named '1', QEMU ID 2).
    vm.dom
        .create_snapshot_xml("<domainsnapshot><name>1</name></domainsnapshot>", 0)
        .unwrap();
    write_at(&image, 0, 0xcc);
    let err = revert(conn, &revert_job(&vm, "1", None, false)).unwrap_err();
    let RevertError::Refused(r) = &err else {
        panic!("{err:?}")
    };
    assert!(
        r.reason.contains("ID of the internal snapshot 'base'"),
        "{}",
        r.reason
    );
    assert_eq!(byte_at(&image, 0), 0xcc, "nothing reverted");
    // Deleting goes by name: '1' is removed and 'base' stays.
    let job = DeleteJob {
        domain: vm.name.clone(),
        snapshot: "1".into(),
        mode: DeleteMode::This,
    };
    with_job_context(conn, true, |ctx| delete::run_planned(ctx, &job))
        .0
        .unwrap();
    let kind = storage::read_image(Path::new(&image));
    let names: Vec<String> = match kind {
        virtsnap::model::storage::ImageKind::Qcow2 { internal, .. } => {
            internal.into_iter().map(|s| s.name).collect()
        }
        other => panic!("{other:?}"),
    };
    assert_eq!(names, ["base"]);
    revert(conn, &revert_job(&vm, "base", None, false)).unwrap();
    assert_eq!(byte_at(&image, 0), 0xaa);
}

#[test]
fn metadata_only_delete_names_what_stays_and_the_next_delete_is_refused_up_front() {
    let Some(conn) = embed_conn() else { return };
    let disk = make_disk("meta", DiskFormat::Qcow2).unwrap();
    let mut vm = TestVm::start(conn, tiny("meta", TinyCpu::Default, &disk)).unwrap();
    create(conn, &mut vm, "e1", None, false).unwrap();
    create(conn, &mut vm, "e2", None, false).unwrap();
    track_all(conn, &mut vm);
    let running_on = top(&vm.dom);
    let job = |name: &str, mode| DeleteJob {
        domain: vm.name.clone(),
        snapshot: name.into(),
        mode,
    };
    let said = with_job_context(conn, true, |ctx| {
        delete::run_planned(ctx, &job("e2", DeleteMode::MetadataOnly))
    })
    .0
    .unwrap();
    println!("{said}");
    assert!(
        said.contains(&format!("{running_on} (the VM writes to it)")),
        "{said}"
    );
    let before = tree(conn, &vm);
    let err = with_job_context(conn, true, |ctx| {
        delete::run_planned(ctx, &job("e1", DeleteMode::This))
    })
    .0
    .unwrap_err();
    let DeleteError::Refused(r) = &err else {
        panic!("{err:?}")
    };
    assert!(
        r.reason.contains("parent disk source are not the same"),
        "{}",
        r.reason
    );
    assert_eq!(tree(conn, &vm), before);
}

#[test]
fn a_managed_save_image_is_removed_before_a_revert_and_never_resumed_over_it() {
    let Some(conn) = embed_conn() else { return };
    let (mut vm, image) = running_with_internal_a(conn, "msave", TinyCpu::Default);
    vm.dom.managed_save(0).unwrap();
    assert!(vm.dom.has_managed_save(0).unwrap());
    let said = revert(conn, &revert_job(&vm, "A", Some("pre-revert-ms"), false)).unwrap();
    track_all(conn, &mut vm);
    println!("{said}");
    assert!(!vm.dom.has_managed_save(0).unwrap(), "removed first");
    assert_eq!(byte_at(&image, 0), 0xaa);
    // The next start boots the reverted disks instead of resuming the old memory.
    vm.dom.create().unwrap();
    assert!(vm.dom.is_active().unwrap());
}

/// The random model test found it (seed 1795987446025478051): a memory snapshot of a paused
/// VM leaves QEMU in 'postmigrate' with its disks inactive, libvirt still says "paused", and
/// the next memory snapshot, internal delete or block commit fails inside QEMU. virtsnap reads
/// the fact and plans from it: those are refused up front (nothing changes), a disk-only
/// snapshot and a revert still work, and after a resume everything works again. Pausing again
/// after the resume proves the fact is QEMU's state, not the last job's statistics (which
/// survive a resume).
#[test]
fn a_memory_snapshot_of_a_paused_vm_leaves_qemus_disks_inactive_and_virtsnap_plans_for_it() {
    let Some(conn) = embed_conn() else { return };
    let disk = make_disk("postmig", DiskFormat::Qcow2).unwrap();
    let mut vm = TestVm::start(conn, tiny("postmig", TinyCpu::Default, &disk)).unwrap();
    vm.track(disk.clone());
    let inactive = |vm: &TestVm| storage::read_facts(conn, &vm.name).unwrap().disks_inactive;
    create(conn, &mut vm, "e0", None, false).expect("disk-only while running");
    vm.dom.suspend().unwrap();
    assert!(!inactive(&vm), "paused, no memory snapshot yet");
    let kind = create(conn, &mut vm, "m1", None, true)
        .expect("memory while paused")
        .location;
    println!("memory snapshot of the paused VM: {kind:?}");
    track_all(conn, &mut vm);
    assert!(inactive(&vm), "QEMU is in postmigrate after it");

    let before = tree(conn, &vm);
    match create(conn, &mut vm, "m2", None, true) {
        Err(CreateError::Refused(why)) => {
            println!("memory snapshot refused: {why}");
            assert!(
                why.contains("'postmigrate'") && why.contains("resume the VM"),
                "{why}"
            );
        }
        other => panic!("a second memory snapshot must be refused up front: {other:?}"),
    }
    let merge = DeleteJob {
        domain: vm.name.clone(),
        snapshot: "m1".into(),
        mode: DeleteMode::This,
    };
    match with_job_context(conn, true, |ctx| delete::run_planned(ctx, &merge)).0 {
        Err(DeleteError::Refused(r)) => {
            assert!(r.reason.contains("block commit"), "{}", r.reason)
        }
        other => panic!("the merge must be refused up front: {other:?}"),
    }
    assert_eq!(tree(conn, &vm), before, "a refusal changes nothing");

    create(conn, &mut vm, "d2", None, false).expect("a disk-only snapshot works");
    track_all(conn, &mut vm);
    let said = revert(conn, &revert_job(&vm, "e0", Some("safety-pm"), false))
        .unwrap_or_else(|e| panic!("revert with a (disk-only) safety snapshot: {e:?}"));
    println!("revert: {said}");
    track_all(conn, &mut vm);
    let safety = snapshots::load(conn, &vm.name).unwrap();
    let s = safety
        .snapshots
        .iter()
        .find(|s| s.name == "safety-pm")
        .expect("safety kept");
    assert!(!s.memory, "the safety snapshot is disk-only: {s:?}");

    // Reverting restarted QEMU: its disks are active again. Resume-then-pause on a fresh
    // memory snapshot shows the fact follows QEMU, not the job statistics.
    if !vm.dom.is_active().unwrap() {
        vm.dom.create().unwrap();
    }
    vm.dom.suspend().unwrap();
    assert!(!inactive(&vm), "a new QEMU after the revert");
    create(conn, &mut vm, "m3", None, true).expect("memory after the revert");
    track_all(conn, &mut vm);
    assert!(inactive(&vm));
    vm.dom.resume().unwrap();
    vm.dom.suspend().unwrap();
    assert!(
        !inactive(&vm),
        "resumed once since: QEMU's disks are active"
    );
    create(conn, &mut vm, "m4", None, true).expect("memory snapshot after a resume");
    track_all(conn, &mut vm);
}
