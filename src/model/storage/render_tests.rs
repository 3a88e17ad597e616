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
                "Left on disk: {s1} (nightly-A's data for vda; in the VM's backing chain (read by the VM))."
            )),
            "{said}"
        );
        assert!(!said.contains("runs on it"), "{said}");
        assert!(!said.contains("writes to it"), "{said}");
        let outcome = crate::libvirt::jobs::delete::outcome(&plan);
        assert!(
            outcome.contains(&format!(
                "{s1} (in the VM's backing chain (read by the VM))"
            )),
            "{outcome}"
        );
    }
}

#[test]
fn the_top_image_left_on_disk_is_written_by_a_running_vm_and_is_the_disk_of_a_stopped_one() {
    let top = format!("{DIR}/nu-a.nightly-B");
    for (state, words) in [
        (ON, "the VM writes to it"),
        (OFF, "the VM's disk is this file"),
    ] {
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
