//! Snapshot XML: parsing libvirt's `<domainsnapshot>`, the snapshot tree, name validation,
//! create/redefine request XML and the choice of create strategy. No libvirt calls here.
mod name;
mod parse;
mod plan;
mod request;
mod tree;

pub use name::{default_name, validate_name, NameError, MAX_FILE_NAME_BYTES, MAX_NAME_BYTES};
pub use parse::{
    DiskSnapshotMode, MemoryMode, SnapshotDisk, SnapshotInfo, SnapshotLocation, SnapshotState,
    SnapshotXmlError,
};
pub use plan::{PlanError, SnapshotPlan};
pub use request::{redefine_with_description, CreateRequest, DiskChoice, MemoryChoice};
pub use tree::{SnapshotListEntry, SnapshotTree, TreeRow};

#[cfg(test)]
mod parse_tests;
#[cfg(test)]
mod request_tests;
#[cfg(test)]
mod tree_tests;
