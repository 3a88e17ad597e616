//! The domain list: rows in name order, the filter, the selection and the scroll offset.
//! `selected` and `offset` index the visible (filtered) rows.

use crate::model::inventory::DomainInfo;
use crate::model::HostCapabilities;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct DomainList {
    pub rows: Vec<DomainInfo>,
    /// Indexes into `rows` of the rows the filter keeps, in order.
    visible: Vec<usize>,
    /// `/` filter text; empty shows everything.
    pub filter: String,
    /// The host's capabilities, for matching CPU markers such as `invtsc`.
    pub host: Option<HostCapabilities>,
    pub selected: usize,
    /// First visible row.
    pub offset: usize,
    /// Names marked with Space for a bulk start / shutdown / force off.
    pub marked: std::collections::BTreeSet<String>,
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

    pub fn row_by_name(&self, name: &str) -> Option<&DomainInfo> {
        self.rows.iter().find(|r| r.name == name)
    }

    /// A new full listing: rows that were already known keep their details until the fresh
    /// ones arrive (no flicker of empty badges), and the selection stays on the same domain.
    pub fn replace_all(&mut self, fresh: Vec<DomainInfo>) {
        let selected_uuid = self.selected_row().map(|r| r.uuid.clone());
        let mut old: std::collections::HashMap<String, DomainInfo> =
            self.rows.drain(..).map(|r| (r.uuid.clone(), r)).collect();
        self.rows = fresh
            .into_iter()
            .map(|r| match old.remove(&r.uuid) {
                Some(known) if known.name == r.name => known,
                _ => r,
            })
            .collect();
        let names: std::collections::HashSet<&str> =
            self.rows.iter().map(|r| r.name.as_str()).collect();
        self.marked.retain(|n| names.contains(n.as_str()));
        self.refilter(selected_uuid.as_deref());
    }

    /// Rows with details: replace the matching rows in place; a row not listed yet (defined
    /// since the last listing) is added in name order.
    pub fn merge(&mut self, filled: Vec<DomainInfo>) {
        if filled.is_empty() {
            return;
        }
        let selected_uuid = self.selected_row().map(|r| r.uuid.clone());
        let index: std::collections::HashMap<&str, usize> = self
            .rows
            .iter()
            .enumerate()
            .map(|(i, r)| (r.uuid.as_str(), i))
            .collect();
        let mut updates = Vec::with_capacity(filled.len());
        let mut added = Vec::new();
        for row in filled {
            match index.get(row.uuid.as_str()) {
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
            self.rows.sort_by(|a, b| a.name.cmp(&b.name));
        }
        if grew || !self.filter.is_empty() {
            self.refilter(selected_uuid.as_deref());
        }
    }

    pub fn set_filter(&mut self, filter: String) {
        let selected_uuid = self.selected_row().map(|r| r.uuid.clone());
        self.filter = filter;
        self.refilter(selected_uuid.as_deref());
    }

    fn refilter(&mut self, keep_uuid: Option<&str>) {
        let query = self.filter.to_lowercase();
        let host = self.host.as_ref();
        self.visible = (0..self.rows.len())
            .filter(|&i| query.is_empty() || matches(&self.rows[i], &query, host))
            .collect();
        if let Some(uuid) = keep_uuid {
            if let Some(pos) = self.visible.iter().position(|&i| self.rows[i].uuid == uuid) {
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

/// The filter matches name, state, CPU mode and markers: `/passthrough`, `/paused`, `/invtsc`.
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
