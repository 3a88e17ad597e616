//! The one-line prompts: `/` filters the domain list as you type, `:` jumps to a domain.

use crossterm::event::{KeyCode, KeyEvent};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    Filter,
    Jump,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputLine {
    pub kind: InputKind,
    pub text: String,
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
        Self { kind, text }
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
            KeyCode::Backspace => {
                self.text.pop();
                InputOutcome::Edited
            }
            KeyCode::Char(c) if !c.is_control() && self.text.chars().count() < 128 => {
                self.text.push(c);
                InputOutcome::Edited
            }
            _ => InputOutcome::Ignored,
        }
    }
}
