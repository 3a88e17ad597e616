//! XML captured from real libvirt (tests/fixtures), for the unit tests of every module.

use super::{DomainConfig, HostCapabilities};

/// The text of `tests/fixtures/<path>`.
pub fn text(path: &str) -> String {
    let path = format!("{}/tests/fixtures/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// `tests/fixtures/domain/<name>.xml`, parsed.
pub fn domain(name: &str) -> DomainConfig {
    DomainConfig::from_xml(&text(&format!("domain/{name}.xml")))
        .unwrap_or_else(|e| panic!("domain/{name}.xml: {e}"))
}

/// `tests/fixtures/host/<name>.xml`, parsed.
pub fn host(name: &str) -> HostCapabilities {
    HostCapabilities::from_xml(&text(&format!("host/{name}.xml")))
        .unwrap_or_else(|e| panic!("host/{name}.xml: {e}"))
}

/// The memory rule's verdict for a shut-off qcow2 VM (memory not applicable, disks fine).
pub fn shut_off_verdict() -> super::Verdict {
    let d = domain("custom-qemu64-live");
    super::evaluate(&super::RuleInput {
        persistent: &d,
        live: None,
        host: Some(&host("qemu-system")),
        state: super::DomainState::Shutoff,
        libvirt_version: 11_003_000,
    })
}

/// The verdict for a running VM whose memory state can be captured both ways.
pub fn running_verdict() -> super::Verdict {
    let d = domain("custom-qemu64-live");
    super::evaluate(&super::RuleInput {
        persistent: &d,
        live: Some(&d),
        host: Some(&host("qemu-system")),
        state: super::DomainState::Running,
        libvirt_version: 11_003_000,
    })
}
