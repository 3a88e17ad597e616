//! The domain list: rows in name order, the filter, the selection and the scroll offset.
//! `selected` and `offset` index the visible (filtered) rows.

use crate::model::inventory::{DomainInfo, HostId};
use crate::model::HostCapabilities;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct DomainList {
    /// Every host's rows, by host then name.
    pub rows: Vec<DomainInfo>,
    /// Indexes into `rows` of the rows the filter keeps, in order.
    visible: Vec<usize>,
    /// `/` filter text; empty shows everything.
    pub filter: String,
    /// Each host's capabilities (by `HostId`), for matching CPU markers such as `invtsc`.
    pub capabilities: Vec<Option<HostCapabilities>>,
    /// Each host's name (by `HostId`): `/` matches it when there are several.
    pub host_names: Vec<String>,
    pub selected: usize,
    /// First visible row.
    pub offset: usize,
    /// Domains (host, name) marked with Space for a bulk start / shutdown / force off.
    pub marked: std::collections::BTreeSet<(HostId, String)>,
}

impl DomainList {
    pub fn visible_len(&self) -> usize {
        self.visible.len()
    }

    pub fn visible_rows(&self) -> impl Iterator<Item = &DomainInfo> {
        self.visible.iter().filter_map(|i| self.rows.get(*i))
    }

    pub fn selected_row(&self) -> Option<&DomainInfo> {
        self.visible
            .get(self.selected)
            .and_then(|i| self.rows.get(*i))
    }

    /// Domain `name` of `host`.
    pub fn row(&self, host: HostId, name: &str) -> Option<&DomainInfo> {
        self.rows.iter().find(|r| r.host == host && r.name == name)
    }

    /// The hosts' names, by `HostId` (`/` matches them when there are several).
    pub fn set_hosts(&mut self, names: Vec<String>) {
        self.capabilities = vec![None; names.len()];
        self.host_names = names;
    }

    pub fn set_capabilities(&mut self, host: HostId, caps: HostCapabilities) {
        if let Some(slot) = self.capabilities.get_mut(host.0) {
            *slot = Some(caps);
        }
    }

    /// A new full listing of `host`'s domains (other hosts' rows stay): rows that were
    /// already known keep their details until the fresh ones arrive (no flicker of empty
    /// badges), and the selection stays on the same domain.
    pub fn replace_all(&mut self, host: HostId, fresh: Vec<DomainInfo>) {
        let selected = self.selected_key();
        let (mine, others): (Vec<DomainInfo>, Vec<DomainInfo>) = std::mem::take(&mut self.rows)
            .into_iter()
            .partition(|r| r.host == host);
        let mut old: std::collections::HashMap<String, DomainInfo> =
            mine.into_iter().map(|r| (r.uuid.clone(), r)).collect();
        self.rows = others;
        self.rows
            .extend(fresh.into_iter().map(|r| match old.remove(&r.uuid) {
                Some(known) if known.name == r.name => known,
                _ => r,
            }));
        // Grouped by host, each host's rows in the order its listing gave (by name): a stable
        // sort by host alone keeps that order.
        self.rows.sort_by_key(|r| r.host);
        let names: std::collections::HashSet<(HostId, &str)> = self
            .rows
            .iter()
            .map(|r| (r.host, r.name.as_str()))
            .collect();
        self.marked
            .retain(|(h, n)| names.contains(&(*h, n.as_str())));
        self.refilter(selected.as_ref());
    }

    /// The selected row's identity, to find it again after the rows change.
    fn selected_key(&self) -> Option<(HostId, String)> {
        self.selected_row().map(|r| (r.host, r.uuid.clone()))
    }

    /// Rows with details: replace the matching rows in place; a row not listed yet (defined
    /// since the last listing) is added in name order.
    pub fn merge(&mut self, filled: Vec<DomainInfo>) {
        if filled.is_empty() {
            return;
        }
        let selected = self.selected_key();
        let index: std::collections::HashMap<(HostId, &str), usize> = self
            .rows
            .iter()
            .enumerate()
            .map(|(i, r)| ((r.host, r.uuid.as_str()), i))
            .collect();
        let mut updates = Vec::with_capacity(filled.len());
        let mut added = Vec::new();
        for row in filled {
            match index.get(&(row.host, row.uuid.as_str())) {
                Some(&i) => updates.push((i, row)),
                None => added.push(row),
            }
        }
        let grew = !added.is_empty();
        for (i, row) in updates {
            self.rows[i] = row;
        }
        if grew {
            self.rows.extend(added);
            self.rows
                .sort_by(|a, b| (a.host, &a.name).cmp(&(b.host, &b.name)));
        }
        if grew || !self.filter.is_empty() {
            self.refilter(selected.as_ref());
        }
    }

    pub fn set_filter(&mut self, filter: String) {
        let selected = self.selected_key();
        self.filter = filter;
        self.refilter(selected.as_ref());
    }

    fn refilter(&mut self, keep: Option<&(HostId, String)>) {
        let query = self.filter.to_lowercase();
        let several = self.host_names.len() > 1;
        self.visible = (0..self.rows.len())
            .filter(|&i| {
                let row = &self.rows[i];
                let caps = self.capabilities.get(row.host.0).and_then(Option::as_ref);
                let host_name = self.host_names.get(row.host.0).filter(|_| several);
                query.is_empty()
                    || matches(row, &query, caps)
                    || host_name.is_some_and(|h| h.to_lowercase().contains(&query))
            })
            .collect();
        if let Some((host, uuid)) = keep {
            let found = self
                .visible
                .iter()
                .position(|&i| self.rows[i].host == *host && &self.rows[i].uuid == uuid);
            if let Some(pos) = found {
                self.selected = pos;
                return;
            }
        }
        self.selected = self.selected.min(self.visible.len().saturating_sub(1));
    }

    pub fn move_by(&mut self, delta: isize, page: usize) {
        if self.visible.is_empty() {
            return;
        }
        let last = self.visible.len() - 1;
        let target = self.selected.saturating_add_signed(delta).min(last);
        self.move_to(target, page);
    }

    pub fn move_to(&mut self, index: usize, page: usize) {
        self.selected = index.min(self.visible.len().saturating_sub(1));
        self.keep_visible(page);
    }

    /// Selects the first visible domain whose name starts with `prefix` (else contains it).
    pub fn jump_to(&mut self, prefix: &str, page: usize) -> bool {
        let names: Vec<&str> = self.visible_rows().map(|r| r.name.as_str()).collect();
        let found = names
            .iter()
            .position(|n| n.starts_with(prefix))
            .or_else(|| names.iter().position(|n| n.contains(prefix)));
        match found {
            Some(i) => {
                self.move_to(i, page);
                true
            }
            None => false,
        }
    }

    /// Scrolls the least needed to keep the selection on screen.
    pub fn keep_visible(&mut self, page: usize) {
        self.offset = scroll_offset(self.selected, self.offset, self.visible.len(), page);
    }
}

/// The filter matches name, state, CPU mode and markers: `/passthrough`, `/paused`, `/invtsc`
/// (and, with several hosts, the host's name: `/hv02`).
fn matches(row: &DomainInfo, query: &str, host: Option<&HostCapabilities>) -> bool {
    if row.name.to_lowercase().contains(query) {
        return true;
    }
    if row.state.is_some_and(|s| s.label().contains(query)) {
        return true;
    }
    row.cpu_badge(host).is_some_and(|b| {
        b.mode_label().to_lowercase().contains(query)
            || b.markers().iter().any(|m| m.contains(query))
    })
}

/// The first row to show so that `selected` is on a page of `page` rows, scrolling the least
/// from `offset` and never past the end of `len` rows.
pub fn scroll_offset(selected: usize, offset: usize, len: usize, page: usize) -> usize {
    let page = page.max(1);
    let offset = if selected < offset {
        selected
    } else if selected >= offset + page {
        selected + 1 - page
    } else {
        offset
    };
    offset.min(len.saturating_sub(page))
}
