//! Prune on real QEMU (embedded driver), proven by bytes: a dated series of scheduled
//! snapshots with a hand-made one among them, a marker written with qemu-io into the stopped
//! VM's top image before each; libvirt's `creationTime` is set by redefining each snapshot's
//! metadata (a create cannot choose it); then `libvirt::jobs::prune::run` (what `snapshot
//! prune` calls) removes what retention does not keep, and every kept snapshot, and the
//! hand-made one, is reverted to and must show exactly the markers written before it.
//! Run: `cargo test --test prune_kvm -- --nocapture`.

mod common;

use std::path::Path;

use common::snap::{self, qemu_io, track_layout as track_all, vda_top as top};
use common::{embed_conn, make_disk, with_job_context, TestVm};
use jiff::tz::TimeZone;
use virt::connect::Connect;
use virt::domain::Domain;
use virtsnap::libvirt::jobs::prune::{self, PruneAction, PruneJob};
use virtsnap::libvirt::jobs::revert::{self, RevertJob};
use virtsnap::libvirt::vmdef::{DiskFormat, TinyCpu, TinyVm};
use virtsnap::libvirt::{snapshots, storage};
use virtsnap::model::retention::{candidates, decide, scheduled_name, KeepRules};
use virtsnap::model::storage::AfterRevert;

const PREFIX: &str = "nightly-";
const DAY: i64 = 86_400;

/// Marker `i`: 4 KiB of `0x10 + i` at `64 * i` KiB.
fn write_marker(file: &str, i: u32) {
    let cmd = format!("write -P {:#04x} {}k 4k", 0x10 + i, 64 * i);
    let text = qemu_io(file, &["-c", &cmd]);
    assert!(text.contains("wrote 4096/4096"), "{file}: {text}");
}

fn byte_at(file: &str, offset_k: u32) -> u8 {
    let text = qemu_io(file, &["-r", "-U", "-c", &format!("read -v {offset_k}k 1")]);
    let hex = text
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or_else(|| panic!("{file}: {text}"));
    u8::from_str_radix(hex, 16).unwrap_or_else(|_| panic!("{file}: {text}"))
}

/// The markers present in the disk as seen through `file`.
fn markers(file: &str, upto: u32) -> Vec<u32> {
    (0..upto)
        .filter(|&i| match byte_at(file, 64 * i) {
            0 => false,
            b if u32::from(b) == 0x10 + i => true,
            b => panic!("marker {i} reads {b:#04x}"),
        })
        .collect()
}

fn create(conn: &Connect, vm: &mut TestVm, name: &str) {
    snap::create(conn, vm, name, None, false).unwrap_or_else(|e| panic!("{name}: {e:?}"));
}

/// Redefines `name`'s metadata with `creationTime` = `when`: what libvirt stores, as if the
/// snapshot had been taken then. The XML is libvirt's own; only the number changes.
fn set_creation_time(dom: &Domain, name: &str, when: i64, current: bool) {
    let snap = Domain::lookup_snapshot_by_name(dom, name, 0).unwrap();
    let xml = snap
        .xml_desc(virt::sys::VIR_DOMAIN_SNAPSHOT_XML_SECURE)
        .unwrap();
    let start = xml.find("<creationTime>").unwrap() + "<creationTime>".len();
    let end = xml.find("</creationTime>").unwrap();
    let xml = format!("{}{when}{}", &xml[..start], &xml[end..]);
    let mut flags = virt::sys::VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE;
    if current {
        flags |= virt::sys::VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT;
    }
    dom.create_snapshot_xml(&xml, flags)
        .unwrap_or_else(|e| panic!("redefine {name}: {}", e.message()));
}

#[test]
fn prune_keeps_what_the_rules_keep_and_every_kept_snapshot_still_restores_its_data() {
    let Some(conn) = embed_conn() else { return };
    let disk = make_disk("prune", DiskFormat::Qcow2).unwrap();
    let tiny = TinyVm::new("prune", TinyCpu::Default)
        .with_nested_host_workarounds()
        .disk(&disk, DiskFormat::Qcow2);
    let mut vm = TestVm::define(conn, tiny).unwrap();
    // Days before "now" (at 03:00 and, on day 1, also 15:00): two weeks back, gaps, two on
    // one day. Marker i is written before snapshot i; the hand-made one comes after #2.
    let now = storage::unix_now();
    let today = now - now.rem_euclid(DAY);
    let ages: [(i64, i64); 8] = [
        (20, 3),
        (15, 3),
        (9, 3),
        (8, 3),
        (2, 3),
        (1, 3),
        (1, 15),
        (0, 0),
    ];
    let mut series: Vec<(String, i64, u32)> = Vec::new();
    let mut marker = 0u32;
    for (k, (days, hour)) in ages.iter().enumerate() {
        let when = today - days * DAY + hour * 3600;
        let when = when.min(now);
        let name = scheduled_name(PREFIX, when);
        write_marker(&top(&vm.dom), marker);
        create(conn, &mut vm, &name);
        series.push((name, when, marker));
        marker += 1;
        if k == 2 {
            write_marker(&top(&vm.dom), marker);
            create(conn, &mut vm, "manual-check");
            series.push(("manual-check".into(), today - 9 * DAY + 4 * 3600, marker));
            marker += 1;
        }
    }
    let current = snapshots::current_name(&vm.dom).unwrap();
    for (name, when, _) in &series {
        set_creation_time(&vm.dom, name, *when, *name == current);
    }
    track_all(conn, &mut vm);

    let rules = KeepRules {
        daily: 3,
        weekly: 2,
        ..Default::default()
    };
    let zone = TimeZone::system();
    let named: Vec<(&str, i64)> = series.iter().map(|(n, t, _)| (n.as_str(), *t)).collect();
    let expected = decide(&candidates(named.iter().copied(), PREFIX), &rules, &zone);
    let expect_kept: Vec<&str> = expected
        .iter()
        .filter(|d| d.keep)
        .map(|d| d.name.as_str())
        .collect();
    let expect_removed: Vec<&str> = expected
        .iter()
        .filter(|d| !d.keep)
        .map(|d| d.name.as_str())
        .collect();
    assert!(
        expect_kept.len() >= 3 && expect_removed.len() >= 3,
        "{expected:?}"
    );

    let job = PruneJob {
        domain: vm.name.clone(),
        prefix: PREFIX.into(),
        rules,
        dry_run: true,
    };
    let (dry, _) = with_job_context(conn, false, |ctx| prune::run(ctx, &job, &zone));
    let dry = dry.unwrap();
    assert_eq!(dry.count(PruneAction::WouldRemove), expect_removed.len());
    assert_eq!(
        snapshots::load(conn, &vm.name).unwrap().snapshots.len(),
        series.len(),
        "a dry run changes nothing"
    );

    let started = std::time::Instant::now();
    let job = PruneJob {
        dry_run: false,
        ..job
    };
    let (report, updates) = with_job_context(conn, false, |ctx| prune::run(ctx, &job, &zone));
    let report = report.unwrap();
    for e in &report.entries {
        println!(
            "{:?} {} {}",
            e.action,
            e.decision.name,
            e.detail.clone().unwrap_or_default()
        );
    }
    println!(
        "prune of {} deletes took {:.1} s",
        expect_removed.len(),
        started.elapsed().as_secs_f64()
    );
    let removed: Vec<&str> = report
        .entries
        .iter()
        .filter(|e| e.action == PruneAction::Removed)
        .map(|e| e.decision.name.as_str())
        .collect();
    assert_eq!(removed, expect_removed, "every one removed, none skipped");
    // Oldest first: the steps name them in creation order.
    let steps: Vec<String> = updates
        .iter()
        .filter_map(|u| match u {
            virtsnap::libvirt::jobs::JobUpdate::Step(s) if s.starts_with("deleting ") => {
                Some(s.clone())
            }
            _ => None,
        })
        .collect();
    let mut oldest_first: Vec<&str> = expect_removed.clone();
    oldest_first.reverse();
    for (step, name) in steps.iter().zip(&oldest_first) {
        assert!(step.starts_with(&format!("deleting {name}")), "{step}");
    }
    track_all(conn, &mut vm);
    let left: Vec<String> = {
        let mut l: Vec<String> = snapshots::load(conn, &vm.name)
            .unwrap()
            .snapshots
            .into_iter()
            .map(|s| s.name)
            .collect();
        l.sort();
        l
    };
    let mut want: Vec<String> = expect_kept.iter().map(|s| s.to_string()).collect();
    want.push("manual-check".into());
    want.sort();
    assert_eq!(left, want);

    // Every snapshot left restores exactly the markers written before it, newest first.
    let mut kept: Vec<&(String, i64, u32)> =
        series.iter().filter(|(n, _, _)| left.contains(n)).collect();
    kept.sort_by_key(|(_, t, m)| (std::cmp::Reverse(*t), std::cmp::Reverse(*m)));
    for (name, _, m) in kept {
        let job = RevertJob {
            domain: vm.name.clone(),
            snapshot: name.clone(),
            after: AfterRevert::Saved,
            safety: None,
            stop_first: false,
            stop_timeout_secs: 120,
        };
        let (r, _) = with_job_context(conn, true, |ctx| revert::run_planned(ctx, &job));
        r.unwrap_or_else(|e| panic!("revert to {name}: {e:?}"));
        track_all(conn, &mut vm);
        let t = top(&vm.dom);
        let seen = markers(&t, marker);
        let want: Vec<u32> = (0..=*m).collect();
        assert_eq!(seen, want, "{name} restores its markers");
        println!("{name}: markers {seen:?} read back through {}", short(&t));
    }
}

fn short(p: &str) -> &str {
    Path::new(p)
        .file_name()
        .and_then(|f| f.to_str())
        .unwrap_or(p)
}
