//! Retention: which of a domain's scheduled snapshots a prune keeps, and why. Pure: the
//! snapshots and the time zone are passed in.
//!
//! The rules are restic's (`restic forget --keep-*`), which borg's `prune` shares for a
//! single rule:
//! - `last N` keeps the N newest snapshots.
//! - `hourly N`, `daily N`, `weekly N`, `monthly N`: going from the newest snapshot back, each
//!   rule keeps the newest snapshot of each hour (day, ISO 8601 week, month) that has
//!   snapshots, until it has kept N. Periods without snapshots do not count: `daily 7` over a
//!   VM snapshotted on weekdays only reaches back nine days.
//! - The rules are independent and their union is kept: a snapshot kept by several rules
//!   counts once, and counts for every rule that keeps it (restic's way; borg instead lets a
//!   snapshot kept by an earlier rule not count for the later ones, so borg keeps more).
//! - The newest snapshot is always kept when any rule is given (every rule keeps it).
//! - No rule at all keeps nothing: callers refuse to prune without one.
//!
//! Periods are calendar periods in the host's local time zone (the caller passes
//! `TimeZone::system()`, which reads TZ or /etc/localtime), taken at each snapshot's own
//! instant, so a DST change moves no snapshot into the wrong day: the spring day of 23 hours
//! and the autumn day of 25 hours are one day each. Hours are wall-clock hours, as in restic
//! and borg: the hour repeated when DST ends (02:00-03:00 twice) is one hourly period. Weeks
//! are ISO weeks (Monday to Sunday, numbered by the year that holds their Thursday: 2026-12-31
//! is in 2026-W53, 2027-01-01 too).
//!
//! Only candidates are ever looked at: snapshots whose name starts with the prefix the
//! scheduled create uses ([`candidates`]); hand-made ones are never touched.

use jiff::tz::TimeZone;
use jiff::Timestamp;
use serde::Serialize;

/// How many of each kind of period to keep; 0 leaves a rule out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct KeepRules {
    pub last: u32,
    pub hourly: u32,
    pub daily: u32,
    pub weekly: u32,
    pub monthly: u32,
}

impl KeepRules {
    /// No rule given: a prune would keep nothing.
    pub fn is_empty(&self) -> bool {
        self.rules().iter().all(|(_, n)| *n == 0)
    }

    fn rules(&self) -> [(Rule, u32); 5] {
        [
            (Rule::Last, self.last),
            (Rule::Hourly, self.hourly),
            (Rule::Daily, self.daily),
            (Rule::Weekly, self.weekly),
            (Rule::Monthly, self.monthly),
        ]
    }

    /// `--keep-daily 7 --keep-weekly 4`, the rules given, in the command line's words.
    pub fn text(&self) -> String {
        let given: Vec<String> = self
            .rules()
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(r, n)| format!("--keep-{} {n}", r.as_str()))
            .collect();
        if given.is_empty() {
            "no keep rule".into()
        } else {
            given.join(" ")
        }
    }
}

/// One keep rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Rule {
    Last,
    Hourly,
    Daily,
    Weekly,
    Monthly,
}

impl Rule {
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::Last => "last",
            Rule::Hourly => "hourly",
            Rule::Daily => "daily",
            Rule::Weekly => "weekly",
            Rule::Monthly => "monthly",
        }
    }

    fn periods(self) -> &'static str {
        match self {
            Rule::Last => "snapshots",
            Rule::Hourly => "hours",
            Rule::Daily => "days",
            Rule::Weekly => "weeks",
            Rule::Monthly => "months",
        }
    }

    /// The period holding local time `t`, as a label that sorts within one rule:
    /// `2026-11-29 03h`, `2026-11-29`, `2026-W48`, `2026-11`.
    fn period(self, t: &jiff::civil::DateTime) -> String {
        let d = t.date();
        match self {
            Rule::Last => String::new(),
            Rule::Hourly => format!(
                "{:04}-{:02}-{:02} {:02}h",
                d.year(),
                d.month(),
                d.day(),
                t.hour()
            ),
            Rule::Daily => format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day()),
            Rule::Weekly => {
                let w = d.iso_week_date();
                format!("{:04}-W{:02}", w.year(), w.week())
            }
            Rule::Monthly => format!("{:04}-{:02}", d.year(), d.month()),
        }
    }
}

/// A snapshot retention looks at: its name and libvirt's `creationTime` (Unix seconds).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Candidate {
    pub name: String,
    pub created: i64,
}

/// Why one rule keeps a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeptBy {
    pub rule: Rule,
    /// The period it is the newest of (`2026-W48`), or `3 of 7` for `last`.
    pub period: String,
}

/// What retention decides for one candidate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    pub name: String,
    pub created: i64,
    pub keep: bool,
    /// Every rule that keeps it; empty when it is removed.
    pub kept_by: Vec<KeptBy>,
    /// For a removed one: why each rule given passes it over.
    pub passed_over: Vec<String>,
}

impl Decision {
    /// "kept by daily 2026-11-29, weekly 2026-W48" or "removed: ...".
    pub fn reason(&self) -> String {
        if self.keep {
            let by: Vec<String> = self
                .kept_by
                .iter()
                .map(|k| format!("{} {}", k.rule.as_str(), k.period))
                .collect();
            format!("kept by {}", by.join(", "))
        } else {
            format!("no rule keeps it: {}", self.passed_over.join("; "))
        }
    }
}

/// The snapshots whose name starts with `prefix`: the only ones a prune may remove.
pub fn candidates<'a>(
    snapshots: impl IntoIterator<Item = (&'a str, i64)>,
    prefix: &str,
) -> Vec<Candidate> {
    snapshots
        .into_iter()
        .filter(|(name, _)| !prefix.is_empty() && name.starts_with(prefix))
        .map(|(name, created)| Candidate {
            name: name.to_string(),
            created,
        })
        .collect()
}

/// The name a scheduled create gives a snapshot: `prefix`, a `-` when the prefix ends in a
/// letter or digit, then the time in UTC as `YYYYMMDD-HHMMSSZ` (`nightly-20261129-020000Z`).
/// UTC because it sorts in the order the snapshots were taken and never repeats: local
/// wall-clock time repeats an hour when DST ends, and an hourly schedule would then ask for
/// the same name twice. Retention reads libvirt's `creationTime`, never this stamp.
pub fn scheduled_name(prefix: &str, unix: i64) -> String {
    let t = Timestamp::from_second(unix)
        .map(|t| TimeZone::UTC.to_datetime(t))
        .unwrap_or_default();
    let sep = if prefix.chars().last().is_some_and(char::is_alphanumeric) {
        "-"
    } else {
        ""
    };
    format!(
        "{prefix}{sep}{:04}{:02}{:02}-{:02}{:02}{:02}Z",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Why `prefix` cannot name scheduled snapshots, or Ok: it must not be empty (every snapshot
/// would be a candidate, hand-made ones too) and the names it makes must pass
/// [`crate::model::snapshot::validate_name`].
pub fn check_prefix(prefix: &str) -> Result<(), String> {
    if prefix.is_empty() {
        return Err(
            "the prefix is empty: every snapshot would be a candidate for removal, \
                    hand-made ones too"
                .into(),
        );
    }
    crate::model::snapshot::validate_name(&scheduled_name(prefix, 0), &[], &[])
        .map_err(|e| format!("prefix {prefix:?}: {e}"))
}

/// Decides every candidate, newest first (ties in the same second: by name, last first).
/// `zone` is the host's local time zone (`TimeZone::system()`); tests pass fixed offsets
/// and POSIX DST rules.
pub fn decide(candidates: &[Candidate], rules: &KeepRules, zone: &TimeZone) -> Vec<Decision> {
    let mut sorted: Vec<&Candidate> = candidates.iter().collect();
    sorted.sort_by(|a, b| b.created.cmp(&a.created).then_with(|| b.name.cmp(&a.name)));
    let local: Vec<Option<jiff::civil::DateTime>> = sorted
        .iter()
        .map(|c| {
            Timestamp::from_second(c.created)
                .ok()
                .map(|t| zone.to_datetime(t))
        })
        .collect();
    let mut out: Vec<Decision> = sorted
        .iter()
        .map(|c| Decision {
            name: c.name.clone(),
            created: c.created,
            keep: false,
            kept_by: Vec::new(),
            passed_over: Vec::new(),
        })
        .collect();
    for (rule, n) in rules.rules() {
        if n == 0 {
            continue;
        }
        // (period, name of the snapshot kept for it) of the period seen last.
        let mut last: Option<(String, String)> = None;
        let mut kept = 0u32;
        for (i, d) in out.iter_mut().enumerate() {
            let period = match (rule, &local[i]) {
                (Rule::Last, _) => format!("#{i}"),
                (_, Some(t)) => rule.period(t),
                // A creation time outside the calendar is a period of its own.
                (_, None) => format!("@{}", d.created),
            };
            match &last {
                Some((p, winner)) if *p == period => d.passed_over.push(format!(
                    "{} {period} keeps the newer '{winner}'",
                    rule.as_str()
                )),
                _ if kept >= n => d.passed_over.push(format!(
                    "{} keeps only the {n} newest {}",
                    rule.as_str(),
                    rule.periods()
                )),
                _ => {
                    kept += 1;
                    d.keep = true;
                    d.kept_by.push(KeptBy {
                        rule,
                        period: match rule {
                            Rule::Last => format!("{kept} of {n}"),
                            _ => period.clone(),
                        },
                    });
                    last = Some((period, d.name.clone()));
                }
            }
        }
    }
    for d in out.iter_mut().filter(|d| d.keep) {
        d.passed_over.clear();
    }
    out
}

#[cfg(test)]
#[path = "retention_tests.rs"]
mod tests;
