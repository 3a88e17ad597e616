//! Generates libvirt test-driver node files (`test:///PATH`): domains of every CPU mode and
//! state, optionally with preloaded snapshots, for fast integration tests and benchmarks.
#![allow(dead_code)]

use std::io::Cursor;
use std::path::{Path, PathBuf};

use quick_xml::events::{BytesEnd, BytesStart, BytesText, Event};
use quick_xml::Writer;

pub const TEST_NS: &str = "http://libvirt.org/schemas/domain/test/1.0";

#[derive(Debug, Clone)]
pub struct NodeDomain {
    pub name: String,
    /// 1 running, 3 paused, 5 shut off, 7 suspended to RAM by the guest (pmsuspended).
    pub runstate: u32,
    pub cpu: NodeCpu,
    pub tsc_frequency_hz: Option<u64>,
    pub vcpus: u32,
    pub memory_kib: u64,
    /// (name, parent, creation time)
    pub snapshots: Vec<(String, Option<String>, u64)>,
}

#[derive(Debug, Clone)]
pub enum NodeCpu {
    None,
    Passthrough {
        migratable: Option<bool>,
    },
    HostModel,
    Custom {
        model: String,
        invtsc_policy: Option<String>,
    },
    Maximum {
        migratable: Option<bool>,
    },
}

impl NodeDomain {
    pub fn new(name: &str, runstate: u32, cpu: NodeCpu) -> Self {
        Self {
            name: name.into(),
            runstate,
            cpu,
            tsc_frequency_hz: None,
            vcpus: 2,
            memory_kib: 131072,
            snapshots: Vec::new(),
        }
    }
}

/// One domain of every mode and state the list must show.
pub fn mixed_domains() -> Vec<NodeDomain> {
    let mut pinned = NodeDomain::new(
        "db-tsc-pinned",
        1,
        NodeCpu::Passthrough {
            migratable: Some(false),
        },
    );
    pinned.tsc_frequency_hz = Some(2_592_000_000);
    let mut with_snaps = NodeDomain::new("app-host-model", 1, NodeCpu::HostModel);
    with_snaps.snapshots = vec![
        ("before-upgrade".into(), None, 1_700_000_000),
        (
            "after-upgrade".into(),
            Some("before-upgrade".into()),
            1_700_003_600,
        ),
    ];
    vec![
        NodeDomain::new(
            "web-passthrough",
            1,
            NodeCpu::Passthrough {
                migratable: Some(false),
            },
        ),
        pinned,
        with_snaps,
        NodeDomain::new(
            "legacy-qemu64",
            5,
            NodeCpu::Custom {
                model: "qemu64".into(),
                invtsc_policy: None,
            },
        ),
        NodeDomain::new(
            "rt-custom-invtsc",
            1,
            NodeCpu::Custom {
                model: "qemu64".into(),
                invtsc_policy: Some("require".into()),
            },
        ),
        NodeDomain::new(
            "build-maximum",
            3,
            NodeCpu::Maximum {
                migratable: Some(false),
            },
        ),
        NodeDomain::new("plain-default", 5, NodeCpu::None),
        NodeDomain::new(
            "mig-passthrough",
            1,
            NodeCpu::Passthrough {
                migratable: Some(true),
            },
        ),
    ]
}

pub fn node_xml(domains: &[NodeDomain]) -> String {
    let mut w = Writer::new_with_indent(Cursor::new(Vec::new()), b' ', 2);
    let ok = (|| -> std::io::Result<()> {
        w.write_event(Event::Start(BytesStart::new("node")))?;
        for (i, d) in domains.iter().enumerate() {
            write_domain(&mut w, i, d)?;
        }
        w.write_event(Event::End(BytesEnd::new("node")))
    })();
    ok.expect("writing to a Vec cannot fail");
    String::from_utf8(w.into_inner().into_inner()).expect("quick-xml writes UTF-8")
}

fn text(w: &mut Writer<Cursor<Vec<u8>>>, tag: &str, value: &str) -> std::io::Result<()> {
    w.create_element(tag)
        .write_text_content(BytesText::new(value))?;
    Ok(())
}

fn write_domain(w: &mut Writer<Cursor<Vec<u8>>>, i: usize, d: &NodeDomain) -> std::io::Result<()> {
    let start =
        BytesStart::new("domain").with_attributes([("type", "test"), ("xmlns:test", TEST_NS)]);
    w.write_event(Event::Start(start))?;
    text(w, "name", &d.name)?;
    text(
        w,
        "uuid",
        &format!("6f1c{:04x}-0000-4000-8000-{:012x}", i % 0xffff, i),
    )?;
    w.create_element("memory")
        .with_attribute(("unit", "KiB"))
        .write_text_content(BytesText::new(&d.memory_kib.to_string()))?;
    text(w, "vcpu", &d.vcpus.to_string())?;
    w.write_event(Event::Start(BytesStart::new("os")))?;
    text(w, "type", "hvm")?;
    w.write_event(Event::End(BytesEnd::new("os")))?;
    match &d.cpu {
        NodeCpu::None => {}
        NodeCpu::Passthrough { migratable } | NodeCpu::Maximum { migratable } => {
            let mode = if matches!(d.cpu, NodeCpu::Maximum { .. }) {
                "maximum"
            } else {
                "host-passthrough"
            };
            let mut cpu = BytesStart::new("cpu").with_attributes([("mode", mode)]);
            if let Some(m) = migratable {
                cpu.push_attribute(("migratable", if *m { "on" } else { "off" }));
            }
            w.write_event(Event::Empty(cpu))?;
        }
        NodeCpu::HostModel => {
            w.write_event(Event::Empty(
                BytesStart::new("cpu").with_attributes([("mode", "host-model")]),
            ))?;
        }
        NodeCpu::Custom {
            model,
            invtsc_policy,
        } => {
            w.write_event(Event::Start(
                BytesStart::new("cpu").with_attributes([("mode", "custom"), ("match", "exact")]),
            ))?;
            text(w, "model", model)?;
            if let Some(p) = invtsc_policy {
                w.write_event(Event::Empty(
                    BytesStart::new("feature")
                        .with_attributes([("policy", p.as_str()), ("name", "invtsc")]),
                ))?;
            }
            w.write_event(Event::End(BytesEnd::new("cpu")))?;
        }
    }
    if let Some(hz) = d.tsc_frequency_hz {
        w.write_event(Event::Start(
            BytesStart::new("clock").with_attributes([("offset", "utc")]),
        ))?;
        w.write_event(Event::Empty(BytesStart::new("timer").with_attributes([
            ("name", "tsc"),
            ("frequency", hz.to_string().as_str()),
        ])))?;
        w.write_event(Event::End(BytesEnd::new("clock")))?;
    }
    text(w, "test:runstate", &d.runstate.to_string())?;
    // The test driver parses each `test:domainsnapshot` element itself as the snapshot root.
    // `<active>1</active>` marks the current snapshot: the last one listed.
    for (n, (name, parent, created)) in d.snapshots.iter().enumerate() {
        w.write_event(Event::Start(BytesStart::new("test:domainsnapshot")))?;
        text(w, "name", name)?;
        text(
            w,
            "state",
            if d.runstate == 5 {
                "shutoff"
            } else {
                "running"
            },
        )?;
        if let Some(p) = parent {
            w.write_event(Event::Start(BytesStart::new("parent")))?;
            text(w, "name", p)?;
            w.write_event(Event::End(BytesEnd::new("parent")))?;
        }
        text(w, "creationTime", &created.to_string())?;
        text(
            w,
            "active",
            if n + 1 == d.snapshots.len() { "1" } else { "0" },
        )?;
        w.write_event(Event::End(BytesEnd::new("test:domainsnapshot")))?;
    }
    w.write_event(Event::End(BytesEnd::new("domain")))
}

/// Writes the node file into `dir` and returns its `test:///` URI.
pub fn write_node(dir: &Path, domains: &[NodeDomain]) -> (PathBuf, String) {
    let path = dir.join("node.xml");
    std::fs::write(&path, node_xml(domains)).expect("write node file");
    let uri = format!("test://{}", path.display());
    (path, uri)
}

/// `n` domains cycling through the modes and states, for benchmarks.
pub fn many_domains(n: usize) -> Vec<NodeDomain> {
    let kinds = mixed_domains();
    (0..n)
        .map(|i| {
            let mut d = kinds[i % kinds.len()].clone();
            d.name = format!("vm-{i:05}");
            d.snapshots.clear();
            d
        })
        .collect()
}

/// Runs the virtsnap binary with `args`; its log and state go to a directory removed
/// afterwards.
pub fn run_virtsnap(args: &[&str]) -> std::process::Output {
    let state = tempfile::tempdir().expect("temp dir");
    std::process::Command::new(env!("CARGO_BIN_EXE_virtsnap"))
        .args(args)
        .env("XDG_STATE_HOME", state.path())
        .output()
        .expect("run virtsnap")
}
