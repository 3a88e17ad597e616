//! The list's SPACE, OLDEST and CHAIN columns: each domain's snapshot space and age
//! (`model::space::VmSpace`), read lazily by its host's worker. The listing never waits for
//! them: after any message, the rows on screen whose figures are missing or outdated are asked
//! for (one request per host), and their cells say "..." until the answer arrives. A figure
//! goes out of date when a job on the domain ends, its snapshot count or current snapshot
//! changes, or its host finishes a periodic refresh (overlays grow while VMs write).

use std::collections::HashMap;

use crate::app::{App, Command, HostId, Screen};
use crate::model::space::{VmSpace, STALE_AFTER_DAYS};

/// What is known of one domain's snapshot space.
#[derive(Debug, Clone, PartialEq)]
pub struct SpaceEntry {
    /// The last answer; None until the first arrives.
    pub value: Option<Result<VmSpace, String>>,
    /// A request is out.
    pub reading: bool,
    /// The value is older than something that changed it: read again when shown.
    pub outdated: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SpaceCache {
    entries: HashMap<(HostId, String), SpaceEntry>,
    /// Snapshots older than this are stale (the config file's `stale_snapshot_age`).
    pub stale_after_days: u32,
}

impl Default for SpaceCache {
    fn default() -> Self {
        Self {
            entries: HashMap::new(),
            stale_after_days: STALE_AFTER_DAYS,
        }
    }
}

impl SpaceCache {
    pub fn get(&self, host: HostId, domain: &str) -> Option<&SpaceEntry> {
        self.entries.get(&(host, domain.to_string()))
    }

    /// The worker's answer.
    pub fn answer(&mut self, host: HostId, domain: String, result: Result<VmSpace, String>) {
        let entry = self.entries.entry((host, domain)).or_insert(SpaceEntry {
            value: None,
            reading: false,
            outdated: false,
        });
        entry.value = Some(result);
        entry.reading = false;
    }

    /// Something changed the domain's snapshots or files: read it again when it is shown.
    pub fn outdate(&mut self, host: HostId, domain: &str) {
        if let Some(e) = self.entries.get_mut(&(host, domain.to_string())) {
            e.outdated = true;
        }
    }

    /// Every figure of `host` (a periodic refresh ended: overlays grow, snapshots age); a
    /// read under way is fresh enough.
    pub fn outdate_host(&mut self, host: HostId) {
        self.entries
            .iter_mut()
            .filter(|((h, _), e)| *h == host && !e.reading)
            .for_each(|(_, e)| e.outdated = true);
    }

    /// The host's connection came or went: a request it had may never be answered.
    pub fn reset_host(&mut self, host: HostId) {
        self.entries
            .iter_mut()
            .filter(|((h, _), e)| *h == host && e.reading)
            .for_each(|(_, e)| {
                e.reading = false;
                e.outdated = true;
            });
    }

    /// Forgets a host's figures for domains that are gone.
    pub fn retain_listed(&mut self, host: HostId, listed: &[&str]) {
        self.entries
            .retain(|(h, d), _| *h != host || listed.contains(&d.as_str()));
    }
}

/// The requests for the rows on screen that need their figures: loaded rows (state known) of
/// connected hosts, only while the list is the screen shown. One command per host.
pub fn requests(app: &mut App) -> Vec<Command> {
    if app.screen != Screen::Domains {
        return Vec::new();
    }
    let page = app.page_rows();
    let wanted: Vec<(HostId, String)> = app
        .list
        .visible_rows()
        .skip(app.list.offset)
        .take(page)
        .filter(|r| r.state.is_some())
        .filter(|r| app.hosts.get(r.host).is_some_and(|h| h.is_connected()))
        .filter(|r| {
            app.space
                .get(r.host, &r.name)
                .is_none_or(|e| !e.reading && (e.value.is_none() || e.outdated))
        })
        .map(|r| (r.host, r.name.clone()))
        .collect();
    let mut by_host: Vec<(HostId, Vec<String>)> = Vec::new();
    for (host, name) in wanted {
        let entry = app
            .space
            .entries
            .entry((host, name.clone()))
            .or_insert(SpaceEntry {
                value: None,
                reading: false,
                outdated: false,
            });
        entry.reading = true;
        entry.outdated = false;
        match by_host.iter_mut().find(|(h, _)| *h == host) {
            Some((_, names)) => names.push(name),
            None => by_host.push((host, vec![name])),
        }
    }
    let stale_after_days = app.space.stale_after_days;
    by_host
        .into_iter()
        .map(|(host, domains)| Command::LoadSpace {
            host,
            domains,
            stale_after_days,
        })
        .collect()
}
