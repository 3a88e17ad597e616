//! Small helpers shared by the XML parsers: a tiny element tree built with quick-xml.
//!
//! libvirt documents are a few kilobytes, so a tree costs microseconds and lets the parsers ask
//! for exactly the parent they mean (`<model>` inside `<cpu>`, not any `<model>`), which a flat
//! event loop gets wrong easily.

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

/// Why a piece of libvirt XML could not be read.
#[derive(Debug, thiserror::Error)]
pub enum XmlError {
    #[error("malformed XML at byte {position}: {message}")]
    Malformed { position: u64, message: String },
    #[error("expected a <{expected}> document, found <{found}>")]
    WrongRoot {
        expected: &'static str,
        found: String,
    },
    #[error("the XML document is empty")]
    Empty,
    #[error("invalid value {value:?} for {what}")]
    InvalidValue { what: String, value: String },
}

/// One element: its attributes, child elements and the text directly inside it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Element {
    pub name: String,
    attrs: Vec<(String, String)>,
    pub children: Vec<Element>,
    text: String,
}

impl Element {
    /// Parses a whole document into its root element. Elements from other namespaces
    /// (`<test:runstate>`, `<qemu:commandline>`), comments, processing instructions and the
    /// doctype are dropped: libvirt's own vocabulary never carries a prefix.
    #[cfg(test)]
    pub fn parse(xml: &str) -> Result<Element, XmlError> {
        Self::parse_kept(xml, |_, _| true)
    }

    /// Like `parse`, but keeps an element (and its subtree) only when `keep(ancestors, name)`
    /// says so; the root is always kept. Skipping what a parser never reads (controllers,
    /// `<guest>` sections, NUMA topology) makes the tree several times cheaper to build.
    pub fn parse_kept(xml: &str, keep: fn(&[Element], &str) -> bool) -> Result<Element, XmlError> {
        let mut reader = Reader::from_str(xml);
        let mut stack: Vec<Element> = Vec::new();
        let mut root: Option<Element> = None;
        // Depth inside an element whose whole subtree is ignored.
        let mut skip_depth = 0usize;
        loop {
            let event = reader.read_event().map_err(|e| XmlError::Malformed {
                position: reader.error_position(),
                message: e.to_string(),
            })?;
            let malformed = |message: String| XmlError::Malformed {
                position: reader.buffer_position(),
                message,
            };
            match event {
                Event::Start(start) => {
                    if skip_depth > 0 || !wanted(&stack, &start, keep) {
                        skip_depth += 1;
                        continue;
                    }
                    stack.push(element_from(&start).map_err(malformed)?);
                }
                Event::Empty(start) => {
                    if skip_depth > 0 || !wanted(&stack, &start, keep) {
                        continue;
                    }
                    let element = element_from(&start).map_err(malformed)?;
                    attach(&mut stack, &mut root, element);
                }
                Event::End(_) => {
                    if skip_depth > 0 {
                        skip_depth -= 1;
                        continue;
                    }
                    if let Some(element) = stack.pop() {
                        attach(&mut stack, &mut root, element);
                    }
                }
                Event::Text(text) if skip_depth == 0 => {
                    if let Some(top) = stack.last_mut() {
                        let text = text.xml_content().map_err(|e| malformed(e.to_string()))?;
                        // Indentation between child elements is most of the text events.
                        if !(top.text.is_empty() && text.trim().is_empty()) {
                            top.text.push_str(&text);
                        }
                    }
                }
                Event::CData(data) if skip_depth == 0 => {
                    if let Some(top) = stack.last_mut() {
                        let text = data.decode().map_err(|e| malformed(e.to_string()))?;
                        top.text.push_str(&text);
                    }
                }
                Event::GeneralRef(reference) if skip_depth == 0 => {
                    if let Some(top) = stack.last_mut() {
                        let resolved = resolve_reference(&reference).map_err(malformed)?;
                        top.text.push_str(&resolved);
                    }
                }
                Event::Eof => break,
                _ => {}
            }
        }
        if !stack.is_empty() {
            return Err(XmlError::Malformed {
                position: reader.buffer_position(),
                message: format!("unclosed element <{}>", stack[0].name),
            });
        }
        root.ok_or(XmlError::Empty)
    }

    /// Parses (keeping what `keep` wants) and checks the root element's name.
    pub fn parse_root(
        xml: &str,
        expected: &'static str,
        keep: fn(&[Element], &str) -> bool,
    ) -> Result<Element, XmlError> {
        let root = Self::parse_kept(xml, keep)?;
        if root.name != expected {
            return Err(XmlError::WrongRoot {
                expected,
                found: root.name,
            });
        }
        Ok(root)
    }

    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// The first child element with this name.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// Every child element with this name, in document order.
    pub fn children_named<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s Element> {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The element's own text with surrounding whitespace removed.
    pub fn text(&self) -> &str {
        self.text.trim()
    }

    /// The trimmed text of a child, None when the child is absent or empty.
    pub fn child_text(&self, name: &str) -> Option<&str> {
        self.child(name)
            .map(Element::text)
            .filter(|t| !t.is_empty())
    }
}

fn wanted(stack: &[Element], start: &BytesStart, keep: fn(&[Element], &str) -> bool) -> bool {
    let name = start.name();
    if name.prefix().is_some() {
        return false;
    }
    stack.is_empty() || std::str::from_utf8(name.as_ref()).is_ok_and(|n| keep(stack, n))
}

fn element_from(start: &BytesStart) -> Result<Element, String> {
    let name = String::from_utf8_lossy(start.name().as_ref()).into_owned();
    let mut attrs = Vec::new();
    // libvirt never repeats an attribute, so quick-xml's duplicate check buys nothing.
    for attr in start.attributes().with_checks(false) {
        let attr = attr.map_err(|e| e.to_string())?;
        let key = String::from_utf8_lossy(attr.key.as_ref()).into_owned();
        let value = attr.unescape_value().map_err(|e| e.to_string())?;
        attrs.push((key, value.into_owned()));
    }
    Ok(Element {
        name,
        attrs,
        children: Vec::new(),
        text: String::new(),
    })
}

fn attach(stack: &mut [Element], root: &mut Option<Element>, element: Element) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(element),
        None => {
            if root.is_none() {
                *root = Some(element);
            }
        }
    }
}

fn resolve_reference(reference: &quick_xml::events::BytesRef) -> Result<String, String> {
    if let Some(ch) = reference.resolve_char_ref().map_err(|e| e.to_string())? {
        return Ok(ch.to_string());
    }
    let name = reference.decode().map_err(|e| e.to_string())?;
    match quick_xml::escape::resolve_predefined_entity(&name) {
        Some(text) => Ok(text.to_string()),
        None => Err(format!("unknown entity &{name};")),
    }
}

/// Parses libvirt's scaled integers (`<memory unit='MiB'>64</memory>`) into KiB, rounding up
/// as libvirt does. An absent unit means KiB.
pub(crate) fn scaled_to_kib(value: &str, unit: Option<&str>, what: &str) -> Result<u64, XmlError> {
    let invalid = || XmlError::InvalidValue {
        what: what.to_string(),
        value: match unit {
            Some(u) => format!("{value} {u}"),
            None => value.to_string(),
        },
    };
    let number: u64 = value.trim().parse().map_err(|_| invalid())?;
    let bytes_per_unit: u64 = match unit.unwrap_or("KiB") {
        "b" | "bytes" => 1,
        "KB" => 1_000,
        "k" | "K" | "KiB" => 1 << 10,
        "MB" => 1_000_000,
        "M" | "MiB" => 1 << 20,
        "GB" => 1_000_000_000,
        "G" | "GiB" => 1 << 30,
        "TB" => 1_000_000_000_000,
        "T" | "TiB" => 1 << 40,
        "PB" => 1_000_000_000_000_000,
        "P" | "PiB" => 1 << 50,
        "EB" => 1_000_000_000_000_000_000,
        "E" | "EiB" => 1 << 60,
        _ => return Err(invalid()),
    };
    let bytes = number.checked_mul(bytes_per_unit).ok_or_else(invalid)?;
    Ok(bytes.div_ceil(1024))
}

pub(crate) fn parse_u64(value: &str, what: &str) -> Result<u64, XmlError> {
    value.trim().parse().map_err(|_| XmlError::InvalidValue {
        what: what.to_string(),
        value: value.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skips_comments_foreign_elements_and_whitespace() {
        let xml = "<?xml version='1.0'?>\n<!-- hi --><domain xmlns:test='http://x'>\n \
                   <test:runstate><name>inner</name></test:runstate>\n<?pi x?>\
                   <name>\n  vm&amp;1 </name><empty/></domain>";
        let root = Element::parse(xml).unwrap();
        assert_eq!(root.name, "domain");
        assert_eq!(root.children.len(), 2);
        assert_eq!(root.child_text("name"), Some("vm&1"));
        assert_eq!(root.child_text("empty"), None);
    }

    #[test]
    fn reports_malformed_and_empty_documents() {
        assert!(matches!(Element::parse(""), Err(XmlError::Empty)));
        assert!(matches!(
            Element::parse("<domain><name>x</domain>"),
            Err(XmlError::Malformed { .. })
        ));
        assert!(matches!(
            Element::parse("<domain>"),
            Err(XmlError::Malformed { .. })
        ));
        let err = Element::parse_root("<capabilities/>", "domain", |_, _| true).unwrap_err();
        assert_eq!(
            err.to_string(),
            "expected a <domain> document, found <capabilities>"
        );
    }

    #[test]
    fn keeps_only_the_wanted_subtrees() {
        let xml = "<a><b><c/></b><d><e>x</e></d><b2/></a>";
        let root = Element::parse_kept(xml, |ancestors, name| {
            ancestors.len() > 1 || name.starts_with('b')
        })
        .unwrap();
        let names: Vec<_> = root.children.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["b", "b2"]);
        assert_eq!(root.children[0].children[0].name, "c");
    }

    #[test]
    fn keeps_spaces_between_references() {
        let root = Element::parse("<n>  &lt; &gt;  </n>").unwrap();
        assert_eq!(root.text(), "< >");
    }

    #[test]
    fn scales_units_to_kib() {
        assert_eq!(scaled_to_kib("64", Some("MiB"), "memory").unwrap(), 65536);
        assert_eq!(scaled_to_kib("1", Some("GiB"), "memory").unwrap(), 1 << 20);
        assert_eq!(scaled_to_kib("2048", None, "memory").unwrap(), 2048);
        assert_eq!(scaled_to_kib("1025", Some("b"), "memory").unwrap(), 2);
        assert_eq!(scaled_to_kib("1", Some("MB"), "memory").unwrap(), 977);
        assert!(scaled_to_kib("1", Some("parsec"), "memory").is_err());
        assert!(scaled_to_kib("x", None, "memory").is_err());
    }
}
