//! The one-line prompts: `/` filters the domain list as you type, `:` jumps to a domain.

use crossterm::event::{KeyCode, KeyEvent};

use crate::app::text_field::TextField;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    Filter,
    Jump,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputLine {
    pub kind: InputKind,
    pub text: TextField,
}

/// What a key did to the prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputOutcome {
    /// Text changed (the filter applies live).
    Edited,
    /// Enter: keep the result.
    Accepted,
    /// Esc: throw it away.
    Cancelled,
    Ignored,
}

impl InputLine {
    pub fn new(kind: InputKind, text: String) -> Self {
        Self {
            kind,
            text: TextField::new(text, 128),
        }
    }

    pub fn prompt(&self) -> char {
        match self.kind {
            InputKind::Filter => '/',
            InputKind::Jump => ':',
        }
    }

    pub fn on_key(&mut self, key: KeyEvent) -> InputOutcome {
        match key.code {
            KeyCode::Enter => InputOutcome::Accepted,
            KeyCode::Esc => InputOutcome::Cancelled,
            _ if self.text.on_key(key) => InputOutcome::Edited,
            _ => InputOutcome::Ignored,
        }
    }
}
