//! Colours and line-drawing characters. Everything still reads without colour: markers are
//! words, not hues; and ASCII mode avoids box-drawing for the Linux console and serial links.

use ratatui::style::{Color, Modifier, Style};
use ratatui::symbols::border;
use ratatui::text::Span;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    pub color: bool,
    pub ascii: bool,
}

const ASCII_BORDER: border::Set = border::Set {
    top_left: "+",
    top_right: "+",
    bottom_left: "+",
    bottom_right: "+",
    vertical_left: "|",
    vertical_right: "|",
    horizontal_top: "-",
    horizontal_bottom: "-",
};

impl Theme {
    /// Picks ASCII for terminals that lack Unicode line drawing (Linux console, vt100, dumb
    /// serial lines) and honours NO_COLOR.
    pub fn detect(force_ascii: bool, no_color: bool) -> Self {
        let term = std::env::var("TERM").unwrap_or_default();
        let ascii = force_ascii
            || matches!(
                term.as_str(),
                "linux" | "dumb" | "vt100" | "vt102" | "vt220" | "ansi" | ""
            )
            || term.starts_with("vt");
        let color = !no_color
            && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            && term != "dumb";
        Self { color, ascii }
    }

    pub fn border(&self) -> border::Set<'static> {
        if self.ascii {
            ASCII_BORDER
        } else {
            border::PLAIN
        }
    }

    fn fg(&self, c: Color) -> Style {
        if self.color {
            Style::new().fg(c)
        } else {
            Style::new()
        }
    }

    pub fn title(&self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD)
    }
    pub fn heading(&self) -> Style {
        Style::new().add_modifier(Modifier::BOLD)
    }
    pub fn dim(&self) -> Style {
        if self.color {
            Style::new().fg(Color::DarkGray)
        } else {
            Style::new().add_modifier(Modifier::DIM)
        }
    }
    pub fn selected(&self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }
    pub fn good(&self) -> Style {
        self.fg(Color::Green)
    }
    pub fn warn(&self) -> Style {
        self.fg(Color::Yellow)
    }
    pub fn bad(&self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }
    pub fn accent(&self) -> Style {
        self.fg(Color::Cyan)
    }
    pub fn marker_invtsc(&self) -> Style {
        self.fg(Color::Yellow)
    }
    pub fn marker_pinned(&self) -> Style {
        self.fg(Color::Green)
    }
    pub fn marker_nomigrate(&self) -> Style {
        self.fg(Color::Magenta)
    }
}

/// A line of key hints: each key in the heading style followed by what it does.
pub fn key_hints(pairs: &[(&str, &str)], theme: &Theme) -> ratatui::text::Line<'static> {
    let mut spans = Vec::with_capacity(pairs.len() * 2);
    for (i, (key, what)) in pairs.iter().enumerate() {
        let gap = if i + 1 == pairs.len() { "" } else { "   " };
        spans.push(ratatui::text::Span::styled(
            key.to_string(),
            theme.heading(),
        ));
        spans.push(ratatui::text::Span::raw(format!(" {what}{gap}")));
    }
    ratatui::text::Line::from(spans)
}

/// `text` drawn in `style` with a cursor at character `at`: the character under it in
/// `under`, or `end` after the text when the cursor is past its end. Every typed field draws
/// its cursor through this.
pub fn cursor_spans(
    text: &str,
    at: usize,
    style: Style,
    under: Style,
    end: Span<'static>,
) -> Vec<Span<'static>> {
    let chars: Vec<char> = text.chars().collect();
    let at = at.min(chars.len());
    let part = |from: usize, to: usize| -> String { chars[from..to].iter().collect() };
    let mut spans = vec![Span::styled(part(0, at), style)];
    if at == chars.len() {
        spans.push(end);
    } else {
        spans.push(Span::styled(part(at, at + 1), under));
        spans.push(Span::styled(part(at + 1, chars.len()), style));
    }
    spans
}
