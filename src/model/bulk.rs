//! One snapshot request over many domains: what each VM gets (memory where the rule allows it
//! and it was asked for, else disk-only and why; quiesce where an agent answers), and how the
//! outcomes add up to one exit code. Pure: the layouts and verdicts come from the caller.

use serde::Serialize;

use crate::model::snapshot::{SnapshotLocation, SnapshotPlan};
use crate::model::storage::{decide_create, CreateDenied, CreateIntent, Layout};
use crate::model::Verdict;

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
