//! Plain data parsed from libvirt XML, and the rules computed from it. No I/O here.
pub mod bulk;
pub mod domain;
pub mod eligibility;
pub mod guest;
pub mod host;
pub mod inventory;
pub mod qcow2;
pub mod remedy;
pub mod retention;
pub mod selection;
pub mod snapshot;
pub mod space;
pub mod storage;
mod xml;

#[cfg(test)]
pub(crate) mod fixtures;

pub use domain::{
    Channel, CpuConfig, CpuFeature, CpuMode, Disk, DiskDevice, DiskType, DomainConfig, DomainState,
    FeaturePolicy, Filesystem, Firmware, GuestAgent, HostDevice, HostDeviceSource, Input,
    LaunchSecurity, MemoryBacking, MigrationBlockingDevice, NetInterface, Shmem, Tpm, Video,
};
pub use eligibility::{
    evaluate, explain_libvirt_error, invtsc_in_effect, Blocker, ConditionalBlocker,
    DiskOnlyVerdict, MemoryVerdict, Remedy, RuleInput, Verdict,
};
pub use host::HostCapabilities;
pub use xml::XmlError;
