//! `virtsnap snapshot delete DOMAIN NAME [--children|--children-only|--metadata-only]
//! [--dry-run] [--json]`: the plan is printed first; what libvirt would refuse, or what
//! would lose data that is still needed, is refused up front (exit 3) with the reason.

use serde::Serialize;

use super::snapshot_revert::{lines_text, run_job};
use super::{print_out, CliError, Target};
use crate::libvirt::jobs::delete::{self, DeleteError, DeleteJob};
use crate::libvirt::open;
use crate::model::storage::render::delete_lines;
use crate::model::storage::{DeleteMode, DeletePlan};

/// `snapshot delete`'s arguments.
#[derive(Debug, clap::Args)]
pub struct DeleteArgs {
    /// Domain name
    pub domain: String,
    /// Snapshot name
    pub name: String,
    /// Delete its children too
    #[arg(long, conflicts_with_all = ["children_only", "metadata_only"])]
    pub children: bool,
    /// Delete only its children
    #[arg(long, conflicts_with = "metadata_only")]
    pub children_only: bool,
    /// Only make libvirt forget it; its data and files are kept (and listed)
    #[arg(long)]
    pub metadata_only: bool,
    /// Print the plan and change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Print the plan (and the outcome) as JSON
    #[arg(long)]
    pub json: bool,
}

impl DeleteArgs {
    pub fn mode(&self) -> DeleteMode {
        if self.children {
            DeleteMode::WithChildren
        } else if self.children_only {
            DeleteMode::ChildrenOnly
        } else if self.metadata_only {
            DeleteMode::MetadataOnly
        } else {
            DeleteMode::This
        }
    }
}

#[derive(Serialize)]
struct Report<'a> {
    plan: &'a DeletePlan,
    outcome: Option<String>,
}

pub fn run(target: &Target, args: &DeleteArgs) -> Result<(), CliError> {
    if target.connect.readonly && !args.dry_run {
        return Err(CliError::Refused(
            "read-only connection: snapshots cannot be deleted".into(),
        ));
    }
    let conn = open(&target.connect)?;
    let job = DeleteJob {
        domain: args.domain.clone(),
        snapshot: args.name.clone(),
        mode: args.mode(),
    };
    let (_, plan) = delete::plan(&conn, &job).map_err(CliError::Runtime)?;
    let text = lines_text(&delete_lines(&plan));
    if args.json && (args.dry_run || plan.refusal.is_some()) {
        print_json(&Report {
            plan: &plan,
            outcome: None,
        })?;
    } else if args.dry_run {
        print_out(&text)?;
    } else {
        eprint!("{text}");
    }
    if let Some(r) = &plan.refusal {
        return Err(super::refusal_error(r, "deleted"));
    }
    if args.dry_run {
        return Ok(());
    }
    let done = run_job(&conn, |ctx| delete::run_planned(ctx, &job)).map_err(|e| match e {
        DeleteError::Refused(r) => super::refusal_error(&r, "deleted"),
        DeleteError::Failed(t) => CliError::Runtime(t),
    })?;
    if args.json {
        return print_json(&Report {
            plan: &plan,
            outcome: Some(done),
        });
    }
    print_out(&format!("{done}\n"))
}

fn print_json(value: &impl Serialize) -> Result<(), CliError> {
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    print_out(&text)
}
