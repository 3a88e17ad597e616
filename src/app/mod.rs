//! The application state and `update`: plain data in, commands out. No terminal, no libvirt.

mod list;

pub use list::DomainList;

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use crate::libvirt::worker::Event;
use crate::model::inventory::HostInfo;

/// Smallest terminal the views are laid out for; below it a message asks for more room.
pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 12;

/// Rows the header, table heading, status and footer take; the rest shows domains.
pub const CHROME_ROWS: u16 = 7;

#[derive(Debug, Clone, PartialEq)]
pub enum Connection {
    Connecting { uri: String },
    Connected,
    Failed { message: String },
}

/// What `update` asks the outside world to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Quit,
    Refresh,
}

/// Everything `update` reacts to.
#[derive(Debug, Clone, PartialEq)]
pub enum Msg {
    Key(KeyEvent),
    Resize { width: u16, height: u16 },
    Worker(Event),
}

#[derive(Debug, Clone, PartialEq)]
pub struct App {
    pub connection: Connection,
    pub host: Option<HostInfo>,
    pub list: DomainList,
    /// One line for the user: the last notice or error, cleared by the next key.
    pub status: Option<String>,
    pub width: u16,
    pub height: u16,
    /// Set once a refresh completed, so "no domains" is not claimed while still listing.
    pub listed: bool,
}

impl App {
    pub fn new(uri_label: String, width: u16, height: u16) -> Self {
        Self {
            connection: Connection::Connecting { uri: uri_label },
            host: None,
            list: DomainList::default(),
            status: None,
            width,
            height,
            listed: false,
        }
    }

    pub fn too_small(&self) -> bool {
        self.width < MIN_WIDTH || self.height < MIN_HEIGHT
    }

    pub fn page_rows(&self) -> usize {
        usize::from(self.height.saturating_sub(CHROME_ROWS)).max(1)
    }

    pub fn update(&mut self, msg: Msg) -> Vec<Command> {
        match msg {
            Msg::Key(key) => self.on_key(key),
            Msg::Resize { width, height } => {
                self.width = width;
                self.height = height;
                self.list.keep_visible(self.page_rows());
                Vec::new()
            }
            Msg::Worker(event) => {
                self.on_worker(event);
                Vec::new()
            }
        }
    }

    fn on_key(&mut self, key: KeyEvent) -> Vec<Command> {
        if key.kind == KeyEventKind::Release {
            return Vec::new();
        }
        if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
            return vec![Command::Quit];
        }
        self.status = None;
        let page = self.page_rows();
        match key.code {
            KeyCode::Char('q') => return vec![Command::Quit],
            KeyCode::Char('j') | KeyCode::Down => self.list.move_by(1, page),
            KeyCode::Char('k') | KeyCode::Up => self.list.move_by(-1, page),
            KeyCode::Char('g') | KeyCode::Home => self.list.move_to(0, page),
            KeyCode::Char('G') | KeyCode::End => self.list.move_to(usize::MAX, page),
            KeyCode::PageDown => self.list.move_by(page as isize, page),
            KeyCode::PageUp => self.list.move_by(-(page as isize), page),
            KeyCode::Char('R') | KeyCode::F(5) => {
                self.status = Some("refreshing...".into());
                return vec![Command::Refresh];
            }
            _ => {}
        }
        Vec::new()
    }

    fn on_worker(&mut self, event: Event) {
        match event {
            Event::Connecting { uri } => self.connection = Connection::Connecting { uri },
            Event::Connected(host) => {
                self.host = Some(*host);
                self.connection = Connection::Connected;
            }
            Event::ConnectFailed(e) => {
                self.connection = Connection::Failed { message: e.to_string() }
            }
            Event::DomainList(rows) => {
                self.list.replace_all(rows);
                self.list.keep_visible(self.page_rows());
            }
            Event::DomainDetails(rows) => self.list.merge(rows),
            Event::RefreshDone { .. } => {
                self.listed = true;
                if self.status.as_deref() == Some("refreshing...") {
                    self.status = None;
                }
            }
            Event::Notice(text) => self.status = Some(text),
            Event::Stopped => {}
        }
    }
}

#[cfg(test)]
mod tests;
