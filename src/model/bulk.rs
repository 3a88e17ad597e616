//! One snapshot request over many domains: what each VM gets (memory where the rule allows it
//! and it was asked for, else disk-only and why; quiesce where an agent answers), the one name
//! pattern that names each VM's snapshot, and how the outcomes add up to one exit code. Pure:
//! the layouts come from the caller. The CLI and the TUI's bulk dialog both decide here.

use serde::Serialize;

use crate::model::snapshot::{SnapshotLocation, SnapshotPlan};
use crate::model::storage::{decide_create, CreateDenied, CreateIntent, Layout};
use crate::model::{evaluate, HostCapabilities, RuleInput, Verdict};

/// The memory rule's verdict for a domain whose storage facts were read: the definition in
/// effect and the persistent one, as the facts have them.
pub fn verdict_for(layout: &Layout, host: Option<&HostCapabilities>) -> Verdict {
    let persistent = layout.persistent_config.as_ref().unwrap_or(&layout.config);
    evaluate(&RuleInput {
        persistent,
        live: layout.active().then_some(&layout.config),
        host,
        state: layout.state,
        libvirt_version: layout.libvirt_version,
    })
}

/// The placeholders a bulk name pattern may use, for hints and errors.
pub const NAME_PLACEHOLDERS: &str = "{domain}, {time} (local) or {utc}";

/// The snapshot name a pattern gives one domain: `{domain}` is the domain's name made safe
/// for a snapshot name (as the default name does), `{time}` the local time stamp
/// `YYYYMMDD-HHMMSS` (`local_stamp`, the same for every VM of one run), `{utc}` the UTC stamp
/// `YYYYMMDD-HHMMSSZ` of `now` that `snapshot create --prefix` writes, so `nightly-{utc}`
/// names exactly what `--prefix nightly` names and `snapshot prune --prefix nightly` finds.
/// A pattern without placeholders is the name itself.
///
/// # Errors
/// An unknown `{word}`, or a `{` left open: the message lists the placeholders.
pub fn expand_name(
    pattern: &str,
    domain: &str,
    local_stamp: &str,
    now: i64,
) -> Result<String, String> {
    expand(pattern, domain, Some((local_stamp, now)))
}

/// The name of an existing snapshot given as a pattern: only `{domain}` applies (a time is the
/// one the snapshots were taken at, so it is written out), as Tab offers after a bulk create
/// named them `{domain}-{time}`.
///
/// # Errors
/// `{time}` or `{utc}`, an unknown `{word}`, or a `{` left open.
pub fn expand_existing(pattern: &str, domain: &str) -> Result<String, String> {
    expand(pattern, domain, None)
}

/// `{domain}` followed by what `name` has after `domain`'s part, when it starts with it: how
/// a bulk create's `{domain}-{time}` names read back as one pattern.
pub fn pattern_of(name: &str, domain: &str) -> Option<String> {
    let rest = name.strip_prefix(&domain_part(domain))?;
    (!rest.is_empty() && !rest.contains('{')).then(|| format!("{{domain}}{rest}"))
}

fn expand(pattern: &str, domain: &str, stamps: Option<(&str, i64)>) -> Result<String, String> {
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut rest = pattern;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open..];
        let Some(close) = after.find('}') else {
            return Err(format!(
                "'{{' is not closed; the placeholders are {NAME_PLACEHOLDERS}"
            ));
        };
        match (&after[..=close], stamps) {
            ("{domain}", _) => out.push_str(&domain_part(domain)),
            ("{time}", Some((stamp, _))) => out.push_str(stamp),
            ("{utc}", Some((_, now))) => {
                out.push_str(&crate::model::retention::scheduled_name("", now))
            }
            (p @ ("{time}" | "{utc}"), None) => {
                return Err(format!(
                    "{p} cannot name snapshots that exist: write their time out (Tab offers \
                     the names the VMs hold)"
                ))
            }
            (other, _) => {
                return Err(format!(
                    "{other} is not a placeholder; use {NAME_PLACEHOLDERS}"
                ))
            }
        }
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The domain's name as a snapshot name part: what `snapshot::default_name` puts before the
/// stamp (`snapshot` for a name with nothing usable left).
fn domain_part(domain: &str) -> String {
    let named = crate::model::snapshot::default_name(domain, "");
    named.strip_suffix('-').unwrap_or(&named).to_string()
}

/// What the command asked of every VM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkIntent {
    pub name: String,
    /// Memory state where the VM allows it.
    pub memory: bool,
    /// Freeze the guest's file systems where a guest agent answers.
    pub quiesce: bool,
    /// The kind to take even where it mixes with the VM's tree (`--kind`).
    pub location: Option<SnapshotLocation>,
}

/// What one VM gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkChoice {
    pub plan: SnapshotPlan,
    pub memory: bool,
    pub quiesce: bool,
    /// What it does not get of what was asked, and why ("disk-only: ...").
    pub notes: Vec<String>,
}

/// Decides one VM's snapshot in a bulk create: [`decide_create`] with what the VM can have.
/// A VM whose plan would mix snapshot kinds is refused with the risk unless the intent names
/// the kind; what else the VM cannot have is refused with the reason.
pub fn decide_for_bulk(
    layout: &Layout,
    verdict: &Verdict,
    intent: &BulkIntent,
) -> Result<BulkChoice, CreateDenied> {
    let mut notes = Vec::new();
    let m = &verdict.memory;
    let mut memory = intent.memory && m.applicable && m.allowed;
    if intent.memory && !memory {
        notes.push(if !m.applicable {
            format!(
                "disk-only: {} is {}, there is no memory state to capture",
                layout.domain,
                layout.state.label()
            )
        } else {
            let why = m.explanation().unwrap_or_else(|| {
                let b: Vec<&str> = m.blockers.iter().map(|b| b.message.as_str()).collect();
                b.join("; ")
            });
            format!("disk-only: {}", first_line(&why))
        });
    }
    let quiesce_ok = verdict.disk_only.quiesce;
    let mut quiesce = intent.quiesce && quiesce_ok && !memory;
    if intent.quiesce && !quiesce {
        notes.push(if memory {
            "not quiesced: a memory snapshot keeps the running state, there is nothing to freeze"
                .into()
        } else {
            format!(
                "not quiesced: {}",
                verdict
                    .disk_only
                    .quiesce_reason
                    .clone()
                    .unwrap_or_else(|| "no guest agent answers".into())
            )
        });
    }
    let decide = |memory: bool, quiesce: bool| {
        decide_create(
            layout,
            verdict,
            &CreateIntent {
                name: intent.name.clone(),
                memory,
                quiesce,
                location: intent.location,
            },
        )
    };
    let plan = match decide(memory, quiesce) {
        Ok(p) => p,
        // The rule allowed memory but the disks cannot hold it (e.g. a raw disk for an
        // internal one): the VM still gets its disks captured, and is told why.
        Err(CreateDenied::Refused(why)) if memory => {
            let p = decide(false, intent.quiesce && quiesce_ok)?;
            memory = false;
            quiesce = intent.quiesce && quiesce_ok;
            notes.push(format!("disk-only: {}", first_line(&why)));
            p
        }
        Err(e) => return Err(e),
    };
    Ok(BulkChoice {
        plan,
        memory,
        quiesce,
        notes,
    })
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or_default().trim().to_string()
}

/// How one VM's part of a bulk command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Done (or, for `--dry-run`, would be done).
    Ok,
    /// Nothing to do for this VM (a bulk delete of a name it does not have).
    Absent,
    /// virtsnap said no before changing anything: the reason says why.
    Refused,
    /// libvirt or the system failed.
    Failed,
}

/// The exit code of a bulk command: 0 when every VM succeeded (or had nothing to do), 1 when
/// any failed at runtime, 3 when some were refused and none failed.
pub fn exit_code(outcomes: &[Outcome]) -> i32 {
    if outcomes.contains(&Outcome::Failed) {
        1
    } else if outcomes.contains(&Outcome::Refused) {
        3
    } else {
        0
    }
}

#[cfg(test)]
#[path = "bulk_tests.rs"]
mod tests;
