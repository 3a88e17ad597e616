//! The demo host: tiny real VMs in an embedded QEMU driver root.
