//! Create and REDEFINE requests carry any description verbatim and change nothing else.

use super::*;

const OFF1: &str = include_str!("../../../tests/fixtures/snapshot/qemu-off1.xml");
const DISK1: &str = include_str!("../../../tests/fixtures/snapshot/qemu-disk1.xml");
const EXTMEM1: &str = include_str!("../../../tests/fixtures/snapshot/qemu-extmem1.xml");

const HOSTILE: &[&str] = &[
    "<",
    "&",
    "]]>",
    "'\"",
    "line one\nline two\n",
    "</description><memory snapshot='external'/>",
    "</description></domainsnapshot><domainsnapshot><name>evil</name>",
    "windows\r\nline\rend",
    "&amp; &lt; &#x41; &nbsp;",
    "<![CDATA[x]]>",
    "<!-- comment -->",
    "<?pi x?>",
    "  padded\t ",
    "日本語 ✓ 🦀",
    "plain",
];

fn request(description: &str) -> CreateRequest {
    CreateRequest {
        name: "snap1".into(),
        description: Some(description.into()),
        memory: MemoryChoice::External {
            file: "/var/lib/libvirt/qemu/snapshot/web.snap1.mem".into(),
        },
        disks: vec![
            DiskChoice {
                target: "vda".into(),
                mode: DiskSnapshotMode::External,
                file: Some("/var/lib/libvirt/images/web.qcow2.snap1".into()),
            },
            DiskChoice {
                target: "sda".into(),
                mode: DiskSnapshotMode::No,
                file: None,
            },
        ],
    }
}

#[test]
fn create_request_carries_hostile_descriptions_verbatim() {
    for &text in HOSTILE {
        let xml = request(text).to_xml().unwrap();
        let back = SnapshotInfo::from_xml(&xml).unwrap_or_else(|e| panic!("{text:?}: {e}\n{xml}"));
        assert_eq!(back.description.as_deref(), Some(text), "{xml}");
        assert_eq!(back.name, "snap1");
        assert_eq!(back.memory_mode, MemoryMode::External);
        assert_eq!(
            back.memory_file.as_deref(),
            Some("/var/lib/libvirt/qemu/snapshot/web.snap1.mem")
        );
        assert_eq!(back.disks.len(), 2, "{xml}");
        assert_eq!(
            back.disks[0].source.as_deref(),
            Some("/var/lib/libvirt/images/web.qcow2.snap1")
        );
        assert_eq!(back.disks[1].mode, Some(DiskSnapshotMode::No));
    }
}

#[test]
fn create_request_shape() {
    let req = CreateRequest {
        name: "s".into(),
        description: None,
        memory: MemoryChoice::None,
        disks: vec![DiskChoice {
            target: "vda".into(),
            mode: DiskSnapshotMode::Internal,
            file: None,
        }],
    };
    assert_eq!(
        req.to_xml().unwrap(),
        "<domainsnapshot>\n  <name>s</name>\n  <memory snapshot=\"no\"/>\n  <disks>\n    \
         <disk name=\"vda\" snapshot=\"internal\"/>\n  </disks>\n</domainsnapshot>"
    );
    let with_memory = CreateRequest {
        memory: MemoryChoice::Internal,
        disks: vec![],
        ..req
    };
    let xml = with_memory.to_xml().unwrap();
    assert!(xml.contains("<memory snapshot=\"internal\"/>"), "{xml}");
    assert!(!xml.contains("<disks"), "{xml}");
}

#[test]
fn names_and_paths_are_escaped_too() {
    let mut req = request("d");
    req.name = "a<b>&\"c'".into();
    req.disks[0].file = Some("/tmp/x'\"<&>.snap".into());
    let back = SnapshotInfo::from_xml(&req.to_xml().unwrap()).unwrap();
    assert_eq!(back.name, "a<b>&\"c'");
    assert_eq!(back.disks[0].source.as_deref(), Some("/tmp/x'\"<&>.snap"));
}

#[test]
fn characters_xml_cannot_carry_are_refused() {
    for text in ["\u{0}", "esc \u{1b}[31m", "\u{b}", "\u{fffe}"] {
        assert!(
            matches!(
                request(text).to_xml(),
                Err(SnapshotXmlError::IllegalChar(_))
            ),
            "{text:?}"
        );
        assert!(redefine_with_description(OFF1, text).is_err(), "{text:?}");
    }
}

/// The document with the snapshot's own `<description>` (and its indentation) cut out.
fn without_description(xml: &str) -> String {
    let (Some(start), Some(end)) = (xml.find("\n  <description>"), xml.find("</description>"))
    else {
        return xml.to_owned();
    };
    format!("{}{}", &xml[..start], &xml[end + "</description>".len()..])
}

#[test]
fn redefine_replaces_only_the_description() {
    for base in [OFF1, DISK1, EXTMEM1] {
        let original = SnapshotInfo::from_xml(base).unwrap();
        for &text in HOSTILE {
            let out = redefine_with_description(base, text).unwrap();
            let back = SnapshotInfo::from_xml(&out).unwrap_or_else(|e| panic!("{text:?}: {e}"));
            assert_eq!(back.description.as_deref(), Some(text));
            assert_eq!(
                without_description(&out),
                without_description(base),
                "{text:?}"
            );
            assert_eq!(
                SnapshotInfo {
                    description: original.description.clone(),
                    revert_disks: Vec::new(),
                    domain: None,
                    raw_xml: String::new(),
                    ..back
                },
                SnapshotInfo {
                    revert_disks: Vec::new(),
                    domain: None,
                    raw_xml: String::new(),
                    ..original.clone()
                }
            );
        }
    }
}

#[test]
fn redefine_inserts_after_name_and_removes_when_empty() {
    assert!(!DISK1.contains("<description>"));
    let out = redefine_with_description(DISK1, "new").unwrap();
    assert!(
        out.starts_with(
            "<domainsnapshot>\n  <name>disk1</name>\n  <description>new</description>\n  <state>"
        ),
        "{out}"
    );
    assert_eq!(redefine_with_description(&out, "").unwrap(), DISK1);
    assert_eq!(redefine_with_description(DISK1, "").unwrap(), DISK1);

    let removed = redefine_with_description(OFF1, "").unwrap();
    assert_eq!(removed, without_description(OFF1));
    assert_eq!(SnapshotInfo::from_xml(&removed).unwrap().description, None);
}

#[test]
fn redefine_with_the_same_text_is_byte_identical() {
    let original = SnapshotInfo::from_xml(OFF1).unwrap();
    let same = redefine_with_description(OFF1, original.description.as_deref().unwrap()).unwrap();
    assert_eq!(same, OFF1);
}

#[test]
fn redefine_leaves_the_embedded_domain_description_alone() {
    let xml = "<domainsnapshot><name>s</name><domain><name>vm</name>\
               <description>vm &amp; text</description></domain></domainsnapshot>";
    let out = redefine_with_description(xml, "mine").unwrap();
    assert_eq!(
        out,
        "<domainsnapshot><name>s</name><description>mine</description><domain><name>vm</name>\
         <description>vm &amp; text</description></domain></domainsnapshot>"
    );
    assert_eq!(redefine_with_description(xml, "").unwrap(), xml);
}
