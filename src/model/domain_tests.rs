//! Domain XML parsing tests: XML captured from libvirt 11.3 / QEMU 10.0 (tests/fixtures/domain)
//! and hand-written odd XML.

use super::*;

use crate::model::fixtures::domain as fixture;

fn feature(name: &str, policy: FeaturePolicy) -> CpuFeature {
    CpuFeature {
        name: name.to_string(),
        policy,
    }
}

fn policy_of(cfg: &DomainConfig, name: &str) -> Option<FeaturePolicy> {
    let cpu = cfg.cpu.as_ref()?;
    cpu.features
        .iter()
        .find(|f| f.name == name)
        .map(|f| f.policy)
}

#[test]
fn host_passthrough_migratable_off_live_and_inactive() {
    for xml in ["hp-off-live", "hp-off-inactive"] {
        let cfg = fixture(xml);
        assert_eq!(cfg.name, "vsfx-hp-off");
        assert_eq!(cfg.domain_type, "kvm");
        assert_eq!(cfg.uuid.len(), 36);
        assert_eq!(cfg.vcpus, 1);
        assert_eq!(cfg.memory_kib, 65536);
        assert_eq!(cfg.cpu_mode(), CpuMode::HostPassthrough);
        let cpu = cfg.cpu.as_ref().unwrap();
        assert_eq!(cpu.migratable, Some(false));
        assert_eq!(cpu.model, None);
        assert_eq!(
            cpu.features,
            vec![feature("arch-capabilities", FeaturePolicy::Disable)]
        );
        assert_eq!(cfg.tsc_frequency_hz, None);
        assert_eq!(cfg.consoles, 2);
        assert_eq!(cfg.firmware, None);
        assert!(cfg.blocking_devices.is_empty());
        assert!(cfg.hostdevs.is_empty() && cfg.filesystems.is_empty() && cfg.shmems.is_empty());
        assert_eq!(cfg.launch_security, None);
        assert_eq!(cfg.memory_backing, None);
        assert_eq!(cfg.guest_agent, None);
        assert_eq!(cfg.disks.len(), 1);
        let disk = &cfg.disks[0];
        assert_eq!(disk.disk_type, DiskType::File);
        assert_eq!(disk.device, DiskDevice::Disk);
        assert_eq!(disk.format.as_deref(), Some("qcow2"));
        assert_eq!(disk.source.as_deref(), Some("/tmp/vsfx/hp-off.qcow2"));
        assert_eq!(disk.target, "vda");
        assert!(disk.is_writable());
    }
}

#[test]
fn host_passthrough_without_attribute_reads_back_migratable_on() {
    for xml in ["hp-default-live", "hp-default-inactive"] {
        let cpu = fixture(xml).cpu.unwrap();
        assert_eq!(cpu.mode, CpuMode::HostPassthrough);
        assert_eq!(cpu.migratable, Some(true));
    }
}

#[test]
fn host_passthrough_with_tsc_timer_and_with_invtsc_disabled() {
    for xml in ["hp-off-tsc-live", "hp-off-tsc-inactive"] {
        let cfg = fixture(xml);
        assert_eq!(cfg.tsc_frequency_hz, Some(2_445_404_000));
        assert_eq!(cfg.cpu.unwrap().migratable, Some(false));
    }
    for xml in ["hp-off-noinvtsc-live", "hp-off-noinvtsc-inactive"] {
        assert_eq!(
            policy_of(&fixture(xml), "invtsc"),
            Some(FeaturePolicy::Disable)
        );
    }
}

#[test]
fn host_model_inactive_says_host_model_live_says_custom() {
    let inactive = fixture("host-model-inactive");
    assert_eq!(inactive.cpu_mode(), CpuMode::HostModel);
    assert_eq!(inactive.cpu.as_ref().unwrap().model, None);
    let live = fixture("host-model-live");
    assert_eq!(live.cpu_mode(), CpuMode::Custom);
    assert_eq!(
        live.cpu.as_ref().unwrap().model.as_deref(),
        Some("EPYC-Milan")
    );
    assert_eq!(policy_of(&live, "invtsc"), None);
    for xml in ["host-model-invtsc-inactive", "host-model-invtsc-live"] {
        assert_eq!(
            policy_of(&fixture(xml), "invtsc"),
            Some(FeaturePolicy::Require)
        );
    }
}

#[test]
fn custom_models() {
    for xml in ["custom-qemu64-live", "custom-qemu64-inactive"] {
        let cfg = fixture(xml);
        assert_eq!(cfg.cpu_mode(), CpuMode::Custom);
        assert_eq!(cfg.cpu.as_ref().unwrap().model.as_deref(), Some("qemu64"));
        assert_eq!(policy_of(&cfg, "svm"), Some(FeaturePolicy::Disable));
        assert_eq!(cfg.cpu.as_ref().unwrap().migratable, None);
    }
    for xml in ["custom-invtsc-tsc-live", "custom-invtsc-tsc-inactive"] {
        let cfg = fixture(xml);
        assert_eq!(policy_of(&cfg, "invtsc"), Some(FeaturePolicy::Require));
        assert_eq!(cfg.tsc_frequency_hz, Some(2_445_404_000));
    }
}

#[test]
fn maximum_mode() {
    for xml in ["maximum-live", "maximum-inactive"] {
        let cpu = fixture(xml).cpu.unwrap();
        assert_eq!(cpu.mode, CpuMode::Maximum);
        assert_eq!(cpu.migratable, Some(false));
    }
}

#[test]
fn defined_without_cpu_libvirt_writes_qemu64_in_both_xmls() {
    // libvirt 11 fills in its default model when the domain is defined, so a `<cpu>`-less
    // definition reads back as custom qemu64; only other drivers (test) keep no `<cpu>`.
    for xml in ["no-cpu-inactive", "no-cpu-live"] {
        let cfg = fixture(xml);
        assert_eq!(cfg.cpu_mode(), CpuMode::Custom);
        assert_eq!(cfg.cpu.unwrap().model.as_deref(), Some("qemu64"));
        assert_eq!(cfg.guest_agent, Some(GuestAgent { connected: false }));
    }
    let cfg = fixture("test-default-inactive");
    assert_eq!(cfg.cpu, None);
    assert_eq!(cfg.cpu_mode(), CpuMode::Default);
}

#[test]
fn efi_firmware_with_raw_nvram() {
    for xml in ["efi-live", "efi-inactive"] {
        let firmware = fixture(xml).firmware.unwrap();
        assert!(firmware.pflash);
        assert_eq!(
            firmware.loader.as_deref(),
            Some("/usr/share/OVMF/OVMF_CODE_4M.fd")
        );
        assert_eq!(
            firmware.nvram.as_deref(),
            Some("/var/lib/libvirt/qemu/nvram/vsfx-efi_VARS.fd")
        );
        assert_eq!(firmware.nvram_format.as_deref(), Some("raw"));
    }
}

#[test]
fn test_driver_domain() {
    for xml in ["test-default-live", "test-default-inactive"] {
        let cfg = fixture(xml);
        assert_eq!(cfg.name, "test");
        assert_eq!(cfg.domain_type, "test");
        assert_eq!(cfg.vcpus, 2);
        assert_eq!(cfg.memory_kib, 8_388_608);
        assert_eq!(cfg.cpu, None);
        assert_eq!(cfg.disks[0].format, None);
        assert_eq!(cfg.disks[0].source.as_deref(), Some("/guest/diskimage1"));
    }
}

const ODD: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<!-- written by hand -->
<domain xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'
    xmlns:test="http://libvirt.org/schemas/domain/test/1.0" type="kvm"   >
  <test:runstate>3</test:runstate>
  <uuid>  11111111-2222-3333-4444-555555555555  </uuid>
  <name>
 odd &amp; vm
  </name>
  <metadata><app:info xmlns:app='urn:x'><cpu mode='maximum'/><name>nope</name></app:info></metadata>
  <memory unit='GiB'>2</memory>
  <currentMemory unit="MiB">1024</currentMemory>
  <vcpu current="2" placement="static">4</vcpu>
  <features><acpi/><apic/></features>
  <os firmware="efi"><type>hvm</type><nvram format="qcow2"/></os>
  <?some processing instruction?>
  <cpu match='exact'  >
<!-- a comment inside cpu -->
<model  fallback='allow' >
  Skylake-Client
</model>
<feature name='invtsc'/>
<feature name="vmx"   policy="forbid"/>
  </cpu>
  <clock offset='utc'><timer name='rtc' tickpolicy='catchup'/><timer frequency="1000000000" name="tsc"/></clock>
  <devices>
<disk device='cdrom' type='file'><source file='/iso/x.iso'/><target dev='sda'/><readonly/></disk>
<disk type='network' device='disk'><driver type='raw'/><source protocol='rbd' name='pool/img'/><target dev='vdb'/></disk>
<disk type='volume' device='disk' snapshot='no'><source pool='p' volume='v'/><target dev='vdc'/><shareable/></disk>
<disk type='block' device='lun'><source dev='/dev/sdz'/><target dev='sdb'/></disk>
<hostdev mode='subsystem' type='pci' managed='yes'><source><address function='0x1' slot='0x00' bus='0x03' domain='0x0000'/></source></hostdev>
<hostdev mode='subsystem' type='usb'><source><vendor id='0x1234'/><product id='0x1'/></source></hostdev>
<filesystem type='mount'><driver type='virtiofs'/><source dir='/srv'/><target dir='share'/></filesystem>
<filesystem type='mount'><source dir='/srv9p'/><target dir='p9'/></filesystem>
<interface type='vdpa'><source dev='/dev/vhost-vdpa-0'/><model type='virtio'/></interface>
<interface type='network'><source network='default'/><model type='e1000'/></interface>
<shmem name='ivshmem0'><model type='ivshmem-plain'/></shmem>
<channel type='unix'><target name='org.qemu.guest_agent.0' state='connected' type='virtio'/></channel>
<channel type='spicevmc'><target type='virtio' name='com.redhat.spice.0' state='connected'/></channel>
<console type='pty'/>
<video><model type='vga'/></video>
  </devices>
  <qemu:commandline><qemu:arg value='-cpu'/><qemu:arg value='host'/></qemu:commandline>
</domain>
"#;

#[test]
fn odd_xml_comments_namespaces_attribute_order_whitespace() {
    let cfg = DomainConfig::from_xml(ODD).unwrap();
    assert_eq!(cfg.name, "odd & vm");
    assert_eq!(cfg.uuid, "11111111-2222-3333-4444-555555555555");
    assert_eq!(cfg.memory_kib, 2 * 1024 * 1024);
    assert_eq!(cfg.vcpus, 2);
    let cpu = cfg.cpu.as_ref().unwrap();
    // No mode attribute but a model: libvirt's default mode, custom.
    assert_eq!(cpu.mode, CpuMode::Custom);
    assert_eq!(cpu.model.as_deref(), Some("Skylake-Client"));
    assert_eq!(
        cpu.features,
        vec![
            feature("invtsc", FeaturePolicy::Require),
            feature("vmx", FeaturePolicy::Forbid)
        ]
    );
    assert_eq!(cfg.tsc_frequency_hz, Some(1_000_000_000));
    assert_eq!(cfg.guest_agent, Some(GuestAgent { connected: true }));
    assert_eq!(cfg.consoles, 1);
    let firmware = cfg.firmware.as_ref().unwrap();
    assert!(firmware.pflash);
    assert_eq!(firmware.nvram, None);
    assert_eq!(firmware.nvram_format.as_deref(), Some("qcow2"));
}

#[test]
fn odd_xml_disks() {
    let cfg = DomainConfig::from_xml(ODD).unwrap();
    let disks: Vec<_> = cfg
        .disks
        .iter()
        .map(|d| {
            (
                d.target.as_str(),
                d.device,
                d.disk_type,
                d.source.as_deref(),
                d.is_writable(),
            )
        })
        .collect();
    assert_eq!(
        disks,
        vec![
            (
                "sda",
                DiskDevice::Cdrom,
                DiskType::File,
                Some("/iso/x.iso"),
                false
            ),
            (
                "vdb",
                DiskDevice::Disk,
                DiskType::Network,
                Some("pool/img"),
                true
            ),
            (
                "vdc",
                DiskDevice::Disk,
                DiskType::Volume,
                Some("p/v"),
                false
            ),
            (
                "sdb",
                DiskDevice::Lun,
                DiskType::Block,
                Some("/dev/sdz"),
                true
            ),
        ]
    );
    assert!(cfg.disks[0].readonly);
    assert!(cfg.disks[2].shareable);
    assert_eq!(cfg.disks[2].snapshot.as_deref(), Some("no"));
    assert_eq!(cfg.disks[1].format.as_deref(), Some("raw"));
}

#[test]
fn odd_xml_devices_that_matter_for_memory_state() {
    let cfg = DomainConfig::from_xml(ODD).unwrap();
    let sources: Vec<_> = cfg.hostdevs.iter().map(|h| h.source.clone()).collect();
    assert_eq!(
        sources,
        vec![
            HostDeviceSource::Pci {
                address: "0000:03:00.1".to_string()
            },
            HostDeviceSource::Usb {
                id: "0x1234:0x1".to_string()
            },
        ]
    );
    let fs: Vec<_> = cfg
        .filesystems
        .iter()
        .map(|f| (f.target.as_str(), f.is_9p(), f.is_virtiofs()))
        .collect();
    assert_eq!(fs, vec![("share", false, true), ("p9", true, false)]);
    let nets: Vec<_> = cfg
        .interfaces
        .iter()
        .map(|i| (i.net_type.as_str(), i.source.as_deref()))
        .collect();
    assert_eq!(
        nets,
        vec![
            ("vdpa", Some("/dev/vhost-vdpa-0")),
            ("network", Some("default"))
        ]
    );
    assert_eq!(
        cfg.shmems,
        vec![Shmem {
            name: "ivshmem0".to_string(),
            model: Some("ivshmem-plain".to_string()),
            role: None,
        }]
    );
    let channels: Vec<_> = cfg
        .channels
        .iter()
        .map(|c| c.channel_type.as_str())
        .collect();
    assert_eq!(channels, ["unix", "spicevmc"]);
    assert_eq!(
        cfg.videos,
        vec![Video {
            model: Some("vga".to_string()),
            driver: None
        }]
    );
}

#[test]
fn odd_xml_migration_blocking_devices() {
    let cfg = DomainConfig::from_xml(ODD).unwrap();
    let found: Vec<_> = cfg
        .blocking_devices
        .iter()
        .map(|d| (d.kind.as_str(), d.detail.as_str()))
        .collect();
    // The virtiofs share is not listed: libvirt 11.3 refuses it only when virtiofsd cannot
    // migrate, a warning of the rule rather than a refusal.
    assert_eq!(
        found,
        vec![
            ("hostdev-pci", "0000:03:00.1"),
            ("vdpa", "/dev/vhost-vdpa-0"),
            ("shmem", "ivshmem0"),
        ]
    );
}

#[test]
fn which_devices_block_migration() {
    let xml = "<domain><devices>\
        <interface type='hostdev'><source><address type='pci' domain='0x0000' bus='0x5e' \
          slot='0x10' function='0x2'/></source></interface>\
        <hostdev mode='subsystem' type='pci'><source><address domain='0x0000' bus='0x04' \
          slot='0x00' function='0x0'/></source><teaming type='transient' \
          persistent='ua-net0'/></hostdev>\
        <hostdev mode='subsystem' type='mdev' model='vfio-pci'><source><address \
          uuid='c2177883-f1bb-47f0-914d-32a22e3a8804'/></source></hostdev>\
        <hostdev mode='subsystem' type='usb'><source><vendor id='0x1'/></source></hostdev>\
        <shmem name='master0' role='master'><model type='ivshmem-plain'/></shmem>\
        <shmem name='peer0' role='peer'><model type='ivshmem-plain'/></shmem>\
        <disk type='file' device='disk'><source file='/a'/><target dev='vda'/>\
          <transient/></disk>\
        </devices></domain>";
    let cfg = DomainConfig::from_xml(xml).unwrap();
    let found: Vec<_> = cfg
        .blocking_devices
        .iter()
        .map(|d| (d.kind.as_str(), d.detail.as_str()))
        .collect();
    assert_eq!(
        found,
        vec![
            ("hostdev-pci", "0000:5e:10.2"),
            ("hostdev-mdev", "c2177883-f1bb-47f0-914d-32a22e3a8804"),
            ("shmem", "peer0"),
            ("transient-disk", "vda"),
        ]
    );
}

#[test]
fn hostdev_variants() {
    let xml = "<domain><devices>\
        <interface type='hostdev'><source><address type='pci' domain='0x0000' bus='0x5e' \
          slot='0x10' function='0x2'/></source></interface>\
        <hostdev mode='subsystem' type='pci'><source><address domain='0x0000' bus='0x04' \
          slot='0x00' function='0x0'/></source><teaming type='transient' \
          persistent='ua-net0'/></hostdev>\
        <hostdev mode='subsystem' type='mdev' model='vfio-pci'><source><address \
          uuid='c2177883-f1bb-47f0-914d-32a22e3a8804'/></source></hostdev>\
        <hostdev mode='subsystem' type='usb'><source><address bus='1' device='4'/></source>\
          </hostdev>\
        <hostdev mode='subsystem' type='scsi_host' managed='no'><source protocol='vhost' \
          wwpn='naa.5123456789abcde0'/></hostdev>\
        <hostdev mode='subsystem' type='scsi'><source><adapter name='scsi_host0'/>\
          <address bus='0' target='1' unit='2'/></source></hostdev>\
        <hostdev mode='subsystem' type='scsi'><source protocol='iscsi' \
          name='iqn.2014-08.com.example:t/1'><host name='example.org'/></source></hostdev>\
        <hostdev mode='capabilities' type='storage'><source><block>/dev/sdf1</block></source>\
          </hostdev>\
        </devices></domain>";
    let cfg = DomainConfig::from_xml(xml).unwrap();
    let found: Vec<_> = cfg
        .hostdevs
        .iter()
        .map(|h| (h.source.clone(), h.transient_teaming, h.as_interface))
        .collect();
    let pci = |a: &str| HostDeviceSource::Pci {
        address: a.to_string(),
    };
    assert_eq!(
        found,
        vec![
            (pci("0000:5e:10.2"), false, true),
            (pci("0000:04:00.0"), true, false),
            (
                HostDeviceSource::Mdev {
                    uuid: "c2177883-f1bb-47f0-914d-32a22e3a8804".to_string(),
                    model: "vfio-pci".to_string()
                },
                false,
                false
            ),
            (
                HostDeviceSource::Usb {
                    id: "1.4".to_string()
                },
                false,
                false
            ),
            (
                HostDeviceSource::ScsiHost {
                    protocol: "vhost".to_string(),
                    wwpn: "naa.5123456789abcde0".to_string()
                },
                false,
                false
            ),
            (
                HostDeviceSource::Scsi {
                    id: "scsi_host0:0:1:2".to_string()
                },
                false,
                false
            ),
            (
                HostDeviceSource::Scsi {
                    id: "iqn.2014-08.com.example:t/1".to_string()
                },
                false,
                false
            ),
            (
                HostDeviceSource::Other {
                    kind: "storage".to_string()
                },
                false,
                false
            ),
        ]
    );
    assert_eq!(cfg.hostdevs[7].mode, "capabilities");
    // A host device is not also listed as a NIC.
    assert!(cfg.interfaces.is_empty());
}

#[test]
fn filesystem_drivers_and_targets() {
    let xml = "<domain><devices>\
        <filesystem type='mount' accessmode='mapped'><driver type='path' wrpolicy='immediate'/>\
          <source dir='/export/p'/><target dir='p'/><readonly/></filesystem>\
        <filesystem type='mount'><driver type='handle'/><source dir='/export/h'/>\
          <target dir='h'/></filesystem>\
        <filesystem><source dir='/export/d'/><target dir='d'/></filesystem>\
        <filesystem type='mount'><driver type='virtiofs' queue='1024'/>\
          <source socket='/run/vfs.sock'/><target dir='v'/></filesystem>\
        <filesystem type='ram' accessmode='passthrough'><source usage='1024' units='KiB'/>\
          <target dir='/tmp'/></filesystem>\
        </devices></domain>";
    let cfg = DomainConfig::from_xml(xml).unwrap();
    let fs: Vec<_> = cfg
        .filesystems
        .iter()
        .map(|f| {
            (
                f.target.as_str(),
                f.driver.as_deref(),
                f.is_9p(),
                f.is_virtiofs(),
            )
        })
        .collect();
    assert_eq!(
        fs,
        vec![
            ("p", Some("path"), true, false),
            ("h", Some("handle"), true, false),
            ("d", None, true, false),
            ("v", Some("virtiofs"), false, true),
            ("/tmp", None, false, false),
        ]
    );
    assert_eq!(cfg.filesystems[0].source_dir.as_deref(), Some("/export/p"));
    assert_eq!(cfg.filesystems[0].accessmode.as_deref(), Some("mapped"));
    assert!(cfg.filesystems[0].readonly);
    assert_eq!(
        cfg.filesystems[3].source_socket.as_deref(),
        Some("/run/vfs.sock")
    );
    assert_eq!(cfg.filesystems[3].source_dir, None);
}

#[test]
fn cpu_element_without_mode_or_model_is_default() {
    let xml = "<domain type='kvm'><name>t</name><cpu><topology sockets='1' cores='2' \
               threads='1'/></cpu><memory>1024</memory></domain>";
    let cfg = DomainConfig::from_xml(xml).unwrap();
    assert_eq!(cfg.cpu_mode(), CpuMode::Default);
    assert_eq!(cfg.memory_kib, 1024);
    assert_eq!(cfg.vcpus, 1);
}

#[test]
fn feature_policies_and_units() {
    let xml = "<domain><cpu mode='host-model'>\
               <feature policy='force' name='a'/><feature policy='require' name='b'/>\
               <feature policy='optional' name='c'/><feature policy='disable' name='d'/>\
               <feature policy='forbid' name='e'/><feature name='f'/></cpu>\
               <memory unit='b'>1048576</memory></domain>";
    let cfg = DomainConfig::from_xml(xml).unwrap();
    let policies: Vec<_> = cfg.cpu.unwrap().features.iter().map(|f| f.policy).collect();
    use FeaturePolicy::*;
    assert_eq!(
        policies,
        vec![Force, Require, Optional, Disable, Forbid, Require]
    );
    assert_eq!(cfg.memory_kib, 1024);
}

#[test]
fn clear_errors_for_bad_documents() {
    let err = DomainConfig::from_xml("<capabilities/>").unwrap_err();
    assert_eq!(
        err.to_string(),
        "expected a <domain> document, found <capabilities>"
    );
    let err = DomainConfig::from_xml("<domain><cpu mode='weird'/></domain>").unwrap_err();
    assert_eq!(err.to_string(), "invalid value \"weird\" for <cpu mode>");
    let err =
        DomainConfig::from_xml("<domain><memory unit='KiB'>lots</memory></domain>").unwrap_err();
    assert!(err.to_string().contains("<memory>"), "{err}");
    assert!(DomainConfig::from_xml("<domain><name>x</domain>").is_err());
    assert!(DomainConfig::from_xml("  ").is_err());
}

#[test]
fn reads_a_disks_backing_chain_and_pool_volume() {
    let xml = r#"<domain type='kvm'><name>c</name><devices>
      <disk type='file' device='disk'><driver name='qemu' type='qcow2'/>
        <source file='/i/web.qcow2.s2' index='3'/>
        <backingStore type='file' index='2'><format type='qcow2'/><source file='/i/web.qcow2.s1'/>
          <backingStore type='block' index='1'><format type='raw'/><source dev='/dev/vg/web'/>
            <backingStore/></backingStore></backingStore>
        <target dev='vda' bus='virtio'/></disk>
      <disk type='volume' device='disk'><driver name='qemu' type='qcow2'/>
        <source pool='p1' volume='v1.qcow2'/><target dev='vdb' bus='virtio'/></disk>
      <disk type='file' device='disk'><driver name='qemu' type='qcow2'/>
        <source file='/i/plain.qcow2'/><target dev='vdc' bus='virtio'/></disk>
    </devices></domain>"#;
    let d = DomainConfig::from_xml(xml).unwrap();
    let chain: Vec<_> = d.disks[0]
        .backing_chain
        .iter()
        .map(|b| {
            (
                b.disk_type.as_str(),
                b.source.as_deref().unwrap(),
                b.format.as_deref().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        chain,
        [
            ("file", "/i/web.qcow2.s1", "qcow2"),
            ("block", "/dev/vg/web", "raw")
        ]
    );
    assert_eq!(
        d.disks[1].pool_volume,
        Some(("p1".into(), "v1.qcow2".into()))
    );
    assert_eq!(d.disks[1].source.as_deref(), Some("p1/v1.qcow2"));
    assert!(d.disks[2].backing_chain.is_empty());
}

#[test]
fn nvram_in_its_source_form_keeps_the_path() {
    // libvirt >= 8.5 writes <nvram type='file'><source file=.../></nvram>.
    let xml = "<domain><os firmware='efi'><type>hvm</type>\
        <loader readonly='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE_4M.fd</loader>\
        <nvram type='file' format='qcow2'><source file='/var/lib/libvirt/qemu/nvram/g_VARS.qcow2'/>\
        </nvram></os></domain>";
    let firmware = DomainConfig::from_xml(xml).unwrap().firmware.unwrap();
    assert!(firmware.pflash);
    assert_eq!(
        firmware.nvram.as_deref(),
        Some("/var/lib/libvirt/qemu/nvram/g_VARS.qcow2")
    );
    assert_eq!(firmware.nvram_format.as_deref(), Some("qcow2"));
    // The network form names the volume.
    let xml = "<domain><os><loader type='pflash'>/c.fd</loader><nvram type='network'>\
        <source protocol='iscsi' name='iqn.2013-07.com.example:iscsi-nopool/0'>\
        <host name='example.com' port='6000'/></source></nvram></os></domain>";
    let firmware = DomainConfig::from_xml(xml).unwrap().firmware.unwrap();
    assert_eq!(
        firmware.nvram.as_deref(),
        Some("iqn.2013-07.com.example:iscsi-nopool/0")
    );
}

#[test]
fn qcow2_with_an_external_data_file() {
    // formatdomain: <dataStore> inside the disk's <source> (libvirt >= 10.10).
    let xml = "<domain><devices><disk type='file' device='disk'>\
        <driver name='qemu' type='qcow2'/>\
        <source file='/var/lib/libvirt/images/datastore.qcow2'>\
          <dataStore type='file'><format type='raw'/>\
            <source file='/var/lib/libvirt/images/datastore'/></dataStore>\
        </source><target dev='vde' bus='virtio'/></disk>\
        <disk type='file' device='disk'><driver type='qcow2'/><source file='/plain.qcow2'/>\
          <target dev='vdf'/><transient/></disk></devices></domain>";
    let cfg = DomainConfig::from_xml(xml).unwrap();
    let disk = &cfg.disks[0];
    assert_eq!(
        disk.source.as_deref(),
        Some("/var/lib/libvirt/images/datastore.qcow2")
    );
    assert_eq!(
        disk.data_store.as_deref(),
        Some("/var/lib/libvirt/images/datastore")
    );
    assert!(!disk.transient);
    assert_eq!(cfg.disks[1].data_store, None);
    assert!(cfg.disks[1].transient);
}

#[test]
fn launch_security_memory_backing_and_hyperv() {
    let xml = "<domain type='kvm'>\
        <memoryBacking><hugepages><page size='2048' unit='KiB'/></hugepages><nosharepages/>\
          <locked/><source type='memfd'/><access mode='shared'/>\
          <allocation mode='immediate' threads='8'/><discard/></memoryBacking>\
        <features><acpi/><hyperv mode='passthrough'/></features>\
        <launchSecurity type='sev' kernelHashes='yes'><cbitpos>47</cbitpos>\
          <reducedPhysBits>1</reducedPhysBits><policy>0x0007</policy></launchSecurity>\
        </domain>";
    let cfg = DomainConfig::from_xml(xml).unwrap();
    assert_eq!(
        cfg.memory_backing,
        Some(MemoryBacking {
            hugepages: true,
            nosharepages: true,
            locked: true,
            source_type: Some("memfd".to_string()),
            access_mode: Some("shared".to_string()),
            allocation_mode: Some("immediate".to_string()),
            discard: true,
        })
    );
    assert_eq!(cfg.hyperv_mode.as_deref(), Some("passthrough"));
    let ls = cfg.launch_security.unwrap();
    assert_eq!(ls.security_type, "sev");
    assert_eq!(ls.policy, Some(7));
    assert!(ls.is_sev_es());

    let xml = "<domain><features><hyperv><relaxed state='on'/></hyperv></features>\
        <launchSecurity type='sev-snp' authorKey='yes'><policy>196608</policy>\
        </launchSecurity></domain>";
    let cfg = DomainConfig::from_xml(xml).unwrap();
    assert_eq!(cfg.hyperv_mode.as_deref(), Some("custom"));
    let ls = cfg.launch_security.unwrap();
    assert_eq!(
        (ls.security_type.as_str(), ls.policy),
        ("sev-snp", Some(0x30000))
    );
    assert!(!ls.is_sev_es());

    let bad = "<domain><launchSecurity type='sev'><policy>lots</policy></launchSecurity>\
               </domain>";
    let err = DomainConfig::from_xml(bad).unwrap_err();
    assert!(
        err.to_string().contains("<launchSecurity><policy>"),
        "{err}"
    );
}

#[test]
fn other_devices_the_blocker_table_reads() {
    let xml = "<domain><devices>\
        <sound model='usb'/><sound model='ich9'/>\
        <serial type='pty'><target type='usb-serial' port='0'><model name='usb-serial'/>\
          </target></serial>\
        <serial type='pty'><target port='1'><model name='isa-serial'/></target></serial>\
        <crypto model='virtio' type='qemu'><backend model='builtin' queues='1'/></crypto>\
        <video><driver name='vhostuser'/><model type='virtio' heads='1'/></video>\
        <input type='passthrough' bus='virtio'><source evdev='/dev/input/event1'/></input>\
        <input type='tablet' bus='usb'/>\
        <channel type='qemu-vdagent'><source><clipboard copypaste='yes'/></source>\
          <target type='virtio' name='com.redhat.spice.0'/></channel>\
        <tpm model='tpm-crb'><backend type='emulator' version='2.0'/></tpm>\
        <interface type='vhostuser'><mac address='52:54:00:3b:83:1a'/>\
          <source type='unix' path='/run/vhu0.sock' mode='client'/></interface>\
        <interface type='user'><backend type='passt'/></interface>\
        </devices></domain>";
    let cfg = DomainConfig::from_xml(xml).unwrap();
    assert_eq!(cfg.sound_models, ["usb", "ich9"]);
    assert_eq!(cfg.serial_targets, ["usb-serial", "isa-serial"]);
    assert_eq!(cfg.consoles, 2);
    assert_eq!(cfg.crypto_models, ["virtio"]);
    assert_eq!(cfg.videos[0].driver.as_deref(), Some("vhostuser"));
    assert_eq!(
        cfg.inputs[0],
        Input {
            input_type: "passthrough".to_string(),
            bus: Some("virtio".to_string()),
            evdev: Some("/dev/input/event1".to_string()),
        }
    );
    assert_eq!(cfg.inputs[1].evdev, None);
    assert_eq!(cfg.channels[0].channel_type, "qemu-vdagent");
    assert_eq!(
        cfg.tpms,
        vec![Tpm {
            model: Some("tpm-crb".to_string()),
            backend: Some("emulator".to_string())
        }]
    );
    assert_eq!(cfg.interfaces[0].source.as_deref(), Some("/run/vhu0.sock"));
    assert_eq!(cfg.interfaces[0].mac.as_deref(), Some("52:54:00:3b:83:1a"));
    assert_eq!(cfg.interfaces[1].backend_type.as_deref(), Some("passt"));
}
