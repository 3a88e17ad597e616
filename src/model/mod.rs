//! Plain data parsed from libvirt XML, and the rules computed from it. No I/O here.
pub mod domain;
pub mod eligibility;
pub mod guest;
pub mod host;
pub mod inventory;
pub mod remedy;
pub mod snapshot;
mod xml;

#[cfg(test)]
pub(crate) mod fixtures;

pub use domain::{
    CpuConfig, CpuFeature, CpuMode, Disk, DiskDevice, DiskType, DomainConfig, DomainState,
    FeaturePolicy, Firmware, GuestAgent, MigrationBlockingDevice,
};
pub use eligibility::{
    evaluate, explain_libvirt_error, invtsc_in_effect, Blocker, DiskOnlyVerdict, MemoryVerdict,
    Remedy, RuleInput, Verdict,
};
pub use host::HostCapabilities;
pub use xml::XmlError;
