//! `c`: the serial console, opened by the worker and handed the terminal; one already in use
//! elsewhere may be taken over after a question.

use crate::app::dialogs::confirm::{Confirm, ConfirmAction};
use crate::app::{App, Command};
use crate::libvirt::console::{ConsoleEnd, ConsoleError, ConsoleHandle};
use crate::model::inventory::HostId;

/// Asks the worker for the console; `Command::AttachConsole` follows when it is open.
pub fn open_console(app: &mut App, host: HostId, domain: String, force: bool) -> Vec<Command> {
    app.status = Some(format!("attaching to {domain}'s console..."));
    app.lifecycle.console_opening = Some((host, domain.clone()));
    vec![Command::OpenConsole {
        host,
        domain,
        force,
    }]
}

/// Whether the console of `domain` on `host` is the one being opened.
fn awaited(app: &App, host: HostId, domain: &str) -> bool {
    app.lifecycle
        .console_opening
        .as_ref()
        .is_some_and(|(h, d)| *h == host && d == domain)
}

/// The worker opened the console: hand the terminal over, unless the user moved on.
pub fn on_console_opened(app: &mut App, host: HostId, handle: ConsoleHandle) -> Vec<Command> {
    if !awaited(app, host, &handle.domain) {
        return Vec::new();
    }
    app.lifecycle.console_opening = None;
    app.status = None;
    vec![Command::AttachConsole { host, handle }]
}

/// The console could not be opened; a busy one may be taken over.
pub fn on_console_failed(app: &mut App, host: HostId, domain: String, error: ConsoleError) {
    if !awaited(app, host, &domain) {
        return;
    }
    app.lifecycle.console_opening = None;
    if let ConsoleError::Busy { .. } = error {
        app.status = None;
        app.confirm(Confirm {
            title: "Console in use".into(),
            lines: vec![
                format!("{domain}'s console is attached elsewhere (virsh console, or another virtsnap)."),
                "Take it over? The other session is disconnected.".into(),
            ],
            yes: "take it over".into(),
            no: "leave it".into(),
            action: ConfirmAction::ForceConsole { host, domain },
        });
    } else {
        app.status = Some(error.to_string());
    }
}

/// Back from the console: say how it ended (nothing else was printed on the way back).
pub fn on_console_ended(app: &mut App, domain: &str, end: Result<ConsoleEnd, String>) {
    app.status = Some(match end {
        Ok(ConsoleEnd::Detached) => format!("detached from {domain}'s console"),
        Ok(ConsoleEnd::Closed(why)) => why,
        Err(why) => format!("console of {domain}: {why}"),
    });
}
