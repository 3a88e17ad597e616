//! A typed field with a cursor: the snapshot name and description in the create dialog and the
//! description editor. Editing is tui-input's (arrows, Home/End, Ctrl-A/E/B/F, Ctrl-Left/Right
//! by word, Delete, Ctrl-W/K/Y); this wrapper adds a length limit, comparison for the pure app
//! tests, and the split around the cursor that the views draw.

use crossterm::event::{Event, KeyEvent};
use tui_input::backend::crossterm::to_input_request;
use tui_input::{Input, InputRequest};

#[derive(Debug, Clone, Default)]
pub struct TextField {
    input: Input,
    /// The most characters the field takes; typing beyond it is ignored.
    max_chars: usize,
}

impl PartialEq for TextField {
    fn eq(&self, other: &Self) -> bool {
        self.value() == other.value() && self.cursor() == other.cursor()
    }
}

impl Eq for TextField {}

impl TextField {
    /// A field holding `text`, with the cursor at its end.
    pub fn new(text: impl Into<String>, max_chars: usize) -> Self {
        Self {
            input: Input::new(text.into()),
            max_chars,
        }
    }

    pub fn value(&self) -> &str {
        self.input.value()
    }

    /// The cursor, in characters from the start.
    pub fn cursor(&self) -> usize {
        self.input.cursor()
    }

    /// The text before the cursor and the text from the cursor on.
    pub fn split_at_cursor(&self) -> (&str, &str) {
        let value = self.value();
        let at = value
            .char_indices()
            .nth(self.cursor())
            .map_or(value.len(), |(i, _)| i);
        value.split_at(at)
    }

    /// The cursor's line (counted from 0) and its column in that line, in characters.
    pub fn cursor_line_col(&self) -> (usize, usize) {
        let (before, _) = self.split_at_cursor();
        let line = before.matches('\n').count();
        let col = before.rsplit('\n').next().unwrap_or("").chars().count();
        (line, col)
    }

    /// Inserts `c` at the cursor (a new line, say), within the length limit.
    pub fn insert(&mut self, c: char) -> bool {
        if self.value().chars().count() >= self.max_chars {
            return false;
        }
        self.input.handle(InputRequest::InsertChar(c)).is_some()
    }

    /// Empties the field.
    pub fn clear(&mut self) {
        self.input.reset();
    }

    /// Applies an editing key; returns whether the text or the cursor changed. Keys that are
    /// not editing keys (Enter, Tab, Esc, ...) change nothing and return false.
    pub fn on_key(&mut self, key: KeyEvent) -> bool {
        match to_input_request(&Event::Key(key)) {
            Some(InputRequest::InsertChar(c)) if c.is_control() => false,
            Some(InputRequest::InsertChar(c)) => self.insert(c),
            Some(request) => self.input.handle(request).is_some(),
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::{KeyCode, KeyModifiers};

    fn press(f: &mut TextField, code: KeyCode) -> bool {
        f.on_key(KeyEvent::from(code))
    }

    fn ctrl(f: &mut TextField, c: char) -> bool {
        f.on_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))
    }

    #[test]
    fn edits_in_the_middle_not_only_at_the_end() {
        let mut f = TextField::new("before upgade", 100);
        assert_eq!(f.cursor(), 13);
        for _ in 0..3 {
            press(&mut f, KeyCode::Left);
        }
        press(&mut f, KeyCode::Char('r'));
        assert_eq!(f.value(), "before upgrade");
        assert_eq!(f.split_at_cursor(), ("before upgr", "ade"));
        press(&mut f, KeyCode::Home);
        press(&mut f, KeyCode::Delete);
        assert_eq!(f.value(), "efore upgrade");
        press(&mut f, KeyCode::End);
        assert_eq!(f.split_at_cursor(), ("efore upgrade", ""));
        ctrl(&mut f, 'w');
        assert_eq!(f.value(), "efore ");
    }

    #[test]
    fn new_lines_and_multibyte_text_split_on_characters() {
        let mut f = TextField::new("née", 100);
        press(&mut f, KeyCode::Left);
        assert!(f.insert('\n'));
        assert_eq!(f.value(), "né\ne");
        assert_eq!(f.split_at_cursor(), ("né\n", "e"));
        assert_eq!(f.cursor_line_col(), (1, 0));
    }

    #[test]
    fn the_limit_holds_and_non_editing_keys_change_nothing() {
        let mut f = TextField::new("abc", 3);
        assert!(!press(&mut f, KeyCode::Char('d')));
        assert!(!f.insert('\n'));
        assert_eq!(f.value(), "abc");
        assert!(!press(&mut f, KeyCode::Enter));
        assert!(!press(&mut f, KeyCode::Tab));
        assert!(!press(&mut f, KeyCode::Esc));
        assert!(press(&mut f, KeyCode::Backspace));
        assert_eq!(f.value(), "ab");
        f.clear();
        assert_eq!((f.value(), f.cursor()), ("", 0));
    }
}
