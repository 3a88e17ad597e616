//! Two lines under the domain table about the selected domain: what its CPU configuration means
//! for snapshots, in words, so the table's short markers never have to be decoded; then what
//! changes at its next start (a definition edited while it runs) and its snapshots' space and
//! age with the reasons behind a "?".

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::app::App;
use crate::model::inventory::DomainInfo;
use crate::model::space::{short_age, short_bytes, VmSpace};
use crate::ui::Theme;

/// Lines the detail takes under the table.
pub const HEIGHT: u16 = 2;

pub fn draw(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let Some(row) = app.list.selected_row() else {
        return;
    };
    let mut spans = vec![Span::styled(format!("{}: ", row.name), theme.heading())];
    // A row of a host that is not connected now: say why it is dimmed, before anything else.
    if let Some(trouble) = app
        .hosts
        .get(row.host)
        .filter(|_| app.hosts.several())
        .and_then(|h| h.trouble())
    {
        spans.push(Span::styled(trouble, theme.warn()));
        spans.push(Span::styled(
            "; the row shows what was last read",
            theme.dim(),
        ));
        frame.render_widget(Paragraph::new(Line::from(spans)), area);
        return;
    }
    let Some(host) = app.host(row.host) else {
        return;
    };
    match row.verdict(host) {
        None => spans.push(Span::styled(
            row.error.clone().unwrap_or_else(|| "reading...".into()),
            theme.dim(),
        )),
        Some(v) if !v.memory.applicable => spans.push(Span::raw(
            "not running: a snapshot captures its disks and is always possible",
        )),
        Some(v) if v.memory.allowed => {
            let how = match (v.memory.internal, v.memory.external) {
                (true, true) => "internal or external",
                (true, false) => "internal only",
                (false, true) => "external only",
                _ => "",
            };
            spans.push(Span::styled("memory state can be captured", theme.good()));
            spans.push(Span::raw(format!(" ({how}); s: snapshot")));
            // A share the guest may mount, a back-end: memory state can still be refused.
            if let Some(c) = v.memory.conditional_blockers.first() {
                spans.push(Span::styled(
                    format!(" ({}: depends on the {})", c.kind, c.depends_on),
                    theme.warn(),
                ));
            }
        }
        Some(v) => {
            let kinds: Vec<&str> = v.memory.blockers.iter().map(|b| b.kind.as_str()).collect();
            spans.push(Span::styled("memory state cannot be captured", theme.bad()));
            spans.push(Span::raw(format!(
                " ({}); s: disk-only or remedies. ",
                kinds.join(", ")
            )));
            let cause = v
                .memory
                .blockers
                .first()
                .map(|b| b.message.as_str())
                .unwrap_or("");
            spans.push(Span::styled(cause.to_string(), theme.dim()));
        }
    }
    let second = second_line(app, row, theme);
    frame.render_widget(Paragraph::new(vec![Line::from(spans), second]), area);
}

/// "after restart: passthrough invtsc no-migrate" when the next start changes the VM, then
/// the snapshots' space and age in words.
fn second_line(app: &App, row: &DomainInfo, theme: &Theme) -> Line<'static> {
    let mut spans = Vec::new();
    let caps = app.host(row.host).map(|h| &h.capabilities);
    let changes = row.changes_after_restart();
    if let Some(next) = row.cpu_after_restart(caps) {
        let mut cpu = vec![next.mode_label()];
        cpu.extend(next.markers().iter().map(|m| m.to_string()));
        spans.push(Span::styled(
            format!("after restart: {}", cpu.join(" ")),
            theme.warn(),
        ));
    } else if !changes.is_empty() {
        spans.push(Span::styled(
            format!("after restart: {}", changes.join("; ")),
            theme.warn(),
        ));
    }
    let space = match app
        .space
        .get(row.host, &row.name)
        .and_then(|e| e.value.as_ref())
    {
        None if row.state.is_some() => Some(("snapshot space: reading...".to_string(), false)),
        None => None,
        Some(Err(why)) => Some((format!("snapshot space unknown: {why}"), false)),
        Some(Ok(s)) => Some(space_words(s)),
    };
    if let Some((text, marked)) = space {
        if !spans.is_empty() {
            spans.push(Span::raw("  "));
        }
        let style = if marked { theme.warn() } else { theme.dim() };
        spans.push(Span::styled(text, style));
    }
    Line::from(spans)
}

/// "snapshots hold 1.2G; oldest 'nightly-1' 12d, 2 older than 3d; vda: 6 overlays above its
/// base image, more than 5", the parts with a marker (stale, deep) first so a narrow line
/// keeps them. The flag says a marker is set.
fn space_words(s: &VmSpace) -> (String, bool) {
    let Some(oldest) = &s.oldest_snapshot else {
        return ("no snapshots".into(), false);
    };
    let total = match s.snapshot_bytes {
        Some(b) => format!("snapshots hold {}", short_bytes(b)),
        None if s.snapshot_bytes_known == 0 => format!("snapshot space {}", s.snapshot_bytes_how),
        None => format!(
            "snapshots hold at least {} ({})",
            short_bytes(s.snapshot_bytes_known),
            s.snapshot_bytes_how
        ),
    };
    let age = s.oldest_age_seconds.map(short_age).unwrap_or_default();
    let mut old = format!("oldest '{oldest}' {age}");
    let stale = !s.stale_snapshots.is_empty();
    if stale {
        old.push_str(&format!(
            ", {} older than {}d",
            s.stale_snapshots.len(),
            s.stale_after_days
        ));
    }
    // chain_how names the disk first ("vda: 9 overlays above its base image").
    let disk = s.chain_how.split(':').next().unwrap_or("chain");
    let chain = match s.chain_overlays {
        Some(n) if s.deep_chain => {
            format!("{disk}: {n} overlays (more than {})", s.deep_chain_after)
        }
        Some(_) => s.chain_how.clone(),
        None => format!("chain {}", s.chain_how),
    };
    let mut parts = vec![(false, total), (stale, old), (s.deep_chain, chain)];
    // Marked first (a stable sort: otherwise total, age, chain).
    parts.sort_by_key(|(marked, _)| !marked);
    let marked = s.deep_chain || stale;
    let words: Vec<String> = parts.into_iter().map(|(_, t)| t).collect();
    (words.join("; "), marked)
}
