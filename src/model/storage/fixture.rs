//! Storage facts for unit tests, built the way libvirt 11.3 records them: each snapshot's XML
//! (with its saved `<domain>`) is written out and parsed, so the model reads what it reads in
//! production. Test code: plain `format!` of fixed names into XML is fine here.

use super::facts::{ImageFacts, ImageKind, StorageFacts};
use crate::model::qcow2::{InternalSnapshot, Qcow2Header};
use crate::model::snapshot::SnapshotInfo;
use crate::model::{DomainConfig, DomainState};

pub const DIR: &str = "/i";

/// One disk as the domain XML has it.
#[derive(Clone)]
pub struct FakeDisk {
    pub target: String,
    pub kind: &'static str,
    pub format: &'static str,
    pub top: String,
    pub device: &'static str,
}

pub struct Fake {
    pub domain: String,
    pub state: DomainState,
    pub disks: Vec<FakeDisk>,
    /// Disks the persistent definition has (None: the same as `disks`).
    pub persistent_disks: Option<Vec<FakeDisk>>,
    pub snapshots: Vec<SnapshotInfo>,
    pub current: Option<String>,
    pub clock: i64,
    pub images: Vec<ImageFacts>,
    pub existing: Vec<String>,
    pub extra_devices: String,
    pub persistent: bool,
    pub managed_save: bool,
    pub disks_inactive: bool,
    pub driver: String,
    pub libvirt_version: u64,
    pub local: bool,
}

fn disk_xml(d: &FakeDisk) -> String {
    let src = match d.kind {
        "block" => format!("<source dev='{}'/>", d.top),
        "volume" => {
            let (pool, vol) = d.top.split_once('/').unwrap_or(("pool", &d.top));
            format!("<source pool='{pool}' volume='{vol}'/>")
        }
        _ if d.top.is_empty() => String::new(),
        _ => format!("<source file='{}'/>", d.top),
    };
    let ro = if d.device == "cdrom" {
        "<readonly/>"
    } else {
        ""
    };
    format!(
        "<disk type='{}' device='{}'><driver name='qemu' type='{}'/>{src}<target dev='{}' bus='virtio'/>{ro}</disk>",
        d.kind, d.device, d.format, d.target
    )
}

impl Fake {
    /// A shut-off or running domain with one qcow2 disk `vda` at `/i/<domain>.qcow2`.
    pub fn new(domain: &str, state: DomainState) -> Self {
        Fake {
            domain: domain.into(),
            state,
            disks: vec![FakeDisk {
                target: "vda".into(),
                kind: "file",
                format: "qcow2",
                top: format!("{DIR}/{domain}.qcow2"),
                device: "disk",
            }],
            persistent_disks: None,
            snapshots: Vec::new(),
            current: None,
            clock: 1_795_000_000,
            images: Vec::new(),
            existing: Vec::new(),
            extra_devices: String::new(),
            persistent: true,
            managed_save: false,
            disks_inactive: false,
            driver: "QEMU".into(),
            libvirt_version: 11_003_000,
            local: true,
        }
    }

    pub fn domain_xml(&self, disks: &[FakeDisk]) -> String {
        let d: String = disks.iter().map(disk_xml).collect();
        format!(
            "<domain type='kvm'><name>{}</name><memory unit='KiB'>131072</memory><vcpu>1</vcpu>\
             <os><type arch='x86_64' machine='q35'>hvm</type></os><devices>{d}{}</devices></domain>",
            self.domain, self.extra_devices
        )
    }

    pub fn config(&self) -> DomainConfig {
        DomainConfig::from_xml(&self.domain_xml(&self.disks)).expect("fake domain XML")
    }

    fn push(&mut self, name: &str, state: &str, memory: &str, disks: String) {
        self.clock += 60;
        let parent = self
            .current
            .as_ref()
            .map(|p| format!("<parent><name>{p}</name></parent>"))
            .unwrap_or_default();
        let xml = format!(
            "<domainsnapshot><name>{name}</name><state>{state}</state>{parent}\
             <creationTime>{}</creationTime>{memory}<disks>{disks}</disks>{}</domainsnapshot>",
            self.clock,
            self.domain_xml(&self.disks)
        );
        self.snapshots
            .push(SnapshotInfo::from_xml(&xml).expect("fake snapshot XML"));
        self.current = Some(name.to_string());
    }

    /// An internal snapshot of every writable disk, stored in its top image.
    pub fn internal(mut self, name: &str, memory: bool) -> Self {
        let running = self.state.is_active();
        let disks: String = self
            .disks
            .iter()
            .map(|d| {
                let mode = if d.device == "disk" { "internal" } else { "no" };
                format!("<disk name='{}' snapshot='{mode}'/>", d.target)
            })
            .collect();
        let state = match (running, memory) {
            (true, true) => "running",
            (true, false) => "disk-snapshot",
            _ => "shutoff",
        };
        let mem = if memory { "internal" } else { "no" };
        self.push(name, state, &format!("<memory snapshot='{mem}'/>"), disks);
        self
    }

    /// An external snapshot: every disk gets an overlay `/i/<domain>.<name>` (suffix dropped,
    /// as libvirt names them) and the VM moves onto it.
    pub fn external(mut self, name: &str, memory: bool) -> Self {
        let running = self.state.is_active();
        let mut disks = String::new();
        let mut new_tops = Vec::new();
        for d in &self.disks {
            if d.device != "disk" {
                disks.push_str(&format!("<disk name='{}' snapshot='no'/>", d.target));
                new_tops.push(d.top.clone());
                continue;
            }
            let stem = d.top.rsplit_once('.').map_or(d.top.as_str(), |(s, _)| s);
            let stem = if d.kind == "volume" {
                format!("{DIR}/{}", d.target)
            } else {
                stem.to_string()
            };
            let overlay = format!("{stem}.{name}");
            disks.push_str(&format!(
                "<disk name='{}' snapshot='external' type='file'><driver type='qcow2'/><source file='{overlay}'/></disk>",
                d.target
            ));
            new_tops.push(overlay);
        }
        let state = match (running, memory) {
            (true, true) => "running",
            (true, false) => "disk-snapshot",
            _ => "shutoff",
        };
        let mem = if memory {
            format!(
                "<memory snapshot='external' file='{DIR}/{}.{name}.mem'/>",
                self.domain
            )
        } else {
            "<memory snapshot='no'/>".into()
        };
        self.push(name, state, &mem, disks);
        for (d, top) in self.disks.iter_mut().zip(new_tops) {
            if d.device == "disk" {
                d.kind = "file";
                d.format = "qcow2";
            }
            d.top = top;
        }
        self
    }

    /// Sets libvirt's current snapshot (as `virsh snapshot-current` would).
    pub fn current(mut self, name: Option<&str>) -> Self {
        self.current = name.map(str::to_string);
        self
    }

    /// Records an image header with these internal snapshots (id, name).
    pub fn table(mut self, image: &str, backing: Option<&str>, entries: &[(&str, &str)]) -> Self {
        let internal = entries
            .iter()
            .map(|(id, name)| InternalSnapshot {
                id: id.to_string(),
                name: name.to_string(),
                vm_state_size: 0,
                date_sec: 0,
            })
            .collect::<Vec<_>>();
        self.images.push(ImageFacts {
            path: image.to_string(),
            kind: ImageKind::Qcow2 {
                header: Qcow2Header {
                    version: 3,
                    size: 64 << 20,
                    backing_file_at: (0, 0),
                    snapshots: (internal.len() as u32, 0),
                    has_data_file: false,
                    data_file: None,
                    cluster_size: 65536,
                },
                backing: backing.map(str::to_string),
                internal,
            },
        });
        self
    }

    pub fn build(&self) -> StorageFacts {
        let config = self.config();
        let persistent_config = match (&self.persistent_disks, self.state.is_active()) {
            (Some(p), _) => Some(DomainConfig::from_xml(&self.domain_xml(p)).expect("xml")),
            (None, true) => Some(config.clone()),
            (None, false) => None,
        };
        StorageFacts {
            domain: self.domain.clone(),
            state: self.state,
            persistent: self.persistent,
            managed_save: self.managed_save,
            disks_inactive: self.disks_inactive,
            driver: self.driver.clone(),
            config,
            persistent_config,
            snapshots: self.snapshots.clone(),
            current: self.current.clone(),
            images: self.images.clone(),
            volumes: self
                .disks
                .iter()
                .chain(self.persistent_disks.iter().flatten())
                .filter(|d| d.kind == "volume")
                .filter_map(|d| d.top.split_once('/'))
                .map(|(p, v)| (p.to_string(), v.to_string(), format!("{DIR}/{p}/{v}")))
                .collect(),
            libvirt_version: self.libvirt_version,
            local: self.local,
            now: self.clock + 600,
            existing: self.existing.clone(),
        }
    }

    pub fn layout(&self) -> super::Layout {
        super::Layout::new(&self.build())
    }
}
