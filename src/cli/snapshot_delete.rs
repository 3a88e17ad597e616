//! `virtsnap snapshot delete DOMAIN NAME [--children|--children-only|--metadata-only]`:
//! combinations libvirt would refuse are refused up front (exit 3) with the reason.

use super::snapshot_list::read_tree;
use super::snapshot_revert::run_job;
use super::{print_out, CliError, Target};
use crate::libvirt::jobs::delete::{self, delete_refusal, delete_summary, DeleteJob, DeleteMode};
use crate::libvirt::open;
use crate::model::snapshot::SnapshotLocation;

pub fn run(
    target: &Target,
    domain: &str,
    snapshot: &str,
    mode: DeleteMode,
) -> Result<(), CliError> {
    if target.connect.readonly {
        return Err(CliError::Refused(
            "read-only connection: snapshots cannot be deleted".into(),
        ));
    }
    let tree = read_tree(target, domain)?;
    let Some(info) = tree.get(snapshot) else {
        return Err(CliError::Runtime(format!(
            "'{domain}' has no snapshot named '{snapshot}'"
        )));
    };
    let external = info.location == SnapshotLocation::External;
    let conn = open(&target.connect)?;
    let version = conn.lib_version().map_or(0, u64::from);
    let vm_active = crate::libvirt::inventory::lookup(&conn, domain)?
        .is_active()
        .unwrap_or(false);
    if let Some(why) = delete_refusal(&tree, snapshot, mode, version, vm_active) {
        return Err(CliError::Refused(format!("not deleted: {why}")));
    }
    for line in delete_summary(&tree, snapshot, mode) {
        eprintln!("{line}");
    }
    let job = DeleteJob {
        domain: domain.to_string(),
        snapshot: snapshot.to_string(),
        mode,
        external,
    };
    let done = run_job(&conn, |ctx| delete::run(ctx, &job)).map_err(CliError::Runtime)?;
    print_out(&format!("{done}\n"))
}
