//! Every migration blocker QEMU 10.0 registers for x86 guests and every check libvirt 11.3 makes
//! before saving memory state, as a table.
//!
//! libvirt saves memory state (a snapshot with memory, save, managed save) by migrating to a
//! file, so it first calls `qemuMigrationSrcIsAllowed` (src/qemu/qemu_migration.c): from
//! `qemuSnapshotCreateActiveInternal`/`qemuSnapshotCreateActiveExternal`
//! (src/qemu/qemu_snapshot.c) and `qemuDomainSaveInternal` (src/qemu/qemu_driver.c). With a
//! QEMU that reports `blocked-reasons` in `query-migrate` (6.0 and later, so always here) that
//! function first asks QEMU for its blockers and refuses with "cannot migrate domain: " and
//! QEMU's reasons joined by "; ", then makes its own checks (invtsc, shmem roles, slirp helpers,
//! virtiofs, dbus-vmstate, transient disks, swtpm on shared storage). Its older host-device
//! check (`qemuMigrationSrcIsAllowedHostdev`) only runs without `blocked-reasons`, so for host
//! devices QEMU's own words are what a user sees.
//!
//! QEMU's reasons are the errors passed to `migrate_add_blocker` and, for a device whose
//! vmstate says `.unmigratable = 1`, "non-migratable device: <id>" from
//! `qemu_savevm_non_migratable_list` (migration/savevm.c).
//!
//! Each row of [`ROWS`] says what in the XML causes it (its `find` matcher, most of them in
//! `domain::blocking` so that `DomainConfig::blocking_devices` can use them, and a complete
//! `example`), the words libvirt returns, whether the guest or the host back-end decides
//! (a conditional warning rather than a refusal), where in the sources it comes from, and how
//! it was checked. The rule (`evaluate`) and its explanation texts are generated from it, and
//! the unit tests walk it. [`NOT_BLOCKERS`] lists what was checked and does not block.

use super::words::capitalize;
use crate::model::domain::{DomainConfig, MigrationBlockingDevice};
use crate::model::host::HostCapabilities;

mod not_blockers;
mod rows;

pub use not_blockers::{NotBlocker, NOT_BLOCKERS};
pub use rows::ROWS;

/// Whose source the words come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Project {
    /// QEMU 10.0.
    Qemu,
    /// libvirt 11.3.
    Libvirt,
}

impl Project {
    pub fn name(self) -> &'static str {
        match self {
            Self::Qemu => "QEMU",
            Self::Libvirt => "libvirt",
        }
    }
}

/// A place in QEMU's or libvirt's source.
#[derive(Debug, Clone, Copy)]
pub struct Source {
    pub project: Project,
    /// Path in the project's repository, e.g. `hw/9pfs/9p.c`.
    pub file: &'static str,
    /// The function (or, for a vmstate, the variable) there.
    pub function: &'static str,
    /// The words reported from there, verbatim with the source's printf placeholders; None
    /// when the place only declares state (a non-migratable vmstate).
    pub says: Option<&'static str>,
}

/// When a row's element makes libvirt refuse.
#[derive(Debug, Clone, Copy)]
pub enum Condition {
    /// Whenever the element is in the running configuration.
    Always,
    /// Only after the guest does something. `until` completes "memory state can be captured
    /// now, but ... will refuse it ...", `now` says it happened; `{}` stands for the finding.
    Guest {
        until: &'static str,
        now: &'static str,
    },
    /// Only when the host back-end lacks a feature the XML cannot show. `unless` completes
    /// "memory state can be captured only ..."; `now` says the back-end lacks it.
    Backend {
        unless: &'static str,
        now: &'static str,
    },
}

/// How a row was checked against the real stack (libvirt 11.3, QEMU 10.0.2, KVM).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checked {
    /// The example ran as a KVM VM in the embedded QEMU driver and a memory snapshot was asked
    /// for (tests/blockers_kvm.rs).
    RealQemu,
    /// libvirt accepted the example (defined in the embedded driver, XML read back and
    /// matched) but it cannot start on this host, for the reason given.
    Defined(&'static str),
    /// Only the hand-written example, for the reason given.
    XmlOnly(&'static str),
}

/// What the explanation offers beyond a disk-only snapshot and stopping the VM.
#[derive(Debug, Clone, Copy)]
pub enum Fix {
    /// "Detach <all such findings> from the VM", one line for every detachable finding.
    Detach,
    /// A line of its own per finding; `{}` stands for the finding.
    Text(&'static str),
    /// Nothing else can be done (confidential guests).
    Nothing,
}

/// Where a row's example goes in a domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// Inside `<devices>`.
    Devices,
    /// Directly inside `<domain>` (`<cpu>`, `<features>`, `<launchSecurity>`).
    Domain,
    /// Inside `<devices>` of a domain whose RAM is shared (`<memoryBacking><source
    /// type='memfd'/><access mode='shared'/>`), as libvirt requires for vhost-user devices.
    VhostUserDevices,
}

impl Place {
    /// The `<memoryBacking>` a vhost-user device needs; empty for other places.
    pub fn memory_backing(self) -> &'static str {
        match self {
            Self::VhostUserDevices => {
                "<memoryBacking><source type='memfd'/><access mode='shared'/></memoryBacking>"
            }
            Self::Devices | Self::Domain => "",
        }
    }
}

/// A complete, minimal piece of XML that triggers a row. `@DIR@` stands for a directory the
/// test creates (a shared directory, a disk image).
#[derive(Debug, Clone, Copy)]
pub struct Example {
    pub place: Place,
    pub xml: &'static str,
}

/// A row's matcher: most read only the domain (`domain::blocking`); invtsc also needs the
/// host CPU.
#[derive(Clone, Copy)]
pub enum Find {
    Config(fn(&DomainConfig) -> Vec<String>),
    WithHost(fn(&DomainConfig, Option<&HostCapabilities>) -> Vec<String>),
}

impl Find {
    pub fn run(self, cfg: &DomainConfig, host: Option<&HostCapabilities>) -> Vec<String> {
        match self {
            Self::Config(find) => find(cfg),
            Self::WithHost(find) => find(cfg, host),
        }
    }
}

/// invtsc in effect and no TSC frequency pinned (one empty detail): the row's matcher.
fn invtsc(cfg: &DomainConfig, host: Option<&HostCapabilities>) -> Vec<String> {
    if super::invtsc_blocks(cfg, host).is_some() {
        vec![String::new()]
    } else {
        Vec::new()
    }
}

/// One blocker.
pub struct BlockerRow {
    /// `Blocker.kind` in `check --json`.
    pub kind: &'static str,
    /// What libvirt 11.3 returns, verbatim (QEMU's words follow "cannot migrate domain: ").
    pub says: &'static str,
    /// Where `says` comes from first, then related places (the other project's check, the
    /// vmstate that marks a device non-migratable).
    pub sources: &'static [Source],
    pub condition: Condition,
    pub checked: Checked,
    /// How the explanation names one finding: "the PCI host device".
    pub noun: &'static str,
    /// Whether the finding's detail is quoted after the noun ("the 9p share 'tag'").
    pub quote_detail: bool,
    /// What it does to migration: "cannot be migrated", "prevents migration".
    pub blocks: &'static str,
    pub fix: Fix,
    /// The findings in a configuration: one detail per element (may be empty text).
    pub find: Find,
    pub example: Example,
}

impl BlockerRow {
    /// Who refuses: the project `says` comes from.
    pub fn refused_by(&self) -> Project {
        self.sources.first().map_or(Project::Qemu, |s| s.project)
    }

    pub fn is_conditional(&self) -> bool {
        !matches!(self.condition, Condition::Always)
    }
}

/// One element of a configuration that a row matches.
#[derive(Clone)]
pub struct Finding {
    pub row: &'static BlockerRow,
    /// What names the element to an admin (a PCI address, a mount tag); may be empty.
    pub detail: String,
}

impl Finding {
    /// "the PCI host device 0000:03:00.0", "the 9p share 'tag'".
    pub fn phrase(&self) -> String {
        match (self.detail.is_empty(), self.row.quote_detail) {
            (true, _) => self.row.noun.to_string(),
            (false, true) => format!("{} '{}'", self.row.noun, self.detail),
            (false, false) => format!("{} {}", self.row.noun, self.detail),
        }
    }

    /// The blocker's one-line message.
    pub fn message(&self) -> String {
        format!(
            "{} {}, so {} cannot save the VM's memory state.",
            capitalize(&self.phrase()),
            self.row.blocks,
            self.row.refused_by().name()
        )
    }

    /// The warning of a conditional row: when memory state will be refused. None for a row
    /// that always refuses.
    pub fn conditional_message(&self) -> Option<String> {
        let who = self.row.refused_by().name();
        match self.row.condition {
            Condition::Always => None,
            Condition::Guest { until, .. } => Some(format!(
                "Memory state can be captured now, but {who} will refuse it {}.",
                fill(until, &self.phrase())
            )),
            Condition::Backend { unless, .. } => Some(format!(
                "Memory state can be captured only {}; otherwise {who} refuses it.",
                fill(unless, &self.phrase())
            )),
        }
    }

    /// What happened when a conditional row's refusal came true ("the guest has mounted the
    /// 9p share 'tag'"); the phrase for a row that always refuses.
    pub fn happened(&self) -> String {
        match self.row.condition {
            Condition::Always => self.phrase(),
            Condition::Guest { now, .. } | Condition::Backend { now, .. } => {
                fill(now, &self.phrase())
            }
        }
    }

    pub fn fix_line(&self) -> Option<String> {
        match self.row.fix {
            Fix::Text(text) => Some(fill(text, &self.phrase())),
            Fix::Detach | Fix::Nothing => None,
        }
    }

    /// The finding under its older name, as `DomainConfig::blocking_devices` used to list it.
    pub fn as_device(&self) -> MigrationBlockingDevice {
        MigrationBlockingDevice {
            kind: self.row.kind.to_string(),
            detail: self.detail.clone(),
        }
    }
}

/// Every row's findings in `cfg`, in table order.
pub fn findings(cfg: &DomainConfig, host: Option<&HostCapabilities>) -> Vec<Finding> {
    ROWS.iter()
        .flat_map(|row| {
            row.find
                .run(cfg, host)
                .into_iter()
                .map(move |detail| Finding { row, detail })
        })
        .collect()
}

/// The row of this kind.
pub fn row(kind: &str) -> Option<&'static BlockerRow> {
    ROWS.iter().find(|r| r.kind == kind)
}

/// The literal pieces of a `says` text, split at printf placeholders (`%s`, `%1$s`, `%d`): a
/// message libvirt returned came from this row when it contains every piece, in order.
pub fn literal_pieces(says: &str) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut rest = says;
    while let Some(at) = rest.find('%') {
        pieces.push(&rest[..at]);
        let after = &rest[at + 1..];
        let end = after
            .find(|c: char| c.is_ascii_alphabetic())
            .map_or(after.len(), |i| i + 1);
        rest = &after[end..];
    }
    pieces.push(rest);
    pieces.retain(|p| !p.trim().is_empty());
    pieces
}

/// Whether libvirt's `message` carries the words of `says` (never for words that are all
/// placeholders).
pub fn says_match(says: &str, message: &str) -> bool {
    let pieces = literal_pieces(says);
    if pieces.is_empty() {
        return false;
    }
    let mut rest = message;
    for piece in pieces {
        match rest.find(piece) {
            Some(at) => rest = &rest[at + piece.len()..],
            None => return false,
        }
    }
    true
}

fn fill(template: &str, phrase: &str) -> String {
    template.replace("{}", phrase)
}

#[cfg(test)]
mod tests;
