//! What libvirt 11.3 and QEMU 10.0 can do with each kind of disk, as a table: whether it can
//! hold an internal snapshot, get an external overlay (and where virtsnap puts it), and whether
//! snapshots of it can be reverted and deleted. The planner (`create.rs`, `revert.rs`,
//! `delete.rs`) decides from the same facts; a unit test walks every row against the planner
//! so the table and the decisions cannot drift, and the integration tests
//! (tests/storage_kvm.rs) check the rows marked `RealQemu` on real QEMU.
//!
//! Sources (libvirt 11.3 qemu_snapshot.c / snapshot_conf.c, QEMU 10.0 block/qcow2-snapshot.c,
//! read from source; /work notes Q1-Q5; measurements as marked).

use serde::Serialize;

/// Whether a thing is possible, and libvirt's or QEMU's words when not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "status", content = "why")]
pub enum Can {
    Yes,
    No(&'static str),
    /// Not applicable (e.g. reverting what cannot be created).
    NotApplicable,
}

/// How a row was checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Checked {
    /// Started as a real VM here (embedded QEMU driver or the system libvirtd).
    RealQemu,
    /// From the source and libvirt's documented schema only.
    Source,
}

/// One kind of disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct StorageRule {
    /// Short name used in tests and --json: `file-qcow2`, `block-raw`...
    pub kind: &'static str,
    /// The disk XML it is about.
    pub xml: &'static str,
    pub internal: Can,
    pub external_overlay: Can,
    /// Where virtsnap puts the external overlay.
    pub overlay_where: &'static str,
    pub revert_external: Can,
    pub delete_external: Can,
    pub source: &'static str,
    pub checked: Checked,
}

/// Every kind of disk virtsnap plans for.
pub const RULES: &[StorageRule] = &[
    StorageRule {
        kind: "file-qcow2",
        xml: "<disk type='file' device='disk'><driver type='qcow2'/><source file='X.qcow2'/>",
        internal: Can::Yes,
        external_overlay: Can::Yes,
        overlay_where: "next to the image: <dir>/<name without suffix>.<snapshot>",
        revert_external: Can::Yes,
        delete_external: Can::Yes,
        source: "qemu_snapshot.c qemuSnapshotPrepare, qemuSnapshotRevertValidate; snapshot_conf.c virDomainSnapshotDefAssignExternalNames",
        checked: Checked::RealQemu,
    },
    StorageRule {
        kind: "file-raw",
        xml: "<disk type='file' device='disk'><driver type='raw'/><source file='X.img'/>",
        internal: Can::No("internal snapshot for disk vda unsupported for storage type raw"),
        external_overlay: Can::Yes,
        overlay_where: "next to the image: <dir>/<name without suffix>.<snapshot>",
        revert_external: Can::Yes,
        delete_external: Can::Yes,
        source: "qemu_snapshot.c qemuSnapshotPrepareDiskInternal (:956)",
        checked: Checked::RealQemu,
    },
    StorageRule {
        kind: "file-qcow2-data-file",
        xml: "<disk type='file'><driver type='qcow2'/><source file='X.qcow2'><dataStore type='file'><format type='raw'/><source file='X.raw'/></dataStore></source>",
        internal: Can::No("Could not create snapshot: Operation not supported (QEMU keeps no internal snapshots in an image with an external data file)"),
        external_overlay: Can::Yes,
        overlay_where: "next to the image: <dir>/<name without suffix>.<snapshot>",
        revert_external: Can::Yes,
        delete_external: Can::Yes,
        source: "block/qcow2-snapshot.c qcow2_snapshot_create (has_data_file -> -ENOTSUP)",
        checked: Checked::RealQemu,
    },
    StorageRule {
        kind: "volume-qcow2",
        xml: "<disk type='volume'><driver type='qcow2'/><source pool='P' volume='V'/>",
        internal: Can::Yes,
        external_overlay: Can::Yes,
        overlay_where: "a file next to the volume's path (storage API): libvirt cannot name one itself (\"cannot generate external snapshot name for disk without source\")",
        revert_external: Can::No("source disk for 'vda' is not a regular file, reverting to snapshot is not supported"),
        delete_external: Can::Yes,
        source: "qemu_snapshot.c qemuSnapshotRevertValidate (every disk of the saved definition must be type='file')",
        checked: Checked::RealQemu,
    },
    StorageRule {
        kind: "block-raw",
        xml: "<disk type='block' device='disk'><driver type='raw'/><source dev='/dev/vg/lv'/>",
        internal: Can::No("internal snapshot for disk vda unsupported for storage type raw"),
        external_overlay: Can::Yes,
        overlay_where: "a file <domain>-<target>.<snapshot> next to the VM's other images, else in /var/lib/libvirt/images (libvirt takes a file overlay for a block device; it names none itself: \"not a regular file\")",
        revert_external: Can::No("source disk for 'vda' is not a regular file, reverting to snapshot is not supported"),
        delete_external: Can::Yes,
        source: "qemu_snapshot.c qemuSnapshotPrepareDiskExternal, qemuSnapshotRevertValidate",
        checked: Checked::RealQemu,
    },
    StorageRule {
        kind: "network",
        xml: "<disk type='network'><source protocol='rbd' name='pool/img'/>",
        internal: Can::No("QEMU keeps internal snapshots only in qcow2"),
        external_overlay: Can::No("libvirt cannot take an external snapshot of it"),
        overlay_where: "-",
        revert_external: Can::NotApplicable,
        delete_external: Can::NotApplicable,
        source: "qemu_snapshot.c qemuSnapshotPrepareDiskExternalInactive (\"external inactive snapshots are not supported on 'network' disks\")",
        checked: Checked::Source,
    },
    StorageRule {
        kind: "cdrom",
        xml: "<disk type='file' device='cdrom'><source file='X.iso'/><readonly/>",
        internal: Can::NotApplicable,
        external_overlay: Can::NotApplicable,
        overlay_where: "not captured (read-only: snapshot='no'); but an external REVERT gives it a qcow2 overlay <iso name without suffix>.<unix seconds> next to the ISO",
        revert_external: Can::Yes,
        delete_external: Can::NotApplicable,
        source: "domain_postparse.c (read-only -> snapshot='no'); qemu_snapshot.c qemuSnapshotRevertExternalPrepare (force_default_location)",
        checked: Checked::RealQemu,
    },
    StorageRule {
        kind: "transient-disk",
        xml: "<disk type='file'><driver type='qcow2'/><source file='X.qcow2'/><transient/>",
        internal: Can::No("migration with transient disk is not supported (running VM)"),
        external_overlay: Can::No("block jobs are not supported on transient disk 'vda' (running VM)"),
        overlay_where: "-",
        revert_external: Can::NotApplicable,
        delete_external: Can::NotApplicable,
        source: "qemu_migration.c qemuMigrationSrcIsAllowed; qemu_snapshot.c (block job check)",
        checked: Checked::RealQemu,
    },
    StorageRule {
        kind: "uefi-raw-nvram",
        xml: "<os firmware='efi'><nvram>X_VARS.fd</nvram>",
        internal: Can::No("internal snapshots of a VM with pflash based firmware require QCOW2 nvram format"),
        external_overlay: Can::Yes,
        overlay_where: "disks only: libvirt leaves the NVRAM file out of external snapshots",
        revert_external: Can::Yes,
        delete_external: Can::Yes,
        source: "qemu_snapshot.c qemuSnapshotPrepare",
        checked: Checked::Source,
    },
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::snapshot::SnapshotLocation;
    use crate::model::storage::fixture::{Fake, DIR};
    use crate::model::storage::{
        external_unrevertable, plan_create, plan_revert, CreateAbility, CreateIntent, RevertOptions,
    };
    use crate::model::DomainState;

    /// A shut-off domain whose vda is of `kind`.
    fn fake(kind: &str) -> Option<Fake> {
        let mut f = Fake::new("r", DomainState::Shutoff);
        let d = &mut f.disks[0];
        match kind {
            "file-qcow2" => {}
            "file-raw" => {
                d.format = "raw";
                d.top = format!("{DIR}/r.img");
            }
            "volume-qcow2" => {
                d.kind = "volume";
                d.top = "pool1/r.qcow2".into();
            }
            "block-raw" => {
                d.kind = "block";
                d.format = "raw";
                d.top = "/dev/vg/r".into();
            }
            _ => return None,
        }
        Some(f)
    }

    fn plan(f: &Fake, location: SnapshotLocation) -> Result<(), String> {
        plan_create(
            &f.layout(),
            &CreateIntent {
                name: "s".into(),
                memory: false,
                quiesce: false,
                location: Some(location),
            },
            &CreateAbility::default(),
        )
        .map(|_| ())
        .map_err(|e| e.to_string())
    }

    #[test]
    fn the_planner_agrees_with_every_row_it_can_build() {
        let mut walked = 0;
        for rule in RULES {
            let Some(f) = fake(rule.kind) else { continue };
            walked += 1;
            let internal = plan(&f, SnapshotLocation::Internal);
            assert_eq!(
                internal.is_ok(),
                rule.internal == Can::Yes,
                "{}: {internal:?}",
                rule.kind
            );
            let external = plan(&f, SnapshotLocation::External);
            assert_eq!(
                external.is_ok(),
                rule.external_overlay == Can::Yes,
                "{}: {external:?}",
                rule.kind
            );
            // Reverting an external snapshot of it: take one, then plan the revert.
            let revertable = external_unrevertable(&f.layout()).is_none();
            assert_eq!(
                revertable,
                rule.revert_external == Can::Yes,
                "{}",
                rule.kind
            );
            let taken = f.external("s", false);
            let p = plan_revert(
                &taken.layout(),
                "s",
                &RevertOptions::default(),
                &CreateAbility::default(),
            );
            assert_eq!(
                p.refusal.is_none(),
                rule.revert_external == Can::Yes,
                "{}: {:?}",
                rule.kind,
                p.refusal
            );
        }
        assert_eq!(walked, 4, "every buildable row was walked");
    }

    #[test]
    fn rows_that_cannot_be_built_here_say_how_they_were_checked() {
        for rule in RULES {
            assert!(!rule.source.is_empty(), "{}", rule.kind);
            if fake(rule.kind).is_none() {
                assert!(
                    matches!(rule.checked, Checked::RealQemu | Checked::Source),
                    "{}",
                    rule.kind
                );
            }
        }
    }
}
