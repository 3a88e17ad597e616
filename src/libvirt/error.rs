//! libvirt errors as virtsnap reports them: what was being done, to what, and libvirt's reason.

use thiserror::Error;

#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum VirtError {
    #[error("cannot set up libvirt: {reason}")]
    Setup { reason: String },
    #[error("cannot connect to {uri}: {reason}")]
    Connect { uri: String, reason: String },
    #[error("no domain named '{name}' on this connection")]
    NoDomain { name: String },
    #[error("{action}: {reason}")]
    Call { action: String, reason: String },
}

impl VirtError {
    /// A failed libvirt call, with what virtsnap was doing.
    pub fn call(action: impl Into<String>, err: &virt::error::Error) -> Self {
        Self::Call {
            action: action.into(),
            reason: with_hint(err.message()),
        }
    }
}

/// libvirt's reason, with what to do about it where the reason alone does not say.
fn with_hint(reason: &str) -> String {
    if reason.contains("virtlogd-sock") {
        // QEMU's output goes through virtlogd by default; without systemd nothing starts it.
        return format!(
            "{reason} (virtlogd, which keeps QEMU's log, is not running: start it with \
             `systemctl start virtlogd` or, without systemd, `virtlogd -d`)"
        );
    }
    reason.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_virtlogd_says_how_to_start_it() {
        let raw = "Failed to connect socket to '/run/libvirt/virtlogd-sock': Connection refused";
        let told = with_hint(raw);
        assert!(told.starts_with(raw), "{told}");
        assert!(told.contains("virtlogd -d"), "{told}");
        assert_eq!(with_hint("domain is not running"), "domain is not running");
    }
}
