//! Pruning one domain's scheduled snapshots: retention (`model::retention`) decides which
//! candidates go, then each is deleted like an interactive delete, oldest first, each one
//! planned again on freshly read facts (`delete::run_planned`): the tree changes with every
//! delete. What libvirt would refuse, or what would lose data, is skipped with the plan's
//! reason, never forced.

use jiff::tz::TimeZone;
use serde::Serialize;

use super::delete::{self, DeleteError, DeleteJob};
use super::JobContext;
use crate::libvirt::storage;
use crate::model::retention::{candidates, decide, Decision, KeepRules};
use crate::model::storage::render::delete_lines;
use crate::model::storage::{plan_delete, DeleteMode, Layout};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PruneJob {
    pub domain: String,
    /// Only snapshots whose name starts with it are candidates.
    pub prefix: String,
    pub rules: KeepRules,
    /// Plan every delete, change nothing.
    pub dry_run: bool,
}

/// What happened to one candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PruneAction {
    /// A rule keeps it.
    Keep,
    /// `--dry-run`: the plan would delete it.
    WouldRemove,
    /// `--dry-run`: the plan refuses to delete it now.
    WouldSkip,
    Removed,
    /// Not deleted: libvirt would refuse, or data still needed would be lost (see `detail`).
    Skipped,
    /// libvirt failed to delete it.
    Failed,
    /// Not tried: an earlier delete of this domain failed, so its model is not trusted.
    NotTried,
}

/// One candidate: retention's decision and what was done about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PruneEntry {
    #[serde(flatten)]
    pub decision: Decision,
    pub action: PruneAction,
    /// The delete's plan or outcome in words, or why it was skipped or failed.
    pub detail: Option<String>,
}

/// Everything a prune of one domain decided and did, newest candidate first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PruneReport {
    pub domain: String,
    pub prefix: String,
    /// The rules as given on the command line.
    pub rules: String,
    pub entries: Vec<PruneEntry>,
}

impl PruneReport {
    pub fn count(&self, action: PruneAction) -> usize {
        self.entries.iter().filter(|e| e.action == action).count()
    }
}

/// Decides the domain's candidates on the facts as they are now.
pub fn decide_now(layout: &Layout, job: &PruneJob, zone: &TimeZone) -> Vec<Decision> {
    let named = layout
        .snapshots
        .iter()
        .map(|s| (s.name.as_str(), s.created));
    decide(&candidates(named, &job.prefix), &job.rules, zone)
}

/// Prunes one domain (or, with `dry_run`, plans it). Err only when the domain's facts cannot
/// be read; every candidate's own outcome is in the report.
pub fn run(ctx: &JobContext, job: &PruneJob, zone: &TimeZone) -> Result<PruneReport, String> {
    let layout = storage::read_layout(ctx.conn, &job.domain).map_err(|e| e.to_string())?;
    let decisions = decide_now(&layout, job, zone);
    let mut entries: Vec<PruneEntry> = decisions
        .into_iter()
        .map(|decision| PruneEntry {
            action: if decision.keep {
                PruneAction::Keep
            } else {
                PruneAction::WouldRemove
            },
            decision,
            detail: None,
        })
        .collect();
    let mut failed = false;
    // Oldest first: entries are newest first.
    for e in entries.iter_mut().rev().filter(|e| !e.decision.keep) {
        let name = e.decision.name.clone();
        if job.dry_run {
            // Planned against the tree as it is now; the real run plans each delete again
            // after the one before it.
            let plan = plan_delete(&layout, &name, DeleteMode::This);
            let lines: Vec<String> = delete_lines(&plan).into_iter().map(|l| l.text).collect();
            e.action = if plan.refusal.is_some() {
                PruneAction::WouldSkip
            } else {
                PruneAction::WouldRemove
            };
            e.detail = Some(lines.join("\n"));
            continue;
        }
        if failed || ctx.is_cancelled() {
            e.action = PruneAction::NotTried;
            e.detail = Some(if failed {
                "not tried: an earlier delete of this domain failed".into()
            } else {
                "not tried: cancelled".into()
            });
            continue;
        }
        let delete = DeleteJob {
            domain: job.domain.clone(),
            snapshot: name,
            mode: DeleteMode::This,
        };
        match delete::run_planned(ctx, &delete) {
            Ok(outcome) => {
                e.action = PruneAction::Removed;
                e.detail = Some(outcome);
            }
            Err(DeleteError::Refused(r)) => {
                e.action = PruneAction::Skipped;
                e.detail = Some(format!("not deleted: {}", r.text()));
            }
            Err(DeleteError::Failed(t)) => {
                e.action = PruneAction::Failed;
                e.detail = Some(t);
                failed = true;
            }
        }
    }
    Ok(PruneReport {
        domain: job.domain.clone(),
        prefix: job.prefix.clone(),
        rules: job.rules.text(),
        entries,
    })
}
