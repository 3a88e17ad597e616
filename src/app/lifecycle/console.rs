//! `c`: the serial console, opened by the worker and handed the terminal; one already in use
//! elsewhere may be taken over after a question.

use crate::app::dialogs::confirm::{Confirm, ConfirmAction};
use crate::app::{App, Command};
use crate::libvirt::console::{ConsoleEnd, ConsoleError, ConsoleHandle};

/// Asks the worker for the console; `Command::AttachConsole` follows when it is open.
pub fn open_console(app: &mut App, domain: String, force: bool) -> Vec<Command> {
    app.status = Some(format!("attaching to {domain}'s console..."));
    app.lifecycle.console_opening = Some(domain.clone());
    vec![Command::OpenConsole { domain, force }]
}

/// The worker opened the console: hand the terminal over, unless the user moved on.
pub fn on_console_opened(app: &mut App, handle: ConsoleHandle) -> Vec<Command> {
    if app.lifecycle.console_opening.as_deref() != Some(handle.domain.as_str()) {
        return Vec::new();
    }
    app.lifecycle.console_opening = None;
    app.status = None;
    vec![Command::AttachConsole(handle)]
}

/// The console could not be opened; a busy one may be taken over.
pub fn on_console_failed(app: &mut App, domain: String, error: ConsoleError) {
    if app.lifecycle.console_opening.as_deref() != Some(domain.as_str()) {
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
            action: ConfirmAction::ForceConsole { domain },
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
