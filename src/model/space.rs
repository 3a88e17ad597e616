//! Space and age: how much disk space each snapshot holds, and per VM the total, the oldest
//! snapshot, the snapshots older than a threshold and how deep the overlay chains have grown.
//! Pure: file allocations are measured by `libvirt::space` and passed in; every figure says
//! how it was obtained, and what cannot be measured is "unknown" with the reason, never a
//! guess.
//!
//! What a snapshot holds:
//! - External: every overlay it created (its `<disks>` sources: what the VM wrote after it,
//!   on top of its data), the overlay of the last revert to it (`<revertDisks>`), and its
//!   memory file. An overlay that no longer exists holds nothing (libvirt deletes the
//!   overlay of a leaf it reverts away from).
//! - Internal: the saved VM state QEMU stores inside the qcow2 image (the snapshot table's
//!   `vm_state_size`), plus the disk clusters only it still references. QEMU records no
//!   figure for those; counting them soundly means walking the snapshot's L1/L2 tables against
//!   the image's refcounts while nothing writes to the image, which virtsnap does not do. So
//!   an internal snapshot's size is unknown (with the memory part given where there is one).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::model::snapshot::DiskSnapshotMode;
use crate::model::storage::Layout;

/// Chains with more overlays above the base image than this are marked. A judgement, not a
/// QEMU limit: every overlay adds a lookup to each read that falls through it to an older
/// layer, and each layer keeps its own L2 table cache (up to 32 MiB per image on Linux,
/// QEMU's DEFAULT_L2_CACHE_MAX_SIZE; smaller disks need less), so memory and read latency
/// grow with every layer, while merging the old ones (deleting their snapshots) costs one
/// block commit. Past five a chain is usually forgotten snapshots rather than a plan.
pub const DEEP_CHAIN_OVERLAYS: usize = 5;

/// Snapshots older than this many days are marked (the config file will make it a setting).
pub const STALE_AFTER_DAYS: u32 = 3;

/// How a figure was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Measure {
    /// `stat` on this host: allocated blocks (`st_blocks` * 512), so sparse files count what
    /// they use.
    LocalStat,
    /// libvirt's storage API (`virStorageVolGetInfo` allocation) for a file inside a storage
    /// pool; works over a remote connection.
    StoragePool,
    /// The qcow2 image's snapshot table (`vm_state_size`), read on this host.
    Qcow2Table,
}

impl Measure {
    pub fn words(self) -> &'static str {
        match self {
            Measure::LocalStat => "file allocation on this host",
            Measure::StoragePool => "libvirt storage pool volume allocation",
            Measure::Qcow2Table => "the qcow2 snapshot table",
        }
    }
}

/// What was learned about one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum FileSpace {
    Known {
        bytes: u64,
        how: Measure,
    },
    /// The file does not exist (so it holds nothing).
    Missing,
    /// Why it could not be measured.
    Unknown {
        why: String,
    },
}

/// Path -> what was learned, for every file the snapshots name ([`files_to_measure`]).
pub type FileSizes = BTreeMap<String, FileSpace>;

/// One part of what a snapshot holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SpacePart {
    /// "overlay of vda", "memory state", "memory state inside vda's image"...
    pub what: String,
    pub path: Option<String>,
    /// Bytes, None when unknown.
    pub bytes: Option<u64>,
    /// How the figure was obtained, or why it is unknown.
    pub how: String,
}

/// The space one snapshot holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SnapshotSpace {
    pub name: String,
    /// Bytes on disk; None when any part is unknown.
    pub size_bytes: Option<u64>,
    /// How the figure was obtained, or why it is unknown.
    pub size_known: String,
    /// The bytes of the parts that are known (a lower bound when `size_bytes` is None).
    pub known_bytes: u64,
    pub parts: Vec<SpacePart>,
}

/// Every file whose allocation the snapshots' space needs: overlays, revert overlays, memory
/// files.
pub fn files_to_measure(layout: &Layout) -> Vec<String> {
    let mut out = BTreeSet::new();
    for s in &layout.snapshots {
        for d in &s.disks {
            if d.mode == DiskSnapshotMode::External {
                out.extend(d.overlay.iter().cloned());
            }
            out.extend(d.revert_overlay.iter().cloned());
        }
        out.extend(s.memory_file.iter().cloned());
    }
    out.into_iter().collect()
}

fn file_part(what: String, path: &str, files: &FileSizes) -> SpacePart {
    let (bytes, how) = match files.get(path) {
        Some(FileSpace::Known { bytes, how }) => (Some(*bytes), how.words().to_string()),
        Some(FileSpace::Missing) => (Some(0), "the file no longer exists".to_string()),
        Some(FileSpace::Unknown { why }) => (None, why.clone()),
        None => (None, "not measured".to_string()),
    };
    SpacePart {
        what,
        path: Some(path.to_string()),
        bytes,
        how,
    }
}

/// The space each snapshot holds, in the layout's order.
pub fn snapshot_space(layout: &Layout, files: &FileSizes) -> Vec<SnapshotSpace> {
    layout
        .snapshots
        .iter()
        .map(|s| {
            let mut parts = Vec::new();
            for d in &s.disks {
                match d.mode {
                    DiskSnapshotMode::External => {
                        if let Some(o) = &d.overlay {
                            parts.push(file_part(format!("overlay of {}", d.target), o, files));
                        }
                    }
                    DiskSnapshotMode::Internal => {
                        let Some(image) = &d.image else { continue };
                        let how = if layout.local {
                            "QEMU records no size for the disk data an internal snapshot \
                             holds alone"
                        } else {
                            "unknown on a remote host: the image cannot be read from here, and \
                             QEMU records no size for an internal snapshot's disk data"
                        };
                        parts.push(SpacePart {
                            what: format!("disk data of {} inside its image", d.target),
                            path: Some(image.clone()),
                            bytes: None,
                            how: how.into(),
                        });
                        if s.has_memory() && s.memory_file.is_none() {
                            parts.push(vm_state(layout, image, &s.name, &d.target));
                        }
                    }
                    DiskSnapshotMode::No | DiskSnapshotMode::Manual => {}
                }
                if let Some(r) = &d.revert_overlay {
                    parts.push(file_part(
                        format!("overlay of {} from the last revert to it", d.target),
                        r,
                        files,
                    ));
                }
            }
            if let Some(m) = &s.memory_file {
                parts.push(file_part("memory state".into(), m, files));
            }
            // The memory of an internal snapshot lives in one image (the first internal disk's):
            // keep the one part that holds it.
            let mut seen_state = false;
            parts.retain(|p| {
                if !p.what.starts_with("memory state inside") {
                    return true;
                }
                let keep = !seen_state && p.bytes != Some(0);
                seen_state |= keep;
                keep
            });
            summarize(&s.name, parts)
        })
        .collect()
}

/// The saved VM state inside `image`, from its snapshot table.
fn vm_state(layout: &Layout, image: &str, name: &str, target: &str) -> SpacePart {
    let what = format!("memory state inside {target}'s image");
    let (bytes, how) = match layout.table(image) {
        Some(t) => match t.iter().find(|e| e.name == name) {
            Some(e) => (
                Some(e.vm_state_size),
                Measure::Qcow2Table.words().to_string(),
            ),
            None => (Some(0), "not in this image's snapshot table".to_string()),
        },
        None if layout.local => (None, "the image's snapshot table could not be read".into()),
        None => (None, "unknown on a remote host".into()),
    };
    SpacePart {
        what,
        path: Some(image.to_string()),
        bytes,
        how,
    }
}

fn summarize(name: &str, parts: Vec<SpacePart>) -> SnapshotSpace {
    let known_bytes: u64 = parts.iter().filter_map(|p| p.bytes).sum();
    let unknown: Vec<&SpacePart> = parts.iter().filter(|p| p.bytes.is_none()).collect();
    let (size_bytes, size_known) = match unknown.first() {
        None => {
            let hows: BTreeSet<&str> = parts.iter().map(|p| p.how.as_str()).collect();
            let hows: Vec<&str> = hows.into_iter().collect();
            let how = if parts.is_empty() {
                "holds no file of its own".to_string()
            } else {
                format!("measured: {}", hows.join("; "))
            };
            (Some(known_bytes), how)
        }
        Some(p) => (None, format!("unknown: {}: {}", p.what, p.how)),
    };
    SnapshotSpace {
        name: name.to_string(),
        size_bytes,
        size_known,
        known_bytes,
        parts,
    }
}

/// What the VM list shows about a domain's snapshots.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VmSpace {
    /// Bytes all snapshots hold together; None when any snapshot's size is unknown.
    pub snapshot_bytes: Option<u64>,
    /// The bytes known (a lower bound when `snapshot_bytes` is None).
    pub snapshot_bytes_known: u64,
    /// How the total was obtained, or why it is unknown.
    pub snapshot_bytes_how: String,
    pub oldest_snapshot: Option<String>,
    /// Seconds since the oldest snapshot was taken.
    pub oldest_age_seconds: Option<i64>,
    pub stale_after_days: u32,
    /// Snapshots older than `stale_after_days`, oldest first.
    pub stale_snapshots: Vec<String>,
    /// Overlays above the base image in the deepest disk chain; None when unknown.
    pub chain_overlays: Option<usize>,
    /// Which disk, and how the depth is known (or why not).
    pub chain_how: String,
    pub deep_chain_after: usize,
    /// `chain_overlays` is more than `deep_chain_after`.
    pub deep_chain: bool,
}

impl VmSpace {
    /// The list's SPACE, OLDEST and CHAIN cells (the CLI's table and the TUI's list): SPACE
    /// the total ("1.2G+" a lower bound, "?" unknown, "-" without snapshots); OLDEST the oldest snapshot's age, `!`
    /// when some snapshot is older than the threshold, "-" without snapshots; CHAIN overlays
    /// above the base, `!` when deeper than the threshold.
    pub fn cells(&self) -> [String; 3] {
        let total = match self.snapshot_bytes {
            // No snapshot: nothing held, as OLDEST says.
            Some(0) if self.oldest_snapshot.is_none() => "-".to_string(),
            Some(b) => short_bytes(b),
            None if self.snapshot_bytes_known > 0 => {
                format!("{}+", short_bytes(self.snapshot_bytes_known))
            }
            None => "?".into(),
        };
        let oldest = match self.oldest_age_seconds {
            None => "-".to_string(),
            Some(age) => {
                let mark = if self.stale_snapshots.is_empty() {
                    ""
                } else {
                    "!"
                };
                format!("{}{mark}", short_age(age))
            }
        };
        let chain = match self.chain_overlays {
            None => "?".to_string(),
            Some(n) => format!("{n}{}", if self.deep_chain { "!" } else { "" }),
        };
        [total, oldest, chain]
    }
}

/// "45m", "5h", "3d", "10w".
pub fn short_age(secs: i64) -> String {
    match secs.max(0) {
        s @ 0..3_600 => format!("{}m", s / 60),
        s @ 3_600..86_400 => format!("{}h", s / 3_600),
        s @ 86_400..1_209_600 => format!("{}d", s / 86_400),
        s => format!("{}w", s / 604_800),
    }
}

/// Totals, age and markers for one VM, at `now` (Unix seconds).
pub fn vm_space(
    layout: &Layout,
    snaps: &[SnapshotSpace],
    now: i64,
    stale_after_days: u32,
    deep_after: usize,
) -> VmSpace {
    // An overlay named by two snapshots' metadata holds its bytes once.
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    let mut known = 0u64;
    let mut unknown = None;
    for s in snaps {
        for p in &s.parts {
            let is_file = p.what.starts_with("overlay") || p.what == "memory state";
            if let (Some(path), true) = (&p.path, is_file) {
                if !seen.insert(path) {
                    continue;
                }
            }
            match p.bytes {
                Some(b) => known += b,
                None if unknown.is_none() => unknown = Some(format!("'{}': {}", s.name, p.how)),
                None => {}
            }
        }
    }
    let how = match &unknown {
        None if snaps.is_empty() => "no snapshots".to_string(),
        None => "measured".to_string(),
        Some(why) => format!("unknown: {why}"),
    };
    let oldest = layout.snapshots.iter().min_by_key(|s| s.created);
    let limit = i64::from(stale_after_days) * 86_400;
    let mut stale: Vec<(i64, &str)> = layout
        .snapshots
        .iter()
        .filter(|s| now - s.created > limit)
        .map(|s| (s.created, s.name.as_str()))
        .collect();
    stale.sort();
    let (chain_overlays, chain_how) = chain_depth(layout);
    VmSpace {
        snapshot_bytes: unknown.is_none().then_some(known),
        snapshot_bytes_known: known,
        snapshot_bytes_how: how,
        oldest_snapshot: oldest.map(|s| s.name.clone()),
        oldest_age_seconds: oldest.map(|s| now - s.created),
        stale_after_days,
        stale_snapshots: stale.into_iter().map(|(_, n)| n.to_string()).collect(),
        chain_overlays,
        chain_how,
        deep_chain_after: deep_after,
        deep_chain: chain_overlays.is_some_and(|d| d > deep_after),
    }
}

/// Overlays above the base in the deepest writable disk's chain, and how that is known. The
/// chain is known when its last image's header was read here (a local host), or from the
/// running VM's live `<backingStore>`.
fn chain_depth(layout: &Layout) -> (Option<usize>, String) {
    let mut deepest: Option<(usize, &str)> = None;
    for d in layout.disks.iter().filter(|d| d.writable) {
        let Some(top) = &d.top else { continue };
        let chain = layout.chain(top);
        let base = chain.last().map(String::as_str).unwrap_or(top);
        let known = layout.header_read(base) || layout.active();
        if !known {
            let why = if layout.local {
                format!("{}: the image headers could not be read", d.target)
            } else {
                format!(
                    "{}: unknown on a remote host while the VM is shut off (libvirt reports \
                     backing chains of running VMs only)",
                    d.target
                )
            };
            return (None, why);
        }
        let n = chain.len() - 1;
        if deepest.is_none_or(|(m, _)| n > m) {
            deepest = Some((n, &d.target));
        }
    }
    match deepest {
        None => (Some(0), "no writable disk".into()),
        Some((n, target)) => (
            Some(n),
            format!(
                "{target}: {n} overlay{} above its base image",
                if n == 1 { "" } else { "s" }
            ),
        ),
    }
}

/// "1.5G", "512K", "0": the SIZE column.
pub fn short_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["K", "M", "G", "T", "P"];
    if n < 1024 {
        return n.to_string();
    }
    let mut v = n as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    if v < 10.0 {
        format!("{v:.1}{}", UNITS[unit])
    } else {
        format!("{v:.0}{}", UNITS[unit])
    }
}

#[cfg(test)]
#[path = "space_tests.rs"]
mod tests;
