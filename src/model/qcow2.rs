//! The parts of a qcow2 image header virtsnap needs to plan snapshot operations safely: the
//! backing file, the external data file, and the internal snapshot table with each snapshot's
//! ID and name. Pure: the caller reads the bytes (see `libvirt::storage`), this module only
//! decodes them.
//!
//! Format: QEMU's docs/interop/qcow2.txt (all fields big-endian). The snapshot table matters
//! because QEMU finds an internal snapshot by ID *or* name: `qemu-img snapshot -a N` and QMP
//! `snapshot-load` try the ID first (block/qcow2-snapshot.c, `find_snapshot_by_id_or_name`),
//! so a snapshot named `1` can be taken for the one whose ID is `1`. Knowing the table lets
//! virtsnap prove which snapshot a name will resolve to before asking libvirt to revert.

use serde::Serialize;

/// `QFI\xfb`.
const MAGIC: u32 = 0x5146_49fb;
/// Header extension: external data file name (qcow2.txt, "Header extensions").
const EXT_DATA_FILE: u32 = 0x4441_5441;
/// Incompatible feature bit 2: the guest data lives in an external data file.
const INCOMPAT_DATA_FILE: u64 = 1 << 2;
/// QEMU refuses images with more internal snapshots than this (QCOW_MAX_SNAPSHOTS).
pub const MAX_SNAPSHOTS: u32 = 65_536;
/// The fixed part of a snapshot table entry, before its extra data, ID and name.
const ENTRY_FIXED: usize = 40;

/// Why bytes could not be read as a qcow2 header or snapshot table.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Qcow2Error {
    #[error("not a qcow2 image (no QFI magic)")]
    NotQcow2,
    #[error("qcow2 version {0} is not supported (2 and 3 are)")]
    Version(u32),
    #[error("the qcow2 header is cut short: {0} bytes, {1} needed")]
    Short(usize, usize),
    #[error("the qcow2 header says {0} internal snapshots; QEMU allows at most 65536")]
    TooManySnapshots(u32),
    #[error("the qcow2 snapshot table is cut short at entry {0}")]
    TableShort(u32),
}

/// The header fields of one qcow2 image that matter for snapshot planning.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Qcow2Header {
    /// 2 or 3.
    pub version: u32,
    /// Virtual disk size, bytes.
    pub size: u64,
    /// Where the backing file name is stored and how long it is (bytes); (0, 0) when none.
    pub backing_file_at: (u64, u32),
    /// Number of internal snapshots and where their table starts (byte offset).
    pub snapshots: (u32, u64),
    /// The image keeps guest data in an external data file (`data_file` / `<dataStore>`):
    /// QEMU cannot keep internal snapshots in such an image.
    pub has_data_file: bool,
    /// The data file's name from the header extension, when recorded there.
    pub data_file: Option<String>,
    /// Cluster size in bytes.
    pub cluster_size: u64,
}

/// One internal snapshot as the image records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InternalSnapshot {
    /// QEMU's ID: a decimal number as text, assigned as the highest existing ID + 1.
    pub id: String,
    /// The tag (libvirt passes the snapshot's name).
    pub name: String,
    /// Saved VM state (memory and devices), bytes; 0 for a disk-only internal snapshot.
    pub vm_state_size: u64,
    /// When it was taken, Unix seconds.
    pub date_sec: u32,
}

fn be_u32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn be_u16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn be_u64(b: &[u8], at: usize) -> u64 {
    (u64::from(be_u32(b, at)) << 32) | u64::from(be_u32(b, at + 4))
}

/// Bytes the caller should read from offset 0 so that [`parse_header`] sees the header and
/// its extensions (they live in the first cluster; 64 KiB covers the default cluster size).
pub const HEADER_READ: usize = 64 * 1024;

/// Decodes the header at the start of `bytes` (read at least 104 bytes, ideally
/// [`HEADER_READ`] so the extensions are seen).
pub fn parse_header(bytes: &[u8]) -> Result<Qcow2Header, Qcow2Error> {
    if bytes.len() < 72 {
        if bytes.len() >= 4 && be_u32(bytes, 0) != MAGIC {
            return Err(Qcow2Error::NotQcow2);
        }
        return Err(Qcow2Error::Short(bytes.len(), 72));
    }
    if be_u32(bytes, 0) != MAGIC {
        return Err(Qcow2Error::NotQcow2);
    }
    let version = be_u32(bytes, 4);
    if version != 2 && version != 3 {
        return Err(Qcow2Error::Version(version));
    }
    let nb_snapshots = be_u32(bytes, 60);
    if nb_snapshots > MAX_SNAPSHOTS {
        return Err(Qcow2Error::TooManySnapshots(nb_snapshots));
    }
    let cluster_bits = be_u32(bytes, 20);
    let (incompatible, header_length) = if version == 3 {
        if bytes.len() < 104 {
            return Err(Qcow2Error::Short(bytes.len(), 104));
        }
        (be_u64(bytes, 72), be_u32(bytes, 100) as usize)
    } else {
        (0, 72)
    };
    Ok(Qcow2Header {
        version,
        size: be_u64(bytes, 24),
        backing_file_at: (be_u64(bytes, 8), be_u32(bytes, 16)),
        snapshots: (nb_snapshots, be_u64(bytes, 64)),
        has_data_file: incompatible & INCOMPAT_DATA_FILE != 0,
        data_file: extension(bytes, header_length, EXT_DATA_FILE)
            .map(|b| String::from_utf8_lossy(b).into_owned()),
        cluster_size: 1u64.checked_shl(cluster_bits).unwrap_or(0),
    })
}

/// The payload of the first header extension of `kind`, if the bytes reach it.
fn extension(bytes: &[u8], start: usize, kind: u32) -> Option<&[u8]> {
    let mut at = start;
    while at + 8 <= bytes.len() {
        let (ext, len) = (be_u32(bytes, at), be_u32(bytes, at + 4) as usize);
        if ext == 0 {
            return None;
        }
        let data = bytes.get(at + 8..at + 8 + len)?;
        if ext == kind {
            return Some(data);
        }
        at += 8 + len.div_ceil(8) * 8;
    }
    None
}

/// Decodes `count` snapshot table entries from `table` (the bytes read at the header's
/// snapshot table offset). Needs the whole table; [`Qcow2Error::TableShort`] says more bytes
/// are needed.
pub fn parse_snapshot_table(table: &[u8], count: u32) -> Result<Vec<InternalSnapshot>, Qcow2Error> {
    let mut out = Vec::with_capacity(count.min(1024) as usize);
    let mut at = 0usize;
    for i in 0..count {
        let fixed = table
            .get(at..at + ENTRY_FIXED)
            .ok_or(Qcow2Error::TableShort(i))?;
        let id_len = usize::from(be_u16(fixed, 12));
        let name_len = usize::from(be_u16(fixed, 14));
        let date_sec = be_u32(fixed, 16);
        let small_state = u64::from(be_u32(fixed, 32));
        let extra_len = be_u32(fixed, 36) as usize;
        let extra_at = at + ENTRY_FIXED;
        let id_at = extra_at + extra_len;
        let name_at = id_at + id_len;
        let end = name_at + name_len;
        if end > table.len() {
            return Err(Qcow2Error::TableShort(i));
        }
        // Extra data starts with the 64-bit VM state size (qcow2 v3); it wins when present.
        let vm_state_size = if extra_len >= 8 {
            be_u64(table, extra_at)
        } else {
            small_state
        };
        out.push(InternalSnapshot {
            id: String::from_utf8_lossy(&table[id_at..name_at]).into_owned(),
            name: String::from_utf8_lossy(&table[name_at..end]).into_owned(),
            vm_state_size,
            date_sec,
        });
        at = end.div_ceil(8) * 8;
    }
    Ok(out)
}

/// Which internal snapshot QEMU resolves `name` to when it goes to (reverts to) a snapshot:
/// the one whose ID is `name` if any, else the first whose name is `name`
/// (block/qcow2-snapshot.c `find_snapshot_by_id_or_name`).
pub fn resolve_for_goto<'a>(
    table: &'a [InternalSnapshot],
    name: &str,
) -> Option<&'a InternalSnapshot> {
    table
        .iter()
        .find(|s| s.id == name)
        .or_else(|| table.iter().find(|s| s.name == name))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A version-3 header with `snapshots` entries at offset 4096, built by hand.
    fn image(
        backing: Option<&str>,
        data_file: Option<&str>,
        snaps: &[(&str, &str, u64)],
    ) -> Vec<u8> {
        let mut b = vec![0u8; 8192];
        b[0..4].copy_from_slice(&MAGIC.to_be_bytes());
        b[4..8].copy_from_slice(&3u32.to_be_bytes());
        b[20..24].copy_from_slice(&16u32.to_be_bytes());
        b[24..32].copy_from_slice(&(64u64 << 20).to_be_bytes());
        b[60..64].copy_from_slice(&(snaps.len() as u32).to_be_bytes());
        b[64..72].copy_from_slice(&4096u64.to_be_bytes());
        b[100..104].copy_from_slice(&112u32.to_be_bytes());
        if let Some(name) = backing {
            b[8..16].copy_from_slice(&2048u64.to_be_bytes());
            b[16..20].copy_from_slice(&(name.len() as u32).to_be_bytes());
            b[2048..2048 + name.len()].copy_from_slice(name.as_bytes());
        }
        if let Some(name) = data_file {
            b[72..80].copy_from_slice(&INCOMPAT_DATA_FILE.to_be_bytes());
            b[112..116].copy_from_slice(&EXT_DATA_FILE.to_be_bytes());
            b[116..120].copy_from_slice(&(name.len() as u32).to_be_bytes());
            b[120..120 + name.len()].copy_from_slice(name.as_bytes());
        }
        let mut at = 4096;
        for (id, name, state) in snaps {
            b[at + 12..at + 14].copy_from_slice(&(id.len() as u16).to_be_bytes());
            b[at + 14..at + 16].copy_from_slice(&(name.len() as u16).to_be_bytes());
            b[at + 36..at + 40].copy_from_slice(&16u32.to_be_bytes());
            b[at + 40..at + 48].copy_from_slice(&state.to_be_bytes());
            let id_at = at + 40 + 16;
            b[id_at..id_at + id.len()].copy_from_slice(id.as_bytes());
            b[id_at + id.len()..id_at + id.len() + name.len()].copy_from_slice(name.as_bytes());
            at = (id_at + id.len() + name.len()).div_ceil(8) * 8;
        }
        b
    }

    #[test]
    fn reads_header_fields_and_snapshot_table() {
        let b = image(
            Some("base.qcow2"),
            None,
            &[("1", "base", 0), ("2", "1", 4096)],
        );
        let h = parse_header(&b).unwrap();
        assert_eq!(h.version, 3);
        assert_eq!(h.size, 64 << 20);
        assert_eq!(h.cluster_size, 65536);
        assert_eq!(h.backing_file_at, (2048, 10));
        assert_eq!(h.snapshots, (2, 4096));
        assert!(!h.has_data_file);
        let table = parse_snapshot_table(&b[4096..], 2).unwrap();
        assert_eq!(table[0].id, "1");
        assert_eq!(table[0].name, "base");
        assert_eq!(table[1].name, "1");
        assert_eq!(table[1].vm_state_size, 4096);
    }

    #[test]
    fn a_name_that_is_another_snapshots_id_resolves_to_that_snapshot() {
        let b = image(None, None, &[("1", "base", 0), ("2", "1", 0)]);
        let table = parse_snapshot_table(&b[4096..], 2).unwrap();
        // What LIBVIRT-NOTES measured: reverting to '1' restored 'base'.
        assert_eq!(resolve_for_goto(&table, "1").unwrap().name, "base");
        assert_eq!(resolve_for_goto(&table, "base").unwrap().id, "1");
        assert!(resolve_for_goto(&table, "nope").is_none());
    }

    #[test]
    fn sees_an_external_data_file() {
        let b = image(None, Some("/images/web.raw"), &[]);
        let h = parse_header(&b).unwrap();
        assert!(h.has_data_file);
        assert_eq!(h.data_file.as_deref(), Some("/images/web.raw"));
    }

    #[test]
    fn refuses_what_is_not_qcow2_or_cut_short() {
        assert_eq!(parse_header(&[0u8; 200]), Err(Qcow2Error::NotQcow2));
        assert_eq!(parse_header(b"QFI"), Err(Qcow2Error::Short(3, 72)));
        let mut b = image(None, None, &[("1", "a", 0)]);
        b[4..8].copy_from_slice(&9u32.to_be_bytes());
        assert_eq!(parse_header(&b), Err(Qcow2Error::Version(9)));
        let b = image(None, None, &[("1", "a", 0)]);
        assert_eq!(
            parse_snapshot_table(&b[4096..4100], 1),
            Err(Qcow2Error::TableShort(0))
        );
        let mut b = image(None, None, &[]);
        b[60..64].copy_from_slice(&70_000u32.to_be_bytes());
        assert_eq!(parse_header(&b), Err(Qcow2Error::TooManySnapshots(70_000)));
    }
}
