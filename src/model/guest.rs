//! What the guest agent reports, as plain data for the snapshot dialog and the CLI.

use serde::Serialize;

use super::xml::Element;

/// Whether qemu-guest-agent can act for a quiesce (freeze, thaw) or set the clock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", content = "reason", rename_all = "kebab-case")]
pub enum AgentState {
    /// It answered a `guest-ping`.
    Connected,
    /// The definition has no `org.qemu.guest_agent.0` channel.
    NotConfigured,
    /// The channel is there but the agent did not answer: why.
    NotAnswering(String),
}

impl AgentState {
    /// Words for the dialog, e.g. "guest agent: not answering (the channel is disconnected)".
    pub fn label(&self) -> String {
        match self {
            Self::Connected => "guest agent: connected".into(),
            Self::NotConfigured => "guest agent: not configured".into(),
            Self::NotAnswering(why) => format!("guest agent: not answering ({why})"),
        }
    }
}

/// A file system the guest has mounted (`guest-get-fsinfo`): what a quiesce freezes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GuestFileSystem {
    pub mountpoint: String,
    /// ext4, xfs, vfat ...
    pub fs_type: String,
    /// The guest's device names, e.g. `/dev/vda`.
    pub devices: Vec<String>,
}

impl GuestFileSystem {
    /// "/data (ext4 on /dev/vda)".
    pub fn label(&self) -> String {
        if self.devices.is_empty() {
            format!("{} ({})", self.mountpoint, self.fs_type)
        } else {
            format!(
                "{} ({} on {})",
                self.mountpoint,
                self.fs_type,
                self.devices.join(", ")
            )
        }
    }
}

/// Parses a `guest-get-fsinfo` answer (a JSON array), skipping entries it cannot read.
pub fn file_systems_from_fsinfo(value: &serde_json::Value) -> Vec<GuestFileSystem> {
    let Some(entries) = value.as_array() else {
        return Vec::new();
    };
    entries
        .iter()
        .filter_map(|fs| {
            let devices = fs["disk"]
                .as_array()
                .map(|disks| {
                    disks
                        .iter()
                        .filter_map(|d| d["dev"].as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            Some(GuestFileSystem {
                mountpoint: fs["mountpoint"].as_str()?.to_string(),
                fs_type: fs["type"].as_str().unwrap_or("?").to_string(),
                devices,
            })
        })
        .collect()
}

/// The machine type of a domain XML (`<os><type machine='pc-q35-10.0'>`), e.g. to warn about
/// what q35 does differently.
pub fn machine_type(domain_xml: &str) -> Option<String> {
    // Only <os> and what is inside it matter here.
    let keep = |path: &[Element], name: &str| path.len() > 1 || name == "os";
    let root = Element::parse_root(domain_xml, "domain", keep).ok()?;
    let machine = root.child("os")?.child("type")?.attr("machine")?;
    Some(machine.to_string())
}

/// What a wake from suspend to RAM should add for this machine type (measured with QEMU 10 and
/// a Linux 6.1 guest): on q35 every suspend after the first one wakes again at once, so the
/// guest never stays suspended; pc (i440FX) suspends as often as asked.
pub fn wake_note(machine: Option<&str>) -> Option<&'static str> {
    let q35 = machine.is_some_and(|m| m == "q35" || m.starts_with("pc-q35"));
    q35.then_some(
        "on this q35 machine a further suspend to RAM wakes again at once (QEMU 10); \
         machine type pc suspends repeatedly",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fsinfo_of_the_test_guest() {
        // As qemu-ga 7.2 answered in the tests' guest.
        let answer = serde_json::json!([{"name": "vda", "total-bytes": 52685824,
            "mountpoint": "/data", "disk": [{"bus-type": "virtio", "bus": 0, "unit": 0,
            "pci-controller": {"bus": 0, "slot": 4, "domain": 0, "function": 0},
            "dev": "/dev/vda", "target": 0}], "used-bytes": 15360, "type": "ext4"},
            {"name": "odd"}]);
        let fs = file_systems_from_fsinfo(&answer);
        assert_eq!(fs.len(), 1);
        assert_eq!(fs[0].label(), "/data (ext4 on /dev/vda)");
        assert_eq!(
            AgentState::NotAnswering("timed out".into()).label(),
            "guest agent: not answering (timed out)"
        );
    }

    #[test]
    fn q35_gets_the_wake_note() {
        let xml = "<domain type='qemu'><name>g</name><os><type arch='x86_64' \
                   machine='pc-q35-10.0'>hvm</type></os><devices><disk><source/></disk>\
                   </devices></domain>";
        assert_eq!(machine_type(xml).as_deref(), Some("pc-q35-10.0"));
        assert!(wake_note(machine_type(xml).as_deref()).is_some());
        assert!(wake_note(Some("pc-i440fx-10.0")).is_none());
        assert!(wake_note(None).is_none());
    }
}
