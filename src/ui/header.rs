//! The two header lines: where we are connected and what the host is.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::Theme;
use crate::app::{App, Connection};
use crate::model::inventory::{version_string, DemoKind};

pub fn draw(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let mut first = vec![Span::styled(" virtsnap ", theme.title()), Span::raw(" ")];
    let mut second = Vec::new();
    match (&app.connection, &app.host) {
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
            second.push(Span::styled(parts.join(" | "), theme.dim()));
        }
        (Connection::Connected, None) => {}
    }
    frame.render_widget(
        Paragraph::new(vec![Line::from(first), Line::from(second)]),
        area,
    );
}
