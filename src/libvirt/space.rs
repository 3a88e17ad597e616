//! Measuring the files snapshots hold (`model::space` adds them up): `stat` on a local host,
//! libvirt's storage API where the file is a volume of a storage pool (also over a remote
//! connection), otherwise "unknown" with the reason.

use std::os::unix::fs::MetadataExt;

use virt::connect::Connect;

use super::error::VirtError;
use super::snapshots::DomainSnapshots;
use super::storage;
use crate::model::space::{files_to_measure, snapshot_space, FileSizes, FileSpace, Measure};
use crate::model::space::{vm_space, SnapshotSpace, VmSpace};
use crate::model::storage::Layout;

/// What one file holds: allocated bytes on this host (`local`), else the storage pool
/// volume's allocation as libvirt reports it.
pub fn measure_file(conn: &Connect, path: &str, local: bool) -> FileSpace {
    if local {
        return match std::fs::metadata(path) {
            Ok(m) => FileSpace::Known {
                bytes: m.blocks().saturating_mul(512),
                how: Measure::LocalStat,
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => FileSpace::Missing,
            Err(e) => FileSpace::Unknown {
                why: format!("cannot stat it: {e}"),
            },
        };
    }
    // virStorageVolGetInfo refreshes the volume first (dir and fs pools), so the allocation
    // is current. A file created after the pool's last refresh is not a volume yet: virtsnap
    // does not refresh pools (a read should not change libvirt's state).
    match conn.lookup_storage_vol_by_path(path).and_then(|v| v.info()) {
        Ok(info) => FileSpace::Known {
            bytes: info.allocation,
            how: Measure::StoragePool,
        },
        Err(e) => FileSpace::Unknown {
            why: format!(
                "unknown on a remote host: it is not a volume of a storage pool libvirt knows \
                 ({})",
                e.message()
            ),
        },
    }
}

/// Measures every file the layout's snapshots name.
pub fn measure(conn: &Connect, layout: &Layout) -> FileSizes {
    files_to_measure(layout)
        .into_iter()
        .map(|p| {
            let s = measure_file(conn, &p, layout.local);
            (p, s)
        })
        .collect()
}

/// A domain's storage model and the space each snapshot holds.
pub fn read_snapshot_space(
    conn: &Connect,
    domain: &str,
) -> Result<(Layout, Vec<SnapshotSpace>), VirtError> {
    let layout = storage::read_layout(conn, domain)?;
    let files = measure(conn, &layout);
    let spaces = snapshot_space(&layout, &files);
    Ok((layout, spaces))
}

/// What the snapshot view shows (`storage::load_view`), with the space each snapshot holds
/// measured from the same facts: the tree's SIZE column.
pub fn load_view(conn: &Connect, domain: &str) -> Result<DomainSnapshots, VirtError> {
    let mut view = storage::load_view(conn, domain)?;
    if let Some(facts) = view.storage.as_deref() {
        let layout = Layout::new(facts);
        view.space = snapshot_space(&layout, &measure(conn, &layout));
    }
    Ok(view)
}

/// The list's per-VM figures: total, oldest, stale and deep-chain markers.
pub fn read_vm_space(
    conn: &Connect,
    domain: &str,
    stale_after_days: u32,
    deep_after: usize,
) -> Result<VmSpace, VirtError> {
    let layout = storage::read_layout_no_listing(conn, domain)?;
    let spaces = snapshot_space(&layout, &measure(conn, &layout));
    Ok(vm_space(
        &layout,
        &spaces,
        storage::unix_now(),
        stale_after_days,
        deep_after,
    ))
}
