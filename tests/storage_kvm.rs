//! The storage table's rows on real QEMU (embedded driver): a qcow2 image with an external data
//! file, a block device (a loop device), a CD-ROM with an image, a transient disk. For each,
//! what virtsnap plans (`check`'s and the dialog's decision) is what libvirt then does, and
//! bytes come back as captured.
//! Run: `cargo test --test storage_kvm -- --nocapture`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::snap::create;
use common::{embed_conn, embed_root, make_disk, unique_name, with_job_context, TestVm};
use virt::connect::Connect;
use virtsnap::libvirt::jobs::delete::{self, DeleteJob};
use virtsnap::libvirt::jobs::revert::{self, RevertError, RevertJob};
use virtsnap::libvirt::jobs::snapshot_create::CreateError;
use virtsnap::libvirt::storage;
use virtsnap::libvirt::vmdef::{DiskFormat, TinyCpu, TinyVm};
use virtsnap::model::snapshot::SnapshotLocation;
use virtsnap::model::storage::{AfterRevert, DeleteMode, RefusalKind};

fn revert(conn: &Connect, vm: &TestVm, target: &str) -> Result<String, RevertError> {
    let job = RevertJob {
        domain: vm.name.clone(),
        snapshot: target.into(),
        after: AfterRevert::Saved,
        safety: None,
        stop_first: false,
        stop_timeout_secs: 2,
    };
    with_job_context(conn, true, |ctx| revert::run_planned(ctx, &job)).0
}

fn io(file: &str, format: &str, cmd: &str) -> String {
    let out = Command::new("qemu-io")
        .args(["-f", format, "-U", "-c", cmd, file])
        .output()
        .expect("qemu-io");
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Defines a VM from `vm`'s XML with `edit` applied to it (for disk XML TinyVm cannot write).
fn define_edited(conn: &Connect, vm: TinyVm, edit: impl Fn(String) -> String) -> TestVm {
    let mut vm = vm;
    vm.name = unique_name(&vm.name);
    let xml = edit(vm.to_xml());
    let dom = conn
        .define_domain_xml(&xml)
        .unwrap_or_else(|e| panic!("{}\n{xml}", e.message()));
    TestVm::adopt(dom, vm)
}

#[test]
fn a_qcow2_with_an_external_data_file_takes_external_snapshots_only() {
    let Some(conn) = embed_conn() else { return };
    let dir = embed_root().join("disks");
    let name = unique_name("datafile");
    let image = dir.join(format!("{name}.qcow2"));
    let data = dir.join(format!("{name}.raw"));
    let made = Command::new("qemu-img")
        .args(["create", "-q", "-f", "qcow2", "-o"])
        .arg(format!("data_file={},data_file_raw=on", data.display()))
        .arg(&image)
        .arg("16M")
        .status()
        .unwrap();
    assert!(made.success());
    let tiny = TinyVm::new("datafile", TinyCpu::Default)
        .with_nested_host_workarounds()
        .disk(&image, DiskFormat::Qcow2);
    // TinyVm's XML (quick-xml) quotes attributes with '"'.
    let source = format!("<source file=\"{}\"/>", image.display());
    let with_store = format!(
        "<source file='{}'><dataStore type='file'><format type='raw'/><source file='{}'/></dataStore></source>",
        image.display(),
        data.display()
    );
    let mut vm = define_edited(conn, tiny, |x| x.replacen(&source, &with_store, 1));
    vm.track(data.clone());
    // Internal, asked for explicitly: refused up front with the reason.
    let err = create(conn, &mut vm, "i", Some(SnapshotLocation::Internal), false).unwrap_err();
    assert!(
        matches!(&err, CreateError::Refused(t) if t.contains("external data file")),
        "{err:?}"
    );
    // The default: external; libvirt takes it.
    io(image.to_str().unwrap(), "qcow2", "write -P 0x5a 0 4k");
    let c = create(conn, &mut vm, "e", None, false).unwrap();
    assert_eq!(c.location, SnapshotLocation::External);
    io(c.files[0].to_str().unwrap(), "qcow2", "write -P 0x6b 0 4k");
    revert(conn, &vm, "e").unwrap();
    let layout = storage::read_layout(conn, &vm.name).unwrap();
    let top = layout.disks[0].top.clone().unwrap();
    vm.track(PathBuf::from(&top));
    let text = io(&top, "qcow2", "read -P 0x5a 0 4k");
    assert!(!text.contains("verification failed"), "{text}");
    // Running: a memory snapshot is external too.
    vm.dom.create().unwrap();
    let c = create(conn, &mut vm, "m", None, true).unwrap();
    assert_eq!((c.location, c.memory), (SnapshotLocation::External, true));
}

/// A loop device over a fresh raw file, detached on drop.
struct Loop {
    dev: String,
    file: PathBuf,
}

impl Loop {
    fn new() -> Option<Loop> {
        let file = embed_root()
            .join("disks")
            .join(format!("{}.loop", unique_name("loop")));
        std::fs::write(&file, vec![0u8; 16 << 20]).ok()?;
        let out = Command::new("losetup")
            .args(["-f", "--show"])
            .arg(&file)
            .output()
            .ok()?;
        if !out.status.success() {
            println!(
                "SKIPPED: no loop device: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let _ = std::fs::remove_file(&file);
            return None;
        }
        Some(Loop {
            dev: String::from_utf8_lossy(&out.stdout).trim().to_string(),
            file,
        })
    }
}

impl Drop for Loop {
    fn drop(&mut self) {
        let _ = Command::new("losetup").args(["-d", &self.dev]).status();
        let _ = std::fs::remove_file(&self.file);
    }
}

#[test]
fn a_block_device_gets_a_file_overlay_and_its_snapshots_are_not_reverted() {
    let Some(conn) = embed_conn() else { return };
    let Some(lo) = Loop::new() else { return };
    // A qcow2 file disk beside it, so the overlay goes next to the VM's images, not into
    // /var/lib/libvirt/images.
    let disk = make_disk("blk", DiskFormat::Qcow2).unwrap();
    let tiny = TinyVm::new("blk", TinyCpu::Default)
        .with_nested_host_workarounds()
        .disk(&disk, DiskFormat::Qcow2)
        .disk(Path::new("/dev/placeholder"), DiskFormat::Raw);
    let file_disk = "<source file=\"/dev/placeholder\"/>".to_string();
    let dev = lo.dev.clone();
    let mut vm = define_edited(conn, tiny, |x| {
        let i = x.rfind("<disk type=\"file\"").unwrap();
        let (a, b) = x.split_at(i);
        format!(
            "{a}{}",
            b.replacen("<disk type=\"file\"", "<disk type=\"block\"", 1)
        )
        .replacen(&file_disk, &format!("<source dev='{dev}'/>"), 1)
    });
    vm.dom.create().unwrap();
    let c = create(conn, &mut vm, "d1", None, false).unwrap();
    assert_eq!(c.location, SnapshotLocation::External);
    let block_overlay = c
        .files
        .iter()
        .find(|f| f.to_string_lossy().contains("-vdb.d1"))
        .cloned();
    let block_overlay = block_overlay.unwrap_or_else(|| panic!("{:?}", c.files));
    assert_eq!(
        block_overlay.parent(),
        disk.parent(),
        "next to the VM's image"
    );
    // Reverting to it is refused up front in libvirt's words, and nothing stops the VM.
    let err = revert(conn, &vm, "d1").unwrap_err();
    let RevertError::Refused(r) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(r.kind, RefusalKind::Libvirt);
    assert!(r.reason.contains("not a regular file"), "{}", r.reason);
    assert!(vm.dom.is_active().unwrap());
    // Deleting it merges the overlays back (into the block device too).
    let job = DeleteJob {
        domain: vm.name.clone(),
        snapshot: "d1".into(),
        mode: DeleteMode::This,
    };
    with_job_context(conn, true, |ctx| delete::run_planned(ctx, &job))
        .0
        .unwrap();
    let layout = storage::read_layout(conn, &vm.name).unwrap();
    assert_eq!(layout.disks[1].top.as_deref(), Some(lo.dev.as_str()));
    assert!(!block_overlay.exists());
    vm.dom.destroy().unwrap();
}

#[test]
fn a_cdrom_with_an_image_is_not_captured_and_an_external_revert_says_it_gets_an_overlay() {
    let Some(conn) = embed_conn() else { return };
    let disk = make_disk("cd", DiskFormat::Qcow2).unwrap();
    let iso = embed_root()
        .join("disks")
        .join(format!("{}.iso", unique_name("cd")));
    std::fs::write(&iso, vec![0u8; 1 << 20]).unwrap();
    let tiny = TinyVm::new("cd", TinyCpu::Default)
        .with_nested_host_workarounds()
        .disk(&disk, DiskFormat::Qcow2);
    let cdrom = format!(
        "<disk type='file' device='cdrom'><driver name='qemu' type='raw'/><source file='{}'/><target dev='sda' bus='sata'/><readonly/></disk></devices>",
        iso.display()
    );
    let mut vm = define_edited(conn, tiny, |x| x.replacen("</devices>", &cdrom, 1));
    vm.track(iso.clone());
    let c = create(conn, &mut vm, "e1", None, false).unwrap();
    assert_eq!(c.files.len(), 1, "only vda gets an overlay: {:?}", c.files);
    let layout = storage::read_layout(conn, &vm.name).unwrap();
    let plan = virtsnap::model::storage::plan_revert(
        &layout,
        "e1",
        &Default::default(),
        &Default::default(),
    );
    assert!(plan.refusal.is_none(), "{:?}", plan.refusal);
    assert!(
        plan.warnings.iter().any(|w| w.contains("sda")),
        "{:?}",
        plan.warnings
    );
    let iso_overlay = plan
        .effects
        .created
        .iter()
        .find(|f| f.backing.as_deref() == iso.to_str())
        .map(|f| PathBuf::from(&f.path))
        .expect("the plan names the CD-ROM's overlay");
    vm.track(iso_overlay.clone());
    revert(conn, &vm, "e1").unwrap();
    let layout = storage::read_layout(conn, &vm.name).unwrap();
    for i in layout.current_images() {
        vm.track(i.into());
    }
    assert!(
        layout.disks.iter().any(|d| d
            .top
            .as_deref()
            .is_some_and(|t| Path::new(t) == iso_overlay)),
        "libvirt put the CD-ROM on the overlay the plan named: {:?}",
        layout.disks
    );
}

#[test]
fn a_transient_disk_of_a_running_vm_is_refused_up_front_as_libvirt_would() {
    let Some(conn) = embed_conn() else { return };
    let disk = make_disk("trans", DiskFormat::Qcow2).unwrap();
    let tiny = TinyVm::new("trans", TinyCpu::Default)
        .with_nested_host_workarounds()
        .disk(&disk, DiskFormat::Qcow2);
    let mut vm = define_edited(conn, tiny, |x| {
        x.replacen("<target dev=\"vda\"", "<transient/><target dev=\"vda\"", 1)
    });
    vm.dom.create().unwrap();
    for memory in [false, true] {
        let err = create(conn, &mut vm, "t", None, memory).unwrap_err();
        assert!(
            matches!(&err, CreateError::Refused(t) if t.contains("transient")),
            "{err:?}"
        );
        // libvirt agrees: the plain request (its own defaults) fails too.
        let flags = if memory {
            0
        } else {
            virt::sys::VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY
        };
        let raw = vm
            .dom
            .create_snapshot_xml("<domainsnapshot><name>t</name></domainsnapshot>", flags);
        assert!(
            raw.is_err(),
            "libvirt took what virtsnap refused (memory={memory})"
        );
    }
}
