//! How snapshot space is measured where `stat` cannot help (a remote host): libvirt's storage
//! API answers for files that are volumes of a storage pool, and anything else is "unknown"
//! with the reason. libvirt's test driver has a storage pool, so this runs without a daemon.

use virt::connect::Connect;
use virt::storage_vol::StorageVol;
use virtsnap::libvirt::space::measure_file;
use virtsnap::model::space::{FileSpace, Measure};

#[test]
fn a_pool_volume_is_measured_through_the_storage_api_and_anything_else_is_unknown() {
    let conn = Connect::open(Some("test:///default")).expect("test driver");
    let pool = conn
        .lookup_storage_pool_by_name("default-pool")
        .expect("the test driver's pool");
    // The test driver's volumes are in memory: allocation as given, path in the pool's dir.
    let xml = "<volume><name>web.nightly-1</name><capacity unit='M'>64</capacity>\
               <allocation unit='M'>3</allocation><target><format type='qcow2'/></target></volume>";
    let vol = StorageVol::create_xml(&pool, xml, 0).expect("create a volume");
    let path = vol.path().expect("volume path");
    // `local = false`: as over qemu+ssh://, where this machine's stat would mean nothing.
    assert_eq!(
        measure_file(&conn, &path, false),
        FileSpace::Known {
            bytes: 3 << 20,
            how: Measure::StoragePool
        }
    );
    match measure_file(&conn, "/var/lib/libvirt/images/not-a-volume.qcow2", false) {
        FileSpace::Unknown { why } => {
            assert!(why.starts_with("unknown on a remote host"), "{why}")
        }
        other => panic!("{other:?}"),
    }
    vol.delete(0).expect("delete the volume");
}

#[test]
fn a_local_file_is_measured_by_its_allocated_blocks() {
    let conn = Connect::open(Some("test:///default")).expect("test driver");
    let dir = tempfile::tempdir().unwrap();
    let sparse = dir.path().join("sparse");
    let f = std::fs::File::create(&sparse).unwrap();
    f.set_len(64 << 20).unwrap();
    drop(f);
    let dense = dir.path().join("dense");
    std::fs::write(&dense, vec![1u8; 1 << 20]).unwrap();
    let bytes = |p: &std::path::Path| match measure_file(&conn, p.to_str().unwrap(), true) {
        FileSpace::Known { bytes, how } => {
            assert_eq!(how, Measure::LocalStat);
            bytes
        }
        other => panic!("{other:?}"),
    };
    assert!(
        bytes(&sparse) < 1 << 20,
        "a sparse file counts what it uses"
    );
    assert!(bytes(&dense) >= 1 << 20);
    assert_eq!(
        measure_file(&conn, dir.path().join("gone").to_str().unwrap(), true),
        FileSpace::Missing
    );
}
