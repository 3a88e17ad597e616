//! What the workers report, applied to the state: connection changes, listings and details,
//! snapshots, consoles, job progress and results.

use super::{lifecycle, snapshot_view, App, Command, Connection, HostId, Overlay};
use crate::libvirt::worker::Event;
use crate::model::inventory::DomainInfo;

impl App {
    /// An event from host `host`'s worker. Rows are stamped with the host they came from.
    pub(super) fn on_worker(&mut self, host: HostId, event: Event) -> Vec<Command> {
        let several = self.hosts.several();
        let Some(state) = self.hosts.get_mut(host) else {
            return Vec::new();
        };
        let stamp = |mut rows: Vec<DomainInfo>| {
            rows.iter_mut().for_each(|r| r.host = host);
            rows
        };
        match event {
            Event::Connecting { uri } => state.connection = Connection::Connecting { uri },
            Event::Connected(info) => {
                self.space.reset_host(host);
                self.list.set_capabilities(host, info.capabilities.clone());
                state.info = Some(*info);
                state.connection = Connection::Connected;
                state.ever_connected = true;
                // Progress notes from connecting (e.g. starting the demo) are done now.
                if !several {
                    self.status = None;
                }
            }
            Event::Disconnected { reason, retry_in } => {
                state.connection = Connection::Lost { reason, retry_in };
                self.space.reset_host(host);
            }
            Event::ConnectFailed(e) => {
                state.connection = Connection::Failed {
                    message: e.to_string(),
                }
            }
            Event::DomainList(rows) => {
                let names: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
                self.space.retain_listed(host, &names);
                self.list.replace_all(host, stamp(rows));
                self.list.keep_visible(self.page_rows());
            }
            Event::DomainDetails(rows) => {
                let rows = stamp(rows);
                // Snapshots made or deleted elsewhere (virsh, another client): their space too.
                for r in &rows {
                    let changed = self.list.row(host, &r.name).is_some_and(|old| {
                        old.snapshots != r.snapshots || old.current_snapshot != r.current_snapshot
                    });
                    if changed {
                        self.space.outdate(host, &r.name);
                    }
                }
                let reload = snapshot_view::changed_elsewhere(self, &rows);
                self.list.merge(rows);
                return reload;
            }
            Event::RefreshDone { .. } => {
                state.listed = true;
                self.space.outdate_host(host);
                if self.status.as_deref() == Some("refreshing...") {
                    self.status = None;
                }
                return snapshot_view::reload_if_showing(self, Some(host), None);
            }
            Event::Snapshots { domain, result } => {
                snapshot_view::on_loaded(self, host, &domain, result.map(|b| *b))
            }
            Event::Notice(text) if several => {
                self.status = Some(format!("{}: {text}", state.name));
            }
            Event::Notice(text) => self.status = Some(text),
            Event::GuestInspected {
                domain,
                agent,
                file_systems,
            } => super::guest_view::on_inspected(self, host, &domain, agent, file_systems),
            Event::ConsoleOpened(handle) => {
                return lifecycle::on_console_opened(self, host, handle)
            }
            Event::ConsoleFailed { domain, error } => {
                lifecycle::on_console_failed(self, host, domain, error)
            }
            Event::Space { domain, result } => {
                self.space.answer(host, domain, result.map(|b| *b));
            }
            Event::Job { id, update } => {
                if let Some((job, result)) = self.jobs.apply(id, update) {
                    if let Some(domain) = job.domain.as_deref() {
                        self.space.outdate(job.host, domain);
                    }
                    // A bulk run's job: its outcome goes to the run's results table.
                    if super::bulk_run::on_job_finished(self, id, &result) {
                        return match job.domain.as_deref() {
                            Some(domain) => {
                                snapshot_view::reload_if_showing(self, Some(job.host), Some(domain))
                            }
                            None => Vec::new(),
                        };
                    }
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
                        return snapshot_view::reload_if_showing(
                            self,
                            Some(job.host),
                            Some(domain),
                        );
                    }
                }
            }
            Event::Stopped => {}
        }
        Vec::new()
    }
}
