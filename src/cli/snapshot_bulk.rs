//! `snapshot create` and `snapshot delete` over many VMs (`--domain`, `--match`, `--all`):
//! each VM is planned on its own facts, a failure in one does not stop the others, each
//! reports a line (or a JSON object), and the exit code adds them up (`cli::selection`).

use serde::Serialize;
use virt::connect::Connect;

use super::selection::{finish, resolve, VmReport};
use super::snapshot::CreateArgs;
use super::snapshot_delete::DeleteArgs;
use super::snapshot_revert::{lines_text, run_job};
use super::{print_out, CliError, Target};
use crate::libvirt::jobs::delete::{self, DeleteError, DeleteJob};
use crate::libvirt::jobs::snapshot_create::{self, verdict_for, CreateError, CreateJob};
use crate::libvirt::{open, storage};
use crate::model::bulk::{decide_for_bulk, BulkIntent, Outcome};
use crate::model::snapshot::SnapshotLocation;
use crate::model::storage::render::delete_lines;
use crate::model::storage::{CreateDenied, DeletePlan, Layout};
use crate::model::HostCapabilities;

/// What one VM gets in a bulk create, for `--json`.
#[derive(Debug, Serialize)]
pub struct CreateDetail {
    pub name: String,
    pub location: SnapshotLocation,
    pub memory: bool,
    pub quiesce: bool,
    pub summary: String,
    /// What it does not get of what was asked, and why.
    pub notes: Vec<String>,
    /// Files created (overlays, memory file); empty for `--dry-run`.
    pub files: Vec<std::path::PathBuf>,
}

fn host_caps(conn: &Connect) -> Option<HostCapabilities> {
    conn.capabilities()
        .ok()
        .and_then(|x| HostCapabilities::from_xml(&x).ok())
}

pub fn create(target: &Target, args: &CreateArgs) -> Result<(), CliError> {
    if (args.select.all || !args.select.globs.is_empty()) && args.domain.is_some() {
        return Err(CliError::Usage(
            "with --all or --match, name the snapshot with --name NAME or --prefix PREFIX \
             (the first argument is a DOMAIN)"
                .into(),
        ));
    }
    if target.connect.readonly && !args.dry_run {
        return Err(CliError::Refused(
            "read-only connection: snapshots cannot be created".into(),
        ));
    }
    let conn = open(&target.connect)?;
    let positional: Vec<String> = args.domain.iter().cloned().collect();
    let domains = resolve(&conn, &args.select.selection(&positional))?;
    // One time for every VM: the same name (or stamp) across the run.
    let now = storage::unix_now();
    let name = args.chosen_name(now)?;
    let host = host_caps(&conn);
    let mut reports = Vec::with_capacity(domains.len());
    for domain in &domains {
        let name = name
            .clone()
            .unwrap_or_else(|| super::snapshot::default_name(domain));
        let report = create_one(&conn, host.as_ref(), args, domain, &name);
        if !args.json {
            print_out(&report.text())?;
        }
        reports.push(report);
    }
    finish(
        &reports,
        args.json,
        if args.dry_run {
            "can be snapshotted"
        } else {
            "snapshotted"
        },
    )
}

fn create_one(
    conn: &Connect,
    host: Option<&HostCapabilities>,
    args: &CreateArgs,
    domain: &str,
    name: &str,
) -> VmReport<CreateDetail> {
    let layout = match storage::read_layout(conn, domain) {
        Ok(l) => l,
        Err(e) => return VmReport::new(domain, Outcome::Failed, e.to_string()),
    };
    let intent = BulkIntent {
        name: name.to_string(),
        memory: args.memory,
        quiesce: args.quiesce,
        location: args.kind.map(SnapshotLocation::from),
    };
    let choice = match decide_for_bulk(&layout, &verdict_for(&layout, host), &intent) {
        Ok(c) => c,
        Err(d) => return VmReport::new(domain, Outcome::Refused, denied_text(&d)),
    };
    let mut detail = CreateDetail {
        name: name.to_string(),
        location: choice.plan.location,
        memory: choice.memory,
        quiesce: choice.quiesce,
        summary: choice.plan.summary.clone(),
        notes: choice.notes.clone(),
        files: Vec::new(),
    };
    let notes = notes_text(&choice.notes);
    if args.dry_run {
        let text = format!("would create '{name}': {}{notes}", choice.plan.summary);
        return VmReport::new(domain, Outcome::Ok, text).with(detail);
    }
    let job = CreateJob {
        domain: domain.to_string(),
        name: name.to_string(),
        description: args.description.clone(),
        memory: choice.memory,
        quiesce: choice.quiesce,
        location: args.kind.map(SnapshotLocation::from),
    };
    match run_job(conn, |ctx| snapshot_create::create(ctx, &job)) {
        Ok(created) => {
            detail.files = created.files.clone();
            let text = format!("{}{notes}", snapshot_create::confirmation(&created));
            VmReport::new(domain, Outcome::Ok, text).with(detail)
        }
        Err(CreateError::Refused(t)) => VmReport::new(domain, Outcome::Refused, t).with(detail),
        Err(CreateError::Failed(t)) => VmReport::new(domain, Outcome::Failed, t).with(detail),
        // Nothing was made; the agent's words and the way to a crash-consistent one.
        Err(CreateError::QuiesceFailed(f)) => VmReport::new(
            domain,
            Outcome::Failed,
            format!(
                "{} Without --quiesce it gets a crash-consistent snapshot.",
                f.text
            ),
        )
        .with(detail),
    }
}

fn denied_text(d: &CreateDenied) -> String {
    match d {
        CreateDenied::Refused(t) => t.clone(),
        CreateDenied::NeedsConfirmation { risk, location } => format!(
            "{risk} Take it anyway with --kind {} (for every VM chosen).",
            location.as_str()
        ),
    }
}

fn notes_text(notes: &[String]) -> String {
    notes.iter().map(|n| format!("\n({n})")).collect()
}

pub fn delete(target: &Target, args: &DeleteArgs) -> Result<(), CliError> {
    let (positional, name) = args.bulk_target()?;
    if target.connect.readonly && !args.dry_run {
        return Err(CliError::Refused(
            "read-only connection: snapshots cannot be deleted".into(),
        ));
    }
    let conn = open(&target.connect)?;
    let domains = resolve(&conn, &args.select.selection(&positional))?;
    let mut reports = Vec::with_capacity(domains.len());
    for domain in &domains {
        let job = DeleteJob {
            domain: domain.clone(),
            snapshot: name.clone(),
            mode: args.mode(),
        };
        let report = delete_one(&conn, &job, args.dry_run);
        if !args.json {
            print_out(&report.text())?;
        }
        reports.push(report);
    }
    if reports.iter().all(|r| r.outcome == Outcome::Absent) {
        finish(&reports, args.json, "deleted")?;
        return Err(CliError::Refused(format!(
            "none of the {} domains chosen has a snapshot named '{name}'",
            reports.len()
        )));
    }
    finish(&reports, args.json, "done")
}

fn delete_one(conn: &Connect, job: &DeleteJob, dry_run: bool) -> VmReport<DeletePlan> {
    let domain = job.domain.as_str();
    let (layout, plan): (Layout, DeletePlan) = match delete::plan(conn, job) {
        Ok(p) => p,
        Err(e) => return VmReport::new(domain, Outcome::Failed, e),
    };
    if layout.snapshot(&job.snapshot).is_none() {
        let text = format!("has no snapshot named '{}': nothing to do", job.snapshot);
        return VmReport::new(domain, Outcome::Absent, text);
    }
    let lines = lines_text(&delete_lines(&plan));
    if plan.refusal.is_some() {
        return VmReport::new(domain, Outcome::Refused, lines.trim_end()).with(plan);
    }
    if dry_run {
        return VmReport::new(domain, Outcome::Ok, lines.trim_end()).with(plan);
    }
    match run_job(conn, |ctx| delete::run_planned(ctx, job)) {
        Ok(done) => VmReport::new(domain, Outcome::Ok, done).with(plan),
        Err(DeleteError::Refused(r)) => VmReport::new(
            domain,
            Outcome::Refused,
            format!("not deleted: {}", r.text()),
        )
        .with(plan),
        Err(DeleteError::Failed(t)) => VmReport::new(domain, Outcome::Failed, t).with(plan),
    }
}
