//! `list --json` and `check` through the real binary against real KVM VMs in an embedded
//! QEMU root: the CPU mode, the markers and the memory verdict of each configuration, and
//! the explained words for the blocked one.
//!
//! The binary needs the root to itself (libvirt lets one process hold an embedded root, and
//! holds it until that process exits), so the VMs are defined and started, and later removed,
//! by this test executable run again as a child process for just that step.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use virt::connect::Connect;
use virtsnap::libvirt::vmdef::{
    create_disk, kvm_usable, qemu_available, DiskFormat, TinyCpu, TinyVm,
};
use virtsnap::model::domain::FeaturePolicy;

const BIN: &str = env!("CARGO_BIN_EXE_virtsnap");

fn uri(root: &Path) -> String {
    format!("qemu:///embed?root={}", root.display())
}

fn open(root: &Path) -> Connect {
    virtsnap::libvirt::open(&virtsnap::libvirt::ConnectOptions {
        uri: Some(uri(root)),
        readonly: false,
    })
    .expect("open the embedded root")
}

fn virtsnap(root: &Path, args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .arg("-c")
        .arg(uri(root))
        .args(args)
        .env("XDG_STATE_HOME", root.join("state"))
        .output()
        .expect("run virtsnap")
}

fn vms(disks: &Path, host_tsc: u64) -> Vec<(TinyVm, bool)> {
    let disk = |name: &str| -> PathBuf {
        let p = disks.join(format!("{name}.qcow2"));
        create_disk(&p, DiskFormat::Qcow2, 16).expect("qemu-img");
        p
    };
    let vm = |name: &str, cpu: TinyCpu| TinyVm::new(name, cpu).disk(disk(name), DiskFormat::Qcow2);
    vec![
        (
            vm(
                "pt-off",
                TinyCpu::HostPassthrough {
                    migratable: Some(false),
                },
            ),
            true,
        ),
        (
            vm(
                "pt-pinned",
                TinyCpu::HostPassthrough {
                    migratable: Some(false),
                },
            )
            .tsc_frequency(host_tsc),
            true,
        ),
        (vm("hm", TinyCpu::HostModel), true),
        (
            vm(
                "q64",
                TinyCpu::Custom {
                    model: "qemu64".into(),
                },
            ),
            true,
        ),
        (
            vm(
                "q64-invtsc",
                TinyCpu::Custom {
                    model: "qemu64".into(),
                },
            )
            .feature(FeaturePolicy::Require, "invtsc"),
            true,
        ),
        (
            vm(
                "max-off",
                TinyCpu::Maximum {
                    migratable: Some(false),
                },
            ),
            true,
        ),
        (
            vm(
                "stopped-pt",
                TinyCpu::HostPassthrough {
                    migratable: Some(false),
                },
            ),
            false,
        ),
    ]
}

fn entry<'a>(list: &'a [Value], name: &str) -> &'a Value {
    list.iter()
        .find(|e| e["name"] == name)
        .unwrap_or_else(|| panic!("{name} missing"))
}

/// Runs one of the `step_*` functions below in a child process of this test executable.
fn run_step(step: &str, root: &Path) {
    let exe = std::env::current_exe().expect("test executable");
    let out = Command::new(exe)
        .args(["--ignored", "--exact", step, "--nocapture"])
        .env("VIRTSNAP_TEST_ROOT", root)
        .output()
        .expect("run step");
    assert!(
        out.status.success(),
        "{step}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn step_root() -> Option<PathBuf> {
    std::env::var_os("VIRTSNAP_TEST_ROOT").map(PathBuf::from)
}

#[test]
#[ignore = "a step of list_and_check_on_real_kvm_vms, run in its own process"]
fn step_define_and_start() {
    let Some(root) = step_root() else { return };
    let conn = open(&root);
    let caps = virtsnap::model::HostCapabilities::from_xml(&conn.capabilities().unwrap()).unwrap();
    let host_tsc = caps.tsc_frequency_hz.unwrap_or(2_000_000_000);
    for (vm, start) in vms(&root.join("disks"), host_tsc) {
        let vm = vm.with_nested_host_workarounds();
        let dom = conn.define_domain_xml(&vm.to_xml()).expect("define");
        if start {
            dom.create()
                .unwrap_or_else(|e| panic!("start {}: {}", vm.name, e.message()));
        }
    }
    std::fs::write(
        root.join("host-has-invtsc"),
        if caps.has_invtsc() { "1" } else { "0" },
    )
    .unwrap();
}

#[test]
#[ignore = "a step of list_and_check_on_real_kvm_vms, run in its own process"]
fn step_remove() {
    let Some(root) = step_root() else { return };
    let conn = open(&root);
    for d in conn.list_all_domains(0).unwrap_or_default() {
        let _ = d.destroy();
        let _ = d.undefine();
    }
}

#[test]
fn list_and_check_on_real_kvm_vms() {
    if !kvm_usable() || !qemu_available() {
        println!("SKIPPED: needs a usable /dev/kvm and qemu-system-x86_64");
        return;
    }
    let dir = tempfile::Builder::new()
        .prefix("vs-cli-embed-")
        .tempdir_in("/tmp")
        .unwrap();
    let root = dir.path().to_path_buf();
    std::fs::create_dir_all(root.join("disks")).unwrap();
    virtsnap::libvirt::demo_session::write_embed_qemu_conf(&root, false).unwrap();
    let setup = std::panic::catch_unwind(|| run_step("step_define_and_start", &root));
    let result = setup.and_then(|()| {
        let invtsc =
            std::fs::read_to_string(root.join("host-has-invtsc")).unwrap_or_default() == "1";
        std::panic::catch_unwind(|| check_outputs(&root, invtsc))
    });
    run_step("step_remove", &root);
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}

fn check_outputs(root: &Path, host_has_invtsc: bool) {
    let out = virtsnap(root, &["list", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    println!(
        "{}",
        serde_json::to_string(
            &list
                .iter()
                .map(|e| (&e["name"], &e["state"], &e["cpu"], &e["memory_snapshot"]))
                .collect::<Vec<_>>()
        )
        .unwrap()
    );

    let pt = entry(&list, "pt-off");
    assert_eq!(pt["state"], "running");
    assert_eq!(pt["cpu"]["mode"], "host-passthrough");
    assert_eq!(pt["cpu"]["migratable"], false);
    assert_eq!(pt["cpu"]["invtsc"], host_has_invtsc);
    assert_eq!(pt["memory_snapshot"]["applicable"], true);
    assert_eq!(pt["memory_snapshot"]["allowed"], !host_has_invtsc);

    let pinned = entry(&list, "pt-pinned");
    assert!(pinned["cpu"]["tsc_frequency_hz"].as_u64().is_some());
    assert_eq!(pinned["memory_snapshot"]["allowed"], true);

    let hm = entry(&list, "hm");
    assert_eq!(
        hm["cpu"]["mode"], "host-model",
        "configured mode, not the live 'custom'"
    );
    assert_eq!(hm["cpu"]["invtsc"], false);
    assert_eq!(hm["memory_snapshot"]["allowed"], true);

    let q64 = entry(&list, "q64");
    assert_eq!(q64["cpu"]["mode"], "custom");
    assert_eq!(q64["cpu"]["model"], "qemu64");
    assert_eq!(q64["memory_snapshot"]["allowed"], true);

    let q64i = entry(&list, "q64-invtsc");
    assert_eq!(q64i["cpu"]["invtsc"], true);
    assert_eq!(q64i["memory_snapshot"]["allowed"], false);

    assert_eq!(entry(&list, "max-off")["cpu"]["mode"], "maximum");
    let stopped = entry(&list, "stopped-pt");
    assert_eq!(stopped["state"], "shutoff");
    assert_eq!(stopped["memory_snapshot"]["applicable"], false);

    if host_has_invtsc {
        let out = virtsnap(root, &["check", "pt-off"]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "check exits 0 whatever the verdict"
        );
        let text = String::from_utf8(out.stdout).unwrap();
        for line in [
            "Memory snapshots are not supported with host-passthrough CPU.",
            "This VM uses the 'invtsc' CPU flag which prevents memory state capture.",
            "This is a limitation of libvirt/QEMU, not of virtsnap.",
            "1. Create a disk-only snapshot (uncheck 'Include memory state')",
            "2. Stop the VM first, then take a snapshot",
            "3. Reconfigure the VM to use 'host-model' CPU instead of 'host-passthrough'",
            "4. Pin the TSC frequency to the host's",
        ] {
            assert!(text.contains(line), "missing {line:?} in:\n{text}");
        }
        let out = virtsnap(root, &["check", "pt-off", "--json"]);
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["domain"], "pt-off");
        assert_eq!(v["state"], "running");
        assert_eq!(v["memory_snapshot"]["allowed"], false);
        assert_eq!(v["memory_snapshot"]["applicable"], true);
        assert_eq!(v["memory_snapshot"]["blockers"][0]["kind"], "invtsc");
        assert_eq!(
            v["memory_snapshot"]["remedies"].as_array().unwrap().len(),
            4
        );
        assert_eq!(v["disk_only_snapshot"]["allowed"], true);
        assert_eq!(v["disk_only_snapshot"]["quiesce"], false);
        assert!(v["disk_only_snapshot"]["reason"].is_null());
    }
    let out = virtsnap(root, &["check", "stopped-pt", "--json"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["memory_snapshot"]["applicable"], false);
    assert_eq!(v["disk_only_snapshot"]["allowed"], true);

    let out = virtsnap(root, &["check", "no-such-vm"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("no-such-vm"), "{err}");
}
