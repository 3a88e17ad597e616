use super::*;
use crate::model::storage::fixture::Fake;
use crate::model::storage::{ImageKind, Layout};
use crate::model::DomainState;

const MIB: u64 = 1 << 20;

fn known(bytes: u64) -> FileSpace {
    FileSpace::Known {
        bytes,
        how: Measure::LocalStat,
    }
}

fn sizes(entries: &[(&str, FileSpace)]) -> FileSizes {
    entries
        .iter()
        .map(|(p, s)| (p.to_string(), s.clone()))
        .collect()
}

fn of<'a>(s: &'a [SnapshotSpace], name: &str) -> &'a SnapshotSpace {
    s.iter().find(|s| s.name == name).unwrap()
}

#[test]
fn an_external_snapshot_holds_its_overlay_and_memory_file() {
    let layout = Fake::new("web", DomainState::Running)
        .external("e1", false)
        .external("e2", true)
        .layout();
    assert_eq!(
        files_to_measure(&layout),
        ["/i/web.e1", "/i/web.e2", "/i/web.e2.mem"]
    );
    let files = sizes(&[
        ("/i/web.e1", known(3 * MIB)),
        ("/i/web.e2", known(MIB)),
        ("/i/web.e2.mem", known(128 * MIB)),
    ]);
    let s = snapshot_space(&layout, &files);
    assert_eq!(of(&s, "e1").size_bytes, Some(3 * MIB));
    assert_eq!(of(&s, "e2").size_bytes, Some(129 * MIB));
    assert_eq!(
        of(&s, "e2").size_known,
        "measured: file allocation on this host"
    );
    let vm = vm_space(&layout, &s, layout.now, 3, 5);
    assert_eq!(vm.snapshot_bytes, Some(132 * MIB));
    assert_eq!(vm.snapshot_bytes_how, "measured");
}

#[test]
fn a_gone_overlay_holds_nothing_and_an_unmeasured_one_is_unknown() {
    let layout = Fake::new("web", DomainState::Shutoff)
        .external("e1", false)
        .external("e2", false)
        .layout();
    let files = sizes(&[
        ("/i/web.e1", FileSpace::Missing),
        (
            "/i/web.e2",
            FileSpace::Unknown {
                why: "unknown on a remote host: not a volume of a storage pool".into(),
            },
        ),
    ]);
    let s = snapshot_space(&layout, &files);
    assert_eq!(of(&s, "e1").size_bytes, Some(0));
    assert!(of(&s, "e1").size_known.contains("no longer exists"));
    let e2 = of(&s, "e2");
    assert_eq!(e2.size_bytes, None);
    assert_eq!(
        e2.size_known,
        "unknown: overlay of vda: unknown on a remote host: not a volume of a storage pool"
    );
    let vm = vm_space(&layout, &s, layout.now, 3, 5);
    assert_eq!(vm.snapshot_bytes, None);
    assert!(vm.snapshot_bytes_how.starts_with("unknown: 'e2'"), "{vm:?}");
}

#[test]
fn an_internal_snapshot_is_unknown_but_says_its_memory_state() {
    let fake = Fake::new("db", DomainState::Running)
        .internal("i1", true)
        .internal("i2", false)
        .table("/i/db.qcow2", None, &[("1", "i1"), ("2", "i2")]);
    let mut facts = fake.build();
    for img in &mut facts.images {
        if let ImageKind::Qcow2 { internal, .. } = &mut img.kind {
            internal[0].vm_state_size = 70 * MIB;
        }
    }
    let layout = Layout::new(&facts);
    let s = snapshot_space(&layout, &FileSizes::new());
    let i1 = of(&s, "i1");
    assert_eq!(i1.size_bytes, None);
    assert!(i1.size_known.contains("QEMU records no size"), "{i1:?}");
    assert_eq!(i1.known_bytes, 70 * MIB);
    let state = i1
        .parts
        .iter()
        .find(|p| p.what == "memory state inside vda's image")
        .unwrap();
    assert_eq!(
        (state.bytes, state.how.as_str()),
        (Some(70 * MIB), "the qcow2 snapshot table")
    );
    assert_eq!(of(&s, "i2").parts.len(), 1, "disk-only: no memory part");
}

#[test]
fn age_staleness_and_chain_depth() {
    // Snapshots one minute apart (the fixture's clock); "now" is 4 days after the first.
    let fake = Fake::new("web", DomainState::Shutoff)
        .external("e1", false)
        .external("e2", false)
        .external("e3", false)
        .table("/i/web.qcow2", None, &[]);
    let layout = fake.layout();
    let first = layout.snapshot("e1").unwrap().created;
    let now = first + 4 * 86_400 + 90;
    let s = snapshot_space(&layout, &FileSizes::new());
    let vm = vm_space(&layout, &s, now, 3, 2);
    assert_eq!(vm.oldest_snapshot.as_deref(), Some("e1"));
    assert_eq!(vm.oldest_age_seconds, Some(4 * 86_400 + 90));
    // e1 and e2 are older than 4 days - 30 s.. all three are older than 3 days.
    assert_eq!(vm.stale_snapshots, ["e1", "e2", "e3"]);
    assert_eq!(vm.chain_overlays, Some(3));
    assert_eq!(vm.chain_how, "vda: 3 overlays above its base image");
    assert!(vm.deep_chain);
    // The list's cells: the total is unknown (nothing measured), the markers show.
    assert_eq!(vm.cells(), ["?", "4d!", "3!"]);
    let fresh = vm_space(&layout, &s, first + 60, 3, DEEP_CHAIN_OVERLAYS);
    assert!(fresh.stale_snapshots.is_empty());
    assert!(!fresh.deep_chain);
    assert_eq!(fresh.cells()[1..], ["1m", "3"]);
    // Without snapshots every cell says so.
    let none = Fake::new("db", DomainState::Shutoff)
        .table("/i/db.qcow2", None, &[])
        .layout();
    let empty = vm_space(&none, &[], now, 3, DEEP_CHAIN_OVERLAYS);
    assert_eq!(empty.cells(), ["-", "-", "0"]);
}

#[test]
fn a_chain_not_read_is_unknown_on_a_remote_shut_off_vm() {
    let mut fake = Fake::new("web", DomainState::Shutoff).external("e1", false);
    fake.local = false;
    let layout = fake.layout();
    let vm = vm_space(&layout, &[], layout.now, 3, 5);
    assert_eq!(vm.chain_overlays, None);
    assert!(
        vm.chain_how.contains("unknown on a remote host"),
        "{}",
        vm.chain_how
    );
    assert_eq!(vm.snapshot_bytes_how, "no snapshots");
}

#[test]
fn short_sizes() {
    assert_eq!(short_bytes(0), "0");
    assert_eq!(short_bytes(1023), "1023");
    assert_eq!(short_bytes(1536), "1.5K");
    assert_eq!(short_bytes(196_608 * 1024), "192M");
    assert_eq!(short_bytes(5 * (1 << 30)), "5.0G");
}
