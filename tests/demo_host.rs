//! The demo host on real KVM: `DemoHost::prepare` defines and starts the promised VMs in their
//! states, a second run reuses them, the rule sees the blocked and the pinned passthrough VMs as
//! the demo claims, and `shutdown` leaves no QEMU behind. Plus the test-driver fallback and the
//! harness's node-file helper. Its own test binary: the demo needs its own embedded root.

mod common;

use std::path::PathBuf;

use virt::connect::Connect;
use virtsnap::libvirt::demo::{DemoHost, GUEST_VMS};
use virtsnap::libvirt::vmdef::{self, TinyCpu, TinyVm};
use virtsnap::libvirt::ConnectOptions;
use virtsnap::model::domain::{DomainConfig, DomainState};
use virtsnap::model::eligibility::{evaluate, RuleInput};
use virtsnap::model::host::HostCapabilities;

const NAMES: [&str; 7] = [
    "web-passthrough",
    "db-tsc-pinned",
    "app-host-model",
    "legacy-qemu64",
    "build-maximum",
    "archive-stopped",
    "batch-paused",
];

fn state_of(conn: &Connect, name: &str) -> DomainState {
    let dom = conn.lookup_domain_by_name(name).expect(name);
    DomainState::from_raw(dom.state().expect("state").0.to_raw())
}

fn memory_allowed(conn: &Connect, host: &HostCapabilities, name: &str) -> bool {
    let dom = conn.lookup_domain_by_name(name).expect(name);
    let inactive = dom
        .xml_desc(virt::sys::VIR_DOMAIN_XML_INACTIVE)
        .expect("xml");
    let live = dom.xml_desc(0).expect("xml");
    let persistent = DomainConfig::from_xml(&inactive).expect("parse");
    let live = DomainConfig::from_xml(&live).expect("parse");
    let verdict = evaluate(&RuleInput {
        persistent: &persistent,
        live: Some(&live),
        host: Some(host),
        state: state_of(conn, name),
        libvirt_version: u64::from(conn.lib_version().expect("version")),
    });
    verdict.memory.allowed
}

fn qemu_running_under(dir: &std::path::Path) -> usize {
    let needle = dir.to_string_lossy().into_owned();
    std::fs::read_dir("/proc")
        .expect("/proc")
        .flatten()
        .filter(|p| {
            std::fs::read(p.path().join("cmdline"))
                .map(|c| {
                    let c = String::from_utf8_lossy(&c);
                    c.contains("qemu-system") && c.contains(&needle)
                })
                .unwrap_or(false)
        })
        .count()
}

/// One test, in order: it points XDG_STATE_HOME at a temp dir, which no other thread may read
/// meanwhile, and the demo needs the process's one embedded root.
#[test]
fn demo_host_and_its_test_driver_fallback() {
    let state_home = PathBuf::from(format!("/tmp/virtsnap-demo-test-{}", std::process::id()));
    std::env::set_var("XDG_STATE_HOME", &state_home);
    test_driver_fallback_and_node_helper();
    one_shot_commands_with_demo_before_the_demo_exists(&state_home);
    if !vmdef::kvm_usable() || !vmdef::qemu_available() {
        println!("SKIPPED: the embedded demo host needs /dev/kvm and qemu-system-x86_64");
        let _ = std::fs::remove_dir_all(&state_home);
        return;
    }
    demo_host_starts_its_vms_and_stops_them(&state_home);
}

fn demo_host_starts_its_vms_and_stops_them(state_home: &std::path::Path) {
    let root = DemoHost::root_dir();
    assert!(root.starts_with(state_home), "{}", root.display());
    virtsnap::libvirt::demo_session::write_embed_qemu_conf(&root, false).expect("qemu.conf");

    let t = std::time::Instant::now();
    let conn = virtsnap::libvirt::open(&ConnectOptions {
        uri: Some(DemoHost::uri()),
        readonly: false,
    })
    .expect("embedded demo root opens");
    let report = DemoHost::prepare(&conn).expect("prepare");
    // Once made, `virtsnap --demo COMMAND` acts on this root (not on the default URI).
    assert_eq!(
        virtsnap::libvirt::demo_session::DemoSession::uri_for_command(),
        Ok(DemoHost::uri())
    );
    println!(
        "first prepare: {:.1} s, {report:?}",
        t.elapsed().as_secs_f64()
    );
    let stop_all = || DemoHost::shutdown(&conn, &report).expect("shutdown");

    // The Linux guest VMs are there when the guest could be built (a package mirror).
    let guests: &[&str] = match &report.linux_guest {
        Some(line) => {
            println!("{line}");
            &GUEST_VMS
        }
        None => {
            println!("SKIPPED: the demo's Linux guest VMs: {:?}", report.notes);
            &[]
        }
    };
    let check = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        assert!(report.kvm);
        assert!(report.left_off.is_empty(), "{:?}", report.left_off);
        assert_eq!(report.defined.len(), NAMES.len() + guests.len());
        assert_eq!(report.started.len(), NAMES.len() - 1 + guests.len());
        for name in NAMES.iter().chain(guests) {
            let name = *name;
            let want = match name {
                "archive-stopped" => DomainState::Shutoff,
                "batch-paused" => DomainState::Paused,
                _ => DomainState::Running,
            };
            assert_eq!(state_of(&conn, name), want, "{name}");
        }
        let host = HostCapabilities::from_xml(&conn.capabilities().expect("caps")).expect("caps");
        // What the demo is for: the same passthrough CPU, blocked unless the TSC is pinned.
        assert_eq!(
            memory_allowed(&conn, &host, "web-passthrough"),
            !host.has_invtsc()
        );
        assert!(memory_allowed(&conn, &host, "db-tsc-pinned"));
        assert!(memory_allowed(&conn, &host, "app-host-model"));

        for name in guests {
            // A booted Linux: its agent answers, so quiesce is offered.
            let dom = conn.lookup_domain_by_name(name).expect(name);
            let booted =
                virtsnap::libvirt::guest::wait_for_agent(&dom, std::time::Duration::from_secs(90));
            println!("{name}: agent after {booted:?}");
            assert!(booted.is_ok(), "{name}: {booted:?}");
            let live = DomainConfig::from_xml(&dom.xml_desc(0).expect("xml")).expect("parse");
            let verdict = evaluate(&RuleInput {
                persistent: &live,
                live: Some(&live),
                host: Some(&host),
                state: DomainState::Running,
                libvirt_version: u64::from(conn.lib_version().expect("version")),
            });
            assert!(verdict.disk_only.quiesce, "{name}: {verdict:?}");
        }

        let t = std::time::Instant::now();
        let again = DemoHost::prepare(&conn).expect("second prepare");
        println!("second prepare: {:.2} s", t.elapsed().as_secs_f64());
        assert!(
            again.defined.is_empty(),
            "reuses definitions: {:?}",
            again.defined
        );
        assert_eq!(again.started, report.started);
    }));
    let t = std::time::Instant::now();
    stop_all();
    println!("shutdown: {:.1} s", t.elapsed().as_secs_f64());
    let left = qemu_running_under(state_home);
    for name in NAMES.iter().chain(&GUEST_VMS) {
        if let Ok(dom) = conn.lookup_domain_by_name(name) {
            let _ = dom.undefine();
        }
    }
    let _ = std::fs::remove_dir_all(state_home);
    if let Err(panic) = check {
        std::panic::resume_unwind(panic);
    }
    assert_eq!(left, 0, "QEMU processes left running after shutdown");
}

/// `virtsnap --demo list` before any demo was started: a usage error naming what to do, not
/// an empty list from the default URI.
fn one_shot_commands_with_demo_before_the_demo_exists(state_home: &std::path::Path) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_virtsnap"))
        .args(["--demo", "list"])
        .env("XDG_STATE_HOME", state_home)
        .output()
        .expect("run virtsnap");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(out.stdout.is_empty());
    assert!(err.contains("the demo host does not exist yet"), "{err}");
    assert!(err.contains("virtsnap --demo"), "{err}");
}

fn test_driver_fallback_and_node_helper() {
    let uri = DemoHost::test_driver_uri();
    assert!(uri.ends_with("/virtsnap/demo-host.xml"), "{uri}");
    let conn = virtsnap::libvirt::open(&ConnectOptions {
        uri: Some(uri),
        readonly: true,
    })
    .expect("shipped demo host opens");
    for name in NAMES.iter().chain(&GUEST_VMS) {
        assert!(
            conn.lookup_domain_by_name(name).is_ok(),
            "{name} in the test-driver host"
        );
    }
    assert_eq!(state_of(&conn, "batch-paused"), DomainState::Paused);
    assert_eq!(state_of(&conn, "archive-stopped"), DomainState::Shutoff);
    let web = conn.lookup_domain_by_name("web-passthrough").expect("web");
    assert_eq!(web.num_snapshots(0).expect("snapshots"), 4);

    let vms = [
        (
            TinyVm::new(
                "node-a&<b>",
                TinyCpu::HostPassthrough {
                    migratable: Some(false),
                },
            ),
            1,
        ),
        (TinyVm::new("node-paused", TinyCpu::HostModel), 3),
        (TinyVm::new("node-off", TinyCpu::Default), 5),
    ];
    let (_dir, uri) = common::test_driver_node(&vms);
    let conn = virtsnap::libvirt::open(&ConnectOptions {
        uri: Some(uri),
        readonly: true,
    })
    .expect("generated node file opens");
    assert_eq!(state_of(&conn, "node-a&<b>"), DomainState::Running);
    assert_eq!(state_of(&conn, "node-paused"), DomainState::Paused);
    assert_eq!(state_of(&conn, "node-off"), DomainState::Shutoff);
}
