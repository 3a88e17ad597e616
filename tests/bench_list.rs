//! Benchmarks for the domain list (ignored: they print figures, they assert nothing about
//! speed). Run: `cargo test --release --test bench_list -- --ignored --nocapture --test-threads 1`
//!
//! For test-driver hosts of 1,000 and 10,000 domains and a libvirtd host with 1,000 defined
//! domains: time until names are known, time until every badge is filled (the worker's own
//! refresh, as the TUI runs it), `list --json` wall time, the TUI's peak RSS, and the floor:
//! the same libvirt calls made one after another by a minimal loop.

mod testnode;
mod tmux;

use std::process::Command;
use std::time::{Duration, Instant};

use virt::connect::Connect;
use virtsnap::libvirt::worker::{self, Event, WorkerOptions};
use virtsnap::libvirt::ConnectOptions;

const BIN: &str = env!("CARGO_BIN_EXE_virtsnap");

/// list, live and persistent XML, state, snapshot count per domain, one call after another.
fn floor(uri: &str) -> Duration {
    let conn = Connect::open(Some(uri)).expect("open");
    let start = Instant::now();
    for d in conn.list_all_domains(0).expect("list") {
        let _ = d.info();
        let _ = d.xml_desc(0);
        let _ = d.xml_desc(virt::sys::VIR_DOMAIN_XML_INACTIVE);
        let _ = d.num_snapshots(0);
    }
    start.elapsed()
}

/// The worker's first refresh: (connection open, names known, all rows filled), the last two
/// counted from the moment the connection was open (the floor does not open either).
fn worker_refresh(uri: &str) -> (Duration, Duration, Duration) {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let start = Instant::now();
    let handle = worker::spawn(
        WorkerOptions {
            connect: ConnectOptions {
                uri: Some(uri.into()),
                readonly: true,
            },
            demo: false,
            refresh_every: Duration::from_secs(3600),
        },
        tx,
    );
    let mut names = None;
    let mut opened = None;
    let filled = loop {
        match rx.blocking_recv() {
            Some(Event::Connected(_)) => opened = Some(start.elapsed()),
            Some(Event::DomainList(_)) if names.is_none() => names = Some(start.elapsed()),
            Some(Event::RefreshDone { .. }) => break start.elapsed(),
            Some(Event::ConnectFailed(e)) => panic!("{e}"),
            Some(_) => {}
            None => panic!("worker ended"),
        }
    };
    handle.stop(Duration::from_secs(5));
    let opened = opened.unwrap_or_default();
    (opened, names.unwrap_or(filled) - opened, filled - opened)
}

fn list_json(uri: &str) -> Duration {
    let start = Instant::now();
    let out = Command::new(BIN)
        .args(["-c", uri, "list", "--json"])
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    start.elapsed()
}

/// Runs the TUI in tmux until every row is read, then reads its peak RSS (VmHWM).
fn tui_peak_rss_mib(uri: &str, expect_rows: usize) -> Option<f64> {
    if !tmux::available() {
        return None;
    }
    let marker = format!("--refresh 3{}", std::process::id() % 1000);
    let t = tmux::Tmux::start("bench", 120, 40, &format!("{BIN} -c {uri} {marker}"));
    let title = format!("Domains ({expect_rows})");
    t.wait_for(Duration::from_secs(120), |s| s.contains(&title))?;
    let mib = tmux::peak_rss_mib(BIN, &marker)?;
    t.keys(&["q"]);
    Some(mib)
}

fn report(label: &str, uri: &str, rows: usize) {
    let floor_t = floor(uri);
    let (opened, names, filled) = worker_refresh(uri);
    let json = list_json(uri);
    let rss = tui_peak_rss_mib(uri, rows);
    println!(
        "{label}: open {:.0} ms, then names {:.0} ms | badges filled {:.0} ms | floor {:.0} ms ({:.2}x) | list --json {:.0} ms (incl. open) | TUI peak RSS {}",
        opened.as_secs_f64() * 1e3,
        names.as_secs_f64() * 1e3,
        filled.as_secs_f64() * 1e3,
        floor_t.as_secs_f64() * 1e3,
        filled.as_secs_f64() / floor_t.as_secs_f64(),
        json.as_secs_f64() * 1e3,
        rss.map_or("n/a".into(), |m| format!("{m:.1} MiB")),
    );
}

#[test]
#[ignore = "benchmark: prints figures"]
fn bench_test_driver_hosts() {
    for n in [1_000, 10_000] {
        let dir = tempfile::tempdir().unwrap();
        let (_, uri) = testnode::write_node(dir.path(), &testnode::many_domains(n));
        report(&format!("test driver, {n} domains"), &uri, n);
    }
}

#[test]
#[ignore = "benchmark: prints figures; needs root to start libvirtd"]
fn bench_libvirtd_1000_domains() {
    if !ensure_libvirtd() {
        println!("SKIPPED: libvirtd could not be started");
        return;
    }
    let uri = "qemu:///system";
    let conn = Connect::open(Some(uri)).expect("open qemu:///system");
    let prefix = format!("vsbench{}-", std::process::id());
    let count: usize = std::env::var("VIRTSNAP_BENCH_DOMAINS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let mut defined = Vec::new();
    for i in 0..count {
        let vm = virtsnap::libvirt::vmdef::TinyVm::new(
            format!("{prefix}{i:04}"),
            virtsnap::libvirt::vmdef::TinyCpu::HostModel,
        );
        match conn.define_domain_xml(&vm.to_xml()) {
            Ok(d) => defined.push(d),
            Err(e) => panic!("define: {}", e.message()),
        }
    }
    let before = conn.list_all_domains(0).map(|v| v.len()).unwrap_or(0);
    report(&format!("libvirtd, {before} defined domains"), uri, before);
    for d in defined {
        let _ = d.undefine();
    }
}

fn ensure_libvirtd() -> bool {
    if Connect::open(Some("qemu:///system")).is_ok() {
        return true;
    }
    let _ = Command::new("virtlogd").arg("-d").status();
    let _ = Command::new("libvirtd").arg("-d").status();
    for _ in 0..50 {
        if Connect::open(Some("qemu:///system")).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}
