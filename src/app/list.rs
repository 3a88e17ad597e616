//! The domain list: rows in name order, the selection and the scroll offset.

use crate::model::inventory::DomainInfo;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct DomainList {
    pub rows: Vec<DomainInfo>,
    pub selected: usize,
    /// First visible row.
    pub offset: usize,
}

impl DomainList {
    pub fn selected_row(&self) -> Option<&DomainInfo> {
        self.rows.get(self.selected)
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
        self.reselect(selected_uuid.as_deref());
    }

    /// Rows with details: replace the matching rows in place.
    pub fn merge(&mut self, filled: Vec<DomainInfo>) {
        if filled.is_empty() {
            return;
        }
        let index: std::collections::HashMap<&str, usize> = self
            .rows
            .iter()
            .enumerate()
            .map(|(i, r)| (r.uuid.as_str(), i))
            .collect();
        let mut updates = Vec::with_capacity(filled.len());
        for row in filled {
            if let Some(&i) = index.get(row.uuid.as_str()) {
                updates.push((i, row));
            }
        }
        for (i, row) in updates {
            self.rows[i] = row;
        }
    }

    fn reselect(&mut self, uuid: Option<&str>) {
        if let Some(uuid) = uuid {
            if let Some(i) = self.rows.iter().position(|r| r.uuid == uuid) {
                self.selected = i;
                return;
            }
        }
        self.selected = self.selected.min(self.rows.len().saturating_sub(1));
    }

    pub fn move_by(&mut self, delta: isize, page: usize) {
        if self.rows.is_empty() {
            return;
        }
        let last = self.rows.len() - 1;
        let target = self.selected.saturating_add_signed(delta).min(last);
        self.move_to(target, page);
    }

    pub fn move_to(&mut self, index: usize, page: usize) {
        self.selected = index.min(self.rows.len().saturating_sub(1));
        self.keep_visible(page);
    }

    /// Scrolls the least needed to keep the selection on screen.
    pub fn keep_visible(&mut self, page: usize) {
        let page = page.max(1);
        if self.selected < self.offset {
            self.offset = self.selected;
        } else if self.selected >= self.offset + page {
            self.offset = self.selected + 1 - page;
        }
        let max_offset = self.rows.len().saturating_sub(page);
        self.offset = self.offset.min(max_offset);
    }
}
