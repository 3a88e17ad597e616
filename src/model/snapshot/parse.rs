//! Reading libvirt's `<domainsnapshot>` XML into [`SnapshotInfo`].

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
    #[error("snapshot XML has no <name>")]
    MissingName,
    #[error("snapshot XML has no <domainsnapshot> element")]
    Empty,
    #[error("invalid <creationTime> {0:?}")]
    BadCreationTime(String),
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
    /// The XML exactly as libvirt gave it: shown in the XML pane, and the base for REDEFINE.
    #[serde(skip)]
    pub raw_xml: String,
}

impl SnapshotInfo {
    pub fn from_xml(xml: &str) -> Result<SnapshotInfo, SnapshotXmlError> {
        let _ = xml;
        Err(SnapshotXmlError::Empty)
    }

    /// The first line of the description, for one-line rows.
    pub fn description_first_line(&self) -> &str {
        self.description
            .as_deref()
            .and_then(|d| d.lines().find(|l| !l.trim().is_empty()))
            .map_or("", str::trim)
    }
}
