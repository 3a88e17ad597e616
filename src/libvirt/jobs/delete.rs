//! Deleting a snapshot, as planned by `model::storage::plan_delete`: planned again from fresh
//! facts when the job starts, refused up front when libvirt would refuse or data would be
//! lost, and its outcome said with what happened to the files.

use virt::connect::Connect;

use super::JobContext;
use crate::libvirt::{inventory, snapshots, storage};
use crate::model::storage::{plan_delete, short, DeleteMode, DeletePlan, Layout, Refusal};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteJob {
    pub domain: String,
    pub snapshot: String,
    pub mode: DeleteMode,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeleteError {
    Refused(Refusal),
    Failed(String),
}

impl DeleteError {
    pub fn text(&self) -> String {
        match self {
            Self::Refused(r) => format!("not deleted: {}", r.text()),
            Self::Failed(t) => t.clone(),
        }
    }
}

/// Reads the domain and plans the delete (no changes).
pub fn plan(conn: &Connect, job: &DeleteJob) -> Result<(Layout, DeletePlan), String> {
    let layout = storage::read_layout(conn, &job.domain).map_err(|e| e.to_string())?;
    let plan = plan_delete(&layout, &job.snapshot, job.mode);
    Ok((layout, plan))
}

pub fn run(ctx: &JobContext, job: &DeleteJob) -> Result<String, String> {
    run_planned(ctx, job).map_err(|e| e.text())
}

pub fn run_planned(ctx: &JobContext, job: &DeleteJob) -> Result<String, DeleteError> {
    let failed = DeleteError::Failed;
    let (_, plan) = plan(ctx.conn, job).map_err(failed)?;
    if let Some(r) = plan.refusal.clone() {
        return Err(DeleteError::Refused(r));
    }
    let dom = inventory::lookup(ctx.conn, &job.domain).map_err(|e| failed(e.to_string()))?;
    let snap =
        snapshots::lookup(&dom, &job.domain, &job.snapshot).map_err(|e| failed(e.to_string()))?;
    ctx.step(step_words(&plan));
    snap.delete(job.mode.flags()).map_err(|e| {
        failed(format!(
            "deleting '{}' of {} failed: {}. virtsnap did not predict this refusal",
            job.snapshot,
            job.domain,
            e.message()
        ))
    })?;
    Ok(outcome(&plan))
}

fn step_words(plan: &DeletePlan) -> String {
    let name = &plan.snapshot;
    match plan.mode {
        DeleteMode::MetadataOnly => format!("forgetting {name} (metadata only)"),
        _ if !plan.effects.commits.is_empty() => {
            let mut s = format!("deleting {name}: merging its data (block commit)");
            if plan.starts_vm {
                s.push_str("; libvirt starts the VM paused for it and stops it again");
            }
            s
        }
        DeleteMode::ChildrenOnly => format!("deleting the children of {name}"),
        _ => format!("deleting {name}"),
    }
}

/// The line the jobs bar and the CLI show: what went, and what stays on disk.
pub fn outcome(plan: &DeletePlan) -> String {
    let (name, domain) = (&plan.snapshot, &plan.domain);
    let mut text = match plan.mode {
        DeleteMode::This => format!("deleted snapshot '{name}' of {domain}"),
        DeleteMode::WithChildren => {
            format!("deleted snapshot '{name}' of {domain} and its children")
        }
        DeleteMode::ChildrenOnly => format!("deleted the children of '{name}' of {domain}"),
        DeleteMode::MetadataOnly => format!("libvirt forgot snapshot '{name}' of {domain}"),
    };
    if !plan.left_on_disk.is_empty() {
        let files: Vec<String> = plan
            .left_on_disk
            .iter()
            .map(|f| match f.vm_use {
                Some(u) => format!("{} ({})", f.path, u.words()),
                None => f.path.clone(),
            })
            .collect();
        text.push_str(&format!("; left on disk: {}", files.join(", ")));
    }
    let removed: Vec<&str> = plan
        .effects
        .removed
        .iter()
        .map(|f| short(f))
        .chain(plan.effects.commits.iter().map(|c| short(&c.top)))
        .collect();
    if !removed.is_empty() {
        text.push_str(&format!("; removed {}", removed.join(", ")));
    }
    text
}
