//! Tree order, filtering and robustness against broken parent links.

use std::time::Instant;

use super::*;

fn snap(name: &str, parent: Option<&str>, created: i64, description: Option<&str>) -> SnapshotInfo {
    SnapshotInfo {
        name: name.into(),
        description: description.map(Into::into),
        parent: parent.map(Into::into),
        created,
        state: SnapshotState::Running,
        memory: true,
        memory_mode: MemoryMode::Internal,
        memory_file: None,
        location: SnapshotLocation::Internal,
        disks: Vec::new(),
        revert_disks: Vec::new(),
        domain: None,
        raw_xml: String::new(),
    }
}

fn layout(tree: &SnapshotTree, rows: &[TreeRow]) -> Vec<String> {
    rows.iter()
        .map(|r| format!("{}{}", "  ".repeat(r.depth), tree.info(r).name))
        .collect()
}

/// root(1) -> a(5) -> a1(6)
///         -> b(5) -> b1(9), b2(7)
/// second(3)
fn sample() -> SnapshotTree {
    SnapshotTree::new(
        vec![
            snap("b1", Some("b"), 9, Some("Before the kernel upgrade")),
            snap("second", None, 3, None),
            snap("a1", Some("a"), 6, None),
            snap("root", None, 1, Some("fresh install")),
            snap("b", Some("root"), 5, None),
            snap("a", Some("root"), 5, None),
            snap("b2", Some("b"), 7, Some("kernel 6.1")),
        ],
        Some("b2".into()),
    )
}

#[test]
fn orders_like_virsh_tree() {
    let t = sample();
    assert_eq!(
        layout(&t, t.rows()),
        ["root", "  a", "    a1", "  b", "    b2", "    b1", "second"]
    );
    let row = |n| *t.row(n).unwrap();
    assert_eq!(row("root").children, 2);
    assert_eq!(row("b").children, 2);
    assert_eq!(row("a1").children, 0);
    assert!(row("b2").is_current && !row("b1").is_current);
    assert_eq!(t.current().map(|s| s.name.as_str()), Some("b2"));
    assert!(row("second").is_last_sibling && !row("root").is_last_sibling);
    assert!(row("b1").is_last_sibling && !row("b2").is_last_sibling);
    assert_eq!(row("b2").parent_row, t.row_position("b"));
    assert_eq!(row("root").parent_row, None);
    assert_eq!(t.children_count("b"), 2);
    assert_eq!(t.children_count("nope"), 0);
}

#[test]
fn descendants_in_tree_order() {
    let t = sample();
    let names = |n| {
        t.descendants(n)
            .iter()
            .map(|s| s.name.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(names("root"), ["a", "a1", "b", "b2", "b1"]);
    assert_eq!(names("b"), ["b2", "b1"]);
    assert!(names("a1").is_empty());
    assert!(names("missing").is_empty());
}

#[test]
fn filter_keeps_matches_and_their_ancestors() {
    let t = sample();
    assert_eq!(
        layout(&t, &t.filter("KERNEL")),
        ["root", "  b", "    b2", "    b1"]
    );
    assert_eq!(layout(&t, &t.filter("a1")), ["root", "  a", "    a1"]);
    assert_eq!(layout(&t, &t.filter("install")), ["root"]);
    assert!(t.filter("zzz").is_empty());
    assert_eq!(t.filter("  ").len(), t.len());
}

#[test]
fn missing_parents_and_cycles_become_roots() {
    let t = SnapshotTree::new(
        vec![
            snap("orphan", Some("gone"), 2, None),
            snap("self", Some("self"), 3, None),
            snap("x", Some("y"), 4, None),
            snap("y", Some("z"), 5, None),
            snap("z", Some("x"), 6, None),
            snap("under-z", Some("z"), 7, None),
        ],
        Some("not-there".into()),
    );
    assert_eq!(t.len(), 6, "every snapshot appears exactly once");
    let l = layout(&t, t.rows());
    assert_eq!(&l[..2], ["orphan", "self"]);
    // The three-cycle is cut once; x, y, z and z's child all stay reachable.
    assert_eq!(l.iter().filter(|r| !r.starts_with(' ')).count(), 3, "{l:?}");
    assert!(t.current().is_none());
    assert!(t.rows().iter().all(|r| !r.is_current));
}

#[test]
fn json_entries_have_tree_fields() {
    let t = sample();
    let v = serde_json::to_value(t.list_entries()).unwrap();
    assert_eq!(v[0]["name"], "root");
    assert_eq!(v[0]["parent"], serde_json::Value::Null);
    assert_eq!(v[0]["children"], 2);
    assert_eq!(v[0]["current"], false);
    assert_eq!(v[4]["name"], "b2");
    assert_eq!(v[4]["current"], true);
    assert_eq!(v[4]["parent"], "b");
    assert_eq!(v[4]["location"], "internal");
    assert_eq!(v[4]["memory"], true);
}

#[test]
fn empty_tree() {
    let t = SnapshotTree::new(Vec::new(), None);
    assert!(t.is_empty());
    assert!(t.filter("x").is_empty());
    assert!(t.list_entries().is_empty());
}

#[test]
fn thousands_of_snapshots_are_fast_even_as_one_long_chain() {
    let n = 20_000;
    let chain: Vec<_> = (0..n)
        .map(|i| {
            let parent = (i > 0).then(|| format!("s{}", i - 1));
            snap(&format!("s{i}"), parent.as_deref(), i, None)
        })
        .collect();
    let wide: Vec<_> = (0..n)
        .map(|i| {
            let parent = (i > 0).then(|| format!("w{}", (i - 1) / 3));
            snap(&format!("w{i}"), parent.as_deref(), n - i, Some("text"))
        })
        .collect();
    let start = Instant::now();
    let chain = SnapshotTree::new(chain, Some(format!("s{}", n - 1)));
    let wide = SnapshotTree::new(wide, None);
    assert_eq!(chain.rows()[n as usize - 1].depth, n as usize - 1);
    assert_eq!(chain.filter(&format!("s{}", n - 1)).len(), n as usize);
    assert_eq!(chain.descendants("s0").len(), n as usize - 1);
    assert_eq!(wide.len(), n as usize);
    let path: Vec<usize> = wide.filter("w19999").iter().map(|r| r.depth).collect();
    assert_eq!(path, (0..10).collect::<Vec<_>>());
    // Generous for unoptimised test builds on a loaded 2-core machine.
    assert!(start.elapsed().as_secs_f64() < 3.0, "{:?}", start.elapsed());
}
