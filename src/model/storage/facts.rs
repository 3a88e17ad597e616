//! What the storage model is built from: everything libvirt (and, on a local host, the image
//! headers) says about one domain's disks and snapshots, read in one go by
//! `libvirt::storage::read_facts`. Plain data, so plans can be tested without libvirt.

use serde::Serialize;

use crate::model::qcow2::{InternalSnapshot, Qcow2Header};
use crate::model::snapshot::SnapshotInfo;
use crate::model::{DomainConfig, DomainState};

/// One domain's storage as read from libvirt at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageFacts {
    pub domain: String,
    pub state: DomainState,
    /// False for a transient domain (no persistent definition).
    pub persistent: bool,
    /// A managed-save image exists (`virDomainHasManagedSaveImage`).
    pub managed_save: bool,
    /// QEMU's disks are inactive: a memory snapshot of the VM completed while it was paused,
    /// and QEMU stays in its `postmigrate` run state (libvirt still reports "paused (user)")
    /// until the guest is resumed. Measured with libvirt 11.3 / QEMU 10.0: until then QEMU
    /// refuses a memory snapshot ("Can't migrate the vm that was paused due to previous
    /// migration"), an internal snapshot ("Device '...' is writable but does not support
    /// snapshots"), deleting an internal snapshot, and a block commit ("Inactive '...' can't
    /// be a backing child of active ..."); a disk-only external snapshot and reverts work.
    /// Read by `libvirt::storage::disks_inactive`.
    pub disks_inactive: bool,
    /// libvirt's driver for the connection (`virConnectGetType`): "QEMU", or "TEST" for the
    /// test driver, which only records snapshot metadata and takes internal snapshots only
    /// (measured, libvirt 11.3: DISK_ONLY is "unsupported flags (0x10) in function
    /// testDomainSnapshotCreateXML").
    pub driver: String,
    /// The definition in effect: the live one while the VM runs, else the persistent one.
    pub config: DomainConfig,
    /// The persistent definition when it differs from `config` (a running VM), for the
    /// "after restart" view and for definition roll-back wording.
    pub persistent_config: Option<DomainConfig>,
    pub snapshots: Vec<SnapshotInfo>,
    /// The current snapshot's name (`virDomainSnapshotCurrent`), None when there is none.
    pub current: Option<String>,
    /// Headers of the images involved, where this process could read them (local host only).
    pub images: Vec<ImageFacts>,
    /// `<source pool volume>` resolved through the storage API: (pool, volume, path).
    pub volumes: Vec<(String, String, String)>,
    /// major*1_000_000 + minor*1_000 + micro.
    pub libvirt_version: u64,
    /// Paths libvirt reports are paths on this machine.
    pub local: bool,
    /// Unix seconds when the facts were read (libvirt names revert overlays after the second).
    pub now: i64,
    /// Files present in the directories of the VM's images (local host only), so a plan can
    /// say a name is taken before libvirt refuses it.
    pub existing: Vec<String>,
}

/// QEMU's run state from a `query-status` reply (`{"return":{"status":"postmigrate",...}}`);
/// None for anything else.
pub fn qemu_run_state(reply: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(reply).ok()?;
    v.get("return")?.get("status")?.as_str().map(str::to_string)
}

/// What one image file's header says (read locally; remote hosts have none).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImageFacts {
    pub path: String,
    pub kind: ImageKind,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum ImageKind {
    Qcow2 {
        header: Qcow2Header,
        /// The backing file as an absolute path (a relative name resolved against the image's
        /// directory, as QEMU does); None when there is none.
        backing: Option<String>,
        internal: Vec<InternalSnapshot>,
    },
    /// Readable but not qcow2 (raw, ISO...): no backing file, no internal snapshots.
    Other,
    /// The path does not exist.
    Missing,
    /// It exists but could not be read; the reason.
    Unreadable(String),
}

impl StorageFacts {
    /// A volume's path as the storage API gave it.
    pub fn volume_path(&self, pool: &str, volume: &str) -> Option<&str> {
        self.volumes
            .iter()
            .find(|(p, v, _)| p == pool && v == volume)
            .map(|(_, _, path)| path.as_str())
    }

    pub fn image(&self, path: &str) -> Option<&ImageFacts> {
        self.images.iter().find(|i| i.path == path)
    }
}

/// `a/./b/../c` -> `a/c`, without touching the file system (libvirt compares paths as strings).
pub fn normalize_path(path: &str) -> String {
    let absolute = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    let joined = parts.join("/");
    if absolute {
        format!("/{joined}")
    } else {
        joined
    }
}

/// A backing file name as QEMU resolves it: relative names are relative to the directory of
/// the image that names them.
pub fn resolve_backing(image: &str, backing: &str) -> String {
    if backing.starts_with('/') || backing.contains("://") || backing.starts_with("json:") {
        return normalize_path(backing);
    }
    let dir = image.rsplit_once('/').map_or("", |(d, _)| d);
    normalize_path(&format!("{dir}/{backing}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_compare_after_normalising() {
        assert_eq!(normalize_path("/a/./b/../c//d"), "/a/c/d");
        assert_eq!(
            resolve_backing("/i/x/top.qcow2", "base.qcow2"),
            "/i/x/base.qcow2"
        );
        assert_eq!(
            resolve_backing("/i/x/top.qcow2", "../b.qcow2"),
            "/i/b.qcow2"
        );
        assert_eq!(resolve_backing("/i/x/top.qcow2", "/abs/b"), "/abs/b");
    }

    #[test]
    fn qemu_run_state_reads_query_status() {
        // The reply QEMU 10.0 gave after a memory snapshot of a paused VM (measured).
        let reply = r#"{"return":{"status":"postmigrate","running":false},"id":"libvirt-506"}"#;
        assert_eq!(qemu_run_state(reply).as_deref(), Some("postmigrate"));
        assert_eq!(
            qemu_run_state(r#"{"error":{"class":"GenericError"}}"#),
            None
        );
        assert_eq!(qemu_run_state("not json"), None);
    }
}
