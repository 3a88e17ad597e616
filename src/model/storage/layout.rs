//! Where each snapshot's data lives and what the VM runs on now, as images and the backing
//! edges between them. Built from [`StorageFacts`]; asked "who needs this image unchanged?".
//!
//! The facts behind it (libvirt 11.3, qemu_snapshot.c; measured here):
//! - An internal snapshot lives inside the image its saved `<domain>` names for the disk.
//! - An external snapshot's data *is* the image its saved `<domain>` names (frozen when the
//!   snapshot was taken); its `<disks>` overlay, built on that image, holds what was written
//!   afterwards. A revert to it makes a new overlay on the same image (`<revertDisks>`, or the
//!   `<disks>` entry itself when it has no children).
//! - Any image's content is its own clusters plus everything below it in its backing chain, so
//!   whoever needs an image also needs every image under it unchanged.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::facts::{normalize_path, resolve_backing, ImageKind, StorageFacts};
use crate::model::qcow2::InternalSnapshot;
use crate::model::snapshot::{DiskSnapshotMode, MemoryMode, SnapshotLocation, SnapshotState};
use crate::model::{Disk, DiskDevice, DiskType, DomainConfig, DomainState};

/// A disk of the definition in effect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DiskNow {
    pub target: String,
    pub device: DiskDevice,
    pub disk_type: DiskType,
    pub format: Option<String>,
    /// The image the VM reads and writes (a volume resolved to its path); None for an empty
    /// drive.
    pub top: Option<String>,
    /// A snapshot must capture it (not read-only, not a CD-ROM, not `snapshot='no'`).
    pub writable: bool,
    pub readonly: bool,
}

/// A disk of a snapshot's saved definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SavedDisk {
    pub target: String,
    pub device: DiskDevice,
    pub disk_type: DiskType,
    pub source: Option<String>,
    pub format: Option<String>,
}

/// One disk of one snapshot: where its data is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SnapDisk {
    pub target: String,
    pub mode: DiskSnapshotMode,
    /// The saved definition's source for this disk: the image holding an internal snapshot,
    /// or the frozen image that *is* an external snapshot's data.
    pub image: Option<String>,
    /// `<disks>` source of an external snapshot: the overlay built on `image`.
    pub overlay: Option<String>,
    /// `<revertDisks>` source: the overlay made by the last revert to this snapshot.
    pub revert_overlay: Option<String>,
}

/// One snapshot, as the storage model sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SnapStore {
    pub name: String,
    pub parent: Option<String>,
    pub location: SnapshotLocation,
    pub state: SnapshotState,
    pub memory: MemoryMode,
    pub memory_file: Option<String>,
    pub created: i64,
    pub disks: Vec<SnapDisk>,
    /// Every disk of the saved definition (also CD-ROMs and disks left out); None when the
    /// snapshot has no saved `<domain>` (libvirt refuses to revert to it).
    pub saved: Option<Vec<SavedDisk>>,
    /// The saved definition itself, for definition roll-back wording.
    #[serde(skip)]
    pub saved_config: Option<Box<DomainConfig>>,
}

impl SnapStore {
    pub fn disk(&self, target: &str) -> Option<&SnapDisk> {
        self.disks.iter().find(|d| d.target == target)
    }

    pub fn has_memory(&self) -> bool {
        self.memory != MemoryMode::No
    }
}

/// Whose data depends on images staying as they are.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "name")]
pub enum Holder {
    /// A snapshot libvirt lists.
    Snapshot(String),
    /// The VM's current state (its disks as they are now).
    Current,
    /// The safety snapshot virtsnap takes before a revert.
    Safety(String),
}

impl Holder {
    pub fn describe(&self) -> String {
        match self {
            Holder::Snapshot(n) => format!("snapshot '{n}'"),
            Holder::Current => "the VM's current state".into(),
            Holder::Safety(n) => format!("the safety snapshot '{n}'"),
        }
    }
}

/// What a holder needs from one image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Need {
    /// The image's content (its clusters, as read through it) must not change or vanish.
    Content(String),
    /// The internal snapshot `name` inside `image` must stay.
    Internal { image: String, name: String },
}

/// The storage model of one domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    pub domain: String,
    pub state: DomainState,
    pub persistent: bool,
    pub managed_save: bool,
    /// See [`StorageFacts::disks_inactive`].
    pub disks_inactive: bool,
    /// libvirt's test driver: internal snapshots only, and no image to check.
    pub test_driver: bool,
    pub local: bool,
    pub libvirt_version: u64,
    pub now: i64,
    pub disks: Vec<DiskNow>,
    pub snapshots: Vec<SnapStore>,
    pub current: Option<String>,
    /// The definition in effect and the persistent one, for roll-back wording.
    pub config: DomainConfig,
    pub persistent_config: Option<DomainConfig>,
    /// image -> the image it is an overlay of.
    backing: BTreeMap<String, String>,
    /// Internal snapshot tables of images whose headers were read.
    tables: BTreeMap<String, Vec<InternalSnapshot>>,
    /// Images known to hold guest data in an external data file.
    data_file: BTreeSet<String>,
    /// Images known not to exist.
    missing: BTreeSet<String>,
    /// Images whose header was read (so "no backing file" is known, not guessed).
    read: BTreeSet<String>,
    /// Files known to exist (local host).
    files: BTreeSet<String>,
    /// The facts this was built from (to re-plan as if the VM were stopped).
    facts: StorageFacts,
}

fn resolve_source(facts: &StorageFacts, disk: &Disk) -> Option<String> {
    if let Some((pool, volume)) = &disk.pool_volume {
        return facts.volume_path(pool, volume).map(normalize_path);
    }
    match disk.disk_type {
        DiskType::File | DiskType::Block | DiskType::Dir => disk
            .source
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(normalize_path),
        // Network sources (rbd, iscsi, nbd) are names, not paths; keep them as they are.
        _ => disk.source.clone().filter(|s| !s.is_empty()),
    }
}

impl Layout {
    pub fn new(facts: &StorageFacts) -> Layout {
        let mut backing = BTreeMap::new();
        let disks: Vec<DiskNow> = facts
            .config
            .disks
            .iter()
            .map(|d| {
                let top = resolve_source(facts, d);
                // The live <backingStore> chain, where libvirt recorded it.
                let mut above = top.clone();
                for level in &d.backing_chain {
                    let Some(src) = level.source.as_deref().map(normalize_path) else {
                        break;
                    };
                    if let Some(a) = above.take() {
                        backing.insert(a, src.clone());
                    }
                    above = Some(src);
                }
                DiskNow {
                    target: d.target.clone(),
                    device: d.device,
                    disk_type: d.disk_type,
                    format: d.format.clone(),
                    top,
                    writable: d.is_writable(),
                    readonly: d.readonly,
                }
            })
            .collect();
        let snapshots: Vec<SnapStore> = facts
            .snapshots
            .iter()
            .map(|s| snap_store(facts, s))
            .collect();
        // libvirt's own bookkeeping: every overlay it made sits on the snapshot's image.
        for s in &snapshots {
            for d in &s.disks {
                if let Some(image) = &d.image {
                    for o in [&d.overlay, &d.revert_overlay].into_iter().flatten() {
                        if d.mode == DiskSnapshotMode::External && o != image {
                            backing.entry(o.clone()).or_insert_with(|| image.clone());
                        }
                    }
                }
            }
        }
        let mut tables = BTreeMap::new();
        let mut data_file = BTreeSet::new();
        let mut missing = BTreeSet::new();
        let mut read = BTreeSet::new();
        // The image headers are the truth where they could be read.
        for image in &facts.images {
            let path = normalize_path(&image.path);
            match &image.kind {
                ImageKind::Qcow2 {
                    header,
                    backing: b,
                    internal,
                } => {
                    match b {
                        Some(b) => {
                            backing.insert(path.clone(), resolve_backing(&path, b));
                        }
                        None => {
                            backing.remove(&path);
                        }
                    }
                    if header.has_data_file {
                        data_file.insert(path.clone());
                    }
                    tables.insert(path.clone(), internal.clone());
                    read.insert(path);
                }
                ImageKind::Other => {
                    backing.remove(&path);
                    read.insert(path);
                }
                ImageKind::Missing => {
                    missing.insert(path);
                }
                ImageKind::Unreadable(_) => {}
            }
        }
        Layout {
            domain: facts.domain.clone(),
            state: facts.state,
            persistent: facts.persistent,
            managed_save: facts.managed_save,
            disks_inactive: facts.disks_inactive && facts.state.is_active(),
            test_driver: facts.driver.eq_ignore_ascii_case("test"),
            local: facts.local,
            libvirt_version: facts.libvirt_version,
            now: facts.now,
            disks,
            snapshots,
            current: facts.current.clone(),
            config: facts.config.clone(),
            persistent_config: facts.persistent_config.clone(),
            backing,
            tables,
            data_file,
            missing,
            read,
            files: facts.existing.iter().map(|f| normalize_path(f)).collect(),
            facts: facts.clone(),
        }
    }

    /// The layout as it will be once the VM is shut down: the persistent definition's disks
    /// (live-only changes such as a hot-plugged disk are gone), same images and snapshots.
    pub fn stopped(&self) -> Layout {
        let mut facts = self.facts.clone();
        facts.state = DomainState::Shutoff;
        if let Some(p) = facts.persistent_config.take() {
            facts.config = p;
        }
        let mut next = Layout::new(&facts);
        // Edges learned from the live chain stay true after the VM stops.
        for (k, v) in &self.backing {
            next.backing.entry(k.clone()).or_insert_with(|| v.clone());
        }
        next
    }

    /// Whether a file exists, as far as the facts know (always false on a remote host).
    pub fn file_exists(&self, path: &str) -> bool {
        self.files.contains(path) || self.read.contains(path) || (self.tables.contains_key(path))
    }

    pub fn active(&self) -> bool {
        self.state.is_active()
    }

    pub fn snapshot(&self, name: &str) -> Option<&SnapStore> {
        self.snapshots.iter().find(|s| s.name == name)
    }

    pub fn current(&self) -> Option<&SnapStore> {
        self.current.as_deref().and_then(|c| self.snapshot(c))
    }

    pub fn disk(&self, target: &str) -> Option<&DiskNow> {
        self.disks.iter().find(|d| d.target == target)
    }

    pub fn children(&self, name: &str) -> Vec<&SnapStore> {
        self.snapshots
            .iter()
            .filter(|s| s.parent.as_deref() == Some(name))
            .collect()
    }

    /// Every snapshot below `name`, parents before children.
    pub fn descendants(&self, name: &str) -> Vec<&SnapStore> {
        let mut out: Vec<&SnapStore> = Vec::new();
        let mut queue = vec![name.to_string()];
        while let Some(n) = queue.pop() {
            for c in self.children(&n) {
                if out.iter().any(|o| o.name == c.name) || c.name == name {
                    continue;
                }
                queue.push(c.name.clone());
                out.push(c);
            }
        }
        out
    }

    /// `name`'s ancestors, nearest first.
    pub fn ancestors(&self, name: &str) -> Vec<&SnapStore> {
        let mut out: Vec<&SnapStore> = Vec::new();
        let mut at = self.snapshot(name).and_then(|s| s.parent.as_deref());
        while let Some(p) = at.and_then(|p| self.snapshot(p)) {
            if out.iter().any(|o| o.name == p.name) || p.name == name {
                break;
            }
            out.push(p);
            at = p.parent.as_deref();
        }
        out
    }

    /// `ancestor` is `name` itself or above it in the tree.
    pub fn is_ancestor_or_self(&self, ancestor: &str, name: &str) -> bool {
        ancestor == name || self.ancestors(name).iter().any(|a| a.name == ancestor)
    }

    /// The image `image` is an overlay of, where known.
    pub fn backing_of(&self, image: &str) -> Option<&str> {
        self.backing.get(image).map(String::as_str)
    }

    /// Whether the image's header was read (so its backing file is known for certain).
    pub fn header_read(&self, image: &str) -> bool {
        self.read.contains(image)
    }

    /// `image` and every image below it, top first. Stops at a loop.
    pub fn chain(&self, image: &str) -> Vec<String> {
        let mut out = vec![image.to_string()];
        let mut at = image;
        while let Some(b) = self.backing.get(at) {
            if out.contains(b) {
                break;
            }
            out.push(b.clone());
            at = b;
        }
        out
    }

    /// The internal snapshot table of an image, when its header was read.
    pub fn table(&self, image: &str) -> Option<&[InternalSnapshot]> {
        self.tables.get(image).map(Vec::as_slice)
    }

    /// (image, name) of every internal snapshot the images' tables hold that libvirt does not
    /// list: left behind by a metadata-only delete or another tool.
    pub fn image_snapshot_names(&self) -> Vec<(String, String)> {
        self.tables
            .iter()
            .flat_map(|(image, table)| {
                table
                    .iter()
                    .filter(|s| self.snapshot(&s.name).is_none())
                    .map(move |s| (image.clone(), s.name.clone()))
            })
            .collect()
    }

    pub fn has_data_file(&self, image: &str) -> bool {
        self.data_file.contains(image)
    }

    pub fn is_missing(&self, image: &str) -> bool {
        self.missing.contains(image)
    }

    /// Every image of the VM's current disks, top and below.
    pub fn current_images(&self) -> BTreeSet<String> {
        self.disks
            .iter()
            .filter_map(|d| d.top.as_deref())
            .flat_map(|t| self.chain(t))
            .collect()
    }

    /// Every file the domain's disks and snapshots name: the current chains, each snapshot's
    /// image, overlay and revert overlay, and memory files (paths; block devices included).
    pub fn named_files(&self) -> BTreeSet<String> {
        let mut files = self.current_images();
        for s in &self.snapshots {
            for d in &s.disks {
                files.extend(
                    [&d.image, &d.overlay, &d.revert_overlay]
                        .into_iter()
                        .flatten()
                        .cloned(),
                );
            }
            files.extend(s.memory_file.clone());
        }
        files
    }

    /// The holders whose data lives somewhere: every snapshot, and the current state.
    pub fn holders(&self) -> Vec<Holder> {
        let mut out: Vec<Holder> = self
            .snapshots
            .iter()
            .map(|s| Holder::Snapshot(s.name.clone()))
            .collect();
        out.push(Holder::Current);
        out
    }

    /// What `holder` needs unchanged. A safety snapshot is looked up like any snapshot (the
    /// planner adds it to a copy of the layout first).
    pub fn needs(&self, holder: &Holder) -> Vec<Need> {
        match holder {
            Holder::Current => self
                .disks
                .iter()
                .filter_map(|d| d.top.as_deref())
                .flat_map(|t| self.chain(t))
                .map(Need::Content)
                .collect(),
            Holder::Snapshot(name) | Holder::Safety(name) => {
                let Some(s) = self.snapshot(name) else {
                    return Vec::new();
                };
                let mut needs = Vec::new();
                for d in &s.disks {
                    let Some(image) = &d.image else { continue };
                    match d.mode {
                        DiskSnapshotMode::External => {
                            needs.extend(self.chain(image).into_iter().map(Need::Content))
                        }
                        DiskSnapshotMode::Internal => {
                            needs.push(Need::Internal {
                                image: image.clone(),
                                name: s.name.clone(),
                            });
                            needs.extend(self.chain(image).into_iter().skip(1).map(Need::Content));
                        }
                        DiskSnapshotMode::No | DiskSnapshotMode::Manual => {}
                    }
                }
                if let (MemoryMode::External, Some(f)) = (s.memory, &s.memory_file) {
                    needs.push(Need::Content(normalize_path(f)));
                }
                needs
            }
        }
    }

    /// Adds a snapshot to a copy of the layout, as creating it would (for planning the safety
    /// snapshot of a revert): external overlays become the disks' tops, the snapshot becomes
    /// current.
    pub fn with_created(&self, snap: SnapStore) -> Layout {
        let mut next = self.clone();
        for d in &snap.disks {
            if d.mode != DiskSnapshotMode::External {
                continue;
            }
            if let (Some(overlay), Some(image)) = (&d.overlay, &d.image) {
                next.backing.insert(overlay.clone(), image.clone());
                if let Some(now) = next.disks.iter_mut().find(|n| n.target == d.target) {
                    now.top = Some(overlay.clone());
                }
            }
        }
        next.current = Some(snap.name.clone());
        next.snapshots.push(snap);
        next
    }

    /// `base`, or `base-2`, `base-3`... when a snapshot (or an image's internal snapshot) of
    /// that name exists.
    pub fn unique_name(&self, base: &str) -> String {
        let taken = |n: &str| {
            self.snapshot(n).is_some() || self.tables.values().flatten().any(|s| s.name == n)
        };
        if !taken(base) {
            return base.to_string();
        }
        (2..10_000)
            .map(|i| format!("{base}-{i}"))
            .find(|n| !taken(n))
            .unwrap_or_else(|| format!("{base}-{}", self.now))
    }

    /// Records an edge learned elsewhere (tests, plans).
    pub fn set_backing(&mut self, image: &str, backing: &str) {
        self.backing.insert(image.to_string(), backing.to_string());
    }
}

fn snap_store(facts: &StorageFacts, s: &crate::model::snapshot::SnapshotInfo) -> SnapStore {
    let saved_disks: Option<Vec<SavedDisk>> = s.domain.as_ref().map(|dom| {
        dom.disks
            .iter()
            .map(|d| SavedDisk {
                target: d.target.clone(),
                device: d.device,
                disk_type: d.disk_type,
                source: resolve_source(facts, d),
                format: d.format.clone(),
            })
            .collect()
    });
    let saved_source = |target: &str| {
        saved_disks
            .as_ref()
            .and_then(|ds| ds.iter().find(|d| d.target == target))
            .and_then(|d| d.source.clone())
    };
    let mut disks: Vec<SnapDisk> = s
        .disks
        .iter()
        .map(|d| {
            let mode = d.mode.unwrap_or(match s.location {
                SnapshotLocation::Internal => DiskSnapshotMode::Internal,
                SnapshotLocation::External => DiskSnapshotMode::External,
            });
            let revert_overlay = s
                .revert_disks
                .iter()
                .find(|r| r.name == d.name)
                .and_then(|r| r.source.as_deref())
                .map(normalize_path);
            SnapDisk {
                target: d.name.clone(),
                mode,
                image: saved_source(&d.name),
                overlay: (mode == DiskSnapshotMode::External)
                    .then(|| d.source.as_deref().map(normalize_path))
                    .flatten(),
                revert_overlay,
            }
        })
        .collect();
    // Old or hand-made metadata without <disks>: every writable disk of the saved definition
    // is taken to be captured the snapshot's way.
    if disks.is_empty() {
        if let Some(dom) = &s.domain {
            disks = dom
                .disks
                .iter()
                .filter(|d| d.is_writable())
                .map(|d| SnapDisk {
                    target: d.target.clone(),
                    mode: match s.location {
                        SnapshotLocation::Internal => DiskSnapshotMode::Internal,
                        SnapshotLocation::External => DiskSnapshotMode::External,
                    },
                    image: resolve_source(facts, d),
                    overlay: None,
                    revert_overlay: None,
                })
                .collect();
        }
    }
    SnapStore {
        name: s.name.clone(),
        parent: s.parent.clone(),
        location: s.location,
        state: s.state.clone(),
        memory: s.memory_mode,
        memory_file: s.memory_file.as_deref().map(normalize_path),
        created: s.created,
        disks,
        saved: saved_disks,
        saved_config: s.domain.clone(),
    }
}
