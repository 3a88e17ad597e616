//! `virtsnap snapshot revert DOMAIN NAME [--running|--paused] [--no-safety-snapshot]
//! [--stop-first] [--dry-run] [--json]`: the TUI's revert plan and job. The plan is printed
//! first; a revert that would lose data somebody needs is refused (exit 3) before anything
//! changes, with the ways out.

use serde::Serialize;

use super::{print_out, CliError, Target};
use crate::app::snapshot_view::safety_base_name;
use crate::libvirt::jobs::revert::{self, RevertError, RevertJob};
use crate::libvirt::open;
use crate::model::storage::render::{revert_lines, PlanLine};
use crate::model::storage::{AfterRevert, RevertPlan};

/// `snapshot revert`'s arguments.
#[derive(Debug, clap::Args)]
pub struct RevertArgs {
    /// Domain name
    pub domain: String,
    /// Snapshot name
    pub name: String,
    /// Leave the VM running after the revert
    #[arg(long, conflicts_with = "paused")]
    pub running: bool,
    /// Leave the VM paused after the revert
    #[arg(long)]
    pub paused: bool,
    /// Do not take the safety snapshot: the current state is lost
    #[arg(long)]
    pub no_safety_snapshot: bool,
    /// Shut the VM down gracefully first (then a safety snapshot of its disks can survive a
    /// revert to an internal snapshot)
    #[arg(long)]
    pub stop_first: bool,
    /// Seconds --stop-first waits for the guest to shut down; then the revert is not done
    #[arg(long, value_name = "SECONDS", default_value_t = revert::STOP_FIRST_TIMEOUT_SECS)]
    pub timeout: u64,
    /// Print the plan and change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Print the plan (and the outcome) as JSON
    #[arg(long)]
    pub json: bool,
}

impl RevertArgs {
    fn after(&self) -> AfterRevert {
        if self.running {
            AfterRevert::Running
        } else if self.paused {
            AfterRevert::Paused
        } else {
            AfterRevert::Saved
        }
    }
}

#[derive(Serialize)]
struct Report<'a> {
    plan: &'a RevertPlan,
    /// The outcome line; absent for --dry-run and refusals.
    outcome: Option<String>,
}

pub fn run(target: &Target, args: RevertArgs) -> Result<(), CliError> {
    if target.connect.readonly && !args.dry_run {
        return Err(CliError::Refused(
            "read-only connection: snapshots cannot be reverted".into(),
        ));
    }
    let conn = open(&target.connect)?;
    let now = crate::libvirt::storage::unix_now();
    let mut job = RevertJob {
        domain: args.domain.clone(),
        snapshot: args.name.clone(),
        after: args.after(),
        safety: (!args.no_safety_snapshot).then(|| safety_base_name(now)),
        stop_first: args.stop_first,
        stop_timeout_secs: args.timeout,
    };
    let (layout, plan) = revert::plan(&conn, &job).map_err(CliError::Runtime)?;
    if let Some(base) = &job.safety {
        job.safety = Some(layout.unique_name(base));
    }
    if args.json && !plan.worked_out() {
        // Nothing was worked out (no such snapshot): the refusal alone, no empty plan.
        print_json(&serde_json::json!({
            "plan": {
                "domain": plan.domain,
                "target": plan.target,
                "refusal": plan.refusal,
            },
            "outcome": null,
        }))?;
    } else if args.json && (args.dry_run || plan.is_refused()) {
        print_json(&Report {
            plan: &plan,
            outcome: None,
        })?;
    } else if args.dry_run {
        print_out(&lines_text(&revert_lines(&plan)))?;
    } else {
        crate::err_print!("{}", lines_text(&revert_lines(&plan)));
    }
    if let Some(r) = &plan.refusal {
        return Err(super::refusal_error(r, "reverted"));
    }
    if args.dry_run {
        return Ok(());
    }
    let done = run_job(&conn, |ctx| revert::run_planned(ctx, &job)).map_err(|e| match e {
        RevertError::Refused(r) => super::refusal_error(&r, "reverted"),
        RevertError::Failed(t) => CliError::Runtime(t),
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

/// Plan lines as text, one per line.
pub fn lines_text(lines: &[PlanLine]) -> String {
    lines.iter().map(|l| format!("{}\n", l.text)).collect()
}

pub use super::progress::run_job;
