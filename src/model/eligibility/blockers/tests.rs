//! The walk over the blocker table: every row fires on its own example and on nothing else,
//! its verdict and words follow from the row, and every "not a blocker" stays one.

use super::*;
use crate::model::domain::DomainState;
use crate::model::eligibility::{evaluate, explain_libvirt_error, RuleInput, Verdict};
use crate::model::fixtures::host;

const LIBVIRT_11_3: u64 = 11_003_000;

/// A running KVM domain with one qcow2 disk and `example` in its place.
fn domain_with(example: Option<&Example>) -> DomainConfig {
    let (top, devices) = match example {
        Some(Example {
            place: Place::Domain,
            xml,
        }) => (*xml, ""),
        Some(Example { place, xml }) => (place.memory_backing(), *xml),
        None => ("", ""),
    };
    let xml = format!(
        "<domain type='kvm'><name>t</name><memory unit='MiB'>64</memory>{top}<devices>\
         <disk type='file' device='disk'><driver name='qemu' type='qcow2'/>\
         <source file='/tmp/t.qcow2'/><target dev='vda'/></disk>{devices}</devices></domain>"
    )
    .replace("@DIR@", "/srv/virtsnap-example");
    DomainConfig::from_xml(&xml).unwrap()
}

fn running(cfg: &DomainConfig) -> Verdict {
    let caps = host("qemu-system");
    evaluate(&RuleInput {
        persistent: cfg,
        live: Some(cfg),
        host: Some(&caps),
        state: DomainState::Running,
        libvirt_version: LIBVIRT_11_3,
    })
}

fn kinds_found(cfg: &DomainConfig) -> Vec<&'static str> {
    let caps = host("qemu-system");
    findings(cfg, Some(&caps))
        .iter()
        .map(|f| f.row.kind)
        .collect()
}

#[test]
fn every_row_fires_on_its_example_and_nothing_fires_on_a_plain_domain() {
    assert!(kinds_found(&domain_with(None)).is_empty());
    assert!(running(&domain_with(None)).memory.allowed);
    for row in ROWS {
        let cfg = domain_with(Some(&row.example));
        assert_eq!(
            kinds_found(&cfg),
            [row.kind],
            "{}: {}",
            row.kind,
            row.example.xml
        );
    }
}

#[test]
fn blocking_devices_lists_exactly_the_refusing_device_rows() {
    use crate::model::domain::blocking::REFUSING_DEVICES;
    for (kind, _) in REFUSING_DEVICES {
        let row = row(kind).unwrap_or_else(|| panic!("{kind} is not a row"));
        assert!(!row.is_conditional(), "{kind}");
    }
    for row in ROWS {
        let cfg = domain_with(Some(&row.example));
        let listed: Vec<&str> = cfg
            .blocking_devices
            .iter()
            .map(|d| d.kind.as_str())
            .collect();
        if REFUSING_DEVICES.iter().any(|(kind, _)| *kind == row.kind) {
            assert_eq!(listed, [row.kind]);
            let finding = findings(&cfg, None).remove(0);
            assert_eq!(cfg.blocking_devices[0], finding.as_device());
        } else {
            assert!(listed.is_empty(), "{}: {listed:?}", row.kind);
        }
    }
}

#[test]
fn every_row_decides_the_verdict_with_its_own_words() {
    for row in ROWS {
        let cfg = domain_with(Some(&row.example));
        let memory = running(&cfg).memory;
        let finding = findings(&cfg, None)
            .into_iter()
            .find(|f| f.row.kind == row.kind);
        if row.is_conditional() {
            assert!(memory.allowed, "{}", row.kind);
            assert!(memory.blockers.is_empty(), "{}", row.kind);
            let conditional = &memory.conditional_blockers;
            assert_eq!(conditional.len(), 1, "{}", row.kind);
            assert_eq!(conditional[0].kind, row.kind);
            let finding = finding.unwrap();
            assert_eq!(
                Some(conditional[0].message.clone()),
                finding.conditional_message()
            );
            assert!(conditional[0].message.contains(&finding.phrase()));
            continue;
        }
        assert!(!memory.allowed, "{}", row.kind);
        assert!(memory.conditional_blockers.is_empty(), "{}", row.kind);
        let blocker_kinds: Vec<&str> = memory.blockers.iter().map(|b| b.kind.as_str()).collect();
        assert_eq!(blocker_kinds, [row.kind]);
        let text = memory.explanation().unwrap();
        assert!(
            text.contains("\n\nOptions:\n1. Create a disk-only snapshot"),
            "{text}"
        );
        if row.kind == "invtsc" {
            continue;
        }
        let finding = finding.unwrap();
        assert_eq!(memory.blockers[0].message, finding.message());
        assert!(text.contains(&finding.phrase()), "{text}");
        match row.fix {
            Fix::Detach => {
                assert!(text.ends_with(&format!("3. Detach {} from the VM", finding.phrase())))
            }
            Fix::Text(_) => assert!(text.ends_with(&finding.fix_line().unwrap()), "{text}"),
            Fix::Nothing => assert!(text.ends_with("2. Stop the VM first, then take a snapshot")),
        }
    }
}

#[test]
fn every_row_is_documented_and_recognises_its_own_words() {
    let mut kinds: Vec<&str> = ROWS.iter().map(|r| r.kind).collect();
    kinds.sort_unstable();
    kinds.dedup();
    assert_eq!(kinds.len(), ROWS.len(), "kinds are unique");
    // Kinds that `check --json` has printed since before the table stay.
    for old in [
        "invtsc",
        "hostdev-pci",
        "hostdev-mdev",
        "virtiofs",
        "vdpa",
        "shmem",
        "transient-disk",
    ] {
        assert!(row(old).is_some(), "{old}");
    }
    for row in ROWS {
        let first = row.sources.first().unwrap();
        let first_says = first.says.unwrap();
        assert!(says_match(row.says, first_says), "{}", row.kind);
        assert!(!first.file.is_empty() && !first.function.is_empty());
        match row.checked {
            Checked::RealQemu => {}
            Checked::Defined(why) | Checked::XmlOnly(why) => assert!(!why.is_empty()),
        }
        // What libvirt returns, placeholders filled in, is recognised as this row's.
        let filled = literal_pieces(row.says).join("X");
        let message = match row.refused_by() {
            Project::Qemu => {
                format!("Requested operation is not valid: cannot migrate domain: {filled}")
            }
            Project::Libvirt => format!("Operation not supported: {filled}"),
        };
        assert!(says_match(row.says, &message), "{}: {message}", row.kind);
    }
}

#[test]
fn what_is_not_a_blocker_stays_allowed() {
    for item in NOT_BLOCKERS {
        let cfg = domain_with(Some(&item.example));
        assert!(kinds_found(&cfg).is_empty(), "{}", item.what);
        let memory = running(&cfg).memory;
        assert!(memory.allowed, "{}", item.what);
        assert!(memory.conditional_blockers.is_empty(), "{}", item.what);
        assert!(!item.why.is_empty() && !item.source.file.is_empty());
    }
}

#[test]
fn placeholders_split_the_words() {
    assert_eq!(
        literal_pieces("shmem device '%1$s' cannot be migrated, only shmem with role='%2$s' can"),
        [
            "shmem device '",
            "' cannot be migrated, only shmem with role='",
            "' can"
        ]
    );
    assert_eq!(
        literal_pieces("%s: VFIO migration is not supported in kernel"),
        [": VFIO migration is not supported in kernel"]
    );
    assert!(says_match(
        "The %s format used by node '%s' does not support live migration",
        "cannot migrate domain: The vdi format used by node 'libvirt-1-format' does not \
         support live migration"
    ));
    assert!(!says_match("%s", "anything"));
    assert!(!says_match(
        "non-migratable device: %s",
        "migratable device"
    ));
}

const NINE_P: &str = "<filesystem type='mount' accessmode='passthrough'><driver type='path'/>\
                      <source dir='/srv'/><target dir='hostshare'/></filesystem>";

#[test]
fn a_9p_share_warns_and_its_refusal_is_explained_once_mounted() {
    let cfg = domain_with(Some(&Example {
        place: Place::Devices,
        xml: NINE_P,
    }));
    let memory = running(&cfg).memory;
    assert!(memory.allowed && memory.internal && memory.external);
    assert_eq!(memory.explanation(), None);
    assert_eq!(memory.conditional_blockers.len(), 1);
    let warning = &memory.conditional_blockers[0];
    assert_eq!(warning.kind, "9p");
    assert_eq!(warning.depends_on, "guest");
    assert_eq!(
        warning.message,
        "Memory state can be captured now, but QEMU will refuse it once the guest mounts the \
         9p share 'hostshare'."
    );
    let json = serde_json::to_value(&memory).unwrap();
    assert_eq!(json["conditional_blockers"][0]["kind"], "9p");
    assert_eq!(json["conditional_blockers"][0]["depends_on"], "guest");

    let said = "Requested operation is not valid: cannot migrate domain: Migration is disabled \
                when VirtFS export path '/srv' is mounted in the guest using mount_tag \
                'hostshare'";
    let input = RuleInput {
        persistent: &cfg,
        live: Some(&cfg),
        host: None,
        state: DomainState::Running,
        libvirt_version: LIBVIRT_11_3,
    };
    assert_eq!(
        explain_libvirt_error(said, &input).unwrap(),
        format!(
            "Memory snapshots are not supported for this VM right now.\n\
             The guest has mounted the 9p share 'hostshare', which prevents memory state \
             capture.\n\
             This is a limitation of libvirt/QEMU, not of virtsnap.\n\
             \n\
             Options:\n\
             1. Create a disk-only snapshot (uncheck 'Include memory state')\n\
             2. Stop the VM first, then take a snapshot\n\
             3. Unmount the 9p share 'hostshare' in the guest (or detach it), then take the \
             snapshot\n\
             \n\
             libvirt said: {said}"
        )
    );
}

#[test]
fn a_setting_is_named_without_attached_and_gets_its_own_remedy() {
    let cfg = domain_with(Some(&row("hyperv-passthrough").unwrap().example));
    let text = running(&cfg).memory.explanation().unwrap();
    assert_eq!(
        text,
        "Memory snapshots are not supported with Hyper-V passthrough (<hyperv \
         mode='passthrough'/>).\n\
         This VM uses Hyper-V passthrough (<hyperv mode='passthrough'/>), which prevents memory \
         state capture.\n\
         This is a limitation of libvirt/QEMU, not of virtsnap.\n\
         \n\
         Options:\n\
         1. Create a disk-only snapshot (uncheck 'Include memory state')\n\
         2. Stop the VM first, then take a snapshot\n\
         3. Replace <hyperv mode='passthrough'/> with the Hyper-V features the guest needs, \
         listed one by one"
    );
}

#[test]
fn sev_es_is_named_and_a_vmdk_disk_says_which_disk() {
    let es = domain_with(Some(&Example {
        place: Place::Domain,
        xml: "<launchSecurity type='sev'><policy>0x0007</policy></launchSecurity>",
    }));
    let memory = running(&es).memory;
    assert_eq!(
        memory.blockers[0].message,
        "AMD SEV memory encryption (SEV-ES) prevents migration, so QEMU cannot save the VM's \
         memory state."
    );
    let vmdk = domain_with(Some(&row("disk-format").unwrap().example));
    let memory = running(&vmdk).memory;
    assert_eq!(
        memory.blockers[0].message,
        "The disk vdb (vmdk) uses an image format QEMU cannot migrate, so QEMU cannot save the \
         VM's memory state."
    );
    assert!(memory.remedies.contains(
        &"Convert the disk vdb (vmdk) to qcow2 (qemu-img convert) while the VM is \
                    stopped"
            .to_string()
    ));
}

#[test]
fn libvirt_refusals_and_conditions_mix() {
    // A transient disk (libvirt refuses) and an external virtiofsd (a warning).
    let cfg = domain_with(Some(&Example {
        place: Place::Devices,
        xml: "<disk type='file' device='disk'><driver type='qcow2'/><source file='/t.qcow2'/>\
              <target dev='vdb'/><transient/></disk>\
              <filesystem type='mount'><driver type='virtiofs'/>\
              <source socket='/run/vfs.sock'/><target dir='ext'/></filesystem>",
    }));
    let memory = running(&cfg).memory;
    assert!(!memory.allowed);
    assert_eq!(
        memory.blockers[0].message,
        "The transient disk vdb cannot be migrated, so libvirt cannot save the VM's memory \
         state."
    );
    assert_eq!(
        memory.conditional_blockers[0].message,
        "Memory state can be captured only if the virtiofsd serving the virtiofs share ext \
         supports migration (libvirt checks for its 'migrate-precopy' feature); otherwise \
         libvirt refuses it."
    );
}

#[test]
fn a_virtiofsd_without_migration_is_explained_when_libvirt_refuses() {
    let cfg = domain_with(Some(&row("virtiofs").unwrap().example));
    let input = RuleInput {
        persistent: &cfg,
        live: Some(&cfg),
        host: None,
        state: DomainState::Running,
        libvirt_version: LIBVIRT_11_3,
    };
    let said = "Operation not supported: migration with this virtiofs device is not supported";
    let text = explain_libvirt_error(said, &input).unwrap();
    assert!(
        text.starts_with(
            "Memory snapshots are not supported for this VM right now.\n\
             The virtiofsd serving the virtiofs share share does not support migration, which \
             prevents memory state capture.\n"
        ),
        "{text}"
    );
    assert!(text.contains(
        "\n3. Detach the virtiofs share share, or use a virtiofsd that supports migration\n"
    ));
}
