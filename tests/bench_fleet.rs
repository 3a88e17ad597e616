//! Benchmark (ignored by default; prints figures):
//! `cargo test --release --test bench_fleet -- --ignored --nocapture`
//!
//! Five hosts of 200 domains each (libvirt test-driver node files), each with its own worker
//! as the TUI runs them: the time until every row of every host is filled, against the
//! slowest of the same hosts read alone in the same run (goal: within 1.2x), and the TUI's
//! peak RSS with the five hosts. Each figure is the median of five rounds.

mod testnode;
mod tmux;

use std::sync::Arc;
use std::time::{Duration, Instant};

use virtsnap::app::HostId;
use virtsnap::libvirt::worker::{self, Event, EventSink, WorkerOptions};
use virtsnap::libvirt::ConnectOptions;

const BIN: &str = env!("CARGO_BIN_EXE_virtsnap");
const HOSTS: usize = 5;
const DOMAINS: usize = 200;
const ROUNDS: usize = 5;

fn options(uri: &str) -> WorkerOptions {
    WorkerOptions {
        connect: ConnectOptions {
            uri: Some(uri.into()),
            readonly: true,
        },
        demo: false,
        refresh_every: Duration::from_secs(3600),
    }
}

/// Starts a worker per URI at once, as the TUI does, and returns the time from the start
/// until each host's first refresh is done (every row filled).
fn fill(uris: &[String]) -> Vec<Duration> {
    let (tx, rx) = std::sync::mpsc::channel::<(HostId, Event)>();
    let start = Instant::now();
    let workers: Vec<_> = uris
        .iter()
        .enumerate()
        .map(|(i, uri)| {
            let tx = tx.clone();
            let sink: EventSink = Arc::new(move |e| {
                let _ = tx.send((HostId(i), e));
            });
            worker::spawn_to(options(uri), sink)
        })
        .collect();
    let mut done: Vec<Option<Duration>> = vec![None; uris.len()];
    while done.iter().any(Option::is_none) {
        match rx.recv_timeout(Duration::from_secs(120)) {
            Ok((host, Event::RefreshDone { .. })) => {
                done[host.0].get_or_insert(start.elapsed());
            }
            Ok((_, Event::ConnectFailed(e))) => panic!("{e}"),
            Ok(_) => {}
            Err(e) => panic!("no refresh within 120 s: {e}"),
        }
    }
    worker::stop_all(workers, Duration::from_secs(5));
    done.into_iter().flatten().collect()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1e3)
}

/// The CPU time this process has used so far (user + system), from /proc.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|i| fields.get(*i)?.parse::<u64>().ok())
        .sum();
    Duration::from_millis(ticks * 10)
}

/// The TUI with every host, in tmux: time until every row is filled (the title loses its
/// "reading" count) and its peak RSS (VmHWM).
fn tui(uris: &[String], rows: usize) -> Option<(Duration, f64)> {
    if !tmux::available() {
        return None;
    }
    let state = tempfile::tempdir().ok()?;
    let marker = format!("--refresh 3{}", std::process::id() % 1000);
    let args: Vec<String> = uris.iter().map(|u| format!("-c {u}")).collect();
    let t = tmux::Tmux::start(
        "benchfleet",
        120,
        40,
        &format!(
            "XDG_STATE_HOME={} {BIN} {} {marker}",
            state.path().display(),
            args.join(" ")
        ),
    );
    let title = format!("Domains ({rows})");
    let took = t.wait_for(Duration::from_secs(120), |s| s.contains(&title))?;
    let mib = tmux::peak_rss_mib(BIN, &marker)?;
    t.keys(&["q"]);
    Some((took, mib))
}

#[test]
#[ignore = "benchmark: prints figures"]
fn bench_five_hosts_of_200_domains() {
    let dir = tempfile::tempdir().unwrap();
    let uris: Vec<String> = (0..HOSTS)
        .map(|h| {
            let host_dir = dir.path().join(format!("host{h}"));
            std::fs::create_dir_all(&host_dir).unwrap();
            let mut domains = testnode::many_domains(DOMAINS);
            for d in &mut domains {
                d.name = d.name.replace("vm-", &format!("h{h}-"));
            }
            testnode::write_node(&host_dir, &domains).1
        })
        .collect();
    let _warm = fill(&uris);

    let mut together = Vec::new();
    let mut slowest_alone = Vec::new();
    let mut cpu_together = Vec::new();
    let mut cpu_alone = Vec::new();
    for _ in 0..ROUNDS {
        let before = cpu_time();
        let all = fill(&uris);
        cpu_together.push(cpu_time() - before);
        together.push(all.into_iter().max().unwrap_or_default());
        let before = cpu_time();
        let alone: Vec<Duration> = uris
            .iter()
            .map(|u| fill(std::slice::from_ref(u))[0])
            .collect();
        cpu_alone.push((cpu_time() - before) / HOSTS as u32);
        slowest_alone.push(alone.into_iter().max().unwrap_or_default());
    }
    let (t, s) = (median(together), median(slowest_alone));
    println!(
        "{HOSTS} hosts x {DOMAINS} domains (test driver): every row filled {} | slowest host \
         alone {} | ratio {:.2}x (goal 1.2x) | CPU per round: together {}, one host alone {} \
         | {} cores",
        ms(t),
        ms(s),
        t.as_secs_f64() / s.as_secs_f64(),
        ms(median(cpu_together)),
        ms(median(cpu_alone)),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
    );
    match tui(&uris, HOSTS * DOMAINS) {
        Some((took, rss)) => println!(
            "TUI with {HOSTS} hosts: all {} rows on screen and filled after {} (from start, \
             incl. opening) | peak RSS {rss:.1} MiB",
            HOSTS * DOMAINS,
            ms(took)
        ),
        None => println!("SKIPPED: the TUI figures need tmux"),
    }
}
