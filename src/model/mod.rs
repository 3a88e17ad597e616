//! Plain data parsed from libvirt XML, and the rules computed from it. No I/O here.
pub mod domain;
pub mod eligibility;
pub mod host;
pub mod snapshot;
mod xml;

pub use domain::{CpuConfig, CpuMode, DomainConfig, DomainState};
pub use host::HostCapabilities;
