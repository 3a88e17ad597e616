//! The host capabilities virtsnap needs: CPU model and features (is invtsc there?), the TSC
//! counter, and the hypervisor's snapshot abilities.

use serde::Serialize;

use super::xml::{parse_u64, Element, XmlError};

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
    /// Parses `virsh capabilities` XML. Only `<host>` is read: the `<guest>` sections
    /// describe what can be emulated, not the machine's CPU.
    pub fn from_xml(xml: &str) -> Result<HostCapabilities, XmlError> {
        let root = Element::parse_root(xml, "capabilities", keep_host_element)?;
        let host = root.child("host");
        let cpu = host.and_then(|h| h.child("cpu"));
        let owned = |name: &str| cpu.and_then(|c| c.child_text(name)).map(str::to_string);
        let counter = cpu.and_then(|c| {
            c.children_named("counter")
                .find(|counter| counter.attr("name") == Some("tsc"))
        });
        let tsc_frequency_hz = match counter.and_then(|c| c.attr("frequency")) {
            Some(hz) => Some(parse_u64(hz, "<counter name='tsc' frequency>")?),
            None => None,
        };
        Ok(HostCapabilities {
            arch: owned("arch"),
            cpu_model: owned("model"),
            cpu_vendor: owned("vendor"),
            cpu_features: cpu
                .map(|c| {
                    c.children_named("feature")
                        .filter_map(|f| f.attr("name"))
                        .map(str::to_ascii_lowercase)
                        .collect()
                })
                .unwrap_or_default(),
            tsc_frequency_hz,
            tsc_scaling: counter.and_then(|c| match c.attr("scaling") {
                Some("yes") => Some(true),
                Some("no") => Some(false),
                _ => None,
            }),
            migration: host.is_some_and(|h| h.child("migration_features").is_some()),
        })
    }

    pub fn has_feature(&self, name: &str) -> bool {
        self.cpu_features.iter().any(|f| f == name)
    }

    pub fn has_invtsc(&self) -> bool {
        self.has_feature("invtsc")
    }
}

/// `<host><cpu>` and `<host><migration_features>`: the `<guest>` sections and the NUMA
/// topology are most of the document and never read.
fn keep_host_element(ancestors: &[Element], name: &str) -> bool {
    match ancestors {
        [_capabilities] => name == "host",
        [_, _host] => matches!(name, "cpu" | "migration_features"),
        [_, _, cpu] if cpu.name == "cpu" => {
            matches!(name, "arch" | "model" | "vendor" | "feature" | "counter")
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        crate::model::fixtures::text(&format!("host/{name}"))
    }

    #[test]
    fn reads_qemu_host_with_invtsc_and_tsc_counter() {
        let host = HostCapabilities::from_xml(&fixture("qemu-system.xml")).unwrap();
        assert_eq!(host.arch.as_deref(), Some("x86_64"));
        assert_eq!(host.cpu_model.as_deref(), Some("kvm64-v1"));
        assert_eq!(host.cpu_vendor.as_deref(), Some("AMD"));
        assert!(host.has_invtsc());
        assert!(host.has_feature("rdtscp"));
        assert_eq!(host.tsc_frequency_hz, Some(2_445_404_000));
        assert_eq!(host.tsc_scaling, Some(false));
        assert!(host.migration);
    }

    #[test]
    fn reads_test_driver_host_without_cpu_details() {
        let host = HostCapabilities::from_xml(&fixture("test-default.xml")).unwrap();
        assert_eq!(host.arch.as_deref(), Some("i686"));
        assert_eq!(host.cpu_model, None);
        // `<features><pae/></features>` are not `<feature name=...>` entries.
        assert!(host.cpu_features.is_empty());
        assert!(!host.has_invtsc());
        assert_eq!(host.tsc_frequency_hz, None);
        assert!(!host.migration);
    }

    #[test]
    fn ignores_guest_sections_comments_and_attribute_order() {
        let xml = "<capabilities>\n<!-- c -->\n  <host><cpu>\n<arch> x86_64 </arch>\
                   <counter scaling='yes' frequency='1000' name='tsc'/>\
                   <feature name='INVTSC'/></cpu></host>\
                   <guest><arch name='x86_64'><cpu><feature name='svm'/></cpu></arch></guest>\
                   </capabilities>";
        let host = HostCapabilities::from_xml(xml).unwrap();
        assert_eq!(host.arch.as_deref(), Some("x86_64"));
        assert_eq!(host.cpu_features, vec!["invtsc".to_string()]);
        assert_eq!(host.tsc_frequency_hz, Some(1000));
        assert_eq!(host.tsc_scaling, Some(true));
    }

    #[test]
    fn rejects_a_domain_document() {
        let err = HostCapabilities::from_xml("<domain/>").unwrap_err();
        assert!(err.to_string().contains("<capabilities>"), "{err}");
    }
}
