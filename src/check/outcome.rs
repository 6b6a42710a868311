//! What grading yields: one evaluation (`Eval`), a check's verdict (`Status`) and reported
//! outcome (`Outcome`), and the report of a run (`Report`).

use serde::Serialize;

use crate::lab::LabId;

/// The result of evaluating a check once.
#[derive(Debug, Clone, Default)]
pub(crate) struct Eval {
    /// Whether it holds.
    pub pass: bool,
    /// What was expected.
    pub expected: String,
    /// What was seen.
    pub observed: String,
    /// Extra lines (per-series or per-target details, computed hints).
    pub detail: Vec<String>,
    /// Waiting cannot change this verdict (the learner's file says so, the loaded config
    /// has no such job, …): `within` stops polling.
    pub settled: bool,
    /// Unix time before which it cannot pass (a rule's `for:` keeps a new alert pending):
    /// `within` stops polling when that is past its deadline, the verdict cannot change by then.
    pub not_before: Option<(f64, String)>,
    /// The run was stopped before this check could finish: no verdict (reported skipped).
    pub interrupted: bool,
}

impl Eval {
    /// A passing result.
    pub fn pass(expected: impl Into<String>, observed: impl Into<String>) -> Self {
        Eval {
            pass: true,
            expected: expected.into(),
            observed: observed.into(),
            detail: Vec::new(),
            settled: false,
            not_before: None,
            interrupted: false,
        }
    }

    /// A failing result.
    pub fn fail(expected: impl Into<String>, observed: impl Into<String>) -> Self {
        Eval {
            pass: false,
            expected: expected.into(),
            observed: observed.into(),
            detail: Vec::new(),
            settled: false,
            not_before: None,
            interrupted: false,
        }
    }

    /// A check cut short by a stopped run: no verdict.
    pub fn interrupted() -> Self {
        Eval {
            interrupted: true,
            ..Eval::fail("a verdict", "not finished: the run stopped")
        }
    }

    /// Marks the verdict as one waiting cannot change.
    #[must_use]
    pub fn settled(mut self) -> Self {
        self.settled = true;
        self
    }

    /// Records that it cannot pass before a unix time, and why.
    #[must_use]
    pub fn not_before(mut self, unix: f64, why: impl Into<String>) -> Self {
        self.not_before = Some((unix, why.into()));
        self
    }

    /// Whether it cannot pass before `deadline` (unix seconds).
    pub(crate) fn hopeless_by(&self, deadline: f64) -> bool {
        self.not_before.as_ref().is_some_and(|(t, _)| *t > deadline)
    }

    /// Adds a detail line.
    #[must_use]
    pub(crate) fn with_detail(mut self, line: impl Into<String>) -> Self {
        self.detail.push(line.into());
        self
    }
}

/// A check's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// It holds.
    Pass,
    /// It does not.
    Fail,
    /// Not run because a check it requires failed.
    Blocked,
    /// Not run, or not finished, because the run did not need it (`validate` only: a
    /// starter's undeclared checks, a near-miss's checks after its first failure).
    Skipped,
}

/// One check's outcome, as reported.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// Check id.
    pub id: String,
    /// Check title.
    pub title: String,
    /// The verdict.
    pub status: Status,
    /// What was expected.
    pub expected: String,
    /// What was seen.
    pub observed: String,
    /// Detail lines.
    pub detail: Vec<String>,
    /// The hint (empty when passing).
    pub hint: String,
    /// Seconds spent.
    pub seconds: f64,
}

/// The report of one `check` run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// JSON schema version of this report.
    pub format_version: u32,
    /// The lab.
    pub lab: LabId,
    /// The lab title.
    pub title: String,
    /// Checks passed.
    pub passed: usize,
    /// Checks in all.
    pub total: usize,
    /// Outcomes in manifest order (a failed reload comes first).
    pub outcomes: Vec<Outcome>,
}

impl Report {
    /// Whether every check passed.
    pub fn all_passed(&self) -> bool {
        self.outcomes.iter().all(|o| o.status == Status::Pass)
    }

    /// Ids of checks that did not pass (failed, blocked or skipped).
    pub fn failed_ids(&self) -> Vec<&str> {
        self.outcomes
            .iter()
            .filter(|o| o.status != Status::Pass)
            .map(|o| o.id.as_str())
            .collect()
    }

    /// Ids of checks that genuinely failed or were blocked by a failure (not skipped).
    pub fn not_passed_ids(&self) -> Vec<&str> {
        self.outcomes
            .iter()
            .filter(|o| matches!(o.status, Status::Fail | Status::Blocked))
            .map(|o| o.id.as_str())
            .collect()
    }

    /// Ids of checks that genuinely failed (not blocked, not skipped).
    pub fn genuine_failures(&self) -> Vec<&str> {
        self.outcomes
            .iter()
            .filter(|o| o.status == Status::Fail)
            .map(|o| o.id.as_str())
            .collect()
    }

    /// Whether any check genuinely failed.
    pub fn any_failed(&self) -> bool {
        !self.genuine_failures().is_empty()
    }
}

/// Cuts text to `n` characters on one line.
pub fn trim(s: &str, n: usize) -> String {
    let one: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one.chars().count() > n {
        format!("{}…", one.chars().take(n).collect::<String>())
    } else {
        one
    }
}
