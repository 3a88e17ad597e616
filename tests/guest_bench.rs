//! Benchmark, not a timed test: how long a guest that keeps dirtying its memory is paused
//! during a memory snapshot, internal versus external with LIVE, same guest, same run.
//! The guest (1 GiB) holds ~600 MB of data in a tmpfs and rewrites 100 MB of it in a loop;
//! the paused time is measured by polling the domain state every 2 ms while libvirt works.
//! Run: `cargo test --test guest_bench -- --ignored --nocapture`.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::guest::{guest_env, Guest};
use virt::domain::Domain;
use virtsnap::libvirt::inventory;
use virtsnap::libvirt::snapshots;
use virtsnap::libvirt::storage;
use virtsnap::model::snapshot::{SnapshotLocation, SnapshotPlan};
use virtsnap::model::storage::{plan_create, CreateAbility, CreateIntent};
use virtsnap::model::DomainState;

/// One snapshot's timing.
struct Pause {
    call: Duration,
    paused: Duration,
    pauses: usize,
}

/// Runs `create` while a second thread samples the domain's state; returns how long the call
/// took and how long the guest was seen paused.
fn measure(dom: &Domain, create: impl FnOnce()) -> Pause {
    let stop = AtomicBool::new(false);
    let started = Instant::now();
    let (paused, pauses) = std::thread::scope(|s| {
        let sampler = s.spawn(|| {
            let (mut paused, mut pauses) = (Duration::ZERO, 0);
            let mut since: Option<Instant> = None;
            while !stop.load(Ordering::Relaxed) {
                let now = Instant::now();
                let state = dom
                    .info()
                    .map(|i| inventory::state_from_virt(&i.state))
                    .unwrap_or(DomainState::Running);
                match (state == DomainState::Paused, since) {
                    (true, None) => {
                        since = Some(now);
                        pauses += 1;
                    }
                    (false, Some(t)) => {
                        paused += now - t;
                        since = None;
                    }
                    _ => {}
                }
                std::thread::sleep(Duration::from_millis(2));
            }
            if let Some(t) = since {
                paused += t.elapsed();
            }
            (paused, pauses)
        });
        create();
        // The resume is the call's last step; give the sampler one more look.
        std::thread::sleep(Duration::from_millis(20));
        stop.store(true, Ordering::Relaxed);
        sampler.join().unwrap()
    });
    Pause {
        call: started.elapsed(),
        paused,
        pauses,
    }
}

fn plan(conn: &virt::connect::Connect, g: &Guest, name: &str, internal: bool) -> SnapshotPlan {
    // The storage planner, told the kind to take (both pass the memory rule here).
    let layout = storage::read_layout(conn, g.name()).unwrap();
    let location = if internal {
        SnapshotLocation::Internal
    } else {
        SnapshotLocation::External
    };
    plan_create(
        &layout,
        &CreateIntent {
            name: name.into(),
            memory: true,
            quiesce: false,
            location: Some(location),
        },
        &CreateAbility {
            memory_internal: true,
            memory_external: true,
        },
    )
    .unwrap()
}

#[test]
#[ignore = "benchmark: run with --ignored"]
fn paused_time_during_memory_snapshots_internal_vs_external_live() {
    let Some(env) = guest_env() else { return };
    let mut g = Guest::boot(env, "bench", |vm| vm.memory_mib = 1024);
    let t = Instant::now();
    // Random data (QEMU sends zero pages almost for free), 600 MB kept and 100 MB rewritten.
    g.sh(
        "mount -o remount,size=900m /tmp && head -c 1048576 /dev/urandom > /tmp/chunk && \
         for i in $(seq 100); do cat /tmp/chunk; done > /tmp/src && \
         for i in 1 2 3 4 5 6; do cp /tmp/src /tmp/fill$i; done && cp /tmp/src /tmp/dirty",
    );
    g.sh(
        "setsid sh -c 'while :; do dd if=/tmp/src of=/tmp/dirty bs=1M conv=notrunc \
         2>/dev/null; echo x >> /tmp/rounds; done' >/dev/null 2>&1 &",
    );
    std::thread::sleep(Duration::from_secs(3));
    let rate = g
        .sh("wc -l < /tmp/rounds")
        .trim()
        .parse::<f64>()
        .unwrap_or(0.0)
        * 100.0
        / (3.0 + 0.5);
    println!(
        "{}: filled in {:.1} s; {}; the loop rewrites about {rate:.0} MB/s",
        g.name(),
        t.elapsed().as_secs_f64(),
        g.sh("free -m | sed -n 2p").trim()
    );
    let mut results = Vec::new();
    for (round, internal) in [(1, true), (1, false), (2, true), (2, false)] {
        let name = format!("bench-{}-{round}", if internal { "int" } else { "ext" });
        let plan = plan(env.conn, &g, &name, internal);
        for f in plan.overlay_files.iter().chain(&plan.memory_file) {
            g.vm.track(f.clone());
        }
        let p = measure(g.dom(), || {
            snapshots::create_from_plan(g.dom(), &plan).unwrap_or_else(|e| panic!("{e}"));
        });
        let size = plan
            .memory_file
            .as_ref()
            .and_then(|f| std::fs::metadata(f).ok())
            .map_or(String::new(), |m| {
                format!(", memory file {} MB", m.len() / 1_000_000)
            });
        println!(
            "{name}: {} paused {:.2} s of {:.2} s ({} pause(s){size})",
            plan.summary,
            p.paused.as_secs_f64(),
            p.call.as_secs_f64(),
            p.pauses
        );
        results.push((internal, p));
    }
    let mean = |internal: bool| {
        let v: Vec<f64> = results
            .iter()
            .filter(|(i, _)| *i == internal)
            .map(|(_, p)| p.paused.as_secs_f64())
            .collect();
        v.iter().sum::<f64>() / v.len() as f64
    };
    let (int, ext) = (mean(true), mean(false));
    println!(
        "RESULT ({}): guest paused, mean of 2: internal {int:.2} s, external with LIVE {ext:.2} s, ratio internal/external {:.1}",
        env.accel.accel.label(),
        int / ext.max(0.001)
    );
    assert!(
        ext > 0.0,
        "an external snapshot pauses the guest at its end"
    );
}
