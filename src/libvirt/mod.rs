//! The only code that calls the virt crate: process-wide libvirt set-up, opening connections,
//! the worker thread that owns the connection, and mapping libvirt errors to explained ones.

pub mod connection;
pub mod demo;
pub mod error;
pub mod vmdef;

pub use connection::{init, open, ConnectOptions};
pub use error::VirtError;
