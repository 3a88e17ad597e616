//! Harness for integration tests that start real tiny VMs in libvirt's embedded QEMU driver,
//! and for test-driver node files.
//!
//! One embedded root per test process (libvirt allows no second one): `/tmp/virtsnap-test-<pid>`,
//! opened once. It is removed when the process exits (an `atexit` hook), and roots left by
//! processes that died are swept on the next open. Every [`TestVm`] destroys and undefines its
//! VM and deletes its files on drop, so no QEMU outlives the test.
#![allow(dead_code)]

pub mod guest;
pub mod snap;

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

use quick_xml::events::BytesText;
use quick_xml::Writer;
use virt::connect::Connect;
use virt::domain::Domain;
use virtsnap::libvirt::vmdef::{self, DiskFormat, TinyVm, TEST_DRIVER_NS};
use virtsnap::libvirt::ConnectOptions;

const ROOT_PREFIX: &str = "virtsnap-test-";

static EMBED: OnceLock<Result<Connect, String>> = OnceLock::new();
static KVM: OnceLock<bool> = OnceLock::new();
static NEXT_ID: AtomicU32 = AtomicU32::new(1);

/// This process's embedded root.
pub fn embed_root() -> PathBuf {
    std::env::temp_dir().join(format!("{ROOT_PREFIX}{}", std::process::id()))
}

/// The embedded QEMU connection, or None (with a loud "SKIPPED:" line) when /dev/kvm, QEMU or
/// libvirt's QEMU driver module is missing. Any other failure to open is a test failure.
pub fn embed_conn() -> Option<&'static Connect> {
    if !*KVM.get_or_init(vmdef::kvm_usable) {
        println!("SKIPPED: /dev/kvm is missing or not usable read-write");
        return None;
    }
    embed_conn_any_accel()
}

/// The embedded QEMU connection whether or not KVM is usable: for guests that run under TCG
/// when KVM cannot run them (see `guest`).
pub fn embed_conn_any_accel() -> Option<&'static Connect> {
    let result = EMBED.get_or_init(open_embed);
    match result {
        Ok(conn) => Some(conn),
        Err(why) => {
            println!("SKIPPED: {why}");
            None
        }
    }
}

fn open_embed() -> Result<Connect, String> {
    if !vmdef::qemu_available() {
        return Err("qemu-system-x86_64 is not installed".into());
    }
    sweep_stale_roots();
    let root = embed_root();
    std::fs::create_dir_all(root.join("disks"))
        .map_err(|e| format!("cannot create {}: {e}", root.display()))?;
    remove_root_at_exit();
    // The root's own qemu.conf (the system's is never read): no virtlogd, no xattr warnings.
    virtsnap::libvirt::demo_session::write_embed_qemu_conf(&root, false)
        .map_err(|e| format!("cannot write the root's qemu.conf: {e}"))?;
    let mut uri = String::from("qemu:///embed?root=");
    uri.push_str(&root.to_string_lossy());
    match virtsnap::libvirt::open(&ConnectOptions {
        uri: Some(uri),
        readonly: false,
    }) {
        Ok(conn) => Ok(conn),
        // The daemon-driver-qemu package is what provides the embedded driver.
        Err(e) if e.to_string().contains("no connection driver available") => {
            Err(format!("libvirt's QEMU driver is not installed: {e}"))
        }
        Err(e) => panic!("embedded QEMU driver failed to open: {e}"),
    }
}

/// Removes roots of earlier test processes that are gone and left no QEMU behind.
fn sweep_stale_roots() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name.strip_prefix(ROOT_PREFIX) else {
            continue;
        };
        if pid.parse::<u32>().is_err() || Path::new("/proc").join(pid).exists() {
            continue;
        }
        if !process_mentions(&entry.path()) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Some running process (a leftover QEMU) has `path` on its command line.
fn process_mentions(path: &Path) -> bool {
    let needle = path.to_string_lossy().into_owned();
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return false;
    };
    procs.flatten().any(|p| {
        std::fs::read(p.path().join("cmdline"))
            .map(|c| String::from_utf8_lossy(&c).contains(&needle))
            .unwrap_or(false)
    })
}

extern "C" fn remove_root() {
    let _ = std::fs::remove_dir_all(embed_root());
}

fn remove_root_at_exit() {
    // SAFETY: registers a plain function with no captured state; libtest returns from main
    // normally, so the C runtime runs it at exit, after every test (and its TestVm drops).
    unsafe {
        libc::atexit(remove_root);
    }
}

/// A unique name in this process's root: `<base>-<n>`.
pub fn unique_name(base: &str) -> String {
    format!("{base}-{}", NEXT_ID.fetch_add(1, Ordering::Relaxed))
}

/// A fresh empty disk in the embedded root's disk directory.
pub fn make_disk(base: &str, format: DiskFormat) -> io::Result<PathBuf> {
    let ext = match format {
        DiskFormat::Qcow2 => "qcow2",
        DiskFormat::Raw => "img",
    };
    let path = embed_root()
        .join("disks")
        .join(format!("{}.{ext}", unique_name(base)));
    vmdef::create_disk(&path, format, 16)?;
    Ok(path)
}

/// A defined (and usually running) VM that cleans up after itself on drop: destroyed,
/// undefined with its snapshot metadata and NVRAM, and its disks and tracked files deleted.
pub struct TestVm {
    pub dom: Domain,
    pub name: String,
    pub vm: TinyVm,
    files: Vec<PathBuf>,
}

impl TestVm {
    /// Defines `vm` under a unique name (`<vm.name>-<n>`), creating its missing disk files.
    pub fn define(conn: &Connect, mut vm: TinyVm) -> Result<TestVm, String> {
        vm.name = unique_name(&vm.name);
        let mut files = Vec::new();
        for disk in &vm.disks {
            if !disk.path.exists() {
                vmdef::create_disk(&disk.path, disk.format, 16).map_err(|e| e.to_string())?;
            }
            files.push(disk.path.clone());
        }
        let dom = match conn.define_domain_xml(&vm.to_xml()) {
            Ok(dom) => dom,
            Err(e) => {
                remove_files(&files);
                return Err(format!("define {}: {}", vm.name, e.message()));
            }
        };
        Ok(TestVm {
            dom,
            name: vm.name.clone(),
            vm,
            files,
        })
    }

    /// Defines and starts `vm`.
    pub fn start(conn: &Connect, vm: TinyVm) -> Result<TestVm, String> {
        let test_vm = Self::define(conn, vm)?;
        test_vm
            .dom
            .create()
            .map_err(|e| format!("start {}: {}", test_vm.name, e.message()))?;
        Ok(test_vm)
    }

    /// Takes over a domain defined from `vm`'s (edited) XML: it is cleaned up like any other.
    pub fn adopt(dom: Domain, vm: TinyVm) -> TestVm {
        let files = vm
            .disks
            .iter()
            .map(|d| d.path.clone())
            .filter(|p| !p.starts_with("/dev"))
            .collect();
        TestVm {
            dom,
            name: vm.name.clone(),
            vm,
            files,
        }
    }

    /// Deletes `path` with the VM (e.g. an external snapshot's overlay).
    pub fn track(&mut self, path: PathBuf) {
        self.files.push(path);
    }
}

impl Drop for TestVm {
    fn drop(&mut self) {
        if self.dom.is_active().unwrap_or(true) {
            let _ = self.dom.destroy();
        }
        let flags = virt::sys::VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
            | virt::sys::VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA
            | virt::sys::VIR_DOMAIN_UNDEFINE_NVRAM;
        if let Err(e) = self.dom.undefine_flags(flags) {
            eprintln!("cleanup: cannot undefine {}: {}", self.name, e.message());
        }
        remove_files(&self.files);
    }
}

fn remove_files(files: &[PathBuf]) {
    for f in files {
        let _ = std::fs::remove_file(f);
    }
}

/// `<domainsnapshot>` for a create request: a name and, for an external disk-only snapshot, the
/// overlay file of each disk.
pub fn snapshot_xml(name: &str, external_disks: &[(&str, &Path)]) -> String {
    let mut w = Writer::new(Vec::new());
    let written = w.create_element("domainsnapshot").write_inner_content(|w| {
        w.create_element("name")
            .write_text_content(BytesText::new(name))?;
        if external_disks.is_empty() {
            return Ok(());
        }
        w.create_element("disks").write_inner_content(|w| {
            for (target, file) in external_disks {
                w.create_element("disk")
                    .with_attribute(("name", *target))
                    .with_attribute(("snapshot", "external"))
                    .write_inner_content(|w| {
                        w.create_element("source")
                            .with_attribute(("file", file.to_string_lossy().as_ref()))
                            .write_empty()?;
                        Ok(())
                    })?;
            }
            Ok(())
        })?;
        Ok(())
    });
    written.expect("writing XML into a Vec cannot fail");
    String::from_utf8(w.into_inner()).expect("quick-xml writes UTF-8")
}

/// A test-driver node file holding `domains` (each with its run state: 1 running, 3 paused,
/// 5 shut off) in a fresh temp dir. Keep the TempDir alive while the URI is in use.
pub fn test_driver_node(domains: &[(TinyVm, u8)]) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("node.xml");
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    w.create_element("node")
        .with_attribute(("xmlns:test", TEST_DRIVER_NS))
        .write_inner_content(|w| {
            for (vm, runstate) in domains {
                vm.write(w, Some(*runstate))?;
            }
            Ok(())
        })
        .expect("writing XML into a Vec cannot fail");
    std::fs::write(&path, w.into_inner()).expect("write node file");
    let uri = format!("test://{}", path.display());
    (dir, uri)
}

/// Runs `f` with a job context like the worker's, answering every question the job asks with
/// `answer`; returns what `f` returned and every update the job sent, in order.
pub fn with_job_context<T>(
    conn: &Connect,
    answer: bool,
    f: impl FnOnce(&virtsnap::libvirt::jobs::JobContext) -> T,
) -> (T, Vec<virtsnap::libvirt::jobs::JobUpdate>) {
    use virtsnap::libvirt::jobs::{JobContext, JobControl, JobUpdate};
    use virtsnap::libvirt::worker::Event;
    let (tx, rx) = std::sync::mpsc::channel();
    let tx = std::sync::Mutex::new(tx);
    let seen = std::sync::Mutex::new(Vec::new());
    let emit = |e: Event| {
        if let Event::Job { update, .. } = e {
            if let JobUpdate::Question(_) = &update {
                let _ = tx.lock().unwrap().send(JobControl::Answer(answer));
            }
            seen.lock().unwrap().push(update);
        }
    };
    let ctx = JobContext {
        conn,
        id: 1,
        emit: &emit,
        controls: rx,
        cancelled: std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false)),
    };
    let result = f(&ctx);
    drop(ctx);
    (result, seen.into_inner().unwrap())
}
