#![forbid(unsafe_code)]
//! virtsnap: see every libvirt domain with its CPU mode, and take, browse, revert and delete
//! snapshots without the hypervisor surprising you.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

use virtsnap::app::KeyMap;
use virtsnap::cli::{self, CliError, Target};
use virtsnap::config::{self, Config};
use virtsnap::libvirt::worker::WorkerOptions;
use virtsnap::libvirt::ConnectOptions;
use virtsnap::tui::{self, TuiHost, TuiOptions};
use virtsnap::ui::Theme;

#[derive(Debug, Parser)]
#[command(
    name = "virtsnap",
    version,
    about = "A terminal UI for libvirt/KVM snapshots"
)]
struct Args {
    /// libvirt URI, or the name of a host in the config file; replaces the file's hosts
    /// (default: the file's hosts, else $LIBVIRT_DEFAULT_URI, else libvirt's own default)
    #[arg(short = 'c', long = "connect", value_name = "URI", global = true)]
    connect: Vec<String>,
    /// Read this config file instead of $XDG_CONFIG_HOME/virtsnap/config.toml
    #[arg(long, value_name = "PATH", global = true)]
    config: Option<PathBuf>,
    /// Open a read-only connection: nothing can be changed
    #[arg(long, global = true)]
    readonly: bool,
    /// Open the demo host: tiny real VMs in an embedded QEMU driver (no daemon needed)
    #[arg(long, conflicts_with = "connect")]
    demo: bool,
    /// Draw with ASCII only (automatic for TERM=linux, vt100, dumb)
    #[arg(long)]
    ascii: bool,
    /// No colours (also when NO_COLOR is set)
    #[arg(long)]
    no_color: bool,
    /// Seconds between full refreshes
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    refresh: u64,
    /// Seconds `D` waits for a guest to shut down before asking to force it off (default:
    /// the config file's shutdown_timeout, else 120)
    #[arg(long, value_name = "SECONDS")]
    shutdown_timeout: Option<u64>,
    /// Log level for the log file (error, warn, info, debug, trace)
    #[arg(long, value_name = "LEVEL", default_value = "info", global = true)]
    log_level: String,
    #[command(subcommand)]
    command: Option<Cmd>,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// List domains with their CPU mode and snapshot facts
    List {
        /// Print JSON instead of a table
        #[arg(long)]
        json: bool,
        /// Mark snapshots older than DAYS (OLDEST shows `!`; default: the config file's
        /// stale_snapshot_age, else 3)
        #[arg(long, value_name = "DAYS")]
        stale_after: Option<u32>,
    },
    /// Can DOMAIN's memory state be captured? If not, why, and what to do
    Check {
        /// Domain name
        domain: String,
        /// Print JSON instead of text
        #[arg(long)]
        json: bool,
    },
    /// Start DOMAINs (one with a managed-save image resumes from it)
    Start(cli::lifecycle::DomainsArgs),
    /// Shut DOMAINs down gracefully; after --timeout, force off (--force) or ask
    Shutdown(cli::lifecycle::ShutdownArgs),
    /// Force DOMAINs off (data the guests have not flushed is lost)
    Destroy(cli::lifecycle::DestroyArgs),
    /// Reboot DOMAINs
    Reboot(cli::lifecycle::DomainsArgs),
    /// Pause DOMAINs
    Suspend(cli::lifecycle::DomainsArgs),
    /// Resume paused DOMAINs (wakes those the guest suspended to RAM)
    Resume(cli::lifecycle::DomainsArgs),
    /// Attach to DOMAIN's serial console (Ctrl-] detaches)
    Console(cli::console::ConsoleArgs),
    /// Create, list, revert and delete snapshots
    Snapshot {
        #[command(subcommand)]
        action: SnapshotCmd,
    },
    /// Write the man page or a shell completion script to stdout (for packaging)
    #[command(hide = true)]
    Generate {
        #[command(subcommand)]
        what: GenerateCmd,
    },
}

#[derive(Debug, Subcommand)]
enum GenerateCmd {
    /// The man page, virtsnap(1), in roff
    Man,
    /// The completion script for SHELL (bash, zsh, fish, elvish, powershell)
    Completions { shell: clap_complete::Shell },
}

#[derive(Debug, Subcommand)]
enum SnapshotCmd {
    /// Create a snapshot with the dialog's rules: disk-only unless --memory. With --domain,
    /// --match or --all, of many VMs (exit 0 all done, 1 any failed, 3 some refused)
    #[command(
        override_usage = "virtsnap snapshot create DOMAIN [NAME] [OPTIONS]\n       \
                          virtsnap snapshot create [DOMAIN] (--domain DOMAIN... | --match GLOB... | --all) \
                          [--name NAME | --prefix PREFIX] [OPTIONS]"
    )]
    Create(cli::snapshot::CreateArgs),
    /// List DOMAIN's snapshots, parents before children (`*` marks the current one)
    List {
        /// Domain name
        domain: String,
        /// Print a JSON array instead of a table
        #[arg(long)]
        json: bool,
    },
    /// Revert DOMAIN to snapshot NAME, taking a safety snapshot of the current state first
    Revert(cli::snapshot_revert::RevertArgs),
    /// Delete snapshot NAME of DOMAIN (by default only it: children stay, data is merged). With
    /// --domain, --match or --all, from many VMs (exit 0 all done, 1 any failed, 3 some refused)
    #[command(
        override_usage = "virtsnap snapshot delete DOMAIN NAME [OPTIONS]\n       \
                          virtsnap snapshot delete NAME (--domain DOMAIN... | --match GLOB... | --all) [OPTIONS]"
    )]
    Delete(cli::snapshot_delete::DeleteArgs),
    /// Remove scheduled snapshots (names starting with --prefix) that no --keep-* rule keeps,
    /// oldest first, each planned like `snapshot delete`
    #[command(
        override_usage = "virtsnap snapshot prune (DOMAIN... | --domain DOMAIN... | --match GLOB... | --all) \
                          --prefix PREFIX [--keep-last N] [--keep-hourly N] [--keep-daily N] \
                          [--keep-weekly N] [--keep-monthly N] [--dry-run] [--json]"
    )]
    Prune(cli::snapshot_prune::PruneArgs),
}

fn main() -> ExitCode {
    virtsnap::libvirt::connection::route_libvirt_logs();
    // Before any thread exists: the time zone cannot be read safely later.
    virtsnap::app::snapshot_view::init_local_offset();
    let args = Args::parse();
    // Packaging runs this on a build machine: no config, no logs, no libvirt.
    if let Some(Cmd::Generate { what }) = &args.command {
        return generate(what);
    }
    let log_guard = init_logging(&args.log_level);
    // A bad file is reported, never fatal to the TUI: it starts with the defaults and shows
    // the message. A one-shot command stops (exit 2) rather than act on settings it ignored.
    let loaded = config::load(args.config.as_deref())
        .and_then(|c| KeyMap::with_remaps(&c.keys).map(|keys| (c, keys)));
    let (config, keys, config_error) = match loaded {
        Ok((c, keys)) => (c, keys, None),
        Err(e) if args.command.is_none() => {
            tracing::warn!("{e}");
            (Config::default(), KeyMap::default(), Some(e.to_string()))
        }
        Err(e) => {
            virtsnap::err_println!("virtsnap: {e}");
            return ExitCode::from(2);
        }
    };
    let targets = config::resolve_hosts(&args.connect, &config);
    let hosts: Vec<(String, ConnectOptions)> = config::host_names(&targets)
        .into_iter()
        .zip(targets)
        .map(|(name, t)| {
            let connect = ConnectOptions {
                uri: t.uri,
                readonly: args.readonly,
            };
            (name, connect)
        })
        .collect();
    // --demo with a one-shot command acts on the demo's own host, not on the default URI.
    let hosts = if args.demo && args.command.is_some() {
        match virtsnap::libvirt::demo_session::DemoSession::uri_for_command() {
            Ok(uri) => vec![(
                "demo".to_string(),
                ConnectOptions {
                    uri: Some(uri),
                    readonly: args.readonly,
                },
            )],
            Err(why) => {
                virtsnap::err_println!("virtsnap: {why}");
                return ExitCode::from(2);
            }
        }
    } else {
        hosts
    };
    let code = match args.command {
        None => run_tui(&args, &config, keys, config_error, hosts),
        Some(cmd) => run_command(cmd, &config, hosts),
    };
    drop(log_guard);
    code
}

/// The config file's stale_snapshot_age in whole days (rounded up), as `list` and the TUI's
/// OLDEST column mark them.
fn stale_days(config: &Config) -> u32 {
    u32::try_from(config.stale_snapshot_age.as_secs().div_ceil(86_400)).unwrap_or(u32::MAX)
}

fn run_tui(
    args: &Args,
    config: &Config,
    keys: KeyMap,
    config_error: Option<String>,
    hosts: Vec<(String, ConnectOptions)>,
) -> ExitCode {
    if let Err(e) = color_eyre::install() {
        virtsnap::err_println!("virtsnap: error: {e}");
        return ExitCode::from(1);
    }
    let opts = TuiOptions {
        hosts: hosts
            .into_iter()
            .map(|(name, connect)| TuiHost {
                name,
                worker: WorkerOptions {
                    connect,
                    demo: args.demo,
                    refresh_every: Duration::from_secs(args.refresh.max(1)),
                },
            })
            .collect(),
        theme: Theme::detect(args.ascii || config.ascii, args.no_color || !config.color),
        shutdown_timeout: args
            .shutdown_timeout
            .unwrap_or(config.shutdown_timeout.as_secs()),
        notice: config_error,
        keys,
        stale_after_days: stale_days(config),
    };
    match tui::run(opts) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            virtsnap::err_println!("virtsnap: error: {e}");
            ExitCode::from(1)
        }
    }
}

fn run_command(cmd: Cmd, config: &Config, hosts: Vec<(String, ConnectOptions)>) -> ExitCode {
    let fleet = cli::Fleet {
        hosts: hosts.clone(),
    };
    // list and check read every host; the other commands change one domain on one host.
    let several = !matches!(cmd, Cmd::List { .. } | Cmd::Check { .. }) && hosts.len() > 1;
    if several {
        let names: Vec<&str> = hosts.iter().map(|(n, _)| n.as_str()).collect();
        virtsnap::err_println!(
            "virtsnap: this command acts on one host; choose it with -c NAME or -c URI \
             (hosts: {})",
            names.join(", ")
        );
        return ExitCode::from(2);
    }
    let Some((_, connect)) = hosts.into_iter().next() else {
        virtsnap::err_println!("virtsnap: no host to connect to");
        return ExitCode::from(2);
    };
    let target = Target { connect };
    let result: Result<(), CliError> = match cmd {
        // Handled in main before anything else.
        Cmd::Generate { .. } => Ok(()),
        Cmd::List { json, stale_after } => {
            let days = stale_after.unwrap_or_else(|| stale_days(config));
            cli::list::run(&fleet, json, days)
        }
        Cmd::Check { domain, json } => cli::check::run(&fleet, &domain, json),
        Cmd::Start(a) => cli::lifecycle::start(&target, &a),
        Cmd::Shutdown(mut a) => {
            a.timeout.get_or_insert(config.shutdown_timeout.as_secs());
            cli::lifecycle::shutdown(&target, &a)
        }
        Cmd::Destroy(a) => cli::lifecycle::destroy(&target, &a),
        Cmd::Reboot(a) => cli::lifecycle::reboot(&target, &a),
        Cmd::Suspend(a) => cli::lifecycle::suspend(&target, &a),
        Cmd::Resume(a) => cli::lifecycle::resume(&target, &a),
        Cmd::Console(a) => cli::console::run(&target, &a),
        Cmd::Snapshot { action } => match action {
            SnapshotCmd::Create(args) => cli::snapshot::create(&target, args),
            SnapshotCmd::List { domain, json } => cli::snapshot_list::run(&target, &domain, json),
            SnapshotCmd::Revert(args) => cli::snapshot_revert::run(&target, args),
            SnapshotCmd::Delete(args) => cli::snapshot_delete::run(&target, &args),
            SnapshotCmd::Prune(args) => cli::snapshot_prune::run(&target, &args),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            virtsnap::err_println!("virtsnap: {}", one_line(&e.to_string()));
            ExitCode::from(e.exit_code() as u8)
        }
    }
}

/// `virtsnap generate man|completions SHELL`: what the .deb installs, from these very clap
/// definitions.
fn generate(what: &GenerateCmd) -> ExitCode {
    let mut cmd = <Args as clap::CommandFactory>::command();
    let mut out = std::io::stdout().lock();
    let written = match what {
        GenerateCmd::Man => clap_mangen::Man::new(cmd).render(&mut out),
        GenerateCmd::Completions { shell } => {
            clap_complete::generate(*shell, &mut cmd, "virtsnap", &mut out);
            Ok(())
        }
    };
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            virtsnap::err_println!("virtsnap: cannot write: {e}");
            ExitCode::from(1)
        }
    }
}

/// Errors are one line on stderr: libvirt messages sometimes carry newlines.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Logs go to a file under the XDG state dir, never to the terminal the TUI owns.
fn init_logging(level: &str) -> Option<tracing_appender::non_blocking::WorkerGuard> {
    let dir = state_dir();
    std::fs::create_dir_all(&dir).ok()?;
    let appender = tracing_appender::rolling::never(&dir, "virtsnap.log");
    let (writer, guard) = tracing_appender::non_blocking(appender);
    let filter = tracing_subscriber::EnvFilter::try_new(level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_writer(writer)
        .with_ansi(false)
        .with_env_filter(filter)
        .init();
    Some(guard)
}

fn state_dir() -> PathBuf {
    virtsnap::libvirt::connection::state_dir()
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        // clap checks names and groups only when a command is parsed; this checks them all.
        super::Args::command().debug_assert();
    }
}
