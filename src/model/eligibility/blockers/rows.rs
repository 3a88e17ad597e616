//! The rows: each blocker with its words, sources and how it was checked. "Real QEMU" means the
//! example ran as a KVM VM (libvirt 11.3, QEMU 10.0.2) in tests/blockers_kvm.rs and libvirt's
//! answer to a memory snapshot was compared with the row; "defined" means libvirt accepted and
//! normalised the example there but it cannot start on this host; "XML only" means neither.
//! QEMU's words were also found verbatim in the installed qemu-system-x86_64 10.0.2 binary, and
//! libvirt's in its QEMU driver module.

use super::{invtsc, BlockerRow, Checked, Condition, Example, Find, Fix, Place, Project, Source};
use crate::model::domain::blocking;

const fn qemu(file: &'static str, function: &'static str, says: &'static str) -> Source {
    Source {
        project: Project::Qemu,
        file,
        function,
        says: Some(says),
    }
}

/// A vmstate declared `.unmigratable = 1`: the place that makes the device non-migratable.
const fn vmstate(file: &'static str, variable: &'static str) -> Source {
    Source {
        project: Project::Qemu,
        file,
        function: variable,
        says: None,
    }
}

const fn libvirt(function: &'static str, says: &'static str) -> Source {
    Source {
        project: Project::Libvirt,
        file: "src/qemu/qemu_migration.c",
        function,
        says: Some(says),
    }
}

const NON_MIGRATABLE: &str = "non-migratable device: %s";
const LISTS_NON_MIGRATABLE: Source = qemu(
    "migration/savevm.c",
    "qemu_savevm_non_migratable_list",
    NON_MIGRATABLE,
);
/// libvirt's own host-device check; it only runs with a QEMU older than 6.0 (no
/// `blocked-reasons`), so 11.3 on QEMU 10 never says it.
const LIBVIRT_HOSTDEV: Source = libvirt(
    "qemuMigrationSrcIsAllowedHostdev",
    "cannot migrate a domain with <hostdev mode='subsystem' type='%1$s'>",
);
const VFIO: &str = "%s: VFIO migration is not supported in kernel";

pub static ROWS: &[BlockerRow] = &[
    // Real QEMU: tests/memory_rule_kvm.rs, 19 CPU configurations; qemu64 with invtsc required
    // again in tests/blockers_kvm.rs. The texts of the invtsc explanation are words.rs's.
    BlockerRow {
        kind: "invtsc",
        says: "State blocked by non-migratable CPU device (invtsc flag)",
        sources: &[
            qemu(
                "target/i386/kvm/kvm.c",
                "kvm_arch_init_vcpu",
                "State blocked by non-migratable CPU device (invtsc flag)",
            ),
            libvirt(
                "qemuMigrationSrcIsAllowed",
                "domain has 'invtsc' CPU feature but TSC frequency is not specified",
            ),
        ],
        condition: Condition::Always,
        checked: Checked::RealQemu,
        noun: "invariant TSC (invtsc) without a pinned TSC frequency",
        quote_detail: false,
        blocks: "prevents migration",
        fix: Fix::Nothing,
        find: Find::WithHost(invtsc),
        example: Example {
            place: Place::Domain,
            xml: "<cpu mode='custom' match='exact' check='none'><model fallback='forbid'>qemu64\
                  </model><feature policy='require' name='invtsc'/>\
                  <feature policy='disable' name='svm'/></cpu>",
        },
    },
    // Defined and started: this nested host's KVM offers no Hyper-V enlightenments (domain
    // capabilities list only spinlocks and vendor_id), so QEMU enabled none, registered no
    // blocker, and a memory snapshot worked here. On a host whose KVM has Hyper-V support
    // (KVM_CAP_HYPERV, any usual one) hyperv_init_vcpu registers the blocker.
    BlockerRow {
        kind: "hyperv-passthrough",
        says: "'hv-passthrough' CPU flag prevents migration, use explicit set of hv-* flags \
               instead",
        sources: &[qemu(
            "target/i386/kvm/kvm.c",
            "hyperv_init_vcpu",
            "'hv-passthrough' CPU flag prevents migration, use explicit set of hv-* flags \
             instead",
        )],
        condition: Condition::Always,
        checked: Checked::Defined(
            "starts here, but this host's KVM has no Hyper-V enlightenments, so QEMU registers \
             no blocker here",
        ),
        noun: "Hyper-V passthrough (<hyperv mode='passthrough'/>)",
        quote_detail: false,
        blocks: "prevents migration",
        fix: Fix::Text(
            "Replace <hyperv mode='passthrough'/> with the Hyper-V features the guest needs, \
             listed one by one",
        ),
        find: Find::Config(blocking::hyperv_passthrough),
        example: Example {
            place: Place::Domain,
            xml: "<features><acpi/><hyperv mode='passthrough'/></features>",
        },
    },
    // XML only: libvirt refuses to define it on a host without SEV ("'sev' launch security is
    // not supported with this QEMU binary"). SEV-ES is type='sev' with policy bit 2 and gets
    // the same blocker from the same function.
    BlockerRow {
        kind: "launch-security-sev",
        says: "SEV: Migration is not implemented",
        sources: &[qemu(
            "target/i386/sev.c",
            "sev_launch_finish",
            "SEV: Migration is not implemented",
        )],
        condition: Condition::Always,
        checked: Checked::XmlOnly("no AMD SEV on this host; libvirt refuses to define it"),
        noun: "AMD SEV memory encryption",
        quote_detail: false,
        blocks: "prevents migration",
        fix: Fix::Nothing,
        find: Find::Config(blocking::sev),
        example: Example {
            place: Place::Domain,
            xml: "<launchSecurity type='sev'><cbitpos>47</cbitpos>\
                  <reducedPhysBits>1</reducedPhysBits><policy>0x0003</policy></launchSecurity>",
        },
    },
    // XML only, as SEV. TDX needs QEMU 10.1 and a later libvirt; s390 protected
    // virtualization (type='s390-pv') is not x86.
    BlockerRow {
        kind: "launch-security-sev-snp",
        says: "SEV-SNP: Migration is not implemented",
        sources: &[qemu(
            "target/i386/sev.c",
            "sev_snp_launch_finish",
            "SEV-SNP: Migration is not implemented",
        )],
        condition: Condition::Always,
        checked: Checked::XmlOnly("no AMD SEV-SNP on this host; libvirt refuses to define it"),
        noun: "AMD SEV-SNP memory encryption",
        quote_detail: false,
        blocks: "prevents migration",
        fix: Fix::Nothing,
        find: Find::Config(blocking::sev_snp),
        example: Example {
            place: Place::Domain,
            xml: "<launchSecurity type='sev-snp'><policy>0x00030000</policy></launchSecurity>",
        },
    },
    // Defined only (no PCI function to assign here). A VF whose VFIO variant driver supports
    // migration (mlx5, hisi_acc, ...) registers no blocker; the XML cannot show the host
    // driver, so the rule assumes the usual case.
    BlockerRow {
        kind: "hostdev-pci",
        says: VFIO,
        sources: &[
            qemu("hw/vfio/migration.c", "vfio_migration_realize", VFIO),
            LIBVIRT_HOSTDEV,
        ],
        condition: Condition::Always,
        checked: Checked::Defined("no PCI device to assign on this host"),
        noun: "the PCI host device",
        quote_detail: false,
        blocks: "cannot be migrated",
        fix: Fix::Detach,
        find: Find::Config(blocking::hostdev_pci),
        example: Example {
            place: Place::Devices,
            xml: "<hostdev mode='subsystem' type='pci' managed='yes'><source>\
                  <address domain='0x0000' bus='0x03' slot='0x00' function='0x0'/></source>\
                  </hostdev>",
        },
    },
    // Defined only (no mediated device here); the same VFIO code as a PCI function.
    BlockerRow {
        kind: "hostdev-mdev",
        says: VFIO,
        sources: &[
            qemu("hw/vfio/migration.c", "vfio_migration_realize", VFIO),
            LIBVIRT_HOSTDEV,
        ],
        condition: Condition::Always,
        checked: Checked::Defined("no mediated device on this host"),
        noun: "the mediated device",
        quote_detail: false,
        blocks: "cannot be migrated",
        fix: Fix::Detach,
        find: Find::Config(blocking::hostdev_mdev),
        example: Example {
            place: Place::Devices,
            xml: "<hostdev mode='subsystem' type='mdev' model='vfio-pci'><source>\
                  <address uuid='c2177883-f1bb-47f0-914d-32a22e3a8804'/></source></hostdev>",
        },
    },
    // Defined only: no vhost-scsi kernel module (/dev/vhost-scsi) here. libvirt has no XML for
    // QEMU's 'migratable' property, so QEMU's default (false) always applies.
    BlockerRow {
        kind: "vhost-scsi",
        says: "vhost-scsi does not support migration in all cases. When external environment \
               supports it (Orchestrator migrates target SCSI device state or use shared storage \
               over network), set 'migratable' property to true to enable migration.",
        sources: &[
            qemu(
                "hw/scsi/vhost-scsi.c",
                "vhost_scsi_realize",
                "vhost-scsi does not support migration in all cases. When external \
                 environment supports it (Orchestrator migrates target SCSI device state or \
                 use shared storage over network), set 'migratable' property to true to \
                 enable migration.",
            ),
            LIBVIRT_HOSTDEV,
        ],
        condition: Condition::Always,
        checked: Checked::Defined("no vhost-scsi kernel module on this host"),
        noun: "the vhost-scsi host device",
        quote_detail: false,
        blocks: "cannot be migrated",
        fix: Fix::Detach,
        find: Find::Config(blocking::vhost_scsi),
        example: Example {
            place: Place::Devices,
            xml: "<hostdev mode='subsystem' type='scsi_host'>\
                  <source protocol='vhost' wwpn='naa.5123456789abcde0'/></hostdev>",
        },
    },
    // Defined only (no vDPA device here). libvirt's own "vDPA devices cannot be migrated" only
    // runs without blocked-reasons; QEMU refuses when the device lacks dirty-page logging,
    // which the rule assumes, as libvirt itself did.
    BlockerRow {
        kind: "vdpa",
        says: "Migration disabled: vhost lacks VHOST_F_LOG_ALL feature.",
        sources: &[
            qemu(
                "hw/virtio/vhost.c",
                "vhost_dev_init",
                "Migration disabled: vhost lacks VHOST_F_LOG_ALL feature.",
            ),
            libvirt(
                "qemuMigrationSrcIsAllowed",
                "vDPA devices cannot be migrated",
            ),
        ],
        condition: Condition::Always,
        checked: Checked::Defined("no vDPA device on this host"),
        noun: "the vDPA network interface",
        quote_detail: false,
        blocks: "cannot be migrated",
        fix: Fix::Detach,
        find: Find::Config(blocking::vdpa),
        example: Example {
            place: Place::Devices,
            xml: "<interface type='vdpa'><source dev='/dev/vhost-vdpa-0'/>\
                  <model type='virtio'/></interface>",
        },
    },
    // Defined only (no vhost-user back-end here). Back-ends such as OVS-DPDK offer the
    // feature, so this is a warning, not a refusal.
    BlockerRow {
        kind: "vhost-user",
        says: "Migration disabled: vhost-user backend lacks VHOST_USER_PROTOCOL_F_LOG_SHMFD \
               feature.",
        sources: &[qemu(
            "hw/virtio/vhost-user.c",
            "vhost_user_backend_init",
            "Migration disabled: vhost-user backend lacks VHOST_USER_PROTOCOL_F_LOG_SHMFD \
             feature.",
        )],
        condition: Condition::Backend {
            unless: "if the vhost-user back-end of {} supports dirty-page logging \
                     (VHOST_USER_PROTOCOL_F_LOG_SHMFD)",
            now: "the vhost-user back-end of {} lacks dirty-page logging",
        },
        checked: Checked::Defined("no vhost-user back-end on this host"),
        noun: "the vhost-user network interface",
        quote_detail: false,
        blocks: "cannot be migrated",
        fix: Fix::Text("Use a vhost-user back-end for {} that supports dirty-page logging"),
        find: Find::Config(blocking::vhost_user_net),
        example: Example {
            place: Place::VhostUserDevices,
            xml: "<interface type='vhostuser'><source type='unix' path='/run/vhu0.sock' \
                  mode='client'/><model type='virtio'/></interface>",
        },
    },
    // Real QEMU (blockers_kvm): the VM has no guest OS, so the share is never mounted, and the
    // memory snapshot works. With a real guest (tests/guest_9p.rs): QEMU registers the blocker
    // when the guest mounts the export (v9fs_attach) and drops it when the guest unmounts it.
    BlockerRow {
        kind: "9p",
        says: "Migration is disabled when VirtFS export path '%s' is mounted in the guest \
               using mount_tag '%s'",
        sources: &[qemu(
            "hw/9pfs/9p.c",
            "v9fs_attach",
            "Migration is disabled when VirtFS export path '%s' is mounted in the guest using \
             mount_tag '%s'",
        )],
        condition: Condition::Guest {
            until: "once the guest mounts {}",
            now: "the guest has mounted {}",
        },
        checked: Checked::RealQemu,
        noun: "the 9p share",
        quote_detail: true,
        blocks: "cannot be migrated while the guest has it mounted",
        fix: Fix::Text("Unmount {} in the guest (or detach it), then take the snapshot"),
        find: Find::Config(blocking::nine_p),
        example: Example {
            place: Place::Devices,
            xml: "<filesystem type='mount' accessmode='passthrough'><driver type='path'/>\
                  <source dir='@DIR@'/><target dir='hostshare'/><readonly/></filesystem>",
        },
    },
    // Defined only (no virtiofsd here). libvirt 11.3 lets it through when it did not start
    // virtiofsd itself (<source socket=...>) or when virtiofsd's vhost-user descriptor lists
    // 'migrate-precopy'; QEMU then asks the back-end for its state ("Back-end of %s device %s
    // (tag: \"%s\") does not support migration through qemu" otherwise).
    BlockerRow {
        kind: "virtiofs",
        says: "migration with this virtiofs device is not supported",
        sources: &[
            libvirt(
                "qemuMigrationSrcIsAllowed",
                "migration with this virtiofs device is not supported",
            ),
            qemu(
                "hw/virtio/vhost-user-fs.c",
                "the back-end state vmstate (vuf_save_state)",
                "Back-end of %s device %s (tag: \"%s\") does not support migration through qemu",
            ),
        ],
        condition: Condition::Backend {
            unless: "if the virtiofsd serving {} supports migration (libvirt checks for its \
                     'migrate-precopy' feature)",
            now: "the virtiofsd serving {} does not support migration",
        },
        checked: Checked::Defined("no virtiofsd on this host"),
        noun: "the virtiofs share",
        quote_detail: false,
        blocks: "cannot be migrated",
        fix: Fix::Text("Detach {}, or use a virtiofsd that supports migration"),
        find: Find::Config(blocking::virtiofs),
        example: Example {
            place: Place::VhostUserDevices,
            xml: "<filesystem type='mount' accessmode='passthrough'><driver type='virtiofs'/>\
                  <source dir='@DIR@'/><target dir='share'/></filesystem>",
        },
    },
    // Real QEMU, without role and with role='peer': QEMU's blocker comes first, so libvirt's
    // own role check (second source) is never reached. role='master' works (NOT_BLOCKERS).
    BlockerRow {
        kind: "shmem",
        says: "Migration is disabled when using feature 'peer mode' in device 'ivshmem'",
        sources: &[
            qemu(
                "hw/misc/ivshmem.c",
                "ivshmem_common_realize",
                "Migration is disabled when using feature 'peer mode' in device 'ivshmem'",
            ),
            libvirt(
                "qemuMigrationSrcIsAllowed",
                "shmem device '%1$s' cannot be migrated, only shmem with role='%2$s' can be \
                 migrated",
            ),
        ],
        condition: Condition::Always,
        checked: Checked::RealQemu,
        noun: "the shared memory device",
        quote_detail: false,
        blocks: "cannot be migrated",
        fix: Fix::Detach,
        find: Find::Config(blocking::shmem),
        example: Example {
            place: Place::Devices,
            xml: "<shmem name='virtsnap-test-shm'><model type='ivshmem-plain'/>\
                  <size unit='M'>4</size></shmem>",
        },
    },
    // Real QEMU.
    BlockerRow {
        kind: "transient-disk",
        says: "migration with transient disk is not supported",
        sources: &[libvirt(
            "qemuMigrationSrcIsAllowed",
            "migration with transient disk is not supported",
        )],
        condition: Condition::Always,
        checked: Checked::RealQemu,
        noun: "the transient disk",
        quote_detail: false,
        blocks: "cannot be migrated",
        fix: Fix::Detach,
        find: Find::Config(blocking::transient_disk),
        example: Example {
            place: Place::Devices,
            xml: "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>\
                  <source file='@DIR@/transient.qcow2'/><target dev='vdb' bus='virtio'/>\
                  <transient/></disk>",
        },
    },
    // Real QEMU with a vmdk disk; a read-only vdi CD-ROM was refused the same way by hand.
    // Each driver's open function registers it (block/vmdk.c, vdi.c, vhdx.c, vpc.c,
    // parallels.c, qcow.c); vvfat only read-write, which libvirt refuses to define.
    BlockerRow {
        kind: "disk-format",
        says: "The %s format used by node '%s' does not support live migration",
        sources: &[qemu(
            "block/vmdk.c",
            "vmdk_open",
            "The vmdk format used by node '%s' does not support live migration",
        )],
        condition: Condition::Always,
        checked: Checked::RealQemu,
        noun: "the disk",
        quote_detail: false,
        blocks: "uses an image format QEMU cannot migrate",
        fix: Fix::Text("Convert {} to qcow2 (qemu-img convert) while the VM is stopped"),
        find: Find::Config(blocking::disk_format),
        example: Example {
            place: Place::Devices,
            xml: "<disk type='file' device='disk'><driver name='qemu' type='vmdk'/>\
                  <source file='@DIR@/old.vmdk'/><target dev='vdb' bus='virtio'/></disk>",
        },
    },
    // Real QEMU: "non-migratable device: 0000:00:02.0/1/usb-audio".
    BlockerRow {
        kind: "usb-audio",
        says: NON_MIGRATABLE,
        sources: &[
            LISTS_NON_MIGRATABLE,
            vmstate("hw/usb/dev-audio.c", "vmstate_usb_audio"),
        ],
        condition: Condition::Always,
        checked: Checked::RealQemu,
        noun: "the USB audio device (<sound model='usb'>)",
        quote_detail: false,
        blocks: "cannot be migrated",
        fix: Fix::Detach,
        find: Find::Config(blocking::usb_audio),
        example: Example {
            place: Place::Devices,
            xml: "<controller type='usb' model='qemu-xhci'/><sound model='usb'/>\
                  <audio id='1' type='none'/>",
        },
    },
    // Real QEMU: "non-migratable device: 0000:00:02.0/1/usb-serial".
    BlockerRow {
        kind: "usb-serial",
        says: NON_MIGRATABLE,
        sources: &[
            LISTS_NON_MIGRATABLE,
            vmstate("hw/usb/dev-serial.c", "vmstate_usb_serial"),
        ],
        condition: Condition::Always,
        checked: Checked::RealQemu,
        noun: "the USB serial port",
        quote_detail: false,
        blocks: "cannot be migrated",
        fix: Fix::Detach,
        find: Find::Config(blocking::usb_serial),
        example: Example {
            place: Place::Devices,
            xml: "<controller type='usb' model='qemu-xhci'/><serial type='pty'>\
                  <target type='usb-serial' port='0'><model name='usb-serial'/></target>\
                  </serial>",
        },
    },
    // Real QEMU: "non-migratable device: 0000:00:03.0/virtio-crypto".
    BlockerRow {
        kind: "virtio-crypto",
        says: NON_MIGRATABLE,
        sources: &[
            LISTS_NON_MIGRATABLE,
            vmstate("hw/virtio/virtio-crypto.c", "vmstate_virtio_crypto"),
        ],
        condition: Condition::Always,
        checked: Checked::RealQemu,
        noun: "the virtio-crypto device",
        quote_detail: false,
        blocks: "cannot be migrated",
        fix: Fix::Detach,
        find: Find::Config(blocking::virtio_crypto),
        example: Example {
            place: Place::Devices,
            xml: "<crypto model='virtio' type='qemu'><backend model='builtin' queues='1'/>\
                  </crypto>",
        },
    },
    // Defined only (no input device to pass through here).
    BlockerRow {
        kind: "virtio-input-host",
        says: NON_MIGRATABLE,
        sources: &[
            LISTS_NON_MIGRATABLE,
            vmstate("hw/input/virtio-input-host.c", "vmstate_virtio_input_host"),
        ],
        condition: Condition::Always,
        checked: Checked::Defined("no evdev input device to pass through on this host"),
        noun: "the passed-through input device",
        quote_detail: false,
        blocks: "cannot be migrated",
        fix: Fix::Detach,
        find: Find::Config(blocking::virtio_input_host),
        example: Example {
            place: Place::Devices,
            xml: "<input type='passthrough' bus='virtio'><source evdev='/dev/input/event1'/>\
                  </input>",
        },
    },
    // Defined only (no vhost-user-gpu back-end binary here).
    BlockerRow {
        kind: "vhost-user-gpu",
        says: NON_MIGRATABLE,
        sources: &[
            LISTS_NON_MIGRATABLE,
            vmstate(
                "hw/display/vhost-user-gpu.c",
                "its vmstate (.unmigratable = 1)",
            ),
        ],
        condition: Condition::Always,
        checked: Checked::Defined("no vhost-user-gpu back-end on this host"),
        noun: "the vhost-user GPU (<video><driver name='vhostuser'/>)",
        quote_detail: false,
        blocks: "cannot be migrated",
        fix: Fix::Detach,
        find: Find::Config(blocking::vhost_user_gpu),
        example: Example {
            place: Place::VhostUserDevices,
            xml: "<video><driver name='vhostuser'/><model type='virtio' heads='1'/></video>",
        },
    },
    // Real QEMU.
    BlockerRow {
        kind: "qemu-vdagent",
        says: "The vdagent chardev doesn't yet support migration",
        sources: &[qemu(
            "ui/vdagent.c",
            "vdagent_chr_open",
            "The vdagent chardev doesn't yet support migration",
        )],
        condition: Condition::Always,
        checked: Checked::RealQemu,
        noun: "the QEMU vdagent channel (<channel type='qemu-vdagent'>)",
        quote_detail: false,
        blocks: "cannot be migrated",
        fix: Fix::Detach,
        find: Find::Config(blocking::qemu_vdagent),
        example: Example {
            place: Place::Devices,
            xml: "<channel type='qemu-vdagent'><source><clipboard copypaste='yes'/>\
                  <mouse mode='client'/></source>\
                  <target type='virtio' name='com.redhat.spice.0'/></channel>",
        },
    },
];
