//! What qemu-guest-agent tells and does for virtsnap: whether it answers.
//!
//! libvirt has no API for a ping with a short timeout, so those go through
//! `virDomainQemuAgentCommand` (libvirt marks the domain "custom-ga-command" in its log when
//! that is used). Every such call has a timeout: libvirt's default is to wait for ever, and an
//! agent that stopped answering (a guest suspended to RAM, a frozen guest) must not hold a job.

use std::time::{Duration, Instant};

use serde_json::Value;
use virt::domain::Domain;

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
