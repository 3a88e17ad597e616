//! What the create-snapshot dialog shows about the guest agent: asked for when the dialog
//! opens on a running domain with an agent channel, answered by the worker
//! (`Event::GuestInspected`), shown under the Quiesce checkbox.

use super::dialogs::create::quiesce_lock;
use super::{App, HostId, Overlay};
use crate::model::guest::{AgentState, GuestFileSystem};
use crate::model::GuestAgent;

#[derive(Debug, Clone, PartialEq)]
pub enum GuestView {
    /// Not asked: the domain is not running or has no agent channel, which the Quiesce
    /// checkbox's reason already says.
    NotAsked,
    /// The worker is pinging the agent (up to two seconds).
    Checking,
    Known {
        agent: AgentState,
        file_systems: Result<Vec<GuestFileSystem>, String>,
    },
}

impl GuestView {
    /// The line under the Quiesce checkbox, or None.
    pub fn line(&self) -> Option<String> {
        match self {
            Self::NotAsked => None,
            Self::Checking => Some("guest agent: checking...".into()),
            Self::Known {
                agent: AgentState::Connected,
                file_systems: Ok(fs),
            } if fs.is_empty() => {
                Some("guest agent: connected; it reports no file system to freeze".into())
            }
            Self::Known {
                agent: AgentState::Connected,
                file_systems: Ok(fs),
            } => {
                let list: Vec<String> = fs.iter().map(GuestFileSystem::label).collect();
                Some(format!(
                    "guest agent: connected; a quiesce freezes {}",
                    list.join(", ")
                ))
            }
            Self::Known {
                agent: AgentState::Connected,
                file_systems: Err(why),
            } => Some(format!(
                "guest agent: connected; its file systems are unknown ({why})"
            )),
            Self::Known { agent, .. } => Some(agent.label()),
        }
    }
}

/// The worker's answer. A connected agent on a row whose XML still says "disconnected" (libvirt
/// sends no domain event when the guest opens its end of the channel) updates the row, and the
/// open dialog's Quiesce checkbox with it: libvirt itself carried the ping, so it sees the
/// agent connected too.
pub fn on_inspected(
    app: &mut App,
    host: HostId,
    domain: &str,
    agent: AgentState,
    file_systems: Result<Vec<GuestFileSystem>, String>,
) {
    let mut lock = None;
    if agent == AgentState::Connected {
        let info = app.hosts.info(host).cloned();
        if let Some(row) = app
            .list
            .rows
            .iter_mut()
            .find(|r| r.host == host && r.name == domain)
        {
            if let Some(live) = row.live.as_mut() {
                if live.guest_agent.is_some_and(|a| !a.connected) {
                    live.guest_agent = Some(GuestAgent { connected: true });
                }
            }
            lock = info
                .as_ref()
                .and_then(|h| row.verdict(h))
                .map(|v| quiesce_lock(&v));
        }
    }
    let Some(Overlay::CreateSnapshot(d)) = app.overlay.as_mut() else {
        return;
    };
    if d.host != host || d.domain != domain {
        return;
    }
    if let Some(lock) = lock {
        if let Some(cfg) = app.list.row(host, domain) {
            if let Some(live) = &cfg.live {
                d.config.guest_agent = live.guest_agent;
            }
        }
        d.quiesce_lock = lock;
    }
    d.guest = GuestView::Known {
        agent,
        file_systems,
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::{Command, Msg};
    use crate::libvirt::worker::Event;
    use crate::model::inventory::DomainInfo;
    use crate::model::DomainState;

    /// A running guest whose live XML has the agent channel, still marked disconnected.
    fn dialog_on_guest() -> (App, Vec<Command>) {
        let mut row = DomainInfo::named("g1".into(), "uuid-g1".into());
        row.state = Some(DomainState::Running);
        row.persistent = Some(crate::model::fixtures::domain("no-cpu-inactive"));
        row.live = Some(crate::model::fixtures::domain("no-cpu-live"));
        row.vcpus = Some(1);
        row.memory_kib = Some(65536);
        row.snapshots = Some(0);
        let mut app = App::new("qemu:///system".into(), 100, 34);
        app.update(Msg::Worker(
            HostId(0),
            Event::Connected(Box::new(crate::ui::tests::demo_host())),
        ));
        app.update(Msg::Worker(HostId(0), Event::DomainList(vec![row])));
        let cmds =
            crate::app::dialogs::create::open(&mut app, HostId(0), "g1", Vec::new(), &|_| None);
        (app, cmds)
    }

    fn dialog(app: &App) -> &crate::app::dialogs::create::SnapshotDialog {
        match &app.overlay {
            Some(Overlay::CreateSnapshot(d)) => d,
            other => panic!("no dialog: {other:?}"),
        }
    }

    fn data_fs() -> GuestFileSystem {
        GuestFileSystem {
            mountpoint: "/data".into(),
            fs_type: "ext4".into(),
            devices: vec!["/dev/vda".into()],
        }
    }

    #[test]
    fn a_connected_agent_shows_what_it_freezes_and_unlocks_quiesce() {
        let (mut app, cmds) = dialog_on_guest();
        assert_eq!(
            cmds,
            vec![
                Command::LoadSnapshots {
                    host: HostId(0),
                    domain: "g1".into()
                },
                Command::InspectGuest {
                    host: HostId(0),
                    domain: "g1".into()
                }
            ]
        );
        assert_eq!(dialog(&app).guest, GuestView::Checking);
        let lock = dialog(&app).quiesce_lock.clone();
        assert!(lock.is_some_and(|l| l.contains("not connected")));
        app.update(Msg::Worker(
            HostId(0),
            Event::GuestInspected {
                domain: "g1".into(),
                agent: AgentState::Connected,
                file_systems: Ok(vec![data_fs()]),
            },
        ));
        let d = dialog(&app);
        assert_eq!(
            d.guest.line().as_deref(),
            Some("guest agent: connected; a quiesce freezes /data (ext4 on /dev/vda)")
        );
        assert_eq!(
            d.quiesce_lock, None,
            "libvirt carried the ping: it is connected"
        );
        assert!(d.summary().iter().all(|(t, _)| !t.contains("agent")));
        let row = &app.list.rows[0];
        assert_eq!(
            row.live.as_ref().and_then(|l| l.guest_agent),
            Some(GuestAgent { connected: true })
        );
    }

    #[test]
    fn an_agent_that_does_not_answer_keeps_quiesce_locked() {
        let (mut app, _) = dialog_on_guest();
        app.update(Msg::Worker(
            HostId(0),
            Event::GuestInspected {
                domain: "g1".into(),
                agent: AgentState::NotAnswering("guest agent timed out".into()),
                file_systems: Err("the agent does not answer".into()),
            },
        ));
        let d = dialog(&app);
        assert_eq!(
            d.guest.line().as_deref(),
            Some("guest agent: not answering (guest agent timed out)")
        );
        assert!(d.quiesce_lock.is_some());
        // An answer for another domain changes nothing.
        app.update(Msg::Worker(
            HostId(0),
            Event::GuestInspected {
                domain: "other".into(),
                agent: AgentState::Connected,
                file_systems: Ok(vec![data_fs()]),
            },
        ));
        assert!(matches!(
            dialog(&app).guest,
            GuestView::Known {
                agent: AgentState::NotAnswering(_),
                ..
            }
        ));
    }
}
