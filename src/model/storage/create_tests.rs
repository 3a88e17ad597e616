//! Every branch of the create strategy, on domains parsed from XML.

use std::path::Path;

use virt::sys::{
    VIR_DOMAIN_SNAPSHOT_CREATE_ATOMIC as ATOMIC, VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY as DISK_ONLY,
    VIR_DOMAIN_SNAPSHOT_CREATE_LIVE as LIVE, VIR_DOMAIN_SNAPSHOT_CREATE_QUIESCE as QUIESCE,
};

use super::*;
use crate::model::domain::{DomainConfig, DomainState};
use crate::model::snapshot::{
    DiskSnapshotMode, MemoryChoice, MemoryMode, PlanError, SnapshotInfo, SnapshotLocation,
    SnapshotPlan,
};

/// Memory files go next to the first writable file disk.
const MEM_DIR: &str = "/img";

/// A domain with the given `<disk>` elements (and an optional guest agent / UEFI).
fn domain(disks: &str, extra: &str, os_extra: &str) -> DomainConfig {
    let xml = [
        "<domain type='kvm'><name>web</name><uuid>7d7b0d01-9f0b-402f-8f37-d40ace4a2f26</uuid>",
        "<memory unit='KiB'>65536</memory><vcpu>1</vcpu><os><type arch='x86_64'>hvm</type>",
        os_extra,
        "</os><devices>",
        disks,
        extra,
        "</devices></domain>",
    ]
    .concat();
    DomainConfig::from_xml(&xml).unwrap_or_else(|e| panic!("{e}\n{xml}"))
}

fn disk(target: &str, format: &str, file: &str) -> String {
    format!(
        "<disk type='file' device='disk'><driver name='qemu' type='{format}'/>\
         <source file='{file}'/><target dev='{target}' bus='virtio'/></disk>"
    )
}

const CDROM: &str = "<disk type='file' device='cdrom'><driver name='qemu' type='raw'/>\
    <source file='/iso/install.iso'/><target dev='sda' bus='sata'/><readonly/></disk>";
const READONLY: &str = "<disk type='file' device='disk'><driver name='qemu' type='raw'/>\
    <source file='/srv/shared.img'/><target dev='vdc' bus='virtio'/><readonly/></disk>";
const AGENT: &str = "<channel type='unix'><source mode='bind'/>\
    <target type='virtio' name='org.qemu.guest_agent.0' state='connected'/></channel>";
const BLOCK: &str = "<disk type='block' device='disk'><driver name='qemu' type='raw'/>\
    <source dev='/dev/vg/data'/><target dev='vdb' bus='virtio'/></disk>";

fn qcow2_vm() -> DomainConfig {
    let disks = [disk("vda", "qcow2", "/img/web.qcow2"), CDROM.to_owned()].concat();
    domain(&disks, "", "")
}

fn mixed_vm() -> DomainConfig {
    let disks = [
        disk("vda", "qcow2", "/img/web.qcow2"),
        disk("vdb", "raw", "/img/data.raw"),
        READONLY.to_owned(),
    ]
    .concat();
    domain(&disks, "", "")
}

/// A layout whose tree already holds an internal snapshot, so the planner prefers internal
/// and falls back to external (saying it mixes kinds), as the old strategy did.
fn layout_of(d: &DomainConfig, state: DomainState) -> Layout {
    let old = SnapshotInfo::from_xml(
        "<domainsnapshot><name>old</name><state>shutoff</state><memory snapshot='no'/>\
         <disks><disk name='vda' snapshot='internal'/></disks></domainsnapshot>",
    )
    .unwrap();
    Layout::new(&StorageFacts {
        domain: d.name.clone(),
        state,
        persistent: true,
        managed_save: false,
        disks_inactive: false,
        driver: "QEMU".into(),
        config: d.clone(),
        persistent_config: None,
        snapshots: vec![old],
        current: Some("old".into()),
        images: Vec::new(),
        volumes: Vec::new(),
        libvirt_version: 11_003_000,
        local: false,
        now: 0,
        existing: Vec::new(),
    })
}

fn plan_named(
    d: &DomainConfig,
    state: DomainState,
    name: &str,
    memory: bool,
    quiesce: bool,
    internal_ok: bool,
    external_ok: bool,
) -> Result<SnapshotPlan, PlanError> {
    plan_create(
        &layout_of(d, state),
        &CreateIntent {
            name: name.into(),
            memory,
            quiesce,
            location: None,
        },
        &CreateAbility {
            memory_internal: internal_ok,
            memory_external: external_ok,
        },
    )
}

fn plan(
    d: &DomainConfig,
    state: DomainState,
    memory: bool,
    quiesce: bool,
    internal_ok: bool,
    external_ok: bool,
) -> Result<SnapshotPlan, PlanError> {
    plan_named(d, state, "snap1", memory, quiesce, internal_ok, external_ok)
}

fn modes(p: &SnapshotPlan) -> Vec<(&str, DiskSnapshotMode, Option<&str>)> {
    p.request
        .disks
        .iter()
        .map(|d| {
            (
                d.target.as_str(),
                d.mode,
                d.file.as_deref().and_then(Path::to_str),
            )
        })
        .collect()
}

#[test]
fn running_with_memory_on_qcow2_is_internal() {
    let p = plan(&qcow2_vm(), DomainState::Running, true, false, true, true).unwrap();
    assert_eq!(p.location, SnapshotLocation::Internal);
    assert!(p.memory);
    assert_eq!(p.flags, 0);
    assert_eq!(p.request.memory, MemoryChoice::Internal);
    assert_eq!(
        modes(&p),
        [
            ("vda", DiskSnapshotMode::Internal, None),
            ("sda", DiskSnapshotMode::No, None)
        ]
    );
    assert!(p.overlay_files.is_empty() && p.memory_file.is_none());
    assert_eq!(
        p.summary,
        "internal snapshot with memory state, stored inside vda's qcow2; sda not captured (cdrom)"
    );
    let xml = p.request.to_xml().unwrap();
    let back = SnapshotInfo::from_xml(&xml).unwrap();
    assert_eq!(back.memory_mode, MemoryMode::Internal);
}

#[test]
fn running_with_memory_on_mixed_disks_is_external() {
    let p = plan(&mixed_vm(), DomainState::Running, true, false, true, true).unwrap();
    assert_eq!(p.location, SnapshotLocation::External);
    assert!(p.memory);
    assert_eq!(p.flags, LIVE | ATOMIC);
    let mem = Path::new(MEM_DIR).join("web.snap1.mem");
    assert_eq!(p.memory_file.as_deref(), Some(mem.as_path()));
    assert_eq!(p.request.memory, MemoryChoice::External { file: mem });
    assert_eq!(
        modes(&p),
        [
            ("vda", DiskSnapshotMode::External, Some("/img/web.snap1")),
            ("vdb", DiskSnapshotMode::External, Some("/img/data.snap1")),
            ("vdc", DiskSnapshotMode::No, None)
        ]
    );
    assert_eq!(p.overlay_files.len(), 2);
    assert_eq!(
        p.summary,
        "external snapshot with memory state: memory -> /img/web.snap1.mem, \
         vda -> /img/web.snap1, vdb -> /img/data.snap1; LIVE, ATOMIC; vdc not captured (read-only)"
    );
}

#[test]
fn internal_memory_refused_by_the_host_falls_back_to_external() {
    let p = plan(&qcow2_vm(), DomainState::Running, true, false, false, true).unwrap();
    assert_eq!(p.location, SnapshotLocation::External);
    assert!(p.memory);
}

#[test]
fn paused_with_memory_has_no_live_flag() {
    let p = plan(&mixed_vm(), DomainState::Paused, true, false, true, true).unwrap();
    assert_eq!(p.flags, ATOMIC);
    let p = plan(&qcow2_vm(), DomainState::Paused, true, false, true, true).unwrap();
    assert_eq!(p.location, SnapshotLocation::Internal);
}

#[test]
fn memory_impossible_both_ways_says_why() {
    let err = plan(&mixed_vm(), DomainState::Running, true, false, true, false).unwrap_err();
    assert_eq!(
        err.to_string(),
        "memory state cannot be saved: internal: vdb is raw, not qcow2; external: an external \
         memory snapshot is not possible for this VM; take a disk-only snapshot instead"
    );
}

#[test]
fn running_without_memory_is_external_disk_only() {
    let p = plan(&qcow2_vm(), DomainState::Running, false, false, true, true).unwrap();
    assert_eq!(p.location, SnapshotLocation::External);
    assert!(!p.memory);
    assert_eq!(p.flags, DISK_ONLY | ATOMIC);
    assert_eq!(p.request.memory, MemoryChoice::None);
    assert_eq!(
        modes(&p),
        [
            ("vda", DiskSnapshotMode::External, Some("/img/web.snap1")),
            ("sda", DiskSnapshotMode::No, None)
        ]
    );
    assert_eq!(
        p.summary,
        "external disk-only snapshot: vda -> /img/web.snap1; ATOMIC; sda not captured (cdrom)"
    );
}

#[test]
fn quiesce_needs_running_agent_and_disk_only() {
    let with_agent = domain(&disk("vda", "qcow2", "/img/web.qcow2"), AGENT, "");
    let p = plan(&with_agent, DomainState::Running, false, true, true, true).unwrap();
    assert_eq!(p.flags, DISK_ONLY | ATOMIC | QUIESCE);
    assert!(p.summary.ends_with("; ATOMIC, QUIESCE"), "{}", p.summary);

    let e = |d: &DomainConfig, s, m| plan(d, s, m, true, true, true).unwrap_err();
    assert_eq!(
        e(&qcow2_vm(), DomainState::Running, false),
        PlanError::QuiesceNeedsAgent
    );
    assert_eq!(
        e(&with_agent, DomainState::Running, true),
        PlanError::QuiesceNeedsDiskOnly
    );
    assert_eq!(
        e(&with_agent, DomainState::Paused, false),
        PlanError::QuiesceNeedsRunningVm
    );
    assert_eq!(
        e(&with_agent, DomainState::Shutoff, false),
        PlanError::QuiesceNeedsRunningVm
    );
}

#[test]
fn shut_off_qcow2_is_internal() {
    let p = plan(
        &qcow2_vm(),
        DomainState::Shutoff,
        false,
        false,
        false,
        false,
    )
    .unwrap();
    assert_eq!(p.location, SnapshotLocation::Internal);
    assert!(!p.memory);
    assert_eq!(p.flags, 0);
    assert_eq!(p.request.memory, MemoryChoice::None);
    assert_eq!(
        p.summary,
        "internal snapshot of the shut-off VM's disks, stored inside vda's qcow2; sda not captured (cdrom)"
    );
}

#[test]
fn shut_off_with_a_raw_disk_is_external_and_says_why() {
    let p = plan(&mixed_vm(), DomainState::Shutoff, false, false, true, true).unwrap();
    assert_eq!(p.location, SnapshotLocation::External);
    assert_eq!(p.flags, DISK_ONLY | ATOMIC);
    assert_eq!(
        p.summary,
        "external disk-only snapshot: vda -> /img/web.snap1, vdb -> /img/data.snap1; ATOMIC; \
         vdc not captured (read-only)"
    );
    // Why not internal, said where the admin confirms mixing kinds.
    assert!(p
        .mixes
        .as_deref()
        .unwrap()
        .contains("vdb is raw, not qcow2"));
}

#[test]
fn shut_off_refuses_memory() {
    assert_eq!(
        plan(&qcow2_vm(), DomainState::Shutoff, true, false, true, true).unwrap_err(),
        PlanError::MemoryNeedsRunningVm
    );
}

#[test]
fn uefi_with_raw_nvram_is_not_internal() {
    let efi = include_str!("../../../tests/fixtures/domain/efi-inactive.xml");
    let d = DomainConfig::from_xml(efi).unwrap();
    if d.disks.iter().any(|d| d.is_writable()) {
        let p = plan(&d, DomainState::Shutoff, false, false, true, true);
        assert!(
            matches!(&p, Ok(p) if p.location == SnapshotLocation::External),
            "{p:?}"
        );
    }
    let os = "<loader readonly='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE_4M.fd</loader>\
              <nvram>/var/lib/libvirt/qemu/nvram/web_VARS.fd</nvram>";
    let d = domain(&disk("vda", "qcow2", "/img/web.qcow2"), "", os);
    let p = plan(&d, DomainState::Shutoff, false, false, true, true).unwrap();
    assert_eq!(p.location, SnapshotLocation::External);
    let mixes = p.mixes.as_deref().unwrap();
    assert!(mixes.contains("UEFI"), "{mixes}");
    let p = plan(&d, DomainState::Running, true, false, true, true).unwrap();
    assert_eq!(p.location, SnapshotLocation::External);
}

#[test]
fn block_devices_get_an_overlay_file_next_to_the_vms_images_and_a_warning() {
    let d = domain(
        &[disk("vda", "qcow2", "/img/web.qcow2"), BLOCK.to_owned()].concat(),
        "",
        "",
    );
    // libvirt takes a file overlay for a block device (measured on a loop device), never one
    // it names itself ("not a regular file"); it then cannot revert to that snapshot.
    let p = plan(&d, DomainState::Running, false, false, true, true).unwrap();
    assert_eq!(
        modes(&p)[1],
        (
            "vdb",
            DiskSnapshotMode::External,
            Some("/img/web-vdb.snap1")
        )
    );
    assert!(
        p.warnings[0].contains("cannot be reverted later")
            && p.warnings[0].contains("vdb is a block device"),
        "{:?}",
        p.warnings
    );
}

#[test]
fn nothing_writable_and_odd_states() {
    let d = domain(CDROM, "", "");
    assert_eq!(
        plan(&d, DomainState::Running, false, false, true, true).unwrap_err(),
        PlanError::NothingToCapture
    );
    assert_eq!(
        plan(&d, DomainState::Shutoff, false, false, true, true).unwrap_err(),
        PlanError::NothingToCapture
    );
    assert!(matches!(
        plan(
            &qcow2_vm(),
            DomainState::Pmsuspended,
            false,
            false,
            true,
            true
        ),
        Err(PlanError::UnsupportedState(_))
    ));
}

#[test]
fn overlong_file_names_are_refused() {
    let long = "a".repeat(253);
    let err = plan_named(
        &qcow2_vm(),
        DomainState::Running,
        &long,
        false,
        false,
        true,
        true,
    )
    .unwrap_err();
    assert!(
        matches!(err, PlanError::FileNameTooLong { bytes: 257, .. }),
        "{err}"
    );
}

#[test]
fn requests_parse_back_with_the_planned_modes() {
    for state in [DomainState::Running, DomainState::Shutoff] {
        for vm in [qcow2_vm(), mixed_vm()] {
            let p = plan(&vm, state, false, false, true, true).unwrap();
            let back = SnapshotInfo::from_xml(&p.request.to_xml().unwrap()).unwrap();
            assert_eq!(back.location, p.location);
            assert_eq!(back.disks.len(), vm.disks.len());
        }
    }
}
