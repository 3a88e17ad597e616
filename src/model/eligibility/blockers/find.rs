//! The matchers of the blocker table: which elements of a parsed domain a row is about. Each
//! returns one detail per element (what names it to an admin), empty when it matches nothing.

use super::super::invtsc_blocks;
use crate::model::domain::{DomainConfig, HostDeviceSource};
use crate::model::host::HostCapabilities;

type Host<'a> = Option<&'a HostCapabilities>;

/// One empty detail when `yes`: a setting, not a device, so there is nothing to name.
fn setting(yes: bool) -> Vec<String> {
    if yes {
        vec![String::new()]
    } else {
        Vec::new()
    }
}

pub(super) fn invtsc(cfg: &DomainConfig, host: Host) -> Vec<String> {
    setting(invtsc_blocks(cfg, host).is_some())
}

pub(super) fn hyperv_passthrough(cfg: &DomainConfig, _: Host) -> Vec<String> {
    setting(cfg.hyperv_mode.as_deref() == Some("passthrough"))
}

/// SEV and SEV-ES share libvirt's `type='sev'`; policy bit 2 tells them apart.
pub(super) fn sev(cfg: &DomainConfig, _: Host) -> Vec<String> {
    match &cfg.launch_security {
        Some(ls) if ls.security_type == "sev" => {
            vec![if ls.is_sev_es() { "(SEV-ES)" } else { "" }.to_string()]
        }
        _ => Vec::new(),
    }
}

pub(super) fn sev_snp(cfg: &DomainConfig, _: Host) -> Vec<String> {
    setting(
        cfg.launch_security
            .as_ref()
            .is_some_and(|ls| ls.security_type == "sev-snp"),
    )
}

/// Assigned PCI functions (`<hostdev type='pci'>`, `<interface type='hostdev'>`), except a
/// failover VF with `<teaming type='transient'/>`, which QEMU unplugs before migrating.
pub(super) fn hostdev_pci(cfg: &DomainConfig, _: Host) -> Vec<String> {
    cfg.hostdevs
        .iter()
        .filter(|h| h.mode == "subsystem" && !h.transient_teaming)
        .filter_map(|h| match &h.source {
            HostDeviceSource::Pci { address } => Some(address.clone()),
            _ => None,
        })
        .collect()
}

pub(super) fn hostdev_mdev(cfg: &DomainConfig, _: Host) -> Vec<String> {
    cfg.hostdevs
        .iter()
        .filter_map(|h| match &h.source {
            HostDeviceSource::Mdev { uuid, .. } => Some(uuid.clone()),
            _ => None,
        })
        .collect()
}

pub(super) fn vhost_scsi(cfg: &DomainConfig, _: Host) -> Vec<String> {
    cfg.hostdevs
        .iter()
        .filter_map(|h| match &h.source {
            HostDeviceSource::ScsiHost { protocol, wwpn } if protocol == "vhost" => {
                Some(wwpn.clone())
            }
            _ => None,
        })
        .collect()
}

pub(super) fn vdpa(cfg: &DomainConfig, _: Host) -> Vec<String> {
    interfaces_of(cfg, "vdpa")
}

pub(super) fn vhost_user_net(cfg: &DomainConfig, _: Host) -> Vec<String> {
    interfaces_of(cfg, "vhostuser")
}

fn interfaces_of(cfg: &DomainConfig, net_type: &str) -> Vec<String> {
    cfg.interfaces
        .iter()
        .filter(|i| i.net_type == net_type)
        .map(|i| {
            i.source
                .clone()
                .or_else(|| i.mac.clone())
                .unwrap_or_default()
        })
        .collect()
}

pub(super) fn nine_p(cfg: &DomainConfig, _: Host) -> Vec<String> {
    cfg.filesystems
        .iter()
        .filter(|f| f.is_9p())
        .map(|f| f.target.clone())
        .collect()
}

pub(super) fn virtiofs(cfg: &DomainConfig, _: Host) -> Vec<String> {
    cfg.filesystems
        .iter()
        .filter(|f| f.is_virtiofs())
        .map(|f| f.target.clone())
        .collect()
}

/// libvirt leaves `role` out by default, and QEMU's ivshmem is then not the master.
pub(super) fn shmem(cfg: &DomainConfig, _: Host) -> Vec<String> {
    cfg.shmems
        .iter()
        .filter(|s| s.role.as_deref() != Some("master"))
        .map(|s| s.name.clone())
        .collect()
}

pub(super) fn transient_disk(cfg: &DomainConfig, _: Host) -> Vec<String> {
    cfg.disks
        .iter()
        .filter(|d| d.transient)
        .map(|d| d.target.clone())
        .collect()
}

/// QEMU's block drivers for these formats register a blocker when they open an image,
/// read-only or not (libvirt format names; `ploop` is QEMU's `parallels`).
const FORMATS_WITHOUT_MIGRATION: [&str; 6] = ["vmdk", "vdi", "vhdx", "vpc", "ploop", "qcow"];

pub(super) fn disk_format(cfg: &DomainConfig, _: Host) -> Vec<String> {
    cfg.disks
        .iter()
        .filter_map(|d| {
            let format = d.format.as_deref()?;
            FORMATS_WITHOUT_MIGRATION
                .contains(&format)
                .then(|| format!("{} ({format})", d.target))
        })
        .collect()
}

pub(super) fn usb_audio(cfg: &DomainConfig, _: Host) -> Vec<String> {
    setting(cfg.sound_models.iter().any(|m| m == "usb"))
}

pub(super) fn usb_serial(cfg: &DomainConfig, _: Host) -> Vec<String> {
    let count = cfg
        .serial_targets
        .iter()
        .filter(|t| *t == "usb-serial")
        .count();
    vec![String::new(); count]
}

pub(super) fn virtio_crypto(cfg: &DomainConfig, _: Host) -> Vec<String> {
    let count = cfg.crypto_models.iter().filter(|m| *m == "virtio").count();
    vec![String::new(); count]
}

pub(super) fn virtio_input_host(cfg: &DomainConfig, _: Host) -> Vec<String> {
    cfg.inputs
        .iter()
        .filter(|i| i.input_type == "passthrough")
        .map(|i| i.evdev.clone().unwrap_or_default())
        .collect()
}

pub(super) fn vhost_user_gpu(cfg: &DomainConfig, _: Host) -> Vec<String> {
    let count = cfg
        .videos
        .iter()
        .filter(|v| v.driver.as_deref() == Some("vhostuser"))
        .count();
    vec![String::new(); count]
}

pub(super) fn qemu_vdagent(cfg: &DomainConfig, _: Host) -> Vec<String> {
    let count = cfg
        .channels
        .iter()
        .filter(|c| c.channel_type == "qemu-vdagent")
        .count();
    vec![String::new(); count]
}
