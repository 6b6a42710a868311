//! What each phase must prove, judged on the grader's report: the starter fails the checks
//! it declares, a near-miss fails at least one (a declared one when the lab says which), the
//! solution and every variant pass them all. Pure: no Docker here.

use serde::{Deserialize, Serialize};

use crate::check::{Report, Status};
use crate::lab::{Lab, LabId};

/// Where a phase's wall time went, in seconds. Every field is a wait validate measured, so
/// the sums say which timers a run is bound by.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Waits {
    /// Starting the stack (0 when the phase reused the stack of an earlier phase).
    pub stack: f64,
    /// Writing the phase's files and forgetting the previous phase's notifications/faults.
    pub prepare: f64,
    /// Applying the solution: files, reload, first scrapes and live answers (solution only).
    pub solve: f64,
    /// Grading: reload of the phase's files, then every check run until its verdict.
    pub grade: f64,
}

impl Waits {
    /// The phase's whole wall time, stack start included.
    pub fn total(&self) -> f64 {
        self.stack + self.prepare + self.solve + self.grade
    }

    /// Field-wise sum.
    pub fn add(&mut self, o: &Waits) {
        self.stack += o.stack;
        self.prepare += o.prepare;
        self.solve += o.solve;
        self.grade += o.grade;
    }
}

/// The result of one phase.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Phase {
    /// `starter`, `near-miss:NAME`, `variant:NAME`, `solution`; aged phases (`--age`) are
    /// prefixed `aged:`.
    pub name: String,
    /// Whether the phase proved what it must.
    pub ok: bool,
    /// What went wrong.
    pub problem: Option<String>,
    /// Wall time of the phase (overlay, reload and grading; the stack start is in `waits`).
    pub seconds: f64,
    /// The demo's simulated age in seconds (`--age`), none on a fresh stack.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age_seconds: Option<u64>,
    /// Where the time went.
    #[serde(default)]
    pub waits: Waits,
    /// The checks that failed (a near-miss: what caught it).
    pub failed: Vec<String>,
    /// Each graded check's verdict and seconds: what a lab author tunes `within` from.
    pub checks: Vec<CheckTime>,
    /// The grader's report.
    #[serde(skip)]
    pub report: Option<Report>,
}

impl Phase {
    /// A phase judged on a report (its times are set by the caller).
    fn judged(name: String, problem: Option<String>, failed: Vec<String>, r: &Report) -> Self {
        Self {
            name,
            ok: problem.is_none(),
            problem,
            seconds: 0.0,
            age_seconds: None,
            waits: Waits::default(),
            failed,
            checks: r
                .outcomes
                .iter()
                .map(|o| CheckTime {
                    id: o.id.clone(),
                    status: o.status,
                    seconds: o.seconds,
                })
                .collect(),
            report: Some(r.clone()),
        }
    }

    /// The check that took longest to reach its verdict (what bounds the grading wait).
    pub fn slowest_check(&self) -> Option<&CheckTime> {
        self.checks
            .iter()
            .filter(|c| c.status != Status::Skipped)
            .max_by(|a, b| a.seconds.total_cmp(&b.seconds))
    }
}

/// One check of a phase, in `--json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckTime {
    /// The check's id.
    pub id: String,
    /// Its verdict.
    pub status: Status,
    /// Seconds it took to reach it.
    pub seconds: f64,
}

/// The result of validating one lab.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LabResult {
    /// The lab.
    pub lab: LabId,
    /// `passed`, `failed` or `skipped`.
    pub verdict: String,
    /// Why skipped or failed before phases.
    pub note: Option<String>,
    /// Phases in order.
    pub phases: Vec<Phase>,
    /// Wall time from its first phase taken to its last recorded.
    pub seconds: f64,
    /// Attempts it took (more than 1 = flaky: it failed, then passed on a retry).
    pub attempts: u32,
}

/// Judges a starter report: every declared check must fail (or be blocked).
pub fn judge_starter(lab: &Lab, r: &Report) -> Phase {
    let failed = r.not_passed_ids();
    let missing: Vec<&String> = lab
        .manifest
        .starter_fails
        .iter()
        .filter(|id| !failed.contains(&id.as_str()))
        .collect();
    let problem = if !missing.is_empty() {
        Some(format!(
            "the starter passes {} but starter_fails says it must fail",
            missing.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
        ))
    } else if failed.is_empty() {
        Some("the starter passes every check".to_string())
    } else {
        None
    };
    Phase::judged("starter".into(), problem, Vec::new(), r)
}

/// Judges a near-miss report: at least one check must fail, and one of the declared ones
/// when the lab declares which (`near_miss_fails`).
pub fn judge_near_miss(name: &str, declared: Option<&Vec<String>>, r: &Report) -> Phase {
    let failed: Vec<String> = r.genuine_failures().iter().map(|s| s.to_string()).collect();
    let problem = if failed.is_empty() {
        Some(format!(
            "near-miss `{name}` passes every check: the grader cannot tell it from the solution"
        ))
    } else {
        declared
            .filter(|w| !w.iter().any(|id| failed.contains(id)))
            .map(|want| {
                format!(
                    "near-miss `{name}` must fail {} (near_miss_fails) but fails {}",
                    want.join(" or "),
                    failed.join(", ")
                )
            })
    };
    Phase::judged(format!("near-miss:{name}"), problem, failed, r)
}

/// Judges a solution report: every check must pass.
pub fn judge_solution(r: &Report) -> Phase {
    let failed = r.failed_ids();
    let problem = (!failed.is_empty()).then(|| format!("the solution fails {}", failed.join(", ")));
    Phase::judged("solution".into(), problem, Vec::new(), r)
}

/// Judges a variant report: a correct answer written differently must pass every check; a
/// check it fails is named (the grader rejects a right answer).
pub fn judge_variant(name: &str, r: &Report) -> Phase {
    let failed: Vec<String> = r.failed_ids().iter().map(|s| s.to_string()).collect();
    let problem = (!failed.is_empty()).then(|| {
        format!(
            "variant `{name}` is a correct answer but fails {}: the grader rejects it",
            failed.join(", ")
        )
    });
    Phase::judged(format!("variant:{name}"), problem, failed, r)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::check::Outcome;

    pub(crate) fn report(statuses: &[(&str, Status)]) -> Report {
        Report {
            format_version: 1,
            lab: LabId::new(1, 1),
            title: "t".into(),
            passed: statuses.iter().filter(|s| s.1 == Status::Pass).count(),
            total: statuses.len(),
            outcomes: statuses
                .iter()
                .map(|(id, s)| Outcome {
                    id: id.to_string(),
                    title: String::new(),
                    status: *s,
                    expected: String::new(),
                    observed: String::new(),
                    detail: vec![],
                    hint: String::new(),
                    seconds: 0.0,
                })
                .collect(),
        }
    }

    #[test]
    fn near_miss_that_passes_is_named() {
        let p = judge_near_miss("for-zero", None, &report(&[("a", Status::Pass)]));
        assert!(!p.ok);
        assert!(
            p.problem
                .unwrap()
                .contains("near-miss `for-zero` passes every check")
        );
        let p = judge_near_miss("x", None, &report(&[("a", Status::Fail)]));
        assert!(p.ok);
        assert_eq!(p.failed, vec!["a".to_string()]);
    }

    #[test]
    fn near_miss_must_fail_a_declared_check() {
        let r = report(&[("a", Status::Fail), ("b", Status::Pass)]);
        let p = judge_near_miss("x", Some(&vec!["b".to_string()]), &r);
        assert!(!p.ok);
        assert_eq!(
            p.problem.unwrap(),
            "near-miss `x` must fail b (near_miss_fails) but fails a"
        );
        let p = judge_near_miss("x", Some(&vec!["b".to_string(), "a".to_string()]), &r);
        assert!(p.ok);
    }

    #[test]
    fn solution_must_pass_everything() {
        let p = judge_solution(&report(&[("a", Status::Pass), ("b", Status::Blocked)]));
        assert!(!p.ok && p.problem.unwrap().contains("fails b"));
    }

    #[test]
    fn a_variant_that_fails_a_check_is_a_failure_naming_the_check() {
        let p = judge_variant(
            "flow-style",
            &report(&[("a", Status::Pass), ("rate-window", Status::Fail)]),
        );
        assert!(!p.ok);
        assert_eq!(p.name, "variant:flow-style");
        assert_eq!(p.failed, vec!["rate-window".to_string()]);
        assert_eq!(
            p.problem.unwrap(),
            "variant `flow-style` is a correct answer but fails rate-window: the grader rejects it"
        );
        assert!(judge_variant("x", &report(&[("a", Status::Pass)])).ok);
    }

    #[test]
    fn the_slowest_check_ignores_skipped_ones() {
        let mut r = report(&[("a", Status::Pass), ("b", Status::Fail), ("c", Status::Skipped)]);
        r.outcomes[0].seconds = 2.0;
        r.outcomes[1].seconds = 9.5;
        r.outcomes[2].seconds = 30.0;
        let p = judge_solution(&r);
        assert_eq!(p.slowest_check().map(|c| c.id.as_str()), Some("b"));
    }

    #[test]
    fn waits_add_up_to_the_phase_total() {
        let mut w = Waits {
            stack: 0.7,
            prepare: 0.1,
            solve: 2.0,
            grade: 5.2,
        };
        assert!((w.total() - 8.0).abs() < 1e-9);
        w.add(&Waits {
            stack: 0.3,
            ..Waits::default()
        });
        assert!((w.stack - 1.0).abs() < 1e-9);
    }
}
