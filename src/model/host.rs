//! The host capabilities virtsnap needs: CPU model and features (is invtsc there?), the TSC
//! counter, and the hypervisor's snapshot abilities.

use serde::Serialize;

use super::xml::XmlError;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct HostCapabilities {
    pub arch: Option<String>,
    /// `<host><cpu><model>`, e.g. `Skylake-Client-IBRS`.
    pub cpu_model: Option<String>,
    pub cpu_vendor: Option<String>,
    /// `<host><cpu><feature name=...>` names, as listed (lower-case).
    pub cpu_features: Vec<String>,
    /// `<host><cpu><counter name='tsc' frequency='HZ' scaling='yes|no'/>`.
    pub tsc_frequency_hz: Option<u64>,
    pub tsc_scaling: Option<bool>,
    /// `<host><migration_features>` present. The test driver has none.
    pub migration: bool,
}

impl HostCapabilities {
    /// Parses `virsh capabilities` XML.
    pub fn from_xml(xml: &str) -> Result<HostCapabilities, XmlError> {
        let _ = xml;
        Err(XmlError::Empty)
    }

    pub fn has_feature(&self, name: &str) -> bool {
        self.cpu_features.iter().any(|f| f == name)
    }

    pub fn has_invtsc(&self) -> bool {
        self.has_feature("invtsc")
    }
}
