//! Small helpers shared by the XML parsers.

/// Why a piece of libvirt XML could not be read.
#[derive(Debug, thiserror::Error)]
pub enum XmlError {
    #[error("malformed XML at byte {position}: {message}")]
    Malformed { position: u64, message: String },
    #[error("expected a <{expected}> document, found <{found}>")]
    WrongRoot {
        expected: &'static str,
        found: String,
    },
    #[error("the XML document is empty")]
    Empty,
    #[error("invalid value {value:?} for {what}")]
    InvalidValue { what: String, value: String },
}
