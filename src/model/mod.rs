//! Plain data parsed from libvirt XML, and the rules computed from it. No I/O here.
pub mod domain;
pub mod eligibility;
pub mod host;
pub mod snapshot;
mod xml;

pub use domain::{CpuConfig, CpuMode, DomainConfig, DomainState};
pub use eligibility::{
    evaluate, explain_libvirt_error, invtsc_in_effect, Blocker, DiskOnlyVerdict, MemoryVerdict,
    Remedy, RuleInput, Verdict,
};
pub use host::HostCapabilities;
pub use xml::XmlError;
