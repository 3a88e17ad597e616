//! Quiesce with a real guest agent: a quiesced disk-only snapshot freezes and thaws the guest's
//! file systems (the agent's freeze hook says so) and is marked quiesced; a freeze the guest
//! refuses (its hook fails while /data/.refuse-freeze exists) gets the agent's message, leaves
//! no snapshot half-made (no metadata, no overlay), the file systems thawed, and an offer of a
//! crash-consistent snapshot, marked as such: a question in the TUI's job, an exit-1 message
//! naming the ways out in the CLI.
//! Run: `cargo test --test guest_quiesce -- --nocapture`.

mod common;

use common::guest::{guest_env, sibling, Guest, GuestEnv};
use common::{embed_root, with_job_context};
use virtsnap::cli::snapshot::CreateArgs;
use virtsnap::cli::Target;
use virtsnap::libvirt::jobs::snapshot_create::{self, CreateJob};
use virtsnap::libvirt::jobs::JobUpdate;
use virtsnap::libvirt::ConnectOptions;
use virtsnap::model::snapshot::{SnapshotInfo, SnapshotLocation};

const HOOK_LOG: &str = "/run/fsfreeze-hook.log";

fn quiesce_job(g: &Guest, name: &str) -> CreateJob {
    CreateJob {
        domain: g.name().to_string(),
        name: name.into(),
        description: Some("before the upgrade".into()),
        memory: false,
        quiesce: true,
        location: None,
    }
}

fn snapshot_info(g: &Guest, name: &str) -> SnapshotInfo {
    let snap = virt::domain::Domain::lookup_snapshot_by_name(g.dom(), name, 0)
        .unwrap_or_else(|e| panic!("snapshot {name}: {}", e.message()));
    SnapshotInfo::from_xml(&snap.xml_desc(0).unwrap()).unwrap()
}

fn hook_calls(g: &Guest) -> Vec<String> {
    g.sh(&format!("cat {HOOK_LOG} 2>/dev/null || true"))
        .lines()
        .map(str::to_string)
        .collect()
}

fn boot(env: &GuestEnv, base: &str) -> Guest {
    Guest::boot(env, base, |_| {})
}

#[test]
fn quiesced_snapshot_freezes_and_thaws_and_is_marked() {
    let Some(env) = guest_env() else { return };
    let mut g = boot(env, "quiesce-ok");
    let fs = virtsnap::libvirt::guest::file_systems(g.dom()).unwrap();
    let labels: Vec<String> = fs.iter().map(|f| f.label()).collect();
    println!("file systems a quiesce freezes: {labels:?}");
    assert_eq!(labels, ["/data (ext4 on /dev/vda)"]);
    let job = quiesce_job(&g, "q-ok");
    let (result, updates) =
        with_job_context(env.conn, false, |ctx| snapshot_create::run(ctx, &job));
    g.vm.track(sibling(&g.data_disk, ".q-ok"));
    let said = result.unwrap_or_else(|e| panic!("{e}"));
    println!("{said}");
    assert!(
        !updates.iter().any(|u| matches!(u, JobUpdate::Question(_))),
        "{updates:?}"
    );
    // The hook runs before the freeze and after the thaw: both happened, in that order.
    assert_eq!(hook_calls(&g), ["freeze", "thaw"]);
    assert_eq!(g.fsfreeze_status(), "thawed");
    let info = snapshot_info(&g, "q-ok");
    assert_eq!(info.location, SnapshotLocation::External);
    let description = info.description.unwrap_or_default();
    assert!(description.starts_with("Quiesced: "), "{description}");
    assert!(description.ends_with("before the upgrade"), "{description}");
}

#[test]
fn refused_freeze_leaves_nothing_and_offers_a_crash_consistent_snapshot() {
    let Some(env) = guest_env() else { return };
    let mut g = boot(env, "quiesce-refused");
    g.write_file("/data/.refuse-freeze", "");
    let overlay = sibling(&g.data_disk, ".q-no");
    g.vm.track(overlay.clone());

    // TUI job, answered "no": the explanation is the job's error.
    let job = quiesce_job(&g, "q-no");
    let (result, updates) =
        with_job_context(env.conn, false, |ctx| snapshot_create::run(ctx, &job));
    let text = result.expect_err("the freeze was refused");
    println!("{text}");
    assert!(
        text.contains("fsfreeze hook has failed with status 1"),
        "the agent's message: {text}"
    );
    assert!(text.contains("No snapshot was made"), "{text}");
    assert!(text.contains("The file systems are thawed."), "{text}");
    let question = updates
        .iter()
        .find_map(|u| match u {
            JobUpdate::Question(q) => Some(q),
            _ => None,
        })
        .expect("a crash-consistent snapshot is offered");
    assert!(question.text.contains("crash-consistent"), "{question:?}");
    // Proven, not taken from the text: no metadata, no overlay, thawed.
    assert_eq!(g.dom().list_all_snapshots(0).unwrap().len(), 0);
    assert!(!overlay.exists(), "{} was left", overlay.display());
    assert_eq!(g.fsfreeze_status(), "thawed");
    assert_eq!(hook_calls(&g), ["freeze refused"]);

    // The CLI: exit 1, the agent's words and the ways out.
    g.vm.track(sibling(&g.data_disk, ".q-cli"));
    let target = Target {
        connect: ConnectOptions {
            uri: Some(format!("qemu:///embed?root={}", embed_root().display())),
            readonly: false,
        },
    };
    let args = |fallback: bool| CreateArgs {
        domain: Some(g.name().to_string()),
        name: Some("q-cli".into()),
        name_flag: None,
        prefix: None,
        select: Default::default(),
        dry_run: false,
        memory: false,
        quiesce: true,
        crash_consistent_fallback: fallback,
        kind: None,
        description: None,
        json: false,
    };
    let err = virtsnap::cli::snapshot::create(&target, args(false)).expect_err("refused");
    let err_text = err.to_string();
    println!("CLI: {err_text}");
    assert_eq!(err.exit_code(), 1);
    assert!(err_text.contains("fsfreeze hook has failed"), "{err_text}");
    assert!(err_text.contains("without --quiesce"), "{err_text}");
    assert!(
        err_text.contains("--crash-consistent-fallback"),
        "{err_text}"
    );
    assert_eq!(g.dom().list_all_snapshots(0).unwrap().len(), 0);
    virtsnap::cli::snapshot::create(&target, args(true)).expect("the fallback snapshot");
    let cli_description = snapshot_info(&g, "q-cli").description.unwrap_or_default();
    assert!(
        cli_description.starts_with("Crash-consistent: "),
        "{cli_description}"
    );

    // TUI job, answered "yes": a crash-consistent snapshot, marked in its description.
    let job = quiesce_job(&g, "q-yes");
    g.vm.track(sibling(&g.data_disk, ".q-yes"));
    let (result, _) = with_job_context(env.conn, true, |ctx| snapshot_create::run(ctx, &job));
    let said = result.unwrap_or_else(|e| panic!("{e}"));
    println!("{said}");
    assert!(said.contains("crash-consistent"), "{said}");
    let description = snapshot_info(&g, "q-yes").description.unwrap_or_default();
    println!("description: {description:?}");
    assert!(
        description.starts_with("Crash-consistent: ")
            && description.contains("fsfreeze hook has failed with status 1")
            && description.ends_with("\n\nbefore the upgrade"),
        "{description}"
    );
    assert_eq!(g.fsfreeze_status(), "thawed");
}
