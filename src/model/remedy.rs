//! Definition edits that lift a memory-snapshot block: switch the CPU to host-model, or pin the
//! TSC frequency. They rewrite only the `<cpu>` or `<clock>` element of a domain's persistent
//! XML by streaming quick-xml events; every other byte passes through unchanged, so the diff an
//! admin confirms is exactly what changes.

use quick_xml::events::{BytesEnd, BytesStart, BytesText, Event};
use quick_xml::{Reader, Writer};

/// One edit of the persistent definition (takes effect at the next boot).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefinitionEdit {
    /// `<cpu mode='host-model'>`: drops what only host-passthrough/maximum accept and any
    /// required invtsc feature.
    SwitchToHostModel,
    /// `<clock><timer name='tsc' frequency='HZ'/>`: keeps host-passthrough and invtsc.
    PinTscFrequency { hz: u64 },
}

impl DefinitionEdit {
    /// What the edit does, for titles and confirmations.
    pub fn describe(&self) -> String {
        match self {
            Self::SwitchToHostModel => "switch the CPU to host-model".into(),
            Self::PinTscFrequency { hz } => format!("pin the TSC frequency to {hz} Hz"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RemedyError {
    #[error("the domain XML cannot be read: {0}")]
    Xml(String),
    #[error("the domain XML has no <domain> root element")]
    NoDomain,
}

impl From<quick_xml::Error> for RemedyError {
    fn from(e: quick_xml::Error) -> Self {
        Self::Xml(e.to_string())
    }
}

impl From<std::io::Error> for RemedyError {
    fn from(e: std::io::Error) -> Self {
        Self::Xml(e.to_string())
    }
}

type Events = Vec<Event<'static>>;

/// Applies `edit` to a persistent domain XML.
pub fn apply(xml: &str, edit: DefinitionEdit) -> Result<String, RemedyError> {
    match edit {
        DefinitionEdit::SwitchToHostModel => {
            rewrite_element(xml, "cpu", &host_model, Some(&new_host_model_cpu))
        }
        DefinitionEdit::PinTscFrequency { hz } => rewrite_element(
            xml,
            "clock",
            &|events, indent| pin_tsc(events, indent, hz),
            Some(&|indent: &str| new_clock(indent, hz)),
        ),
    }
}

/// The XML with the named children of `<domain>` removed: what must stay identical when a
/// remedy only touches those elements.
pub fn without_elements(xml: &str, names: &[&str]) -> Result<String, RemedyError> {
    let mut out = xml.to_owned();
    for name in names {
        out = rewrite_element(&out, name, &|_, _| Vec::new(), None)?;
    }
    Ok(out)
}

/// Streams `xml`, handing the events of `<domain>`'s child `name` (whole element, and the
/// indentation in front of it) to `edit`. When the element is missing, `insert` makes one,
/// placed before `</domain>`.
fn rewrite_element(
    xml: &str,
    name: &str,
    edit: &dyn Fn(Events, &str) -> Events,
    insert: Option<&dyn Fn(&str) -> Events>,
) -> Result<String, RemedyError> {
    let mut reader = Reader::from_str(xml);
    reader.config_mut().trim_text(false);
    let mut w = Writer::new(Vec::new());
    let mut depth = 0usize;
    let mut seen_root = false;
    let mut found = false;
    let mut indent = String::from("\n  ");
    // The whitespace before the current event, held back while deciding whether the next
    // element is the one being removed (then its indentation goes with it).
    let mut pending_space: Option<Event<'static>> = None;
    loop {
        let event = reader.read_event()?.into_owned();
        if let Event::Text(t) = &event {
            if is_space(t) {
                if let Some(prev) = pending_space.take() {
                    w.write_event(prev)?;
                }
                indent = String::from_utf8_lossy(t.as_ref()).into_owned();
                pending_space = Some(event);
                continue;
            }
        }
        let is_target = depth == 1
            && matches!(&event, Event::Start(s) | Event::Empty(s) if s.name().as_ref() == name.as_bytes());
        if is_target {
            found = true;
            let element = collect_element(&mut reader, event)?;
            let replaced = edit(element, &indent);
            if replaced.is_empty() {
                pending_space = None;
            }
            if let Some(space) = pending_space.take() {
                w.write_event(space)?;
            }
            for e in replaced {
                w.write_event(e)?;
            }
            continue;
        }
        if depth == 1 && !found && matches!(event, Event::End(_)) {
            if let Some(insert) = insert {
                let child_indent = child_indent_of(pending_space.as_ref());
                w.write_event(Event::Text(BytesText::from_escaped(child_indent.clone())))?;
                for e in insert(&child_indent) {
                    w.write_event(e)?;
                }
                found = true;
            }
        }
        if let Some(space) = pending_space.take() {
            w.write_event(space)?;
        }
        match &event {
            Event::Start(s) => {
                if depth == 0 {
                    if s.name().as_ref() != b"domain" {
                        return Err(RemedyError::NoDomain);
                    }
                    seen_root = true;
                }
                depth += 1;
            }
            Event::End(_) => depth = depth.saturating_sub(1),
            Event::Eof => break,
            _ => {}
        }
        w.write_event(event)?;
    }
    if !seen_root {
        return Err(RemedyError::NoDomain);
    }
    String::from_utf8(w.into_inner()).map_err(|e| RemedyError::Xml(e.to_string()))
}

/// The indentation of `</domain>`'s children, from the whitespace before `</domain>`.
fn child_indent_of(space_before_end: Option<&Event>) -> String {
    match space_before_end {
        Some(Event::Text(t)) => {
            let mut s = String::from_utf8_lossy(t.as_ref()).into_owned();
            s.push_str("  ");
            s
        }
        _ => "\n  ".into(),
    }
}

fn is_space(t: &BytesText) -> bool {
    // Spelled out: another crate's AsRef impls on byte slices make `as_ref()` ambiguous.
    (**t).iter().all(u8::is_ascii_whitespace)
}

/// The events of one element, from its start (already read) to its end.
fn collect_element(
    reader: &mut Reader<&[u8]>,
    start: Event<'static>,
) -> Result<Events, RemedyError> {
    let mut events = vec![start];
    if matches!(events[0], Event::Empty(_)) {
        return Ok(events);
    }
    let mut depth = 1usize;
    while depth > 0 {
        let e = reader.read_event()?.into_owned();
        match &e {
            Event::Start(_) => depth += 1,
            Event::End(_) => depth -= 1,
            Event::Eof => return Err(RemedyError::Xml("unexpected end of the document".into())),
            _ => {}
        }
        events.push(e);
    }
    Ok(events)
}

fn attr(s: &BytesStart, name: &str) -> Option<String> {
    s.try_get_attribute(name)
        .ok()
        .flatten()
        .and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()))
}

/// A copy of `s` with `set` attributes replaced (or added) and `drop` ones removed, others kept
/// in their order.
fn with_attrs(s: &BytesStart, set: &[(&str, &str)], drop: &[&str]) -> BytesStart<'static> {
    let name = String::from_utf8_lossy(s.name().as_ref()).into_owned();
    let mut out = BytesStart::new(name);
    let mut done: Vec<&str> = Vec::new();
    for a in s.attributes().flatten() {
        let key = String::from_utf8_lossy(a.key.as_ref()).into_owned();
        if drop.contains(&key.as_str()) {
            continue;
        }
        if let Some((k, v)) = set.iter().find(|(k, _)| *k == key) {
            out.push_attribute((*k, *v));
            done.push(k);
        } else {
            out.push_attribute(a);
        }
    }
    for (k, v) in set {
        if !done.contains(k) {
            out.push_attribute((*k, *v));
        }
    }
    out
}

/// Splits a collected element into its direct children (with their leading whitespace), so
/// children can be dropped or changed one by one.
fn host_model(events: Events, _indent: &str) -> Events {
    let mut out = Vec::with_capacity(events.len());
    let mut depth = 0usize;
    let mut skipping: Option<usize> = None;
    for e in events {
        let here = depth;
        match &e {
            Event::Start(_) => depth += 1,
            Event::End(_) => depth = depth.saturating_sub(1),
            _ => {}
        }
        if let Some(level) = skipping {
            if matches!(e, Event::End(_)) && depth == level {
                skipping = None;
            }
            continue;
        }
        match &e {
            Event::Start(s) | Event::Empty(s) if here == 0 => {
                let changed = with_attrs(s, &[("mode", "host-model")], &["migratable", "match"]);
                out.push(match e {
                    Event::Start(_) => Event::Start(changed),
                    _ => Event::Empty(changed),
                });
            }
            Event::Start(s) | Event::Empty(s) if here == 1 && drop_for_host_model(s) => {
                if matches!(out.last(), Some(Event::Text(t)) if is_space(t)) {
                    out.pop();
                }
                if matches!(e, Event::Start(_)) {
                    skipping = Some(here);
                }
            }
            _ => out.push(e),
        }
    }
    out
}

/// Children of `<cpu>` that host-model refuses or that keep memory state blocked.
fn drop_for_host_model(s: &BytesStart) -> bool {
    let passthrough_only = attr(s, "mode").as_deref() == Some("passthrough");
    match s.name().as_ref() {
        b"cache" | b"maxphysaddr" => passthrough_only,
        // A named model belongs to custom mode; host-model picks the host's.
        b"model" => true,
        b"feature" => {
            attr(s, "name").as_deref() == Some("invtsc")
                && matches!(
                    attr(s, "policy").as_deref(),
                    Some("require" | "force") | None
                )
        }
        _ => false,
    }
}

fn new_host_model_cpu(_indent: &str) -> Events {
    let mut cpu = BytesStart::new("cpu");
    cpu.push_attribute(("mode", "host-model"));
    vec![Event::Empty(cpu)]
}

fn tsc_timer(hz: &str) -> BytesStart<'static> {
    let mut timer = BytesStart::new("timer");
    timer.push_attribute(("name", "tsc"));
    timer.push_attribute(("frequency", hz));
    timer
}

fn pin_tsc(events: Events, indent: &str, hz: u64) -> Events {
    let hz = hz.to_string();
    let child_indent = format!("{indent}  ");
    if let [Event::Empty(clock)] = events.as_slice() {
        return vec![
            Event::Start(clock.clone()),
            Event::Text(BytesText::from_escaped(child_indent)),
            Event::Empty(tsc_timer(&hz)),
            Event::Text(BytesText::from_escaped(indent.to_owned())),
            Event::End(BytesEnd::new("clock")),
        ];
    }
    let mut out = Vec::with_capacity(events.len() + 2);
    let mut depth = 0usize;
    let mut pinned = false;
    let last = events.len().saturating_sub(1);
    for (i, e) in events.into_iter().enumerate() {
        let here = depth;
        match &e {
            Event::Start(_) => depth += 1,
            Event::End(_) => depth = depth.saturating_sub(1),
            _ => {}
        }
        match e {
            Event::Start(s) if here == 1 && is_tsc_timer(&s) => {
                pinned = true;
                out.push(Event::Start(with_attrs(&s, &[("frequency", &hz)], &[])));
            }
            Event::Empty(s) if here == 1 && is_tsc_timer(&s) => {
                pinned = true;
                out.push(Event::Empty(with_attrs(&s, &[("frequency", &hz)], &[])));
            }
            Event::End(end) if i == last && !pinned => {
                // Before the closing tag's own indentation, as the last child.
                let trailing = match out.last() {
                    Some(Event::Text(t)) if is_space(t) => out.pop(),
                    _ => None,
                };
                out.push(Event::Text(BytesText::from_escaped(child_indent.clone())));
                out.push(Event::Empty(tsc_timer(&hz)));
                out.push(
                    trailing
                        .unwrap_or_else(|| Event::Text(BytesText::from_escaped(indent.to_owned()))),
                );
                out.push(Event::End(end));
            }
            other => out.push(other),
        }
    }
    out
}

fn is_tsc_timer(s: &BytesStart) -> bool {
    s.name().as_ref() == b"timer" && attr(s, "name").as_deref() == Some("tsc")
}

/// A `<clock>` for a domain that had none: UTC is libvirt's default offset.
fn new_clock(indent: &str, hz: u64) -> Events {
    let mut clock = BytesStart::new("clock");
    clock.push_attribute(("offset", "utc"));
    pin_tsc(vec![Event::Empty(clock)], indent, hz)
}

/// A line of a diff: `-` removed, `+` added, ` ` unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffLine {
    pub sign: char,
    pub text: String,
}

/// The changed lines of `before` -> `after` with `context` unchanged lines around each change;
/// a skipped stretch is one `...` line.
pub fn diff_lines(before: &str, after: &str, context: usize) -> Vec<DiffLine> {
    let a: Vec<&str> = before.lines().collect();
    let b: Vec<&str> = after.lines().collect();
    // Longest common subsequence table: domain XML is a few hundred lines at most.
    let mut lcs = vec![vec![0u32; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let mut all = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            all.push((' ', a[i]));
            i += 1;
            j += 1;
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            all.push(('-', a[i]));
            i += 1;
        } else {
            all.push(('+', b[j]));
            j += 1;
        }
    }
    let near_change = |k: usize| {
        let lo = k.saturating_sub(context);
        let hi = (k + context).min(all.len().saturating_sub(1));
        (lo..=hi).any(|n| all[n].0 != ' ')
    };
    let mut out = Vec::new();
    let mut skipped = false;
    for (k, (sign, text)) in all.iter().enumerate() {
        if *sign != ' ' || near_change(k) {
            out.push(DiffLine {
                sign: *sign,
                text: (*text).to_owned(),
            });
            skipped = false;
        } else if !skipped {
            out.push(DiffLine {
                sign: ' ',
                text: "...".into(),
            });
            skipped = true;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        crate::model::fixtures::text(&format!("domain/{name}"))
    }

    fn changed(before: &str, after: &str) -> Vec<String> {
        diff_lines(before, after, 0)
            .into_iter()
            .filter(|l| l.sign != ' ')
            .map(|l| format!("{}{}", l.sign, l.text))
            .collect()
    }

    #[test]
    fn host_model_changes_only_the_cpu_element() {
        let before = fixture("hp-off-inactive.xml");
        let after = apply(&before, DefinitionEdit::SwitchToHostModel).unwrap();
        assert_eq!(
            changed(&before, &after),
            [
                "-  <cpu mode='host-passthrough' check='none' migratable='off'>",
                "+  <cpu mode=\"host-model\" check=\"none\">"
            ]
        );
        assert_eq!(
            without_elements(&before, &["cpu"]).unwrap(),
            without_elements(&after, &["cpu"]).unwrap()
        );
        let cfg = crate::model::DomainConfig::from_xml(&after).unwrap();
        assert_eq!(cfg.cpu_mode(), crate::model::CpuMode::HostModel);
    }

    #[test]
    fn host_model_drops_passthrough_only_children_and_required_invtsc() {
        let before = "<domain type='kvm'>\n  <name>x</name>\n  <cpu mode='maximum' migratable='off'>\n    <cache mode='passthrough'/>\n    <feature policy='require' name='invtsc'/>\n    <feature policy='disable' name='arch-capabilities'/>\n    <topology sockets='1' cores='2' threads='1'></topology>\n  </cpu>\n</domain>\n";
        let after = apply(before, DefinitionEdit::SwitchToHostModel).unwrap();
        assert_eq!(
            after,
            "<domain type='kvm'>\n  <name>x</name>\n  <cpu mode=\"host-model\">\n    <feature policy='disable' name='arch-capabilities'/>\n    <topology sockets='1' cores='2' threads='1'></topology>\n  </cpu>\n</domain>\n"
        );
    }

    #[test]
    fn host_model_adds_a_cpu_when_there_is_none() {
        let before = "<domain>\n  <name>a</name>\n</domain>";
        let after = apply(before, DefinitionEdit::SwitchToHostModel).unwrap();
        assert_eq!(changed(before, &after), ["+  <cpu mode=\"host-model\"/>"]);
        // libvirt writes qemu64 for a cpu-less definition: its model and match go.
        let custom = fixture("no-cpu-inactive.xml");
        let after = apply(&custom, DefinitionEdit::SwitchToHostModel).unwrap();
        assert!(
            !after.contains("qemu64") && !after.contains("match="),
            "{after}"
        );
    }

    #[test]
    fn pin_tsc_expands_an_empty_clock() {
        let before = fixture("hp-off-inactive.xml");
        let after = apply(
            &before,
            DefinitionEdit::PinTscFrequency { hz: 2_445_404_000 },
        )
        .unwrap();
        assert_eq!(
            changed(&before, &after),
            [
                "-  <clock offset='utc'/>",
                "+  <clock offset='utc'>",
                "+    <timer name=\"tsc\" frequency=\"2445404000\"/>",
                "+  </clock>"
            ]
        );
        assert_eq!(
            without_elements(&before, &["clock"]).unwrap(),
            without_elements(&after, &["clock"]).unwrap()
        );
        let cfg = crate::model::DomainConfig::from_xml(&after).unwrap();
        assert_eq!(cfg.tsc_frequency_hz, Some(2_445_404_000));
    }

    #[test]
    fn pin_tsc_replaces_a_frequency_and_keeps_other_timers() {
        let before = "<domain>\n  <clock offset='localtime'>\n    <timer name='rtc' tickpolicy='catchup'/>\n    <timer name='tsc' frequency='1' mode='native'/>\n  </clock>\n</domain>";
        let after = apply(before, DefinitionEdit::PinTscFrequency { hz: 42 }).unwrap();
        assert_eq!(
            changed(before, &after),
            [
                "-    <timer name='tsc' frequency='1' mode='native'/>",
                "+    <timer name=\"tsc\" frequency=\"42\" mode=\"native\"/>"
            ]
        );
        let added =
            "<domain>\n  <clock offset='utc'>\n    <timer name='rtc'/>\n  </clock>\n</domain>";
        let after = apply(added, DefinitionEdit::PinTscFrequency { hz: 7 }).unwrap();
        assert_eq!(
            after,
            "<domain>\n  <clock offset='utc'>\n    <timer name='rtc'/>\n    <timer name=\"tsc\" frequency=\"7\"/>\n  </clock>\n</domain>"
        );
        let none = "<domain>\n  <name>a</name>\n</domain>";
        let after = apply(none, DefinitionEdit::PinTscFrequency { hz: 7 }).unwrap();
        assert!(after.contains("<clock offset=\"utc\">\n    <timer name=\"tsc\" frequency=\"7\"/>\n  </clock>\n</domain>"), "{after}");
    }

    #[test]
    fn everything_else_passes_through_byte_for_byte() {
        // Comments, entities, CDATA and foreign namespaces around the edited element survive.
        let before = "<?xml version='1.0'?>\n<!-- keep -->\n<domain type='kvm' xmlns:q='urn:q'>\n  <description>a &amp; b &lt;c&gt; &#13;</description>\n  <q:x><![CDATA[ ]]> ]]></q:x>\n  <cpu mode='host-passthrough'/>\n  <metadata><cpu mode='host-passthrough'/></metadata>\n</domain>\n";
        let after = apply(before, DefinitionEdit::SwitchToHostModel).unwrap();
        assert_eq!(
            after,
            before.replace(
                "  <cpu mode='host-passthrough'/>\n  <metadata>",
                "  <cpu mode=\"host-model\"/>\n  <metadata>"
            )
        );
    }

    #[test]
    fn refuses_what_is_not_a_domain() {
        assert_eq!(
            apply("<network/>", DefinitionEdit::SwitchToHostModel),
            Err(RemedyError::NoDomain)
        );
        assert!(apply("<domain><cpu>", DefinitionEdit::SwitchToHostModel).is_err());
    }

    #[test]
    fn diff_keeps_context_and_elides_the_rest() {
        let d = diff_lines("a\nb\nc\nd\ne\nf", "a\nb\nc\nD\ne\nf", 1);
        let text: Vec<String> = d.iter().map(|l| format!("{}{}", l.sign, l.text)).collect();
        assert_eq!(text, [" ...", " c", "-d", "+D", " e", " ..."]);
    }
}
