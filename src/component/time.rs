//! Wall-clock helpers shared by the demo, the sink and the grader: unix seconds as `f64`,
//! their RFC 3339 rendering and parsing.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Seconds since the unix epoch, with sub-second precision (0 if the clock
/// is set before 1970).
pub fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Renders unix seconds as RFC 3339 UTC with millisecond precision
/// (negative or non-finite input renders as the epoch).
pub fn rfc3339(unix_seconds: f64) -> String {
    let since_epoch = Duration::try_from_secs_f64(unix_seconds).unwrap_or_default();
    humantime::format_rfc3339_millis(UNIX_EPOCH + since_epoch).to_string()
}

/// Parses RFC 3339 (`2026-11-30T03:45:12.123456789Z`, fraction optional) into unix seconds.
pub fn parse_rfc3339(text: &str) -> Option<f64> {
    let t = humantime::parse_rfc3339_weak(text.trim()).ok()?;
    t.duration_since(UNIX_EPOCH).ok().map(|d| d.as_secs_f64())
}

/// An RFC 3339 timestamp field of an API answer (`lastScrape`, `updatedAt`, …) in unix seconds.
pub fn json_time(value: Option<&serde_json::Value>) -> Option<f64> {
    value.and_then(serde_json::Value::as_str).and_then(parse_rfc3339)
}

/// Whether a timestamp from a Prometheus API says something happened: Go renders "never" as
/// its zero time (`0001-01-01T00:00:00Z`), so anything before 2000 counts as never.
pub fn is_set(value: Option<&serde_json::Value>) -> bool {
    json_time(value).is_some_and(|t| t > 946_684_800.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_rfc3339() {
        assert_eq!(rfc3339(0.0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(1_700_000_000.25), "2023-11-14T22:13:20.250Z");
        assert_eq!(rfc3339(-5.0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(f64::NAN), "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn parses_rfc3339_with_and_without_fraction() {
        assert_eq!(parse_rfc3339("2023-11-14T22:13:20Z"), Some(1_700_000_000.0));
        let nanos = parse_rfc3339("2023-11-14T22:13:20.250000000Z").unwrap();
        assert!((nanos - 1_700_000_000.25).abs() < 1e-6);
        assert_eq!(parse_rfc3339("yesterday"), None);
    }

    #[test]
    fn go_zero_time_is_never() {
        assert!(!is_set(Some(&serde_json::json!("0001-01-01T00:00:00Z"))));
        assert!(!is_set(None));
        assert!(is_set(Some(&serde_json::json!("2026-11-30T07:54:08.123456789Z"))));
    }

    #[test]
    fn now_is_after_2020() {
        assert!(unix_now() > 1_577_836_800.0);
    }
}
