//! Times and sizes as the screens and the CLI write them: local time (read once at start-up),
//! ages ("2h ago"), byte sizes, and the safety snapshot's default name.

use std::sync::OnceLock;

use time::{OffsetDateTime, UtcOffset};

static LOCAL_OFFSET: OnceLock<UtcOffset> = OnceLock::new();

/// Reads the local time zone. Call once at start-up, before any thread exists: the `time`
/// crate refuses to read it later (other threads could change the environment meanwhile).
/// Without it, times show in UTC.
pub fn init_local_offset() {
    if let Ok(offset) = UtcOffset::current_local_offset() {
        let _ = LOCAL_OFFSET.set(offset);
    }
}

fn local_offset() -> UtcOffset {
    LOCAL_OFFSET.get().copied().unwrap_or(UtcOffset::UTC)
}

/// `pre-revert-YYYYMMDD-HHMMSS` in local time: the safety snapshot's name before it is made
/// unique.
pub fn safety_base_name(now: i64) -> String {
    let stamp = local_time(now, true)
        .replace(['-', ':'], "")
        .replace(' ', "-");
    format!("pre-revert-{stamp}")
}

/// `2026-11-26 14:05` in local time (UTC when the zone is unknown).
pub fn local_time(unix: i64, with_seconds: bool) -> String {
    let Ok(t) = OffsetDateTime::from_unix_timestamp(unix) else {
        return format!("@{unix}");
    };
    let t = t.to_offset(local_offset());
    let mut s = format!(
        "{:04}-{:02}-{:02} {:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute()
    );
    if with_seconds {
        s.push_str(&format!(":{:02}", t.second()));
    }
    s
}

/// "2h ago" style age of `unix` at `now`.
pub fn age(unix: i64, now: u64) -> String {
    let now = i64::try_from(now).unwrap_or(i64::MAX);
    let secs = now.saturating_sub(unix);
    if secs < 0 {
        return "in future".into();
    }
    match secs {
        0..60 => "just now".into(),
        60..3_600 => format!("{}m ago", secs / 60),
        3_600..86_400 => format!("{}h ago", secs / 3_600),
        86_400..2_592_000 => format!("{}d ago", secs / 86_400),
        2_592_000..31_536_000 => format!("{}mo ago", secs / 2_592_000),
        _ => format!("{}y ago", secs / 31_536_000),
    }
}

/// Bytes as `12.0 MiB`.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}
