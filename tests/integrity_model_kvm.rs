//! Model-based, randomized proof of snapshot integrity on real QEMU (embedded driver).
//!
//! A seeded sequence of steps (the seed is printed; `VIRTSNAP_SEED=N` replays one) on one tiny
//! VM with a qcow2 disk: creates of every kind virtsnap offers (following the tree, or a kind
//! asked for explicitly, with and without memory), reverts with and without the safety
//! snapshot and with each after-state, deletes in every mode, starts and stops, and a unique
//! 16-bit marker written into the stopped VM's top image between steps. The test keeps the
//! marker each snapshot captured. After every step:
//! - every surviving snapshot, read where libvirt will restore it from (its internal snapshot
//!   inside its image, or the image an external snapshot's overlays are built on), holds
//!   exactly the marker it captured;
//! - the VM's disk holds the marker it should (the last one written, or the one a revert
//!   brought back);
//! - or the step was refused up front, and then nothing changed (same snapshots, same current
//!   one, same bytes).
//!
//! Every few steps, and at the end, each snapshot is also reverted to through virtsnap's own
//! job and its marker read back from the running disk.
//!
//! CI runs a short sequence (`VIRTSNAP_STEPS`, default 24); `cargo test --release --test
//! integrity_model_kvm -- --ignored --nocapture` runs 200 steps. To replay the first N steps
//! of a long run: `VIRTSNAP_SEED=S VIRTSNAP_STEPS=N VIRTSNAP_SWEEP_EVERY=25 VIRTSNAP_TRACE=1`
//! with the short test.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{embed_conn, embed_root, make_disk, with_job_context, TestVm};
use virt::connect::Connect;
use virtsnap::libvirt::jobs::delete::{self, DeleteError, DeleteJob};
use virtsnap::libvirt::jobs::revert::{self, RevertError, RevertJob};
use virtsnap::libvirt::jobs::snapshot_create::{self, CreateError, CreateJob};
use virtsnap::libvirt::storage;
use virtsnap::libvirt::vmdef::{DiskFormat, TinyCpu, TinyVm};
use virtsnap::model::snapshot::{DiskSnapshotMode, SnapshotLocation};
use virtsnap::model::storage::{AfterRevert, DeleteMode, Layout, RefusalKind};

/// `VIRTSNAP_TRACE=1` prints every step as it runs, and libvirt's view at a mismatch.
fn trace() -> bool {
    std::env::var_os("VIRTSNAP_TRACE").is_some()
}

/// splitmix64: a seeded, dependency-free generator; the same seed gives the same steps.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        (!items.is_empty()).then(|| &items[self.below(items.len())])
    }
}

/// The marker is two bytes, at 0 KiB (high) and 64 KiB (low) of the disk.
fn write_marker(file: &str, marker: u16) {
    let hi = format!("write -P {} 0 4k", marker >> 8);
    let lo = format!("write -P {} 64k 4k", marker & 0xff);
    let out = Command::new("qemu-io")
        .args(["-f", "qcow2", "-c", &hi, "-c", &lo, file])
        .output()
        .expect("qemu-io");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.matches("wrote 4096/4096").count() == 2,
        "write {marker} into {file}: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The marker as seen through `file` (its whole backing chain), or inside its internal
/// snapshot `internal`: the image is copied out with `qemu-img convert` (read-only, shared).
fn read_marker(file: &str, internal: Option<&str>, scratch: &Path) -> Result<u16, String> {
    let out = scratch.join("marker.raw");
    let _ = std::fs::remove_file(&out);
    let mut cmd = Command::new("qemu-img");
    cmd.args(["convert", "-U", "-f", "qcow2"]);
    if let Some(name) = internal {
        cmd.args(["-l", &format!("snapshot.name={name}")]);
    }
    cmd.args(["-O", "raw", file]).arg(&out);
    let run = cmd.output().expect("qemu-img");
    if !run.status.success() {
        return Err(format!(
            "qemu-img convert {file} ({internal:?}): {}",
            String::from_utf8_lossy(&run.stderr)
        ));
    }
    let bytes = std::fs::read(&out).map_err(|e| e.to_string())?;
    let _ = std::fs::remove_file(&out);
    let (hi, lo) = (bytes.first().copied(), bytes.get(64 * 1024).copied());
    match (hi, lo) {
        (Some(hi), Some(lo)) => Ok(u16::from(hi) << 8 | u16::from(lo)),
        _ => Err(format!("{file}: short image")),
    }
}

/// What the test knows the bytes should be.
#[derive(Default)]
struct Expect {
    /// Snapshot name -> the marker it captured.
    snapshots: BTreeMap<String, u16>,
    /// What the VM's disk holds now.
    current: u16,
}

#[derive(Default)]
struct Tally {
    steps: usize,
    done: BTreeMap<String, usize>,
    refused: BTreeMap<String, usize>,
    /// Bytes that differ from what they should be, or libvirt errors after a plan said yes.
    mismatches: Vec<String>,
    verified_at_rest: usize,
    verified_by_revert: usize,
}

impl Tally {
    fn did(&mut self, what: &str) {
        *self.done.entry(what.to_string()).or_default() += 1;
    }

    fn refuse(&mut self, what: &str, kind: RefusalKind) {
        *self.refused.entry(format!("{what}: {kind:?}")).or_default() += 1;
    }
}

struct World<'a> {
    conn: &'a Connect,
    vm: TestVm,
    rng: Rng,
    expect: Expect,
    tally: Tally,
    scratch: PathBuf,
    next_marker: u16,
    log: Vec<String>,
}

impl World<'_> {
    fn layout(&self) -> Layout {
        storage::read_layout(self.conn, &self.vm.name).expect("read the layout")
    }

    fn running(&self) -> bool {
        self.vm.dom.is_active().unwrap_or(false)
    }

    fn top(&self) -> String {
        self.layout().disks[0]
            .top
            .clone()
            .expect("vda has an image")
    }

    /// The snapshots, the current one and the disk's marker: what a refusal must not change.
    fn fingerprint(&self) -> (Vec<String>, Option<String>, Result<u16, String>) {
        let layout = self.layout();
        let names = layout.snapshots.iter().map(|s| s.name.clone()).collect();
        let top = layout.disks[0].top.clone().unwrap_or_default();
        (
            names,
            layout.current.clone(),
            read_marker(&top, None, &self.scratch),
        )
    }

    fn track_files(&mut self) {
        for f in self.layout().named_files() {
            self.vm.track(f.into());
        }
    }

    fn mismatch(&mut self, what: String) {
        println!("MISMATCH: {what}\n  after: {}", self.log.join(" | "));
        if trace() {
            // What libvirt and the images looked like, for the replay's reader.
            if let Ok(xml) = self.vm.dom.xml_desc(0) {
                for line in xml.lines().filter(|l| {
                    l.contains("<source") || l.contains("<disk") || l.contains("backingStore")
                }) {
                    println!("  live: {}", line.trim());
                }
            }
            println!("  layout: {:#?}", self.layout());
        }
        self.tally
            .mismatches
            .push(format!("{} (after: {})", what, self.log.join(" | ")));
    }

    /// Every surviving snapshot, read where libvirt restores it from, holds its marker; the
    /// disk holds the current marker.
    fn verify_at_rest(&mut self) {
        let layout = self.layout();
        let names: BTreeSet<String> = layout.snapshots.iter().map(|s| s.name.clone()).collect();
        let known: BTreeSet<String> = self.expect.snapshots.keys().cloned().collect();
        if names != known {
            self.mismatch(format!(
                "libvirt lists {names:?}, the test expects {known:?}"
            ));
            self.expect.snapshots.retain(|n, _| names.contains(n));
        }
        for s in &layout.snapshots {
            let Some(want) = self.expect.snapshots.get(&s.name).copied() else {
                continue;
            };
            let Some(d) = s.disk("vda") else { continue };
            let Some(image) = d.image.clone() else {
                continue;
            };
            let got = match d.mode {
                DiskSnapshotMode::Internal => read_marker(&image, Some(&s.name), &self.scratch),
                _ => read_marker(&image, None, &self.scratch),
            };
            self.tally.verified_at_rest += 1;
            if got != Ok(want) {
                self.mismatch(format!(
                    "snapshot '{}' holds {got:?}, captured {want}",
                    s.name
                ));
            }
        }
        let top = layout.disks[0].top.clone().unwrap_or_default();
        let got = read_marker(&top, None, &self.scratch);
        if got != Ok(self.expect.current) {
            self.mismatch(format!(
                "the disk holds {got:?}, should hold {}",
                self.expect.current
            ));
            if let Ok(v) = got {
                self.expect.current = v;
            }
        }
    }

    fn step(&mut self) {
        let layout = self.layout();
        let n = layout.snapshots.len();
        let running = self.running();
        let roll = self.rng.below(100);
        let op = match roll {
            _ if n == 0 && roll < 60 => "create",
            0..=17 => "write",
            18..=42 => "create",
            43..=62 => "revert",
            63..=82 if n > 0 => "delete",
            83..=91 => "power",
            _ if n > 8 => "delete",
            _ => "create",
        };
        match op {
            "write" if !running => {
                let top = self.top();
                let m = self.next_marker;
                self.next_marker += 1;
                write_marker(&top, m);
                self.expect.current = m;
                self.log.push(format!("write {m}"));
                self.tally.did("write");
            }
            "write" | "power" => self.power(running),
            "create" => self.create(running, n),
            "revert" if n > 0 => self.revert(&layout),
            "revert" => self.create(running, n),
            _ => self.delete(&layout),
        }
    }

    fn power(&mut self, running: bool) {
        if running {
            self.vm.dom.destroy().expect("stop");
            self.log.push("stop".into());
            self.tally.did("stop");
        } else {
            match self.vm.dom.create() {
                Ok(_) => {
                    self.log.push("start".into());
                    self.tally.did("start");
                }
                Err(e) => self.mismatch(format!("start failed: {}", e.message())),
            }
        }
    }

    fn create(&mut self, running: bool, existing: usize) {
        let name = format!("s{}", self.tally.steps);
        let memory = running && self.rng.chance(50);
        // Mostly what virtsnap picks; sometimes the admin's explicit kind (a confirmed mix).
        let location = if existing > 0 && self.rng.chance(25) {
            Some(if self.rng.chance(50) {
                SnapshotLocation::Internal
            } else {
                SnapshotLocation::External
            })
        } else if existing == 0 && self.rng.chance(40) {
            // A legacy tree: the first snapshot internal, as older virtsnap and virsh made them.
            Some(SnapshotLocation::Internal)
        } else {
            None
        };
        let job = CreateJob {
            domain: self.vm.name.clone(),
            name: name.clone(),
            description: None,
            memory,
            quiesce: false,
            location,
        };
        let before = self.fingerprint();
        let (result, _) =
            with_job_context(self.conn, true, |ctx| snapshot_create::create(ctx, &job));
        let what = format!("create {name} {location:?} memory={memory}");
        match result {
            Ok(created) => {
                self.expect.snapshots.insert(name, self.expect.current);
                self.log.push(format!("{what} -> {:?}", created.location));
                self.tally
                    .did(&format!("create {:?} memory={memory}", created.location));
            }
            Err(CreateError::Refused(why)) => {
                self.log.push(format!("{what} refused"));
                let kind = if why.contains("mix") {
                    "needs confirmation"
                } else {
                    "refused"
                };
                *self
                    .tally
                    .refused
                    .entry(format!("create: {kind}"))
                    .or_default() += 1;
                if self.fingerprint() != before {
                    self.mismatch(format!("{what} was refused ({why}) but something changed"));
                }
            }
            Err(CreateError::Failed(why)) => {
                self.mismatch(format!(
                    "{what}: libvirt failed after a plan said yes: {why}"
                ));
            }
            Err(CreateError::QuiesceFailed(f)) => {
                self.mismatch(format!("{what}: no quiesce was asked, yet: {}", f.text));
            }
        }
        self.track_files();
    }

    fn revert(&mut self, layout: &Layout) {
        let names: Vec<String> = layout.snapshots.iter().map(|s| s.name.clone()).collect();
        let Some(target) = self.rng.pick(&names).cloned() else {
            return;
        };
        let safety = self
            .rng
            .chance(70)
            .then(|| format!("safety{}", self.tally.steps));
        let after = *self
            .rng
            .pick(&AfterRevert::ALL)
            .unwrap_or(&AfterRevert::Saved);
        self.revert_to(&target, safety, after, "revert");
    }

    fn revert_to(
        &mut self,
        target: &str,
        safety: Option<String>,
        after: AfterRevert,
        label: &str,
    ) -> bool {
        let job = RevertJob {
            domain: self.vm.name.clone(),
            snapshot: target.to_string(),
            after,
            safety: safety.clone(),
            stop_first: false,
            stop_timeout_secs: 2,
        };
        let before = self.fingerprint();
        let current_before = self.expect.current;
        let (result, _) = with_job_context(self.conn, true, |ctx| revert::run_planned(ctx, &job));
        let what = format!("{label} {target} safety={safety:?} {after:?}");
        let ok = match result {
            Ok(_) => {
                let want = self.expect.snapshots.get(target).copied().unwrap_or(0);
                self.expect.current = want;
                if let Some(s) = safety {
                    self.expect.snapshots.insert(s, current_before);
                }
                self.log.push(what);
                self.tally
                    .did(&format!("{label} with safety={}", job.safety.is_some()));
                true
            }
            Err(RevertError::Refused(r)) => {
                self.log.push(format!("{what} refused"));
                self.tally.refuse(label, r.kind);
                if self.fingerprint() != before {
                    self.mismatch(format!(
                        "{what} was refused ({}) but something changed",
                        r.reason
                    ));
                }
                false
            }
            Err(RevertError::Failed(why)) => {
                self.mismatch(format!("{what}: failed after a plan said yes: {why}"));
                false
            }
        };
        self.track_files();
        ok
    }

    fn delete(&mut self, layout: &Layout) {
        let names: Vec<String> = layout.snapshots.iter().map(|s| s.name.clone()).collect();
        let Some(name) = self.rng.pick(&names).cloned() else {
            return;
        };
        let mode = *self.rng.pick(&DeleteMode::ALL).unwrap_or(&DeleteMode::This);
        let gone: Vec<String> = match mode {
            DeleteMode::This | DeleteMode::MetadataOnly => vec![name.clone()],
            DeleteMode::WithChildren => std::iter::once(name.clone())
                .chain(layout.descendants(&name).iter().map(|s| s.name.clone()))
                .collect(),
            DeleteMode::ChildrenOnly => layout
                .descendants(&name)
                .iter()
                .map(|s| s.name.clone())
                .collect(),
        };
        let job = DeleteJob {
            domain: self.vm.name.clone(),
            snapshot: name.clone(),
            mode,
        };
        let before = self.fingerprint();
        let (result, _) = with_job_context(self.conn, true, |ctx| delete::run_planned(ctx, &job));
        let what = format!("delete {name} {mode:?}");
        match result {
            Ok(_) => {
                for g in gone {
                    self.expect.snapshots.remove(&g);
                }
                self.log.push(what);
                self.tally.did(&format!("delete {mode:?}"));
            }
            Err(DeleteError::Refused(r)) => {
                self.log.push(format!("{what} refused"));
                self.tally.refuse("delete", r.kind);
                if self.fingerprint() != before {
                    self.mismatch(format!(
                        "{what} was refused ({}) but something changed",
                        r.reason
                    ));
                }
            }
            Err(DeleteError::Failed(why)) => {
                self.mismatch(format!("{what}: failed after a plan said yes: {why}"));
            }
        }
        self.track_files();
    }

    /// Reverts to every snapshot through virtsnap and reads its marker back from the disk.
    fn sweep(&mut self) {
        let mut names: Vec<String> = self.expect.snapshots.keys().cloned().collect();
        for i in (1..names.len()).rev() {
            names.swap(i, self.rng.below(i + 1));
        }
        for name in names {
            if !self.expect.snapshots.contains_key(&name) {
                continue;
            }
            if self.revert_to(&name, None, AfterRevert::Saved, "sweep") {
                self.tally.verified_by_revert += 1;
                self.verify_at_rest();
            }
        }
    }
}

fn run(steps: usize) {
    let Some(conn) = embed_conn() else { return };
    let seed = std::env::var("VIRTSNAP_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        });
    println!("seed {seed} (replay: VIRTSNAP_SEED={seed}), {steps} steps");
    let disk = make_disk("model", DiskFormat::Qcow2).unwrap();
    let tiny = TinyVm::new("model", TinyCpu::Default)
        .with_nested_host_workarounds()
        .disk(&disk, DiskFormat::Qcow2);
    let vm = TestVm::define(conn, tiny).unwrap();
    let scratch = embed_root().join(format!("scratch-{}", vm.name));
    std::fs::create_dir_all(&scratch).unwrap();
    let mut w = World {
        conn,
        vm,
        rng: Rng(seed),
        expect: Expect::default(),
        tally: Tally::default(),
        scratch: scratch.clone(),
        next_marker: 1,
        log: Vec::new(),
    };
    let started = std::time::Instant::now();
    // A sweep reverts to every snapshot (each external revert waits out libvirt's one-second
    // overlay names): often in a short run, less often in a long one.
    // `VIRTSNAP_SWEEP_EVERY` replays a long run's first steps with the long run's sweeps.
    let sweep_every = std::env::var("VIRTSNAP_SWEEP_EVERY")
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|&n: &usize| n > 0)
        .unwrap_or(if steps > 50 { 25 } else { 8 });
    for i in 0..steps {
        w.tally.steps = i;
        w.step();
        if trace() {
            println!("step {i}: {}", w.log.last().map_or("", String::as_str));
        }
        if w.log.len() > 6 {
            w.log.remove(0);
        }
        w.verify_at_rest();
        if i % sweep_every == sweep_every - 1 {
            w.sweep();
        }
    }
    w.tally.steps = steps;
    w.sweep();
    w.verify_at_rest();
    let t = &w.tally;
    println!(
        "seed {seed}: {} steps in {:.1} s; done {:?}; refused up front {:?}; verified {} at rest, {} by revert; mismatches {}",
        t.steps,
        started.elapsed().as_secs_f64(),
        t.done,
        t.refused,
        t.verified_at_rest,
        t.verified_by_revert,
        t.mismatches.len()
    );
    let _ = std::fs::remove_dir_all(&scratch);
    assert!(
        t.mismatches.is_empty(),
        "seed {seed}: {} mismatches:\n{}",
        t.mismatches.len(),
        t.mismatches.join("\n")
    );
}

#[test]
fn a_short_random_sequence_keeps_every_snapshots_bytes() {
    let steps = std::env::var("VIRTSNAP_STEPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(24);
    run(steps);
}

#[test]
#[ignore = "long: 200 steps, several minutes"]
fn a_long_random_sequence_keeps_every_snapshots_bytes() {
    run(200);
}
