//! The storage model against the real-world cases (../shared/cases) and libvirt 11.3's rules.

use super::fixture::{Fake, FakeDisk, DIR};
use super::*;
use crate::model::snapshot::SnapshotLocation;
use crate::model::DomainState;

const OFF: DomainState = DomainState::Shutoff;
const ON: DomainState = DomainState::Running;

fn memory_ok() -> CreateAbility {
    CreateAbility {
        memory_internal: true,
        memory_external: true,
    }
}

/// invtsc without a pinned frequency: no memory state at all.
fn memory_blocked() -> CreateAbility {
    CreateAbility::default()
}

fn with_safety(after: AfterRevert) -> RevertOptions {
    RevertOptions {
        after,
        safety: Some("pre-revert-x".into()),
        stop_first: false,
    }
}

fn no_safety() -> RevertOptions {
    RevertOptions {
        after: AfterRevert::Saved,
        safety: None,
        stop_first: false,
    }
}

fn reason(p: &RevertPlan) -> String {
    p.refusal.as_ref().map(|r| r.text()).unwrap_or_default()
}

#[test]
fn mixed_chain_revert_to_the_internal_base_is_refused() {
    // mixed-chain-revert.sh: i1 internal in the base image, e1 external on top of it.
    let layout = Fake::new("c07", OFF)
        .internal("i1", false)
        .external("e1", false)
        .layout();
    let plan = plan_revert(
        &layout,
        "i1",
        &with_safety(AfterRevert::Saved),
        &memory_ok(),
    );
    let text = reason(&plan);
    assert!(plan.is_refused(), "{plan:#?}");
    // Either the safety snapshot or e1 itself is named: both live on the rewritten base.
    assert!(text.contains("c07.qcow2"), "{text}");
    let plan = plan_revert(&layout, "i1", &no_safety(), &memory_ok());
    let text = reason(&plan);
    assert!(text.contains("snapshot 'e1'"), "{text}");
    assert!(text.contains("rewrites c07.qcow2 in place"), "{text}");
    assert!(text.contains("forget it first"), "{text}");
}

#[test]
fn reverting_to_the_external_child_keeps_everything() {
    let layout = Fake::new("c07", OFF)
        .internal("i1", false)
        .external("e1", false)
        .layout();
    let plan = plan_revert(
        &layout,
        "e1",
        &with_safety(AfterRevert::Saved),
        &memory_ok(),
    );
    assert!(!plan.is_refused(), "{}", reason(&plan));
    assert!(plan.effects.rewritten.is_empty());
    let safety = plan.safety_plan().expect("a safety snapshot");
    // It follows the tree: the current snapshot e1 is external.
    assert_eq!(safety.location, SnapshotLocation::External);
    assert_eq!(plan.after.state, "shut off");
}

#[test]
fn signature_case_running_invtsc_vm_with_an_internal_target_gets_the_ways_out() {
    // safety-snapshot-over-internal.sh, the product's own case: a host-passthrough VM whose
    // shut-off snapshot A was internal. Running, memory blocked (invtsc).
    let layout = Fake::new("r4", OFF).internal("A", false);
    let layout = Fake {
        state: ON,
        ..layout
    }
    .layout();
    let plan = plan_revert(
        &layout,
        "A",
        &with_safety(AfterRevert::Saved),
        &memory_blocked(),
    );
    assert!(plan.is_refused());
    assert!(
        matches!(plan.safety, SafetyPlan::Impossible { .. }),
        "{:?}",
        plan.safety
    );
    let r = plan.refusal.as_ref().unwrap();
    assert!(r.reason.contains("no safety snapshot"), "{}", r.reason);
    let flags: Vec<&str> = r
        .ways_out
        .iter()
        .filter_map(|w| w.flag.as_deref())
        .collect();
    assert_eq!(flags, ["--stop-first", "--no-safety-snapshot"]);
    // Stop first: an internal safety snapshot of the shut-off VM survives.
    let mut opts = with_safety(AfterRevert::Saved);
    opts.stop_first = true;
    let plan = plan_revert(&layout, "A", &opts, &memory_blocked());
    assert!(!plan.is_refused(), "{}", reason(&plan));
    assert!(plan.stop_first);
    assert_eq!(
        plan.safety_plan().unwrap().location,
        SnapshotLocation::Internal
    );
    // Or revert without one, explicitly.
    let plan = plan_revert(&layout, "A", &no_safety(), &memory_blocked());
    assert!(!plan.is_refused(), "{}", reason(&plan));
}

#[test]
fn a_raw_disk_attached_live_rules_out_every_surviving_safety_snapshot_until_stopped() {
    // The case script's set-up: vda qcow2 holds internal A; a raw vdb is attached live only.
    let mut fake = Fake::new("r4", OFF).internal("A", false);
    fake.state = ON;
    fake.persistent_disks = Some(fake.disks.clone());
    fake.disks.push(FakeDisk {
        target: "vdb".into(),
        kind: "file",
        format: "raw",
        top: format!("{DIR}/r4-raw.img"),
        device: "disk",
    });
    let layout = fake.layout();
    let plan = plan_revert(&layout, "A", &with_safety(AfterRevert::Saved), &memory_ok());
    assert!(plan.is_refused(), "{plan:#?}");
    let mut opts = with_safety(AfterRevert::Saved);
    opts.stop_first = true;
    let plan = plan_revert(&layout, "A", &opts, &memory_ok());
    assert!(!plan.is_refused(), "{}", reason(&plan));
    assert_eq!(
        plan.safety_plan().unwrap().location,
        SnapshotLocation::Internal
    );
}

#[test]
fn an_internal_safety_snapshot_survives_an_internal_revert_of_the_same_image() {
    let layout = Fake::new("web", ON).internal("m1", true).layout();
    let plan = plan_revert(
        &layout,
        "m1",
        &with_safety(AfterRevert::Saved),
        &memory_ok(),
    );
    assert!(!plan.is_refused(), "{}", reason(&plan));
    let s = plan.safety_plan().unwrap();
    assert_eq!((s.location, s.memory), (SnapshotLocation::Internal, true));
    assert_eq!(plan.effects.rewritten.len(), 1);
    assert_eq!(plan.after.state, "running");
}

#[test]
fn numeric_names_are_proven_or_refused() {
    // numeric-snapshot-name.sh: 'base' has ID 1, the snapshot named '1' has ID 2.
    let image = format!("{DIR}/c11.qcow2");
    let layout = Fake::new("c11", OFF)
        .internal("base", false)
        .internal("1", false)
        .table(&image, None, &[("1", "base"), ("2", "1")])
        .layout();
    let plan = plan_revert(&layout, "1", &no_safety(), &memory_ok());
    assert!(
        reason(&plan).contains("ID of the internal snapshot 'base'"),
        "{}",
        reason(&plan)
    );
    // Delete looks names up by name: deleting '1' removes the right one.
    assert!(plan_delete(&layout, "1", DeleteMode::This)
        .refusal
        .is_none());
    // 'base' itself resolves to itself.
    assert!(!plan_revert(&layout, "base", &no_safety(), &memory_ok()).is_refused());
    // When the table proves '1' is ID 1 of itself, it is reverted.
    let layout = Fake::new("c11", OFF)
        .internal("1", false)
        .table(&image, None, &[("1", "1")])
        .layout();
    assert!(!plan_revert(&layout, "1", &no_safety(), &memory_ok()).is_refused());
    // Without the table (a remote host) an all-digit name cannot be proven.
    let mut fake = Fake::new("c11", OFF).internal("1", false);
    fake.local = false;
    let plan = plan_revert(&fake.layout(), "1", &no_safety(), &memory_ok());
    assert!(reason(&plan).contains("cannot read"), "{}", reason(&plan));
    // A duplicate name left in the image by a metadata-only delete is refused too.
    let layout = Fake::new("q4", OFF)
        .internal("s", false)
        .table(&format!("{DIR}/q4.qcow2"), None, &[("1", "s"), ("2", "s")])
        .layout();
    let plan = plan_revert(&layout, "s", &no_safety(), &memory_ok());
    assert!(
        reason(&plan).contains("2 internal snapshots named 's'"),
        "{}",
        reason(&plan)
    );
}

#[test]
fn all_digit_names_and_stale_image_names_are_refused_at_create() {
    let image = format!("{DIR}/web.qcow2");
    let layout = Fake::new("web", OFF)
        .table(&image, None, &[("1", "old")])
        .layout();
    let verdict = crate::model::fixtures::shut_off_verdict();
    let intent = |name: &str| CreateIntent {
        name: name.into(),
        memory: false,
        quiesce: false,
        location: None,
    };
    let e = decide_create(&layout, &verdict, &intent("1")).unwrap_err();
    assert!(e.text().contains("digits only"), "{}", e.text());
    let e = decide_create(&layout, &verdict, &intent("old")).unwrap_err();
    assert!(e.text().contains("no longer lists"), "{}", e.text());
    assert!(decide_create(&layout, &verdict, &intent("fine")).is_ok());
}

#[test]
fn metadata_only_delete_names_the_files_left_and_predicts_the_next_refusal() {
    // metadata-only-delete.sh: e1, e2 external on a running VM, which runs on e2's overlay.
    let layout = Fake::new("r2", ON)
        .external("e1", false)
        .external("e2", false)
        .layout();
    let plan = plan_delete(&layout, "e2", DeleteMode::MetadataOnly);
    assert!(plan.refusal.is_none());
    let top = format!("{DIR}/r2.e2");
    let left = plan
        .left_on_disk
        .iter()
        .find(|f| f.path == top)
        .expect("the overlay");
    assert!(left.in_use, "{left:?}");
    assert!(
        plan.follow_up
            .iter()
            .any(|f| f.contains("deleting 'e1' will be refused")),
        "{:?}",
        plan.follow_up
    );
    // And after it, the delete of e1 is refused up front, with libvirt's reason.
    let after = layout.forgetting("e2");
    let plan = plan_delete(&after, "e1", DeleteMode::This);
    let r = plan.refusal.expect("refused");
    assert!(
        r.reason.contains("parent disk source are not the same"),
        "{}",
        r.reason
    );
    // Before it, deleting e2 (the current leaf) merges its overlay into e1's.
    let plan = plan_delete(&layout, "e2", DeleteMode::This);
    assert!(plan.refusal.is_none(), "{:?}", plan.refusal);
    assert_eq!(plan.effects.commits.len(), 1);
    assert_eq!(plan.effects.commits[0].top, top);
    assert_eq!(plan.effects.commits[0].base, format!("{DIR}/r2.e1"));
}

#[test]
fn external_delete_rules_follow_libvirt() {
    let layout = Fake::new("x", OFF)
        .internal("int-root", false)
        .external("e1", false)
        .layout();
    // An external snapshot whose parent is internal: libvirt refuses the merge.
    let plan = plan_delete(&layout, "e1", DeleteMode::This);
    assert!(
        plan.refusal
            .as_ref()
            .unwrap()
            .reason
            .contains("parent 'int-root' is internal"),
        "{plan:#?}"
    );
    assert!(plan_delete(&layout, "e1", DeleteMode::MetadataOnly)
        .refusal
        .is_none());
    assert!(plan_delete(&layout, "int-root", DeleteMode::WithChildren)
        .refusal
        .unwrap()
        .reason
        .contains("external"));
}

#[test]
fn children_only_of_an_external_snapshot_is_checked_like_the_snapshot_itself() {
    // Found by the random model test (seed 1795987446025478051): libvirt's
    // qemuSnapshotDeleteValidate checks an external snapshot's place in the tree with
    // CHILDREN_ONLY too, though only its internal children go.
    let left = Fake::new("x", OFF)
        .external("e1", false)
        .internal("i2", false)
        .current(None)
        .internal("other", false)
        .layout();
    let plan = plan_delete(&left, "e1", DeleteMode::ChildrenOnly);
    let r = plan.refusal.as_ref().expect("refused");
    assert!(r.reason.contains("not in active chain"), "{}", r.reason);
    assert!(r.reason.contains("the children of"), "{}", r.reason);
    assert!(
        r.ways_out[0].text.contains("each child on its own"),
        "{r:?}"
    );
    // Each child alone is an internal delete, which libvirt accepts.
    assert!(plan_delete(&left, "i2", DeleteMode::This).refusal.is_none());

    let on_branch = Fake::new("x", OFF)
        .external("e1", false)
        .internal("i2", false)
        .layout();
    let plan = plan_delete(&on_branch, "e1", DeleteMode::ChildrenOnly);
    assert!(plan.refusal.is_none(), "{plan:#?}");
    assert_eq!(plan.deleted, vec!["i2".to_string()]);
    assert!(plan.effects.commits.is_empty() && plan.effects.removed.is_empty());

    let current = Fake::new("x", OFF)
        .external("e1", false)
        .internal("i2", false)
        .current(Some("e1"))
        .layout();
    let plan = plan_delete(&current, "e1", DeleteMode::ChildrenOnly);
    assert!(
        plan.refusal
            .as_ref()
            .unwrap()
            .reason
            .contains("is the current snapshot"),
        "{plan:#?}"
    );
}

#[test]
fn an_external_revert_without_a_current_snapshot_is_refused_unless_a_safety_snapshot_is_taken() {
    // libvirt 11.3 segfaults in qemuSnapshotRevertExternalFinish without a current snapshot.
    let layout = Fake::new("x", OFF)
        .external("e1", false)
        .current(None)
        .layout();
    let plan = plan_revert(&layout, "e1", &no_safety(), &memory_ok());
    assert!(reason(&plan).contains("crashes"), "{}", reason(&plan));
    let plan = plan_revert(
        &layout,
        "e1",
        &with_safety(AfterRevert::Saved),
        &memory_ok(),
    );
    assert!(!plan.is_refused(), "{}", reason(&plan));
}

#[test]
fn moving_current_onto_a_parent_does_not_let_a_revert_delete_a_childs_data() {
    // Measured: current moved onto e1 (which has child e2), then a revert deletes e1's
    // overlay = e2's data. Without a safety snapshot this is refused; with one, the safety
    // snapshot becomes current and only its own overlay is deleted.
    let layout = Fake::new("y", OFF)
        .external("e1", false)
        .external("e2", false)
        .current(Some("e1"))
        .layout();
    let plan = plan_revert(&layout, "e2", &no_safety(), &memory_ok());
    assert!(reason(&plan).contains("snapshot 'e2'"), "{}", reason(&plan));
    let plan = plan_revert(
        &layout,
        "e2",
        &with_safety(AfterRevert::Saved),
        &memory_ok(),
    );
    assert!(!plan.is_refused(), "{}", reason(&plan));
}

#[test]
fn after_states_follow_the_snapshot_and_the_domain() {
    // revert-after-state.sh: a disk-only snapshot of a running VM ends shut off.
    let layout = Fake::new("c09", ON).external("d1", false).layout();
    let plan = plan_revert(
        &layout,
        "d1",
        &with_safety(AfterRevert::Saved),
        &memory_ok(),
    );
    assert_eq!(plan.after.state, "shut off");
    assert!(plan.after.why.contains("disk-only"), "{}", plan.after.why);
    let plan = plan_revert(
        &layout,
        "d1",
        &with_safety(AfterRevert::Running),
        &memory_ok(),
    );
    assert_eq!(plan.after.state, "running");
    // A transient domain cannot be left shut off.
    let mut fake = Fake::new("t", ON).external("d1", false);
    fake.persistent = false;
    let plan = plan_revert(&fake.layout(), "d1", &no_safety(), &memory_ok());
    assert!(reason(&plan).contains("transient"), "{}", reason(&plan));
    assert!(!plan_revert(
        &fake.layout(),
        "d1",
        &RevertOptions {
            after: AfterRevert::Paused,
            ..no_safety()
        },
        &memory_ok()
    )
    .is_refused());
}

#[test]
fn a_managed_save_image_is_removed_first_and_said() {
    let mut fake = Fake::new("ms", OFF).internal("off1", false);
    fake.managed_save = true;
    let plan = plan_revert(
        &fake.layout(),
        "off1",
        &with_safety(AfterRevert::Saved),
        &memory_ok(),
    );
    assert!(plan.remove_managed_save);
    assert!(plan.discarded.iter().any(|d| d.contains("managed-save")));
    let lines = render::revert_lines(&plan);
    assert!(lines
        .iter()
        .any(|l| l.text.contains("managed-save image is removed")));
}

#[test]
fn a_definition_roll_back_is_said_before_it_runs() {
    let mut fake = Fake::new("web", OFF).internal("s1", false);
    fake.extra_devices =
        "<channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>"
            .into();
    let plan = plan_revert(&fake.layout(), "s1", &no_safety(), &memory_ok());
    assert!(
        plan.definition_changes
            .iter()
            .any(|c| c.contains("guest agent channel removed")),
        "{:?}",
        plan.definition_changes
    );
}

#[test]
fn new_snapshots_follow_the_tree_and_default_to_external() {
    let verdict = crate::model::fixtures::shut_off_verdict();
    let intent = CreateIntent {
        name: "n".into(),
        memory: false,
        quiesce: false,
        location: None,
    };
    let fresh = Fake::new("web", OFF).layout();
    let p = decide_create(&fresh, &verdict, &intent).unwrap();
    assert_eq!(p.location, SnapshotLocation::External);
    assert_eq!(p.overlay_files[0].to_str(), Some("/i/web.n"));
    let internal = Fake::new("web", OFF).internal("i1", false).layout();
    let p = decide_create(&internal, &verdict, &intent).unwrap();
    assert_eq!(p.location, SnapshotLocation::Internal);
    assert!(
        p.kind_reason.contains("follows the tree"),
        "{}",
        p.kind_reason
    );
    // A pool volume cannot have its external snapshots reverted: internal by default.
    let mut vol = Fake::new("v", OFF);
    vol.disks[0].kind = "volume";
    vol.disks[0].top = "pool1/v1.qcow2".into();
    let p = decide_create(&vol.layout(), &verdict, &intent).unwrap();
    assert_eq!(p.location, SnapshotLocation::Internal);
}

#[test]
fn mixing_kinds_needs_a_confirmation_that_names_the_risk() {
    // Running VM, internal tree, disk-only asked: only external is possible.
    let layout = Fake::new("web", ON).internal("m1", true).layout();
    let verdict = crate::model::fixtures::running_verdict();
    let intent = CreateIntent {
        name: "d1".into(),
        memory: false,
        quiesce: false,
        location: None,
    };
    match decide_create(&layout, &verdict, &intent) {
        Err(CreateDenied::NeedsConfirmation { risk, location }) => {
            assert_eq!(location, SnapshotLocation::External);
            assert!(risk.contains("m1"), "{risk}");
        }
        other => panic!("{other:?}"),
    }
    let confirmed = CreateIntent {
        location: Some(SnapshotLocation::External),
        ..intent
    };
    assert!(decide_create(&layout, &verdict, &confirmed).is_ok());
}

#[test]
fn a_name_problem_is_reported_not_worked_around_by_another_kind() {
    // Too long for the overlay file name: say so, do not fall back to internal silently.
    let mut fake = Fake::new("snapc-10", OFF);
    fake.disks[0].top = format!("{DIR}/{}.qcow2", "d".repeat(60));
    let layout = fake.layout();
    let verdict = crate::model::fixtures::shut_off_verdict();
    let intent = CreateIntent {
        name: "n".repeat(200),
        memory: false,
        quiesce: false,
        location: None,
    };
    let e = decide_create(&layout, &verdict, &intent).unwrap_err();
    assert!(e.text().contains("255"), "{}", e.text());
}

#[test]
fn two_disks_whose_names_differ_only_in_their_suffix_get_distinct_overlays() {
    let mut fake = Fake::new("web", OFF);
    let mut second = fake.disks[0].clone();
    second.target = "vdb".into();
    second.format = "raw";
    second.top = format!("{DIR}/web.img");
    fake.disks.push(second);
    let verdict = crate::model::fixtures::shut_off_verdict();
    let intent = CreateIntent {
        name: "s1".into(),
        memory: false,
        quiesce: false,
        location: None,
    };
    let p = decide_create(&fake.layout(), &verdict, &intent).unwrap();
    let files: Vec<&str> = p
        .overlay_files
        .iter()
        .map(|f| f.to_str().unwrap())
        .collect();
    assert_eq!(files, ["/i/web.s1", "/i/web-vdb.s1"]);
}

/// A paused VM whose last memory snapshot left QEMU in 'postmigrate' (measured with libvirt
/// 11.3 / QEMU 10.0, and found by the random model test, seed 1795987446025478051).
fn inactive(fake: Fake) -> Layout {
    let mut fake = fake;
    fake.disks_inactive = true;
    fake.layout()
}

const PAUSED: DomainState = DomainState::Paused;

#[test]
fn inactive_disks_refuse_memory_snapshots_and_allow_disk_only_ones() {
    let layout = inactive(Fake::new("pm", PAUSED).external("m1", true));
    let memory = CreateIntent {
        name: "m2".into(),
        memory: true,
        quiesce: false,
        location: None,
    };
    let err = plan_create(&layout, &memory, &memory_ok())
        .unwrap_err()
        .to_string();
    assert!(err.contains("'postmigrate'"), "{err}");
    assert!(err.contains("resume the VM"), "{err}");
    for location in [
        Some(SnapshotLocation::Internal),
        Some(SnapshotLocation::External),
    ] {
        let err = plan_create(
            &layout,
            &CreateIntent {
                location,
                ..memory.clone()
            },
            &memory_ok(),
        );
        assert!(err.is_err(), "{location:?}: {err:?}");
    }
    let disk_only = CreateIntent {
        memory: false,
        ..memory
    };
    let plan = plan_create(&layout, &disk_only, &memory_ok()).expect("disk-only works");
    assert_eq!(plan.location, SnapshotLocation::External);
    // The same VM with active disks takes a memory snapshot.
    let mut fake = Fake::new("pm", PAUSED).external("m1", true);
    fake.disks_inactive = false;
    assert!(plan_create(
        &fake.layout(),
        &CreateIntent {
            memory: true,
            ..disk_only
        },
        &memory_ok()
    )
    .is_ok());
}

#[test]
fn inactive_disks_make_the_safety_snapshot_disk_only_and_say_why() {
    let layout = inactive(
        Fake::new("pm", PAUSED)
            .external("e0", false)
            .external("m1", true),
    );
    let plan = plan_revert(
        &layout,
        "e0",
        &with_safety(AfterRevert::Saved),
        &memory_ok(),
    );
    assert!(!plan.is_refused(), "{}", reason(&plan));
    let safety = plan.safety_plan().expect("a safety snapshot");
    assert!(!safety.memory);
    assert!(
        plan.warnings.iter().any(|w| w.contains("disks only")),
        "{:?}",
        plan.warnings
    );
}

#[test]
fn inactive_disks_refuse_internal_deletes_and_merges_but_not_a_plain_leaf_delete() {
    // An internal snapshot in the image the VM runs on (the memory snapshot that made the
    // disks inactive kept the disks where they were).
    let layout = inactive(Fake::new("pm", PAUSED).internal("i0", true));
    let r = plan_delete(&layout, "i0", DeleteMode::This)
        .refusal
        .expect("refused");
    assert!(
        r.reason.contains("delete an internal snapshot now"),
        "{}",
        r.reason
    );
    assert!(r.reason.contains("'postmigrate'"), "{}", r.reason);
    // Metadata only touches no disk.
    assert!(plan_delete(&layout, "i0", DeleteMode::MetadataOnly)
        .refusal
        .is_none());

    let layout = inactive(
        Fake::new("pm", PAUSED)
            .external("e1", false)
            .external("m1", true),
    );
    for name in ["m1", "e1"] {
        let r = plan_delete(&layout, name, DeleteMode::This)
            .refusal
            .expect("refused");
        assert!(r.reason.contains("block commit"), "{name}: {}", r.reason);
        assert!(
            r.ways_out.iter().any(|w| w.text.contains("resume")),
            "{r:?}"
        );
    }
    // A leaf that is not current is deleted without QEMU (no merge), so the rule leaves it
    // alone; tests/integrity_kvm.rs shows the whole sequence on real QEMU.
}

#[test]
fn the_test_driver_takes_internal_snapshots_only() {
    // Measured with libvirt 11.3: testDomainSnapshotCreateXML refuses DISK_ONLY (0x10) and
    // records an internal snapshot with memory for a running domain.
    let mut fake = Fake::new("t", ON);
    fake.driver = "TEST".into();
    let layout = fake.layout();
    let intent = |memory, location| CreateIntent {
        name: "s".into(),
        memory,
        quiesce: false,
        location,
    };
    let plan = plan_create(&layout, &intent(true, None), &memory_ok()).unwrap();
    assert_eq!(plan.location, SnapshotLocation::Internal);
    // Disk-only of a running domain: neither kind; the refusal says what works.
    let err = plan_create(&layout, &intent(false, None), &memory_ok()).unwrap_err();
    assert!(
        err.to_string().contains("must include the memory state"),
        "{err}"
    );
    let err = plan_create(
        &layout,
        &intent(true, Some(SnapshotLocation::External)),
        &memory_ok(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("internal snapshots only"), "{err}");
    assert!(
        plan.summary.contains("test driver (metadata only)"),
        "{}",
        plan.summary
    );

    // Without disks too: the test driver keeps metadata only (measured: a memory snapshot of
    // a diskless test-driver domain is taken), so no disk has to hold it.
    fake.disks.clear();
    let plan = plan_create(&fake.layout(), &intent(true, None), &memory_ok()).unwrap();
    assert_eq!(plan.location, SnapshotLocation::Internal);
}
