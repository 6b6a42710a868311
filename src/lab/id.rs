//! `LabId`: a roadmap topic id such as `8.3`, ordered by (section, topic).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A roadmap topic id: `<section>.<topic>`, both positive integers (`1.1` … `25.25`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LabId {
    /// The roadmap section (1-based).
    pub section: u16,
    /// The topic within its section (1-based).
    pub topic: u16,
}

/// Why a string is not a lab id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{input}` is not a lab id: write it as SECTION.TOPIC, e.g. `8.3`")]
pub struct LabIdError {
    /// The rejected text.
    pub input: String,
}

impl LabId {
    /// Builds an id from its two parts.
    pub fn new(section: u16, topic: u16) -> Self {
        Self { section, topic }
    }

    /// The id with a dash instead of the dot, for Docker names (`8-3`).
    pub fn slug(&self) -> String {
        format!("{}-{}", self.section, self.topic)
    }
}

impl FromStr for LabId {
    type Err = LabIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || LabIdError { input: s.to_string() };
        let (a, b) = s.trim().split_once('.').ok_or_else(err)?;
        let parse = |p: &str| -> Option<u16> {
            if p.is_empty() || !p.bytes().all(|c| c.is_ascii_digit()) || p.starts_with('0') {
                return None;
            }
            p.parse().ok()
        };
        match (parse(a), parse(b)) {
            (Some(section), Some(topic)) => Ok(Self { section, topic }),
            _ => Err(err()),
        }
    }
}

impl fmt::Display for LabId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.section, self.topic)
    }
}

impl Serialize for LabId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for LabId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = LabId;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a quoted lab id such as \"8.3\"")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<LabId, E> {
                v.parse().map_err(E::custom)
            }
            fn visit_f64<E: serde::de::Error>(self, _v: f64) -> Result<LabId, E> {
                Err(E::custom(
                    "lab ids must be quoted, e.g. id: \"8.10\" (unquoted, 8.10 reads as the number 8.1)",
                ))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_orders_numerically() {
        let mut ids: Vec<LabId> = ["8.10", "8.2", "10.1", "1.1"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        ids.sort();
        let shown: Vec<String> = ids.iter().map(ToString::to_string).collect();
        assert_eq!(shown, ["1.1", "8.2", "8.10", "10.1"]);
    }

    #[test]
    fn rejects_malformed_ids() {
        for bad in ["8", "8.", ".3", "8.x", "08.3", "8.3.1", "", "-1.2"] {
            assert!(bad.parse::<LabId>().is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn unquoted_float_id_is_explained() {
        let err = crate::yaml::parse::<LabId>("8.10").unwrap_err().to_string();
        assert!(err.contains("must be quoted"), "{err}");
        assert_eq!(
            crate::yaml::parse::<LabId>("\"8.10\"").unwrap(),
            LabId::new(8, 10)
        );
    }

    #[test]
    fn slug_uses_dash() {
        assert_eq!(LabId::new(8, 3).slug(), "8-3");
    }
}
