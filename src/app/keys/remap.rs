//! The config file's `[keys.VIEW]` remaps applied to the default tables, refused with a
//! located message when they name an unknown view, action or key, or bind a key twice.

use super::{KeyChord, KeyMap, View};
use crate::config::{ConfigError, KeyRemaps};

impl KeyMap {
    /// The default tables with `remaps` applied: a remapped action's keys replace its
    /// defaults.
    ///
    /// # Errors
    /// The first mistake in file order, naming its line and key: a view or action that does
    /// not exist, a key that is not one, Ctrl-C (it always quits), a cancel-job key that could
    /// be typed text (it works inside dialogs too), or a key that would do two things in one
    /// view.
    pub fn with_remaps(remaps: &KeyRemaps) -> Result<KeyMap, ConfigError> {
        let mut map = KeyMap::default();
        for table in &remaps.views {
            let Some(view) = View::ALL.iter().copied().find(|v| v.name() == table.view) else {
                let names: Vec<&str> = View::ALL.iter().map(|v| v.name()).collect();
                return Err(remaps.error_at(
                    table.span.clone(),
                    format!(
                        "there is no view \"{}\" to remap keys in; the views are {}",
                        table.view,
                        names.join(", ")
                    ),
                ));
            };
            let keys = map.view_mut(view);
            // Which remap set each key, to name the right line when a key is bound twice.
            let mut set_by: Vec<(KeyChord, std::ops::Range<usize>)> = Vec::new();
            for remap in &table.remaps {
                let Some(index) = keys
                    .bindings
                    .iter()
                    .position(|b| b.action.name() == remap.action)
                else {
                    let names: Vec<&str> = keys.bindings.iter().map(|b| b.action.name()).collect();
                    return Err(remaps.error_at(
                        remap.action_span.clone(),
                        format!(
                            "the {} view has no action \"{}\"; its actions are {}",
                            view.name(),
                            remap.action,
                            names.join(", ")
                        ),
                    ));
                };
                let mut chords = Vec::with_capacity(remap.keys.len());
                for (text, span) in &remap.keys {
                    let chord =
                        KeyChord::parse(text).map_err(|why| remaps.error_at(span.clone(), why))?;
                    if chord == KeyChord::ctrl('c') {
                        return Err(remaps.error_at(
                            span.clone(),
                            "Ctrl-C always quits and cannot be given to another action".into(),
                        ));
                    }
                    if remap.action == "cancel-job" && !chord.is_command() {
                        return Err(remaps.error_at(
                            span.clone(),
                            format!(
                                "cancel-job works inside dialogs and prompts too, so it needs \
                                 a key that cannot be typed text: Ctrl- or Alt- and a key, or \
                                 F1..F12 (not \"{text}\")"
                            ),
                        ));
                    }
                    if chords.contains(&chord) {
                        return Err(remaps.error_at(
                            span.clone(),
                            format!("\"{text}\" is listed twice for {}", remap.action),
                        ));
                    }
                    chords.push(chord);
                    set_by.push((chord, span.clone()));
                }
                keys.bindings[index].keys = chords;
            }
            // A key that now does two things: name a remapped one (the defaults never clash).
            for (i, b) in keys.bindings.iter().enumerate() {
                for other in &keys.bindings[i + 1..] {
                    let Some(chord) = b.keys.iter().find(|k| other.keys.contains(k)) else {
                        continue;
                    };
                    let span = set_by
                        .iter()
                        .find(|(c, _)| c == chord)
                        .map(|(_, s)| s.clone())
                        .unwrap_or_else(|| table.span.clone());
                    return Err(remaps.error_at(
                        span,
                        format!(
                            "\"{chord}\" would do two things in the {} view: {} and {}; give \
                             one of them another key",
                            view.name(),
                            b.action.name(),
                            other.action.name()
                        ),
                    ));
                }
            }
        }
        Ok(map)
    }
}
