//! The serial console against real tiny VMs in the embedded QEMU driver: SeaBIOS output comes
//! through, Ctrl-] detaches, a second client is refused until it forces, and a stopped VM and a
//! VM without a console get their own errors.
//! Run: `cargo test --test console_kvm -- --nocapture`.

mod common;

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use common::{embed_conn, TestVm};
use virtsnap::libvirt::console::{self, ConsoleEnd, ConsoleError, ESCAPE};
use virtsnap::libvirt::vmdef::{TinyCpu, TinyVm};

fn tiny(name: &str) -> TinyVm {
    TinyVm::new(name, TinyCpu::Default).with_nested_host_workarounds()
}

/// Attaches for `secs`, then types `typed` followed by Ctrl-]; returns what the guest printed.
fn attach_for(handle: &console::ConsoleHandle, secs: u64) -> (Result<ConsoleEnd, String>, String) {
    let (mut user, mut input) = UnixStream::pair().unwrap();
    let typist = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(secs));
        user.write_all(&[b'\r', ESCAPE, b'x']).unwrap();
        user
    });
    let mut output = Vec::new();
    let end = console::pump(handle, &mut input, &mut output, ESCAPE);
    drop(typist.join());
    (end, String::from_utf8_lossy(&output).into_owned())
}

#[test]
fn seabios_output_comes_through_and_ctrl_bracket_detaches() {
    let Some(conn) = embed_conn() else { return };
    let vm = TestVm::start(conn, tiny("console").bios_on_serial()).unwrap();
    let started = Instant::now();
    let handle = console::open(conn, &vm.name, false).unwrap();
    let (end, text) = attach_for(&handle, 4);
    println!("console output after {:?}: {text:?}", started.elapsed());
    assert_eq!(end, Ok(ConsoleEnd::Detached));
    assert!(
        text.contains("SeaBIOS") || text.contains("Booting") || text.contains("bootable"),
        "no firmware output on the serial console: {text:?}"
    );
    // Detaching released the console: a new session opens without forcing.
    drop(handle);
    let again = console::open(conn, &vm.name, false);
    assert!(again.is_ok(), "{again:?}");
}

#[test]
fn a_second_client_is_refused_until_it_forces() {
    let Some(conn) = embed_conn() else { return };
    let vm = TestVm::start(conn, tiny("console-busy")).unwrap();
    let first = console::open(conn, &vm.name, false).unwrap();
    let second = console::open(conn, &vm.name, false);
    assert_eq!(
        second.as_ref().err(),
        Some(&ConsoleError::Busy {
            name: vm.name.clone()
        })
    );
    let forced = console::open(conn, &vm.name, true).unwrap();
    // The first session was cut off: its pump ends on its own.
    let (end, _) = attach_for(&first, 2);
    assert!(matches!(end, Ok(ConsoleEnd::Closed(_))), "{end:?}");
    drop(forced);
}

#[test]
fn stopped_vm_and_vm_without_console_are_explained() {
    let Some(conn) = embed_conn() else { return };
    let stopped = TestVm::define(conn, tiny("console-off")).unwrap();
    let err = console::open(conn, &stopped.name, false).unwrap_err();
    assert_eq!(
        err,
        ConsoleError::NotRunning {
            name: stopped.name.clone()
        }
    );
    assert!(err.to_string().contains("is not running"), "{err}");

    let bare = TestVm::start(conn, tiny("console-none").without_console()).unwrap();
    let err = console::open(conn, &bare.name, false).unwrap_err();
    assert_eq!(
        err,
        ConsoleError::NoConsole {
            name: bare.name.clone()
        }
    );
    assert!(
        err.to_string().contains("no serial or console device"),
        "{err}"
    );
}
