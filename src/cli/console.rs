//! `virtsnap console DOMAIN [--force]`: the domain's serial console on this terminal, as
//! `virsh console` does it (raw passthrough, `Ctrl-]` detaches), through libvirt's stream.
//! Exit code 3 when virtsnap refuses (stopped VM, no console device, console busy without
//! --force, read-only connection), 1 when libvirt fails.

use std::io::{BufRead, IsTerminal, Write};

use super::{CliError, Target};
use crate::libvirt::console::{self, ConsoleEnd, ConsoleError};
use crate::libvirt::open;

#[derive(Debug, clap::Args)]
pub struct ConsoleArgs {
    /// Domain name
    #[arg(value_name = "DOMAIN")]
    pub domain: String,
    /// Take the console over from another client (virsh console, another virtsnap)
    #[arg(long)]
    pub force: bool,
}

pub fn run(target: &Target, args: &ConsoleArgs) -> Result<(), CliError> {
    if target.connect.readonly {
        return Err(CliError::Refused(
            "the connection is read-only (--readonly): libvirt gives consoles only to \
             read-write connections"
                .into(),
        ));
    }
    let conn = open(&target.connect)?;
    let name = args.domain.as_str();
    let handle = match console::open(&conn, name, args.force) {
        Ok(h) => h,
        Err(ConsoleError::Busy { .. }) if std::io::stdin().is_terminal() => {
            crate::err_print!("{name}'s console is attached elsewhere. Take it over (the other session is disconnected)? [y/N] ");
            let _ = std::io::stderr().flush();
            let mut line = String::new();
            let _ = std::io::stdin().lock().read_line(&mut line);
            if !matches!(line.trim(), "y" | "Y" | "yes") {
                return Err(CliError::Refused(format!(
                    "{name}'s console was left to the other session"
                )));
            }
            console::open(&conn, name, true).map_err(into_cli)?
        }
        Err(e) => return Err(into_cli(e)),
    };
    let raw = std::io::stdin().is_terminal();
    if raw {
        crossterm::terminal::enable_raw_mode()
            .map_err(|e| CliError::Runtime(format!("cannot put the terminal in raw mode: {e}")))?;
    }
    let mut out = std::io::stdout();
    let _ = out.write_all(console::banner(name).as_bytes());
    let _ = out.flush();
    let end = console::attach_stdio(&handle);
    // Colours or autowrap a guest switched are put back before the shell gets the terminal.
    let _ = out.write_all(b"\x1b[0m\x1b[?7h");
    if raw {
        let _ = crossterm::terminal::disable_raw_mode();
    }
    let _ = out.write_all(b"\n");
    let _ = out.flush();
    match end {
        Ok(ConsoleEnd::Detached) => Ok(()),
        Ok(ConsoleEnd::Closed(why)) => {
            crate::err_println!("{why}");
            Ok(())
        }
        Err(why) => Err(CliError::Runtime(why)),
    }
}

fn into_cli(e: ConsoleError) -> CliError {
    match e {
        ConsoleError::Failed(why) => CliError::Runtime(why),
        ConsoleError::Busy { name } => CliError::Refused(format!(
            "{name}'s console is already attached elsewhere: --force takes it over"
        )),
        other => CliError::Refused(other.to_string()),
    }
}
