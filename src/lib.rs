//! virtsnap: a terminal UI for libvirt/KVM snapshots. See DESIGN.md in the project notes for
//! the layout: `model` is pure, `libvirt` is the only code that calls libvirt, `app` is the
//! pure state machine, `ui` draws, `tui` wires the terminal and the loop.
#![deny(unsafe_code)]

pub mod app;
pub mod cli;
pub mod config;
pub mod libvirt;
pub mod model;
pub mod tty_hangup;
pub mod tui;
pub mod ui;
