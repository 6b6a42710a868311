//! Pure rendering of reports: human text, JSON and JUnit XML. No I/O here.

use std::fmt::Write as _;

use crate::check::{Outcome, Report, Status};

/// Renders a check report for people.
pub fn human(r: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Lab {} — {}", r.lab, r.title);
    for o in &r.outcomes {
        out.push_str(&outcome_lines(o));
    }
    let verdict = if r.all_passed() {
        "all checks pass — well done".to_string()
    } else {
        "keep going: fix the first ✗ above, then run `promlab check` again".to_string()
    };
    let _ = writeln!(out, "\n{}/{} checks pass; {verdict}", r.passed, r.total);
    out
}

fn outcome_lines(o: &Outcome) -> String {
    let mut out = String::new();
    let mark = match o.status {
        Status::Pass => "✓",
        Status::Fail => "✗",
        Status::Blocked => "·",
        Status::Skipped => "-",
    };
    let _ = writeln!(out, "{mark} {} — {}", o.id, o.title);
    match o.status {
        Status::Pass => {}
        Status::Blocked | Status::Skipped => {
            let _ = writeln!(out, "    {}", o.observed);
        }
        Status::Fail => {
            let _ = writeln!(out, "    expected: {}", o.expected);
            let _ = writeln!(out, "    observed: {}", o.observed);
            for d in &o.detail {
                let _ = writeln!(out, "    {d}");
            }
            if !o.hint.is_empty() {
                let _ = writeln!(out, "    hint: {}", o.hint);
            }
        }
    }
    out
}

/// Renders a check report as JSON (schema: `Report`, `format_version` 1).
pub fn json(r: &Report) -> String {
    serde_json::to_string_pretty(r).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

/// Renders reports as JUnit XML: one test suite per report, one test case per check.
pub fn junit(name: &str, reports: &[(String, &Report)]) -> String {
    use quick_junit::{NonSuccessKind, TestCase, TestCaseStatus, TestSuite};
    let mut top = quick_junit::Report::new(name);
    for (suite_name, r) in reports {
        let mut suite = TestSuite::new(suite_name.clone());
        for o in &r.outcomes {
            let status = match o.status {
                Status::Pass => TestCaseStatus::success(),
                Status::Fail => {
                    let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    s.set_message(format!("expected {}; observed {}", o.expected, o.observed));
                    s.set_description(format!("{}\nhint: {}", o.detail.join("\n"), o.hint));
                    s
                }
                Status::Blocked | Status::Skipped => {
                    let mut s = TestCaseStatus::skipped();
                    s.set_message(o.observed.clone());
                    s
                }
            };
            let mut tc = TestCase::new(format!("{} {}", o.id, o.title), status);
            tc.set_time(std::time::Duration::from_secs_f64(o.seconds));
            suite.add_test_case(tc);
        }
        top.add_test_suite(suite);
    }
    top.to_string().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::LabId;

    fn report() -> Report {
        Report {
            format_version: 1,
            lab: LabId::new(1, 1),
            title: "What is Prometheus".into(),
            passed: 1,
            total: 3,
            outcomes: vec![
                Outcome {
                    id: "a".into(),
                    title: "A".into(),
                    status: Status::Pass,
                    expected: "x".into(),
                    observed: "x".into(),
                    detail: vec![],
                    hint: String::new(),
                    seconds: 0.1,
                },
                Outcome {
                    id: "b".into(),
                    title: "B".into(),
                    status: Status::Fail,
                    expected: "1 series".into(),
                    observed: "0 series".into(),
                    detail: vec!["query: up".into()],
                    hint: "add a job".into(),
                    seconds: 0.2,
                },
                Outcome {
                    id: "c".into(),
                    title: "C".into(),
                    status: Status::Blocked,
                    expected: String::new(),
                    observed: "not checked: it requires b".into(),
                    detail: vec![],
                    hint: String::new(),
                    seconds: 0.0,
                },
            ],
        }
    }

    #[test]
    fn human_report_shows_expected_observed_hint() {
        let t = human(&report());
        assert!(t.contains("✓ a — A"));
        assert!(t.contains(
            "✗ b — B\n    expected: 1 series\n    observed: 0 series\n    query: up\n    hint: add a job"
        ));
        assert!(t.contains("· c — C"));
        assert!(t.contains("1/3 checks pass"));
    }

    #[test]
    fn json_and_junit() {
        let j: serde_json::Value = serde_json::from_str(&json(&report())).unwrap();
        assert_eq!(j["outcomes"][1]["status"], "fail");
        assert_eq!(j["lab"], "1.1");
        let x = junit("promlab", &[("1.1".into(), &report())]);
        assert!(x.contains("<failure"), "{x}");
        assert!(x.contains("tests=\"3\""), "{x}");
    }
}
