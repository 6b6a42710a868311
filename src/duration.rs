//! `Dur`: a human duration in YAML (`30s`, `1m30s`, `500ms`), parsed with `humantime`.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A duration written the way Prometheus users write them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Hash)]
pub struct Dur(pub Duration);

impl Dur {
    /// Parses `30s`, `1m`, `1h30m`, `250ms`.
    pub fn parse(s: &str) -> Result<Self, String> {
        humantime::parse_duration(s.trim())
            .map(Dur)
            .map_err(|e| format!("`{s}` is not a duration ({e}); write e.g. 30s, 1m or 500ms"))
    }

    /// Seconds as a float.
    pub fn secs(&self) -> f64 {
        self.0.as_secs_f64()
    }
}

/// Parses `--age`: a duration of at least one second (`10m`, `90s`, `1h`).
pub fn parse_age(s: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(s)
        .map_err(|e| format!("`{s}` is not a duration ({e}): write e.g. 10m, 90s or 1h"))?;
    if d < Duration::from_secs(1) {
        return Err(format!(
            "`{s}` is under a second: write the age to simulate, e.g. 10m"
        ));
    }
    Ok(d)
}

impl fmt::Display for Dur {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", humantime::format_duration(self.0))
    }
}

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Dur::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl Serialize for Dur {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Parses a Prometheus duration string such as `5s`, `1m`, `1h30m` or `0s` into seconds.
#[cfg(test)]
pub fn prom_secs(s: &str) -> Option<f64> {
    Dur::parse(s).ok().map(|d| d.secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_common_forms() {
        assert_eq!(Dur::parse("30s").unwrap().0, Duration::from_secs(30));
        assert_eq!(Dur::parse("1m30s").unwrap().0, Duration::from_secs(90));
        assert_eq!(Dur::parse("500ms").unwrap().0, Duration::from_millis(500));
        assert!(Dur::parse("soon").unwrap_err().contains("not a duration"));
        assert_eq!(prom_secs("1h"), Some(3600.0));
    }
}
