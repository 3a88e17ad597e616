//! A domain's serial console through libvirt's console stream, in process (no `virsh console`
//! child): open the stream, then pass raw bytes between it and a terminal until `Ctrl-]`.
//! The stream is non-blocking and polled: libvirt's default event loop (registered by
//! `connection::init`) fills it for remote connections, so no stream callbacks are needed.

use std::fmt;
use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::sync::Arc;
use std::time::Duration;

use virt::connect::Connect;
use virt::stream::Stream;
use virt::sys;

use super::inventory;
use crate::model::domain::DomainConfig;

/// `Ctrl-]`, virsh's escape character.
pub const ESCAPE: u8 = 0x1d;

/// Why a console cannot be attached. `Busy` can be overcome by forcing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsoleError {
    NotRunning {
        name: String,
    },
    NoConsole {
        name: String,
    },
    /// Another client (virsh console, another virtsnap) holds the console.
    Busy {
        name: String,
    },
    Failed(String),
}

impl fmt::Display for ConsoleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotRunning { name } => write!(
                f,
                "{name} is not running: its console exists only while it runs"
            ),
            Self::NoConsole { name } => {
                write!(f, "{name} has no serial or console device to attach to")
            }
            Self::Busy { name } => write!(
                f,
                "{name}'s console is already attached elsewhere (virsh console or another \
                 virtsnap); forcing takes it over and disconnects the other session"
            ),
            Self::Failed(why) => f.write_str(why),
        }
    }
}

/// Aborts the stream when the last handle goes: a stream freed while active would keep the
/// console held on the daemon side.
struct OpenStream(Stream);

impl Drop for OpenStream {
    fn drop(&mut self) {
        // Aborting an already finished stream fails harmlessly.
        let _ = self.0.clone().abort();
    }
}

/// An open console, ready to attach. Cloning shares the same stream.
#[derive(Clone)]
pub struct ConsoleHandle {
    pub domain: String,
    stream: Arc<OpenStream>,
}

impl fmt::Debug for ConsoleHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConsoleHandle")
            .field("domain", &self.domain)
            .finish_non_exhaustive()
    }
}

impl PartialEq for ConsoleHandle {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.stream, &other.stream)
    }
}

/// How an attached session ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsoleEnd {
    /// The user pressed the escape key (or the input closed).
    Detached,
    /// The console went away: the VM stopped, or another client forced it over.
    Closed(String),
}

/// Opens `name`'s first console. `force` takes it over from another client, as
/// `virsh console --force` does.
pub fn open(conn: &Connect, name: &str, force: bool) -> Result<ConsoleHandle, ConsoleError> {
    let domain = inventory::lookup(conn, name).map_err(|e| ConsoleError::Failed(e.to_string()))?;
    let active = domain.is_active().map_err(|e| {
        ConsoleError::Failed(format!("reading the state of {name}: {}", e.message()))
    })?;
    if !active {
        return Err(ConsoleError::NotRunning { name: name.into() });
    }
    let consoles = domain
        .xml_desc(0)
        .ok()
        .and_then(|xml| DomainConfig::from_xml(&xml).ok())
        .map(|cfg| cfg.consoles);
    if consoles == Some(0) {
        return Err(ConsoleError::NoConsole { name: name.into() });
    }
    let stream = Stream::new(conn, sys::VIR_STREAM_NONBLOCK).map_err(|e| {
        ConsoleError::Failed(format!(
            "opening a stream for {name}'s console: {}",
            e.message()
        ))
    })?;
    let flags = if force {
        sys::VIR_DOMAIN_CONSOLE_FORCE
    } else {
        0
    };
    if let Err(e) = domain.open_console(None, &stream, flags) {
        // The stream never carried data; freeing it without abort is fine.
        return Err(classify(name, e.message()));
    }
    Ok(ConsoleHandle {
        domain: name.into(),
        stream: Arc::new(OpenStream(stream)),
    })
}

/// libvirt reports these cases only in words (all as generic error codes).
fn classify(name: &str, message: &str) -> ConsoleError {
    let lower = message.to_lowercase();
    if lower.contains("active console session") {
        ConsoleError::Busy { name: name.into() }
    } else if lower.contains("cannot find") && lower.contains("device")
        || lower.contains("no console")
    {
        ConsoleError::NoConsole { name: name.into() }
    } else if lower.contains("not running") {
        ConsoleError::NotRunning { name: name.into() }
    } else {
        ConsoleError::Failed(format!("attaching to {name}'s console: {message}"))
    }
}

/// Passes bytes both ways until the escape byte arrives on `input`, the input closes, or the
/// console closes. Bytes typed before the escape in the same read are still sent.
pub fn pump<I, O>(
    handle: &ConsoleHandle,
    input: &mut I,
    output: &mut O,
    escape: u8,
) -> Result<ConsoleEnd, String>
where
    I: Read + AsFd,
    O: Write,
{
    let stream = &handle.stream.0;
    let mut from_guest = [0u8; 4096];
    let mut from_user = [0u8; 1024];
    loop {
        let mut got = false;
        loop {
            match stream.recv(&mut from_guest) {
                Ok(n) if n > 0 => {
                    got = true;
                    let n = usize::try_from(n).unwrap_or(0).min(from_guest.len());
                    output
                        .write_all(&from_guest[..n])
                        .map_err(|e| format!("writing console output: {e}"))?;
                }
                Ok(0) => return Ok(ConsoleEnd::Closed(closed_words(&handle.domain))),
                // -2: nothing buffered right now.
                Ok(_) => break,
                Err(e) => {
                    let _ = output.flush();
                    return Ok(ConsoleEnd::Closed(format!(
                        "{}: {}",
                        closed_words(&handle.domain),
                        e.message()
                    )));
                }
            }
        }
        if got {
            output
                .flush()
                .map_err(|e| format!("writing console output: {e}"))?;
        }
        // Poll the user briefly, or not at all while the guest is talking.
        let wait = if got {
            Duration::ZERO
        } else {
            Duration::from_millis(20)
        };
        if !tty_poll::readable(input.as_fd(), wait).map_err(|e| format!("reading input: {e}"))? {
            continue;
        }
        let n = match input.read(&mut from_user) {
            Ok(0) => return Ok(ConsoleEnd::Detached),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(format!("reading input: {e}")),
        };
        let typed = &from_user[..n];
        let (send, detach) = match typed.iter().position(|b| *b == escape) {
            Some(at) => (&typed[..at], true),
            None => (typed, false),
        };
        send_all(handle, send)?;
        if detach {
            return Ok(ConsoleEnd::Detached);
        }
    }
}

fn closed_words(name: &str) -> String {
    format!("{name}'s console closed (the VM stopped, or another session took it over)")
}

fn send_all(handle: &ConsoleHandle, mut bytes: &[u8]) -> Result<(), String> {
    let stream = &handle.stream.0;
    let mut waited = 0;
    while !bytes.is_empty() {
        match stream.send(bytes) {
            Ok(n) if n > 0 => {
                let n = usize::try_from(n).unwrap_or(0).min(bytes.len());
                bytes = &bytes[n..];
            }
            // -2: the stream is full; the guest reads slowly. Give up after ~2 s.
            Ok(_) if waited < 200 => {
                waited += 1;
                std::thread::sleep(Duration::from_millis(10));
            }
            Ok(_) => return Err(format!("{}'s console does not take input", handle.domain)),
            Err(e) => {
                return Err(format!(
                    "sending to {}'s console: {}",
                    handle.domain,
                    e.message()
                ))
            }
        }
    }
    Ok(())
}

/// Attaches the process's own terminal: stdin to the guest, the guest to stdout. The caller
/// puts the terminal in raw mode first.
pub fn attach_stdio(handle: &ConsoleHandle) -> Result<ConsoleEnd, String> {
    let stdin = std::io::stdin();
    // A duplicate of fd 0 read unbuffered: std's Stdin buffer would keep bytes typed after
    // the escape away from whoever reads the terminal next.
    let fd = stdin
        .as_fd()
        .try_clone_to_owned()
        .map_err(|e| format!("reading the terminal: {e}"))?;
    let mut input = std::fs::File::from(fd);
    let mut output = std::io::stdout().lock();
    pump(handle, &mut input, &mut output, ESCAPE)
}

/// The greeting printed before passthrough, as virsh words it.
pub fn banner(name: &str) -> String {
    format!("Connected to domain '{name}'\r\nEscape character is ^] (Ctrl + ])\r\n")
}

/// Waiting for input on a file descriptor with a timeout: std has no safe way to do it, so this
/// is the one unsafe call of the console.
#[allow(unsafe_code)]
mod tty_poll {
    use std::os::fd::{AsRawFd, BorrowedFd};
    use std::time::Duration;

    /// True when `fd` has input (or hung up, so a read returns at once) within `timeout`.
    pub fn readable(fd: BorrowedFd<'_>, timeout: Duration) -> std::io::Result<bool> {
        let mut pfd = libc::pollfd {
            fd: fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let millis = libc::c_int::try_from(timeout.as_millis()).unwrap_or(libc::c_int::MAX);
        // SAFETY: `pfd` is one valid pollfd that lives across the call and the count says 1;
        // the descriptor is borrowed, so it stays open until poll returns.
        let n = unsafe { libc::poll(&mut pfd, 1, millis) };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            return if e.kind() == std::io::ErrorKind::Interrupted {
                Ok(false)
            } else {
                Err(e)
            };
        }
        Ok(n > 0 && pfd.revents & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libvirt_wordings_map_to_the_cases() {
        assert_eq!(
            classify(
                "w",
                "operation failed: Active console session exists for this domain"
            ),
            ConsoleError::Busy { name: "w".into() }
        );
        assert_eq!(
            classify("w", "internal error: cannot find character device <null>"),
            ConsoleError::NoConsole { name: "w".into() }
        );
        assert_eq!(
            classify(
                "w",
                "Requested operation is not valid: domain is not running"
            ),
            ConsoleError::NotRunning { name: "w".into() }
        );
        assert!(matches!(classify("w", "boom"), ConsoleError::Failed(m) if m.contains("boom")));
    }
}
