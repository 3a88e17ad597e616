//! Ground truth for the memory-snapshot rule: each CPU configuration runs as a tiny KVM VM in the
//! embedded QEMU driver; the rule's prediction (from the persistent and live XML, capabilities,
//! state) is compared with what libvirt does when asked for an internal memory snapshot and an
//! external disk-only one. Prints the matrix; agreement must be 100%.
//! Run: `cargo test --test memory_rule_kvm -- --nocapture`.

mod common;

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::{embed_conn, embed_root, make_disk, snapshot_xml, TestVm};
use virt::connect::Connect;
use virtsnap::libvirt::vmdef::{DiskFormat, TinyCpu, TinyVm};
use virtsnap::model::domain::{DomainConfig, DomainState, FeaturePolicy};
use virtsnap::model::eligibility::{evaluate, RuleInput};
use virtsnap::model::host::HostCapabilities;

/// VMs run at once. A case takes ~3-4 s, mostly waiting (start ~1 s, destroy 1.2-2 s here);
/// measured on 2 cores for 19 cases: 2 at a time 36 s, 3 30 s, 4 25 s.
const PARALLEL: usize = 4;

struct Case {
    label: &'static str,
    vm: TinyVm,
    paused: bool,
}

struct Outcome {
    label: &'static str,
    predicted_memory: bool,
    memory: Result<(), String>,
    predicted_disk_only: bool,
    disk_only: Result<(), String>,
    blockers: Vec<String>,
    elapsed: Duration,
}

impl Outcome {
    fn agrees(&self) -> bool {
        self.predicted_memory == self.memory.is_ok()
            && self.predicted_disk_only == self.disk_only.is_ok()
    }
}

fn cases(host_tsc_hz: u64) -> Vec<Case> {
    use FeaturePolicy::{Disable, Forbid, Force, Optional, Require};
    let pt = |m: Option<bool>| TinyCpu::HostPassthrough { migratable: m };
    let max = |m: Option<bool>| TinyCpu::Maximum { migratable: m };
    let qemu64 = || TinyCpu::Custom {
        model: "qemu64".into(),
    };
    let case = |label, vm: TinyVm, paused| Case {
        label,
        vm: vm.with_nested_host_workarounds(),
        paused,
    };
    let vm = |cpu| TinyVm::new("rule", cpu);
    vec![
        case("passthrough migratable=off", vm(pt(Some(false))), false),
        case("passthrough migratable=on", vm(pt(Some(true))), false),
        case("passthrough (no migratable)", vm(pt(None)), false),
        case(
            "passthrough off + tsc freq",
            vm(pt(Some(false))).tsc_frequency(host_tsc_hz),
            false,
        ),
        case(
            "passthrough off + disable invtsc",
            vm(pt(Some(false))).feature(Disable, "invtsc"),
            false,
        ),
        case(
            "passthrough off + forbid invtsc",
            vm(pt(Some(false))).feature(Forbid, "invtsc"),
            false,
        ),
        case("maximum migratable=off", vm(max(Some(false))), false),
        case("maximum migratable=on", vm(max(Some(true))), false),
        case("host-model", vm(TinyCpu::HostModel), false),
        case(
            "host-model + require invtsc",
            vm(TinyCpu::HostModel).feature(Require, "invtsc"),
            false,
        ),
        case(
            "host-model + disable invtsc",
            vm(TinyCpu::HostModel).feature(Disable, "invtsc"),
            false,
        ),
        case("qemu64", vm(qemu64()), false),
        case(
            "qemu64 + require invtsc",
            vm(qemu64()).feature(Require, "invtsc"),
            false,
        ),
        case(
            "qemu64 + force invtsc",
            vm(qemu64()).feature(Force, "invtsc"),
            false,
        ),
        case(
            "qemu64 + require invtsc + freq",
            vm(qemu64())
                .feature(Require, "invtsc")
                .tsc_frequency(host_tsc_hz),
            false,
        ),
        case(
            "qemu64 + optional invtsc",
            vm(qemu64()).feature(Optional, "invtsc"),
            false,
        ),
        case("no <cpu> element", vm(TinyCpu::Default), false),
        case("paused passthrough off", vm(pt(Some(false))), true),
        case("paused host-model", vm(TinyCpu::HostModel), true),
    ]
}

#[test]
fn rule_agrees_with_libvirt_on_real_kvm_vms() {
    let Some(conn) = embed_conn() else { return };
    let started = Instant::now();
    let caps_xml = conn.capabilities().expect("capabilities");
    let host = HostCapabilities::from_xml(&caps_xml).expect("parse capabilities");
    let version = u64::from(conn.lib_version().expect("libvirt version"));
    println!(
        "host: cpu {:?}, invtsc {}, tsc {:?} Hz, libvirt {version}",
        host.cpu_model,
        host.has_invtsc(),
        host.tsc_frequency_hz
    );
    // Pinning needs the host's frequency (no TSC scaling on this kind of host).
    let tsc_hz = host.tsc_frequency_hz.unwrap_or(2_500_000_000);

    let queue = Mutex::new(cases(tsc_hz).into_iter().enumerate().collect::<Vec<_>>());
    let results = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..PARALLEL {
            s.spawn(|| loop {
                let next = queue.lock().expect("queue").pop();
                let Some((index, case)) = next else { break };
                let outcome = run_case(conn, &host, version, case);
                results.lock().expect("results").push((index, outcome));
            });
        }
    });
    let mut results = results.into_inner().expect("results");
    results.sort_by_key(|(i, _)| *i);
    let outcomes: Vec<Outcome> = results.into_iter().map(|(_, o)| o).collect();

    print_matrix(&outcomes);
    let agree = outcomes.iter().filter(|o| o.agrees()).count();
    println!(
        "agreement: {agree}/{} configurations; {PARALLEL} VMs at a time; total {:.1} s",
        outcomes.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(outcomes.len() >= 12, "at least 12 configurations");
    let wrong: Vec<&str> = outcomes
        .iter()
        .filter(|o| !o.agrees())
        .map(|o| o.label)
        .collect();
    assert!(
        wrong.is_empty(),
        "the rule disagrees with libvirt on: {wrong:?}"
    );
}

fn run_case(conn: &Connect, host: &HostCapabilities, version: u64, case: Case) -> Outcome {
    let t0 = Instant::now();
    let label = case.label;
    let failed = |why: String| -> Outcome {
        panic!("{label}: could not set up the VM: {why}");
    };
    let disk = match make_disk("rule", DiskFormat::Qcow2) {
        Ok(d) => d,
        Err(e) => return failed(e.to_string()),
    };
    let mut vm = match TestVm::start(conn, case.vm.disk(disk, DiskFormat::Qcow2)) {
        Ok(vm) => vm,
        Err(e) => return failed(e),
    };
    if case.paused {
        if let Err(e) = vm.dom.suspend() {
            return failed(e.message().to_string());
        }
    }

    let inactive = vm
        .dom
        .xml_desc(virt::sys::VIR_DOMAIN_XML_INACTIVE)
        .expect("inactive XML");
    let live = vm.dom.xml_desc(0).expect("live XML");
    let persistent = DomainConfig::from_xml(&inactive).expect("parse inactive XML");
    let live = DomainConfig::from_xml(&live).expect("parse live XML");
    let (raw_state, _) = vm.dom.state().expect("state");
    let state = DomainState::from_raw(raw_state.to_raw());
    assert_eq!(
        state,
        if case.paused {
            DomainState::Paused
        } else {
            DomainState::Running
        }
    );
    let verdict = evaluate(&RuleInput {
        persistent: &persistent,
        live: Some(&live),
        host: Some(host),
        state,
        libvirt_version: version,
    });

    assert!(
        verdict.memory.applicable,
        "{label}: a running or paused VM has memory state"
    );
    let memory = vm
        .dom
        .create_snapshot_xml(&snapshot_xml("memory", &[]), 0)
        .map_err(|e| e.message().to_string())
        .and_then(|snap| {
            snap.delete(0)
                .map_err(|e| format!("delete: {}", e.message()))
        });

    let overlay: PathBuf = embed_root()
        .join("disks")
        .join(format!("{}.disk-only", vm.name));
    vm.track(overlay.clone());
    let flags = virt::sys::VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY
        | virt::sys::VIR_DOMAIN_SNAPSHOT_CREATE_ATOMIC;
    let disk_only = vm
        .dom
        .create_snapshot_xml(&snapshot_xml("disk-only", &[("vda", &overlay)]), flags)
        .map(|_| ())
        .map_err(|e| e.message().to_string());
    // The external snapshot's metadata goes with the undefine in TestVm's drop, its overlay with
    // the tracked files: deleting it live would only add a block commit to the runtime.
    drop(vm);

    Outcome {
        label,
        predicted_memory: verdict.memory.allowed,
        memory,
        predicted_disk_only: verdict.disk_only.allowed,
        disk_only,
        blockers: verdict
            .memory
            .blockers
            .iter()
            .map(|b| b.kind.clone())
            .collect(),
        elapsed: t0.elapsed(),
    }
}

fn word(ok: bool) -> &'static str {
    if ok {
        "works"
    } else {
        "refused"
    }
}

fn print_matrix(outcomes: &[Outcome]) {
    println!(
        "\n{:<34} | {:<9} | {:<9} | {:<9} | {:<9} | {:<5} | {:>5} | libvirt said / rule's blockers",
        "configuration", "pred mem", "memory", "pred disk", "disk-only", "match", "secs"
    );
    println!("{}", "-".repeat(130));
    for o in outcomes {
        let said = match (&o.memory, &o.disk_only) {
            (Err(m), Err(d)) => format!("memory: {m}; disk-only: {d}"),
            (Err(m), Ok(())) => m.clone(),
            (Ok(()), Err(d)) => format!("disk-only: {d}"),
            (Ok(()), Ok(())) => "-".into(),
        };
        println!(
            "{:<34} | {:<9} | {:<9} | {:<9} | {:<9} | {:<5} | {:>5.1} | {} [{}]",
            o.label,
            word(o.predicted_memory),
            word(o.memory.is_ok()),
            word(o.predicted_disk_only),
            word(o.disk_only.is_ok()),
            if o.agrees() { "yes" } else { "NO" },
            o.elapsed.as_secs_f64(),
            said,
            o.blockers.join(", ")
        );
    }
}
