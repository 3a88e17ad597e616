//! Domain events on libvirt's in-process test driver: a change made through another
//! connection reaches the worker as an event and re-reads only that row (no full refresh).

use std::time::{Duration, Instant};

use virt::connect::Connect;
use virtsnap::libvirt::worker::{self, Event, WorkerOptions};
use virtsnap::libvirt::ConnectOptions;
use virtsnap::model::DomainState;

/// Waits for an event matching `pred`, up to `timeout`.
fn wait_for(
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<Event>,
    timeout: Duration,
    mut pred: impl FnMut(&Event) -> bool,
) -> Option<(Event, Duration)> {
    let start = Instant::now();
    while start.elapsed() < timeout {
        match rx.try_recv() {
            Ok(e) if pred(&e) => return Some((e, start.elapsed())),
            Ok(_) => {}
            Err(_) => std::thread::sleep(Duration::from_millis(5)),
        }
    }
    None
}

#[test]
fn a_change_elsewhere_arrives_as_a_single_row() {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    // The safety-net refresh is an hour away: anything seen below came from an event.
    let handle = worker::spawn(
        WorkerOptions {
            connect: ConnectOptions {
                uri: Some("test:///default".into()),
                readonly: false,
            },
            demo: false,
            refresh_every: Duration::from_secs(3600),
        },
        tx,
    );
    wait_for(&mut rx, Duration::from_secs(10), |e| {
        matches!(e, Event::RefreshDone { .. })
    })
    .expect("first refresh");

    // test:///default is one shared host per process: a second connection sees the same VM.
    let other = Connect::open(Some("test:///default")).expect("second connection");
    let dom = other
        .lookup_domain_by_name("test")
        .expect("the test driver's VM");
    dom.suspend().expect("suspend");
    let (event, took) = wait_for(&mut rx, Duration::from_secs(2), |e| {
        matches!(e, Event::DomainDetails(rows) if rows.iter().any(|r| r.name == "test" && r.state == Some(DomainState::Paused)))
    })
    .expect("the paused state arrives as an event");
    let Event::DomainDetails(rows) = event else {
        unreachable!()
    };
    assert_eq!(rows.len(), 1, "only the changed row is re-read");
    eprintln!("suspend elsewhere -> row update in {took:?}");

    dom.resume().expect("resume");
    wait_for(&mut rx, Duration::from_secs(2), |e| {
        matches!(e, Event::DomainDetails(rows) if rows.iter().any(|r| r.name == "test" && r.state == Some(DomainState::Running)))
    })
    .expect("the resumed state arrives as an event");
    handle.stop(Duration::from_secs(5));
}
