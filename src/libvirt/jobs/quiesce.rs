//! When the guest cannot freeze its file systems for a quiesced snapshot: what the user is told
//! (the agent's own words, that nothing was left half-made, that the file systems are thawed)
//! and the offer of a crash-consistent snapshot instead, marked as such in its description.
//!
//! libvirt takes a quiesced disk-only snapshot as freeze, snapshot, thaw; when the freeze fails
//! it stops before making overlays or metadata (measured with libvirt 11.3: no metadata, no
//! overlay file, and the agent reports "thawed"). This module checks each of those instead of
//! trusting it, because a user offered a second snapshot must not get it on top of a first one
//! left behind, or on frozen file systems.

use virt::domain::Domain;

use super::snapshot_create::{self, CreateError, CreateJob};
use super::{JobContext, JobQuestion};
use crate::libvirt::guest;

/// A quiesced snapshot that failed because the guest agent could not freeze.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuiesceFailure {
    /// What the agent said, e.g. "fsfreeze hook has failed with status 1".
    pub agent_message: String,
    /// The whole explanation: the agent's words, what was left behind, the freeze state.
    pub text: String,
}

/// Whether libvirt's error for a QUIESCE create comes from freezing the guest's file systems
/// (the agent refused, failed or did not answer) rather than from the snapshot itself.
pub fn is_freeze_failure(message: &str) -> bool {
    message.contains("guest-fsfreeze") || message.to_lowercase().contains("agent")
}

/// The agent's part of libvirt's message: "guest agent command failed: unable to execute QEMU
/// agent command 'guest-fsfreeze-freeze': fsfreeze hook has failed with status 1" gives what
/// follows the command's name.
pub fn agent_words(message: &str) -> String {
    message
        .split_once("guest-fsfreeze-freeze': ")
        .map_or(message, |(_, words)| words)
        .trim()
        .to_string()
}

/// Checks what the failed create left, thaws the guest if it stayed frozen, and says so.
/// `removed` lists stray files the caller already deleted.
pub fn after_failed_freeze(
    dom: &Domain,
    domain_name: &str,
    snapshot_name: &str,
    message: &str,
    removed: &[std::path::PathBuf],
) -> QuiesceFailure {
    let agent_message = agent_words(message);
    let mut text = format!(
        "the guest agent of {domain_name} could not freeze its file systems: {agent_message}."
    );
    let left = Domain::lookup_snapshot_by_name(dom, snapshot_name, 0).is_ok();
    if left {
        text.push_str(&format!(
            " libvirt kept metadata for '{snapshot_name}' anyway: check it before trusting it."
        ));
    } else if removed.is_empty() {
        text.push_str(" No snapshot was made and nothing was left behind.");
    } else {
        let list: Vec<String> = removed.iter().map(|f| f.display().to_string()).collect();
        text.push_str(&format!(
            " No snapshot was made; the unused file(s) libvirt left were removed: {}.",
            list.join(", ")
        ));
    }
    text.push(' ');
    text.push_str(&thaw_state(dom));
    QuiesceFailure {
        agent_message,
        text,
    }
}

/// A sentence on whether the file systems are thawed now, thawing them if they are not.
fn thaw_state(dom: &Domain) -> String {
    match guest::is_frozen(dom) {
        Ok(false) => "The file systems are thawed.".into(),
        Ok(true) => match guest::thaw(dom) {
            Ok(n) => format!("They had stayed frozen: {n} file system(s) thawed now."),
            Err(e) => format!(
                "They are still FROZEN and thawing failed ({e}): the guest may hang on writes."
            ),
        },
        Err(e) => format!("Whether they are frozen could not be read ({e})."),
    }
}

/// The job with "Quiesced: ..." put first in its description when it asks for quiesce. The
/// snapshot exists only if the freeze worked (libvirt fails the create otherwise), so the mark
/// can be written before.
pub fn mark_quiesced(job: &CreateJob) -> CreateJob {
    let mut marked = job.clone();
    if job.quiesce {
        marked.description = Some(with_user_text(
            "Quiesced: the guest agent froze the file systems while the disks were captured.",
            job.description.as_deref(),
        ));
    }
    marked
}

/// virtsnap's mark first, then what the user wrote, a blank line apart.
fn with_user_text(mark: &str, user: Option<&str>) -> String {
    let mut text = mark.to_string();
    if let Some(user) = user.filter(|d| !d.trim().is_empty()) {
        text.push_str("\n\n");
        text.push_str(user);
    }
    text
}

/// The description of a crash-consistent snapshot taken instead: says so first, keeps what
/// the user wrote after it.
pub fn crash_consistent_description(user: Option<&str>, agent_message: &str) -> String {
    with_user_text(
        &format!(
            "Crash-consistent: taken without quiesce because the guest agent could not freeze the file systems ({agent_message})."
        ),
        user,
    )
}

/// The same snapshot without quiesce, its description marked.
pub fn crash_consistent_job(job: &CreateJob, failure: &QuiesceFailure) -> CreateJob {
    CreateJob {
        quiesce: false,
        description: Some(crash_consistent_description(
            job.description.as_deref(),
            &failure.agent_message,
        )),
        ..job.clone()
    }
}

/// The TUI's answer to a failed freeze: explain, then ask whether to take a crash-consistent
/// snapshot instead. "No" (or a cancel) ends the job with the explanation as its error.
pub fn offer_crash_consistent(
    ctx: &JobContext,
    job: &CreateJob,
    failure: &QuiesceFailure,
) -> Result<String, String> {
    let yes = ctx.ask(JobQuestion {
        // One paragraph: the question box wraps it.
        text: format!(
            "{} Take a crash-consistent snapshot of the disks instead? It holds what a power cut \
             would leave (writes the guest has not flushed are missing); its description says so.",
            failure.text
        ),
        yes: "take crash-consistent snapshot".into(),
        no: "no snapshot".into(),
    });
    if !yes {
        return Err(failure.text.clone());
    }
    ctx.step("creating a crash-consistent snapshot instead");
    match snapshot_create::create(ctx, &crash_consistent_job(job, failure)) {
        Ok(created) => Ok(format!(
            "{} (crash-consistent: the guest could not freeze)",
            snapshot_create::confirmation(&created)
        )),
        Err(e @ (CreateError::Refused(_) | CreateError::Failed(_))) => Err(format!(
            "{} The crash-consistent snapshot failed too: {}",
            failure.text,
            e.text()
        )),
        Err(CreateError::QuiesceFailed(f)) => Err(f.text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_words_and_marked_description() {
        let libvirt = "guest agent command failed: unable to execute QEMU agent command \
                       'guest-fsfreeze-freeze': fsfreeze hook has failed with status 1";
        assert!(is_freeze_failure(libvirt));
        assert!(!is_freeze_failure("unable to stat for disk vda"));
        assert_eq!(
            agent_words(libvirt),
            "fsfreeze hook has failed with status 1"
        );
        assert_eq!(
            agent_words("QEMU guest agent is not connected"),
            "QEMU guest agent is not connected"
        );
        let d = crash_consistent_description(Some("before the upgrade"), "status 1");
        assert!(d.starts_with("Crash-consistent: "), "{d}");
        assert!(d.ends_with("\n\nbefore the upgrade"), "{d}");
        assert!(!crash_consistent_description(Some(" "), "x").contains("\n\n"));
    }
}
