//! The create-snapshot dialog, and the confirmation of a definition edit with its XML diff
//! (a job question of several lines).

use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::app::dialogs::create::{Field, SnapshotDialog};
use crate::app::App;
use crate::ui::jobs::{centered, modal_block};
use crate::ui::theme::cursor_spans;
use crate::ui::Theme;

const LABEL: usize = 14;

pub fn draw(frame: &mut Frame, d: &SnapshotDialog, theme: &Theme) {
    let full = frame.area();
    let area = centered(full, full.width.min(100), full.height.min(34));
    let block = modal_block(
        frame,
        area,
        format!(" New snapshot of {} ({}) ", d.domain, d.state.label()),
        theme,
    );
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = usize::from(inner.width).max(10);
    let mut top: Vec<Line> = Vec::new();

    // Name and its validation.
    top.push(field_line(
        "Name",
        d.name.value(),
        (d.focus == Field::Name).then(|| d.name.cursor()),
        width,
        theme,
    ));
    top.push(match d.name_error() {
        Some(e) => Line::styled(truncate(&format!("{:LABEL$}! {e}", ""), width), theme.bad()),
        None => Line::styled(truncate(&name_hint(), width), theme.dim()),
    });
    // Description: three lines, those around the cursor while it has the focus.
    let desc: Vec<&str> = d.description.value().split('\n').collect();
    let (cursor_line, cursor_col) = d.description.cursor_line_col();
    let focused = d.focus == Field::Description;
    let first = if focused {
        cursor_line.saturating_sub(2)
    } else {
        desc.len().saturating_sub(3)
    };
    for i in 0..3 {
        let label = if i == 0 { "Description" } else { "" };
        let index = first + i;
        let text = desc.get(index).copied().unwrap_or("");
        let cursor = (focused && index == cursor_line).then_some(cursor_col);
        let mut line = field_line(label, text, cursor, width, theme);
        if i == 0 && desc.len() > 3 {
            line.push_span(Span::styled(
                format!(" (+{} lines)", desc.len() - 3),
                theme.dim(),
            ));
        }
        top.push(line);
    }
    top.push(checkbox(
        "Include memory state",
        d.memory,
        d.memory_lock.is_none(),
        d.focus == Field::Memory,
        theme,
    ));
    // Allowed now, but the guest (mounting a 9p share) or a back-end can still make QEMU
    // refuse it: said as a warning, not guessed as a block.
    if d.memory_lock.is_none() {
        for c in &d.verdict.memory.conditional_blockers {
            for l in wrap(&format!("! {}", c.message), width.saturating_sub(4)) {
                top.push(Line::styled(format!("    {l}"), theme.warn()));
            }
        }
    }

    let mut bottom: Vec<Line> = Vec::new();
    let quiesce_reason = d.quiesce_reason();
    bottom.push(checkbox(
        "Quiesce file systems",
        d.quiesce,
        quiesce_reason.is_none(),
        d.focus == Field::Quiesce,
        theme,
    ));
    if let Some(why) = &quiesce_reason {
        bottom.push(Line::styled(
            truncate(&format!("    {why}"), width),
            theme.dim(),
        ));
    }
    if let Some(guest) = d.guest.line() {
        bottom.push(Line::styled(
            truncate(&format!("    {guest}"), width),
            theme.dim(),
        ));
    }
    for (text, warn) in d.summary() {
        let style = if warn { theme.warn() } else { Style::new() };
        for l in wrap(&text, width) {
            bottom.push(Line::styled(l, style));
        }
    }
    if !d.remedies.is_empty() {
        let mut spans = vec![Span::raw("Or: ")];
        for (i, r) in d.remedies.iter().enumerate() {
            let style = if d.focus == Field::Action(i) {
                theme.selected()
            } else {
                theme.accent()
            };
            let (open, close) = if d.focus == Field::Action(i) {
                ('>', '<')
            } else {
                ('[', ']')
            };
            spans.push(Span::styled(format!("{open}{}{close}", r.label()), style));
            spans.push(Span::raw(" "));
        }
        bottom.push(Line::from(spans));
    }
    bottom.push(match &d.error {
        Some(e) => Line::styled(truncate(e, width), theme.bad()),
        None => keys_line(theme),
    });

    // The reason under the memory checkbox gets the rows left over and scrolls.
    let reason: Vec<String> = d
        .memory_lock
        .as_deref()
        .map(|r| wrap(r, width.saturating_sub(4)))
        .unwrap_or_default();
    let rows = usize::from(inner.height);
    let room = rows.saturating_sub(top.len() + bottom.len());
    let mut lines = top;
    if !reason.is_empty() && room > 0 {
        let scroll = usize::from(d.reason_scroll).min(reason.len().saturating_sub(1));
        let fits = reason.len() - scroll <= room && scroll == 0;
        let body_rows = if fits { room } else { room.saturating_sub(1) };
        for l in reason.iter().skip(scroll).take(body_rows) {
            lines.push(Line::styled(format!("    {l}"), theme.warn()));
        }
        if !fits {
            let last = (scroll + body_rows).min(reason.len());
            lines.push(Line::styled(
                format!(
                    "    (lines {}-{last} of {}: PgUp/PgDn)",
                    scroll + 1,
                    reason.len()
                ),
                theme.dim(),
            ));
        }
    }
    let pad = rows.saturating_sub(lines.len() + bottom.len());
    lines.extend(std::iter::repeat_n(Line::from(""), pad));
    lines.extend(bottom);
    frame.render_widget(Paragraph::new(lines), inner);
}

/// One field row: the label, then `text`; with the focus (`cursor` is the character the
/// cursor is at), the text is highlighted and the cursor shown: `_` after the end, the
/// character under it left unhighlighted and underlined inside the text. The row scrolls to
/// keep the cursor in view.
pub(super) fn field_line(
    label: &str,
    text: &str,
    cursor: Option<usize>,
    width: usize,
    theme: &Theme,
) -> Line<'static> {
    let room = width.saturating_sub(LABEL + 1).max(1);
    let chars: Vec<char> = text.chars().collect();
    let mut spans = vec![Span::styled(format!("{label:LABEL$}"), theme.heading())];
    let len = chars.len();
    let Some(at) = cursor.map(|c| c.min(len)) else {
        let shown: String = chars.iter().skip(len.saturating_sub(room)).collect();
        spans.push(Span::raw(shown));
        return Line::from(spans);
    };
    // Scrolled just far enough that the cursor's cell (the `_` past the end included) is
    // the last one shown.
    let start = (at + 1).saturating_sub(room);
    let shown: String = chars[start..len.min(start + room)].iter().collect();
    spans.extend(cursor_spans(
        &shown,
        at - start,
        theme.selected(),
        Style::new().add_modifier(ratatui::style::Modifier::UNDERLINED),
        Span::styled("_", theme.selected()),
    ));
    Line::from(spans)
}

pub(super) fn checkbox(
    label: &str,
    on: bool,
    enabled: bool,
    focused: bool,
    theme: &Theme,
) -> Line<'static> {
    let mark = if on { "[x]" } else { "[ ]" };
    let mut style = if enabled { Style::new() } else { theme.dim() };
    if focused {
        style = theme.selected();
    }
    // The marker shows the focus without colour (TERM=linux, NO_COLOR).
    let focus = if focused { ">" } else { " " };
    let mut spans = vec![Span::styled(format!("{focus}{mark} {label}"), style)];
    if !enabled {
        spans.push(Span::styled(" (disabled)", theme.dim()));
    }
    Line::from(spans)
}

/// The name rule as `validate_name` applies it, short enough for an 80-column dialog.
fn name_hint() -> String {
    format!(
        "{:LABEL$}up to {} bytes; no / , control chars, leading '.' or all digits",
        "",
        crate::model::snapshot::MAX_NAME_BYTES
    )
}

fn keys_line(theme: &Theme) -> Line<'static> {
    let keys = [
        ("Tab", "next"),
        ("Space", "toggle"),
        ("Enter", "create"),
        ("Alt-Enter", "new line"),
        ("Esc", "cancel"),
    ];
    let mut spans = Vec::new();
    for (k, what) in keys {
        spans.push(Span::styled(k, theme.heading()));
        spans.push(Span::raw(format!(" {what}  ")));
    }
    Line::from(spans)
}

pub(super) fn truncate(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(width.saturating_sub(3)).collect();
    out.push_str("...");
    out
}

/// Word wrap at `width` columns, keeping the text's own line breaks; words longer than a line
/// (paths) are cut.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(8);
    let mut out = Vec::new();
    for para in text.split('\n') {
        let mut line = String::new();
        for word in para.split(' ') {
            let mut word = word.to_owned();
            loop {
                let used = line.chars().count();
                let need = word.chars().count() + usize::from(used > 0);
                if used + need <= width {
                    if used > 0 {
                        line.push(' ');
                    }
                    line.push_str(&word);
                    break;
                }
                if used > 0 {
                    out.push(std::mem::take(&mut line));
                    continue;
                }
                let head: String = word.chars().take(width).collect();
                word = word.chars().skip(width).collect();
                out.push(head);
                if word.is_empty() {
                    break;
                }
            }
        }
        out.push(line);
    }
    out
}

/// A job question of several lines (a definition edit with its diff): drawn large, with the
/// diff's added and removed lines coloured. Returns false when the pending question is a
/// one-liner, which the jobs module draws.
pub fn draw_long_question(frame: &mut Frame, app: &App, theme: &Theme) -> bool {
    let Some(job) = app.jobs.pending_question() else {
        return false;
    };
    let Some(q) = &job.question else { return false };
    let Some((head, diff)) = q.text.split_once('\n') else {
        return false;
    };
    let full = frame.area();
    let width = full.width.min(110);
    let head_rows = wrap(head, usize::from(width.saturating_sub(2))).len();
    let wanted = head_rows + diff.lines().count() + 5;
    let height = u16::try_from(wanted).unwrap_or(u16::MAX).min(full.height);
    let area = centered(full, width, height);
    let block = modal_block(frame, area, format!(" {} ", job.title), theme);
    let inner: Rect = block.inner(area);
    let width = usize::from(inner.width);
    let mut lines: Vec<Line> = wrap(head, width).into_iter().map(Line::from).collect();
    lines.push(Line::from(""));
    let room = usize::from(inner.height).saturating_sub(lines.len() + 2);
    let diff: Vec<&str> = diff.lines().collect();
    for l in diff.iter().take(room) {
        let style = match l.chars().next() {
            Some('+') => theme.good(),
            Some('-') => theme.bad(),
            _ => theme.dim(),
        };
        lines.push(Line::styled(truncate(l, width), style));
    }
    if diff.len() > room {
        lines.push(Line::styled(
            format!("... {} more lines", diff.len() - room),
            theme.dim(),
        ));
    }
    lines.push(Line::from(""));
    lines.push(Line::from(vec![
        Span::styled("y", theme.heading()),
        Span::raw(format!(" {}    ", q.yes)),
        Span::styled("n", theme.heading()),
        Span::raw(format!("/Esc {}", q.no)),
    ]));
    frame.render_widget(Paragraph::new(lines).block(block), area);
    true
}

#[cfg(test)]
mod tests {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use ratatui::backend::TestBackend;
    use ratatui::Terminal;

    use crate::app::dialogs::create::{self as snapshot_dialog, Field};
    use crate::app::{App, Msg, Overlay};
    use crate::libvirt::jobs::Job;
    use crate::libvirt::worker::Event;
    use crate::model::inventory::{DomainInfo, HostId};
    use crate::model::DomainState;
    use crate::ui::Theme;

    const GIB: u64 = 1 << 30;

    #[test]
    fn the_name_hint_states_the_whole_rule_and_fits_an_80_column_dialog() {
        let hint = super::name_hint();
        for part in ["247 bytes", "/ ,", "control", "leading '.'", "digits"] {
            assert!(hint.contains(part), "{hint}");
        }
        // 80 columns less the dialog's two borders.
        assert!(hint.chars().count() <= 78, "{} chars: {hint}", hint.len());
        // Each part is refused by the rule the hint states.
        let long = "a".repeat(crate::model::snapshot::MAX_NAME_BYTES + 1);
        for bad in [".x", "a/b", "a,b", "a\tb", "123", long.as_str()] {
            assert!(
                crate::model::snapshot::validate_name(bad, &[], &[]).is_err(),
                "{bad}"
            );
        }
    }
    /// 2026-11-26 14:30:00 UTC: the prefilled name's stamp (tests run without a local zone).
    const NOW: u64 = 1_795_703_400;

    use crate::model::fixtures::domain as fixture;

    fn row(name: &str, base: &str, state: DomainState) -> DomainInfo {
        let mut r = DomainInfo::named(name.into(), format!("uuid-{name}"));
        r.state = Some(state);
        r.persistent = Some(fixture(&format!("{base}-inactive")));
        if state.is_active() {
            r.live = Some(fixture(&format!("{base}-live")));
        }
        r.vcpus = Some(1);
        r.memory_kib = Some(65536);
        r.snapshots = Some(0);
        r
    }

    fn app_with(row: DomainInfo, free: u64, w: u16, h: u16) -> App {
        let mut app = App::new("qemu:///system".into(), w, h);
        app.update(Msg::Worker(
            HostId(0),
            Event::Connected(Box::new(crate::ui::tests::demo_host())),
        ));
        let name = row.name.clone();
        let facts = storage_facts(&row);
        app.update(Msg::Worker(HostId(0), Event::DomainList(vec![row])));
        app.update(Msg::Tick { now: NOW });
        let cmds = snapshot_dialog::open(&mut app, HostId(0), &name, vec!["taken".into()], &|_| {
            Some(free)
        });
        assert!(
            matches!(app.overlay, Some(Overlay::CreateSnapshot(_))),
            "{:?}",
            app.status
        );
        // The dialog asks for the domain's storage facts; the worker's answer arrives.
        assert_eq!(
            cmds.first(),
            Some(&crate::app::Command::LoadSnapshots {
                host: HostId(0),
                domain: name.clone()
            })
        );
        app.update(Msg::Worker(
            HostId(0),
            Event::Snapshots {
                domain: name.clone(),
                result: Ok(Box::new(crate::libvirt::snapshots::DomainSnapshots {
                    domain: name,
                    storage: Some(Box::new(facts)),
                    ..Default::default()
                })),
            },
        ));
        app
    }

    fn storage_facts(row: &DomainInfo) -> crate::model::storage::StorageFacts {
        crate::ui::tests::storage_of(row, NOW as i64)
    }

    fn render(app: &App, ascii: bool) -> String {
        let mut t = Terminal::new(TestBackend::new(app.width, app.height)).unwrap();
        let theme = Theme {
            color: false,
            ascii,
        };
        // The dialog alone: the list under it belongs to other views' snapshots.
        t.draw(|f| super::draw(f, dialog(app), &theme)).unwrap();
        crate::ui::tests::buffer_text(t.backend().buffer())
    }

    fn key(app: &mut App, code: KeyCode) -> Vec<crate::app::Command> {
        app.update(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)))
    }

    fn typed(app: &mut App, text: &str) {
        for c in text.chars() {
            key(app, KeyCode::Char(c));
        }
    }

    fn dialog(app: &App) -> &snapshot_dialog::SnapshotDialog {
        match &app.overlay {
            Some(Overlay::CreateSnapshot(d)) => d,
            other => panic!("no dialog: {other:?}"),
        }
    }

    #[test]
    fn the_guest_agent_and_what_a_quiesce_freezes() {
        let mut app = app_with(row("g1", "no-cpu", DomainState::Running), 50 * GIB, 80, 24);
        assert!(render(&app, true).contains("guest agent: checking..."));
        app.update(Msg::Worker(
            HostId(0),
            Event::GuestInspected {
                domain: "g1".into(),
                agent: crate::model::guest::AgentState::Connected,
                file_systems: Ok(vec![crate::model::guest::GuestFileSystem {
                    mountpoint: "/data".into(),
                    fs_type: "ext4".into(),
                    devices: vec!["/dev/vda".into()],
                }]),
            },
        ));
        insta::assert_snapshot!("guest_agent_connected_80x24", render(&app, true));
    }

    #[test]
    fn the_name_is_edited_at_the_cursor_and_the_cursor_is_drawn_there() {
        let mut app = app_with(
            row("web-01", "host-model", DomainState::Running),
            50 * GIB,
            80,
            24,
        );
        // Replace the prefilled stamp's seconds (…143000): End, Backspace twice, type them
        // again, then back two and insert in the middle.
        key(&mut app, KeyCode::End);
        key(&mut app, KeyCode::Backspace);
        key(&mut app, KeyCode::Backspace);
        typed(&mut app, "99");
        key(&mut app, KeyCode::Left);
        key(&mut app, KeyCode::Left);
        typed(&mut app, "x");
        let name = dialog(&app).name.value().to_string();
        assert!(name.ends_with("1430x99"), "{name}");
        let mut t = Terminal::new(TestBackend::new(80, 24)).unwrap();
        let theme = Theme {
            color: false,
            ascii: false,
        };
        t.draw(|f| super::draw(f, dialog(&app), &theme)).unwrap();
        let buffer = t.backend().buffer();
        let text = crate::ui::tests::buffer_text(buffer);
        let (y, line) = text
            .lines()
            .enumerate()
            .find(|(_, l)| l.contains("Name"))
            .expect("a name row");
        assert!(!line.contains('_'), "the cursor is inside the text: {line}");
        // The cell under the cursor is the '9' after the 'x', drawn underlined, not reversed.
        let x = line.chars().position(|c| c == 'x').expect("x") + 1;
        let cell = &buffer[(x as u16, y as u16)];
        assert_eq!(cell.symbol(), "9");
        assert!(cell.modifier.contains(ratatui::style::Modifier::UNDERLINED));
        assert!(!cell.modifier.contains(ratatui::style::Modifier::REVERSED));
    }

    #[test]
    fn memory_checkbox_enabled_for_a_host_model_vm() {
        for (w, h) in [(80, 24), (120, 40)] {
            let mut app = app_with(
                row("web-01", "host-model", DomainState::Running),
                50 * GIB,
                w,
                h,
            );
            key(&mut app, KeyCode::Tab);
            key(&mut app, KeyCode::Tab);
            key(&mut app, KeyCode::Char(' '));
            assert!(dialog(&app).memory);
            insta::assert_snapshot!(format!("memory_enabled_{w}x{h}"), render(&app, true));
        }
    }

    #[test]
    fn memory_checkbox_disabled_with_the_rules_words() {
        for (w, h) in [(80, 24), (120, 40)] {
            let mut app = app_with(row("db-01", "hp-off", DomainState::Running), 50 * GIB, w, h);
            key(&mut app, KeyCode::Tab);
            key(&mut app, KeyCode::Tab);
            key(&mut app, KeyCode::Char(' '));
            assert!(
                !dialog(&app).memory,
                "a disabled checkbox cannot be toggled"
            );
            insta::assert_snapshot!(format!("memory_blocked_{w}x{h}"), render(&app, true));
        }
        // At 80x24 the rest of the explanation is reached with PgDn.
        let mut app = app_with(
            row("db-01", "hp-off", DomainState::Running),
            50 * GIB,
            80,
            24,
        );
        key(&mut app, KeyCode::PageDown);
        key(&mut app, KeyCode::PageDown);
        insta::assert_snapshot!("memory_blocked_80x24_scrolled", render(&app, true));
    }

    #[test]
    fn a_9p_share_warns_under_the_memory_checkbox() {
        // host-model with a 9p share: memory state is allowed until the guest mounts it.
        let share = "<filesystem type='mount' accessmode='passthrough'><driver type='path'/>\
                     <source dir='/srv'/><target dir='hostshare'/></filesystem></devices>";
        let with_share = |name: &str| {
            let xml = crate::model::fixtures::text(&format!("domain/{name}.xml"));
            crate::model::DomainConfig::from_xml(&xml.replacen("</devices>", share, 1)).unwrap()
        };
        let mut r = row("share-01", "host-model", DomainState::Running);
        r.persistent = Some(with_share("host-model-inactive"));
        r.live = Some(with_share("host-model-live"));
        let app = app_with(r, 50 * GIB, 80, 24);
        let d = dialog(&app);
        assert!(d.memory_lock.is_none(), "{:?}", d.memory_lock);
        assert_eq!(d.verdict.memory.conditional_blockers.len(), 1);
        let screen = render(&app, true);
        assert!(screen.contains("9p share 'hostshare'"), "{screen}");
        insta::assert_snapshot!("conditional_blocker_80x24", screen);
    }

    #[test]
    fn shut_off_vm_reads_not_applicable() {
        let app = app_with(row("old", "hp-off", DomainState::Shutoff), 50 * GIB, 80, 24);
        let d = dialog(&app);
        assert!(d
            .memory_lock
            .as_deref()
            .unwrap()
            .starts_with("Not applicable"));
        assert!(d.remedies.is_empty());
        insta::assert_snapshot!("shut_off_80x24", render(&app, true));
    }

    #[test]
    fn validation_errors_show_next_to_the_name_and_block_enter() {
        let mut app = app_with(
            row("web-01", "host-model", DomainState::Running),
            50 * GIB,
            80,
            24,
        );
        for _ in 0..40 {
            key(&mut app, KeyCode::Backspace);
        }
        typed(&mut app, "-bad name/");
        insta::assert_snapshot!("validation_80x24", render(&app, true));
        assert!(key(&mut app, KeyCode::Enter).is_empty());
        assert!(dialog(&app).error.as_deref().unwrap().contains("'/'"));
        for _ in 0..40 {
            key(&mut app, KeyCode::Backspace);
        }
        typed(&mut app, "taken");
        assert!(dialog(&app)
            .name_error()
            .unwrap()
            .contains("already exists"));
    }

    #[test]
    fn enter_starts_the_create_job_with_what_was_typed() {
        let mut app = app_with(
            row("web-01", "host-model", DomainState::Running),
            50 * GIB,
            80,
            24,
        );
        assert!(
            dialog(&app).name.value().starts_with("web-01-2026"),
            "{}",
            dialog(&app).name.value()
        );
        key(&mut app, KeyCode::Tab);
        typed(&mut app, "a <b> & c");
        app.update(Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::ALT)));
        typed(&mut app, "line 2");
        let cmds = key(&mut app, KeyCode::Enter);
        let [crate::app::Command::StartJob {
            job: Job::CreateSnapshot(j),
            ..
        }] = cmds.as_slice()
        else {
            panic!("{cmds:?}")
        };
        assert_eq!(j.description.as_deref(), Some("a <b> & c\nline 2"));
        assert!(!j.memory && !j.quiesce);
        assert!(app.overlay.is_none());
    }

    #[test]
    fn remedies_are_actions_and_memory_warns_when_it_will_not_fit() {
        let mut app = app_with(
            row("db-01", "hp-off", DomainState::Running),
            50 * GIB,
            80,
            24,
        );
        let labels: Vec<String> = dialog(&app).remedies.iter().map(|r| r.label()).collect();
        assert!(
            labels.contains(&"Stop, snapshot, start".to_string()),
            "{labels:?}"
        );
        while !matches!(dialog(&app).focus, Field::Action(0)) {
            key(&mut app, KeyCode::Tab);
        }
        let cmds = key(&mut app, KeyCode::Enter);
        assert!(
            matches!(cmds.as_slice(), [crate::app::Command::StartJob { job: Job::StopSnapshotStart(j), .. }] if j.timeout_secs == 120),
            "{cmds:?}"
        );
        // A raw disk makes the memory snapshot external: the memory file needs the RAM.
        let mut r = row("web-raw", "host-model", DomainState::Running);
        if let Some(live) = r.live.as_mut() {
            live.disks[0].format = Some("raw".into());
        }
        let mut app = app_with(r, 1 << 20, 120, 40);
        key(&mut app, KeyCode::Tab);
        key(&mut app, KeyCode::Tab);
        key(&mut app, KeyCode::Char(' '));
        let summary = dialog(&app).summary();
        assert!(
            summary
                .iter()
                .any(|(l, warn)| *warn && l.contains("will not fit")),
            "{summary:?}"
        );
    }

    #[test]
    fn read_only_connections_are_refused_with_the_reason() {
        let mut app = App::new("qemu:///system".into(), 80, 24);
        let mut host = crate::ui::tests::demo_host();
        host.readonly = true;
        app.update(Msg::Worker(HostId(0), Event::Connected(Box::new(host))));
        app.update(Msg::Worker(
            HostId(0),
            Event::DomainList(vec![row("w", "host-model", DomainState::Running)]),
        ));
        key(&mut app, KeyCode::Char('s'));
        assert!(app.overlay.is_none());
        assert!(app.status.as_deref().unwrap().contains("read-only"));
    }
}

#[cfg(test)]
mod question_tests {
    use ratatui::backend::TestBackend;
    use ratatui::Terminal;

    use crate::app::App;
    use crate::libvirt::jobs::remedy::EditDefinitionJob;
    use crate::libvirt::jobs::{Job, JobQuestion, JobUpdate};
    use crate::model::remedy::{diff_lines, DefinitionEdit};
    use crate::ui::Theme;

    #[test]
    fn a_definition_edit_is_confirmed_on_its_diff() {
        let before = "<domain>\n  <name>db</name>\n  <cpu mode='host-passthrough' migratable='off'>\n    <feature policy='disable' name='arch-capabilities'/>\n  </cpu>\n  <clock offset='utc'/>\n</domain>\n";
        let edit = DefinitionEdit::SwitchToHostModel;
        let after = crate::model::remedy::apply(before, edit).unwrap();
        let diff: Vec<String> = diff_lines(before, &after, 1)
            .into_iter()
            .map(|l| format!("{} {}", l.sign, l.text))
            .collect();
        let mut app = App::new("qemu:///system".into(), 80, 24);
        let job = Job::EditDefinition(EditDefinitionJob {
            domain: "db".into(),
            edit,
        });
        let id = app.jobs.start(Default::default(), &job, 0);
        app.jobs.apply(
            id,
            JobUpdate::Question(JobQuestion {
                text: format!(
                    "Switch the CPU to host-model in db's persistent definition?\n{}",
                    diff.join("\n")
                ),
                yes: "change the definition".into(),
                no: "keep it as it is".into(),
            }),
        );
        let mut t = Terminal::new(TestBackend::new(80, 24)).unwrap();
        let theme = Theme {
            color: false,
            ascii: true,
        };
        let mut drawn = false;
        t.draw(|f| drawn = super::draw_long_question(f, &app, &theme))
            .unwrap();
        assert!(drawn);
        let out = crate::ui::tests::buffer_text(t.backend().buffer());
        insta::assert_snapshot!("definition_diff_question_80x24", out);
    }
}
