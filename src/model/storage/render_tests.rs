//! The plans in words: what the dialogs, `--dry-run` and prune print.

use super::fixture::{Fake, DIR};
use super::render::{delete_lines, revert_lines, PlanLine};
use super::*;
use crate::model::DomainState;

const OFF: DomainState = DomainState::Shutoff;
const ON: DomainState = DomainState::Running;

fn text(lines: &[PlanLine]) -> String {
    lines.iter().map(|l| format!("{}\n", l.text)).collect()
}

/// nu-a.qcow2 <- nu-a.s1 <- nu-a.nightly-A <- nu-a.nightly-B (the VM's top image).
fn nightly_chain(state: DomainState) -> Layout {
    Fake::new("nu-a", state)
        .external("s1", false)
        .external("nightly-A", false)
        .external("nightly-B", false)
        .layout()
}

#[test]
fn a_backing_file_left_on_disk_is_read_by_the_vm_not_written() {
    for state in [ON, OFF] {
        let layout = nightly_chain(state);
        let plan = plan_delete(&layout, "nightly-A", DeleteMode::This);
        assert!(plan.refusal.is_none(), "{:?}", plan.refusal);
        let s1 = format!("{DIR}/nu-a.s1");
        let left = plan
            .left_on_disk
            .iter()
            .find(|f| f.path == s1)
            .expect("nu-a.s1 stays");
        // The safety-relevant flag is unchanged: the VM needs the file.
        assert!(left.in_use);
        assert_eq!(left.vm_use, Some(VmUse::Backing));
        let said = text(&delete_lines(&plan));
        assert!(
            said.contains(&format!(
                "Left on disk: {s1} (nightly-A's data for vda; the VM reads it as a backing file)."
            )),
            "{said}"
        );
        assert!(!said.contains("runs on it"), "{said}");
        assert!(!said.contains("writes to it"), "{said}");
        let outcome = crate::libvirt::jobs::delete::outcome(&plan);
        assert!(
            outcome.contains(&format!("{s1} (the VM reads it as a backing file)")),
            "{outcome}"
        );
    }
}

#[test]
fn the_top_image_left_on_disk_is_written_by_a_running_vm_and_is_the_disk_of_a_stopped_one() {
    let top = format!("{DIR}/nu-a.nightly-B");
    for (state, words) in [(ON, "the VM writes to it"), (OFF, "it is the VM's disk")] {
        let layout = nightly_chain(state);
        let plan = plan_delete(&layout, "nightly-B", DeleteMode::MetadataOnly);
        let left = plan
            .left_on_disk
            .iter()
            .find(|f| f.path == top)
            .expect("the top image stays");
        assert!(left.in_use);
        let said = text(&delete_lines(&plan));
        assert!(
            said.contains(&format!(
                "Left on disk: {top} (overlay of vda written after 'nightly-B'; {words})."
            )),
            "{said}"
        );
        let outcome = crate::libvirt::jobs::delete::outcome(&plan);
        assert!(outcome.contains(&format!("{top} ({words})")), "{outcome}");
    }
}

fn revert_options(safety: Option<&str>) -> RevertOptions {
    RevertOptions {
        after: AfterRevert::Saved,
        safety: safety.map(str::to_string),
        stop_first: false,
    }
}

fn memory_ok() -> CreateAbility {
    CreateAbility {
        memory_internal: true,
        memory_external: true,
    }
}

#[test]
fn a_snapshot_that_does_not_exist_is_said_alone() {
    let layout = nightly_chain(ON);
    for safety in [None, Some("pre-revert-x")] {
        let plan = plan_revert(&layout, "7", &revert_options(safety), &memory_ok());
        assert!(!plan.worked_out());
        let lines = revert_lines(&plan);
        assert_eq!(
            text(&lines),
            "Not reverted: nu-a has no snapshot named '7'\n",
            "{lines:?}"
        );
    }
    for mode in DeleteMode::ALL {
        let plan = plan_delete(&layout, "7", mode);
        assert!(!plan.worked_out());
        assert_eq!(
            text(&delete_lines(&plan)),
            "Not possible: nu-a has no snapshot named '7'\n"
        );
    }
}

#[test]
fn plan_lines_are_never_empty_lists() {
    // Children-only of a leaf: refused, and there is nothing it would have deleted.
    let layout = nightly_chain(ON);
    let plan = plan_delete(&layout, "nightly-B", DeleteMode::ChildrenOnly);
    assert!(plan.refusal.is_some());
    let said = text(&delete_lines(&plan));
    assert_eq!(said, "Not possible: 'nightly-B' has no children\n");
    // A refused after-state (a transient domain left shut off) is the refusal alone.
    let mut fake = Fake::new("t", ON).external("d1", false);
    fake.persistent = false;
    let plan = plan_revert(&fake.layout(), "d1", &revert_options(None), &memory_ok());
    let said = text(&revert_lines(&plan));
    assert!(
        said.starts_with("Not reverted: t is a transient domain"),
        "{said}"
    );
    assert!(!said.contains("Afterwards"), "{said}");
    assert!(!said.contains("Discards"), "{said}");
    assert!(!said.contains("safety"), "{said}");
    // Every line of every plan has content: no "Discards .", no "Creates .".
    for target in ["s1", "nightly-A", "nightly-B", "7"] {
        for safety in [None, Some("pre-revert-x")] {
            let plan = plan_revert(&layout, target, &revert_options(safety), &memory_ok());
            for l in revert_lines(&plan) {
                assert!(!l.text.contains(": .") && !l.text.ends_with(" ."), "{l:?}");
            }
        }
        for mode in DeleteMode::ALL {
            for l in delete_lines(&plan_delete(&layout, target, mode)) {
                assert!(!l.text.contains(": .") && !l.text.ends_with(" ."), "{l:?}");
            }
        }
    }
}

#[test]
fn a_safety_snapshot_keeps_what_the_revert_leaves_and_only_its_own_new_overlay_is_deleted() {
    let layout = Fake::new("web-passthrough", ON)
        .external("nu-test1", false)
        .layout();
    let old_top = format!("{DIR}/web-passthrough.nu-test1");
    let plan = plan_revert(
        &layout,
        "nu-test1",
        &revert_options(Some("pre-revert-x")),
        &memory_ok(),
    );
    assert!(!plan.is_refused(), "{:?}", plan.refusal);
    let safety = plan.safety_plan().expect("a safety snapshot");
    assert!(safety.memory);
    // What libvirt deletes is the safety snapshot's own new overlay (it is current when the
    // revert runs); the safety snapshot's data is the image the VM writes to now, untouched.
    let overlays: Vec<String> = safety
        .overlay_files
        .iter()
        .map(|f| f.to_string_lossy().to_string())
        .collect();
    assert_eq!(overlays, [format!("{DIR}/web-passthrough.pre-revert-x")]);
    assert_eq!(plan.effects.removed, overlays);
    assert!(!plan.effects.removed.contains(&old_top));
    assert!(plan.effects.rewritten.iter().all(|r| r.image != old_top));
    assert!(plan.effects.commits.is_empty());
    let said = text(&revert_lines(&plan));
    assert!(
        said.contains(
            "Leaves the VM (kept in safety snapshot 'pre-revert-x'): changes to the disks since \
             'nu-test1'; the running memory (unsaved work in the guest)."
        ),
        "{said}"
    );
    assert!(!said.contains("Discards"), "{said}");
    assert!(
        said.contains(&format!(
            "Deletes {DIR}/web-passthrough.pre-revert-x: the overlay that safety snapshot \
             'pre-revert-x' starts, holding only what the VM writes between that snapshot and \
             the revert. The safety snapshot's data stays in the image below it."
        )),
        "{said}"
    );
    assert!(!said.contains("since the current snapshot"), "{said}");
    // A disk-only safety snapshot keeps the disks, not the memory.
    let plan = plan_revert(
        &layout,
        "nu-test1",
        &revert_options(Some("pre-revert-x")),
        &CreateAbility::default(),
    );
    if let Some(s) = plan.safety_plan().filter(|s| !s.memory) {
        let said = text(&revert_lines(&plan));
        assert!(
            said.contains(&format!(
                "Leaves the VM (kept in safety snapshot '{}'): changes to the disks since 'nu-test1'.",
                s.request.name
            )),
            "{said}"
        );
        assert!(
            said.contains("Discards the running memory (unsaved work in the guest)."),
            "{said}"
        );
    } else {
        panic!("expected a disk-only safety snapshot: {:?}", plan.safety);
    }
    // Without one, everything is discarded and the current snapshot's overlay is deleted.
    let plan = plan_revert(&layout, "nu-test1", &revert_options(None), &memory_ok());
    let said = text(&revert_lines(&plan));
    assert!(
        said.contains(
            "Discards changes to the disks since 'nu-test1'; the running memory (unsaved work in \
             the guest)."
        ),
        "{said}"
    );
    assert!(!said.contains("Leaves the VM"), "{said}");
}

#[test]
fn a_new_overlay_is_named_by_the_second_of_the_revert_not_of_the_plan() {
    let layout = Fake::new("nu-b", OFF)
        .external("s1", false)
        .external("s2", false)
        .layout();
    let plan = plan_revert(&layout, "s1", &revert_options(None), &memory_ok());
    assert!(!plan.is_refused(), "{:?}", plan.refusal);
    // The model still plans with its second (the job checks that name is free).
    let planned = format!("{DIR}/nu-b.{}", plan.overlay_second);
    assert_eq!(plan.effects.created[0].path, planned);
    let said = text(&revert_lines(&plan));
    assert!(
        said.contains(&format!(
            "Creates {DIR}/nu-b.<unix time of the revert> (new overlay of vda)."
        )),
        "{said}"
    );
    assert!(!said.contains(&planned), "{said}");
    // Afterwards the real name is found among the domain's disk sources.
    let real = format!("{DIR}/nu-b.{}", plan.overlay_second + 2);
    let sources = vec![
        format!("{DIR}/nu-b.s1"),
        format!("{DIR}/nu-bx.{}", plan.overlay_second),
        format!("{DIR}/other.qcow2"),
        real.clone(),
    ];
    assert_eq!(plan.real_overlays(&sources), [real.as_str()]);
    assert!(plan.real_overlays(&sources[..3]).is_empty());
}

#[test]
fn after_merging_the_top_overlay_down_its_base_is_the_vms_disk() {
    for (state, words) in [(ON, "the VM writes to it"), (OFF, "it is the VM's disk")] {
        let layout = Fake::new("one", state).external("s1", false).layout();
        let plan = plan_delete(&layout, "s1", DeleteMode::This);
        assert!(plan.refusal.is_none(), "{:?}", plan.refusal);
        let said = text(&delete_lines(&plan));
        let base = format!("{DIR}/one.qcow2");
        assert!(
            said.contains(&format!("{base} (s1's data for vda; {words})")),
            "{said}\n{plan:#?}"
        );
    }
}
