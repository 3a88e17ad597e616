//! Reading the facts the storage model is built from: the domain's definitions, its
//! snapshots (with their saved definitions), pool volumes resolved through the storage API,
//! and, on a local connection, the qcow2 headers of every image involved (backing files and
//! internal snapshot tables, which libvirt's API does not expose).

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use virt::connect::Connect;
use virt::domain::Domain;
use virt::sys::VIR_DOMAIN_XML_INACTIVE;

use super::error::VirtError;
use super::{inventory, snapshots};
use crate::model::qcow2::{self, Qcow2Error, HEADER_READ};
use crate::model::storage::facts::{normalize_path, resolve_backing};
use crate::model::storage::{ImageFacts, ImageKind, Layout, StorageFacts};
use crate::model::DomainConfig;

/// The most snapshot table bytes read from one image (QEMU allows 65,536 snapshots; their
/// table entries with names fit well inside this).
const MAX_TABLE: usize = 64 << 20;

/// Whether paths libvirt reports are paths on this machine: the URI names no host
/// (`qemu:///system`, `qemu+unix:///system`, `test:///default`, `qemu:///embed?root=...`).
pub fn uri_is_local(uri: &str) -> bool {
    match uri.split_once("://") {
        Some((_, rest)) => rest.starts_with('/') || rest.is_empty(),
        None => true,
    }
}

/// Reads everything the storage model of `domain` needs, in one go.
pub fn read_facts(conn: &Connect, domain: &str) -> Result<StorageFacts, VirtError> {
    let dom = inventory::lookup(conn, domain)?;
    read_facts_of(conn, &dom, domain)
}

/// What the snapshot view shows: the listing, the file sizes and the storage facts, read in
/// one go (the listing once).
pub fn load_view(conn: &Connect, domain: &str) -> Result<snapshots::DomainSnapshots, VirtError> {
    let dom = inventory::lookup(conn, domain)?;
    let listed = snapshots::load(conn, domain)?;
    let facts = facts_with(conn, &dom, domain, listed.clone())?;
    Ok(snapshots::DomainSnapshots {
        storage: Some(Box::new(facts)),
        ..listed
    })
}

/// [`read_facts`] for a domain handle already looked up.
pub fn read_facts_of(
    conn: &Connect,
    dom: &Domain,
    domain: &str,
) -> Result<StorageFacts, VirtError> {
    let listed = snapshots::load(conn, domain)?;
    facts_with(conn, dom, domain, listed)
}

/// The storage model without the listing of the images' directories (`existing`), which only
/// planning a create needs: reading a whole VM list's space must not list a directory shared
/// by thousands of images once per VM.
pub fn read_layout_no_listing(conn: &Connect, domain: &str) -> Result<Layout, VirtError> {
    let dom = inventory::lookup(conn, domain)?;
    let listed = snapshots::load(conn, domain)?;
    facts_read(conn, &dom, domain, listed, false).map(|f| Layout::new(&f))
}

fn facts_with(
    conn: &Connect,
    dom: &Domain,
    domain: &str,
    listed: snapshots::DomainSnapshots,
) -> Result<StorageFacts, VirtError> {
    facts_read(conn, dom, domain, listed, true)
}

/// Whether QEMU's disks are inactive after a memory snapshot of the paused VM (see
/// [`StorageFacts::disks_inactive`]). libvirt does not say: its state stays "paused (user)",
/// and the statistics of its last completed job survive a resume (measured), so QEMU is
/// asked for its run state (`query-status` through `virDomainQemuMonitorCommand`):
/// `postmigrate`. Only a paused VM is asked, and only when a change is being planned (not for
/// the list). libvirt logs such a domain as tainted ("custom-monitor"), as it does for the
/// guest-agent commands virtsnap sends. A connection that refuses the command (read-only, where
/// nothing can be changed anyway, or a daemon that forbids it) counts as active: virtsnap does
/// not claim a state it could not read. (`virDomainGetJobStats` would narrow it down first, but the virt crate's
/// wrapper is unsound when libvirt returns no statistics: it builds a Vec from a null
/// pointer.)
pub fn disks_inactive(dom: &Domain, state: crate::model::DomainState) -> bool {
    if state != crate::model::DomainState::Paused {
        return false;
    }
    match dom.qemu_monitor_command(r#"{"execute":"query-status"}"#, 0) {
        Ok(reply) => {
            crate::model::storage::facts::qemu_run_state(&reply).as_deref() == Some("postmigrate")
        }
        Err(e) => {
            tracing::info!(
                "cannot ask QEMU for its run state ({}); taking its disks as active",
                e.message()
            );
            false
        }
    }
}

/// `planning`: the facts are for planning a change, so they also list the images' directories
/// and ask a paused VM's QEMU whether its disks are inactive; the list's SPACE column does
/// neither.
fn facts_read(
    conn: &Connect,
    dom: &Domain,
    domain: &str,
    listed: snapshots::DomainSnapshots,
    planning: bool,
) -> Result<StorageFacts, VirtError> {
    let call =
        |what: &str, e: virt::error::Error| VirtError::call(format!("{what} of '{domain}'"), &e);
    let state = dom
        .info()
        .map(|i| inventory::state_from_virt(&i.state))
        .map_err(|e| call("reading the state", e))?;
    let parse = |xml: String| {
        DomainConfig::from_xml(&xml).map_err(|e| VirtError::Call {
            action: format!("reading the definition of '{domain}'"),
            reason: e.to_string(),
        })
    };
    let persistent_xml = dom
        .xml_desc(VIR_DOMAIN_XML_INACTIVE)
        .map_err(|e| call("reading the definition", e))?;
    let persistent_config = parse(persistent_xml)?;
    let config = if state.is_active() {
        parse(
            dom.xml_desc(0)
                .map_err(|e| call("reading the live definition", e))?,
        )?
    } else {
        persistent_config.clone()
    };
    let driver = conn.driver_type().unwrap_or_default();
    // The test driver's paths name no file anywhere: plan as for a remote host (no headers,
    // no existence checks).
    let local = conn.uri().is_ok_and(|u| uri_is_local(&u)) && !driver.eq_ignore_ascii_case("test");
    let mut facts = StorageFacts {
        domain: domain.to_string(),
        state,
        persistent: dom.is_persistent().unwrap_or(true),
        managed_save: dom.has_managed_save(0).unwrap_or(false),
        disks_inactive: planning && disks_inactive(dom, state),
        driver,
        persistent_config: state.is_active().then_some(persistent_config),
        config,
        snapshots: listed.snapshots,
        current: listed.current,
        images: Vec::new(),
        volumes: Vec::new(),
        libvirt_version: conn.lib_version().map_or(0, u64::from),
        local,
        now: unix_now(),
        existing: Vec::new(),
    };
    facts.volumes = resolve_volumes(conn, &facts);
    if local {
        read_images(&mut facts, planning);
    }
    Ok(facts)
}

/// Reads the facts and builds the model.
pub fn read_layout(conn: &Connect, domain: &str) -> Result<Layout, VirtError> {
    read_facts(conn, domain).map(|f| Layout::new(&f))
}

pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn all_configs(facts: &StorageFacts) -> impl Iterator<Item = &DomainConfig> {
    std::iter::once(&facts.config)
        .chain(facts.persistent_config.iter())
        .chain(facts.snapshots.iter().filter_map(|s| s.domain.as_deref()))
}

/// `<source pool volume>` of every disk in any of the definitions, as paths.
fn resolve_volumes(conn: &Connect, facts: &StorageFacts) -> Vec<(String, String, String)> {
    let wanted: BTreeSet<(String, String)> = all_configs(facts)
        .flat_map(|c| c.disks.iter().filter_map(|d| d.pool_volume.clone()))
        .collect();
    let mut out = Vec::new();
    for (pool, volume) in wanted {
        let path = conn
            .lookup_storage_pool_by_name(&pool)
            .and_then(|p| p.lookup_storage_vol_by_name(&volume))
            .and_then(|v| v.path());
        match path {
            Ok(path) => out.push((pool, volume, path)),
            Err(e) => tracing::info!("volume {pool}/{volume}: {}", e.message()),
        }
    }
    out
}

/// Reads the headers of every image the model will look at, following backing files, and
/// (`list_dirs`) lists the files in their directories.
fn read_images(facts: &mut StorageFacts, list_dirs: bool) {
    let layout = Layout::new(facts);
    let mut queue: Vec<String> = Vec::new();
    for d in &layout.disks {
        if let Some(t) = &d.top {
            queue.extend(layout.chain(t));
        }
    }
    for s in &layout.snapshots {
        for d in &s.disks {
            queue.extend(
                [&d.image, &d.overlay, &d.revert_overlay]
                    .into_iter()
                    .flatten()
                    .cloned(),
            );
        }
        for d in s.saved.iter().flatten() {
            queue.extend(d.source.clone());
        }
    }
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut dirs: BTreeSet<String> = BTreeSet::new();
    while let Some(path) = queue.pop() {
        if !path.starts_with('/') || !seen.insert(path.clone()) {
            continue;
        }
        if let Some((dir, _)) = path.rsplit_once('/') {
            if !dir.starts_with("/dev") {
                dirs.insert(if dir.is_empty() {
                    "/".into()
                } else {
                    dir.to_string()
                });
            }
        }
        let kind = read_image(Path::new(&path));
        if let ImageKind::Qcow2 {
            backing: Some(b), ..
        } = &kind
        {
            queue.push(b.clone());
        }
        facts.images.push(ImageFacts { path, kind });
    }
    if !list_dirs {
        return;
    }
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if let Some(s) = p.to_str() {
                facts.existing.push(normalize_path(s));
            }
        }
    }
}

/// One image's header: qcow2 (backing file, snapshot table), something else, or missing.
pub fn read_image(path: &Path) -> ImageKind {
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return ImageKind::Missing,
        Err(e) => return ImageKind::Unreadable(e.to_string()),
    };
    let mut head = Vec::with_capacity(HEADER_READ);
    if let Err(e) = (&mut file).take(HEADER_READ as u64).read_to_end(&mut head) {
        return ImageKind::Unreadable(e.to_string());
    }
    let header = match qcow2::parse_header(&head) {
        Ok(h) => h,
        Err(Qcow2Error::NotQcow2) | Err(Qcow2Error::Short(..)) => return ImageKind::Other,
        Err(e) => return ImageKind::Unreadable(e.to_string()),
    };
    let image = path.to_string_lossy();
    let backing = match header.backing_file_at {
        (0, _) | (_, 0) => None,
        (at, len) => match read_at(&mut file, at, len.min(4096) as usize) {
            Ok(b) => Some(resolve_backing(&image, &String::from_utf8_lossy(&b))),
            Err(e) => return ImageKind::Unreadable(e.to_string()),
        },
    };
    let (count, at) = header.snapshots;
    let mut want = 64 * 1024;
    let internal = loop {
        if count == 0 {
            break Vec::new();
        }
        let table = match read_at(&mut file, at, want) {
            Ok(t) => t,
            Err(e) => return ImageKind::Unreadable(e.to_string()),
        };
        match qcow2::parse_snapshot_table(&table, count) {
            Ok(t) => break t,
            Err(Qcow2Error::TableShort(_)) if table.len() == want && want < MAX_TABLE => want *= 4,
            Err(e) => return ImageKind::Unreadable(e.to_string()),
        }
    };
    ImageKind::Qcow2 {
        header,
        backing,
        internal,
    }
}

fn read_at(file: &mut File, at: u64, len: usize) -> std::io::Result<Vec<u8>> {
    file.seek(SeekFrom::Start(at))?;
    let mut buf = Vec::with_capacity(len);
    file.take(len as u64).read_to_end(&mut buf)?;
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_means_no_host_in_the_uri() {
        for uri in [
            "qemu:///system",
            "qemu+unix:///system",
            "test:///default",
            "qemu:///embed?root=/tmp/x",
        ] {
            assert!(uri_is_local(uri), "{uri}");
        }
        for uri in [
            "qemu+ssh://root@host/system",
            "qemu+tls://h/system",
            "qemu://h/system",
        ] {
            assert!(!uri_is_local(uri), "{uri}");
        }
    }
}
