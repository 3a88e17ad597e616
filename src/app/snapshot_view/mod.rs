//! The snapshot view of one domain: the tree, the selection, the `/` filter, the detail pane's
//! focus and scroll, and the keys that open the XML pane and the revert/delete/edit dialogs.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::dialogs::existing::{
    self as snapshot_dialogs, DeleteDialog, DescribeDialog, RevertDialog,
};
use super::{Action, App, Command, Overlay, Screen};
// The time helpers lived here; dialogs and the CLI still reach them by this path.
pub use crate::app::time::{age, human_size, init_local_offset, local_time, safety_base_name};
use crate::libvirt::snapshots::DomainSnapshots;
use crate::model::inventory::DomainInfo;
use crate::model::inventory::HostId;
use crate::model::snapshot::{SnapshotInfo, SnapshotTree, TreeRow};

#[derive(Debug, Clone, Default)]
pub struct SnapshotView {
    /// The host the domain is on: every load, dialog and job goes to its worker.
    pub host: HostId,
    pub domain: String,
    /// Waiting for the first listing (later reloads keep showing the old one).
    pub loading: bool,
    pub error: Option<String>,
    pub data: DomainSnapshots,
    pub tree: SnapshotTree,
    /// The rows shown: all, or those matching the filter with their ancestors.
    pub rows: Vec<TreeRow>,
    pub selected: usize,
    pub offset: usize,
    pub filter: String,
    /// `/` was pressed and keys go to the filter.
    pub filter_editing: bool,
    /// Tab moved the keys to the detail pane: j/k scroll it.
    pub detail_focus: bool,
    pub detail_scroll: u16,
}

impl PartialEq for SnapshotView {
    fn eq(&self, other: &Self) -> bool {
        // The tree is derived from `data`: comparing the data is enough.
        self.host == other.host
            && self.domain == other.domain
            && self.loading == other.loading
            && self.error == other.error
            && self.data == other.data
            && self.rows == other.rows
            && self.selected == other.selected
            && self.offset == other.offset
            && self.filter == other.filter
            && self.filter_editing == other.filter_editing
            && self.detail_focus == other.detail_focus
            && self.detail_scroll == other.detail_scroll
    }
}

impl SnapshotView {
    pub fn new(host: HostId, domain: String) -> Self {
        Self {
            host,
            domain,
            loading: true,
            ..Default::default()
        }
    }

    pub fn selected_row(&self) -> Option<&TreeRow> {
        self.rows.get(self.selected)
    }

    pub fn selected_info(&self) -> Option<&SnapshotInfo> {
        self.selected_row().map(|r| self.tree.info(r))
    }

    /// New data from libvirt: the selection stays on the same snapshot where it still exists.
    pub fn replace(&mut self, data: DomainSnapshots) {
        let keep = self.selected_info().map(|s| s.name.clone());
        self.tree = SnapshotTree::new(data.snapshots.clone(), data.current.clone());
        self.data = data;
        self.loading = false;
        self.error = None;
        self.apply_filter(keep.as_deref());
        if keep.is_none() {
            // First load: start on the current snapshot, where the user most likely acts.
            if let Some(current) = self.data.current.clone() {
                self.select_name(&current);
            }
        }
    }

    fn apply_filter(&mut self, keep: Option<&str>) {
        self.rows = self.tree.filter(&self.filter);
        let old = self.selected;
        self.selected = old.min(self.rows.len().saturating_sub(1));
        if let Some(name) = keep {
            self.select_name(name);
        }
    }

    pub fn select_name(&mut self, name: &str) -> bool {
        let Some(pos) = self
            .rows
            .iter()
            .position(|r| self.tree.info(r).name == name)
        else {
            return false;
        };
        self.selected = pos;
        true
    }

    pub fn move_by(&mut self, delta: isize, page: usize) {
        let last = self.rows.len().saturating_sub(1);
        self.selected = self.selected.saturating_add_signed(delta).min(last);
        self.detail_scroll = 0;
        self.keep_visible(page);
    }

    pub fn keep_visible(&mut self, page: usize) {
        self.offset =
            super::domains::list::scroll_offset(self.selected, self.offset, self.rows.len(), page);
    }
}

/// How the snapshot screen splits its body: tree rows shown, detail height, side by side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ViewLayout {
    pub side_by_side: bool,
    /// Lines of the detail pane when stacked under the tree.
    pub detail_height: u16,
    /// Snapshot rows the tree shows at once.
    pub tree_rows: usize,
}

/// Rows outside the body: header (2), status, footer.
const SCREEN_CHROME: u16 = 4;
/// The tree's borders and column headings.
const TREE_CHROME: u16 = 3;

pub fn layout(app: &App) -> ViewLayout {
    let jobs = app.jobs.running.len().min(3) as u16;
    let body = app.height.saturating_sub(SCREEN_CHROME + jobs);
    let side_by_side = app.width >= 120;
    let detail_height = if side_by_side {
        0
    } else {
        (body * 2 / 5)
            .clamp(5, 14)
            .min(body.saturating_sub(TREE_CHROME + 1))
    };
    let tree_rows = usize::from(body.saturating_sub(detail_height + TREE_CHROME)).max(1);
    ViewLayout {
        side_by_side,
        detail_height,
        tree_rows,
    }
}

pub fn view(app: &App) -> Option<&SnapshotView> {
    match &app.screen {
        Screen::Snapshots(v) => Some(v),
        _ => None,
    }
}

fn view_mut(app: &mut App) -> Option<&mut SnapshotView> {
    match &mut app.screen {
        Screen::Snapshots(v) => Some(v),
        _ => None,
    }
}

/// Enter on a domain: open its snapshots.
pub fn open(app: &mut App) -> Vec<Command> {
    let Some(row) = app.list.selected_row() else {
        return Vec::new();
    };
    let (host, domain) = (row.host, row.name.clone());
    app.screen = Screen::Snapshots(Box::new(SnapshotView::new(host, domain.clone())));
    vec![Command::LoadSnapshots { host, domain }]
}

/// The worker's answer to `LoadSnapshots`; answers for a view no longer open are dropped.
pub fn on_loaded(
    app: &mut App,
    host: HostId,
    domain: &str,
    result: Result<DomainSnapshots, String>,
) {
    // An open bulk dialog waits for this VM's facts.
    crate::app::dialogs::bulk_create::on_loaded(app, host, domain, &result);
    crate::app::dialogs::bulk_delete::on_loaded(app, host, domain, &result);
    // An open create dialog for this domain plans against the same facts.
    if let (Some(Overlay::CreateSnapshot(d)), Ok(data)) = (app.overlay.as_mut(), &result) {
        if d.host == host && d.domain == domain {
            if let Some(facts) = data.storage.as_deref() {
                d.layout = Some(Box::new(crate::model::storage::Layout::new(facts)));
            }
        }
    }
    let page = layout(app).tree_rows;
    let Some(v) = view_mut(app).filter(|v| v.host == host && v.domain == domain) else {
        return;
    };
    match result {
        Ok(data) => v.replace(data),
        Err(e) => {
            v.loading = false;
            v.error = Some(e);
        }
    }
    v.keep_visible(page);
}

/// Re-reads the open view's snapshots when `domain` of `host` (None: any) may have changed.
pub fn reload_if_showing(app: &App, host: Option<HostId>, domain: Option<&str>) -> Vec<Command> {
    match view(app) {
        Some(v) if host.is_none_or(|h| h == v.host) && domain.is_none_or(|d| d == v.domain) => {
            vec![Command::LoadSnapshots {
                host: v.host,
                domain: v.domain.clone(),
            }]
        }
        _ => Vec::new(),
    }
}

/// An action of the snapshot view's key table (lifecycle, refresh, help and quit are the
/// App's).
pub fn on_action(app: &mut App, action: Action) -> Vec<Command> {
    let page = layout(app).tree_rows;
    let Some(v) = view_mut(app) else {
        return Vec::new();
    };
    if v.detail_focus && scroll_detail(v, action) {
        return Vec::new();
    }
    match action {
        Action::Back if !v.filter.is_empty() => {
            v.filter.clear();
            let keep = v.selected_info().map(|s| s.name.clone());
            v.apply_filter(keep.as_deref());
            v.keep_visible(page);
        }
        Action::Back => {
            app.screen = Screen::Domains;
            return Vec::new();
        }
        Action::Down => v.move_by(1, page),
        Action::Up => v.move_by(-1, page),
        Action::First => v.move_by(isize::MIN / 2, page),
        Action::Last => v.move_by(isize::MAX / 2, page),
        Action::PageDown => v.move_by(page as isize, page),
        Action::PageUp => v.move_by(-(page as isize), page),
        Action::Details => {
            v.detail_focus = !v.detail_focus;
        }
        Action::Filter => v.filter_editing = true,
        Action::Xml if v.selected_info().is_some() => {
            app.overlay = Some(Overlay::SnapshotXml { scroll: 0 });
        }
        Action::Revert => return mutating_key(app, 'r'),
        Action::Delete => return mutating_key(app, 'd'),
        Action::Describe => return mutating_key(app, 'e'),
        Action::Snapshot => return mutating_key(app, 's'),
        _ => {}
    }
    Vec::new()
}

/// With the detail pane focused, the moves scroll it.
fn scroll_detail(v: &mut SnapshotView, action: Action) -> bool {
    match action {
        Action::Down => v.detail_scroll = v.detail_scroll.saturating_add(1),
        Action::Up => v.detail_scroll = v.detail_scroll.saturating_sub(1),
        Action::PageDown => v.detail_scroll = v.detail_scroll.saturating_add(10),
        Action::PageUp => v.detail_scroll = v.detail_scroll.saturating_sub(10),
        Action::First => v.detail_scroll = 0,
        _ => return false,
    }
    true
}

/// Keys while `/` edits the tree's filter: text, Enter keeps it, Esc clears it.
pub fn on_filter_key(app: &mut App, key: KeyEvent) -> Vec<Command> {
    let page = layout(app).tree_rows;
    let Some(v) = view_mut(app) else {
        return Vec::new();
    };
    let keep = v.selected_info().map(|s| s.name.clone());
    match key.code {
        KeyCode::Enter => v.filter_editing = false,
        KeyCode::Esc => {
            v.filter_editing = false;
            v.filter.clear();
        }
        KeyCode::Backspace => {
            v.filter.pop();
        }
        KeyCode::Char(c)
            if !key.modifiers.contains(KeyModifiers::CONTROL) && v.filter.len() < 128 =>
        {
            v.filter.push(c)
        }
        _ => return Vec::new(),
    }
    v.apply_filter(keep.as_deref());
    v.keep_visible(page);
    Vec::new()
}

/// r, d, e, s: refused with the reason on a read-only or lost connection, or while a job runs
/// on the domain; otherwise the dialog opens.
fn mutating_key(app: &mut App, key: char) -> Vec<Command> {
    let Some(v) = view(app) else {
        return Vec::new();
    };
    let (host, domain) = (v.host, v.domain.clone());
    if let Some(why) = app.mutation_refused() {
        app.status = Some(why);
        return Vec::new();
    }
    if key == 's' {
        return snapshot_dialogs::create_hook(app);
    }
    let Some(info) = v.selected_info().cloned() else {
        app.status = Some(format!("{domain} has no snapshot selected"));
        return Vec::new();
    };
    if app.jobs.is_busy(host, &domain) {
        app.status = Some(format!(
            "a job is still running on {domain}: wait for it to finish"
        ));
        return Vec::new();
    }
    match key {
        'r' => {
            let dialog = RevertDialog::new(app, host, &domain, &info);
            app.overlay = Some(Overlay::Revert(Box::new(dialog)));
        }
        'd' => {
            let layout = v
                .data
                .storage
                .as_deref()
                .map(crate::model::storage::Layout::new);
            let dialog = DeleteDialog::new(layout.as_ref(), host, &domain, &info.name);
            app.overlay = Some(Overlay::Delete(Box::new(dialog)));
        }
        'e' => {
            let dialog = DescribeDialog::new(host, &domain, &info);
            app.overlay = Some(Overlay::Describe(Box::new(dialog)));
        }
        _ => {}
    }
    Vec::new()
}

/// A re-read row of the open view's domain (a domain event, a refresh) whose snapshot count
/// or current snapshot differs from the tree: something changed the snapshots (virsh, another
/// client), so read them again.
pub fn changed_elsewhere(app: &App, rows: &[DomainInfo]) -> Vec<Command> {
    let Some(v) = view(app).filter(|v| !v.loading) else {
        return Vec::new();
    };
    let differs = rows
        .iter()
        .filter(|r| r.host == v.host && r.name == v.domain)
        .any(|r| {
            r.snapshots
                .is_some_and(|n| n as usize != v.data.snapshots.len() + v.data.unreadable.len())
                || (r.snapshots.is_some() && r.current_snapshot != v.data.current)
        });
    if differs {
        reload_if_showing(app, Some(v.host), Some(&v.domain))
    } else {
        Vec::new()
    }
}
