use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::*;
use crate::config::{parse, ConfigError};

fn remapped(text: &str) -> Result<KeyMap, ConfigError> {
    let config = parse(std::path::Path::new("/c.toml"), text).expect("valid TOML");
    KeyMap::with_remaps(&config.keys)
}

fn refused(text: &str) -> ConfigError {
    remapped(text).expect_err("should be refused")
}

#[test]
fn no_key_does_two_things_in_a_default_view() {
    let map = KeyMap::default();
    for view in View::ALL {
        let keys = map.view(view);
        let mut seen: Vec<(KeyChord, Action)> = Vec::new();
        for b in &keys.bindings {
            assert!(!b.keys.is_empty(), "{:?} has no key", b.action);
            for k in &b.keys {
                if let Some((_, other)) = seen.iter().find(|(c, _)| c == k) {
                    panic!("{view:?}: {k} is bound to {other:?} and {:?}", b.action);
                }
                seen.push((*k, b.action));
            }
        }
        for a in &keys.footer {
            assert!(keys.binding(*a).is_some(), "{view:?} footer shows {a:?}");
        }
    }
}

#[test]
fn the_help_pairs_opposite_moves_as_it_always_did() {
    let rows = KeyMap::default().domains.help_rows();
    let text: Vec<(&str, &str)> = rows.iter().map(|r| (r.keys.as_str(), r.text)).collect();
    assert_eq!(text[0], ("j / k, Down / Up", "move down / up"));
    assert_eq!(text[1], ("g / G, Home / End", "first / last domain"));
    assert_eq!(text[2], ("PgUp / PgDn", "page up / down"));
    assert!(text.contains(&("F5, Ctrl-R", "refresh now")));
    assert!(text.contains(&("Space", "mark a row; S D F, s and d then act on all marked")));
    assert_eq!(text.last(), Some(&("q, Ctrl-C", "quit")));
    let snaps = KeyMap::default().snapshots.help_rows();
    assert_eq!(
        snaps[snaps.len() - 2].keys,
        "Esc, Backspace",
        "back sits before quit"
    );
}

#[test]
fn key_presses_find_their_action() {
    let map = KeyMap::default();
    let press = |code, mods| KeyEvent::new(code, mods);
    let d = &map.domains;
    assert_eq!(
        d.action_for(&press(KeyCode::Char('S'), KeyModifiers::SHIFT)),
        Some(Action::Lifecycle(LifecycleKey::Start))
    );
    assert_eq!(
        d.action_for(&press(KeyCode::Char('R'), KeyModifiers::CONTROL)),
        Some(Action::Refresh),
        "Ctrl-R in capitals (Caps Lock) is still Ctrl-R"
    );
    assert_eq!(
        d.action_for(&press(KeyCode::Char('q'), KeyModifiers::ALT)),
        None
    );
    assert!(is_ctrl_c(&press(KeyCode::Char('c'), KeyModifiers::CONTROL)));
}

#[test]
fn chords_read_back_as_they_are_shown() {
    for text in [
        "S",
        "?",
        "/",
        "Enter",
        "Esc",
        "Tab",
        "Shift-Tab",
        "Space",
        "PgUp",
        "PgDn",
        "F5",
        "Ctrl-R",
        "Alt-x",
        "Ctrl-Alt-Delete",
        "Home",
    ] {
        let chord = KeyChord::parse(text).unwrap();
        assert_eq!(chord.to_string(), text);
    }
    assert_eq!(KeyChord::parse("ctrl-r"), KeyChord::parse("Ctrl-R"));
    assert_eq!(KeyChord::parse("pagedown"), KeyChord::parse("PgDn"));
    assert_eq!(KeyChord::parse("-"), Ok(KeyChord::char('-')));
    for bad in ["", "F13", "Hyper-x", "ab", "Ctrl-"] {
        let e = KeyChord::parse(bad).expect_err(bad);
        assert!(e.contains("is not a key"), "{bad}: {e}");
    }
}

#[test]
fn the_shipped_example_remaps_are_valid() {
    let map = remapped(&crate::config::tests::example_uncommented()).unwrap();
    let shutdown = Action::Lifecycle(LifecycleKey::Shutdown);
    assert_eq!(
        map.domains.binding(shutdown).unwrap().keys,
        vec![KeyChord::char('H')]
    );
    assert_eq!(map.domains.first_key(Action::Snapshot), "s");
    assert_eq!(map.snapshots.first_key(Action::Xml), "v");
    // The other view keeps its defaults.
    assert_eq!(map.snapshots.first_key(shutdown), "D");
}

#[test]
fn an_unknown_view_or_action_is_named_with_the_choices() {
    let e = refused("[keys.domain]\nshutdown = \"d\"\n");
    assert_eq!((e.line, e.key.as_deref()), (Some(1), Some("keys.domain")));
    assert!(
        e.message.contains("the views are domains, snapshots"),
        "{e}"
    );
    let e = refused("[keys.snapshots]\nxml = \"v\"\nmark = \"m\"\n");
    assert_eq!(
        (e.line, e.key.as_deref()),
        (Some(3), Some("keys.snapshots.mark"))
    );
    assert!(e.message.contains("no action \"mark\""), "{e}");
    assert!(e.message.contains("revert, delete"), "{e}");
}

#[test]
fn a_key_that_is_not_one_is_named() {
    let e = refused("[keys.domains]\n\nquit = \"Ctrl-Q-Q\"\n");
    assert_eq!(
        (e.line, e.key.as_deref()),
        (Some(3), Some("keys.domains.quit"))
    );
    assert!(e.message.contains("is not a key"), "{e}");
}

#[test]
fn ctrl_c_and_typeable_cancel_keys_are_refused() {
    let e = refused("[keys.domains]\nhelp = \"Ctrl-C\"\n");
    assert!(e.message.contains("Ctrl-C always quits"), "{e}");
    let e = refused("[keys.snapshots]\ncancel-job = \"z\"\n");
    assert!(e.message.contains("cannot be typed text"), "{e}");
    assert!(remapped("[keys.snapshots]\ncancel-job = \"F9\"\n").is_ok());
}

#[test]
fn a_key_bound_twice_names_the_remap_and_both_actions() {
    let e = refused("[keys.snapshots]\nshutdown = \"d\"\n");
    assert_eq!(
        (e.line, e.key.as_deref()),
        (Some(2), Some("keys.snapshots.shutdown"))
    );
    assert!(
        e.message
            .contains("\"d\" would do two things in the snapshots view: delete and shutdown"),
        "{e}"
    );
    // Moving the other action away too makes it valid.
    let ok = remapped("[keys.snapshots]\nshutdown = \"d\"\ndelete = \"Delete\"\n").unwrap();
    assert_eq!(ok.snapshots.first_key(Action::Delete), "Delete");
    let e = refused("[keys.domains]\nhelp = [\"h\", \"h\"]\n");
    assert!(e.message.contains("listed twice"), "{e}");
}
