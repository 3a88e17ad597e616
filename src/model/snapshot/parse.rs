//! Reading libvirt's `<domainsnapshot>` XML into [`SnapshotInfo`].

use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesRef, BytesStart, Event};
use quick_xml::Reader;
use serde::{Serialize, Serializer};

/// Why a snapshot's XML could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotXmlError {
    #[error("malformed snapshot XML: {0}")]
    Xml(#[from] quick_xml::Error),
    #[error("malformed snapshot XML: {0}")]
    Attr(#[from] quick_xml::events::attributes::AttrError),
    #[error("malformed snapshot XML: {0}")]
    Encoding(#[from] quick_xml::encoding::EncodingError),
    #[error("not a snapshot: the root element is <{0}>, expected <domainsnapshot>")]
    WrongRoot(String),
    #[error("snapshot XML ends before </domainsnapshot>")]
    Truncated,
    #[error("snapshot XML has no <name>")]
    MissingName,
    #[error("snapshot XML has no <domainsnapshot> element")]
    Empty,
    #[error("invalid <creationTime> {0:?}")]
    BadCreationTime(String),
    #[error("writing snapshot XML: {0}")]
    Write(#[from] std::io::Error),
    #[error("path {0:?} is not valid UTF-8 and cannot be written into libvirt XML")]
    NonUtf8Path(std::path::PathBuf),
    #[error("the description contains a character XML cannot carry (U+{0:04X})")]
    IllegalChar(u32),
}

/// The domain state a snapshot captured (libvirt's words: `running`, `disk-snapshot`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnapshotState {
    Nostate,
    Running,
    Blocked,
    Paused,
    Shutdown,
    Shutoff,
    Crashed,
    Pmsuspended,
    DiskSnapshot,
    /// A word this version does not know; kept so nothing is lost.
    Other(String),
}

impl SnapshotState {
    pub fn from_word(word: &str) -> Self {
        match word {
            "nostate" => Self::Nostate,
            "running" => Self::Running,
            "blocked" => Self::Blocked,
            "paused" => Self::Paused,
            "shutdown" => Self::Shutdown,
            "shutoff" => Self::Shutoff,
            "crashed" => Self::Crashed,
            "pmsuspended" => Self::Pmsuspended,
            "disk-snapshot" => Self::DiskSnapshot,
            other => Self::Other(other.to_owned()),
        }
    }

    /// libvirt's own word, as in the XML and the JSON output.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Nostate => "nostate",
            Self::Running => "running",
            Self::Blocked => "blocked",
            Self::Paused => "paused",
            Self::Shutdown => "shutdown",
            Self::Shutoff => "shutoff",
            Self::Crashed => "crashed",
            Self::Pmsuspended => "pmsuspended",
            Self::DiskSnapshot => "disk-snapshot",
            Self::Other(word) => word,
        }
    }

    /// Words an admin reads in the tree.
    pub fn label(&self) -> &str {
        match self {
            Self::Nostate => "no state",
            Self::Shutdown => "shutting down",
            Self::Shutoff => "shut off",
            Self::Pmsuspended => "suspended",
            Self::DiskSnapshot => "disk-only",
            other => other.as_str(),
        }
    }
}

impl Serialize for SnapshotState {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// `<memory snapshot='no|internal|external'>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MemoryMode {
    No,
    Internal,
    External,
}

/// `<disk snapshot='internal|external|no|manual'>` inside `<disks>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DiskSnapshotMode {
    Internal,
    External,
    No,
    Manual,
}

impl DiskSnapshotMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Internal => "internal",
            Self::External => "external",
            Self::No => "no",
            Self::Manual => "manual",
        }
    }
}

/// Where the snapshot's data lives: inside the qcow2 images, or in new overlay/memory files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SnapshotLocation {
    Internal,
    External,
}

impl SnapshotLocation {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Internal => "internal",
            Self::External => "external",
        }
    }
}

/// One `<disks><disk>` of the snapshot (not of the embedded domain).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SnapshotDisk {
    /// The target, e.g. `vda`.
    pub name: String,
    pub mode: Option<DiskSnapshotMode>,
    /// `type='file|block|network'`.
    pub disk_type: Option<String>,
    /// The overlay (external) file or device: `<source file|dev|name=...>`.
    pub source: Option<String>,
    /// `<driver type=...>` of the overlay.
    pub format: Option<String>,
}

/// What virtsnap knows about one snapshot, read from its XML.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SnapshotInfo {
    pub name: String,
    /// Verbatim text of `<description>`; None when absent.
    pub description: Option<String>,
    /// The parent snapshot's name; None for a root.
    pub parent: Option<String>,
    /// `<creationTime>`, Unix seconds.
    pub created: i64,
    pub state: SnapshotState,
    /// Whether the VM's memory state is included.
    pub memory: bool,
    pub memory_mode: MemoryMode,
    /// The external memory file, if any.
    pub memory_file: Option<String>,
    pub location: SnapshotLocation,
    pub disks: Vec<SnapshotDisk>,
    /// `<revertDisks>`: the overlays libvirt (>= 9.9) made when the VM was last reverted to
    /// this snapshot while it had children (for a leaf they replace `disks` instead). They hold
    /// what was written since that revert; the next revert to an external snapshot deletes
    /// them (qemu_snapshot.c `qemuSnapshotRevertExternalFinish`).
    pub revert_disks: Vec<SnapshotDisk>,
    /// The domain definition the snapshot saved (`<domain>` inside it): the disks' sources
    /// there are the images that were the VM's top images when it was taken, i.e. where an
    /// internal snapshot lives and what an external snapshot's overlays are built on. None
    /// when absent (very old libvirt) or unreadable.
    #[serde(skip)]
    pub domain: Option<Box<crate::model::DomainConfig>>,
    /// The XML exactly as libvirt gave it: shown in the XML pane, and the base for REDEFINE.
    #[serde(skip)]
    pub raw_xml: String,
}

impl SnapshotInfo {
    pub fn from_xml(xml: &str) -> Result<SnapshotInfo, SnapshotXmlError> {
        let mut reader = Reader::from_str(xml);
        let mut builder = Builder::default();
        // Element names from <domainsnapshot> down to the current one.
        let mut path: Vec<Vec<u8>> = Vec::new();
        let mut seen_root = false;
        loop {
            let before = reader.buffer_position() as usize;
            match reader.read_event()? {
                Event::Start(e) => {
                    let name = e.local_name().as_ref().to_vec();
                    if path.is_empty() {
                        check_root(&name, &mut seen_root)?;
                    } else if path.len() == 1 && is_embedded(&name) {
                        // The embedded domain definitions have <name>, <description> and
                        // <disk>s of their own: skip them here, and read the saved
                        // definition on its own.
                        reader.read_to_end(e.name())?;
                        if name == b"domain" {
                            let end = reader.buffer_position() as usize;
                            // Snapshots from before libvirt saved definitions come back as
                            // `<domain><uuid>..</uuid></domain>`: no rollback info at all.
                            builder.domain = xml
                                .get(before..end)
                                .and_then(|d| crate::model::DomainConfig::from_xml(d).ok())
                                .filter(|d| !d.name.is_empty())
                                .map(Box::new);
                        }
                        continue;
                    }
                    path.push(name);
                    builder.element(&path, &e)?;
                }
                Event::Empty(e) => {
                    let name = e.local_name().as_ref().to_vec();
                    if path.is_empty() {
                        check_root(&name, &mut seen_root)?;
                        continue;
                    }
                    path.push(name);
                    builder.element(&path, &e)?;
                    path.pop();
                }
                Event::End(_) => {
                    path.pop();
                }
                Event::Text(t) => builder.text(&path, &t.decode()?),
                Event::CData(t) => builder.text(&path, &t.decode()?),
                Event::GeneralRef(r) => builder.text(&path, &resolve_ref(&r)?),
                Event::Eof if !path.is_empty() => return Err(SnapshotXmlError::Truncated),
                Event::Eof => break,
                _ => {}
            }
        }
        if !seen_root {
            return Err(SnapshotXmlError::Empty);
        }
        builder.finish(xml)
    }

    /// The first line of the description, for one-line rows.
    pub fn description_first_line(&self) -> &str {
        self.description
            .as_deref()
            .and_then(|d| d.lines().find(|l| !l.trim().is_empty()))
            .map_or("", str::trim)
    }
}

fn check_root(name: &[u8], seen_root: &mut bool) -> Result<(), SnapshotXmlError> {
    if name != b"domainsnapshot" || *seen_root {
        return Err(SnapshotXmlError::WrongRoot(
            String::from_utf8_lossy(name).into_owned(),
        ));
    }
    *seen_root = true;
    Ok(())
}

fn is_embedded(name: &[u8]) -> bool {
    matches!(name, b"domain" | b"inactiveDomain" | b"cookie")
}

/// The text of `&name;` or `&#N;`.
pub(super) fn resolve_ref(r: &BytesRef<'_>) -> Result<String, SnapshotXmlError> {
    if let Some(c) = r.resolve_char_ref()? {
        return Ok(c.to_string());
    }
    let name = r.decode()?;
    match resolve_predefined_entity(&name) {
        Some(text) => Ok(text.to_owned()),
        None => Err(SnapshotXmlError::Xml(quick_xml::Error::Escape(
            quick_xml::escape::EscapeError::UnrecognizedEntity(0..name.len(), name.into_owned()),
        ))),
    }
}

fn attr(e: &BytesStart<'_>, key: &str) -> Result<Option<String>, SnapshotXmlError> {
    match e.try_get_attribute(key)? {
        Some(a) => Ok(Some(a.unescape_value()?.into_owned())),
        None => Ok(None),
    }
}

/// Collects fields while the reader walks the snapshot's own elements.
#[derive(Default)]
struct Builder {
    name: Option<String>,
    description: Option<String>,
    parent: Option<String>,
    created: String,
    state: String,
    memory_mode: Option<MemoryMode>,
    memory_file: Option<String>,
    disks: Vec<SnapshotDisk>,
    revert_disks: Vec<SnapshotDisk>,
    domain: Option<Box<crate::model::DomainConfig>>,
}

impl Builder {
    fn list(&mut self, name: &[u8]) -> &mut Vec<SnapshotDisk> {
        if name == b"revertDisks" {
            &mut self.revert_disks
        } else {
            &mut self.disks
        }
    }

    fn element(&mut self, path: &[Vec<u8>], e: &BytesStart<'_>) -> Result<(), SnapshotXmlError> {
        let p: Vec<&[u8]> = path.iter().map(Vec::as_slice).collect();
        match p.as_slice() {
            [_, b"name"] => self.name = Some(String::new()),
            [_, b"description"] => self.description = Some(String::new()),
            [_, b"parent", b"name"] => self.parent = Some(String::new()),
            [_, b"memory"] => {
                self.memory_mode = match attr(e, "snapshot")?.as_deref() {
                    Some("internal") => Some(MemoryMode::Internal),
                    Some("external") => Some(MemoryMode::External),
                    Some(_) => Some(MemoryMode::No),
                    None => None,
                };
                self.memory_file = attr(e, "file")?;
            }
            [_, list @ (b"disks" | b"revertDisks"), b"disk"] => {
                let disk = SnapshotDisk {
                    name: attr(e, "name")?.unwrap_or_default(),
                    mode: attr(e, "snapshot")?.as_deref().and_then(disk_mode),
                    disk_type: attr(e, "type")?,
                    source: None,
                    format: None,
                };
                self.list(list).push(disk);
            }
            [_, list @ (b"disks" | b"revertDisks"), b"disk", b"source"] => {
                if let Some(disk) = self.list(list).last_mut() {
                    for key in ["file", "dev", "name", "volume", "dir"] {
                        if let Some(v) = attr(e, key)? {
                            disk.source = Some(v);
                            break;
                        }
                    }
                }
            }
            [_, list @ (b"disks" | b"revertDisks"), b"disk", b"driver"] => {
                if let Some(disk) = self.list(list).last_mut() {
                    disk.format = attr(e, "type")?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn text(&mut self, path: &[Vec<u8>], text: &str) {
        let p: Vec<&[u8]> = path.iter().map(Vec::as_slice).collect();
        let target = match p.as_slice() {
            [_, b"name"] => self.name.as_mut(),
            [_, b"description"] => self.description.as_mut(),
            [_, b"parent", b"name"] => self.parent.as_mut(),
            [_, b"creationTime"] => Some(&mut self.created),
            [_, b"state"] => Some(&mut self.state),
            _ => None,
        };
        if let Some(target) = target {
            target.push_str(text);
        }
    }

    fn finish(self, xml: &str) -> Result<SnapshotInfo, SnapshotXmlError> {
        let name = self.name.ok_or(SnapshotXmlError::MissingName)?;
        if name.is_empty() {
            return Err(SnapshotXmlError::MissingName);
        }
        let created_text = self.created.trim();
        let created = if created_text.is_empty() {
            0
        } else {
            created_text
                .parse()
                .map_err(|_| SnapshotXmlError::BadCreationTime(created_text.to_owned()))?
        };
        let state = SnapshotState::from_word(self.state.trim());
        // Old libvirt omits <memory>: a snapshot of a live VM that is not disk-only has memory.
        let memory_mode = self.memory_mode.unwrap_or(match state {
            SnapshotState::Running
            | SnapshotState::Blocked
            | SnapshotState::Paused
            | SnapshotState::Shutdown
            | SnapshotState::Pmsuspended => MemoryMode::Internal,
            _ => MemoryMode::No,
        });
        let external = memory_mode == MemoryMode::External
            || self
                .disks
                .iter()
                .any(|d| d.mode == Some(DiskSnapshotMode::External));
        Ok(SnapshotInfo {
            name,
            description: self.description,
            parent: self.parent.filter(|p| !p.is_empty()),
            created,
            state,
            memory: memory_mode != MemoryMode::No,
            memory_mode,
            memory_file: self.memory_file,
            location: if external {
                SnapshotLocation::External
            } else {
                SnapshotLocation::Internal
            },
            disks: self.disks,
            revert_disks: self.revert_disks,
            domain: self.domain,
            raw_xml: xml.to_owned(),
        })
    }
}

fn disk_mode(word: &str) -> Option<DiskSnapshotMode> {
    match word {
        "internal" => Some(DiskSnapshotMode::Internal),
        "external" => Some(DiskSnapshotMode::External),
        "no" => Some(DiskSnapshotMode::No),
        "manual" => Some(DiskSnapshotMode::Manual),
        _ => None,
    }
}
