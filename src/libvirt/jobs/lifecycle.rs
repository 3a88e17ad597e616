//! Start, shut down, force off, reboot, pause and resume a domain. The graceful shutdown is
//! shared with the snapshot dialog's "stop, snapshot, start" remedy, so it takes a domain and a
//! timeout and returns what happened instead of a finished message.

use std::time::Duration;

use virt::domain::Domain;
use virt::sys;

use super::{JobContext, JobQuestion};
use crate::libvirt::inventory;
use crate::model::domain::{DomainConfig, DomainState};

/// The shutdown timeout when nobody configured one.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(120);

/// How a graceful shutdown ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShutdownOutcome {
    /// The domain was not running when asked.
    AlreadyOff,
    /// The guest shut itself down within the timeout.
    Graceful,
    /// The guest did not stop in time and the user agreed to force it off.
    Forced,
    /// The guest did not stop in time and the user kept it running (or cancelled).
    Declined,
}

/// What a lifecycle job does to its domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LifecycleAction {
    Start,
    /// Graceful shutdown, then the force-off question after `timeout_secs`.
    Shutdown {
        timeout_secs: u64,
    },
    /// Destroy: the guest is cut off without flushing anything.
    ForceOff,
    Reboot,
    Suspend,
    Resume,
}

impl LifecycleAction {
    /// The verb in job titles and CLI output: "start", "shut down", ...
    pub fn verb(self) -> &'static str {
        match self {
            Self::Start => "start",
            Self::Shutdown { .. } => "shut down",
            Self::ForceOff => "force off",
            Self::Reboot => "reboot",
            Self::Suspend => "pause",
            Self::Resume => "resume",
        }
    }

    /// The row's transition words while the job runs: "shutting down", "starting", ...
    pub fn progressive(self) -> &'static str {
        match self {
            Self::Start => "starting",
            Self::Shutdown { .. } => "shutting down",
            Self::ForceOff => "forcing off",
            Self::Reboot => "rebooting",
            Self::Suspend => "pausing",
            Self::Resume => "resuming",
        }
    }
}

/// The question asked when the guest ignores the shutdown request.
pub fn force_off_question(name: &str) -> JobQuestion {
    JobQuestion {
        text: format!(
            "{name} is still running: force it off? (data not flushed by the guest is lost)"
        ),
        yes: "force off".into(),
        no: "leave it running".into(),
    }
}

/// Asks the guest to shut down (ACPI power button, and the guest agent when one is configured),
/// counts down each second, then asks whether to force it off. Cancelling the job during the
/// countdown leaves the guest running and is reported as an error.
pub fn graceful_shutdown(
    ctx: &JobContext,
    domain: &Domain,
    timeout: Duration,
) -> Result<ShutdownOutcome, String> {
    let name = domain.name().unwrap_or_else(|_| "the domain".into());
    if !is_active(domain, &name)? {
        return Ok(ShutdownOutcome::AlreadyOff);
    }
    request_shutdown(domain, &name)?;
    // Counted against a deadline, not in one-second naps: each round's libvirt calls would
    // otherwise stretch a 120 s countdown by a fifth.
    let deadline = std::time::Instant::now() + timeout;
    loop {
        if !is_active(domain, &name)? {
            return Ok(ShutdownOutcome::Graceful);
        }
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            break;
        }
        let shown = left.as_secs_f64().ceil() as u64;
        ctx.step(format!("waiting for {name} to shut down ({shown} s left)"));
        if !ctx.sleep(left.min(Duration::from_secs(1))) {
            return Err(format!(
                "shutdown of {name} cancelled: it may still be shutting down on its own"
            ));
        }
    }
    if !is_active(domain, &name)? {
        return Ok(ShutdownOutcome::Graceful);
    }
    if !ctx.ask(force_off_question(&name)) {
        return Ok(ShutdownOutcome::Declined);
    }
    // The guest may have finished while the question was open; destroying it then would fail.
    if !is_active(domain, &name)? {
        return Ok(ShutdownOutcome::Graceful);
    }
    Ok(match force_off(domain, &name)? {
        true => ShutdownOutcome::Forced,
        false => ShutdownOutcome::Graceful,
    })
}

/// Destroys (forces off) the domain. Ok(true) when this call stopped it, Ok(false) when it was
/// already shut off by the time libvirt looked.
///
/// libvirt 11.3 measured: a destroy issued while a restarted libvirtd is still reconnecting to
/// the QEMU process kills QEMU, the reconnect thread then stops the domain (reason "daemon")
/// first, and the destroy call fails with "domain is not running" although the VM is off as
/// asked. So a failed destroy is judged by the state read afterwards, not by its error.
fn force_off(domain: &Domain, name: &str) -> Result<bool, String> {
    match domain.destroy() {
        Ok(()) => Ok(true),
        Err(e) => match domain.is_active() {
            Ok(false) => Ok(false),
            _ => Err(format!("forcing {name} off: {}", e.message())),
        },
    }
}

fn is_active(domain: &Domain, name: &str) -> Result<bool, String> {
    domain
        .is_active()
        .map_err(|e| format!("reading the state of {name}: {}", e.message()))
}

/// ACPI first; the agent as well when the live XML has its channel, because a guest without
/// acpid ignores the power button but still obeys the agent.
fn request_shutdown(domain: &Domain, name: &str) -> Result<(), String> {
    let acpi = domain.shutdown_flags(sys::VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN);
    let agent = has_guest_agent(domain)
        .then(|| domain.shutdown_flags(sys::VIR_DOMAIN_SHUTDOWN_GUEST_AGENT));
    match (acpi, agent) {
        (Ok(()), _) | (_, Some(Ok(()))) => Ok(()),
        (Err(e), _) => Err(format!("asking {name} to shut down: {}", e.message())),
    }
}

fn has_guest_agent(domain: &Domain) -> bool {
    domain
        .xml_desc(0)
        .ok()
        .and_then(|xml| DomainConfig::from_xml(&xml).ok())
        .is_some_and(|cfg| cfg.guest_agent.is_some())
}

/// Runs one lifecycle action to its end; Ok is the line the jobs bar and the CLI show.
pub fn run(ctx: &JobContext, name: &str, action: LifecycleAction) -> Result<String, String> {
    let domain = inventory::lookup(ctx.conn, name).map_err(|e| e.to_string())?;
    let call = |what: &str, r: Result<(), virt::error::Error>| {
        r.map_err(|e| format!("{what} {name}: {}", e.message()))
    };
    match action {
        LifecycleAction::Start => {
            let resumes = domain.has_managed_save(0).unwrap_or(false);
            ctx.step(if resumes {
                format!("starting {name} from its saved memory image")
            } else {
                format!("starting {name}")
            });
            call("starting", domain.create())?;
            Ok(if resumes {
                format!("{name} resumed from its managed-save image")
            } else {
                format!("{name} started")
            })
        }
        LifecycleAction::Shutdown { timeout_secs } => {
            match graceful_shutdown(ctx, &domain, Duration::from_secs(timeout_secs))? {
                ShutdownOutcome::AlreadyOff => Ok(format!("{name} was already shut off")),
                ShutdownOutcome::Graceful => Ok(format!("{name} shut down")),
                ShutdownOutcome::Forced => Ok(format!("{name} forced off")),
                ShutdownOutcome::Declined => Err(format!(
                    "{name} did not shut down within {timeout_secs} s and was left running"
                )),
            }
        }
        LifecycleAction::ForceOff => {
            ctx.step(format!("forcing {name} off"));
            Ok(if force_off(&domain, name)? {
                format!("{name} forced off")
            } else {
                format!("{name} was already shut off")
            })
        }
        LifecycleAction::Reboot => {
            ctx.step(format!("rebooting {name}"));
            call("rebooting", domain.reboot(0))?;
            Ok(format!("{name} asked to reboot"))
        }
        LifecycleAction::Suspend => {
            ctx.step(format!("pausing {name}"));
            call("pausing", domain.suspend())?;
            Ok(format!("{name} paused"))
        }
        // A guest that suspended itself to RAM is woken, not resumed: libvirt's resume only
        // undoes a pause.
        LifecycleAction::Resume if current_state(&domain) == Some(DomainState::Pmsuspended) => {
            ctx.step(format!("waking {name} from its suspend to RAM"));
            call("waking", domain.pm_wakeup(0))?;
            let machine = domain
                .xml_desc(0)
                .ok()
                .and_then(|xml| crate::model::guest::machine_type(&xml));
            Ok(match crate::model::guest::wake_note(machine.as_deref()) {
                Some(note) => format!("{name} woken from its suspend to RAM; {note}"),
                None => format!("{name} woken from its suspend to RAM"),
            })
        }
        LifecycleAction::Resume => {
            ctx.step(format!("resuming {name}"));
            call("resuming", domain.resume())?;
            Ok(format!("{name} resumed"))
        }
    }
}

fn current_state(domain: &Domain) -> Option<DomainState> {
    domain
        .state()
        .ok()
        .map(|(state, _)| DomainState::from_raw(state.to_raw()))
}

/// Why `action` does not apply to a domain in `state`, e.g. "web-01 is already running".
/// None when it applies. Shared by the TUI's disabled keys and the CLI's exit code 3.
pub fn refusal(name: &str, state: DomainState, action: LifecycleAction) -> Option<String> {
    use DomainState as S;
    let active = state.is_active();
    match action {
        LifecycleAction::Start if active => Some(format!("{name} is already running")),
        LifecycleAction::Start => None,
        LifecycleAction::Shutdown { .. } | LifecycleAction::ForceOff | LifecycleAction::Reboot
            if !active =>
        {
            Some(format!("{name} is not running"))
        }
        // QEMU queues the power button, but a paused guest cannot act on it: the countdown
        // would only end in the force-off question.
        LifecycleAction::Shutdown { .. } if state == S::Paused => Some(format!(
            "{name} is paused: it cannot shut itself down until resumed (or force it off)"
        )),
        LifecycleAction::Reboot if state == S::Paused => {
            Some(format!("{name} is paused: resume it first"))
        }
        LifecycleAction::Suspend if state == S::Paused => Some(format!("{name} is already paused")),
        LifecycleAction::Suspend if state == S::Pmsuspended => Some(format!(
            "{name} is suspended to RAM by its guest (pmsuspended): resume wakes it"
        )),
        LifecycleAction::Suspend if !active => Some(format!("{name} is not running")),
        LifecycleAction::Resume if !matches!(state, S::Paused | S::Pmsuspended) => {
            Some(format!("{name} is not paused"))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_follow_the_state() {
        use DomainState as S;
        let shutdown = LifecycleAction::Shutdown { timeout_secs: 5 };
        let cases = [
            (
                S::Running,
                LifecycleAction::Start,
                Some("w is already running"),
            ),
            (
                S::Paused,
                LifecycleAction::Start,
                Some("w is already running"),
            ),
            (S::Shutoff, LifecycleAction::Start, None),
            (S::Crashed, LifecycleAction::Start, None),
            (S::Shutoff, shutdown, Some("w is not running")),
            (S::Running, shutdown, None),
            (
                S::Paused,
                shutdown,
                Some("w is paused: it cannot shut itself down until resumed (or force it off)"),
            ),
            (S::Paused, LifecycleAction::ForceOff, None),
            (
                S::Shutoff,
                LifecycleAction::ForceOff,
                Some("w is not running"),
            ),
            (
                S::Paused,
                LifecycleAction::Reboot,
                Some("w is paused: resume it first"),
            ),
            (S::Running, LifecycleAction::Suspend, None),
            (
                S::Paused,
                LifecycleAction::Suspend,
                Some("w is already paused"),
            ),
            (
                S::Shutoff,
                LifecycleAction::Suspend,
                Some("w is not running"),
            ),
            (S::Running, LifecycleAction::Resume, Some("w is not paused")),
            (S::Paused, LifecycleAction::Resume, None),
            // Suspended to RAM by the guest: resume wakes it; pausing it makes no sense.
            (S::Pmsuspended, LifecycleAction::Resume, None),
            (
                S::Pmsuspended,
                LifecycleAction::Suspend,
                Some("w is suspended to RAM by its guest (pmsuspended): resume wakes it"),
            ),
        ];
        for (state, action, want) in cases {
            assert_eq!(
                refusal("w", state, action).as_deref(),
                want,
                "{state:?} {action:?}"
            );
        }
    }
}
