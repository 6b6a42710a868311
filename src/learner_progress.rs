//! The learner's progress, kept in the XDG data dir (`~/.local/share/promlab/progress.json`):
//! which labs passed, the current lab, how many hints were shown, the last score; and the
//! one command a learner should run next (`next`, pure, shown by bare `promlab`).

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

/// Whether the current lab's stack runs, as far as Docker can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stack {
    /// Its containers run.
    Running,
    /// No container of it runs.
    Stopped,
    /// Docker did not answer.
    Unknown,
}

/// The one command a learner should run next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Start (or resume) this lab.
    Up(LabId),
    /// Grade the running lab.
    Check,
    /// Find out why Docker does not answer (every step needs it).
    Doctor,
    /// Every lab passed: browse the roadmap.
    List,
}

impl std::fmt::Display for Next {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Next::Up(id) => write!(f, "promlab up {id}"),
            Next::Check => f.write_str("promlab check"),
            Next::Doctor => f.write_str("promlab doctor"),
            Next::List => f.write_str("promlab list"),
        }
    }
}

/// The next command, rustlings-style: a lab in progress is checked while it runs and
/// started again when it does not; a passed one leads to the next lab not passed yet (in
/// `labs`' order, the labs that run here, wrapping around); a new learner starts with the
/// first lab. Docker unreachable leads to `promlab doctor`, since every step needs it.
pub fn next(progress: &Progress, stack: Stack, labs: &[LabId]) -> Next {
    if stack == Stack::Unknown {
        return Next::Doctor;
    }
    let done = |id: &LabId| progress.labs.get(id).is_some_and(|l| l.done);
    if let Some(current) = progress.current.filter(|c| !done(c)) {
        return match stack {
            Stack::Running => Next::Check,
            _ => Next::Up(current),
        };
    }
    let after = progress.current;
    labs.iter()
        .filter(|id| after.is_none_or(|c| **id > c))
        .chain(labs.iter())
        .find(|id| !done(id))
        .map_or(Next::List, |id| Next::Up(*id))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> LabId {
        s.parse().unwrap()
    }

    fn at(current: Option<&str>, done: &[&str]) -> Progress {
        let mut p = Progress {
            current: current.map(id),
            ..Progress::default()
        };
        for d in done {
            p.lab(id(d)).done = true;
        }
        p
    }

    #[test]
    fn next_follows_the_learner() {
        let labs = [id("1.1"), id("1.2"), id("4.1"), id("8.1")];
        let next_of = |p: &Progress, s| next(p, s, &labs).to_string();
        // A new learner starts with the first lab, whatever Docker says about nothing running.
        assert_eq!(next_of(&Progress::default(), Stack::Stopped), "promlab up 1.1");
        // A lab in progress: checked while it runs, started again when it does not.
        assert_eq!(
            next_of(&at(Some("1.2"), &["1.1"]), Stack::Running),
            "promlab check"
        );
        assert_eq!(
            next_of(&at(Some("1.2"), &["1.1"]), Stack::Stopped),
            "promlab up 1.2"
        );
        // A checked but failing lab is still in progress.
        let mut failing = at(Some("1.1"), &[]);
        failing.lab(id("1.1")).last_score = Some((2, 4));
        assert_eq!(next_of(&failing, Stack::Running), "promlab check");
        // Passed: the next lab not passed yet, skipping passed ones, wrapping around.
        assert_eq!(
            next_of(&at(Some("1.1"), &["1.1"]), Stack::Running),
            "promlab up 1.2"
        );
        assert_eq!(
            next_of(&at(Some("1.1"), &["1.1", "1.2"]), Stack::Stopped),
            "promlab up 4.1"
        );
        assert_eq!(
            next_of(&at(Some("8.1"), &["4.1", "8.1"]), Stack::Stopped),
            "promlab up 1.1"
        );
        // A current lab that is not in the list (removed since) still leads forward.
        assert_eq!(
            next_of(&at(Some("2.1"), &["2.1"]), Stack::Stopped),
            "promlab up 4.1"
        );
        // Everything passed.
        assert_eq!(
            next_of(&at(Some("8.1"), &["1.1", "1.2", "4.1", "8.1"]), Stack::Stopped),
            "promlab list"
        );
        // Docker unreachable: every step needs it.
        assert_eq!(next_of(&Progress::default(), Stack::Unknown), "promlab doctor");
    }

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
