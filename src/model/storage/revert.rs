//! Planning a revert: what libvirt 11.3 will do to the files (qemu_snapshot.c
//! `qemuSnapshotRevert*`), the safety snapshot that survives it, and a refusal, up front,
//! when data somebody needs would be lost.
//!
//! - An internal revert rewrites the image holding the snapshot in place (`qemu-img snapshot
//!   -a NAME` shut off, QMP `snapshot-load` running), whatever is built on that image.
//! - An external revert makes new overlays `<saved source minus suffix>.<unix seconds>` on
//!   the snapshot's saved sources and deletes the *current* snapshot's overlays (its
//!   `<revertDisks>` if it has them), even when other snapshots' data lives there.
//! - QEMU resolves the name ID-first (`find_snapshot_by_id_or_name`), so an internal target
//!   is only reverted when the image's own table proves the name means this snapshot.

use serde::Serialize;
use virt::sys::{VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED, VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING};

use super::create::{created_snapshot, plan_create, CreateAbility, CreateIntent};
use super::effects::{short, Damage, Effects, NewFile, Rewrite};
use super::layout::{Holder, Layout, SnapStore};
use super::words::definition_changes;
use super::{Refusal, RefusalKind, WayOut};
use crate::model::qcow2::resolve_for_goto;
use crate::model::snapshot::{DiskSnapshotMode, SnapshotLocation, SnapshotPlan, SnapshotState};
use crate::model::DiskType;

/// The state the VM is asked to be in after the revert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AfterRevert {
    /// As the snapshot captured it (running or paused for a snapshot with memory, shut off
    /// for one without).
    #[default]
    Saved,
    Running,
    Paused,
}

impl AfterRevert {
    pub const ALL: [AfterRevert; 3] = [Self::Saved, Self::Running, Self::Paused];

    /// `VIR_DOMAIN_SNAPSHOT_REVERT_*` flags.
    pub fn flags(self) -> u32 {
        match self {
            Self::Saved => 0,
            Self::Running => VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING,
            Self::Paused => VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Saved => "as saved in the snapshot",
            Self::Running => "running",
            Self::Paused => "paused",
        }
    }
}

/// What the user asked for.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RevertOptions {
    pub after: AfterRevert,
    /// Name for a safety snapshot of the current state; None: the admin declined one.
    pub safety: Option<String>,
    /// Shut the VM down first (so that an internal safety snapshot of its disks can be taken).
    pub stop_first: bool,
}

/// The safety snapshot part of a revert plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum SafetyPlan {
    /// The admin declined one.
    NotRequested,
    /// Nothing to keep (a shut-off VM without disks).
    NotNeeded {
        reason: String,
    },
    Planned {
        plan: Box<SnapshotPlan>,
    },
    /// No safety snapshot could survive this revert; the plan is refused with the ways out.
    Impossible {
        reason: String,
    },
}

/// Where the VM ends up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AfterState {
    /// `running`, `paused` or `shut off`.
    pub state: &'static str,
    /// Why, in a few words: "the snapshot has no memory state".
    pub why: String,
}

/// Everything a revert will do, decided before anything changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RevertPlan {
    pub domain: String,
    pub target: String,
    pub location: Option<SnapshotLocation>,
    /// Set when virtsnap will not do it; everything below is then what it would have done.
    pub refusal: Option<Refusal>,
    /// The VM is shut down (gracefully) first.
    pub stop_first: bool,
    /// The managed-save image is removed first: it belongs to the disks being reverted away
    /// from, and libvirt would otherwise resume it over the reverted disks at the next start.
    pub remove_managed_save: bool,
    pub safety: SafetyPlan,
    /// What the revert itself does to files.
    pub effects: Effects,
    /// Files nobody needs afterwards (left on disk, not deleted).
    pub orphaned: Vec<String>,
    pub after: AfterState,
    /// `VIR_DOMAIN_SNAPSHOT_REVERT_*` flags to pass.
    pub flags: u32,
    /// What the admin gives up, in words.
    pub discarded: Vec<String>,
    /// What the VM leaves behind that the safety snapshot keeps, in words (empty without one).
    pub kept: Vec<String>,
    /// How the domain definition changes (CPU, vCPUs, memory, disks, devices).
    pub definition_changes: Vec<String>,
    pub warnings: Vec<String>,
    /// The revert's new overlays are named after this second; a job that finds the names
    /// taken waits for the next one.
    pub overlay_second: i64,
}

impl RevertPlan {
    pub fn is_refused(&self) -> bool {
        self.refusal.is_some()
    }

    /// A planned new overlay's path as the plan can know it: libvirt names it after the
    /// second of the revert itself, not the one of planning, so the seconds are a placeholder
    /// (`/i/web.<unix time of the revert>`). Other created files are returned as they are.
    pub fn created_words(&self, path: &str) -> String {
        match self.overlay_stem(path) {
            Some(stem) => format!("{stem}.<unix time of the revert>"),
            None => path.to_string(),
        }
    }

    /// `/i/web` for the planned `/i/web.<overlay_second>`.
    fn overlay_stem<'a>(&self, path: &'a str) -> Option<&'a str> {
        path.strip_suffix(&format!(".{}", self.overlay_second))
    }

    /// The files libvirt really created for the planned new overlays, found among the disk
    /// sources the domain has after the revert (`/i/web.1795998512` for the planned
    /// `/i/web.1795998510`).
    pub fn real_overlays<'a>(&self, sources: &'a [String]) -> Vec<&'a str> {
        self.effects
            .created
            .iter()
            .filter_map(|f| {
                let stem = self.overlay_stem(&f.path)?;
                sources.iter().map(String::as_str).find(|s| {
                    s.strip_prefix(stem)
                        .and_then(|rest| rest.strip_prefix('.'))
                        .is_some_and(|secs| {
                            !secs.is_empty() && secs.bytes().all(|b| b.is_ascii_digit())
                        })
                })
            })
            .collect()
    }

    /// False when it was refused before anything was worked out (no such snapshot, an
    /// after-state libvirt refuses): then only the refusal means anything.
    pub fn worked_out(&self) -> bool {
        self.after.state != "unknown"
    }

    pub fn safety_plan(&self) -> Option<&SnapshotPlan> {
        match &self.safety {
            SafetyPlan::Planned { plan } => Some(plan),
            _ => None,
        }
    }
}

/// Plans reverting `layout`'s domain to `target`.
pub fn plan_revert(
    layout: &Layout,
    target: &str,
    options: &RevertOptions,
    ability: &CreateAbility,
) -> RevertPlan {
    let mut plan = RevertPlan {
        domain: layout.domain.clone(),
        target: target.to_string(),
        location: None,
        refusal: None,
        stop_first: options.stop_first && layout.active(),
        remove_managed_save: false,
        safety: SafetyPlan::NotRequested,
        effects: Effects::default(),
        orphaned: Vec::new(),
        after: AfterState {
            state: "unknown",
            why: String::new(),
        },
        flags: options.after.flags(),
        discarded: Vec::new(),
        kept: Vec::new(),
        definition_changes: Vec::new(),
        warnings: Vec::new(),
        overlay_second: layout.now,
    };
    let Some(snap) = layout.snapshot(target) else {
        plan.refusal = Some(Refusal::of(
            RefusalKind::NotFound,
            format!("{} has no snapshot named '{target}'", layout.domain),
        ));
        return plan;
    };
    plan.location = Some(snap.location);
    match after_state(layout, snap, options.after) {
        Ok(after) => plan.after = after,
        Err(refusal) => {
            plan.refusal = Some(refusal);
            return plan;
        }
    }
    let base = if plan.stop_first {
        layout.stopped()
    } else {
        layout.clone()
    };
    if base.managed_save {
        plan.remove_managed_save = true;
    }
    plan.discarded = discarded(layout, snap);
    plan.definition_changes = snap
        .saved_config
        .as_deref()
        .map(|saved| {
            definition_changes(
                layout.persistent_config.as_ref().unwrap_or(&layout.config),
                saved,
            )
        })
        .unwrap_or_default();
    // What the revert does without a safety snapshot. A safety snapshot can fix some of it
    // (it becomes the current snapshot, so libvirt deletes its overlay instead), not all.
    let mut bare = plan.clone();
    fill_effects(&mut bare, &base, snap);
    let Some(name) = &options.safety else {
        return bare;
    };
    match plan_safety(&base, snap, name, ability) {
        Ok(SafetyPlan::Planned { plan: p }) => {
            if base.disks_inactive && !p.memory {
                plan.warnings.push(
                    "the safety snapshot captures the disks only: QEMU keeps this paused VM's \
                     disks inactive after the memory snapshot taken while it was paused, which \
                     holds the memory state it has now (the guest has not run since)"
                        .into(),
                );
            }
            let with_safety = base.with_created(created_snapshot(&base, &p));
            // The safety snapshot keeps the disks as they are, and the memory when it has it;
            // the rest (a managed-save image) is still discarded.
            let memory = p.memory;
            let (kept, discarded): (Vec<String>, Vec<String>) = std::mem::take(&mut plan.discarded)
                .into_iter()
                .partition(|d| d.starts_with(DISK_CHANGES) || (memory && d == RUNNING_MEMORY));
            plan.kept = kept;
            plan.discarded = discarded;
            plan.safety = SafetyPlan::Planned { plan: p };
            fill_effects(&mut plan, &with_safety, snap);
            plan
        }
        Ok(other) => {
            bare.safety = other;
            bare
        }
        Err(reason) => {
            bare.safety = SafetyPlan::Impossible {
                reason: reason.clone(),
            };
            // When the revert itself destroys other snapshots' data, that is the reason;
            // otherwise it is that no safety snapshot survives.
            if bare.refusal.is_none() {
                bare.refusal = Some(safety_refusal(layout, snap, &reason, ability));
            }
            bare
        }
    }
}

/// Works out the revert's effects on `layout` (which includes the safety snapshot, if any)
/// and refuses when they would destroy data somebody needs.
fn fill_effects(plan: &mut RevertPlan, layout: &Layout, snap: &SnapStore) {
    match revert_effects(layout, snap) {
        Ok((effects, warnings)) => {
            plan.warnings.extend(warnings);
            let damage = layout.damage(&effects, &layout.holders(), &[Holder::Current]);
            plan.orphaned = orphaned(layout, &effects);
            plan.effects = effects;
            if plan.refusal.is_none() && !damage.is_empty() {
                plan.refusal = Some(damage_refusal(layout, snap, &plan.effects, &damage));
            }
        }
        Err(refusal) => {
            if plan.refusal.is_none() {
                plan.refusal = Some(refusal);
            }
        }
    }
}

/// The state after the revert, or libvirt's refusal of the asked-for state.
fn after_state(
    layout: &Layout,
    snap: &SnapStore,
    after: AfterRevert,
) -> Result<AfterState, Refusal> {
    match snap.state {
        SnapshotState::Pmsuspended => {
            return Err(Refusal::plain(format!(
                "'{}' was taken while the guest was suspended to RAM; QEMU cannot revert to such \
                 a snapshot (libvirt: \"qemu doesn't support reversion of snapshot taken in \
                 PMSUSPENDED state\")",
                snap.name
            )))
        }
        SnapshotState::Nostate | SnapshotState::Blocked => {
            return Err(Refusal::plain(format!(
                "'{}' records the state '{}', which libvirt refuses to revert to",
                snap.name,
                snap.state.as_str()
            )))
        }
        _ => {}
    }
    let with_memory = matches!(snap.state, SnapshotState::Running | SnapshotState::Paused);
    if with_memory {
        let paused = (snap.state == SnapshotState::Paused && after != AfterRevert::Running)
            || after == AfterRevert::Paused;
        let why = match after {
            AfterRevert::Saved if paused => "the snapshot was taken while the VM was paused",
            AfterRevert::Saved => "the snapshot has memory state: the VM resumes where it was",
            AfterRevert::Running => "asked for running",
            AfterRevert::Paused => "asked for paused",
        };
        return Ok(AfterState {
            state: if paused { "paused" } else { "running" },
            why: why.into(),
        });
    }
    match after {
        AfterRevert::Saved if !layout.persistent => Err(Refusal {
            kind: RefusalKind::Libvirt,
            reason: format!(
                "{} is a transient domain: after reverting to '{}', which has no memory state, \
                 it has to run or be paused (libvirt: \"transient domain needs to request run \
                 or pause to revert to inactive snapshot\")",
                layout.domain, snap.name
            ),
            ways_out: vec![
                WayOut::cli("start it after the revert", "--running"),
                WayOut::cli("leave it paused after the revert", "--paused"),
            ],
        }),
        AfterRevert::Saved => Ok(AfterState {
            state: "shut off",
            why: format!(
                "'{}' has no memory state ({}); choose running or paused to start it afterwards",
                snap.name,
                if snap.state == SnapshotState::DiskSnapshot {
                    "a disk-only snapshot"
                } else {
                    "taken while the VM was shut off"
                }
            ),
        }),
        AfterRevert::Running => Ok(AfterState {
            state: "running",
            why:
                "started fresh from the snapshot's disks (it has no memory state: the guest boots)"
                    .into(),
        }),
        AfterRevert::Paused => Ok(AfterState {
            state: "paused",
            why: "started paused from the snapshot's disks (the guest boots when resumed)".into(),
        }),
    }
}

const DISK_CHANGES: &str = "changes to the disks since";
const RUNNING_MEMORY: &str = "the running memory (unsaved work in the guest)";

fn discarded(layout: &Layout, snap: &SnapStore) -> Vec<String> {
    let since = layout.current.as_deref().unwrap_or(&snap.name);
    let mut out = vec![format!("{DISK_CHANGES} '{since}'")];
    if layout.active() {
        out.push(RUNNING_MEMORY.into());
    }
    if layout.managed_save {
        out.push(
            "the managed-save image (the memory saved when the VM was last stopped with managed \
             save): it belongs to the current disks"
                .into(),
        );
    }
    out
}

/// What libvirt does to files when reverting to `snap` on `layout`, or its refusal.
pub fn revert_effects(
    layout: &Layout,
    snap: &SnapStore,
) -> Result<(Effects, Vec<String>), Refusal> {
    let Some(saved) = &snap.saved else {
        return Err(Refusal::plain(format!(
            "'{}' has no saved domain definition; libvirt refuses to revert to it (\"snapshot \
             lacks domain rollback info\")",
            snap.name
        )));
    };
    let mut effects = Effects::default();
    let mut warnings = Vec::new();
    let with_memory = matches!(snap.state, SnapshotState::Running | SnapshotState::Paused);
    if snap.location == SnapshotLocation::Internal {
        let how = if with_memory {
            format!("QMP snapshot-load '{}'", snap.name)
        } else {
            format!("qemu-img snapshot -a '{}'", snap.name)
        };
        for d in snap
            .disks
            .iter()
            .filter(|d| d.mode == DiskSnapshotMode::Internal)
        {
            let Some(image) = &d.image else { continue };
            if layout.local && layout.is_missing(image) {
                return Err(Refusal::plain(format!(
                    "{image}, which holds '{}' for {}, does not exist any more",
                    snap.name, d.target
                )));
            }
            prove_name(layout, image, &snap.name, Lookup::Goto)?;
            effects.rewritten.push(Rewrite {
                image: image.clone(),
                how: how.clone(),
            });
        }
        return Ok((effects, warnings));
    }
    if layout.libvirt_version < super::create::EXTERNAL_REVERT_SINCE {
        return Err(Refusal::plain(format!(
            "'{}' is an external snapshot: reverting to it needs libvirt 9.9 or newer (this host runs {})",
            snap.name,
            crate::model::inventory::version_string(layout.libvirt_version)
        )));
    }
    // External: qemuSnapshotRevertValidate checks every disk of the saved definition.
    if let Some(d) = saved.iter().find(|d| d.disk_type != DiskType::File) {
        return Err(Refusal::plain(format!(
            "libvirt cannot revert to '{}': its saved definition has {} as {} (libvirt: \"source \
             disk for '{}' is not a regular file, reverting to snapshot is not supported\")",
            snap.name,
            d.target,
            match d.disk_type {
                DiskType::Volume => "a storage pool volume",
                DiskType::Block => "a block device",
                DiskType::Network => "network storage",
                _ => "something other than a file",
            },
            d.target
        )));
    }
    let mut names: Vec<(String, String)> = Vec::new();
    for d in saved {
        let Some(source) = &d.source else { continue };
        if layout.local && layout.is_missing(source) {
            return Err(Refusal::plain(format!(
                "{source}, which '{}' needs for {}, does not exist any more (libvirt: \"source for \
                 disk '{}' is not a regular file\")",
                snap.name, d.target, d.target
            )));
        }
        let path = revert_overlay_name(source, layout.now);
        if let Some((other, _)) = names.iter().find(|(_, p)| *p == path) {
            return Err(Refusal::plain(format!(
                "libvirt would name the new overlays of {} and {other} both {path} and refuses \
                 (\"collision with disk\"); rename one of the images so their names differ before \
                 the last '.'",
                d.target
            )));
        }
        names.push((d.target.clone(), path.clone()));
        if layout.local && layout.file_exists(&path) {
            warnings.push(format!(
                "{path} exists already (a revert within the same second); virtsnap waits for the next second"
            ));
        }
        effects.created.push(NewFile {
            path,
            backing: Some(source.clone()),
            what: format!("new overlay of {}", d.target),
        });
        if d.device != crate::model::DiskDevice::Disk && d.device != crate::model::DiskDevice::Lun {
            warnings.push(format!(
                "libvirt also puts an overlay on {} ({}), next to {}",
                d.target,
                short(source),
                source
            ));
        }
    }
    // qemuSnapshotRevertExternalFinish deletes the current snapshot's overlays, and crashes
    // libvirtd 11.3 when there is no current snapshot (measured).
    let Some(current) = layout.current() else {
        return Err(Refusal {
            kind: RefusalKind::Libvirt,
            reason: format!(
                "{} has no current snapshot, and libvirt 11.3 crashes (libvirtd segfault, \
                 measured) when reverting to an external snapshot without one",
                layout.domain
            ),
            ways_out: vec![WayOut::text(
                "take a safety snapshot first (it becomes the current one): leave out \
                 --no-safety-snapshot",
            )],
        });
    };
    let revert_overlays: Vec<&String> = current
        .disks
        .iter()
        .filter_map(|d| d.revert_overlay.as_ref())
        .collect();
    let removed: Vec<String> = if revert_overlays.is_empty() {
        current
            .disks
            .iter()
            .filter(|d| d.mode == DiskSnapshotMode::External)
            .filter_map(|d| d.overlay.clone())
            .collect()
    } else {
        revert_overlays.into_iter().cloned().collect()
    };
    effects.removed = removed;
    Ok((effects, warnings))
}

/// `/i/web.qcow2` at 1795984186 -> `/i/web.1795984186` (snapshot_conf.c
/// `virDomainSnapshotDefAssignExternalNames`: the last suffix of the file name is dropped).
pub fn revert_overlay_name(source: &str, now: i64) -> String {
    let (dir, file) = match source.rsplit_once('/') {
        Some((d, f)) => (Some(d), f),
        None => (None, source),
    };
    let stem = match file.rsplit_once('.') {
        Some((s, _)) => s,
        None => file,
    };
    match dir {
        Some(d) => format!("{d}/{stem}.{now}"),
        None => format!("{stem}.{now}"),
    }
}

/// How QEMU looks a snapshot name up (Q4 of the project's notes, block/snapshot.c and
/// block/qcow2-snapshot.c).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    /// `qemu-img snapshot -a`, QMP `snapshot-load`: ID first, then the first with that name.
    Goto,
    /// `qemu-img snapshot -d`, QMP `snapshot-delete`: the first with that name.
    Name,
}

/// Refuses when QEMU would take `name` for another snapshot in `image`. Names that cannot be
/// IDs need the table only to rule out duplicates; all-digit names need it to rule out an ID
/// when going to a snapshot.
pub fn prove_name(layout: &Layout, image: &str, name: &str, lookup: Lookup) -> Result<(), Refusal> {
    let verb = match lookup {
        Lookup::Goto => "revert to",
        Lookup::Name => "delete",
    };
    let numeric =
        lookup == Lookup::Goto && !name.is_empty() && name.bytes().all(|b| b.is_ascii_digit());
    let Some(table) = layout.table(image) else {
        if numeric {
            return Err(Refusal::of(
                RefusalKind::WrongSnapshot,
                format!(
                    "'{name}' is all digits, and QEMU takes such a name for a snapshot ID first; \
                 virtsnap cannot read {} here to prove which snapshot it would {verb}",
                    short(image)
                ),
            ));
        }
        return Ok(());
    };
    let same_name = table.iter().filter(|s| s.name == name).count();
    let hit = match lookup {
        Lookup::Goto => resolve_for_goto(table, name),
        Lookup::Name => table.iter().find(|s| s.name == name),
    };
    match hit {
        None => Err(Refusal::of(
            RefusalKind::WrongSnapshot,
            format!(
            "{} holds no internal snapshot named '{name}' (libvirt: \"image of disk does not have \
             internal snapshot\")",
            short(image)
        ),
        )),
        Some(hit) if hit.name != name => Err(Refusal {
            kind: RefusalKind::WrongSnapshot,
            reason: format!(
                "QEMU would {verb} the wrong snapshot: in {} the name '{name}' is also the ID of \
                 the internal snapshot '{}', and QEMU looks up IDs first",
                short(image),
                hit.name
            ),
            ways_out: vec![WayOut::text(format!(
                "rename isn't possible in libvirt; revert with `qemu-img snapshot -a` by ID after \
                 checking `qemu-img snapshot -l {image}`, or delete '{}' first",
                hit.name
            ))],
        }),
        Some(_) if same_name > 1 => Err(Refusal::of(
            RefusalKind::WrongSnapshot,
            format!(
                "{} holds {same_name} internal snapshots named '{name}' (one left behind by an \
             earlier snapshot libvirt forgot); QEMU would use the oldest, which may not be \
             this one",
                short(image)
            ),
        )),
        Some(_) => Ok(()),
    }
}

/// Plans a safety snapshot that survives reverting to `snap`: the kind the create planner
/// would pick, else the other one. Err: why none can, for the refusal.
fn plan_safety(
    layout: &Layout,
    snap: &SnapStore,
    name: &str,
    ability: &CreateAbility,
) -> Result<SafetyPlan, String> {
    if !layout.active() && !layout.disks.iter().any(|d| d.writable && d.top.is_some()) {
        return Ok(SafetyPlan::NotNeeded {
            reason: "a shut-off VM without disks has no state to keep".into(),
        });
    }
    let memory = layout.active() && (ability.memory_internal || ability.memory_external);
    let mut tried: Vec<String> = Vec::new();
    let mut candidates: Vec<CreateIntent> = Vec::new();
    for location in [
        None,
        Some(SnapshotLocation::Internal),
        Some(SnapshotLocation::External),
    ] {
        for with_memory in [memory, false] {
            let intent = CreateIntent {
                name: name.to_string(),
                memory: with_memory,
                quiesce: false,
                location,
            };
            if !candidates.contains(&intent) {
                candidates.push(intent);
            }
        }
    }
    let mut seen: Vec<(SnapshotLocation, bool)> = Vec::new();
    for intent in candidates {
        let plan = match plan_create(layout, &intent, ability) {
            Ok(p) => p,
            Err(e) => {
                if let Some(l) = intent.location {
                    let why = e.to_string();
                    let why = why
                        .trim_start_matches("an internal snapshot is not possible: ")
                        .to_string();
                    let line = if l == SnapshotLocation::Internal && layout.active() && !memory {
                        "an internal one needs the memory state while the VM runs, and this VM's \
                         memory state cannot be saved"
                            .to_string()
                    } else {
                        format!("an {} one is not possible ({why})", l.as_str())
                    };
                    if !tried.contains(&line) {
                        tried.push(line);
                    }
                }
                continue;
            }
        };
        if seen.contains(&(plan.location, plan.memory)) {
            continue;
        }
        seen.push((plan.location, plan.memory));
        let next = layout.with_created(created_snapshot(layout, &plan));
        let safety = Holder::Snapshot(name.to_string());
        match revert_effects(&next, snap) {
            Ok((effects, _)) => {
                let hurt: Vec<Damage> = next
                    .damage(&effects, std::slice::from_ref(&safety), &[])
                    .into_iter()
                    .collect();
                if hurt.is_empty() {
                    let mut plan = plan;
                    plan.mixes = None;
                    return Ok(SafetyPlan::Planned {
                        plan: Box::new(plan),
                    });
                }
                tried.push(format!(
                    "an {} one ({}) would depend on {}, which the revert {}",
                    plan.location.as_str(),
                    what(plan.memory),
                    short(&hurt[0].image),
                    match hurt[0].how {
                        super::effects::DamageKind::Removed => "deletes",
                        _ => "rewrites",
                    }
                ));
            }
            Err(_) => {
                return Ok(SafetyPlan::Planned {
                    plan: Box::new(plan),
                })
            }
        }
    }
    Err(tried.join("; "))
}

fn what(memory: bool) -> &'static str {
    if memory {
        "with memory"
    } else {
        "disk-only"
    }
}

/// The refusal when no safety snapshot survives: say so, and offer what works.
fn safety_refusal(
    layout: &Layout,
    snap: &SnapStore,
    reason: &str,
    ability: &CreateAbility,
) -> Refusal {
    let mut ways_out = Vec::new();
    if layout.active() {
        let stopped = layout.stopped();
        if let Ok(SafetyPlan::Planned { plan }) = plan_safety(&stopped, snap, "probe", ability) {
            ways_out.push(WayOut::cli(
                format!(
                    "shut the VM down first; then an {} safety snapshot of its disks survives the revert",
                    plan.location.as_str()
                ),
                "--stop-first",
            ));
        }
    }
    ways_out.push(WayOut::cli(
        "revert without a safety snapshot (the current state is lost)",
        "--no-safety-snapshot",
    ));
    let images: Vec<&str> = snap
        .disks
        .iter()
        .filter_map(|d| d.image.as_deref())
        .map(short)
        .collect();
    let lead = match snap.location {
        SnapshotLocation::Internal => format!(
            "'{}' is internal: the revert rewrites {} in place",
            snap.name,
            images.join(", ")
        ),
        SnapshotLocation::External => {
            format!("reverting to '{}' deletes the current overlays", snap.name)
        }
    };
    Refusal {
        kind: RefusalKind::NoSafety,
        reason: format!("no safety snapshot can survive this revert. {lead}; {reason}"),
        ways_out,
    }
}

/// The refusal when the revert would destroy other snapshots' data.
fn damage_refusal(
    layout: &Layout,
    snap: &SnapStore,
    effects: &Effects,
    damage: &[Damage],
) -> Refusal {
    let how: Vec<String> = effects
        .rewritten
        .iter()
        .map(|r| format!("rewrites {} in place ({})", short(&r.image), r.how))
        .chain(
            effects
                .removed
                .iter()
                .map(|f| format!("deletes {}", short(f))),
        )
        .collect();
    let victims: Vec<String> = damage.iter().map(Damage::sentence).collect();
    let mut ways_out = Vec::new();
    let snapshots: Vec<&str> = damage
        .iter()
        .filter_map(|d| match &d.holder {
            Holder::Snapshot(n) => Some(n.as_str()),
            _ => None,
        })
        .collect();
    for victim in &snapshots {
        // Only offer what libvirt will do: a delete it refuses is no way out.
        let text = if super::delete::plan_delete(layout, victim, super::DeleteMode::This)
            .refusal
            .is_none()
        {
            format!(
                "if you no longer need '{victim}', delete it first (its data goes), then revert"
            )
        } else {
            format!(
                "if you no longer need '{victim}', forget it first (`snapshot delete --metadata-only`: \
                 libvirt cannot merge it; its files stay on disk and lose their meaning), then revert"
            )
        };
        ways_out.push(WayOut::text(text));
    }
    if snap.location == SnapshotLocation::Internal {
        ways_out.push(WayOut::text(
            "to keep everything, leave the VM where it is: libvirt has no way to go back to an \
             internal snapshot without rewriting the image other snapshots are built on",
        ));
    }
    Refusal {
        kind: RefusalKind::DataLoss,
        reason: format!(
            "reverting {} to '{}' {}, and {}",
            layout.domain,
            snap.name,
            how.join(" and "),
            victims.join("; ")
        ),
        ways_out,
    }
}

/// Images of the current state that nobody needs once the revert is done (left on disk).
fn orphaned(layout: &Layout, effects: &Effects) -> Vec<String> {
    let needed: Vec<String> = layout
        .snapshots
        .iter()
        .flat_map(|s| layout.needs(&Holder::Snapshot(s.name.clone())))
        .map(|n| match n {
            super::layout::Need::Content(i) => i,
            super::layout::Need::Internal { image, .. } => image,
        })
        .collect();
    let mut out: Vec<String> = layout
        .current_images()
        .into_iter()
        .filter(|i| !needed.contains(i) && !effects.removed.contains(i))
        .filter(|i| !effects.rewritten.iter().any(|r| &r.image == i))
        .collect();
    out.sort();
    out
}
