//! qemu-killed-mid-snapshot (../shared/cases) as the project's own test: QEMU is stopped
//! (SIGSTOP) under a memory snapshot, then killed. The job must say it made no progress while
//! QEMU was stopped, then that the VM stopped (crashed) during the snapshot and that no
//! snapshot exists, and leave no file of its own behind.
//! Run: `cargo test --test crash_kvm -- --nocapture`.

mod common;

use std::time::{Duration, Instant};

use common::{embed_conn, make_disk, with_job_context, TestVm};
use virt::domain::Domain;
use virtsnap::libvirt::jobs::snapshot_create::{self, CreateError, CreateJob};
use virtsnap::libvirt::jobs::JobUpdate;
use virtsnap::libvirt::vmdef::{DiskFormat, TinyCpu, TinyVm};
use virtsnap::model::snapshot::SnapshotLocation;

/// The QEMU process running guest `name` (its command line names it `guest=<name>,`).
fn qemu_pid(name: &str) -> Option<i32> {
    let needle = format!("guest={name},");
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|p| {
        let cmd = std::fs::read(p.path().join("cmdline")).ok()?;
        let cmd = String::from_utf8_lossy(&cmd);
        (cmd.contains(&needle) && cmd.contains("qemu-system"))
            .then(|| p.file_name().to_str()?.parse().ok())
            .flatten()
    })
}

fn signal(pid: i32, sig: nix::sys::signal::Signal) {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), sig).expect("signal QEMU");
}

fn check(kind: SnapshotLocation, base: &str) {
    let Some(conn) = embed_conn() else { return };
    let disk = make_disk(base, DiskFormat::Qcow2).unwrap();
    let tiny = TinyVm::new(base, TinyCpu::Default)
        .with_nested_host_workarounds()
        .disk(&disk, DiskFormat::Qcow2);
    let mut vm = TestVm::start(conn, tiny).unwrap();
    let pid = qemu_pid(&vm.name).expect("the VM's QEMU");
    let mem_dir = disk.parent().unwrap().to_path_buf();
    let before: Vec<_> = std::fs::read_dir(&mem_dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    signal(pid, nix::sys::signal::Signal::SIGSTOP);
    let job = CreateJob {
        domain: vm.name.clone(),
        name: "k1".into(),
        description: None,
        memory: true,
        quiesce: false,
        location: Some(kind),
    };
    let started = Instant::now();
    let killer = std::thread::spawn(move || {
        // Long enough for the stall to be reported, then the kill.
        std::thread::sleep(Duration::from_secs(15));
        signal(pid, nix::sys::signal::Signal::SIGKILL);
        signal(pid, nix::sys::signal::Signal::SIGCONT);
    });
    let (result, updates) = with_job_context(conn, false, |ctx| snapshot_create::create(ctx, &job));
    killer.join().unwrap();
    let steps: Vec<&String> = updates
        .iter()
        .filter_map(|u| match u {
            JobUpdate::Step(s) => Some(s),
            _ => None,
        })
        .collect();
    println!("{kind:?} after {:?}: steps {steps:?}", started.elapsed());
    let said = match kind {
        SnapshotLocation::External => "no progress for 10 s",
        SnapshotLocation::Internal => "still saving after 10 s",
    };
    assert!(
        steps.iter().any(|s| s.starts_with(said)),
        "the stall is said while QEMU is stopped: {steps:?}"
    );
    let err = result.expect_err("the snapshot cannot succeed");
    let CreateError::Failed(text) = &err else {
        panic!("{err:?}")
    };
    println!("{text}");
    assert!(
        text.contains("stopped (crashed) during the snapshot"),
        "{text}"
    );
    assert!(text.contains("No snapshot 'k1' was created"), "{text}");
    assert!(Domain::lookup_snapshot_by_name(&vm.dom, "k1", 0).is_err());
    // Nothing of the snapshot's is left next to the disk (a partial memory file is removed).
    let after: Vec<_> = std::fs::read_dir(&mem_dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    let new: Vec<_> = after
        .iter()
        .filter(|p| !before.contains(p) && p.to_string_lossy().contains("k1"))
        .collect();
    assert!(new.is_empty(), "left behind: {new:?}");
    for p in after {
        if p.to_string_lossy().contains(base) {
            vm.track(p);
        }
    }
}

#[test]
fn qemu_killed_under_an_external_memory_snapshot() {
    check(SnapshotLocation::External, "crash-ext");
}

#[test]
fn qemu_killed_under_an_internal_memory_snapshot() {
    check(SnapshotLocation::Internal, "crash-int");
}
