//! Lifecycle on a real Linux guest (tests/setup/build-guest.sh), through the jobs that `D`,
//! `r`, `R` and `virtsnap shutdown/reboot/resume` run: a graceful shutdown ends by the ACPI
//! power button or by the agent (each proven with the other path disabled in the guest), a
//! reboot really reboots (the guest's boot counter), and suspend to RAM wakes, repeatedly on
//! machine type pc, once on q35, where virtsnap says so.
//! Run: `cargo test --test guest_lifecycle -- --nocapture`.

mod common;

use std::time::{Duration, Instant};

use common::guest::{guest_env, Guest, GuestEnv};
use common::with_job_context;
use serde_json::json;
use virtsnap::libvirt::jobs::lifecycle::LifecycleAction;
use virtsnap::libvirt::jobs::{self, Job};
use virtsnap::libvirt::{guest, inventory};
use virtsnap::model::DomainState;

fn run(env: &GuestEnv, g: &Guest, action: LifecycleAction) -> Result<String, String> {
    let job = Job::Lifecycle {
        domain: g.name().to_string(),
        action,
    };
    with_job_context(env.conn, false, |ctx| jobs::run(ctx, job)).0
}

fn state(g: &Guest) -> DomainState {
    inventory::state_from_virt(&g.dom().info().unwrap().state)
}

/// The guest's ACPI power-button handler and its agent's shutdown command, each announcing
/// itself on the console; `acpi` / `agent` false makes that path do nothing.
fn instrument(g: &Guest, acpi: bool, agent: bool) {
    let handler = if acpi {
        "#!/bin/sh\necho 'virtsnap-test: power button' >/dev/console\nexec /sbin/poweroff\n"
    } else {
        "#!/bin/sh\necho 'virtsnap-test: power button ignored' >/dev/console\n"
    };
    let shutdown = if agent {
        "#!/bin/sh\necho \"virtsnap-test: agent shutdown $*\" >/dev/console\nexec /sbin/poweroff\n"
    } else {
        "#!/bin/sh\necho 'virtsnap-test: agent shutdown ignored' >/dev/console\n"
    };
    for (path, text) in [
        ("/etc/acpi/PWRF/00000080", handler),
        ("/sbin/shutdown", shutdown),
    ] {
        g.write_file(path, text);
        g.sh(&format!("chmod 755 {path}"));
    }
}

fn shutdown_through(env: &GuestEnv, g: &Guest, announced: &str) {
    let t = Instant::now();
    let said = run(env, g, LifecycleAction::Shutdown { timeout_secs: 60 });
    println!(
        "{}: {said:?} in {:.1} s",
        g.name(),
        t.elapsed().as_secs_f64()
    );
    assert_eq!(said, Ok(format!("{} shut down", g.name())));
    assert_eq!(state(g), DomainState::Shutoff);
    // The console ends its lines with CR LF, and may start one after the shell's prompt.
    let console = std::fs::read_to_string(&g.serial_log).unwrap_or_default();
    assert!(
        console.lines().any(|l| l.trim_end().ends_with(announced)),
        "{announced:?} not on the console:\n{}",
        g.console_tail()
    );
}

#[test]
fn graceful_shutdown_ends_by_acpi_and_by_the_agent() {
    let Some(env) = guest_env() else { return };
    let (acpi, agent) = std::thread::scope(|s| {
        let a = s.spawn(|| Guest::boot(env, "shutdown-acpi", |_| {}));
        let b = Guest::boot(env, "shutdown-agent", |_| {});
        (a.join().unwrap(), b)
    });
    instrument(&acpi, true, false);
    instrument(&agent, false, true);
    std::thread::scope(|s| {
        s.spawn(|| shutdown_through(env, &acpi, "virtsnap-test: power button"));
        shutdown_through(
            env,
            &agent,
            "virtsnap-test: agent shutdown -h -P +0 hypervisor initiated shutdown",
        );
    });
}

#[test]
fn reboot_really_reboots() {
    let Some(env) = guest_env() else { return };
    let g = Guest::boot(env, "reboot", |_| {});
    assert_eq!(g.boot_count(), 1);
    let t = Instant::now();
    let said = run(env, &g, LifecycleAction::Reboot);
    assert!(said.is_ok(), "{said:?}");
    // The agent answers until the old boot goes down: wait for the counter, not the agent.
    let mut count = 1;
    while count < 2 && t.elapsed() < Duration::from_secs(90) {
        std::thread::sleep(Duration::from_millis(500));
        if guest::ping(g.dom(), 1).is_ok() {
            count = g
                .try_exec("cat /data/boot-count")
                .ok()
                .and_then(|r| r.stdout.trim().parse().ok())
                .unwrap_or(count);
        }
    }
    println!(
        "{}: {said:?}; boot {count} after {:.1} s",
        g.name(),
        t.elapsed().as_secs_f64()
    );
    assert_eq!(count, 2, "console:\n{}", g.console_tail());
    assert_eq!(state(&g), DomainState::Running);
}

/// The guest suspends itself (`echo mem > /sys/power/state`); true when libvirt reports it
/// suspended to RAM within `limit`.
fn guest_suspends(g: &Guest, limit: Duration) -> bool {
    g.agent(json!({"execute": "guest-exec", "arguments": {
        "path": "/bin/sh", "arg": ["-c", "echo mem > /sys/power/state"]}}));
    let t = Instant::now();
    while t.elapsed() < limit {
        if state(g) == DomainState::Pmsuspended {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

fn wake(env: &GuestEnv, g: &Guest) -> String {
    let said = run(env, g, LifecycleAction::Resume).unwrap_or_else(|e| panic!("{e}"));
    g.wait_agent();
    assert_eq!(state(g), DomainState::Running);
    said
}

#[test]
fn suspend_to_ram_wakes_repeatedly_on_pc_and_once_on_q35() {
    let Some(env) = guest_env() else { return };
    let (pc, q35) = std::thread::scope(|s| {
        let pc = s.spawn(|| Guest::boot(env, "suspend-pc", |vm| vm.machine = Some("pc".into())));
        let q35 = Guest::boot(env, "suspend-q35", |vm| vm.machine = Some("q35".into()));
        (pc.join().unwrap(), q35)
    });
    for round in 1..=3 {
        assert!(
            guest_suspends(&pc, Duration::from_secs(20)),
            "pc round {round}"
        );
        let said = wake(env, &pc);
        println!("pc round {round}: {said}");
        assert_eq!(said, format!("{} woken from its suspend to RAM", pc.name()));
    }
    assert!(guest_suspends(&q35, Duration::from_secs(20)), "q35 first");
    let said = wake(env, &q35);
    println!("q35: {said}");
    assert!(
        said.contains("a further suspend to RAM wakes again at once"),
        "{said}"
    );
    // What virtsnap said holds: the guest goes to sleep and comes straight back.
    assert!(!guest_suspends(&q35, Duration::from_secs(5)), "q35 second");
    assert_eq!(state(&q35), DomainState::Running);
}

/// The KVM probe's criteria (the kernel speaks within 3 s, the agent answers within 10 s) let
/// a guest that boots pass: shown under TCG, which boots it more slowly than a working KVM.
#[test]
fn the_accelerator_probe_passes_a_guest_that_boots() {
    let Some(env) = guest_env() else { return };
    let scratch = common::embed_root().join("disks");
    let took = virtsnap::libvirt::guest_image::probe_boot_under(
        env.conn,
        &env.image,
        &scratch,
        virtsnap::libvirt::guest_image::Accel::Tcg,
    );
    println!("probe boot under TCG: {took:?}");
    assert!(took.is_ok(), "{took:?}");
}
