//! Parsing snapshot XML captured from libvirt 11.3 (QEMU and test drivers).

use super::*;

fn fixture(name: &str) -> SnapshotInfo {
    let xml = match name {
        "qemu-off1" => include_str!("../../../tests/fixtures/snapshot/qemu-off1.xml"),
        "qemu-mem1" => include_str!("../../../tests/fixtures/snapshot/qemu-mem1.xml"),
        "qemu-disk1" => include_str!("../../../tests/fixtures/snapshot/qemu-disk1.xml"),
        "qemu-extmem1" => include_str!("../../../tests/fixtures/snapshot/qemu-extmem1.xml"),
        "qemu-paused1" => include_str!("../../../tests/fixtures/snapshot/qemu-paused1.xml"),
        "qemu-rawoff1" => include_str!("../../../tests/fixtures/snapshot/qemu-rawoff1.xml"),
        "qemu-hostile-description" => {
            include_str!("../../../tests/fixtures/snapshot/qemu-hostile-description.xml")
        }
        "test-root" => include_str!("../../../tests/fixtures/snapshot/test-root.xml"),
        "test-paused" => include_str!("../../../tests/fixtures/snapshot/test-paused.xml"),
        other => panic!("no fixture {other}"),
    };
    let info = SnapshotInfo::from_xml(xml).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(info.raw_xml, xml);
    info
}

#[test]
fn internal_snapshot_of_a_shut_off_vm() {
    let s = fixture("qemu-off1");
    assert_eq!(s.name, "off1");
    assert_eq!(
        s.description.as_deref(),
        Some("Shut-off <internal> & \"quoted\"\nsecond line")
    );
    assert_eq!(
        s.description_first_line(),
        "Shut-off <internal> & \"quoted\""
    );
    assert_eq!(s.parent, None);
    assert_eq!(s.created, 1795703718);
    assert_eq!(s.state, SnapshotState::Shutoff);
    assert!(!s.memory);
    assert_eq!(s.memory_mode, MemoryMode::No);
    assert_eq!(s.location, SnapshotLocation::Internal);
    // Only the snapshot's own <disks>, not the embedded domain's devices.
    let disks: Vec<_> = s.disks.iter().map(|d| (d.name.as_str(), d.mode)).collect();
    assert_eq!(
        disks,
        [
            ("vda", Some(DiskSnapshotMode::Internal)),
            ("sda", Some(DiskSnapshotMode::No))
        ]
    );
}

#[test]
fn internal_memory_snapshot_of_a_running_vm() {
    let s = fixture("qemu-mem1");
    assert_eq!(s.name, "mem1");
    assert_eq!(s.parent.as_deref(), Some("off1"));
    assert_eq!(s.state, SnapshotState::Running);
    assert!(s.memory);
    assert_eq!(s.memory_mode, MemoryMode::Internal);
    assert_eq!(s.location, SnapshotLocation::Internal);
    assert_eq!(s.description.as_deref(), Some("running, internal memory"));
}

#[test]
fn external_disk_only_snapshot() {
    let s = fixture("qemu-disk1");
    assert_eq!(s.parent.as_deref(), Some("mem1"));
    assert_eq!(s.state, SnapshotState::DiskSnapshot);
    assert_eq!(s.state.label(), "disk-only");
    assert!(!s.memory);
    assert_eq!(s.location, SnapshotLocation::External);
    assert_eq!(s.description, None);
    let vda = &s.disks[0];
    assert_eq!(vda.mode, Some(DiskSnapshotMode::External));
    assert_eq!(vda.disk_type.as_deref(), Some("file"));
    assert_eq!(vda.source.as_deref(), Some("/tmp/vs-snapfix/a.qcow2.disk1"));
    assert_eq!(vda.format.as_deref(), Some("qcow2"));
    assert_eq!(s.disks.len(), 2);
}

#[test]
fn external_memory_snapshot() {
    let s = fixture("qemu-extmem1");
    assert_eq!(s.state, SnapshotState::Running);
    assert!(s.memory);
    assert_eq!(s.memory_mode, MemoryMode::External);
    assert_eq!(
        s.memory_file.as_deref(),
        Some("/tmp/vs-snapfix/vs-snapfix-1.extmem1.mem")
    );
    assert_eq!(s.location, SnapshotLocation::External);
}

#[test]
fn paused_and_raw_disk_snapshots() {
    let p = fixture("qemu-paused1");
    assert_eq!(p.state, SnapshotState::DiskSnapshot);
    assert_eq!(p.location, SnapshotLocation::External);
    let r = fixture("qemu-rawoff1");
    assert_eq!(r.state, SnapshotState::Shutoff);
    assert_eq!(r.location, SnapshotLocation::External);
    assert_eq!(
        r.disks[0].source.as_deref(),
        Some("/tmp/vs-snapfix/b.raw.rawoff1")
    );
}

#[test]
fn test_driver_snapshots() {
    let root = fixture("test-root");
    assert_eq!(root.name, "t1");
    assert_eq!(root.description.as_deref(), Some("test driver root"));
    assert_eq!(root.state, SnapshotState::Running);
    assert!(root.memory);
    let paused = fixture("test-paused");
    assert_eq!(paused.state, SnapshotState::Paused);
    assert_eq!(paused.parent.as_deref(), Some("t1"));
    assert_eq!(paused.location, SnapshotLocation::Internal);
}

#[test]
fn embedded_domain_elements_do_not_leak() {
    // A description, name and disks inside <domain> must not be taken as the snapshot's.
    let xml = "<domainsnapshot><domain type='kvm'><name>vm</name><description>vm text</description>\
        <devices><disk type='file'><source file='/x'/><target dev='vda'/></disk></devices></domain>\
        <name>s</name><inactiveDomain><name>vm</name><description>old</description></inactiveDomain>\
        </domainsnapshot>";
    let s = SnapshotInfo::from_xml(xml).unwrap();
    assert_eq!(s.name, "s");
    assert_eq!(s.description, None);
    assert!(s.disks.is_empty());
}

#[test]
fn entities_char_refs_and_cdata_in_text() {
    let xml = "<domainsnapshot><name>a&amp;b</name>\
        <description>x &lt;y&gt; &#13;&#10;z<![CDATA[ ]]> ]]&gt;</description>\
        <creationTime> 12 </creationTime><state>weird</state></domainsnapshot>";
    let s = SnapshotInfo::from_xml(xml).unwrap();
    assert_eq!(s.name, "a&b");
    assert_eq!(s.description.as_deref(), Some("x <y> \r\nz  ]]>"));
    assert_eq!(s.created, 12);
    assert_eq!(s.state, SnapshotState::Other("weird".into()));
    assert_eq!(serde_json::to_value(&s.state).unwrap(), "weird");
}

#[test]
fn old_xml_without_memory_element() {
    let s = SnapshotInfo::from_xml(
        "<domainsnapshot><name>old</name><state>running</state></domainsnapshot>",
    )
    .unwrap();
    assert!(s.memory);
    assert_eq!(s.location, SnapshotLocation::Internal);
}

#[test]
fn rejects_what_is_not_a_snapshot() {
    assert!(matches!(
        SnapshotInfo::from_xml("<domain><name>x</name></domain>"),
        Err(SnapshotXmlError::WrongRoot(r)) if r == "domain"
    ));
    assert!(matches!(
        SnapshotInfo::from_xml(""),
        Err(SnapshotXmlError::Empty)
    ));
    assert!(matches!(
        SnapshotInfo::from_xml("<domainsnapshot><state>x</state></domainsnapshot>"),
        Err(SnapshotXmlError::MissingName)
    ));
    assert!(SnapshotInfo::from_xml("<domainsnapshot><name>x</name>").is_err());
    assert!(matches!(
        SnapshotInfo::from_xml(
            "<domainsnapshot><name>x</name><creationTime>soon</creationTime></domainsnapshot>"
        ),
        Err(SnapshotXmlError::BadCreationTime(_))
    ));
}

#[test]
fn serializes_the_fields_the_cli_prints() {
    let v = serde_json::to_value(fixture("qemu-disk1")).unwrap();
    assert_eq!(v["name"], "disk1");
    assert_eq!(v["parent"], "mem1");
    assert_eq!(v["created"], 1795703732);
    assert_eq!(v["state"], "disk-snapshot");
    assert_eq!(v["memory"], false);
    assert_eq!(v["location"], "external");
    assert_eq!(v["description"], serde_json::Value::Null);
    assert!(v.get("raw_xml").is_none());
}

#[test]
fn description_written_by_virtsnap_comes_back_from_libvirt_verbatim() {
    // Created through a planned request; libvirt writes the carriage return back literally.
    let s = fixture("qemu-hostile-description");
    assert_eq!(
        s.description.as_deref(),
        Some("</description><memory snapshot='external'/> & ]]> \"q\" 'a'\r\nline2")
    );
    assert_eq!(s.memory_mode, MemoryMode::No);
    assert_eq!(s.state, SnapshotState::DiskSnapshot);
}

#[test]
fn the_saved_definition_names_the_image_an_external_snapshot_is_built_on() {
    let s = fixture("qemu-disk1");
    // The overlay is where writes went afterwards; the saved <domain>'s source is the image
    // that holds the snapshot's data.
    assert_eq!(
        s.disks[0].source.as_deref(),
        Some("/tmp/vs-snapfix/a.qcow2.disk1")
    );
    let saved = s.domain.as_ref().expect("the embedded <domain> is read");
    assert_eq!(saved.name, "vs-snapfix-1");
    let vda = saved.disks.iter().find(|d| d.target == "vda").unwrap();
    assert_eq!(vda.source.as_deref(), Some("/tmp/vs-snapfix/a.qcow2"));
    // The description and name of the saved domain do not leak into the snapshot's own.
    assert_eq!(s.name, "disk1");
}

#[test]
fn a_snapshot_without_a_saved_definition_still_parses() {
    let s = SnapshotInfo::from_xml("<domainsnapshot><name>x</name></domainsnapshot>").unwrap();
    assert!(s.domain.is_none());
}

#[test]
fn reads_the_overlays_of_the_last_revert() {
    // The shape libvirt 11.3 stores after a revert to a snapshot with children (measured).
    let xml = "<domainsnapshot><name>e1</name><state>shutoff</state>
      <memory snapshot='no'/>
      <disks><disk name='vda' snapshot='external' type='file'><driver type='qcow2'/>
        <source file='/i/x.e1'/></disk></disks>
      <revertDisks><disk name='vda' snapshot='external' type='file'><driver type='qcow2'/>
        <source file='/i/x.1795984186'/></disk></revertDisks>
      <domain type='kvm'><name>x</name><devices><disk type='file' device='disk'>
        <driver name='qemu' type='qcow2'/><source file='/i/x.qcow2'/><target dev='vda'/>
      </disk></devices></domain></domainsnapshot>";
    let s = SnapshotInfo::from_xml(xml).unwrap();
    assert_eq!(s.disks.len(), 1);
    assert_eq!(s.disks[0].source.as_deref(), Some("/i/x.e1"));
    assert_eq!(s.revert_disks.len(), 1);
    assert_eq!(s.revert_disks[0].source.as_deref(), Some("/i/x.1795984186"));
    assert_eq!(s.revert_disks[0].mode, Some(DiskSnapshotMode::External));
    assert_eq!(s.location, SnapshotLocation::External);
}

#[test]
fn an_old_snapshot_without_a_saved_definition_has_none() {
    // What libvirt 11.3 prints for a snapshot that "lacks domain rollback info".
    let xml = "<domainsnapshot><name>old</name><state>shutoff</state>\
               <domain><uuid>02014109-7ca9-4c99-8a48-791e0a17743a</uuid></domain></domainsnapshot>";
    assert!(SnapshotInfo::from_xml(xml).unwrap().domain.is_none());
}
