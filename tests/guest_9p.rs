//! Issue 12, on a real Linux guest (the 9p flavour of tests/setup/build-guest.sh): a VM with a
//! 9p share takes memory snapshots until its guest mounts the share, and virtsnap's warning
//! says exactly that beforehand. Before the mount `check` (the decision the create dialog also
//! shows) allows memory state with the conditional warning, and a memory snapshot is made; once
//! the guest has mounted the share (proven by a file each way) QEMU refuses memory state,
//! virtsnap says why and the ways out, and nothing is left half-made; a disk-only snapshot
//! still works; after the guest unmounts the share, memory snapshots work again.
//! Run: `cargo test --test guest_9p -- --nocapture`.

mod common;

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use common::guest::{guest_env_9p, Guest, GuestEnv};
use common::{embed_root, unique_name, with_job_context};
use virtsnap::cli::check::{check_on, render_text};
use virtsnap::libvirt::jobs::snapshot_create::{self, CreateJob, Created};
use virtsnap::libvirt::vmdef::TinyShare;
use virtsnap::libvirt::ConnectOptions;
use virtsnap::model::snapshot::SnapshotLocation;

const TAG: &str = "hostshare";
const MOUNTPOINT: &str = "/mnt/share";

/// The share's host directory, removed (with what the guest wrote) when dropped.
struct ShareDir(PathBuf);

impl ShareDir {
    fn new() -> ShareDir {
        let dir = embed_root().join(unique_name("share"));
        std::fs::create_dir_all(&dir).unwrap();
        // QEMU runs as libvirt-qemu and writes what the guest writes.
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        ShareDir(dir)
    }
}

impl Drop for ShareDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn job(g: &Guest, name: &str, memory: bool) -> CreateJob {
    CreateJob {
        domain: g.name().to_string(),
        name: name.into(),
        description: None,
        memory,
        quiesce: false,
        // The kind virtsnap picks, as the dialog would (the disk is qcow2, the tree empty).
        location: None,
    }
}

/// A snapshot through virtsnap's create job, which must succeed; its files go with the VM.
fn create(env: &GuestEnv, g: &mut Guest, name: &str, memory: bool) -> Created {
    let j = job(g, name, memory);
    let (result, _) = with_job_context(env.conn, false, |ctx| snapshot_create::create(ctx, &j));
    let created = result.unwrap_or_else(|e| panic!("create {name}: {}", e.text()));
    for f in &created.files {
        g.vm.track(f.clone());
    }
    println!("{}", snapshot_create::confirmation(&created));
    created
}

fn snapshot_names(g: &Guest) -> BTreeSet<String> {
    let snaps = g.dom().list_all_snapshots(0).unwrap();
    snaps.iter().map(|s| s.name().unwrap()).collect()
}

fn files_in(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

fn embed() -> ConnectOptions {
    ConnectOptions {
        uri: Some(format!("qemu:///embed?root={}", embed_root().display())),
        readonly: false,
    }
}

#[test]
fn a_9p_share_blocks_memory_state_only_while_the_guest_has_it_mounted() {
    let Some(env) = guest_env_9p() else { return };
    // Declared before the guest, so dropped after it: QEMU has let go of the directory.
    let share = ShareDir::new();
    let source = share.0.clone();
    let mut g = Guest::boot(env, "ninep", |vm| {
        vm.shares.push(TinyShare {
            source,
            tag: TAG.into(),
        })
    });
    let disks = g.data_disk.parent().unwrap().to_path_buf();
    let warning = format!(
        "Memory state can be captured now, but QEMU will refuse it once the guest mounts the \
         9p share '{TAG}'."
    );

    // (a) Not mounted yet: allowed, with the warning, and a memory snapshot is made.
    let report = check_on(&embed(), "local", g.name()).unwrap();
    let text = render_text(&report);
    println!("check before the mount:\n{text}");
    assert!(report.memory_snapshot.allowed, "{text}");
    let warnings: Vec<&str> = report
        .memory_snapshot
        .conditional_blockers
        .iter()
        .map(|c| c.message.as_str())
        .collect();
    assert_eq!(warnings, [warning.as_str()]);
    assert!(text.contains(&format!("\nWarning: {warning}\n")), "{text}");
    assert!(report.plans.memory.as_ref().is_some_and(|p| p.possible));
    let before = create(env, &mut g, "before-mount", true);
    assert!(before.memory);

    // (b) The guest mounts the share; a file each way proves it is the host directory.
    g.sh(&format!(
        "mkdir -p {MOUNTPOINT} && mount -t 9p -o trans=virtio {TAG} {MOUNTPOINT}"
    ));
    g.write_file(&format!("{MOUNTPOINT}/from-guest"), "written in the guest");
    assert_eq!(
        std::fs::read_to_string(share.0.join("from-guest")).unwrap(),
        "written in the guest"
    );
    std::fs::write(share.0.join("from-host"), "written on the host").unwrap();
    assert_eq!(
        g.read_file(&format!("{MOUNTPOINT}/from-host")),
        "written on the host"
    );
    // Measured: qemu-ga 7.2's guest-get-fsinfo leaves the 9p mount out (it lists only file
    // systems on block devices), so the agent cannot tell virtsnap the share is mounted, and
    // `check` still decides what it decided before the mount.
    let fs = virtsnap::libvirt::guest::file_systems(g.dom()).unwrap();
    let labels: Vec<String> = fs.iter().map(|f| f.label()).collect();
    assert_eq!(labels, ["/data (ext4 on /dev/vda)"]);
    let after_mount = check_on(&embed(), "local", g.name()).unwrap();
    assert_eq!(after_mount.memory_snapshot, report.memory_snapshot);

    // (c) Now QEMU refuses memory state: virtsnap names the mounted share and the ways out,
    // and nothing is half-made (no snapshot, no overlay, no memory file).
    let snapshots = snapshot_names(&g);
    let files = files_in(&disks);
    let refused = job(&g, "after-mount", true);
    let plan = snapshot_create::prepare(env.conn, &refused)
        .unwrap_or_else(|e| panic!("{}", e.text()))
        .plan;
    let planned: Vec<PathBuf> = plan
        .overlay_files
        .iter()
        .chain(plan.memory_file.iter())
        .cloned()
        .collect();
    assert!(plan.memory && !planned.is_empty(), "{planned:?}");
    let (result, _) = with_job_context(env.conn, false, |ctx| snapshot_create::run(ctx, &refused));
    let said = result.expect_err("QEMU refuses memory state while the share is mounted");
    println!("after the mount, virtsnap says:\n{said}");
    assert_eq!(
        said,
        format!(
            "Memory snapshots are not supported for this VM right now.\n\
             The guest has mounted the 9p share '{TAG}', which prevents memory state capture.\n\
             This is a limitation of libvirt/QEMU, not of virtsnap.\n\
             \n\
             Options:\n\
             1. Create a disk-only snapshot (uncheck 'Include memory state')\n\
             2. Stop the VM first, then take a snapshot\n\
             3. Unmount the 9p share '{TAG}' in the guest (or detach it), then take the \
             snapshot\n\
             \n\
             libvirt said: Requested operation is not valid: cannot migrate domain: Migration \
             is disabled when VirtFS export path '{}' is mounted in the guest using mount_tag \
             '{TAG}'",
            share.0.display()
        )
    );
    assert_eq!(snapshot_names(&g), snapshots);
    assert_eq!(files_in(&disks), files);
    for f in &planned {
        assert!(!f.exists(), "{} was left", f.display());
    }

    // (d) A disk-only snapshot is not affected by the mount.
    let disk_only = create(env, &mut g, "disk-only", false);
    assert!(!disk_only.memory);
    assert_eq!(disk_only.location, SnapshotLocation::External);

    // (e) Measured: unmounting lifts the blocker. QEMU removes it when the guest clunks the
    // share's root fid (hw/9pfs/9p.c put_fid), which a umount does; the next memory snapshot
    // is made.
    g.sh(&format!("umount {MOUNTPOINT}"));
    let after = create(env, &mut g, "after-umount", true);
    assert!(after.memory);
    let made: BTreeSet<String> = ["before-mount", "disk-only", "after-umount"]
        .map(String::from)
        .into();
    assert_eq!(snapshot_names(&g), made);
}
