//! Ground truth for the blocker table (src/model/eligibility/blockers): every row and every
//! "not a blocker" checked on real QEMU runs its example as a tiny KVM VM in the embedded QEMU
//! driver; the rule's verdict (from libvirt's own persistent and live XML) is compared with
//! what libvirt does when asked for a memory snapshot (external memory, disks left out, and
//! internal when the rule says it is possible). A refusal the rule did not predict, or one in
//! other words than the row's, fails the test. Rows that cannot start here are defined only:
//! libvirt must accept the example, and the rule must find the row in the XML libvirt writes
//! back. Prints the matrix.
//! Run: `cargo test --test blockers_kvm -- --nocapture`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::{embed_conn, embed_root, make_disk, snapshot_xml, unique_name};
use quick_xml::events::BytesText;
use quick_xml::Writer;
use virt::connect::Connect;
use virt::domain::Domain;
use virtsnap::libvirt::vmdef::DiskFormat;
use virtsnap::model::domain::{DomainConfig, DomainState};
use virtsnap::model::eligibility::blockers::{
    self, says_match, BlockerRow, Checked, Example, Place, NOT_BLOCKERS, ROWS,
};
use virtsnap::model::eligibility::{evaluate, RuleInput, Verdict};
use virtsnap::model::host::HostCapabilities;

/// VMs at once: the machine has 2 cores shared with other work.
const PARALLEL: usize = 2;

#[derive(Clone, Copy)]
enum Expect {
    Row(&'static BlockerRow),
    NotBlocker,
}

struct Case {
    label: &'static str,
    example: Example,
    expect: Expect,
}

struct Outcome {
    label: &'static str,
    predicted: bool,
    external: Result<(), String>,
    internal: Option<Result<(), String>>,
    problems: Vec<String>,
    elapsed: Duration,
}

fn real_cases() -> Vec<Case> {
    let rows = ROWS
        .iter()
        .filter(|r| r.checked == Checked::RealQemu)
        .map(|r| Case {
            label: r.kind,
            example: r.example,
            expect: Expect::Row(r),
        });
    let fine = NOT_BLOCKERS
        .iter()
        .filter(|n| n.checked == Checked::RealQemu)
        .map(|n| Case {
            label: n.what,
            example: n.example,
            expect: Expect::NotBlocker,
        });
    rows.chain(fine).collect()
}

fn defined_cases() -> Vec<Case> {
    let rows = ROWS
        .iter()
        .filter(|r| matches!(r.checked, Checked::Defined(_)))
        .map(|r| Case {
            label: r.kind,
            example: r.example,
            expect: Expect::Row(r),
        });
    let fine = NOT_BLOCKERS
        .iter()
        .filter(|n| matches!(n.checked, Checked::Defined(_)))
        .map(|n| Case {
            label: n.what,
            example: n.example,
            expect: Expect::NotBlocker,
        });
    rows.chain(fine).collect()
}

#[test]
fn blocker_table_agrees_with_libvirt_on_real_kvm_vms() {
    let Some(conn) = embed_conn() else { return };
    let started = Instant::now();
    let caps_xml = conn.capabilities().expect("capabilities");
    let host = HostCapabilities::from_xml(&caps_xml).expect("parse capabilities");
    let version = u64::from(conn.lib_version().expect("libvirt version"));

    let cases = real_cases();
    assert!(cases.len() >= 10, "at least 10 configurations on real QEMU");
    let queue = Mutex::new(cases.into_iter().enumerate().collect::<Vec<_>>());
    let results = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..PARALLEL {
            s.spawn(|| loop {
                let next = queue.lock().expect("queue").pop();
                let Some((index, case)) = next else { break };
                let outcome = run_case(conn, &host, version, &case);
                results.lock().expect("results").push((index, outcome));
            });
        }
    });
    let mut results = results.into_inner().expect("results");
    results.sort_by_key(|(i, _)| *i);
    let outcomes: Vec<Outcome> = results.into_iter().map(|(_, o)| o).collect();
    print_matrix(&outcomes);
    println!(
        "agreement: {}/{} configurations; {PARALLEL} VMs at a time; total {:.1} s",
        outcomes.iter().filter(|o| o.problems.is_empty()).count(),
        outcomes.len(),
        started.elapsed().as_secs_f64()
    );
    let wrong: Vec<String> = outcomes
        .iter()
        .flat_map(|o| o.problems.iter().map(move |p| format!("{}: {p}", o.label)))
        .collect();
    assert!(
        wrong.is_empty(),
        "the table disagrees with libvirt:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn rows_that_cannot_start_here_are_accepted_by_libvirt_and_found_in_its_xml() {
    let Some(conn) = embed_conn() else { return };
    let caps_xml = conn.capabilities().expect("capabilities");
    let host = HostCapabilities::from_xml(&caps_xml).expect("parse capabilities");
    let mut checked = 0;
    for case in defined_cases() {
        let dir = case_dir(case.label);
        let disk = make_disk("blk", DiskFormat::Qcow2).expect("disk");
        let name = unique_name("blk-def");
        let xml = domain_xml(&name, &disk, &case.example, &dir);
        let vm = match conn.define_domain_xml(&xml) {
            Ok(dom) => CaseVm::new(dom, name, vec![disk], dir),
            Err(e) => panic!("{}: libvirt refused to define the example: {e}", case.label),
        };
        let inactive = vm
            .dom
            .xml_desc(virt::sys::VIR_DOMAIN_XML_INACTIVE)
            .expect("inactive XML");
        let cfg = DomainConfig::from_xml(&inactive).expect("parse libvirt's XML");
        let kinds: Vec<&str> = blockers::findings(&cfg, Some(&host))
            .iter()
            .map(|f| f.row.kind)
            .collect();
        match case.expect {
            Expect::Row(row) => assert_eq!(kinds, [row.kind], "{}", case.label),
            Expect::NotBlocker => assert!(kinds.is_empty(), "{}: {kinds:?}", case.label),
        }
        println!("defined: {:<45} rule finds {kinds:?}", case.label);
        checked += 1;
        drop(vm);
    }
    assert!(checked >= 8, "at least 8 defined-only configurations");
}

fn run_case(conn: &Connect, host: &HostCapabilities, version: u64, case: &Case) -> Outcome {
    let t0 = Instant::now();
    let label = case.label;
    let dir = case_dir(label);
    let mut files = make_example_files(&case.example, &dir);
    let disk = make_disk("blk", DiskFormat::Qcow2).expect("disk");
    files.push(disk.clone());
    let name = unique_name("blk");
    let xml = domain_xml(&name, &disk, &case.example, &dir);
    let dom = conn
        .define_domain_xml(&xml)
        .unwrap_or_else(|e| panic!("{label}: define: {e}\n{xml}"));
    let vm = CaseVm::new(dom, name, files, dir.clone());
    if let Err(e) = vm.dom.create() {
        panic!("{label}: start: {e}");
    }

    let inactive = vm
        .dom
        .xml_desc(virt::sys::VIR_DOMAIN_XML_INACTIVE)
        .expect("inactive XML");
    let live = vm.dom.xml_desc(0).expect("live XML");
    let persistent = DomainConfig::from_xml(&inactive).expect("parse inactive XML");
    let live = DomainConfig::from_xml(&live).expect("parse live XML");
    let verdict = evaluate(&RuleInput {
        persistent: &persistent,
        live: Some(&live),
        host: Some(host),
        state: DomainState::Running,
        libvirt_version: version,
    });

    let mut problems = expectation_problems(case.expect, &verdict);
    // Internal first and deleted again, so the external one is asked of the same chain.
    let internal = verdict.memory.internal.then(|| {
        vm.dom
            .create_snapshot_xml(&snapshot_xml("internal", &[]), 0)
            .map_err(|e| e.message().to_string())
            .and_then(|snap| {
                snap.delete(0)
                    .map_err(|e| format!("delete: {}", e.message()))
            })
    });
    let external = vm
        .dom
        .create_snapshot_xml(&memory_only_snapshot(&live, &dir), 0)
        .map(|_| ())
        .map_err(|e| e.message().to_string());
    let predicted = verdict.memory.allowed;
    if predicted != external.is_ok() {
        problems.push(format!(
            "rule says {}, libvirt {} the external memory snapshot",
            word(predicted),
            word(external.is_ok())
        ));
    }
    if let Some(Err(e)) = &internal {
        problems.push(format!("internal memory snapshot refused: {e}"));
    }
    if let (Err(said), Expect::Row(row)) = (&external, case.expect) {
        let own_words = row
            .sources
            .iter()
            .filter_map(|s| s.says)
            .any(|says| says_match(says, said));
        if !own_words {
            problems.push(format!("libvirt refused in other words: {said}"));
        }
    }
    drop(vm);
    Outcome {
        label,
        predicted,
        external,
        internal,
        problems,
        elapsed: t0.elapsed(),
    }
}

/// What the rule must say about the example, before libvirt is asked.
fn expectation_problems(expect: Expect, verdict: &Verdict) -> Vec<String> {
    let memory = &verdict.memory;
    let blockers: Vec<&str> = memory.blockers.iter().map(|b| b.kind.as_str()).collect();
    let conditional: Vec<&str> = memory
        .conditional_blockers
        .iter()
        .map(|c| c.kind.as_str())
        .collect();
    let (want_blockers, want_conditional): (Vec<&str>, Vec<&str>) = match expect {
        Expect::Row(row) if row.is_conditional() => (vec![], vec![row.kind]),
        Expect::Row(row) => (vec![row.kind], vec![]),
        Expect::NotBlocker => (vec![], vec![]),
    };
    let mut problems = Vec::new();
    if blockers != want_blockers || conditional != want_conditional {
        problems.push(format!(
            "rule found blockers {blockers:?} and conditional {conditional:?}, expected \
             {want_blockers:?} and {want_conditional:?}"
        ));
    }
    problems
}

/// `<domainsnapshot>` with external memory in `dir` and every disk left out: only the memory
/// state is asked for, so only the memory checks can refuse it.
fn memory_only_snapshot(cfg: &DomainConfig, dir: &Path) -> String {
    let memory_file = dir.join("memory.save");
    let mut w = Writer::new(Vec::new());
    w.create_element("domainsnapshot")
        .write_inner_content(|w| {
            w.create_element("name")
                .write_text_content(BytesText::new("memory"))?;
            w.create_element("memory")
                .with_attribute(("snapshot", "external"))
                .with_attribute(("file", memory_file.to_string_lossy().as_ref()))
                .write_empty()?;
            w.create_element("disks").write_inner_content(|w| {
                for disk in &cfg.disks {
                    w.create_element("disk")
                        .with_attribute(("name", disk.target.as_str()))
                        .with_attribute(("snapshot", "no"))
                        .write_empty()?;
                }
                Ok(())
            })?;
            Ok(())
        })
        .expect("writing XML into a Vec cannot fail");
    String::from_utf8(w.into_inner()).expect("quick-xml writes UTF-8")
}

/// A tiny domain: no guest OS, one empty qcow2 disk, no USB unless the example brings a
/// controller, and the example in its place. `@DIR@` becomes `dir`, XML-escaped.
fn domain_xml(name: &str, disk: &Path, example: &Example, dir: &Path) -> String {
    let dir_text = dir.to_string_lossy();
    let escaped_dir = quick_xml::escape::escape(dir_text.as_ref());
    let example_xml = example.xml.replace("@DIR@", &escaped_dir);
    let raw = |w: &mut Writer<Vec<u8>>, xml: &str| w.get_mut().extend_from_slice(xml.as_bytes());
    let mut w = Writer::new(Vec::new());
    w.create_element("domain")
        .with_attribute(("type", "kvm"))
        .write_inner_content(|w| {
            w.create_element("name")
                .write_text_content(BytesText::new(name))?;
            w.create_element("memory")
                .with_attribute(("unit", "MiB"))
                .write_text_content(BytesText::new("64"))?;
            w.create_element("vcpu")
                .write_text_content(BytesText::new("1"))?;
            w.create_element("os").write_inner_content(|w| {
                w.create_element("type")
                    .with_attribute(("arch", "x86_64"))
                    .write_text_content(BytesText::new("hvm"))?;
                w.create_element("boot")
                    .with_attribute(("dev", "hd"))
                    .write_empty()?;
                Ok(())
            })?;
            if example.place == Place::Domain {
                raw(w, &example_xml);
            }
            raw(w, example.place.memory_backing());
            w.create_element("clock")
                .with_attribute(("offset", "utc"))
                .write_empty()?;
            w.create_element("on_poweroff")
                .write_text_content(BytesText::new("destroy"))?;
            w.create_element("devices").write_inner_content(|w| {
                w.create_element("disk")
                    .with_attribute(("type", "file"))
                    .with_attribute(("device", "disk"))
                    .write_inner_content(|w| {
                        w.create_element("driver")
                            .with_attribute(("name", "qemu"))
                            .with_attribute(("type", "qcow2"))
                            .write_empty()?;
                        w.create_element("source")
                            .with_attribute(("file", disk.to_string_lossy().as_ref()))
                            .write_empty()?;
                        w.create_element("target")
                            .with_attribute(("dev", "vda"))
                            .with_attribute(("bus", "virtio"))
                            .write_empty()?;
                        Ok(())
                    })?;
                if !example_xml.contains("<controller type='usb'") {
                    w.create_element("controller")
                        .with_attribute(("type", "usb"))
                        .with_attribute(("model", "none"))
                        .write_empty()?;
                }
                if example.place != Place::Domain {
                    raw(w, &example_xml);
                }
                w.create_element("memballoon")
                    .with_attribute(("model", "none"))
                    .write_empty()?;
                Ok(())
            })?;
            Ok(())
        })
        .expect("writing XML into a Vec cannot fail");
    String::from_utf8(w.into_inner()).expect("quick-xml writes UTF-8")
}

/// This case's directory in the embedded root: the example's `@DIR@`.
fn case_dir(label: &str) -> PathBuf {
    let slug: String = label
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .take(24)
        .collect();
    let dir = embed_root().join("blockers").join(unique_name(&slug));
    std::fs::create_dir_all(&dir).expect("case directory");
    dir
}

/// The images an example names as `@DIR@/NAME.FORMAT`, created with qemu-img (16 MiB).
fn make_example_files(example: &Example, dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for piece in example.xml.split("@DIR@/").skip(1) {
        let file = piece.split('\'').next().unwrap_or_default();
        let format = file.rsplit('.').next().unwrap_or_default();
        let path = dir.join(file);
        let status = Command::new("qemu-img")
            .args(["create", "-q", "-f", format])
            .arg(&path)
            .arg("16M")
            .status()
            .expect("run qemu-img");
        assert!(status.success(), "qemu-img create -f {format} {path:?}");
        files.push(path);
    }
    files
}

/// A defined VM that is destroyed and undefined (with snapshot metadata), and whose files,
/// directory and ivshmem segments are removed, on drop.
struct CaseVm {
    dom: Domain,
    name: String,
    files: Vec<PathBuf>,
    dir: PathBuf,
}

impl CaseVm {
    fn new(dom: Domain, name: String, files: Vec<PathBuf>, dir: PathBuf) -> Self {
        CaseVm {
            dom,
            name,
            files,
            dir,
        }
    }
}

impl Drop for CaseVm {
    fn drop(&mut self) {
        let shmems = self
            .dom
            .xml_desc(virt::sys::VIR_DOMAIN_XML_INACTIVE)
            .ok()
            .and_then(|xml| DomainConfig::from_xml(&xml).ok())
            .map(|cfg| cfg.shmems)
            .unwrap_or_default();
        if self.dom.is_active().unwrap_or(true) {
            let _ = self.dom.destroy();
        }
        let flags = virt::sys::VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
            | virt::sys::VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA
            | virt::sys::VIR_DOMAIN_UNDEFINE_NVRAM;
        if let Err(e) = self.dom.undefine_flags(flags) {
            eprintln!("cleanup: cannot undefine {}: {}", self.name, e.message());
        }
        for file in &self.files {
            let _ = std::fs::remove_file(file);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
        // QEMU backs ivshmem-plain with /dev/shm/<name>, which outlives the VM.
        for shmem in shmems {
            let _ = std::fs::remove_file(Path::new("/dev/shm").join(&shmem.name));
        }
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
        "\n{:<45} | {:<8} | {:<8} | {:<8} | {:<5} | {:>5} | libvirt said",
        "configuration", "rule", "external", "internal", "match", "secs"
    );
    println!("{}", "-".repeat(140));
    for o in outcomes {
        let internal = match &o.internal {
            None => "-",
            Some(r) => word(r.is_ok()),
        };
        let said = match &o.external {
            Ok(()) => "-".to_string(),
            Err(e) => e.clone(),
        };
        println!(
            "{:<45} | {:<8} | {:<8} | {:<8} | {:<5} | {:>5.1} | {said}",
            o.label,
            word(o.predicted),
            word(o.external.is_ok()),
            internal,
            if o.problems.is_empty() { "yes" } else { "NO" },
            o.elapsed.as_secs_f64(),
        );
    }
}
