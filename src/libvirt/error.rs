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
            reason: err.message().to_string(),
        }
    }
}
