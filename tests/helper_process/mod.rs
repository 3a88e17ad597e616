//! Tests in which the virtsnap binary and the test both need one embedded QEMU root.
//!
//! libvirt's embedded driver (`qemu:///embed?root=DIR`) lets only one process hold a root at a
//! time, so such a test cannot keep a connection open while it runs the binary. Its setup and
//! inspection run instead in the test binary itself, re-started as a helper process: an
//! ignored test named `helper` that does nothing unless the environment variable the test
//! chose carries `ACTION:ROOT`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use virt::connect::Connect;
use virtsnap::libvirt::vmdef::{self, DiskFormat, TinyCpu, TinyVm};
use virtsnap::libvirt::ConnectOptions;

/// The embedded QEMU driver's URI for `root`.
pub fn uri(root: &Path) -> String {
    format!("qemu:///embed?root={}", root.display())
}

/// Runs this test binary's `helper` test in a new process with `env` set to `ACTION:ROOT`,
/// and returns what it printed. Panics, with its output, when the helper fails.
pub fn run(env: &str, root: &Path, action: &str) -> String {
    let exe = std::env::current_exe().expect("test binary path");
    let out = Command::new(exe)
        .args([
            "--ignored",
            "--exact",
            "helper",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(env, format!("{action}:{}", root.display()))
        .output()
        .expect("run helper");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "helper {action} failed:\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

/// In the helper process: the action and the root asked for, with a read-write connection
/// to the root. None in an ordinary test run (the variable is unset).
pub fn request(env: &str) -> Option<(String, PathBuf, Connect)> {
    let spec = std::env::var(env).ok()?;
    let (action, root) = spec.split_once(':').expect("ACTION:ROOT");
    let root = PathBuf::from(root);
    let conn = virtsnap::libvirt::open(&ConnectOptions {
        uri: Some(uri(&root)),
        readonly: false,
    })
    .expect("open the embedded root");
    Some((action.to_string(), root, conn))
}

/// Defines a tiny KVM VM `name` with CPU `cpu` on a new 16 MiB qcow2 disk in `ROOT/disks`.
pub fn define_vm(conn: &Connect, root: &Path, name: &str, cpu: TinyCpu) -> virt::domain::Domain {
    std::fs::create_dir_all(root.join("disks")).unwrap();
    let disk = root.join("disks").join(format!("{name}.qcow2"));
    vmdef::create_disk(&disk, DiskFormat::Qcow2, 16).unwrap();
    let vm = TinyVm::new(name, cpu)
        .with_nested_host_workarounds()
        .disk(&disk, DiskFormat::Qcow2);
    conn.define_domain_xml(&vm.to_xml()).expect("define")
}

/// Prints `SNAP VM NAME STATE` for every snapshot of `name` (read back by [`parse_snapshots`]).
pub fn print_snapshots(conn: &Connect, name: &str) {
    let dom = conn.lookup_domain_by_name(name).unwrap();
    for s in dom.list_all_snapshots(0).unwrap() {
        let xml = s.xml_desc(0).unwrap();
        let info = virtsnap::model::snapshot::SnapshotInfo::from_xml(&xml).unwrap();
        println!("SNAP {name} {} {}", info.name, info.state.as_str());
    }
}

/// (vm, snapshot, state) of every `SNAP` line a helper printed.
pub fn parse_snapshots(text: &str) -> Vec<(String, String, String)> {
    text.split("SNAP ")
        .skip(1)
        .filter_map(|l| {
            let mut w = l.lines().next()?.split_whitespace();
            Some((w.next()?.into(), w.next()?.into(), w.next()?.into()))
        })
        .collect()
}

/// The CPU of a VM in the bulk proofs, by its name's ending: `-hostmodel` host-model,
/// `-passthrough-off` host-passthrough with migratable='off' (memory state blocked by invtsc
/// on a host with it), anything else a custom qemu64.
pub fn bulk_cpu(name: &str) -> TinyCpu {
    if name.ends_with("-hostmodel") {
        TinyCpu::HostModel
    } else if name.ends_with("-passthrough-off") {
        TinyCpu::HostPassthrough {
            migratable: Some(false),
        }
    } else {
        TinyCpu::Custom {
            model: "qemu64".into(),
        }
    }
}

/// A helper that serves running VMs `names` (CPU from [`bulk_cpu`]): `start` defines and
/// starts them, `snapshots` prints `SNAP VM NAME STATE` per snapshot, `teardown` destroys and
/// undefines them. Does nothing in an ordinary test run.
pub fn serve_running_vms(env: &str, names: &[&str]) {
    let Some((action, root, conn)) = request(env) else {
        return;
    };
    for &name in names {
        match action.as_str() {
            "start" => {
                let dom = define_vm(&conn, &root, name, bulk_cpu(name));
                dom.create().expect("start");
            }
            "snapshots" => print_snapshots(&conn, name),
            "teardown" => teardown_vm(&conn, name),
            other => panic!("unknown helper action {other}"),
        }
    }
}

/// Destroys `name` if it runs and undefines it with its snapshots' metadata; absent is fine.
pub fn teardown_vm(conn: &Connect, name: &str) {
    if let Ok(dom) = conn.lookup_domain_by_name(name) {
        if dom.is_active().unwrap_or(true) {
            let _ = dom.destroy();
        }
        let _ = dom.undefine_flags(virt::sys::VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA);
    }
}

/// An embedded root: the helper's `teardown` runs and its files are removed however the test
/// ends.
pub struct Root {
    pub path: PathBuf,
    pub env: &'static str,
}

impl Drop for Root {
    fn drop(&mut self) {
        run(self.env, &self.path, "teardown");
        let _ = std::fs::remove_dir_all(&self.path);
    }
}
