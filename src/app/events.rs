//! What the workers report, applied to the state: connection changes, listings and details,
//! snapshots, consoles, job progress and results.

use super::{lifecycle, snapshot_view, App, Command, Connection, Overlay};
use crate::libvirt::worker::Event;

impl App {
    pub(super) fn on_worker(&mut self, event: Event) -> Vec<Command> {
        match event {
            Event::Connecting { uri } => self.connection = Connection::Connecting { uri },
            Event::Connected(host) => {
                self.list.host = Some(host.capabilities.clone());
                self.host = Some(*host);
                self.connection = Connection::Connected;
                // Progress notes from connecting (e.g. starting the demo) are done now.
                self.status = None;
            }
            Event::Disconnected { reason, retry_in } => {
                self.connection = Connection::Lost { reason, retry_in };
            }
            Event::ConnectFailed(e) => {
                self.connection = Connection::Failed {
                    message: e.to_string(),
                }
            }
            Event::DomainList(rows) => {
                self.list.replace_all(rows);
                self.list.keep_visible(self.page_rows());
            }
            Event::DomainDetails(rows) => {
                let reload = snapshot_view::changed_elsewhere(self, &rows);
                self.list.merge(rows);
                return reload;
            }
            Event::RefreshDone { .. } => {
                self.listed = true;
                if self.status.as_deref() == Some("refreshing...") {
                    self.status = None;
                }
                return snapshot_view::reload_if_showing(self, None);
            }
            Event::Snapshots { domain, result } => {
                snapshot_view::on_loaded(self, &domain, result.map(|b| *b))
            }
            Event::Notice(text) => self.status = Some(text),
            Event::ConsoleOpened(handle) => return lifecycle::on_console_opened(self, handle),
            Event::ConsoleFailed { domain, error } => {
                lifecycle::on_console_failed(self, domain, error)
            }
            Event::Job { id, update } => {
                if let Some((job, result)) = self.jobs.apply(id, update) {
                    let failed = result.is_err();
                    let text = match result {
                        Ok(done) => done,
                        Err(why) => format!("{} failed: {why}", job.title),
                    };
                    // An explanation with options, or a failure wider than the status line,
                    // would be cut there: show all of it.
                    let cut = failed && text.chars().count() > usize::from(self.width);
                    if (text.contains('\n') || cut) && self.overlay.is_none() {
                        self.status = text.lines().next().map(str::to_string);
                        self.overlay = Some(Overlay::Message {
                            title: job.title.clone(),
                            text,
                            scroll: 0,
                        });
                    } else {
                        self.status = Some(text);
                    }
                    if let Some(domain) = job.domain.as_deref() {
                        return snapshot_view::reload_if_showing(self, Some(domain));
                    }
                }
            }
            Event::Stopped => {}
        }
        Vec::new()
    }
}
