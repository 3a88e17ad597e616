//! Which elements of a parsed domain keep libvirt/QEMU from saving memory state: the matchers
//! of the blocker table (`eligibility::blockers`, where each row has its words, sources and
//! checks). Each returns one detail per element, what names it to an admin (a PCI address, a
//! mount tag), or an empty detail for a setting; nothing when it does not match. They live
//! here, under the type they read, so that `DomainConfig::blocking_devices` can be filled at
//! parse time without the domain module depending on the rule.

use super::{DomainConfig, HostDeviceSource, MigrationBlockingDevice};

/// A matcher: one detail per matching element.
pub type Matcher = fn(&DomainConfig) -> Vec<String>;

/// The table's rows that always refuse and are devices (not CPU or launch settings, not the
/// guest- or back-end-dependent ones), by kind: what `DomainConfig::blocking_devices` lists.
pub const REFUSING_DEVICES: [(&str, Matcher); 13] = [
    ("hostdev-pci", hostdev_pci),
    ("hostdev-mdev", hostdev_mdev),
    ("vhost-scsi", vhost_scsi),
    ("vdpa", vdpa),
    ("shmem", shmem),
    ("transient-disk", transient_disk),
    ("disk-format", disk_format),
    ("usb-audio", usb_audio),
    ("usb-serial", usb_serial),
    ("virtio-crypto", virtio_crypto),
    ("virtio-input-host", virtio_input_host),
    ("vhost-user-gpu", vhost_user_gpu),
    ("qemu-vdagent", qemu_vdagent),
];

/// Every refusing device in `cfg`, in the order of [`REFUSING_DEVICES`].
pub(super) fn blocking_devices(cfg: &DomainConfig) -> Vec<MigrationBlockingDevice> {
    REFUSING_DEVICES
        .iter()
        .flat_map(|(kind, find)| {
            find(cfg).into_iter().map(|detail| MigrationBlockingDevice {
                kind: kind.to_string(),
                detail,
            })
        })
        .collect()
}

/// One empty detail when `yes`: a setting, not a device, so there is nothing to name.
fn setting(yes: bool) -> Vec<String> {
    if yes {
        vec![String::new()]
    } else {
        Vec::new()
    }
}

pub fn hyperv_passthrough(cfg: &DomainConfig) -> Vec<String> {
    setting(cfg.hyperv_mode.as_deref() == Some("passthrough"))
}

/// SEV and SEV-ES share libvirt's `type='sev'`; policy bit 2 tells them apart.
pub fn sev(cfg: &DomainConfig) -> Vec<String> {
    match &cfg.launch_security {
        Some(ls) if ls.security_type == "sev" => {
            vec![if ls.is_sev_es() { "(SEV-ES)" } else { "" }.to_string()]
        }
        _ => Vec::new(),
    }
}

pub fn sev_snp(cfg: &DomainConfig) -> Vec<String> {
    setting(
        cfg.launch_security
            .as_ref()
            .is_some_and(|ls| ls.security_type == "sev-snp"),
    )
}

/// Assigned PCI functions (`<hostdev type='pci'>`, `<interface type='hostdev'>`), except a
/// failover VF with `<teaming type='transient'/>`, which QEMU unplugs before migrating.
pub fn hostdev_pci(cfg: &DomainConfig) -> Vec<String> {
    cfg.hostdevs
        .iter()
        .filter(|h| h.mode == "subsystem" && !h.transient_teaming)
        .filter_map(|h| match &h.source {
            HostDeviceSource::Pci { address } => Some(address.clone()),
            _ => None,
        })
        .collect()
}

pub fn hostdev_mdev(cfg: &DomainConfig) -> Vec<String> {
    cfg.hostdevs
        .iter()
        .filter_map(|h| match &h.source {
            HostDeviceSource::Mdev { uuid, .. } => Some(uuid.clone()),
            _ => None,
        })
        .collect()
}

pub fn vhost_scsi(cfg: &DomainConfig) -> Vec<String> {
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

pub fn vdpa(cfg: &DomainConfig) -> Vec<String> {
    interfaces_of(cfg, "vdpa")
}

pub fn vhost_user_net(cfg: &DomainConfig) -> Vec<String> {
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

pub fn nine_p(cfg: &DomainConfig) -> Vec<String> {
    cfg.filesystems
        .iter()
        .filter(|f| f.is_9p())
        .map(|f| f.target.clone())
        .collect()
}

pub fn virtiofs(cfg: &DomainConfig) -> Vec<String> {
    cfg.filesystems
        .iter()
        .filter(|f| f.is_virtiofs())
        .map(|f| f.target.clone())
        .collect()
}

/// libvirt leaves `role` out by default, and QEMU's ivshmem is then not the master.
pub fn shmem(cfg: &DomainConfig) -> Vec<String> {
    cfg.shmems
        .iter()
        .filter(|s| s.role.as_deref() != Some("master"))
        .map(|s| s.name.clone())
        .collect()
}

pub fn transient_disk(cfg: &DomainConfig) -> Vec<String> {
    cfg.disks
        .iter()
        .filter(|d| d.transient)
        .map(|d| d.target.clone())
        .collect()
}

/// QEMU's block drivers for these formats register a blocker when they open an image,
/// read-only or not (libvirt format names; `ploop` is QEMU's `parallels`).
const FORMATS_WITHOUT_MIGRATION: [&str; 6] = ["vmdk", "vdi", "vhdx", "vpc", "ploop", "qcow"];

pub fn disk_format(cfg: &DomainConfig) -> Vec<String> {
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

pub fn usb_audio(cfg: &DomainConfig) -> Vec<String> {
    setting(cfg.sound_models.iter().any(|m| m == "usb"))
}

pub fn usb_serial(cfg: &DomainConfig) -> Vec<String> {
    let count = cfg
        .serial_targets
        .iter()
        .filter(|t| *t == "usb-serial")
        .count();
    vec![String::new(); count]
}

pub fn virtio_crypto(cfg: &DomainConfig) -> Vec<String> {
    let count = cfg.crypto_models.iter().filter(|m| *m == "virtio").count();
    vec![String::new(); count]
}

pub fn virtio_input_host(cfg: &DomainConfig) -> Vec<String> {
    cfg.inputs
        .iter()
        .filter(|i| i.input_type == "passthrough")
        .map(|i| i.evdev.clone().unwrap_or_default())
        .collect()
}

pub fn vhost_user_gpu(cfg: &DomainConfig) -> Vec<String> {
    let count = cfg
        .videos
        .iter()
        .filter(|v| v.driver.as_deref() == Some("vhostuser"))
        .count();
    vec![String::new(); count]
}

pub fn qemu_vdagent(cfg: &DomainConfig) -> Vec<String> {
    let count = cfg
        .channels
        .iter()
        .filter(|c| c.channel_type == "qemu-vdagent")
        .count();
    vec![String::new(); count]
}
