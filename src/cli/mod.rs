//! One-shot commands: the same facts as the TUI, as text or JSON, with exit codes a script
//! can rely on: 0 success, 1 runtime or libvirt error, 2 usage error, 3 refused by virtsnap.

pub mod check;
pub mod console;
pub mod lifecycle;
pub mod list;
pub mod progress;
pub mod selection;
pub mod snapshot;
pub mod snapshot_bulk;
pub mod snapshot_delete;
pub mod snapshot_list;
pub mod snapshot_prune;
pub mod snapshot_revert;

/// `eprint!`, minus its panic: the standard macros panic when stderr is a closed pipe
/// (`virtsnap ... 2>&1 | head`), which would turn any exit code into 101. The text is dropped
/// instead; the exit code still says how the command ended.
#[macro_export]
macro_rules! err_print {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stderr().lock(), $($arg)*);
    }};
}

/// `eprintln!` without the panic on a closed stderr (see [`err_print!`]).
#[macro_export]
macro_rules! err_println {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr().lock(), $($arg)*);
    }};
}

use crate::libvirt::{ConnectOptions, VirtError};

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// libvirt or the system failed: exit code 1.
    #[error("{0}")]
    Runtime(String),
    /// virtsnap's own validation or policy said no, before anything changed: exit code 3.
    #[error("{0}")]
    Refused(String),
    /// The arguments do not say what to do (as clap's own usage errors): exit code 2.
    #[error("{0}")]
    Usage(String),
}

impl CliError {
    pub fn exit_code(&self) -> i32 {
        match self {
            Self::Runtime(_) => 1,
            Self::Refused(_) => 3,
            Self::Usage(_) => 2,
        }
    }
}

/// A plan's refusal as the CLI's error: exit 3 (refused before anything changed), or 1 when
/// the snapshot does not exist (as for an unknown domain).
pub fn refusal_error(r: &crate::model::storage::Refusal, verb: &str) -> CliError {
    let text = format!("not {verb}: {}", r.reason);
    match r.kind {
        crate::model::storage::RefusalKind::NotFound => CliError::Runtime(text),
        _ => CliError::Refused(text),
    }
}

impl From<VirtError> for CliError {
    fn from(e: VirtError) -> Self {
        Self::Runtime(e.to_string())
    }
}

impl From<serde_json::Error> for CliError {
    fn from(e: serde_json::Error) -> Self {
        Self::Runtime(format!("cannot write JSON: {e}"))
    }
}

/// Where the one-shot command connects.
#[derive(Debug, Clone)]
pub struct Target {
    pub connect: ConnectOptions,
}

/// The hosts `list` and `check` read: (name, connection), in the order given.
#[derive(Debug, Clone)]
pub struct Fleet {
    pub hosts: Vec<(String, ConnectOptions)>,
}

impl Fleet {
    /// More than one host: tables gain a HOST column and `check --json` prints an array.
    pub fn several(&self) -> bool {
        self.hosts.len() > 1
    }

    /// Runs `read` on every host at once (a slow host does not hold up the others' calls),
    /// returning the results in host order.
    pub fn read_all<T: Send>(
        &self,
        read: impl Fn(&ConnectOptions) -> Result<T, CliError> + Sync,
    ) -> Vec<(String, Result<T, CliError>)> {
        std::thread::scope(|scope| {
            let running: Vec<_> = self
                .hosts
                .iter()
                .map(|(name, connect)| (name.clone(), scope.spawn(|| read(connect))))
                .collect();
            running
                .into_iter()
                .map(|(name, handle)| {
                    let result = handle.join().unwrap_or_else(|_| {
                        Err(CliError::Runtime("a reader thread panicked".into()))
                    });
                    (name, result)
                })
                .collect()
        })
    }
}

/// Writes to stdout, treating a closed pipe (`virtsnap list | head`) as success.
pub fn print_out(text: &str) -> Result<(), CliError> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(CliError::Runtime(format!("cannot write output: {e}"))),
    }
}
