//! The default key tables: the keys virtsnap has always had, per view.

use super::{Action, Binding, KeyChord, LifecycleKey, ViewKeys};
use crossterm::event::KeyCode;

fn b(action: Action, keys: &[KeyChord], help: &'static str) -> Binding {
    Binding {
        action,
        keys: keys.to_vec(),
        help,
    }
}

const fn c(ch: char) -> KeyChord {
    KeyChord::char(ch)
}

const fn k(code: KeyCode) -> KeyChord {
    KeyChord::code(code)
}

fn lifecycle(with_marks: bool) -> Vec<Binding> {
    let mut rows = vec![
        b(
            Action::Lifecycle(LifecycleKey::Start),
            &[c('S')],
            "start (or resume a managed-save image)",
        ),
        b(
            Action::Lifecycle(LifecycleKey::Shutdown),
            &[c('D')],
            "shut down; asks to force off after timeout",
        ),
        b(
            Action::Lifecycle(LifecycleKey::ForceOff),
            &[c('F')],
            "force off (asks; unflushed data is lost)",
        ),
        b(Action::Lifecycle(LifecycleKey::Reboot), &[c('R')], "reboot"),
        b(
            Action::Lifecycle(LifecycleKey::PauseResume),
            &[c('p')],
            "pause / resume (wakes a guest suspended to RAM)",
        ),
        b(
            Action::Lifecycle(LifecycleKey::Console),
            &[c('c')],
            "serial console (Ctrl-] detaches)",
        ),
    ];
    if with_marks {
        rows.push(b(
            Action::Mark,
            &[c(' ')],
            "mark a row; S D F, s and d then act on all marked",
        ));
    }
    rows
}

fn tail(mut rows: Vec<Binding>, help: Option<Binding>) -> Vec<Binding> {
    rows.push(b(
        Action::Refresh,
        &[k(KeyCode::F(5)), KeyChord::ctrl('r')],
        "refresh now",
    ));
    rows.push(b(
        Action::CancelJob,
        &[KeyChord::ctrl('x')],
        "cancel the latest running job",
    ));
    rows.into_iter()
        .chain(help)
        .chain([b(Action::Quit, &[c('q'), KeyChord::ctrl('c')], "quit")])
        .collect()
}

pub(super) fn domains() -> ViewKeys {
    let mut rows = vec![
        b(Action::Down, &[c('j'), k(KeyCode::Down)], "move down / up"),
        b(Action::Up, &[c('k'), k(KeyCode::Up)], ""),
        b(
            Action::First,
            &[c('g'), k(KeyCode::Home)],
            "first / last domain",
        ),
        b(Action::Last, &[c('G'), k(KeyCode::End)], ""),
        b(Action::PageUp, &[k(KeyCode::PageUp)], "page up / down"),
        b(Action::PageDown, &[k(KeyCode::PageDown)], ""),
        b(
            Action::Filter,
            &[c('/')],
            "filter by name, state, CPU mode, marker or host",
        ),
        b(Action::Jump, &[c(':')], "jump to a domain by name"),
        b(
            Action::Open,
            &[k(KeyCode::Enter)],
            "open the domain's snapshots",
        ),
        b(
            Action::Snapshot,
            &[c('s')],
            "take a snapshot (of every marked VM when some are marked)",
        ),
        b(
            Action::Delete,
            &[c('d')],
            "delete a snapshot, by name, from every marked VM",
        ),
        b(Action::ClearFilter, &[k(KeyCode::Esc)], "clear the filter"),
    ];
    rows.extend(lifecycle(true));
    let help = b(Action::Help, &[c('?')], "this help");
    let footer = vec![
        Action::Lifecycle(LifecycleKey::Start),
        Action::Lifecycle(LifecycleKey::Shutdown),
        Action::Lifecycle(LifecycleKey::ForceOff),
        Action::Lifecycle(LifecycleKey::Reboot),
        Action::Lifecycle(LifecycleKey::PauseResume),
        Action::Lifecycle(LifecycleKey::Console),
        Action::Filter,
        Action::Help,
        Action::Quit,
    ];
    ViewKeys {
        bindings: tail(rows, Some(help)),
        footer,
    }
}

pub(super) fn snapshots() -> ViewKeys {
    let mut rows = vec![
        b(Action::Down, &[c('j'), k(KeyCode::Down)], "move down / up"),
        b(Action::Up, &[c('k'), k(KeyCode::Up)], ""),
        b(Action::First, &[c('g'), k(KeyCode::Home)], "first / last"),
        b(Action::Last, &[c('G'), k(KeyCode::End)], ""),
        b(Action::PageUp, &[k(KeyCode::PageUp)], "page up / down"),
        b(Action::PageDown, &[k(KeyCode::PageDown)], ""),
        b(
            Action::Details,
            &[k(KeyCode::Tab), k(KeyCode::Enter)],
            "focus the detail pane (j/k scroll it)",
        ),
        b(Action::Xml, &[c('x')], "the snapshot's XML"),
        b(Action::Filter, &[c('/')], "filter by name or description"),
        b(Action::Revert, &[c('r')], "revert to the snapshot"),
        b(
            Action::Delete,
            &[c('d')],
            "delete (this, with children, children, metadata)",
        ),
        b(Action::Describe, &[c('e')], "edit the description"),
        b(Action::Snapshot, &[c('s')], "take a snapshot"),
    ];
    rows.extend(lifecycle(false));
    let mut rows = tail(rows, Some(b(Action::Help, &[c('?')], "this help")));
    // Back sits before quit, as the help always listed it.
    let back = b(
        Action::Back,
        &[k(KeyCode::Esc), k(KeyCode::Backspace)],
        "back to the domains (Esc first clears a filter)",
    );
    let at = rows.len().saturating_sub(1);
    rows.insert(at, back);
    let footer = vec![
        Action::Back,
        Action::Filter,
        Action::Xml,
        Action::Revert,
        Action::Delete,
        Action::Describe,
        Action::Snapshot,
        Action::Help,
        Action::Lifecycle(LifecycleKey::Start),
        Action::Lifecycle(LifecycleKey::Shutdown),
        Action::Lifecycle(LifecycleKey::ForceOff),
        Action::Lifecycle(LifecycleKey::Reboot),
        Action::Lifecycle(LifecycleKey::PauseResume),
        Action::Lifecycle(LifecycleKey::Console),
    ];
    ViewKeys {
        bindings: rows,
        footer,
    }
}
