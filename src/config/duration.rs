//! A length of time in the config file: a whole number of seconds (`120`), or a number with a
//! unit (`"90s"`, `"15m"`, `"2h"`, `"3d"`, `"1w"`).

use std::fmt;
use std::time::Duration;

use serde::de::{self, Deserializer, Visitor};

/// Deserializes either form; a negative number or an unknown unit is an error whose message
/// says which forms are accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConfigDuration(pub Duration);

const EXPECTED: &str = "seconds as a whole number, or a number with a unit: \"90s\", \"15m\", \
                        \"2h\", \"3d\", \"1w\"";

impl<'de> serde::Deserialize<'de> for ConfigDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(DurationVisitor)
    }
}

struct DurationVisitor;

impl Visitor<'_> for DurationVisitor {
    type Value = ConfigDuration;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(EXPECTED)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        u64::try_from(v)
            .map(|s| ConfigDuration(Duration::from_secs(s)))
            .map_err(|_| E::custom(format!("{v} is negative; expected {EXPECTED}")))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(ConfigDuration(Duration::from_secs(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        parse(v).map(ConfigDuration).map_err(E::custom)
    }
}

/// `"3d"` -> 3 days. Errors say what was wrong with the text.
pub fn parse(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(digits);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("\"{text}\" is not a length of time; expected {EXPECTED}"))?;
    let scale = match unit.trim() {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        other => {
            return Err(format!(
                "unknown unit \"{other}\" in \"{text}\"; expected {EXPECTED}"
            ))
        }
    };
    n.checked_mul(scale)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("\"{text}\" is too long a time"))
}
