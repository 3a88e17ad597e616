use super::*;
use crate::model::fixtures::{domain, host, running_verdict, shut_off_verdict};
use crate::model::storage::fixture::Fake;
use crate::model::{evaluate, DomainState, RuleInput};

fn intent(memory: bool, quiesce: bool) -> BulkIntent {
    BulkIntent {
        name: "before-patch".into(),
        memory,
        quiesce,
        location: None,
    }
}

/// A running host-passthrough migratable='off' VM: invtsc blocks memory state.
fn blocked_verdict() -> Verdict {
    let d = domain("hp-off-live");
    evaluate(&RuleInput {
        persistent: &d,
        live: Some(&d),
        host: Some(&host("qemu-system")),
        state: DomainState::Running,
        libvirt_version: 11_003_000,
    })
}

#[test]
fn memory_where_the_rule_allows_it() {
    let layout = Fake::new("web", DomainState::Running).layout();
    let c = decide_for_bulk(&layout, &running_verdict(), &intent(true, false)).unwrap();
    assert!(c.memory && c.plan.memory, "{c:?}");
    assert!(c.notes.is_empty());
}

#[test]
fn a_memory_blocked_vm_gets_its_disks_and_the_reason() {
    let layout = Fake::new("rt", DomainState::Running).layout();
    let v = blocked_verdict();
    assert!(!v.memory.allowed, "the fixture must be blocked");
    let c = decide_for_bulk(&layout, &v, &intent(true, false)).unwrap();
    assert!(!c.memory && !c.plan.memory);
    assert_eq!(c.plan.location, SnapshotLocation::External);
    assert!(c.notes[0].starts_with("disk-only: "), "{:?}", c.notes);
    assert!(c.notes[0].contains("host-passthrough"), "{:?}", c.notes);
}

#[test]
fn a_shut_off_vm_gets_its_disks() {
    let layout = Fake::new("db", DomainState::Shutoff).layout();
    let c = decide_for_bulk(&layout, &shut_off_verdict(), &intent(true, false)).unwrap();
    assert!(!c.memory);
    assert_eq!(
        c.notes,
        ["disk-only: db is shut off, there is no memory state to capture"]
    );
}

#[test]
fn quiesce_only_where_an_agent_answers() {
    let layout = Fake::new("web", DomainState::Running).layout();
    let c = decide_for_bulk(&layout, &running_verdict(), &intent(false, true)).unwrap();
    assert!(!c.quiesce);
    assert!(c.notes[0].starts_with("not quiesced: "), "{:?}", c.notes);
    let c = decide_for_bulk(&layout, &running_verdict(), &intent(true, true)).unwrap();
    assert!(c.memory && !c.quiesce);
    assert!(c.notes[0].contains("nothing to freeze"), "{:?}", c.notes);
}

#[test]
fn a_plan_that_mixes_kinds_is_refused_with_the_risk_unless_the_kind_is_given() {
    // The tree is internal (taken while memory state could be saved); now memory is blocked,
    // so the VM could only get an external disk-only snapshot on top of internal ones.
    let layout = Fake::new("rt", DomainState::Running)
        .internal("old", true)
        .layout();
    let err = decide_for_bulk(&layout, &blocked_verdict(), &intent(true, false)).unwrap_err();
    let CreateDenied::NeedsConfirmation { risk, location } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(*location, SnapshotLocation::External);
    assert!(risk.contains("internal (old)"), "{risk}");
    let mut forced = intent(true, false);
    forced.location = Some(SnapshotLocation::External);
    let c = decide_for_bulk(&layout, &blocked_verdict(), &forced).unwrap();
    assert_eq!(c.plan.location, SnapshotLocation::External);
}

#[test]
fn exit_codes_add_up() {
    use Outcome::*;
    assert_eq!(exit_code(&[Ok, Ok, Absent]), 0);
    assert_eq!(exit_code(&[Ok, Refused]), 3);
    assert_eq!(exit_code(&[Refused, Failed, Ok]), 1);
    assert_eq!(exit_code(&[]), 0);
}

#[test]
fn a_name_pattern_names_each_vm_and_utc_names_as_prefix_does() {
    let now = 1_795_703_400; // 2026-11-26 14:30:00 UTC
    let stamp = "20261126-153000";
    let name = |p: &str, d: &str| expand_name(p, d, stamp, now);
    assert_eq!(
        name("{domain}-{time}", "web-01").unwrap(),
        "web-01-20261126-153000"
    );
    // The default single-VM name and the pattern agree, for awkward domain names too.
    for d in ["web", "a,b", ".hidden", "...", "caf\u{e9} 1"] {
        assert_eq!(
            name("{domain}-{time}", d).unwrap(),
            crate::model::snapshot::default_name(d, stamp),
            "{d:?}"
        );
    }
    assert_eq!(
        name("nightly-{utc}", "db").unwrap(),
        crate::model::retention::scheduled_name("nightly", now)
    );
    assert_eq!(name("before-patch", "db").unwrap(), "before-patch");
    let unknown = name("{host}-x", "db").unwrap_err();
    assert!(
        unknown.contains("{host}") && unknown.contains("{domain}"),
        "{unknown}"
    );
    assert!(name("x-{time", "db").unwrap_err().contains("not closed"));
    // Existing snapshots: {domain} only, and the pattern a bulk create's names read back as.
    assert_eq!(
        expand_existing("{domain}-20261126-153000", "web-01").unwrap(),
        "web-01-20261126-153000"
    );
    assert!(expand_existing("{domain}-{time}", "web-01").is_err());
    assert_eq!(
        pattern_of("web-01-20261126-153000", "web-01").as_deref(),
        Some("{domain}-20261126-153000")
    );
    assert_eq!(pattern_of("before-patch", "web-01"), None);
    assert_eq!(pattern_of("a_b-1", "a,b").as_deref(), Some("{domain}-1"));
}

#[test]
fn the_verdict_of_a_layout_follows_the_definition_in_effect() {
    let layout = Fake::new("web", DomainState::Shutoff).layout();
    assert!(
        !verdict_for(&layout, Some(&host("qemu-system")))
            .memory
            .applicable
    );
    let layout = Fake::new("web", DomainState::Running).layout();
    assert!(
        verdict_for(&layout, Some(&host("qemu-system")))
            .memory
            .applicable
    );
}
