//! The jobs bar (one line per running job: step, elapsed time, a gauge where bytes are known)
//! and the modal for a job's question.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

use super::Theme;
use crate::app::{App, JobState};

/// Lines the jobs bar needs (at most three jobs are shown, then "+N more").
pub fn height(app: &App) -> u16 {
    app.jobs.running.len().min(3) as u16
}

pub fn draw_bar(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let mut lines = Vec::new();
    let shown = app.jobs.running.len().min(3);
    for (i, job) in app.jobs.running.iter().take(shown).enumerate() {
        let mut line = job_line(job, app.now, theme, area.width);
        if i + 1 == shown && app.jobs.running.len() > shown {
            line.push_span(Span::raw(format!(
                "  (+{} more)",
                app.jobs.running.len() - shown
            )));
        }
        lines.push(line);
    }
    frame.render_widget(Paragraph::new(lines), area);
}

fn job_line(job: &JobState, now: u64, theme: &Theme, width: u16) -> Line<'static> {
    let elapsed = now.saturating_sub(job.started);
    let mut spans = vec![
        Span::styled(format!("[{}] ", job.title), theme.accent()),
        Span::raw(format!("{} ", job.step)),
        Span::styled(format!("{}:{:02}", elapsed / 60, elapsed % 60), theme.dim()),
    ];
    if let Some((done, total)) = job.bytes.filter(|(_, t)| *t > 0) {
        let pct = (done.min(total) as f64 / total as f64 * 100.0).round() as u64;
        let cells = usize::from(width / 6).clamp(5, 20);
        let full = (pct as usize * cells) / 100;
        let (on, off) = if theme.ascii {
            ("#", ".")
        } else {
            ("█", "░")
        };
        spans.push(Span::raw(format!(
            " {}{} {pct}%",
            on.repeat(full),
            off.repeat(cells - full)
        )));
    }
    if job.question.is_some() {
        spans.push(Span::styled("  waiting for your answer", theme.warn()));
    }
    Line::from(spans)
}

/// The question of the first job waiting for one, centred over everything.
pub fn draw_question(frame: &mut Frame, app: &App, theme: &Theme) {
    let Some(job) = app.jobs.pending_question() else {
        return;
    };
    let Some(q) = &job.question else { return };
    let area = centered(frame.area(), 64, 9);
    let block = modal_block(frame, area, format!(" {} ", job.title), theme);
    let text = vec![
        Line::from(q.text.clone()),
        Line::from(""),
        Line::from(vec![
            Span::styled("y", theme.heading()),
            Span::raw(format!(" {}    ", q.yes)),
            Span::styled("n", theme.heading()),
            Span::raw(format!("/Esc {}", q.no)),
        ]),
    ];
    frame.render_widget(
        Paragraph::new(text).wrap(Wrap { trim: false }).block(block),
        area,
    );
}

/// A rectangle of at most `w`x`h` in the middle of `area`.
pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    let [_, mid, _] = Layout::vertical([
        Constraint::Fill(1),
        Constraint::Length(h),
        Constraint::Fill(1),
    ])
    .areas(area);
    let [_, center, _] = Layout::horizontal([
        Constraint::Fill(1),
        Constraint::Length(w),
        Constraint::Fill(1),
    ])
    .areas(mid);
    center
}

/// Clears `area` over whatever is below and returns the bordered block a dialog draws in.
pub fn modal_block(frame: &mut Frame, area: Rect, title: String, theme: &Theme) -> Block<'static> {
    frame.render_widget(Clear, area);
    Block::new()
        .borders(Borders::ALL)
        .border_set(theme.border())
        .title(title)
}
