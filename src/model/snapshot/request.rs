//! Writing `<domainsnapshot>` requests: new snapshots, and REDEFINE with a new description.
//! User text only ever reaches the XML through quick-xml's escaping.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use quick_xml::events::{BytesEnd, BytesStart, BytesText, Event};
use quick_xml::{Reader, Writer};
use serde::Serialize;

use super::parse::{DiskSnapshotMode, SnapshotXmlError};

/// The memory part of a create request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase", tag = "mode")]
pub enum MemoryChoice {
    None,
    Internal,
    External { file: PathBuf },
}

/// One disk of a create request: how to snapshot it and, for external, the overlay file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DiskChoice {
    /// Target name, e.g. `vda`.
    pub target: String,
    pub mode: DiskSnapshotMode,
    pub file: Option<PathBuf>,
}

/// The `<domainsnapshot>` sent to `virDomainSnapshotCreateXML`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CreateRequest {
    pub name: String,
    pub description: Option<String>,
    pub memory: MemoryChoice,
    pub disks: Vec<DiskChoice>,
}

impl CreateRequest {
    pub fn to_xml(&self) -> Result<String, SnapshotXmlError> {
        let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
        w.write_event(Event::Start(BytesStart::new("domainsnapshot")))?;
        w.create_element("name")
            .write_text_content(BytesText::new(&self.name))?;
        if let Some(description) = self.description.as_deref().filter(|d| !d.is_empty()) {
            write_description(&mut w, description)?;
        }
        let memory = w.create_element("memory");
        match &self.memory {
            MemoryChoice::None => memory.with_attribute(("snapshot", "no")).write_empty()?,
            MemoryChoice::Internal => memory
                .with_attribute(("snapshot", "internal"))
                .write_empty()?,
            MemoryChoice::External { file } => memory
                .with_attribute(("snapshot", "external"))
                .with_attribute(("file", path_str(file)?))
                .write_empty()?,
        };
        if !self.disks.is_empty() {
            w.write_event(Event::Start(BytesStart::new("disks")))?;
            for disk in &self.disks {
                let el = w
                    .create_element("disk")
                    .with_attribute(("name", disk.target.as_str()))
                    .with_attribute(("snapshot", disk.mode.as_str()));
                match (&disk.file, disk.mode) {
                    (Some(file), DiskSnapshotMode::External) => {
                        let file = path_str(file)?;
                        el.write_inner_content(|w| {
                            w.create_element("source")
                                .with_attribute(("file", file))
                                .write_empty()?;
                            w.create_element("driver")
                                .with_attribute(("type", "qcow2"))
                                .write_empty()?;
                            Ok(())
                        })?
                    }
                    _ => el.write_empty()?,
                };
            }
            w.write_event(Event::End(BytesEnd::new("disks")))?;
        }
        w.write_event(Event::End(BytesEnd::new("domainsnapshot")))?;
        into_string(w)
    }
}

fn path_str(path: &Path) -> Result<&str, SnapshotXmlError> {
    path.to_str()
        .ok_or_else(|| SnapshotXmlError::NonUtf8Path(path.to_path_buf()))
}

fn into_string(w: Writer<Vec<u8>>) -> Result<String, SnapshotXmlError> {
    String::from_utf8(w.into_inner()).map_err(|e| SnapshotXmlError::Encoding(e.utf8_error().into()))
}

/// Escapes description text. Beyond quick-xml's escaping, a carriage return is written as a
/// character reference: a literal one would be normalised to `\n` by any XML parser.
fn escape_description(text: &str) -> Result<Cow<'_, str>, SnapshotXmlError> {
    if let Some(bad) = text.chars().find(|&c| !is_xml_char(c)) {
        return Err(SnapshotXmlError::IllegalChar(u32::from(bad)));
    }
    let escaped = quick_xml::escape::escape(text);
    Ok(if escaped.contains('\r') {
        Cow::Owned(escaped.replace('\r', "&#13;"))
    } else {
        escaped
    })
}

/// Characters XML 1.0 can carry at all (even as references).
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

fn write_description<W: std::io::Write>(
    w: &mut Writer<W>,
    description: &str,
) -> Result<(), SnapshotXmlError> {
    let escaped = escape_description(description)?;
    w.create_element("description")
        .write_text_content(BytesText::from_escaped(escaped))?;
    Ok(())
}

/// Rewrites only the `<description>` of a snapshot's own XML (for REDEFINE); every other event
/// passes through as read. The embedded `<domain>` keeps its own description. An empty
/// `new_description` removes the element; a missing one is added after `<name>`.
///
/// The caller redefines with `VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE`, plus `..._CURRENT` when
/// the snapshot is the current one (REDEFINE alone does not keep it current).
pub fn redefine_with_description(
    raw_xml: &str,
    new_description: &str,
) -> Result<String, SnapshotXmlError> {
    let escaped = escape_description(new_description)?;
    let mut reader = Reader::from_str(raw_xml);
    let mut w = Writer::new(Vec::new());
    let mut depth = 0usize;
    // Whitespace between the root's children is held back one event, so that a removed
    // description takes its indentation with it and an added one copies <name>'s.
    let mut pending_ws: Option<BytesText<'_>> = None;
    let mut name_indent: Option<String> = None;
    // An existing description is replaced where it stands; only a missing one goes after <name>.
    let insert_after_name = !new_description.is_empty() && !has_own_description(raw_xml)?;
    let mut done = false;
    let mut in_name = false;
    loop {
        let event = reader.read_event()?;
        if depth == 1 {
            if let Event::Text(t) = &event {
                if t.iter().all(u8::is_ascii_whitespace) {
                    if let Some(prev) = pending_ws.replace(t.clone()) {
                        w.write_event(Event::Text(prev))?;
                    }
                    continue;
                }
            }
        }
        let is_description = depth == 1
            && matches!(&event, Event::Start(e) | Event::Empty(e)
                if e.local_name().as_ref() == b"description");
        if is_description {
            if let Event::Start(e) = &event {
                reader.read_to_end(e.name())?;
            }
            if !done && !new_description.is_empty() {
                if let Some(ws) = pending_ws.take() {
                    w.write_event(Event::Text(ws))?;
                }
                w.create_element("description")
                    .write_text_content(BytesText::from_escaped(escaped.as_ref()))?;
            }
            pending_ws = None;
            done = true;
            continue;
        }
        if let Some(ws) = pending_ws.take() {
            if depth == 1 && matches!(&event, Event::Start(e) if e.local_name().as_ref() == b"name")
            {
                name_indent = Some(String::from_utf8_lossy(&ws).into_owned());
            }
            w.write_event(Event::Text(ws))?;
        }
        match &event {
            Event::Start(e) => {
                in_name = depth == 1 && e.local_name().as_ref() == b"name";
                depth += 1;
            }
            Event::End(_) => {
                depth = depth.saturating_sub(1);
                if in_name && depth == 1 {
                    in_name = false;
                    w.write_event(event)?;
                    if insert_after_name && !done {
                        if let Some(indent) = &name_indent {
                            w.write_event(Event::Text(BytesText::from_escaped(indent.as_str())))?;
                        }
                        w.create_element("description")
                            .write_text_content(BytesText::from_escaped(escaped.as_ref()))?;
                        done = true;
                    }
                    continue;
                }
            }
            Event::Eof => break,
            _ => {}
        }
        w.write_event(event)?;
    }
    if let Some(ws) = pending_ws.take() {
        w.write_event(Event::Text(ws))?;
    }
    into_string(w)
}

/// Whether the root element has a `<description>` child of its own.
fn has_own_description(raw_xml: &str) -> Result<bool, SnapshotXmlError> {
    let mut reader = Reader::from_str(raw_xml);
    let mut depth = 0usize;
    loop {
        match reader.read_event()? {
            Event::Start(e) => {
                if depth == 1 && e.local_name().as_ref() == b"description" {
                    return Ok(true);
                }
                if depth == 1 {
                    // Skip children wholesale: the embedded <domain> is most of the document.
                    reader.read_to_end(e.name())?;
                } else {
                    depth += 1;
                }
            }
            Event::Empty(e) if depth == 1 && e.local_name().as_ref() == b"description" => {
                return Ok(true)
            }
            Event::End(_) => depth = depth.saturating_sub(1),
            Event::Eof => return Ok(false),
            _ => {}
        }
    }
}
