//! What qemu-guest-agent tells and does for virtsnap: whether it answers, which file systems a
//! quiesce would freeze, whether they are frozen now, and the guest's clock after a revert.
//!
//! libvirt has no API for a ping with a short timeout or for the freeze status, so those go
//! through
//! `virDomainQemuAgentCommand` (libvirt marks the domain "custom-ga-command" in its log when
//! that is used). Every such call has a timeout: libvirt's default is to wait for ever, and an
//! agent that stopped answering (a guest suspended to RAM, a frozen guest) must not hold a job.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use virt::domain::Domain;
use virt::domain_snapshot::DomainSnapshot;

use crate::model::guest::{file_systems_from_fsinfo, AgentState, GuestFileSystem};
use crate::model::snapshot::SnapshotInfo;
use crate::model::{DomainConfig, DomainState};

/// How long an answer to a ping may take before the agent counts as not answering.
pub const PING_TIMEOUT_SECS: i32 = 2;

/// Sends one agent command (`{"execute": ...}`) and returns its `return` value.
pub fn agent_command(dom: &Domain, command: &Value, timeout_secs: i32) -> Result<Value, String> {
    let text = dom
        .qemu_agent_command(&command.to_string(), timeout_secs, 0)
        .map_err(|e| e.message().to_string())?;
    let reply: Value =
        serde_json::from_str(&text).map_err(|e| format!("the agent's answer is not JSON: {e}"))?;
    Ok(reply.get("return").cloned().unwrap_or(Value::Null))
}

/// `guest-ping`: Ok when the agent answers within `timeout_secs`.
pub fn ping(dom: &Domain, timeout_secs: i32) -> Result<(), String> {
    agent_command(
        dom,
        &serde_json::json!({"execute": "guest-ping"}),
        timeout_secs,
    )
    .map(|_| ())
}

/// Pings until the agent answers or `limit` has passed, e.g. while a guest boots or while its
/// channel reconnects after a revert. Returns the last error when it never answered.
pub fn wait_for_agent(dom: &Domain, limit: Duration) -> Result<Duration, String> {
    let start = Instant::now();
    loop {
        // A ping to a channel nobody listens on fails at once ("not connected"): nap then.
        match ping(dom, 1) {
            Ok(()) => return Ok(start.elapsed()),
            Err(e) if start.elapsed() >= limit => return Err(e),
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

/// The agent's state for the snapshot dialog: configured at all, and answering a ping now.
pub fn agent_state(dom: &Domain) -> AgentState {
    let configured = dom
        .xml_desc(0)
        .ok()
        .and_then(|xml| DomainConfig::from_xml(&xml).ok())
        .and_then(|cfg| cfg.guest_agent);
    match configured {
        None => AgentState::NotConfigured,
        // libvirt knows the guest side never opened the port: no need to wait for a timeout.
        Some(agent) if !agent.connected => AgentState::NotAnswering(
            "its channel is disconnected: qemu-guest-agent is not running in the guest".into(),
        ),
        Some(_) => match ping(dom, PING_TIMEOUT_SECS) {
            Ok(()) => AgentState::Connected,
            Err(why) => AgentState::NotAnswering(why),
        },
    }
}

/// The file systems the guest has mounted, which a quiesced snapshot freezes.
pub fn file_systems(dom: &Domain) -> Result<Vec<GuestFileSystem>, String> {
    let answer = agent_command(dom, &json!({"execute": "guest-get-fsinfo"}), 5)?;
    Ok(file_systems_from_fsinfo(&answer))
}

/// `guest-fsfreeze-status`: true when the guest's file systems are frozen.
pub fn is_frozen(dom: &Domain) -> Result<bool, String> {
    let answer = agent_command(dom, &json!({"execute": "guest-fsfreeze-status"}), 5)?;
    match answer.as_str() {
        Some("frozen") => Ok(true),
        Some("thawed") => Ok(false),
        _ => Err(format!(
            "the agent answered {answer} to guest-fsfreeze-status"
        )),
    }
}

/// `guest-fsfreeze-thaw`: how many file systems were thawed.
pub fn thaw(dom: &Domain) -> Result<u64, String> {
    let answer = agent_command(dom, &json!({"execute": "guest-fsfreeze-thaw"}), 10)?;
    Ok(answer.as_u64().unwrap_or(0))
}

/// The create dialog's question: is the agent answering, and what would a quiesce freeze.
pub fn inspect(conn: &virt::connect::Connect, domain: &str) -> super::worker::Event {
    let (agent, file_systems) = match super::inventory::lookup(conn, domain) {
        Ok(dom) => {
            let agent = agent_state(&dom);
            let file_systems = match agent {
                AgentState::Connected => file_systems(&dom),
                _ => Err("the agent does not answer".into()),
            };
            (agent, file_systems)
        }
        Err(e) => (AgentState::NotAnswering(e.to_string()), Err(e.to_string())),
    };
    super::worker::Event::GuestInspected {
        domain: domain.to_string(),
        agent,
        file_systems,
    }
}

/// How long the agent may take to come back after a revert: QEMU restarts from the saved
/// state and the guest's end of the channel reconnects.
const AGENT_AFTER_REVERT: Duration = Duration::from_secs(10);

/// What [`sync_clock_after_revert`] did about the guest's clock.
#[derive(Debug, Clone, PartialEq)]
pub enum ClockSync {
    /// Set to the host's time; the guest's clock was `behind_secs` behind (None: unread).
    Set { behind_secs: Option<f64> },
    /// Left alone: why, and roughly how far behind it is (the snapshot's age).
    Stale { behind_secs: i64, why: String },
}

impl ClockSync {
    /// A clause to append to the revert's confirmation.
    pub fn sentence(&self) -> String {
        match self {
            Self::Set {
                behind_secs: Some(s),
            } => format!("the guest clock was set from the host (it was {s:.0} s behind)"),
            Self::Set { behind_secs: None } => "the guest clock was set from the host".into(),
            Self::Stale { behind_secs, why } => {
                format!("the guest clock is stale by about {behind_secs} s ({why})")
            }
        }
    }
}

/// After a revert to a snapshot with memory the guest resumes with the clock it had when the
/// snapshot was taken: hours or days behind. As virt-manager does, set it from the host's
/// clock through the agent (libvirt's `virDomainSetTime`, after a ping shows the agent answers,
/// since that call waits as long as libvirt's agent timeout). Returns "; <what was done>" to
/// append to the revert's result, or an empty string when `snap` has no memory state.
pub fn sync_clock_after_revert(dom: &Domain, snap: &DomainSnapshot) -> String {
    let info = match snap.xml_desc(0).map(|x| SnapshotInfo::from_xml(&x)) {
        Ok(Ok(info)) => info,
        _ => return String::new(),
    };
    if !info.memory {
        return String::new();
    }
    let behind_secs = (unix_now() as i64 - info.created).max(0);
    format!("; {}", sync_clock(dom, behind_secs).sentence())
}

/// Sets the guest's clock to the host's; `behind_secs` is the estimate used when it cannot.
pub fn sync_clock(dom: &Domain, behind_secs: i64) -> ClockSync {
    let stale = |why: String| ClockSync::Stale { behind_secs, why };
    let running = dom
        .state()
        .ok()
        .map(|(s, _)| DomainState::from_raw(s.to_raw()));
    if running != Some(DomainState::Running) {
        let state = running.map_or("in an unknown state", DomainState::label);
        return stale(format!("the guest is {state}, so it was not set"));
    }
    match agent_state(dom) {
        AgentState::NotConfigured => return stale("no guest agent is configured".into()),
        AgentState::Connected => {}
        AgentState::NotAnswering(_) => {
            if let Err(why) = wait_for_agent(dom, AGENT_AFTER_REVERT) {
                return stale(format!("the guest agent does not answer: {why}"));
            }
        }
    }
    let guest_now = agent_command(dom, &json!({"execute": "guest-get-time"}), 5)
        .ok()
        .and_then(|v| v.as_i64())
        .map(|ns| ns as f64 / 1e9);
    let now = unix_now();
    let behind = guest_now.map(|g| now - g);
    let secs = now.trunc();
    let nanos = ((now - secs) * 1e9) as i32;
    match dom.set_time(secs as i64, nanos, 0) {
        Ok(()) => ClockSync::Set {
            behind_secs: behind,
        },
        Err(e) => stale(format!("setting it failed: {}", e.message())),
    }
}

fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}
