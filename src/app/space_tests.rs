//! The list's snapshot space is read lazily: only rows on screen, only on the list screen,
//! once until something changes it, one request per host, never blocking the listing.

use crossterm::event::{KeyCode, KeyEvent};

use super::*;
use crate::libvirt::jobs::JobUpdate;
use crate::model::inventory::DomainInfo;
use crate::model::space::VmSpace;
use crate::model::DomainState;
use crate::ui::tests::{demo_host, row};

/// What `read_vm_space` reports: `days` the oldest snapshot's age, `stale` how many are older
/// than the threshold, `chain` overlays above the base (None: unknown, with `how`).
pub(crate) fn vm_space(
    bytes: Option<u64>,
    known: u64,
    days: Option<i64>,
    stale: usize,
    chain: Option<usize>,
    how: &str,
) -> VmSpace {
    VmSpace {
        snapshot_bytes: bytes,
        snapshot_bytes_known: known,
        snapshot_bytes_how: match bytes {
            Some(_) => "measured".into(),
            None => format!("unknown: {how}"),
        },
        oldest_snapshot: days.map(|_| "nightly-1".into()),
        oldest_age_seconds: days.map(|d| d * 86_400 + 3_600),
        stale_after_days: 3,
        stale_snapshots: (0..stale).map(|i| format!("nightly-{i}")).collect(),
        chain_overlays: chain,
        chain_how: match chain {
            Some(n) => format!("vda: {n} overlays above its base image"),
            None => format!("vda: {how}"),
        },
        deep_chain_after: 5,
        deep_chain: chain.is_some_and(|n| n > 5),
    }
}

fn many(n: usize) -> Vec<DomainInfo> {
    (0..n)
        .map(|i| {
            row(
                &format!("vm-{i:02}"),
                "custom-qemu64",
                DomainState::Running,
                1,
                None,
            )
        })
        .collect()
}

fn connected(rows: Vec<DomainInfo>, height: u16) -> (App, Vec<Command>) {
    let mut app = App::new("qemu:///system".into(), 80, height);
    app.update(Msg::Worker(
        HostId(0),
        Event::Connected(Box::new(demo_host())),
    ));
    let cmds = app.update(Msg::Worker(HostId(0), Event::DomainList(rows)));
    (app, cmds)
}

fn asked(cmds: &[Command]) -> Vec<String> {
    cmds.iter()
        .flat_map(|c| match c {
            Command::LoadSpace {
                domains,
                stale_after_days,
                ..
            } => {
                assert_eq!(*stale_after_days, 3);
                domains.clone()
            }
            _ => Vec::new(),
        })
        .collect()
}

fn answer(app: &mut App, names: &[String]) -> Vec<Command> {
    let mut out = Vec::new();
    for n in names {
        out.extend(app.update(Msg::Worker(
            HostId(0),
            Event::Space {
                domain: n.clone(),
                result: Ok(Box::new(vm_space(
                    Some(1 << 20),
                    1 << 20,
                    Some(1),
                    0,
                    Some(1),
                    "",
                ))),
            },
        )));
    }
    out
}

#[test]
fn only_the_rows_on_screen_are_read_and_each_once() {
    // 24 lines show 15 rows: of 40 domains, the first 15 are asked for, in one request.
    let (mut app, cmds) = connected(many(40), 24);
    let first = asked(&cmds);
    assert_eq!(first.len(), app.page_rows());
    assert_eq!(first[0], "vm-00");
    assert_eq!(
        cmds.iter()
            .filter(|c| matches!(c, Command::LoadSpace { .. }))
            .count(),
        1,
        "one request per host"
    );
    // Nothing is asked twice while the answers are out, nor once they are in.
    assert!(asked(&app.update(Msg::Tick { now: 5 })).is_empty());
    assert!(asked(&answer(&mut app, &first)).is_empty());
    // Scrolling shows new rows: only those are asked for.
    let cmds = app.update(Msg::Key(KeyEvent::from(KeyCode::PageDown)));
    let next = asked(&cmds);
    assert!(!next.is_empty());
    assert!(next.iter().all(|n| !first.contains(n)), "{next:?}");
}

#[test]
fn a_finished_job_or_a_changed_snapshot_count_reads_the_domain_again() {
    let (mut app, cmds) = connected(many(3), 24);
    let names = asked(&cmds);
    answer(&mut app, &names);
    let job = Job::Probe { seconds: 1 };
    let id = app.jobs.start(HostId(0), &job, 0);
    if let Some(j) = app.jobs.running.iter_mut().find(|j| j.id == id) {
        j.domain = Some("vm-01".into());
    }
    let cmds = app.update(Msg::Worker(
        HostId(0),
        Event::Job {
            id,
            update: JobUpdate::Finished(Ok("done".into())),
        },
    ));
    assert_eq!(asked(&cmds), ["vm-01"]);
    answer(&mut app, &["vm-01".to_string()]);
    // Another client made a snapshot: the count in the re-read row differs.
    let mut changed = app.list.row(HostId(0), "vm-02").unwrap().clone();
    changed.snapshots = Some(2);
    let cmds = app.update(Msg::Worker(HostId(0), Event::DomainDetails(vec![changed])));
    assert_eq!(asked(&cmds), ["vm-02"]);
}

#[test]
fn nothing_is_read_off_the_list_screen_or_from_a_disconnected_host() {
    let (mut app, cmds) = connected(many(3), 24);
    let names = asked(&cmds);
    answer(&mut app, &names);
    app.update(Msg::Worker(
        HostId(0),
        Event::RefreshDone {
            names_after: Default::default(),
            filled_after: Default::default(),
        },
    ));
    // A refresh outdates the figures; in the snapshot view they wait.
    app.screen = Screen::Snapshots(Box::new(snapshot_view::SnapshotView::new(
        HostId(0),
        "vm-00".into(),
    )));
    assert!(asked(&app.update(Msg::Tick { now: 1 })).is_empty());
    app.screen = Screen::Domains;
    app.update(Msg::Worker(
        HostId(0),
        Event::Disconnected {
            reason: "gone".into(),
            retry_in: 3,
        },
    ));
    assert!(asked(&app.update(Msg::Tick { now: 2 })).is_empty());
    // Back on the list and connected: the outdated ones are read again.
    let cmds = app.update(Msg::Worker(
        HostId(0),
        Event::Connected(Box::new(demo_host())),
    ));
    assert_eq!(asked(&cmds).len(), 3);
}
