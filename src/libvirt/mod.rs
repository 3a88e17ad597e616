//! The only code that calls the virt crate: process-wide libvirt set-up, opening connections,
//! the worker thread that owns the connection, and mapping libvirt errors to explained ones.

pub mod connection;
pub mod console;
pub mod demo;
pub mod demo_session;
pub mod error;
pub mod events;
pub mod guest;
pub mod guest_image;
pub mod inventory;
pub mod jobs;
pub mod snapshots;
pub mod space;
pub mod storage;
pub mod vmdef;
pub mod worker;

pub use connection::{init, open, ConnectOptions};
pub use error::VirtError;
