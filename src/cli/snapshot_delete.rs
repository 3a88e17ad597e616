//! `virtsnap snapshot delete DOMAIN NAME [--children|--children-only|--metadata-only]
//! [--dry-run] [--json]`: the plan is printed first; what libvirt would refuse, or what
//! would lose data that is still needed, is refused up front (exit 3) with the reason.
//!
//! `virtsnap snapshot delete NAME (--domain DOMAIN...|--match GLOB|--all)` deletes NAME from
//! many VMs (`cli::snapshot_bulk`). The selection is given by flags so that the positional
//! arguments never change meaning: two are always DOMAIN NAME, one (with a selection flag)
//! is NAME.

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
    /// DOMAIN NAME; or NAME alone with --domain, --match or --all
    #[arg(value_name = "DOMAIN|NAME")]
    pub first: String,
    /// Snapshot name (after DOMAIN)
    #[arg(value_name = "NAME")]
    pub second: Option<String>,
    #[command(flatten)]
    pub select: super::selection::SelectArgs,
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
    /// (domain, name) of the one-VM form.
    fn single(&self) -> Result<(String, String), CliError> {
        match &self.second {
            Some(name) => Ok((self.first.clone(), name.clone())),
            None => Err(CliError::Usage(format!(
                "which snapshot? `snapshot delete {0} NAME`, or to delete '{0}' from many VMs \
                 add --domain DOMAIN, --match GLOB or --all",
                self.first
            ))),
        }
    }

    /// (positional domains, name) of the many-VM form.
    pub fn bulk_target(&self) -> Result<(Vec<String>, String), CliError> {
        let s = &self.select;
        match &self.second {
            Some(_) if s.all || !s.globs.is_empty() => Err(CliError::Usage(
                "with --all or --match give only the snapshot NAME (two arguments are DOMAIN NAME)"
                    .into(),
            )),
            Some(name) => Ok((vec![self.first.clone()], name.clone())),
            None => Ok((Vec::new(), self.first.clone())),
        }
    }

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
    if args.select.is_bulk() {
        return super::snapshot_bulk::delete(target, args);
    }
    let (domain, name) = args.single()?;
    if target.connect.readonly && !args.dry_run {
        return Err(CliError::Refused(
            "read-only connection: snapshots cannot be deleted".into(),
        ));
    }
    let conn = open(&target.connect)?;
    let job = DeleteJob {
        domain,
        snapshot: name,
        mode: args.mode(),
    };
    let (_, plan) = delete::plan(&conn, &job).map_err(CliError::Runtime)?;
    let text = lines_text(&delete_lines(&plan));
    if args.json && !plan.worked_out() {
        // Nothing was worked out (no such snapshot): the refusal alone, no empty plan.
        print_json(&serde_json::json!({
            "plan": {
                "domain": plan.domain,
                "snapshot": plan.snapshot,
                "mode": plan.mode,
                "refusal": plan.refusal,
            },
            "outcome": null,
        }))?;
    } else if args.json && (args.dry_run || plan.refusal.is_some()) {
        print_json(&Report {
            plan: &plan,
            outcome: None,
        })?;
    } else if args.dry_run {
        print_out(&text)?;
    } else {
        crate::err_print!("{text}");
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
