//! Reading a host and its domains from libvirt into `model::inventory` rows.

use std::sync::atomic::{AtomicUsize, Ordering};

use virt::connect::Connect;
use virt::domain::Domain;
use virt::enumutil::Enum;
use virt::error::ErrorNumber;

use super::error::VirtError;
use crate::model::inventory::{DemoKind, DomainInfo, HostInfo};
use crate::model::{DomainConfig, DomainState, HostCapabilities};

/// How many libvirt calls run at once when filling rows: libvirtd serves several clients'
/// calls concurrently, so overlapping them beats a sequential loop.
pub const FETCH_THREADS: usize = 6;

pub fn host_info(
    conn: &Connect,
    readonly: bool,
    demo: Option<DemoKind>,
) -> Result<HostInfo, VirtError> {
    let uri = conn
        .uri()
        .map_err(|e| VirtError::call("reading the connection URI", &e))?;
    let hypervisor = conn.driver_type().unwrap_or_else(|_| "unknown".into());
    let capabilities = match conn.capabilities() {
        Ok(xml) => HostCapabilities::from_xml(&xml).unwrap_or_else(|e| {
            tracing::warn!("host capabilities XML not understood: {e}");
            HostCapabilities::default()
        }),
        Err(e) => {
            tracing::warn!("host capabilities unavailable: {}", e.message());
            HostCapabilities::default()
        }
    };
    Ok(HostInfo {
        uri,
        hostname: conn.hostname().ok(),
        hypervisor,
        hypervisor_version: conn.hyp_version().map_or(0, u64::from),
        libvirt_version: conn.lib_version().map_or(0, u64::from),
        capabilities,
        readonly,
        demo,
    })
}

/// Every domain, active and inactive, sorted by name, with only its identity filled in.
/// Cheap: one call; names and UUIDs are read from the handles.
pub fn list_domains(conn: &Connect) -> Result<Vec<(Domain, DomainInfo)>, VirtError> {
    let domains = conn
        .list_all_domains(0)
        .map_err(|e| VirtError::call("listing domains", &e))?;
    let mut rows: Vec<(Domain, DomainInfo)> = domains
        .into_iter()
        .filter_map(|d| {
            let name = d.name().ok()?;
            let uuid = d.uuid_string().unwrap_or_default();
            Some((d, DomainInfo::named(name, uuid)))
        })
        .collect();
    rows.sort_by(|a, b| a.1.name.cmp(&b.1.name));
    Ok(rows)
}

/// Fills one row: state, sizes, both XMLs, snapshot count and current snapshot. A failing
/// call leaves its field empty and says why in `error`, so one odd domain never hides the rest.
pub fn fetch_details(domain: &Domain, row: &mut DomainInfo) {
    let mut problems = Vec::new();
    match domain.info() {
        Ok(info) => {
            row.state = Some(state_from_virt(&info.state));
            row.vcpus = Some(info.nr_virt_cpu);
            row.memory_kib = Some(info.max_mem);
        }
        Err(e) => problems.push(format!("state: {}", e.message())),
    }
    let active = row.state.is_some_and(DomainState::is_active);
    match domain.xml_desc(virt::sys::VIR_DOMAIN_XML_INACTIVE) {
        Ok(xml) => match DomainConfig::from_xml(&xml) {
            Ok(cfg) => row.persistent = Some(cfg),
            Err(e) => problems.push(format!("definition XML: {e}")),
        },
        Err(e) => problems.push(format!("definition: {}", e.message())),
    }
    row.live = None;
    if active {
        match domain.xml_desc(0) {
            Ok(xml) => match DomainConfig::from_xml(&xml) {
                Ok(cfg) => row.live = Some(cfg),
                Err(e) => problems.push(format!("live XML: {e}")),
            },
            Err(e) => problems.push(format!("live XML: {}", e.message())),
        }
    }
    match domain.num_snapshots(0) {
        Ok(n) => {
            row.snapshots = Some(n);
            row.current_snapshot = if n == 0 {
                None
            } else {
                current_snapshot_name(domain)
            };
        }
        Err(e) => problems.push(format!("snapshots: {}", e.message())),
    }
    row.error = (!problems.is_empty()).then(|| problems.join("; "));
}

fn current_snapshot_name(domain: &Domain) -> Option<String> {
    // "No current snapshot" is an error code, not an empty answer.
    domain.current_snapshot(0).ok().and_then(|s| s.name().ok())
}

/// Fills every row, `threads` calls at a time, handing finished rows to `deliver` in
/// batches of at most `batch` so a UI can show them as they come.
pub fn fetch_all(
    rows: Vec<(Domain, DomainInfo)>,
    threads: usize,
    batch: usize,
    deliver: &(dyn Fn(Vec<DomainInfo>) + Sync),
) {
    let next = AtomicUsize::new(0);
    let rows = &rows;
    std::thread::scope(|s| {
        for _ in 0..threads.max(1).min(rows.len().max(1)) {
            s.spawn(|| {
                let mut done = Vec::with_capacity(batch);
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some((domain, row)) = rows.get(i) else {
                        break;
                    };
                    let mut row = row.clone();
                    fetch_details(domain, &mut row);
                    done.push(row);
                    if done.len() >= batch {
                        deliver(std::mem::take(&mut done));
                    }
                }
                if !done.is_empty() {
                    deliver(done);
                }
            });
        }
    });
}

/// Finds a domain by name, with the error the CLI and UI show when it does not exist.
pub fn lookup(conn: &Connect, name: &str) -> Result<Domain, VirtError> {
    conn.lookup_domain_by_name(name).map_err(|e| {
        if matches!(e.code(), Enum::Known(ErrorNumber::NoDomain)) {
            VirtError::NoDomain {
                name: name.to_string(),
            }
        } else {
            VirtError::call(format!("looking up domain '{name}'"), &e)
        }
    })
}

pub fn state_from_virt(state: &virt::domain::DomainStateEnum) -> DomainState {
    use virt::domain::DomainState as V;
    match state {
        Enum::Known(V::Running) => DomainState::Running,
        Enum::Known(V::Blocked) => DomainState::Blocked,
        Enum::Known(V::Paused) => DomainState::Paused,
        Enum::Known(V::Shutdown) => DomainState::Shutdown,
        Enum::Known(V::Shutoff) => DomainState::Shutoff,
        Enum::Known(V::Crashed) => DomainState::Crashed,
        Enum::Known(V::PMSuspended) => DomainState::Pmsuspended,
        _ => DomainState::Nostate,
    }
}
