//! `virtsnap snapshot revert DOMAIN NAME [--running|--paused] [--force]
//! [--no-safety-snapshot]`: the TUI's revert job, with refusals before anything changes.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use virt::connect::Connect;

use super::snapshot_list::read_tree;
use super::{print_out, CliError, Target};
use crate::app::snapshot_view::local_time;
use crate::libvirt::jobs::revert::{self, revert_refusal, AfterRevert, ForcePolicy, RevertJob};
use crate::libvirt::jobs::{JobContext, JobUpdate};
use crate::libvirt::open;
use crate::libvirt::worker::Event;

pub struct RevertArgs {
    pub domain: String,
    pub snapshot: String,
    pub after: AfterRevert,
    pub force: bool,
    pub safety: bool,
}

pub fn run(target: &Target, args: RevertArgs) -> Result<(), CliError> {
    if target.connect.readonly {
        return Err(CliError::Refused(
            "read-only connection: snapshots cannot be reverted".into(),
        ));
    }
    let tree = read_tree(target, &args.domain)?;
    let info = tree.get(&args.snapshot).ok_or_else(|| {
        CliError::Runtime(format!(
            "'{}' has no snapshot named '{}'",
            args.domain, args.snapshot
        ))
    })?;
    let conn = open(&target.connect)?;
    let version = conn.lib_version().map_or(0, u64::from);
    if let Some(why) = revert_refusal(info, version) {
        return Err(CliError::Refused(format!("not reverted: {why}")));
    }
    let stamp = local_time(super::snapshot_list::unix_now() as i64, true)
        .replace(['-', ':'], "")
        .replace(' ', "-");
    let job = RevertJob {
        domain: args.domain.clone(),
        snapshot: args.snapshot.clone(),
        after: args.after,
        force: if args.force {
            ForcePolicy::Always
        } else {
            ForcePolicy::Never
        },
        safety: args.safety.then(|| format!("pre-revert-{stamp}")),
    };
    let done = run_job(&conn, |ctx| revert::run(ctx, &job)).map_err(CliError::Runtime)?;
    print_out(&format!("{done}\n"))
}

/// Runs a job on this thread, its steps on stderr. No job run here asks a question: the CLI
/// decides everything up front through its flags.
pub fn run_job(
    conn: &Connect,
    f: impl FnOnce(&JobContext) -> Result<String, String>,
) -> Result<String, String> {
    let emit = |e: Event| {
        if let Event::Job {
            update: JobUpdate::Step(step),
            ..
        } = e
        {
            eprintln!("{step}...");
        }
    };
    // The sender stays alive so the job's waits time out normally instead of seeing a cancel.
    let (_controls_tx, controls) = std::sync::mpsc::channel();
    let ctx = JobContext {
        conn,
        id: 0,
        emit: &emit,
        controls,
        cancelled: Arc::new(AtomicBool::new(false)),
    };
    f(&ctx)
}
