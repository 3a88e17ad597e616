//! What the disks allow: internal memory snapshots (qcow2 everywhere, pflash rules) and
//! external disk-only snapshots (overlay-capable disk types), and quiesce.

use super::{words::join_words, DiskOnlyVerdict, RuleInput};
use crate::model::domain::{DiskDevice, DiskType, DomainConfig};

/// libvirt 10.9 added internal snapshots of VMs with pflash firmware (qcow2 NVRAM only).
const PFLASH_INTERNAL_SINCE: u64 = 10_009_000;

/// Internal memory snapshots live inside qcow2 images (savevm), and pflash NVRAM must be
/// qcow2 too since libvirt 10.9 (refused outright before).
pub(super) fn internal_possible(
    input: &RuleInput,
    running: &DomainConfig,
    notes: &mut Vec<String>,
) -> bool {
    let writable: Vec<_> = running.disks.iter().filter(|d| d.is_writable()).collect();
    let not_qcow2: Vec<String> = writable
        .iter()
        .filter(|d| d.format.as_deref() != Some("qcow2"))
        .map(|d| d.target.clone())
        .collect();
    // libvirt: "internal and full system snapshots require all disks to be selected".
    let excluded: Vec<String> = running
        .disks
        .iter()
        .filter(|d| !d.readonly && matches!(d.device, DiskDevice::Disk | DiskDevice::Lun))
        .filter(|d| d.snapshot.as_deref().is_some_and(|s| s != "internal"))
        .map(|d| d.target.clone())
        .collect();
    let mut internal = true;
    if !excluded.is_empty() {
        notes.push(format!(
            "only an external memory snapshot works: an internal one needs every disk included, \
             and {} is set to snapshot='no' or external",
            join_words(&excluded)
        ));
        internal = false;
    } else if writable.is_empty() {
        notes.push(
            "only an external memory snapshot works: an internal one needs a writable qcow2 disk \
             to hold the memory state"
                .to_string(),
        );
        internal = false;
    } else if !not_qcow2.is_empty() {
        notes.push(format!(
            "only an external memory snapshot works: an internal one needs every writable disk \
             in qcow2 format, and {} is not",
            join_words(&not_qcow2)
        ));
        internal = false;
    }
    if let Some(firmware) = running.firmware.as_ref().filter(|f| f.pflash) {
        let qcow2_nvram = firmware.nvram_format.as_deref() == Some("qcow2");
        if input.libvirt_version < PFLASH_INTERNAL_SINCE {
            notes.push(
                "only an external memory snapshot works: pflash firmware (UEFI) rules out \
                 internal snapshots before libvirt 10.9"
                    .to_string(),
            );
            internal = false;
        } else if !qcow2_nvram {
            notes.push(
                "only an external memory snapshot works: pflash firmware (UEFI) needs qcow2 NVRAM \
                 for an internal snapshot"
                    .to_string(),
            );
            internal = false;
        }
    }
    internal
}

pub(super) fn disk_only_verdict(running: &DomainConfig) -> DiskOnlyVerdict {
    let reason = disk_only_refusal(running);
    let allowed = reason.is_none();
    let quiesce_reason = if !allowed {
        Some("disk-only snapshots are not possible for this VM".to_string())
    } else {
        match running.guest_agent {
            None => Some(
                "no qemu-guest-agent channel (org.qemu.guest_agent.0) is configured".to_string(),
            ),
            Some(agent) if !agent.connected => Some(
                "the qemu-guest-agent channel is configured but the agent is not connected"
                    .to_string(),
            ),
            Some(_) => None,
        }
    };
    DiskOnlyVerdict {
        allowed,
        quiesce: quiesce_reason.is_none(),
        reason,
        quiesce_reason,
    }
}

/// External disk-only snapshots of a running VM need an overlay file libvirt can name and
/// create next to each writable disk, and a block job on it.
pub(super) fn disk_only_refusal(running: &DomainConfig) -> Option<String> {
    let candidates: Vec<_> = running
        .disks
        .iter()
        .filter(|d| !d.readonly && matches!(d.device, DiskDevice::Disk | DiskDevice::Lun))
        .collect();
    if candidates.is_empty() {
        return Some("the VM has no writable disk to snapshot".to_string());
    }
    let included: Vec<_> = candidates
        .iter()
        .filter(|d| d.snapshot.as_deref() != Some("no"))
        .collect();
    if included.is_empty() {
        return Some("every writable disk has snapshot='no'".to_string());
    }
    for disk in included {
        if disk.device == DiskDevice::Lun {
            return Some(format!(
                "disk {} is a SCSI passthrough LUN: libvirt cannot take an external snapshot of it",
                disk.target
            ));
        }
        let kind = match disk.disk_type {
            DiskType::Network => "a network disk",
            DiskType::Nvme => "an NVMe disk",
            DiskType::Vhostuser => "a vhost-user disk",
            DiskType::Vhostvdpa => "a vhost-vdpa disk",
            DiskType::Dir => "a directory-backed disk",
            DiskType::Other => "a disk of an unknown type",
            DiskType::File | DiskType::Block | DiskType::Volume => continue,
        };
        return Some(format!(
            "disk {} is {kind}: libvirt cannot take an external snapshot of it",
            disk.target
        ));
    }
    None
}
