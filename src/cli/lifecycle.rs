//! `virtsnap start|shutdown|destroy|reboot|suspend|resume DOMAIN...`: the TUI's lifecycle
//! jobs, one per domain, in parallel. Each domain gets a line; exit code 0 when all succeeded,
//! 3 when virtsnap refused some (already running, read-only, destroy without confirmation) and
//! nothing failed, 1 when libvirt failed or a guest was left running.

use std::io::{BufRead, IsTerminal, Write};
use std::sync::atomic::AtomicBool;
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};

use virt::connect::Connect;

use super::{CliError, Target};
use crate::libvirt::jobs::lifecycle::{self, LifecycleAction};
use crate::libvirt::jobs::{JobContext, JobControl, JobQuestion, JobUpdate};
use crate::libvirt::worker::Event;
use crate::libvirt::{inventory, open};

#[derive(Debug, clap::Args)]
pub struct DomainsArgs {
    /// Domain names
    #[arg(required = true, value_name = "DOMAIN")]
    pub domains: Vec<String>,
}

#[derive(Debug, clap::Args)]
pub struct ShutdownArgs {
    /// Domain names
    #[arg(required = true, value_name = "DOMAIN")]
    pub domains: Vec<String>,
    /// Seconds to wait for each guest before asking to force it off (default: the config
    /// file's shutdown_timeout, else 120)
    #[arg(long, value_name = "S")]
    pub timeout: Option<u64>,
    /// Force off a guest still running after the timeout, without asking
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, clap::Args)]
pub struct DestroyArgs {
    /// Domain names
    #[arg(required = true, value_name = "DOMAIN")]
    pub domains: Vec<String>,
    /// Do not ask: data the guests have not flushed is lost (needed without a terminal)
    #[arg(long)]
    pub force: bool,
}

pub fn start(target: &Target, args: &DomainsArgs) -> Result<(), CliError> {
    run(target, &args.domains, LifecycleAction::Start, false)
}

pub fn shutdown(target: &Target, args: &ShutdownArgs) -> Result<(), CliError> {
    let action = LifecycleAction::Shutdown {
        timeout_secs: args
            .timeout
            .unwrap_or(lifecycle::DEFAULT_SHUTDOWN_TIMEOUT.as_secs()),
    };
    run(target, &args.domains, action, args.force)
}

pub fn destroy(target: &Target, args: &DestroyArgs) -> Result<(), CliError> {
    run(target, &args.domains, LifecycleAction::ForceOff, args.force)
}

pub fn reboot(target: &Target, args: &DomainsArgs) -> Result<(), CliError> {
    run(target, &args.domains, LifecycleAction::Reboot, false)
}

pub fn suspend(target: &Target, args: &DomainsArgs) -> Result<(), CliError> {
    run(target, &args.domains, LifecycleAction::Suspend, false)
}

pub fn resume(target: &Target, args: &DomainsArgs) -> Result<(), CliError> {
    run(target, &args.domains, LifecycleAction::Resume, false)
}

enum Outcome {
    Done(String),
    Refused(String),
    Failed(String),
}

fn run(
    target: &Target,
    domains: &[String],
    action: LifecycleAction,
    force: bool,
) -> Result<(), CliError> {
    if target.connect.readonly {
        return Err(CliError::Refused(format!(
            "the connection is read-only (--readonly): cannot {} anything",
            action.verb()
        )));
    }
    let conn = open(&target.connect)?;
    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    let prompt_lock = Mutex::new(());
    let live_steps = interactive && domains.len() == 1;
    let outcomes: Vec<Outcome> = std::thread::scope(|s| {
        let handles: Vec<_> = domains
            .iter()
            .map(|name| {
                let (conn, prompt_lock) = (&conn, &prompt_lock);
                s.spawn(move || {
                    let ask = Asker {
                        force,
                        interactive,
                        prompt_lock,
                    };
                    one(conn, name, action, &ask, live_steps)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Outcome::Failed("the job thread panicked".into()))
            })
            .collect()
    });
    report(domains.len(), action, outcomes)
}

/// Prints one line per domain; the error carries the summary (or the only failure).
fn report(total: usize, action: LifecycleAction, outcomes: Vec<Outcome>) -> Result<(), CliError> {
    let (mut refused, mut failed) = (Vec::new(), Vec::new());
    for outcome in outcomes {
        match outcome {
            Outcome::Done(line) => {
                let _ = super::print_out(&format!("{line}\n"));
            }
            Outcome::Refused(why) => refused.push(why),
            Outcome::Failed(why) => failed.push(why),
        }
    }
    let bad = refused.len() + failed.len();
    if bad == 0 {
        return Ok(());
    }
    let summary = if total == 1 {
        refused.iter().chain(&failed).cloned().collect::<String>()
    } else {
        for why in refused.iter().chain(&failed) {
            crate::err_println!("virtsnap: {why}");
        }
        format!("{bad} of {total} domains: {} not done", action.verb())
    };
    if failed.is_empty() {
        Err(CliError::Refused(summary))
    } else {
        Err(CliError::Runtime(summary))
    }
}

/// Answers a job's force-off question: `--force` says yes, a terminal asks, a script says no.
struct Asker<'a> {
    force: bool,
    interactive: bool,
    prompt_lock: &'a Mutex<()>,
}

impl Asker<'_> {
    fn answer(&self, q: &JobQuestion) -> bool {
        if self.force {
            return true;
        }
        if !self.interactive {
            crate::err_println!("virtsnap: {} -> no (--force would say yes)", q.text);
            return false;
        }
        let _one_at_a_time = self.prompt_lock.lock();
        crate::err_print!("\r\x1b[K{} [y/N] ", q.text);
        let _ = std::io::stderr().flush();
        let mut line = String::new();
        let _ = std::io::stdin().lock().read_line(&mut line);
        matches!(line.trim(), "y" | "Y" | "yes" | "YES" | "Yes")
    }
}

fn one(
    conn: &Connect,
    name: &str,
    action: LifecycleAction,
    ask: &Asker,
    live_steps: bool,
) -> Outcome {
    let domain = match inventory::lookup(conn, name) {
        Ok(d) => d,
        Err(e) => return Outcome::Failed(e.to_string()),
    };
    let state = match domain.info() {
        Ok(info) => inventory::state_from_virt(&info.state),
        Err(e) => return Outcome::Failed(format!("reading the state of {name}: {}", e.message())),
    };
    if let Some(why) = lifecycle::refusal(name, state, action) {
        return Outcome::Refused(why);
    }
    if action == LifecycleAction::ForceOff && !ask.force {
        if !ask.interactive {
            return Outcome::Refused(format!(
                "not forcing {name} off without --force (no terminal to ask): data the guest \
                 has not flushed would be lost"
            ));
        }
        let q = JobQuestion {
            text: format!("Force {name} off? Data the guest has not flushed is lost."),
            yes: "force off".into(),
            no: "keep it running".into(),
        };
        if !ask.answer(&q) {
            return Outcome::Refused(format!("{name} was left running"));
        }
    }
    let (tx, rx) = std::sync::mpsc::channel();
    let emit = Emitter {
        answers: Mutex::new(tx),
        ask,
        live_steps,
    };
    let emit_fn = |e: Event| emit.on_event(e);
    let ctx = JobContext {
        conn,
        id: 0,
        emit: &emit_fn,
        controls: rx,
        cancelled: Arc::new(AtomicBool::new(false)),
    };
    let result = lifecycle::run(&ctx, name, action);
    if live_steps {
        crate::err_print!("\r\x1b[K");
    }
    match result {
        Ok(line) => Outcome::Done(line),
        Err(why) => Outcome::Failed(why),
    }
}

/// The job's events in a CLI: steps on a live line (one domain on a terminal), questions
/// answered by the `Asker` straight back into the job's control channel.
struct Emitter<'a> {
    answers: Mutex<Sender<JobControl>>,
    ask: &'a Asker<'a>,
    live_steps: bool,
}

impl Emitter<'_> {
    fn on_event(&self, event: Event) {
        let Event::Job { update, .. } = event else {
            return;
        };
        match update {
            JobUpdate::Step(step) if self.live_steps => {
                crate::err_print!("\r\x1b[K{step}");
                let _ = std::io::stderr().flush();
            }
            JobUpdate::Question(q) => {
                let yes = self.ask.answer(&q);
                if let Ok(tx) = self.answers.lock() {
                    let _ = tx.send(JobControl::Answer(yes));
                }
            }
            _ => {}
        }
    }
}
