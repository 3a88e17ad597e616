//! Data the guest itself wrote, through every kind of snapshot virtsnap takes: a file written in
//! the guest before the snapshot and changed after it reads back as captured once reverted
//! (internal with memory, external with memory, external disk-only of a running guest, and
//! internal of a stopped one). After a memory revert the guest's clock is set from the host's.
//! Run: `cargo test --test guest_data -- --nocapture`.

mod common;

use std::time::{Duration, Instant};

use common::guest::{guest_env, host_clock, Guest, GuestEnv};
use common::with_job_context;
use virtsnap::libvirt::jobs::revert::{self, RevertJob};
use virtsnap::libvirt::jobs::snapshot_create::{self, CreateJob, Created};
use virtsnap::libvirt::vmdef::DiskFormat;
use virtsnap::model::snapshot::SnapshotLocation;
use virtsnap::model::storage::AfterRevert;

const FILE: &str = "/data/captured";

/// A snapshot of the kind `kind` (the test's subject; the tree is empty, so it sets the kind).
fn create(
    env: &GuestEnv,
    g: &mut Guest,
    name: &str,
    memory: bool,
    kind: SnapshotLocation,
) -> Created {
    let job = CreateJob {
        domain: g.name().to_string(),
        name: name.into(),
        description: None,
        memory,
        quiesce: false,
        location: Some(kind),
    };
    let (result, _) = with_job_context(env.conn, false, |ctx| snapshot_create::create(ctx, &job));
    let created = result.unwrap_or_else(|e| panic!("create {name}: {}", e.text()));
    for f in &created.files {
        g.vm.track(f.clone());
    }
    created
}

fn revert_to(env: &GuestEnv, g: &Guest, name: &str, after: AfterRevert) -> String {
    let job = RevertJob {
        domain: g.name().to_string(),
        snapshot: name.into(),
        after,
        safety: None,
        stop_first: false,
        stop_timeout_secs: 120,
    };
    let (result, _) = with_job_context(env.conn, false, |ctx| revert::run(ctx, &job));
    result.unwrap_or_else(|e| panic!("revert to {name}: {e}"))
}

/// Running guest: write, snapshot, change, revert, read back. Memory snapshots also prove the
/// clock: the revert sets it, and the guest then reads within 2 s of the host.
fn check_running(env: &GuestEnv, format: DiskFormat, memory: bool, want: SnapshotLocation) {
    let mut g = Guest::define_with(env, "data", format, |_| {});
    g.start();
    g.write_file(FILE, "before the snapshot");
    let t = Instant::now();
    let created = create(env, &mut g, "s1", memory, want);
    println!(
        "{}: {} in {:.2} s",
        g.name(),
        snapshot_create::confirmation(&created),
        t.elapsed().as_secs_f64()
    );
    assert_eq!(created.location, want);
    assert_eq!(created.memory, memory);
    g.write_file(FILE, "changed after it");
    assert_eq!(g.read_file(FILE), "changed after it");
    // A memory revert brings back the snapshot's clock: let it fall clearly behind first.
    if memory {
        std::thread::sleep(Duration::from_secs(4));
    }
    let after = if memory {
        AfterRevert::Saved
    } else {
        // Disk-only: libvirt would leave it shut off; the guest boots from the captured disk.
        AfterRevert::Running
    };
    let t = Instant::now();
    let said = revert_to(env, &g, "s1", after);
    println!("{}: {said} ({:.2} s)", g.name(), t.elapsed().as_secs_f64());
    g.wait_agent();
    assert_eq!(g.read_file(FILE), "before the snapshot", "{said}");
    if memory {
        assert!(
            said.contains("the guest clock was set from the host"),
            "{said}"
        );
        let offset = g.clock() - host_clock();
        println!(
            "{}: guest clock - host clock after the revert: {offset:+.3} s",
            g.name()
        );
        assert!(offset.abs() < 2.0, "guest clock off by {offset} s: {said}");
        // The same QEMU state, not a new boot.
        assert_eq!(g.boot_count(), 1);
    } else {
        assert_eq!(
            g.boot_count(),
            2,
            "a disk-only revert boots the guest again"
        );
    }
}

#[test]
fn internal_snapshot_with_memory_restores_the_guests_file_and_clock() {
    let Some(env) = guest_env() else { return };
    check_running(env, DiskFormat::Qcow2, true, SnapshotLocation::Internal);
}

#[test]
fn external_snapshot_with_memory_restores_the_guests_file_and_clock() {
    let Some(env) = guest_env() else { return };
    check_running(env, DiskFormat::Raw, true, SnapshotLocation::External);
}

#[test]
fn external_disk_only_snapshot_restores_the_guests_file() {
    let Some(env) = guest_env() else { return };
    check_running(env, DiskFormat::Qcow2, false, SnapshotLocation::External);
}

#[test]
fn snapshot_of_the_stopped_guest_restores_the_guests_file() {
    let Some(env) = guest_env() else { return };
    let mut g = Guest::define(env, "data-off", |_| {});
    g.start();
    g.write_file(FILE, "before the snapshot");
    g.dom().destroy().unwrap();
    let created = create(env, &mut g, "off1", false, SnapshotLocation::Internal);
    assert_eq!(created.location, SnapshotLocation::Internal);
    g.start();
    g.write_file(FILE, "changed after it");
    g.dom().destroy().unwrap();
    let said = revert_to(env, &g, "off1", AfterRevert::Saved);
    assert!(said.contains("now shut off"), "{said}");
    assert!(
        !said.contains("clock"),
        "no memory, nothing said of the clock: {said}"
    );
    g.start();
    assert_eq!(g.read_file(FILE), "before the snapshot", "{said}");
}
