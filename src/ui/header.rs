//! The two header lines: where we are connected and what the host is.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::Theme;
use crate::app::{App, Connection, HostState};
use crate::model::inventory::{version_string, DemoKind, HostInfo};

pub fn draw(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    if app.hosts.several() {
        return draw_several(frame, area, app, theme);
    }
    let mut first = vec![Span::styled(" virtsnap ", theme.title()), Span::raw(" ")];
    let mut second = Vec::new();
    let Some(state) = app.hosts.all.first() else {
        return;
    };
    match (&state.connection, &state.info) {
        (Connection::Connecting { uri }, _) => {
            first.push(Span::raw(uri.clone()));
            second.push(Span::styled("connecting...", theme.warn()));
        }
        (Connection::Failed { message }, _) => {
            second.push(Span::styled(message.clone(), theme.bad()));
        }
        (Connection::Lost { reason, retry_in }, host) => {
            match host {
                Some(h) => {
                    first.push(Span::styled(h.uri.clone(), theme.heading()));
                    first.push(Span::raw(" "));
                    first.push(Span::styled("[DISCONNECTED]", theme.bad()));
                    second.push(Span::styled(
                        format!("disconnected, reconnecting in {retry_in}s ({reason}); list is read-only"),
                        theme.warn(),
                    ));
                }
                None => second.push(Span::styled(
                    format!("{reason}; retrying in {retry_in}s"),
                    theme.bad(),
                )),
            }
        }
        (Connection::Connected, Some(host)) => {
            // Markers first: a long URI must not push them off an 80-column screen.
            if host.readonly {
                first.push(Span::styled("[READ-ONLY]", theme.warn()));
                first.push(Span::raw(" "));
            }
            match host.demo {
                Some(DemoKind::Embedded) => {
                    first.push(Span::styled("[DEMO: embedded QEMU]", theme.accent()));
                    first.push(Span::raw(" "));
                }
                Some(DemoKind::TestDriver) => {
                    first.push(Span::styled(
                        "[DEMO: test driver, QEMU not installed]",
                        theme.accent(),
                    ));
                    first.push(Span::raw(" "));
                }
                None => {}
            }
            first.push(Span::styled(host.uri.clone(), theme.heading()));
            second.push(Span::styled(facts(host), theme.dim()));
        }
        (Connection::Connected, None) => {}
    }
    frame.render_widget(
        Paragraph::new(vec![Line::from(first), Line::from(second)]),
        area,
    );
}

/// Which hosts a header group names.
type HostTest = fn(&HostState) -> bool;

/// Several hosts: how many are connected, failing, reconnecting (naming those in trouble),
/// then the facts of the host the keys act on, or why it is not connected.
fn draw_several(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let c = app.hosts.counts();
    let mut first = vec![
        Span::styled(" virtsnap ", theme.title()),
        Span::raw(" "),
        Span::styled(format!("{} hosts:", app.hosts.all.len()), theme.heading()),
        Span::styled(format!(" {} connected", c.connected), theme.good()),
    ];
    let names = |pick: fn(&HostState) -> bool| -> String {
        let n: Vec<&str> = app
            .hosts
            .all
            .iter()
            .filter(|h| pick(h))
            .map(|h| h.name.as_str())
            .collect();
        n.join(", ")
    };
    let groups: [(usize, &str, HostTest); 3] = [
        (c.failing, "failing", |h| {
            !h.ever_connected
                && !matches!(
                    h.connection,
                    Connection::Connected | Connection::Connecting { .. }
                )
        }),
        (c.reconnecting, "reconnecting", |h| {
            h.ever_connected && !h.is_connected()
        }),
        (c.connecting, "connecting", |h| {
            matches!(h.connection, Connection::Connecting { .. })
        }),
    ];
    for (n, word, pick) in groups {
        if n > 0 {
            first.push(Span::raw(","));
            first.push(Span::styled(
                format!(" {n} {word} ({})", names(pick)),
                if word == "connecting" {
                    theme.warn()
                } else {
                    theme.bad()
                },
            ));
        }
    }
    let target = app.target_host();
    let second = match app.hosts.get(target) {
        Some(h) => match (h.trouble(), &h.info) {
            (Some(why), _) => Span::styled(why, theme.warn()),
            (None, Some(info)) => Span::styled(
                format!(
                    "{}{}: {}",
                    h.name,
                    if info.readonly { " [READ-ONLY]" } else { "" },
                    facts(info)
                ),
                theme.dim(),
            ),
            (None, None) => Span::raw(""),
        },
        None => Span::raw(""),
    };
    frame.render_widget(
        Paragraph::new(vec![Line::from(first), Line::from(second)]),
        area,
    );
}

/// `QEMU 10.0.2 | libvirt 11.3.0 | CPU ... | TSC ...`: what the memory rule reads of a host.
fn facts(host: &HostInfo) -> String {
    let caps = &host.capabilities;
    let cpu = caps.cpu_model.as_deref().unwrap_or("unknown");
    let parts = [
        format!(
            "{} {}",
            host.hypervisor,
            version_string(host.hypervisor_version)
        ),
        format!("libvirt {}", version_string(host.libvirt_version)),
        if caps.has_invtsc() {
            format!("CPU {cpu} +invtsc")
        } else {
            format!("CPU {cpu}")
        },
        match caps.tsc_frequency_hz {
            Some(hz) => format!(
                "TSC {:.3} MHz{}",
                hz as f64 / 1e6,
                if caps.tsc_scaling == Some(true) {
                    " scaling"
                } else {
                    ""
                }
            ),
            None => "TSC unknown".into(),
        },
    ];
    parts.join(" | ")
}
