//! `virtsnap snapshot prune DOMAIN... | --match GLOB | --all --prefix PREFIX [--keep-last N]
//! [--keep-hourly N] [--keep-daily N] [--keep-weekly N] [--keep-monthly N] [--dry-run]
//! [--json]`: removes the scheduled snapshots (names starting with PREFIX) that no keep rule
//! keeps. The rules and their semantics are `model::retention`'s; each delete is planned and
//! carried out like an interactive one (`libvirt::jobs::prune`).

use jiff::tz::TimeZone;
use jiff::Timestamp;

use super::selection::{finish, resolve, SelectArgs, VmReport};
use super::snapshot_revert::run_job;
use super::{print_out, CliError, Target};
use crate::libvirt::jobs::prune::{self, PruneAction, PruneJob, PruneReport};
use crate::libvirt::open;
use crate::model::bulk::Outcome;
use crate::model::retention::{check_prefix, KeepRules};

/// `snapshot prune`'s arguments.
#[derive(Debug, clap::Args)]
#[command(after_help = RULES_HELP)]
pub struct PruneArgs {
    /// Domains to prune (more with --domain, --match, --all)
    #[arg(value_name = "DOMAIN")]
    pub positional: Vec<String>,
    #[command(flatten)]
    pub select: SelectArgs,
    /// Only snapshots whose name starts with PREFIX are candidates (the names `snapshot create
    /// --prefix PREFIX` gives); no other snapshot is ever removed
    #[arg(long, value_name = "PREFIX")]
    pub prefix: String,
    /// Keep the N newest candidates
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub keep_last: u32,
    /// Keep the newest candidate of each of the last N hours that have one
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub keep_hourly: u32,
    /// Keep the newest candidate of each of the last N days that have one
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub keep_daily: u32,
    /// Keep the newest candidate of each of the last N ISO weeks that have one
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub keep_weekly: u32,
    /// Keep the newest candidate of each of the last N months that have one
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub keep_monthly: u32,
    /// Print what would be kept and removed, and why; change nothing. Each delete is planned
    /// against the snapshots as they are now (a real prune plans each again after the one
    /// before it)
    #[arg(long)]
    pub dry_run: bool,
    /// Print one JSON object per domain
    #[arg(long)]
    pub json: bool,
}

const RULES_HELP: &str = "\
Keep rules (restic's semantics; borg's for a single rule):
  Going from the newest candidate back, --keep-hourly/daily/weekly/monthly N keep the newest
  snapshot of each of the last N hours/days/ISO weeks/months that have snapshots (periods
  without one do not count). The rules are independent and their union is kept: a snapshot
  kept by several rules counts once (and counts for each of them). The newest candidate is
  always kept when any rule is given; at least one rule is required.
  Periods are calendar periods in the host's local time zone (TZ, else /etc/localtime), taken
  at each snapshot's creation time, so DST changes move no snapshot into another day. Weeks
  run Monday to Sunday.
  Candidates are removed oldest first, each like `snapshot delete DOMAIN NAME`: what libvirt
  would refuse or what would lose data still needed is skipped with the reason, never forced.

Exit status: 0 all done, 1 a delete (or reading a domain) failed, 3 some snapshots were
skipped (refused) and none failed, 2 usage error.";

impl PruneArgs {
    pub fn rules(&self) -> KeepRules {
        KeepRules {
            last: self.keep_last,
            hourly: self.keep_hourly,
            daily: self.keep_daily,
            weekly: self.keep_weekly,
            monthly: self.keep_monthly,
        }
    }
}

pub fn run(target: &Target, args: &PruneArgs) -> Result<(), CliError> {
    let rules = args.rules();
    if rules.is_empty() {
        return Err(CliError::Usage(
            "give at least one --keep-* rule: without one every snapshot with the prefix would \
             be removed"
                .into(),
        ));
    }
    check_prefix(&args.prefix).map_err(CliError::Usage)?;
    if target.connect.readonly && !args.dry_run {
        return Err(CliError::Refused(
            "read-only connection: snapshots cannot be deleted (use --dry-run)".into(),
        ));
    }
    let conn = open(&target.connect)?;
    let domains = resolve(&conn, &args.select.selection(&args.positional))?;
    let zone = TimeZone::system();
    let mut reports = Vec::with_capacity(domains.len());
    for domain in &domains {
        let job = PruneJob {
            domain: domain.clone(),
            prefix: args.prefix.clone(),
            rules,
            dry_run: args.dry_run,
        };
        let report = match run_job(&conn, |ctx| prune::run(ctx, &job, &zone)) {
            Ok(r) => VmReport::new(domain, outcome(&r), summary(&r, args.dry_run)).with(r),
            Err(e) => VmReport::new(domain, Outcome::Failed, e),
        };
        if !args.json {
            print_out(&text(&report, &zone))?;
        }
        reports.push(report);
    }
    finish(
        &reports,
        args.json,
        if args.dry_run { "planned" } else { "pruned" },
    )
}

fn outcome(r: &PruneReport) -> Outcome {
    if r.count(PruneAction::Failed) > 0 {
        Outcome::Failed
    } else if r.count(PruneAction::Skipped) + r.count(PruneAction::WouldSkip) > 0 {
        Outcome::Refused
    } else {
        Outcome::Ok
    }
}

fn summary(r: &PruneReport, dry_run: bool) -> String {
    let n = r.entries.len();
    let keep = r.count(PruneAction::Keep);
    let mut s = format!(
        "prefix '{}', {}: {n} candidate{}, {keep} kept",
        r.prefix,
        r.rules,
        if n == 1 { "" } else { "s" }
    );
    let parts = [
        (PruneAction::WouldRemove, "would be removed"),
        (PruneAction::WouldSkip, "would be skipped"),
        (PruneAction::Removed, "removed"),
        (PruneAction::Skipped, "skipped"),
        (PruneAction::Failed, "failed"),
        (PruneAction::NotTried, "not tried"),
    ];
    for (a, words) in parts {
        let c = r.count(a);
        if c > 0 {
            s.push_str(&format!(", {c} {words}"));
        }
    }
    if dry_run {
        s.push_str(" (dry run)");
    }
    s
}

/// The domain's line, then a line per candidate (newest first) with its details indented.
fn text(report: &VmReport<PruneReport>, zone: &TimeZone) -> String {
    let mut out = report.text();
    let Some(r) = &report.detail else {
        return out;
    };
    let width = r
        .entries
        .iter()
        .map(|e| e.decision.name.chars().count())
        .max()
        .unwrap_or(0);
    for e in &r.entries {
        let action = match e.action {
            PruneAction::Keep => "keep",
            PruneAction::WouldRemove => "remove",
            PruneAction::WouldSkip => "skip",
            PruneAction::Removed => "removed",
            PruneAction::Skipped => "SKIPPED",
            PruneAction::Failed => "FAILED",
            PruneAction::NotTried => "not tried",
        };
        out.push_str(&format!(
            "  {action:<9} {:<width$}  {}  {}\n",
            e.decision.name,
            local(e.decision.created, zone),
            e.decision.reason()
        ));
        for l in e.detail.iter().flat_map(|d| d.lines()) {
            out.push_str(&format!("            {l}\n"));
        }
    }
    out
}

/// `2026-11-29 03:00` in the zone retention used.
fn local(unix: i64, zone: &TimeZone) -> String {
    match Timestamp::from_second(unix) {
        Ok(t) => {
            let d = zone.to_datetime(t);
            format!(
                "{:04}-{:02}-{:02} {:02}:{:02}",
                d.year(),
                d.month(),
                d.day(),
                d.hour(),
                d.minute()
            )
        }
        Err(_) => format!("@{unix}"),
    }
}
