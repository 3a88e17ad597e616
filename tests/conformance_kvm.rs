//! The conformance matrix (issue 11): configurations as they exist on real hypervisors, times
//! the operations virtsnap offers, on real QEMU in the embedded driver. For every cell:
//! virtsnap's prediction (the plan `check`, the dialogs and the job share), virtsnap's action
//! (the job), and libvirt's own answer agree:
//! - a plan that says yes is carried out without a libvirt error;
//! - a plan that says libvirt would refuse is checked by asking libvirt directly (its plain
//!   request), which must refuse too;
//! - a plan that refuses to protect data (loss, no surviving safety snapshot, a name QEMU would
//!   misread) is counted apart: libvirt is not asked to destroy data.
//!
//! The summary prints the matrix size and the agreement count.
//! Run: `cargo test --test conformance_kvm -- --nocapture`.

mod common;

use std::collections::BTreeMap;
use std::sync::Mutex;

use common::{embed_conn, embed_root, make_disk, unique_name, with_job_context, TestVm};
use virt::connect::Connect;
use virt::domain::Domain;
use virtsnap::libvirt::jobs::delete::{self, DeleteError, DeleteJob};
use virtsnap::libvirt::jobs::revert::{self, RevertError, RevertJob};
use virtsnap::libvirt::jobs::snapshot_create::{self, verdict_for, CreateError, CreateJob};
use virtsnap::libvirt::storage;
use virtsnap::libvirt::vmdef::{DiskFormat, TinyCpu, TinyVm};
use virtsnap::model::snapshot::SnapshotLocation;
use virtsnap::model::storage::{
    decide_create, plan_delete, plan_revert, AfterRevert, CreateDenied, CreateIntent, DeleteMode,
    Layout, RefusalKind, RevertOptions,
};
use virtsnap::model::HostCapabilities;

#[derive(Debug, Clone, PartialEq)]
enum Said {
    Yes,
    Libvirt(String),
    Protects(RefusalKind),
    Failed(String),
}

#[derive(Debug)]
struct Cell {
    config: &'static str,
    op: String,
    predicted: Said,
    action: Said,
    /// libvirt's answer to its own plain request, when virtsnap predicted its refusal.
    libvirt: Option<Result<(), String>>,
}

impl Cell {
    fn agrees(&self) -> bool {
        match (&self.predicted, &self.action) {
            (Said::Yes, Said::Yes) => true,
            (Said::Libvirt(_), Said::Libvirt(_)) => matches!(self.libvirt, None | Some(Err(_))),
            (Said::Protects(a), Said::Protects(b)) => a == b,
            _ => false,
        }
    }
}

static CELLS: Mutex<Vec<Cell>> = Mutex::new(Vec::new());

struct Run<'a> {
    conn: &'a Connect,
    config: &'static str,
    vm: TestVm,
}

impl Run<'_> {
    fn layout(&self) -> Layout {
        storage::read_layout(self.conn, &self.vm.name).expect("layout")
    }

    fn record(
        &self,
        op: String,
        predicted: Said,
        action: Said,
        libvirt: Option<Result<(), String>>,
    ) {
        let cell = Cell {
            config: self.config,
            op,
            predicted,
            action,
            libvirt,
        };
        if !cell.agrees() {
            println!("DISAGREES: {cell:?}");
        }
        CELLS.lock().unwrap().push(cell);
    }

    fn track(&mut self) {
        for f in self.layout().named_files() {
            if !f.starts_with("/dev") {
                self.vm.track(f.into());
            }
        }
    }

    fn create(&mut self, name: &str, memory: bool) {
        self.create_kind(name, memory, None)
    }

    fn create_kind(&mut self, name: &str, memory: bool, kind: Option<SnapshotLocation>) {
        let layout = self.layout();
        let host = self
            .conn
            .capabilities()
            .ok()
            .and_then(|x| HostCapabilities::from_xml(&x).ok());
        let verdict = verdict_for(&layout, host.as_ref());
        let mut intent = CreateIntent {
            name: name.into(),
            memory,
            quiesce: false,
            location: kind,
        };
        let predicted = match decide_create(&layout, &verdict, &intent) {
            Ok(_) => Said::Yes,
            // The admin confirms the mix: then the plan is a yes.
            Err(CreateDenied::NeedsConfirmation { location, .. }) => {
                intent.location = Some(location);
                Said::Yes
            }
            Err(CreateDenied::Refused(t)) => Said::Libvirt(t),
        };
        let job = CreateJob {
            domain: self.vm.name.clone(),
            name: name.into(),
            description: None,
            memory,
            quiesce: false,
            location: intent.location,
        };
        let action =
            match with_job_context(self.conn, true, |ctx| snapshot_create::create(ctx, &job)).0 {
                Ok(_) => Said::Yes,
                Err(CreateError::Refused(t)) => Said::Libvirt(t),
                Err(CreateError::Failed(t)) => Said::Failed(t),
                Err(CreateError::QuiesceFailed(f)) => Said::Failed(f.text),
            };
        self.track();
        // libvirt's own answer to the plain request for what virtsnap refused.
        let libvirt = matches!(predicted, Said::Libvirt(_)).then(|| {
            let flags = if memory {
                0
            } else {
                virt::sys::VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY
            };
            let probe = format!("{name}-plain");
            let xml = format!("<domainsnapshot><name>{probe}</name></domainsnapshot>");
            let r = self
                .vm
                .dom
                .create_snapshot_xml(&xml, flags)
                .map(|s| {
                    let _ = s.delete(virt::sys::VIR_DOMAIN_SNAPSHOT_DELETE_METADATA_ONLY);
                })
                .map_err(|e| e.message().to_string());
            self.track();
            r
        });
        let what = if memory { "memory" } else { "disk-only" };
        let state = if self.vm.dom.is_active().unwrap_or(false) {
            "running"
        } else {
            "shut off"
        };
        self.record(
            format!("create {what} ({state})"),
            predicted,
            action,
            libvirt,
        );
    }

    fn revert(&mut self, target: &str, after: AfterRevert) {
        let layout = self.layout();
        let options = RevertOptions {
            after,
            safety: None,
            stop_first: false,
        };
        let plan = plan_revert(&layout, target, &options, &Default::default());
        let predicted = match &plan.refusal {
            None => Said::Yes,
            Some(r) if r.kind == RefusalKind::Libvirt => Said::Libvirt(r.reason.clone()),
            Some(r) => Said::Protects(r.kind),
        };
        let job = RevertJob {
            domain: self.vm.name.clone(),
            snapshot: target.into(),
            after,
            safety: None,
            stop_first: false,
            stop_timeout_secs: 2,
        };
        let action = match with_job_context(self.conn, true, |ctx| revert::run_planned(ctx, &job)).0
        {
            Ok(_) => Said::Yes,
            Err(RevertError::Refused(r)) if r.kind == RefusalKind::Libvirt => {
                Said::Libvirt(r.reason)
            }
            Err(RevertError::Refused(r)) => Said::Protects(r.kind),
            Err(RevertError::Failed(t)) => Said::Failed(t),
        };
        self.track();
        // Asking libvirt directly what it refuses (never where it would crash).
        let libvirt = match &predicted {
            Said::Libvirt(why) if !why.contains("crashes") => {
                let r = Domain::lookup_snapshot_by_name(&self.vm.dom, target, 0)
                    .and_then(|s| s.revert(after.flags()))
                    .map_err(|e| e.message().to_string());
                self.track();
                Some(r)
            }
            _ => None,
        };
        self.record(
            format!("revert to {target} {after:?}"),
            predicted,
            action,
            libvirt,
        );
    }

    fn delete(&mut self, name: &str, mode: DeleteMode) {
        let layout = self.layout();
        if layout.snapshot(name).is_none() {
            return;
        }
        let plan = plan_delete(&layout, name, mode);
        let predicted = match &plan.refusal {
            None => Said::Yes,
            Some(r) if matches!(r.kind, RefusalKind::Libvirt | RefusalKind::Input) => {
                Said::Libvirt(r.reason.clone())
            }
            Some(r) => Said::Protects(r.kind),
        };
        let job = DeleteJob {
            domain: self.vm.name.clone(),
            snapshot: name.into(),
            mode,
        };
        let action = match with_job_context(self.conn, true, |ctx| delete::run_planned(ctx, &job)).0
        {
            Ok(_) => Said::Yes,
            Err(DeleteError::Refused(r))
                if matches!(r.kind, RefusalKind::Libvirt | RefusalKind::Input) =>
            {
                Said::Libvirt(r.reason)
            }
            Err(DeleteError::Refused(r)) => Said::Protects(r.kind),
            Err(DeleteError::Failed(t)) => Said::Failed(t),
        };
        let libvirt = match &predicted {
            Said::Libvirt(why) if !why.contains("crashes") && !why.contains("no children") => {
                let r = Domain::lookup_snapshot_by_name(&self.vm.dom, name, 0)
                    .and_then(|s| s.delete(mode.flags()))
                    .map_err(|e| e.message().to_string());
                Some(r)
            }
            _ => None,
        };
        self.track();
        self.record(
            format!("delete {name} {mode:?}"),
            predicted,
            action,
            libvirt,
        );
    }

    /// Every operation on this configuration. `first` is the kind of the first snapshot (a
    /// legacy internal tree, or virtsnap's default).
    fn all(&mut self, startable: bool, transient: bool, first: Option<SnapshotLocation>) {
        if !transient {
            self.create_kind("off", false, first);
        }
        if startable && !self.vm.dom.is_active().unwrap_or(false) {
            self.vm.dom.create().expect("start");
        }
        if startable {
            self.create("mem", true);
            self.create("disk", false);
        }
        let names: Vec<String> = self
            .layout()
            .snapshots
            .iter()
            .map(|s| s.name.clone())
            .collect();
        for name in &names {
            for after in AfterRevert::ALL {
                self.revert(name, after);
            }
        }
        // Deletes: each mode once, on the snapshot it fits best.
        let names: Vec<String> = self
            .layout()
            .snapshots
            .iter()
            .map(|s| s.name.clone())
            .collect();
        if let Some(root) = names.first() {
            self.delete(root, DeleteMode::ChildrenOnly);
        }
        if let Some(last) = self.layout().snapshots.last().map(|s| s.name.clone()) {
            self.delete(&last, DeleteMode::MetadataOnly);
        }
        if let Some(first) = self.layout().snapshots.first().map(|s| s.name.clone()) {
            self.delete(&first, DeleteMode::This);
        }
        if let Some(first) = self.layout().snapshots.first().map(|s| s.name.clone()) {
            self.delete(&first, DeleteMode::WithChildren);
        }
    }
}

fn tiny(base: &str, format: DiskFormat) -> TinyVm {
    let disk = make_disk(base, format).unwrap();
    TinyVm::new(base, TinyCpu::Default)
        .with_nested_host_workarounds()
        .disk(disk, format)
}

fn define(conn: &Connect, vm: TinyVm, edit: impl Fn(String) -> String) -> TestVm {
    let mut vm = vm;
    vm.name = unique_name(&vm.name);
    let dom = conn.define_domain_xml(&edit(vm.to_xml())).expect("define");
    TestVm::adopt(dom, vm)
}

fn config(conn: &Connect, name: &'static str) {
    let same = |x: String| x;
    let mut first = None;
    let (vm, startable, transient) = match name {
        "file-qcow2" => (
            define(conn, tiny("cf-q", DiskFormat::Qcow2), same),
            true,
            false,
        ),
        "file-qcow2-internal-tree" => {
            first = Some(SnapshotLocation::Internal);
            (
                define(conn, tiny("cf-qi", DiskFormat::Qcow2), same),
                true,
                false,
            )
        }
        "9p-share" => {
            let dir = embed_root().join(unique_name("cf-9p"));
            std::fs::create_dir_all(&dir).unwrap();
            let fs = format!(
                "<filesystem type='mount' accessmode='passthrough'><driver type='path'/><source dir='{}'/><target dir='share'/></filesystem></devices>",
                dir.display()
            );
            (
                define(conn, tiny("cf-9p", DiskFormat::Qcow2), |x| {
                    x.replacen("</devices>", &fs, 1)
                }),
                true,
                false,
            )
        }
        "file-raw" => (
            define(conn, tiny("cf-r", DiskFormat::Raw), same),
            true,
            false,
        ),
        "cdrom-with-image" => {
            let iso = embed_root()
                .join("disks")
                .join(format!("{}.iso", unique_name("cf-iso")));
            std::fs::write(&iso, vec![0u8; 1 << 20]).unwrap();
            let cd = format!(
                "<disk type='file' device='cdrom'><driver name='qemu' type='raw'/><source file='{}'/><target dev='sda' bus='sata'/><readonly/></disk></devices>",
                iso.display()
            );
            let mut vm = define(conn, tiny("cf-cd", DiskFormat::Qcow2), |x| {
                x.replacen("</devices>", &cd, 1)
            });
            vm.track(iso);
            (vm, true, false)
        }
        "cdrom-empty" => {
            let cd = "<disk type='file' device='cdrom'><target dev='sda' bus='sata'/><readonly/></disk></devices>";
            (
                define(conn, tiny("cf-cde", DiskFormat::Qcow2), |x| {
                    x.replacen("</devices>", cd, 1)
                }),
                true,
                false,
            )
        }
        "no-disk" => {
            let mut t = TinyVm::new("cf-none", TinyCpu::Default).with_nested_host_workarounds();
            t.name = unique_name(&t.name);
            let dom = conn.define_domain_xml(&t.to_xml()).unwrap();
            (TestVm::adopt(dom, t), true, false)
        }
        "transient-domain" => {
            let mut t = tiny("cf-tr", DiskFormat::Qcow2);
            t.name = unique_name(&t.name);
            let dom = conn
                .create_domain_xml(&t.to_xml(), 0)
                .expect("create transient");
            (TestVm::adopt(dom, t), true, true)
        }
        "qcow2-data-file" => {
            let dir = embed_root().join("disks");
            let base = unique_name("cf-df");
            let image = dir.join(format!("{base}.qcow2"));
            let data = dir.join(format!("{base}.raw"));
            let ok = std::process::Command::new("qemu-img")
                .args(["create", "-q", "-f", "qcow2", "-o"])
                .arg(format!("data_file={},data_file_raw=on", data.display()))
                .arg(&image)
                .arg("16M")
                .status()
                .unwrap();
            assert!(ok.success());
            let t = TinyVm::new("cf-df", TinyCpu::Default)
                .with_nested_host_workarounds()
                .disk(&image, DiskFormat::Qcow2);
            let source = format!("<source file=\"{}\"/>", image.display());
            let store = format!(
                "<source file='{}'><dataStore type='file'><format type='raw'/><source file='{}'/></dataStore></source>",
                image.display(),
                data.display()
            );
            let mut vm = define(conn, t, |x| x.replacen(&source, &store, 1));
            vm.track(data);
            (vm, true, false)
        }
        "uefi-tcg" => {
            // OVMF runs only under TCG on these nested hosts.
            let mut t = tiny("cf-efi", DiskFormat::Qcow2);
            t.domain_type = "qemu".into();
            t.memory_mib = 256;
            let edit = |x: String| x.replacen("<os>", "<os firmware=\"efi\">", 1);
            (define(conn, t, edit), true, false)
        }
        other => panic!("no configuration {other}"),
    };
    let mut run = Run {
        conn,
        config: name,
        vm,
    };
    run.all(startable, transient, first);
}

#[test]
fn prediction_action_and_libvirt_agree_on_every_cell() {
    let Some(conn) = embed_conn() else { return };
    let configs = [
        "file-qcow2",
        "file-qcow2-internal-tree",
        "9p-share",
        "file-raw",
        "cdrom-with-image",
        "cdrom-empty",
        "no-disk",
        "transient-domain",
        "qcow2-data-file",
        "uefi-tcg",
    ];
    let started = std::time::Instant::now();
    std::thread::scope(|s| {
        for half in configs.chunks(configs.len().div_ceil(2)) {
            s.spawn(move || {
                for c in half {
                    config(conn, c);
                }
            });
        }
    });
    let cells = CELLS.lock().unwrap();
    let agree = cells.iter().filter(|c| c.agrees()).count();
    let mut by: BTreeMap<String, usize> = BTreeMap::new();
    for c in cells.iter() {
        let key = match &c.predicted {
            Said::Yes => "done".to_string(),
            Said::Libvirt(_) => "refused as libvirt would".to_string(),
            Said::Protects(k) => format!("refused to protect data ({k:?})"),
            Said::Failed(_) => "failed".to_string(),
        };
        *by.entry(key).or_default() += 1;
    }
    println!(
        "conformance: {} configurations, {} cells, {agree} agree; {by:?}; {:.1} s",
        configs.len(),
        cells.len(),
        started.elapsed().as_secs_f64()
    );
    for c in cells.iter() {
        let short = |s: &Said| match s {
            Said::Yes => "yes".to_string(),
            Said::Libvirt(w) => format!(
                "libvirt-refuses ({})",
                w.chars().take(60).collect::<String>()
            ),
            Said::Protects(k) => format!("protects {k:?}"),
            Said::Failed(w) => format!("FAILED {w}"),
        };
        let asked = match &c.libvirt {
            None => String::new(),
            Some(Ok(())) => " | libvirt: took it".into(),
            Some(Err(e)) => format!(" | libvirt: {}", e.chars().take(60).collect::<String>()),
        };
        println!(
            "{:18} {:34} {}{}",
            c.config,
            c.op,
            short(&c.predicted),
            if c.predicted == c.action {
                asked
            } else {
                format!(" / action {}{asked}", short(&c.action))
            }
        );
    }
    let bad: Vec<&Cell> = cells.iter().filter(|c| !c.agrees()).collect();
    assert!(bad.is_empty(), "{} cells disagree: {bad:#?}", bad.len());
}
