//! What was checked and does NOT stop libvirt 11.3 / QEMU 10.0 from saving memory state: the
//! devices and settings people expect to, so nobody adds them to the table by guess.

use super::{Checked, Example, Place, Project, Source};

/// A configuration that looks like a blocker and is not one.
pub struct NotBlocker {
    /// What it is, in a few words.
    pub what: &'static str,
    /// Why it does not block, with the source that shows it.
    pub why: &'static str,
    pub source: Source,
    pub checked: Checked,
    pub example: Example,
}

const fn at(project: Project, file: &'static str, function: &'static str) -> Source {
    Source {
        project,
        file,
        function,
        says: None,
    }
}

pub static NOT_BLOCKERS: &[NotBlocker] = &[
    NotBlocker {
        what: "a USB host device",
        why: "libvirt's host-device check lets USB through (\"USB devices can be migrated\"), \
              and QEMU's usb-host vmstate is migratable: the device is re-attached after load",
        source: at(
            Project::Qemu,
            "hw/usb/host-libusb.c",
            "vmstate_usb_host (post_load re-attaches)",
        ),
        checked: Checked::Defined("no USB device to pass through on this host"),
        example: Example {
            place: Place::Devices,
            xml: "<controller type='usb' model='qemu-xhci'/>\
                  <hostdev mode='subsystem' type='usb' managed='yes'><source>\
                  <vendor id='0x1234'/><product id='0xbeef'/></source></hostdev>",
        },
    },
    NotBlocker {
        what: "a SCSI host device (scsi-generic)",
        why: "libvirt 11.3 asks QEMU for blockers instead of running its own host-device check, \
              and QEMU's scsi-generic uses the ordinary, migratable SCSI device vmstate",
        source: at(
            Project::Qemu,
            "hw/scsi/scsi-generic.c",
            "scsi_generic_class_initfn (vmsd = &vmstate_scsi_device)",
        ),
        checked: Checked::Defined("no /dev/sg* on this host"),
        example: Example {
            place: Place::Devices,
            xml: "<hostdev mode='subsystem' type='scsi' managed='no'><source>\
                  <adapter name='scsi_host0'/><address bus='0' target='0' unit='0'/></source>\
                  </hostdev>",
        },
    },
    NotBlocker {
        what: "a failover VF (<teaming type='transient'/>)",
        why: "QEMU unplugs it before migrating; libvirt's host-device check skips it too",
        source: at(
            Project::Libvirt,
            "src/qemu/qemu_migration.c",
            "qemuMigrationSrcIsAllowedHostdev",
        ),
        checked: Checked::Defined("no PCI device to assign on this host"),
        example: Example {
            place: Place::Devices,
            xml: "<hostdev mode='subsystem' type='pci' managed='yes'><source>\
                  <address domain='0x0000' bus='0x04' slot='0x00' function='0x0'/></source>\
                  <teaming type='transient' persistent='ua-net0'/></hostdev>\
                  <interface type='bridge'><source bridge='br0'/><model type='virtio'/>\
                  <teaming type='persistent'/><alias name='ua-net0'/></interface>",
        },
    },
    NotBlocker {
        what: "a shared memory device with role='master'",
        why: "libvirt starts ivshmem with master=on, so QEMU registers no peer-mode blocker and \
              libvirt's role check passes",
        source: at(Project::Qemu, "hw/misc/ivshmem.c", "ivshmem_common_realize"),
        checked: Checked::RealQemu,
        example: Example {
            place: Place::Devices,
            xml: "<shmem name='virtsnap-test-master' role='master'>\
                  <model type='ivshmem-plain'/><size unit='M'>4</size></shmem>",
        },
    },
    NotBlocker {
        what: "memory backing: memfd, shared access, no KSM, discard, immediate allocation",
        why: "neither qemuMigrationSrcIsAllowed nor QEMU looks at how RAM is backed; hugepages \
              and <locked/> are the same (not started here: no hugetlbfs, and the memlock \
              limit of this sandbox refuses <locked/>)",
        source: at(
            Project::Libvirt,
            "src/qemu/qemu_migration.c",
            "qemuMigrationSrcIsAllowed",
        ),
        checked: Checked::RealQemu,
        example: Example {
            place: Place::Domain,
            xml: "<memoryBacking><nosharepages/><source type='memfd'/>\
                  <access mode='shared'/><allocation mode='immediate'/><discard/>\
                  </memoryBacking>",
        },
    },
    NotBlocker {
        what: "user-mode networking (QEMU's built-in slirp)",
        why: "QEMU migrates slirp's state; only a slirp-helper configured in qemu.conf is \
              refused (\"a slirp-helper cannot be migrated\"), which the domain XML cannot show",
        source: at(
            Project::Libvirt,
            "src/qemu/qemu_migration.c",
            "qemuMigrationSrcIsAllowed",
        ),
        checked: Checked::RealQemu,
        example: Example {
            place: Place::Devices,
            xml: "<interface type='user'><model type='virtio'/></interface>",
        },
    },
    NotBlocker {
        what: "a read-only directory disk (vvfat)",
        why: "QEMU registers its vvfat blocker only for a read-write image, and libvirt refuses \
              to define a read-write one (\"virtual FAT storage can't be accessed in read-write \
              mode\")",
        source: at(Project::Qemu, "block/vvfat.c", "vvfat_open"),
        checked: Checked::RealQemu,
        example: Example {
            place: Place::Devices,
            xml: "<disk type='dir' device='floppy'><driver name='qemu' type='fat'/>\
                  <source dir='@DIR@'/><target dev='fda' bus='fdc'/><readonly/></disk>",
        },
    },
    NotBlocker {
        what: "a TPM passed through from the host",
        why: "QEMU 10.0 registers no blocker for the passthrough back-end (no such message in \
              the binary) and the TIS/CRB front-ends are migratable",
        source: at(Project::Qemu, "backends/tpm/tpm_passthrough.c", "(none)"),
        checked: Checked::Defined("no /dev/tpm0 on this host"),
        example: Example {
            place: Place::Devices,
            xml: "<tpm model='tpm-tis'><backend type='passthrough'>\
                  <device path='/dev/tpm0'/></backend></tpm>",
        },
    },
    NotBlocker {
        what: "an emulated TPM (swtpm)",
        why: "swtpm hands its state to QEMU; QEMU only blocks (\"Migration disabled: TPM \
              emulator does not support migration\") with an swtpm too old to export it, and \
              libvirt only refuses TPM state on shared storage with an swtpm that cannot handle \
              it (\"the running swtpm does not support migration with shared storage\")",
        source: at(
            Project::Qemu,
            "backends/tpm/tpm_emulator.c",
            "tpm_emulator_block_migration",
        ),
        checked: Checked::XmlOnly("no swtpm on this host; libvirt refuses to define it"),
        example: Example {
            place: Place::Devices,
            xml: "<tpm model='tpm-crb'><backend type='emulator' version='2.0'/></tpm>",
        },
    },
    NotBlocker {
        what: "nested virtualization (vmx or svm exposed to the guest)",
        why: "QEMU 10.0 registers no blocker; saving fails only on a kernel without nested \
              state support (\"Guest maybe enabled nested virtualization but kernel does not \
              support required capabilities to save vCPU nested state\"): Linux has that since \
              4.19 (VMX) and 5.10 (SVM)",
        source: at(Project::Qemu, "target/i386/machine.c", "cpu_pre_save"),
        checked: Checked::XmlOnly("this nested host offers no vmx or svm to its guests"),
        example: Example {
            place: Place::Domain,
            xml: "<cpu mode='host-model'><feature policy='require' name='vmx'/></cpu>",
        },
    },
];
