//! Tests of the memory-capture rule: every row of LIBVIRT-NOTES.md's table (as running VMs on
//! a host with invtsc, from XML captured on libvirt 11.3), the corner cases and the exact words.

use super::*;

const HOST_TSC: u64 = 2_445_404_000;
const LIBVIRT_11_3: u64 = 11_003_000;

use crate::model::fixtures::{domain as fixture, host};

fn invtsc_host() -> HostCapabilities {
    let caps = host("qemu-system");
    assert!(caps.has_invtsc());
    caps
}

/// A running VM from the captured pair `NAME-inactive.xml` / `NAME-live.xml`.
fn running(name: &str, caps: Option<&HostCapabilities>, state: DomainState) -> Verdict {
    let persistent = fixture(&format!("{name}-inactive"));
    let live = fixture(&format!("{name}-live"));
    evaluate(&RuleInput {
        persistent: &persistent,
        live: Some(&live),
        host: caps,
        state,
        libvirt_version: LIBVIRT_11_3,
    })
}

/// A hand-written domain with one qcow2 disk.
fn domain(cpu: &str, clock: &str, devices: &str) -> DomainConfig {
    let xml = format!(
        "<domain type='kvm'><name>t</name><memory unit='MiB'>64</memory>{cpu}{clock}<devices>\
         <disk type='file' device='disk'><driver name='qemu' type='qcow2'/>\
         <source file='/tmp/t.qcow2'/><target dev='vda'/></disk>{devices}</devices></domain>"
    );
    DomainConfig::from_xml(&xml).unwrap()
}

fn eval_one(cfg: &DomainConfig, caps: Option<&HostCapabilities>, state: DomainState) -> Verdict {
    evaluate(&RuleInput {
        persistent: cfg,
        live: state.is_active().then_some(cfg),
        host: caps,
        state,
        libvirt_version: LIBVIRT_11_3,
    })
}

fn kinds(v: &Verdict) -> Vec<&str> {
    v.memory.blockers.iter().map(|b| b.kind.as_str()).collect()
}

const HOST_PASSTHROUGH_TEXT: &str = "\
Memory snapshots are not supported with host-passthrough CPU.
This VM uses the 'invtsc' CPU flag which prevents memory state capture.
This is a limitation of libvirt/QEMU, not of virtsnap.
invtsc is exposed because migratable='off' and the host CPU has invtsc, and no TSC frequency is pinned.

Options:
1. Create a disk-only snapshot (uncheck 'Include memory state')
2. Stop the VM first, then take a snapshot
3. Reconfigure the VM to use 'host-model' CPU instead of 'host-passthrough'
4. Pin the TSC frequency to the host's 2445404000 Hz (keeps host-passthrough; restoring on another host needs the same frequency or TSC scaling)";

#[test]
fn row_host_passthrough_migratable_off_is_refused_with_the_exact_words() {
    let caps = invtsc_host();
    let v = running("hp-off", Some(&caps), DomainState::Running);
    assert!(v.memory.applicable);
    assert!(!v.memory.allowed);
    assert!(!v.memory.internal && !v.memory.external);
    assert_eq!(kinds(&v), ["invtsc"]);
    assert_eq!(
        v.memory.explanation().as_deref(),
        Some(HOST_PASSTHROUGH_TEXT)
    );
    assert_eq!(
        v.memory.remedy_actions,
        [
            Remedy::DiskOnly,
            Remedy::StopSnapshotStart,
            Remedy::SwitchToHostModel,
            Remedy::PinTscFrequency { hz: HOST_TSC }
        ]
    );
    assert_eq!(v.memory.remedies.len(), 4);
    assert!(v.memory.notes.is_empty(), "{:?}", v.memory.notes);
    // Disk-only is never affected by the CPU.
    assert!(v.disk_only.allowed);
}

#[test]
fn row_host_passthrough_migratable_on_or_absent_works() {
    let caps = invtsc_host();
    let v = running("hp-default", Some(&caps), DomainState::Running);
    assert!(v.memory.allowed && v.memory.internal && v.memory.external);
    assert!(v.memory.blockers.is_empty() && v.memory.remedies.is_empty());
    assert_eq!(v.memory.explanation(), None);
    let absent = domain("<cpu mode='host-passthrough'/>", "", "");
    assert!(
        eval_one(&absent, Some(&caps), DomainState::Running)
            .memory
            .allowed
    );
}

#[test]
fn row_host_passthrough_with_pinned_tsc_works() {
    let caps = invtsc_host();
    let v = running("hp-off-tsc", Some(&caps), DomainState::Running);
    assert!(v.memory.allowed);
    // invtsc is still exposed; it just no longer blocks.
    assert!(invtsc_in_effect(&fixture("hp-off-tsc-live"), Some(&caps)));
}

#[test]
fn row_host_passthrough_with_invtsc_disabled_works() {
    let caps = invtsc_host();
    assert!(
        running("hp-off-noinvtsc", Some(&caps), DomainState::Running)
            .memory
            .allowed
    );
    assert!(!invtsc_in_effect(
        &fixture("hp-off-noinvtsc-live"),
        Some(&caps)
    ));
}

#[test]
fn row_maximum_migratable_off_is_refused() {
    let caps = invtsc_host();
    let v = running("maximum", Some(&caps), DomainState::Running);
    assert!(!v.memory.allowed);
    let text = v.memory.explanation().unwrap();
    assert!(text.starts_with("Memory snapshots are not supported with maximum CPU.\n"));
    assert!(text.contains("3. Reconfigure the VM to use 'host-model' CPU instead of 'maximum'\n"));
    assert!(text.contains("(keeps maximum; restoring"));
}

#[test]
fn row_host_model_works_although_its_live_xml_says_custom() {
    let caps = invtsc_host();
    let v = running("host-model", Some(&caps), DomainState::Running);
    assert!(v.memory.allowed, "{:?}", v.memory);
    assert!(v.memory.notes.is_empty());
}

const HOST_MODEL_INVTSC_TEXT: &str = "\
Memory snapshots are not supported with host-model CPU.
This VM uses the 'invtsc' CPU flag which prevents memory state capture.
This is a limitation of libvirt/QEMU, not of virtsnap.
invtsc is required by <feature policy='require' name='invtsc'/>, and no TSC frequency is pinned.

Options:
1. Create a disk-only snapshot (uncheck 'Include memory state')
2. Stop the VM first, then take a snapshot
3. Remove the 'invtsc' feature from the VM's CPU definition (or set its policy to 'optional')
4. Pin the TSC frequency to the host's 2445404000 Hz (keeps the 'invtsc' flag; restoring on another host needs the same frequency or TSC scaling)";

#[test]
fn row_host_model_with_invtsc_required_is_refused_and_named_host_model() {
    let caps = invtsc_host();
    let v = running("host-model-invtsc", Some(&caps), DomainState::Running);
    assert!(!v.memory.allowed);
    assert_eq!(
        v.memory.explanation().as_deref(),
        Some(HOST_MODEL_INVTSC_TEXT)
    );
    assert_eq!(
        v.memory.remedy_actions,
        [
            Remedy::DiskOnly,
            Remedy::StopSnapshotStart,
            Remedy::PinTscFrequency { hz: HOST_TSC }
        ]
    );
}

#[test]
fn row_custom_with_invtsc_require_or_force_is_refused() {
    let caps = invtsc_host();
    for policy in ["require", "force"] {
        let cfg = domain(
            &format!(
                "<cpu mode='custom'><model>qemu64</model>\
                 <feature policy='{policy}' name='invtsc'/></cpu>"
            ),
            "",
            "",
        );
        let v = eval_one(&cfg, Some(&caps), DomainState::Running);
        assert!(!v.memory.allowed, "{policy}");
        let text = v.memory.explanation().unwrap();
        assert!(
            text.starts_with(
                "Memory snapshots are not supported with 'custom' (model qemu64) CPU.\n"
            ),
            "{text}"
        );
        assert!(text.contains(&format!(
            "invtsc is required by <feature policy='{policy}' name='invtsc'/>"
        )));
    }
}

#[test]
fn row_custom_with_invtsc_and_pinned_tsc_works() {
    let caps = invtsc_host();
    assert!(
        running("custom-invtsc-tsc", Some(&caps), DomainState::Running)
            .memory
            .allowed
    );
}

#[test]
fn row_custom_with_invtsc_optional_works() {
    let caps = invtsc_host();
    let cfg = domain(
        "<cpu mode='custom'><model>qemu64</model><feature policy='optional' name='invtsc'/></cpu>",
        "",
        "",
    );
    assert!(
        eval_one(&cfg, Some(&caps), DomainState::Running)
            .memory
            .allowed
    );
    assert!(
        running("custom-qemu64", Some(&caps), DomainState::Running)
            .memory
            .allowed
    );
}

#[test]
fn row_paused_vm_with_a_refused_configuration_is_refused() {
    let caps = invtsc_host();
    let v = running("hp-off", Some(&caps), DomainState::Paused);
    assert!(!v.memory.allowed && v.memory.applicable);
    assert_eq!(
        v.memory.explanation().as_deref(),
        Some(HOST_PASSTHROUGH_TEXT)
    );
}

#[test]
fn shut_off_and_crashed_are_not_applicable_but_disk_snapshots_work() {
    let caps = invtsc_host();
    let cfg = fixture("hp-off-inactive");
    for state in [DomainState::Shutoff, DomainState::Crashed] {
        let v = eval_one(&cfg, Some(&caps), state);
        assert!(!v.memory.applicable && !v.memory.allowed);
        assert!(v.memory.blockers.is_empty() && v.memory.remedies.is_empty());
        assert_eq!(v.memory.explanation(), None);
        assert!(v.disk_only.allowed);
        assert!(!v.disk_only.quiesce);
    }
}

#[test]
fn a_guest_suspended_to_ram_cannot_be_snapshotted_at_all() {
    let caps = invtsc_host();
    let v = running("host-model", Some(&caps), DomainState::Pmsuspended);
    assert!(v.memory.applicable && !v.memory.allowed);
    assert_eq!(kinds(&v), ["pmsuspended"]);
    assert!(!v.disk_only.allowed && !v.disk_only.quiesce);
    assert_eq!(
        v.memory.explanation().unwrap(),
        "Snapshots are not possible while the guest is suspended to RAM.\n\
         QEMU cannot take any snapshot of a guest in the pmsuspended state.\n\
         This is a limitation of libvirt/QEMU, not of virtsnap.\n\
         \n\
         Options:\n\
         1. Wake the guest up (virsh dompmwakeup), then take a snapshot\n\
         2. Stop the VM first, then take a snapshot"
    );
}

#[test]
fn feature_policies_on_non_migratable_host_passthrough() {
    let caps = invtsc_host();
    let expect = [
        ("force", false),
        ("require", false),
        // optional does not count, but migratable='off' still exposes the host's invtsc.
        ("optional", false),
        ("disable", true),
        ("forbid", true),
    ];
    for (policy, allowed) in expect {
        let cfg = domain(
            &format!(
                "<cpu mode='host-passthrough' migratable='off'>\
                 <feature policy='{policy}' name='invtsc'/></cpu>"
            ),
            "",
            "",
        );
        let v = eval_one(&cfg, Some(&caps), DomainState::Running);
        assert_eq!(v.memory.allowed, allowed, "{policy}");
    }
}

#[test]
fn feature_policies_on_host_model() {
    let caps = invtsc_host();
    let expect = [
        ("force", false),
        ("require", false),
        ("optional", true),
        ("disable", true),
        ("forbid", true),
    ];
    for (policy, allowed) in expect {
        let cfg = domain(
            &format!("<cpu mode='host-model'><feature policy='{policy}' name='invtsc'/></cpu>"),
            "",
            "",
        );
        let v = eval_one(&cfg, Some(&caps), DomainState::Running);
        assert_eq!(v.memory.allowed, allowed, "{policy}");
        assert_eq!(invtsc_in_effect(&cfg, Some(&caps)), !allowed, "{policy}");
    }
}

#[test]
fn explicit_invtsc_on_host_passthrough_suggests_host_model_without_it() {
    let caps = invtsc_host();
    let cfg = domain(
        "<cpu mode='host-passthrough'><feature policy='require' name='invtsc'/></cpu>",
        "",
        "",
    );
    let text = eval_one(&cfg, Some(&caps), DomainState::Running)
        .memory
        .explanation()
        .unwrap();
    assert!(text.contains(
        "3. Reconfigure the VM to use 'host-model' CPU instead of 'host-passthrough', without \
         the 'invtsc' feature\n"
    ));
}

#[test]
fn running_definition_decides_and_a_disagreeing_persistent_one_is_noted() {
    let caps = invtsc_host();
    // Running with a pinned TSC, but the definition on disk lost the pin.
    let persistent = fixture("hp-off-inactive");
    let live = fixture("hp-off-tsc-live");
    let v = evaluate(&RuleInput {
        persistent: &persistent,
        live: Some(&live),
        host: Some(&caps),
        state: DomainState::Running,
        libvirt_version: LIBVIRT_11_3,
    });
    assert!(v.memory.allowed);
    assert_eq!(
        v.memory.notes,
        [
            "the persistent definition differs from the running one: memory snapshots will be \
          blocked after the VM is restarted (the change applies at next boot)"
        ]
    );
    // And the other way round: fixed on disk, still blocked until the next boot.
    let persistent = fixture("hp-off-tsc-inactive");
    let live = fixture("hp-off-live");
    let v = evaluate(&RuleInput {
        persistent: &persistent,
        live: Some(&live),
        host: Some(&caps),
        state: DomainState::Paused,
        libvirt_version: LIBVIRT_11_3,
    });
    assert!(!v.memory.allowed);
    assert!(v.memory.notes[0].contains("will work after the VM is restarted"));
}

#[test]
fn without_capabilities_the_host_is_assumed_without_invtsc() {
    let v = running("hp-off", None, DomainState::Running);
    assert!(v.memory.allowed);
    assert_eq!(
        v.memory.notes,
        ["the host CPU is unknown (no capabilities): virtsnap assumed it has no invtsc"]
    );
    // An explicit invtsc needs no host knowledge; the pin option names no number.
    let v = running("host-model-invtsc", None, DomainState::Running);
    assert!(!v.memory.allowed);
    let text = v.memory.explanation().unwrap();
    assert!(text.contains("4. Pin the TSC frequency to the host's TSC frequency (keeps"));
    assert!(!v
        .memory
        .remedy_actions
        .iter()
        .any(|r| matches!(r, Remedy::PinTscFrequency { .. })));
}

#[test]
fn host_without_invtsc_lets_host_passthrough_through() {
    let caps = host("test-default");
    assert!(
        running("hp-off", Some(&caps), DomainState::Running)
            .memory
            .allowed
    );
    assert!(
        running("maximum", Some(&caps), DomainState::Running)
            .memory
            .allowed
    );
    assert!(
        !running("host-model-invtsc", Some(&caps), DomainState::Running)
            .memory
            .allowed
    );
    // The test driver's own domain has no <cpu> at all.
    assert!(
        running("test-default", Some(&caps), DomainState::Running)
            .memory
            .allowed
    );
}

const HOSTDEV: &str = "<hostdev mode='subsystem' type='pci' managed='yes'><source>\
     <address domain='0x0000' bus='0x03' slot='0x00' function='0x0'/></source></hostdev>";
const VIRTIOFS: &str = "<filesystem type='mount'><driver type='virtiofs'/><source dir='/srv'/>\
     <target dir='share'/></filesystem>";
const VDPA: &str = "<interface type='vdpa'><source dev='/dev/vhost-vdpa-0'/></interface>";

#[test]
fn a_pci_host_device_blocks_with_its_own_words() {
    let caps = invtsc_host();
    let cfg = domain("<cpu mode='host-model'/>", "", HOSTDEV);
    let v = eval_one(&cfg, Some(&caps), DomainState::Running);
    assert!(!v.memory.allowed);
    assert_eq!(kinds(&v), ["hostdev-pci"]);
    assert_eq!(
        v.memory.blockers[0].message,
        "The PCI host device 0000:03:00.0 cannot be migrated, so QEMU cannot save the VM's \
         memory state."
    );
    assert_eq!(
        v.memory.explanation().unwrap(),
        "Memory snapshots are not supported with the PCI host device 0000:03:00.0 attached.\n\
         This VM uses the PCI host device 0000:03:00.0, which prevents memory state capture.\n\
         This is a limitation of libvirt/QEMU, not of virtsnap.\n\
         \n\
         Options:\n\
         1. Create a disk-only snapshot (uncheck 'Include memory state')\n\
         2. Stop the VM first, then take a snapshot\n\
         3. Detach the PCI host device 0000:03:00.0 from the VM"
    );
    assert_eq!(
        v.memory.remedy_actions,
        [Remedy::DiskOnly, Remedy::StopSnapshotStart]
    );
}

#[test]
fn several_blockers_are_each_reported() {
    let caps = invtsc_host();
    let devices = format!("{HOSTDEV}{VDPA}{VIRTIOFS}");
    let cfg = domain("<cpu mode='maximum' migratable='off'/>", "", &devices);
    let v = eval_one(&cfg, Some(&caps), DomainState::Running);
    assert_eq!(kinds(&v), ["invtsc", "hostdev-pci", "vdpa"]);
    let text = v.memory.explanation().unwrap();
    assert!(text.starts_with("Memory snapshots are not supported with maximum CPU.\n"));
    assert!(text.contains(
        "\nThe VM also uses the PCI host device 0000:03:00.0 and the vDPA network interface \
         /dev/vhost-vdpa-0, which prevent memory state capture.\n"
    ));
    assert!(text.ends_with(
        "5. Detach the PCI host device 0000:03:00.0 and the vDPA network interface \
         /dev/vhost-vdpa-0 from the VM"
    ));
    // libvirt 11.3 lets virtiofs through when virtiofsd can migrate: a warning, not a refusal.
    let only_fs = domain("", "", VIRTIOFS);
    let v = eval_one(&only_fs, Some(&caps), DomainState::Running);
    assert!(v.memory.allowed && kinds(&v).is_empty());
    assert_eq!(v.memory.conditional_blockers[0].kind, "virtiofs");
    assert_eq!(v.memory.conditional_blockers[0].depends_on, "host");
}

#[test]
fn efi_internal_snapshots_depend_on_libvirt_version_and_nvram_format() {
    let caps = invtsc_host();
    let persistent = fixture("efi-inactive");
    let live = fixture("efi-live");
    let at = |version, live: &DomainConfig| {
        evaluate(&RuleInput {
            persistent: &persistent,
            live: Some(live),
            host: Some(&caps),
            state: DomainState::Running,
            libvirt_version: version,
        })
        .memory
    };
    // Captured with raw NVRAM: libvirt 11.3 said "internal snapshots of a VM with pflash based
    // firmware require QCOW2 nvram format".
    let m = at(LIBVIRT_11_3, &live);
    assert!(m.allowed && m.external && !m.internal);
    assert_eq!(
        m.notes,
        [
            "only an external memory snapshot works: pflash firmware (UEFI) needs qcow2 NVRAM for \
          an internal snapshot"
        ]
    );
    let m = at(10_008_000, &live);
    assert!(!m.internal);
    assert!(m.notes[0].contains("before libvirt 10.9"));
    let mut qcow2 = domain("", "", "");
    qcow2.firmware = live.firmware.clone().map(|mut f| {
        f.nvram_format = Some("qcow2".to_string());
        f
    });
    assert!(at(10_009_000, &qcow2).internal);
    assert!(!at(10_008_999, &qcow2).internal);
}

#[test]
fn internal_memory_snapshots_need_qcow2_disks() {
    let caps = invtsc_host();
    let mut cfg = domain("", "", "");
    cfg.disks[0].format = Some("raw".to_string());
    let v = eval_one(&cfg, Some(&caps), DomainState::Running);
    assert!(v.memory.allowed && v.memory.external && !v.memory.internal);
    assert!(
        v.memory.notes[0].contains("vda is not"),
        "{:?}",
        v.memory.notes
    );
}

#[test]
fn internal_memory_snapshots_need_every_disk_included() {
    // libvirt 11.3: "internal and full system snapshots require all disks to be selected".
    let excluded = "<disk type='file' device='disk' snapshot='no'><driver type='qcow2'/>\
                    <source file='/b'/><target dev='vdb'/></disk>";
    let cfg = domain("", "", excluded);
    let v = eval_one(&cfg, None, DomainState::Running);
    assert!(v.memory.allowed && !v.memory.internal);
    assert!(v
        .memory
        .notes
        .iter()
        .any(|n| n.contains("vdb is set to snapshot='no'")));
    // Disk-only still covers vda.
    assert!(v.disk_only.allowed);
}

fn disk_only_with(disks: &str) -> DiskOnlyVerdict {
    let xml = format!("<domain type='kvm'><name>t</name><devices>{disks}</devices></domain>");
    let cfg = DomainConfig::from_xml(&xml).unwrap();
    eval_one(&cfg, None, DomainState::Running).disk_only
}

#[test]
fn disk_types_decide_disk_only_snapshots() {
    let file = "<disk type='file' device='disk'><source file='/a'/><target dev='vda'/></disk>";
    let block = "<disk type='block' device='disk'><source dev='/dev/x'/><target dev='vdb'/></disk>";
    let cdrom = "<disk type='file' device='cdrom'><source file='/i.iso'/><target dev='sda'/>\
                 <readonly/></disk>";
    let network = "<disk type='network' device='disk'><source protocol='rbd' name='p/i'/>\
                   <target dev='vdc'/></disk>";
    let nvme = "<disk type='nvme' device='disk'><target dev='vdd'/></disk>";
    let skipped = "<disk type='network' device='disk' snapshot='no'><source protocol='rbd' \
                   name='p/j'/><target dev='vde'/></disk>";
    let lun = "<disk type='block' device='lun'><source dev='/dev/sdz'/><target dev='sdb'/></disk>";

    assert!(disk_only_with(&format!("{file}{block}{cdrom}{skipped}")).allowed);
    let v = disk_only_with(&format!("{file}{network}"));
    assert!(!v.allowed);
    assert_eq!(
        v.reason.as_deref(),
        Some("disk vdc is a network disk: libvirt cannot take an external snapshot of it")
    );
    assert!(!v.quiesce);
    assert!(disk_only_with(nvme)
        .reason
        .unwrap()
        .contains("an NVMe disk"));
    assert!(disk_only_with(lun)
        .reason
        .unwrap()
        .contains("SCSI passthrough"));
    assert_eq!(
        disk_only_with(skipped).reason.as_deref(),
        Some("every writable disk has snapshot='no'")
    );
    assert_eq!(
        disk_only_with(cdrom).reason.as_deref(),
        Some("the VM has no writable disk to snapshot")
    );
    assert!(!disk_only_with("").allowed);
}

#[test]
fn quiesce_needs_a_connected_guest_agent() {
    let agent = |state: &str| {
        format!(
            "<channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'{state}/>\
             </channel>"
        )
    };
    let v = eval_one(
        &domain("", "", &agent(" state='connected'")),
        None,
        DomainState::Running,
    );
    assert!(v.disk_only.allowed && v.disk_only.quiesce);
    assert_eq!(v.disk_only.quiesce_reason, None);
    let v = eval_one(
        &domain("", "", &agent(" state='disconnected'")),
        None,
        DomainState::Running,
    );
    assert!(!v.disk_only.quiesce);
    assert_eq!(
        v.disk_only.quiesce_reason.as_deref(),
        Some("the qemu-guest-agent channel is configured but the agent is not connected")
    );
    // Captured: a VM with the channel but no guest OS.
    let v = running("no-cpu", None, DomainState::Running);
    assert!(!v.disk_only.quiesce);
    assert!(v
        .disk_only
        .quiesce_reason
        .unwrap()
        .contains("not connected"));
    let v = eval_one(&domain("", "", ""), None, DomainState::Running);
    assert_eq!(
        v.disk_only.quiesce_reason.as_deref(),
        Some("no qemu-guest-agent channel (org.qemu.guest_agent.0) is configured")
    );
}

const LIBVIRT_INVTSC: &str = "Requested operation is not valid: cannot migrate domain: State \
                              blocked by non-migratable CPU device (invtsc flag)";

#[test]
fn libvirt_invtsc_errors_become_the_explained_text() {
    let caps = invtsc_host();
    let persistent = fixture("hp-off-inactive");
    let live = fixture("hp-off-live");
    let input = RuleInput {
        persistent: &persistent,
        live: Some(&live),
        host: Some(&caps),
        state: DomainState::Running,
        libvirt_version: LIBVIRT_11_3,
    };
    assert_eq!(
        explain_libvirt_error(LIBVIRT_INVTSC, &input).unwrap(),
        format!("{HOST_PASSTHROUGH_TEXT}\n\nlibvirt said: {LIBVIRT_INVTSC}")
    );
    let precheck = "unsupported configuration: domain has 'invtsc' CPU feature but TSC \
                    frequency is not specified";
    let text = explain_libvirt_error(precheck, &input).unwrap();
    assert!(text.ends_with(&format!("\n\nlibvirt said: {precheck}")));
    assert!(text.starts_with(HOST_PASSTHROUGH_TEXT));
    assert_eq!(
        explain_libvirt_error("Domain not found: no domain with matching name 'x'", &input),
        None
    );
}

#[test]
fn libvirt_errors_the_rule_missed_are_still_explained() {
    // No capabilities: the rule assumed no invtsc, libvirt says otherwise.
    let persistent = fixture("hp-off-inactive");
    let input = RuleInput {
        persistent: &persistent,
        live: Some(&persistent),
        host: None,
        state: DomainState::Running,
        libvirt_version: LIBVIRT_11_3,
    };
    let text = explain_libvirt_error(LIBVIRT_INVTSC, &input).unwrap();
    assert!(text.starts_with(
        "Memory snapshots are not supported with host-passthrough CPU.\n\
         This VM uses the 'invtsc' CPU flag which prevents memory state capture.\n\
         This is a limitation of libvirt/QEMU, not of virtsnap.\n\
         libvirt reports that invtsc is in effect and no TSC frequency is pinned.\n\nOptions:\n"
    ));
    assert!(text.contains("3. Reconfigure the VM to use 'host-model' CPU instead of"));
    let other = "Requested operation is not valid: cannot migrate domain: migration blocker \
                 from device foo";
    assert_eq!(
        explain_libvirt_error(other, &input).unwrap(),
        format!(
            "Memory snapshots are not supported for this VM right now.\n\
             QEMU reports a device or setting that cannot be migrated, which prevents memory \
             state capture.\n\
             This is a limitation of libvirt/QEMU, not of virtsnap.\n\
             \n\
             Options:\n\
             1. Create a disk-only snapshot (uncheck 'Include memory state')\n\
             2. Stop the VM first, then take a snapshot\n\
             \n\
             libvirt said: {other}"
        )
    );
}

#[test]
fn every_libvirt_migration_refusal_is_recognised() {
    let cfg = domain("", "", VDPA);
    let input = RuleInput {
        persistent: &cfg,
        live: Some(&cfg),
        host: None,
        state: DomainState::Running,
        libvirt_version: LIBVIRT_11_3,
    };
    for message in [
        "Requested operation is not valid: migration with virtiofs device is not supported",
        "Operation not supported: cannot migrate a domain with <hostdev mode='subsystem' \
         type='pci'>",
        "Requested operation is not valid: vDPA devices cannot be migrated",
        "Requested operation is not valid: shmem device 'x' cannot be migrated, only shmem \
         with role='master' can be migrated",
        "Requested operation is not valid: migration with transient disk is not supported",
        "Requested operation is not valid: cannot migrate domain: VFIO device doesn't support \
         migration",
        "Operation not supported: migration with this virtiofs device is not supported",
        "Operation not supported: the running swtpm does not support migration with shared \
         storage",
        "Requested operation is not valid: a slirp-helper cannot be migrated",
        "Requested operation is not valid: cannot migrate this domain without dbus-vmstate \
         support",
    ] {
        let text = explain_libvirt_error(message, &input).unwrap();
        // The rule saw the vDPA interface, so its own words lead.
        assert!(
            text.starts_with(
                "Memory snapshots are not supported with the vDPA network interface \
                 /dev/vhost-vdpa-0 attached."
            ),
            "{text}"
        );
        assert!(text.ends_with(&format!("libvirt said: {message}")));
    }
    for message in [
        "Requested operation is not valid: domain has active block job",
        "internal error: unable to execute QEMU command 'savevm': Error while writing VM state",
    ] {
        assert_eq!(explain_libvirt_error(message, &input), None, "{message}");
    }
}

#[test]
fn verdict_serializes_for_check_json() {
    let caps = invtsc_host();
    let v = running("hp-off", Some(&caps), DomainState::Running);
    let json = serde_json::to_value(&v).unwrap();
    assert_eq!(json["memory"]["allowed"], false);
    assert_eq!(json["memory"]["applicable"], true);
    assert_eq!(json["memory"]["blockers"][0]["kind"], "invtsc");
    assert_eq!(
        json["memory"]["remedies"][2],
        "Reconfigure the VM to use 'host-model' CPU instead of 'host-passthrough'"
    );
    assert_eq!(json["disk_only"]["allowed"], true);
    assert!(json["memory"].get("intro").is_none());
    assert!(json["memory"].get("remedy_actions").is_none());
}
