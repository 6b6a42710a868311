//! The learner's progress, kept in the XDG data dir (`~/.local/share/promlab/progress.json`):
//! which labs passed, the current lab, how many hints were shown.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::lab::LabId;

/// Newest progress file version this build reads and writes.
pub const PROGRESS_FORMAT_VERSION: u32 = 1;

/// Progress of one lab.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct LabProgress {
    /// Passed every check at least once.
    #[serde(default)]
    pub done: bool,
    /// Unix time of the first full pass.
    #[serde(default)]
    pub passed_at: Option<u64>,
    /// Hints shown so far.
    #[serde(default)]
    pub hints_shown: usize,
    /// Last score, e.g. (3, 5).
    #[serde(default)]
    pub last_score: Option<(usize, usize)>,
}

/// The progress file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Progress {
    /// File format version.
    pub format_version: u32,
    /// The lab last brought up.
    #[serde(default)]
    pub current: Option<LabId>,
    /// Per lab.
    #[serde(default)]
    pub labs: BTreeMap<LabId, LabProgress>,
}

impl Default for Progress {
    fn default() -> Self {
        Self {
            format_version: PROGRESS_FORMAT_VERSION,
            current: None,
            labs: BTreeMap::new(),
        }
    }
}

/// Where progress is kept: `$PROMLAB_HOME/progress.json` when PROMLAB_HOME is set (so tests
/// and workshops stay isolated), else the XDG data dir.
pub fn path() -> PathBuf {
    if std::env::var_os(crate::workspace::HOME_ENV).is_some_and(|v| !v.is_empty()) {
        return crate::workspace::home().join("progress.json");
    }
    dirs::data_dir()
        .unwrap_or_else(crate::workspace::home)
        .join("promlab")
        .join("progress.json")
}

impl Progress {
    /// Loads progress; a missing or unreadable file is a fresh start (never fatal).
    pub fn load() -> Self {
        std::fs::read_to_string(path())
            .ok()
            .and_then(|t| serde_json::from_str::<Progress>(&t).ok())
            .filter(|p| p.format_version == PROGRESS_FORMAT_VERSION)
            .unwrap_or_default()
    }

    /// Saves progress (best effort: progress must never break a command).
    pub fn save(&self) {
        let p = path();
        if let Some(dir) = p.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        if let Ok(t) = serde_json::to_string_pretty(self) {
            let tmp = p.with_extension("json.tmp");
            if std::fs::write(&tmp, t).is_ok() {
                let _ = std::fs::rename(tmp, p);
            }
        }
    }

    /// The entry of a lab, created when missing.
    pub fn lab(&mut self, id: LabId) -> &mut LabProgress {
        self.labs.entry(id).or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_with_version() {
        let mut p = Progress {
            current: Some(LabId::new(8, 3)),
            ..Progress::default()
        };
        p.lab(LabId::new(8, 3)).done = true;
        let t = serde_json::to_string(&p).unwrap();
        assert!(t.contains("\"format_version\":1"));
        assert_eq!(serde_json::from_str::<Progress>(&t).unwrap(), p);
    }
}
