//! Create, revert and delete through virtsnap's jobs on libvirt's test driver (the demo's
//! fallback host), which follows its own rules (measured, libvirt 11.3): internal snapshots
//! only (DISK_ONLY is "unsupported flags (0x10)"), metadata only, and a revert that replaces
//! the domain's definition with the snapshot's.
//! Run: `cargo test --test test_driver_jobs`.

mod common;

use common::with_job_context;
use virt::connect::Connect;
use virtsnap::libvirt::jobs::delete::{self, DeleteJob};
use virtsnap::libvirt::jobs::revert::{self, RevertJob};
use virtsnap::libvirt::jobs::snapshot_create::{self, CreateError, CreateJob};
use virtsnap::libvirt::snapshots;
use virtsnap::model::snapshot::SnapshotLocation;
use virtsnap::model::storage::{AfterRevert, DeleteMode};

const DOMAIN: &str = "app-host-model";

fn create(conn: &Connect, name: &str, memory: bool) -> Result<SnapshotLocation, CreateError> {
    let job = CreateJob {
        domain: DOMAIN.into(),
        name: name.into(),
        description: None,
        memory,
        quiesce: false,
        location: None,
    };
    with_job_context(conn, false, |ctx| snapshot_create::create(ctx, &job))
        .0
        .map(|c| c.location)
}

#[test]
fn the_demo_hosts_test_driver_takes_reverts_and_deletes_what_virtsnap_plans() {
    let dir = tempfile::tempdir().unwrap();
    let node = dir.path().join("demo-host.xml");
    std::fs::write(&node, include_str!("../assets/demo-host.xml")).unwrap();
    let conn = Connect::open(Some(&format!("test://{}", node.display()))).unwrap();
    let uuid = conn
        .lookup_domain_by_name(DOMAIN)
        .unwrap()
        .uuid_string()
        .unwrap();

    assert_eq!(
        create(&conn, "with-memory", true).unwrap(),
        SnapshotLocation::Internal
    );
    match create(&conn, "disk-only", false) {
        Err(CreateError::Refused(why)) => {
            assert!(why.contains("must include the memory state"), "{why}")
        }
        other => panic!("a disk-only snapshot of a running test domain is refused: {other:?}"),
    }

    let job = RevertJob {
        domain: DOMAIN.into(),
        snapshot: "release-2.4".into(),
        after: AfterRevert::Saved,
        safety: Some("safety".into()),
        stop_first: false,
        stop_timeout_secs: 2,
    };
    let said = with_job_context(&conn, true, |ctx| revert::run_planned(ctx, &job))
        .0
        .unwrap_or_else(|e| panic!("{e:?}"));
    println!("{said}");
    // The snapshot's saved definition carries the domain's UUID, so the domain is the same one
    // after the revert (a definition without it got a new UUID, and every later lookup failed).
    let after = conn.lookup_domain_by_name(DOMAIN).unwrap();
    assert_eq!(after.uuid_string().unwrap(), uuid);

    let job = DeleteJob {
        domain: DOMAIN.into(),
        snapshot: "release-2.4".into(),
        mode: DeleteMode::This,
    };
    with_job_context(&conn, true, |ctx| delete::run_planned(ctx, &job))
        .0
        .unwrap_or_else(|e| panic!("{e:?}"));
    let left = snapshots::load(&conn, DOMAIN).unwrap();
    let names: Vec<&str> = left.snapshots.iter().map(|s| s.name.as_str()).collect();
    assert!(
        names.contains(&"safety") && names.contains(&"with-memory"),
        "{names:?}"
    );
    assert!(!names.contains(&"release-2.4"), "{names:?}");
}
