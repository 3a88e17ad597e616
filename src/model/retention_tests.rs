use jiff::tz::{Offset, TimeZone};
use jiff::Timestamp;

use super::*;

fn ts(s: &str) -> i64 {
    s.parse::<Timestamp>().unwrap().as_second()
}

/// Candidates named `s<i>` at the given instants (oldest first).
fn series(instants: &[i64]) -> Vec<Candidate> {
    instants
        .iter()
        .enumerate()
        .map(|(i, &created)| Candidate {
            name: format!("s{i:03}"),
            created,
        })
        .collect()
}

/// Every `step` seconds from `start`, `n` of them.
fn every(start: &str, step: i64, n: usize) -> Vec<i64> {
    let s = ts(start);
    (0..n as i64).map(|i| s + i * step).collect()
}

fn kept(decisions: &[Decision]) -> Vec<&str> {
    let mut k: Vec<&str> = decisions
        .iter()
        .filter(|d| d.keep)
        .map(|d| d.name.as_str())
        .collect();
    k.sort();
    k
}

fn rule_of(d: &Decision, r: Rule) -> Option<&str> {
    d.kept_by
        .iter()
        .find(|k| k.rule == r)
        .map(|k| k.period.as_str())
}

fn by_name<'a>(decisions: &'a [Decision], name: &str) -> &'a Decision {
    decisions.iter().find(|d| d.name == name).unwrap()
}

const UTC: TimeZone = TimeZone::UTC;
const HOUR: i64 = 3600;
const DAY: i64 = 86_400;

fn berlin() -> TimeZone {
    // Europe/Berlin's rule since 1996: CET, CEST from the last Sunday of March 02:00 to the
    // last Sunday of October 03:00. A POSIX rule, so the test needs no tz database.
    TimeZone::posix("CET-1CEST,M3.5.0,M10.5.0/3").unwrap()
}

#[test]
fn last_keeps_the_n_newest() {
    let c = series(&every("2026-11-01T03:00:00Z", DAY, 10));
    let d = decide(
        &c,
        &KeepRules {
            last: 3,
            ..Default::default()
        },
        &UTC,
    );
    assert_eq!(kept(&d), ["s007", "s008", "s009"]);
    assert_eq!(d[0].name, "s009", "newest first");
    assert_eq!(rule_of(&d[0], Rule::Last), Some("1 of 3"));
    assert_eq!(rule_of(&d[2], Rule::Last), Some("3 of 3"));
    assert_eq!(
        by_name(&d, "s000").reason(),
        "no rule keeps it: last keeps only the 3 newest snapshots"
    );
}

#[test]
fn hourly_keeps_the_newest_of_each_of_the_last_n_hours() {
    // Every 20 minutes from 10:00 to 14:40: five hours, three snapshots each.
    let c = series(&every("2026-11-29T10:00:00Z", 20 * 60, 15));
    let d = decide(
        &c,
        &KeepRules {
            hourly: 3,
            ..Default::default()
        },
        &UTC,
    );
    // 14:40, 13:40, 12:40.
    assert_eq!(kept(&d), ["s008", "s011", "s014"]);
    assert_eq!(rule_of(&d[0], Rule::Hourly), Some("2026-11-29 14h"));
    assert!(by_name(&d, "s013")
        .reason()
        .contains("hourly 2026-11-29 14h keeps the newer 's014'"));
    assert!(by_name(&d, "s005")
        .reason()
        .contains("hourly keeps only the 3 newest hours"));
}

#[test]
fn daily_counts_only_days_that_have_snapshots() {
    // Weekdays only, two a day (03:00 and 15:00), Mon 2026-11-16 .. Fri 2026-11-27.
    let mut instants = Vec::new();
    for day in 16..=27 {
        let date = jiff::civil::date(2026, 11, day);
        if date.weekday().to_monday_zero_offset() >= 5 {
            continue;
        }
        for hour in [3, 15] {
            let t = UTC.to_timestamp(date.at(hour, 0, 0, 0)).unwrap();
            instants.push(t.as_second());
        }
    }
    let c = series(&instants);
    let d = decide(
        &c,
        &KeepRules {
            daily: 7,
            ..Default::default()
        },
        &UTC,
    );
    let days: Vec<&str> = d.iter().filter_map(|d| rule_of(d, Rule::Daily)).collect();
    // Seven days with snapshots reach back over a weekend: nine calendar days.
    assert_eq!(
        days,
        [
            "2026-11-27",
            "2026-11-26",
            "2026-11-25",
            "2026-11-24",
            "2026-11-23",
            "2026-11-20",
            "2026-11-19"
        ]
    );
    // The kept one of each day is its 15:00 snapshot.
    for k in d.iter().filter(|d| d.keep) {
        assert_eq!((k.created - ts("2026-01-01T15:00:00Z")).rem_euclid(DAY), 0);
    }
}

#[test]
fn weekly_uses_iso_weeks_across_the_year_boundary() {
    // 2024-12-29 is a Sunday in 2024-W52; 2024-12-30 (Monday) starts 2025-W01, which ends on
    // Sunday 2025-01-05. 2026 has 53 ISO weeks: 2026-12-31 and 2027-01-03 are in 2026-W53.
    let c = vec![
        Candidate {
            name: "a-2024-12-29".into(),
            created: ts("2024-12-29T12:00:00Z"),
        },
        Candidate {
            name: "b-2024-12-30".into(),
            created: ts("2024-12-30T12:00:00Z"),
        },
        Candidate {
            name: "c-2025-01-05".into(),
            created: ts("2025-01-05T12:00:00Z"),
        },
        Candidate {
            name: "d-2026-12-31".into(),
            created: ts("2026-12-31T12:00:00Z"),
        },
        Candidate {
            name: "e-2027-01-03".into(),
            created: ts("2027-01-03T12:00:00Z"),
        },
        Candidate {
            name: "f-2027-01-04".into(),
            created: ts("2027-01-04T12:00:00Z"),
        },
    ];
    let d = decide(
        &c,
        &KeepRules {
            weekly: 10,
            ..Default::default()
        },
        &UTC,
    );
    let weeks: Vec<(&str, Option<&str>)> = d
        .iter()
        .map(|d| (d.name.as_str(), rule_of(d, Rule::Weekly)))
        .collect();
    assert_eq!(
        weeks,
        [
            ("f-2027-01-04", Some("2027-W01")),
            ("e-2027-01-03", Some("2026-W53")),
            ("d-2026-12-31", None),
            ("c-2025-01-05", Some("2025-W01")),
            ("b-2024-12-30", None),
            ("a-2024-12-29", Some("2024-W52")),
        ]
    );
    assert!(by_name(&d, "b-2024-12-30")
        .reason()
        .contains("weekly 2025-W01 keeps the newer 'c-2025-01-05'"));
}

#[test]
fn monthly_across_the_year_boundary() {
    let c = series(&[
        ts("2026-11-30T23:00:00Z"),
        ts("2026-12-01T01:00:00Z"),
        ts("2026-12-31T23:00:00Z"),
        ts("2027-01-01T00:30:00Z"),
    ]);
    let d = decide(
        &c,
        &KeepRules {
            monthly: 3,
            ..Default::default()
        },
        &UTC,
    );
    assert_eq!(kept(&d), ["s000", "s002", "s003"]);
    assert_eq!(rule_of(by_name(&d, "s003"), Rule::Monthly), Some("2027-01"));
    assert_eq!(rule_of(by_name(&d, "s002"), Rule::Monthly), Some("2026-12"));
    assert_eq!(rule_of(by_name(&d, "s000"), Rule::Monthly), Some("2026-11"));
}

#[test]
fn overlapping_rules_keep_the_union_and_a_snapshot_counts_once() {
    // Nightly for 40 days.
    let c = series(&every("2026-10-21T03:00:00Z", DAY, 40));
    let rules = KeepRules {
        last: 2,
        daily: 7,
        weekly: 4,
        monthly: 3,
        ..Default::default()
    };
    let d = decide(&c, &rules, &UTC);
    let newest = &d[0];
    let newest_rules: Vec<Rule> = newest.kept_by.iter().map(|k| k.rule).collect();
    assert_eq!(
        newest_rules,
        [Rule::Last, Rule::Daily, Rule::Weekly, Rule::Monthly]
    );
    // last 2 and daily 7 overlap on the two newest; weekly adds the Sundays of three older
    // weeks (2026-11-29 is a Sunday), monthly adds October's newest.
    assert_eq!(
        kept(&d),
        ["s010", "s018", "s025", "s032", "s033", "s034", "s035", "s036", "s037", "s038", "s039"]
    );
    let reasons: Vec<String> = d.iter().filter(|d| d.keep).map(Decision::reason).collect();
    assert_eq!(reasons.len(), 11, "each kept snapshot is listed once");
    assert_eq!(
        by_name(&d, "s038").reason(),
        "kept by last 2 of 2, daily 2026-11-28"
    );
    assert_eq!(rule_of(by_name(&d, "s010"), Rule::Monthly), Some("2026-10"));
    // Restic counts a snapshot for every rule that keeps it: weekly's 4 include the newest.
    assert_eq!(
        d.iter()
            .filter(|d| rule_of(d, Rule::Weekly).is_some())
            .count(),
        4
    );
    assert_eq!(
        d.iter()
            .filter(|d| rule_of(d, Rule::Monthly).is_some())
            .count(),
        2,
        "only two months have snapshots"
    );
    assert_eq!(
        rules.text(),
        "--keep-last 2 --keep-daily 7 --keep-weekly 4 --keep-monthly 3"
    );
}

#[test]
fn the_newest_is_kept_by_any_rule() {
    let c = series(&every("2026-11-01T00:00:00Z", 7 * HOUR + 13, 60));
    for rules in [
        KeepRules {
            last: 1,
            ..Default::default()
        },
        KeepRules {
            hourly: 1,
            ..Default::default()
        },
        KeepRules {
            daily: 1,
            ..Default::default()
        },
        KeepRules {
            weekly: 1,
            ..Default::default()
        },
        KeepRules {
            monthly: 1,
            ..Default::default()
        },
    ] {
        let d = decide(&c, &rules, &UTC);
        assert!(d[0].keep, "{rules:?}");
        assert_eq!(d[0].name, "s059");
        assert_eq!(kept(&d), ["s059"], "{rules:?}");
    }
    let none = decide(&c, &KeepRules::default(), &UTC);
    assert!(KeepRules::default().is_empty());
    assert!(none.iter().all(|d| !d.keep), "no rule keeps nothing");
}

#[test]
fn days_are_days_of_the_zone_passed_in() {
    // 10:00Z and 20:00Z on 29 Nov: one UTC day; in UTC+05:00 the second is 01:00 on the 30th;
    // in UTC-12:00 the first is 22:00 on the 28th.
    let c = series(&[ts("2026-11-29T10:00:00Z"), ts("2026-11-29T20:00:00Z")]);
    let daily = KeepRules {
        daily: 5,
        ..Default::default()
    };
    let fixed = |h: i8| TimeZone::fixed(Offset::constant(h));
    assert_eq!(kept(&decide(&c, &daily, &UTC)), ["s001"]);
    let east = decide(&c, &daily, &fixed(5));
    assert_eq!(kept(&east), ["s000", "s001"]);
    assert_eq!(rule_of(&east[0], Rule::Daily), Some("2026-11-30"));
    let west = decide(&c, &daily, &fixed(-12));
    assert_eq!(kept(&west), ["s000", "s001"]);
    assert_eq!(rule_of(&west[1], Rule::Daily), Some("2026-11-28"));
    // Half-hour zones shift hours, not just days: 10:00Z is 15:30 in +05:30.
    let india = TimeZone::fixed(Offset::from_seconds(5 * 3600 + 1800).unwrap());
    let hourly = KeepRules {
        hourly: 1,
        ..Default::default()
    };
    let one = series(&[ts("2026-11-29T10:00:00Z")]);
    assert_eq!(
        rule_of(&decide(&one, &hourly, &india)[0], Rule::Hourly),
        Some("2026-11-29 15h")
    );
}

#[test]
fn the_spring_dst_day_of_23_hours_is_one_day() {
    // 2026-03-29 in Berlin runs from 00:00 CET (28T23:00Z) to 24:00 CEST (29T22:00Z).
    // A snapshot every real hour at :30 from 28T23:30Z: 23 of them on the 29th, then one at
    // 00:30 on the 30th (29T22:30Z), which a fixed +01:00 would put on the 29th.
    let c = series(&every("2026-03-28T23:30:00Z", HOUR, 24));
    let d = decide(
        &c,
        &KeepRules {
            daily: 3,
            ..Default::default()
        },
        &berlin(),
    );
    assert_eq!(rule_of(&d[0], Rule::Daily), Some("2026-03-30"));
    assert_eq!(rule_of(&d[1], Rule::Daily), Some("2026-03-29"));
    assert_eq!(kept(&d), ["s022", "s023"], "nothing earlier than the 29th");
    let on_29th = d
        .iter()
        .filter(|d| d.keep || d.reason().contains("daily 2026-03-29 keeps"))
        .count();
    assert_eq!(on_29th, 24, "23 on the 29th plus the 30th's one");
    // Hourly: the 23 hours of the day each have a period; 02h does not exist that day.
    let h = decide(
        &c,
        &KeepRules {
            hourly: 100,
            ..Default::default()
        },
        &berlin(),
    );
    assert!(h.iter().all(|d| d.keep));
    assert!(!h
        .iter()
        .any(|d| rule_of(d, Rule::Hourly) == Some("2026-03-29 02h")));
    assert_eq!(
        rule_of(by_name(&h, "s001"), Rule::Hourly),
        Some("2026-03-29 01h")
    );
    assert_eq!(
        rule_of(by_name(&h, "s002"), Rule::Hourly),
        Some("2026-03-29 03h")
    );
}

#[test]
fn the_autumn_dst_day_of_25_hours_is_one_day_and_its_repeated_hour_one_hour() {
    // 2026-10-25 in Berlin runs from 00:00 CEST (24T22:00Z) to 24:00 CET (25T23:00Z): 25
    // hours. A snapshot every real hour at :30: all 25 are on the 25th.
    let c = series(&every("2026-10-24T22:30:00Z", HOUR, 25));
    let d = decide(
        &c,
        &KeepRules {
            daily: 2,
            ..Default::default()
        },
        &berlin(),
    );
    assert_eq!(kept(&d), ["s024"]);
    assert_eq!(rule_of(&d[0], Rule::Daily), Some("2026-10-25"));
    assert!(d[1..].iter().all(|d| d
        .reason()
        .contains("daily 2026-10-25 keeps the newer 's024'")));
    // 02:30 CEST (00:30Z, s002) and 02:30 CET (01:30Z, s003) share the wall-clock hour 02h,
    // as in restic and borg: the later one is kept for it.
    let h = decide(
        &c,
        &KeepRules {
            hourly: 100,
            ..Default::default()
        },
        &berlin(),
    );
    assert_eq!(h.iter().filter(|d| d.keep).count(), 24);
    assert_eq!(
        rule_of(by_name(&h, "s003"), Rule::Hourly),
        Some("2026-10-25 02h")
    );
    assert!(by_name(&h, "s002")
        .reason()
        .contains("hourly 2026-10-25 02h keeps the newer 's003'"));
}

#[test]
fn ties_in_the_same_second_are_ordered_by_name() {
    let t = ts("2026-11-29T03:00:00Z");
    let c = vec![
        Candidate {
            name: "n-b".into(),
            created: t,
        },
        Candidate {
            name: "n-a".into(),
            created: t,
        },
    ];
    let d = decide(
        &c,
        &KeepRules {
            daily: 1,
            ..Default::default()
        },
        &UTC,
    );
    assert_eq!(kept(&d), ["n-b"]);
}

#[test]
fn only_names_with_the_prefix_are_candidates() {
    let all = [
        ("nightly-20261129-020000Z", 1),
        ("before-upgrade", 2),
        ("pre-revert-20261129-101010", 3),
        ("nightly-20261130-020000Z", 4),
        ("Nightly-x", 5),
    ];
    let c = candidates(all.iter().map(|(n, t)| (*n, *t)), "nightly-");
    let names: Vec<&str> = c.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        ["nightly-20261129-020000Z", "nightly-20261130-020000Z"]
    );
    assert!(candidates(all.iter().map(|(n, t)| (*n, *t)), "").is_empty());
}

#[test]
fn scheduled_names_sort_and_carry_the_prefix() {
    let t = ts("2026-11-29T02:00:00Z");
    assert_eq!(scheduled_name("nightly", t), "nightly-20261129-020000Z");
    assert_eq!(scheduled_name("nightly-", t), "nightly-20261129-020000Z");
    assert_eq!(scheduled_name("hourly_", t + 59), "hourly_20261129-020059Z");
    let a = scheduled_name("n-", ts("2026-10-25T00:30:00Z"));
    let b = scheduled_name("n-", ts("2026-10-25T01:30:00Z"));
    assert!(a < b, "the hour DST repeats still gives two names in order");
    assert!(candidates([(a.as_str(), 1)], "n-").len() == 1);
    assert_eq!(check_prefix("nightly"), Ok(()));
    assert!(check_prefix("").unwrap_err().contains("hand-made"));
    assert!(check_prefix("a/b").unwrap_err().contains("'/'"));
    assert!(check_prefix(".x").is_err());
    assert!(check_prefix("a,b").is_err());
}
