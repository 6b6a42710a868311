//! validate's output, as pure functions of its results: one line per lab as it finishes,
//! a failed phase with the grader's report, the closing summary, the table of the slowest
//! labs and phases with their waits, and the JUnit document.

use std::fmt::Write as _;

use super::judge::{LabResult, Phase, Waits};
use super::report::RunReport;

/// A lab's line (and, when it failed, what went wrong).
pub fn result_line(r: &LabResult) -> String {
    let mut out = String::new();
    let mark = match r.verdict.as_str() {
        "passed" => "✓",
        "skipped" => "-",
        _ => "✗",
    };
    let phases: Vec<String> = r
        .phases
        .iter()
        .map(|p| {
            let caught = if p.name.contains("near-miss:") && p.ok && !p.failed.is_empty() {
                format!(" ({})", p.failed.join(", "))
            } else {
                String::new()
            };
            format!(
                "{} {}{caught} {:.0}s",
                p.name,
                if p.ok { "ok" } else { "FAILED" },
                p.seconds
            )
        })
        .collect();
    let retry = if r.attempts > 1 {
        format!(" (attempt {})", r.attempts)
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "{mark} {} {}{retry} in {:.1}s: {}",
        r.lab,
        r.verdict,
        r.seconds,
        phases.join(", ")
    );
    if let Some(n) = &r.note {
        let _ = writeln!(out, "    {n}");
    }
    for p in r.phases.iter().filter(|p| !p.ok) {
        let _ = writeln!(out, "{}", phase_failure(p));
    }
    out.trim_end().to_string()
}

/// A failed phase: what it had to prove and the grader's report.
pub fn phase_failure(p: &Phase) -> String {
    let mut out = String::new();
    if let Some(problem) = &p.problem {
        let _ = writeln!(out, "    {}: {problem}", p.name);
    }
    if let Some(rep) = &p.report {
        for line in crate::report::human(rep).lines() {
            let _ = writeln!(out, "      {line}");
        }
    }
    out.trim_end().to_string()
}

/// The closing lines: counts, wall time, per-lab figure, failures and flaky labs.
pub fn summary(run: &RunReport) -> String {
    let passed = run.with_verdict("passed");
    let failed = run.with_verdict("failed");
    let skipped = run.with_verdict("skipped");
    let validated = passed.len() + failed.len();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "validate: {validated} labs validated live ({} passed, {} failed), {} skipped as online-only{} in {:.1}s ({:.1}s per lab, --jobs {}{}{})",
        passed.len(),
        failed.len(),
        skipped.len(),
        if skipped.is_empty() {
            String::new()
        } else {
            format!(" ({})", skipped.join(", "))
        },
        run.wall_seconds,
        run.wall_seconds / run.labs.len().max(1) as f64,
        run.jobs,
        if run.partitions.is_empty() {
            String::new()
        } else {
            format!(", partition {}", run.partitions.join(" + "))
        },
        run.age_seconds
            .map(|a| format!(", aged phases at {a}s"))
            .unwrap_or_default(),
    );
    let w = run.wait_sums();
    let phases = run.labs.iter().map(|l| l.phases.len()).sum::<usize>();
    let _ = writeln!(
        out,
        "waits summed over {phases} phases: {:.1}s in all = stacks {:.1}s + files {:.1}s + solutions {:.1}s + grading {:.1}s",
        w.total(),
        w.stack,
        w.prepare,
        w.solve,
        w.grade
    );
    if !failed.is_empty() {
        let _ = writeln!(out, "failed: {}", failed.join(", "));
    }
    let flaky: Vec<String> = run
        .labs
        .iter()
        .filter(|r| r.verdict == "passed" && r.attempts > 1)
        .map(|r| r.lab.to_string())
        .collect();
    if !flaky.is_empty() {
        let _ = writeln!(
            out,
            "flaky (failed, then passed on a retry): {}",
            flaky.join(", ")
        );
    }
    out.trim_end().to_string()
}

fn slowest_check(p: &Phase) -> String {
    p.slowest_check()
        .map(|c| format!("{} {:.1}s", c.id, c.seconds))
        .unwrap_or_else(|| "-".into())
}

fn waits_cells(w: &Waits) -> String {
    format!(
        "{:>6.1} {:>6.1} {:>6.1} {:>6.1}",
        w.stack, w.prepare, w.solve, w.grade
    )
}

/// The `n` slowest labs (by the work of their phases) and the `n` slowest phases, with
/// where their time went: what to look at first to make validate faster.
pub fn slowest(run: &RunReport, n: usize) -> String {
    let mut out = String::new();
    let mut labs: Vec<(&super::judge::LabResult, Waits)> = run
        .labs
        .iter()
        .filter(|l| !l.phases.is_empty())
        .map(|l| {
            let mut w = Waits::default();
            for p in &l.phases {
                w.add(&p.waits);
            }
            (l, w)
        })
        .collect();
    if labs.is_empty() {
        return out;
    }
    labs.sort_by(|a, b| b.1.total().total_cmp(&a.1.total()).then(a.0.lab.cmp(&b.0.lab)));
    let _ = writeln!(
        out,
        "slowest labs (work: the sum of their phases' times; seconds):\n  {:<6} {:>6} {:>6} {:>6} {:>6} {:>6} {:>6} {:>6}  slowest check (phase)",
        "lab", "wall", "work", "stack", "files", "solve", "grade", "phases"
    );
    for (l, w) in labs.iter().take(n) {
        let worst = l
            .phases
            .iter()
            .filter_map(|p| p.slowest_check().map(|c| (c, p)))
            .max_by(|a, b| a.0.seconds.total_cmp(&b.0.seconds))
            .map(|(c, p)| format!("{} {:.1}s ({})", c.id, c.seconds, p.name))
            .unwrap_or_else(|| "-".into());
        let _ = writeln!(
            out,
            "  {:<6} {:>6.1} {:>6.1} {} {:>6}  {worst}",
            l.lab.to_string(),
            l.seconds,
            w.total(),
            waits_cells(w),
            l.phases.len()
        );
    }
    let mut phases: Vec<(&super::judge::LabResult, &Phase)> = run
        .labs
        .iter()
        .flat_map(|l| l.phases.iter().map(move |p| (l, p)))
        .collect();
    phases.sort_by(|a, b| {
        b.1.waits
            .total()
            .total_cmp(&a.1.waits.total())
            .then(a.0.lab.cmp(&b.0.lab))
    });
    let _ = writeln!(
        out,
        "slowest phases (seconds):\n  {:<6} {:<34} {:>6} {:>6} {:>6} {:>6} {:>6}  slowest check",
        "lab", "phase", "total", "stack", "files", "solve", "grade"
    );
    for (l, p) in phases.iter().take(n) {
        let _ = writeln!(
            out,
            "  {:<6} {:<34} {:>6.1} {}  {}",
            l.lab.to_string(),
            crate::check::trim(&p.name, 34),
            p.waits.total(),
            waits_cells(&p.waits),
            slowest_check(p)
        );
    }
    out.trim_end().to_string()
}

/// JUnit: one suite per lab, one test case per phase (its verdict, its time, and what went
/// wrong as the failure). Works as well on merged reports, which carry no grader reports.
pub fn junit(run: &RunReport) -> String {
    use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
    let mut top = Report::new("promlab validate");
    for l in &run.labs {
        let mut suite = TestSuite::new(l.lab.to_string());
        if l.phases.is_empty() {
            let status = match (l.verdict.as_str(), &l.note) {
                ("skipped", note) => {
                    let mut s = TestCaseStatus::skipped();
                    s.set_message(note.clone().unwrap_or_default());
                    s
                }
                (_, note) => {
                    let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    s.set_message(note.clone().unwrap_or_default());
                    s
                }
            };
            suite.add_test_case(TestCase::new("lab", status));
        }
        for p in &l.phases {
            let status = if p.ok {
                TestCaseStatus::success()
            } else {
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                s.set_message(p.problem.clone().unwrap_or_default());
                if let Some(rep) = &p.report {
                    s.set_description(crate::report::human(rep));
                }
                s
            };
            let mut tc = TestCase::new(p.name.clone(), status);
            tc.set_time(std::time::Duration::from_secs_f64(p.waits.total().max(0.0)));
            suite.add_test_case(tc);
        }
        if let Some(note) = l.note.as_ref().filter(|_| !l.phases.is_empty()) {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Error);
            s.set_message(note.clone());
            suite.add_test_case(TestCase::new("stack", s));
        }
        top.add_test_suite(suite);
    }
    top.to_string().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::super::judge::tests::report;
    use super::super::judge::{judge_near_miss, judge_solution, judge_variant};
    use super::super::report::FORMAT_VERSION;
    use super::*;
    use crate::check::Status;
    use crate::lab::LabId;

    fn run() -> RunReport {
        let timed = |mut p: Phase, stack: f64, grade: f64| {
            p.waits = Waits {
                stack,
                prepare: 0.1,
                solve: 0.0,
                grade,
            };
            p.seconds = p.waits.total() - stack;
            p
        };
        let mut slow = report(&[("group-wait", Status::Fail)]);
        slow.outcomes[0].seconds = 31.0;
        RunReport {
            format_version: FORMAT_VERSION,
            wall_seconds: 40.0,
            jobs: 4,
            partitions: vec!["1/2".into()],
            age_seconds: Some(600),
            labs: vec![
                LabResult {
                    lab: LabId::new(1, 1),
                    verdict: "passed".into(),
                    note: None,
                    phases: vec![timed(judge_solution(&report(&[("a", Status::Pass)])), 0.7, 2.0)],
                    seconds: 3.0,
                    attempts: 1,
                },
                LabResult {
                    lab: LabId::new(8, 5),
                    verdict: "failed".into(),
                    note: None,
                    phases: vec![
                        timed(judge_near_miss("zero-wait", None, &slow), 0.8, 31.5),
                        timed(
                            judge_variant("flow", &report(&[("route", Status::Fail)])),
                            0.0,
                            4.0,
                        ),
                    ],
                    seconds: 36.0,
                    attempts: 1,
                },
            ],
        }
    }

    #[test]
    fn the_slowest_table_ranks_labs_and_phases_by_their_waits() {
        let t = slowest(&run(), 10);
        let lines: Vec<&str> = t.lines().collect();
        assert!(lines[0].starts_with("slowest labs"), "{t}");
        assert!(
            lines[2].trim_start().starts_with("8.5"),
            "the slowest lab first: {t}"
        );
        assert!(lines[2].contains("group-wait 31.0s (near-miss:zero-wait)"), "{t}");
        assert!(lines[3].trim_start().starts_with("1.1"), "{t}");
        let phases = t.find("slowest phases").expect("phases table");
        let after: Vec<&str> = t[phases..].lines().collect();
        assert!(after[2].contains("near-miss:zero-wait"), "{t}");
        assert!(after[2].contains("32.4"), "total = stack + files + grade: {t}");
        assert_eq!(slowest(&run(), 1).matches("\n  ").count(), 4, "n rows per table");
    }

    #[test]
    fn the_summary_gives_wall_time_per_lab_figure_and_wait_sums() {
        let s = summary(&run());
        assert!(
            s.contains("2 labs validated live (1 passed, 1 failed), 0 skipped as online-only in 40.0s (20.0s per lab, --jobs 4, partition 1/2, aged phases at 600s)"),
            "{s}"
        );
        assert!(s.contains("waits summed over 3 phases: 39.3s in all = stacks 1.5s + files 0.3s + solutions 0.0s + grading 37.5s"), "{s}");
        assert!(s.contains("failed: 8.5"), "{s}");
    }

    #[test]
    fn junit_has_a_case_per_phase_with_the_failure_named() {
        let x = junit(&run());
        assert!(x.contains("testsuite name=\"8.5\""), "{x}");
        assert!(x.contains("testcase name=\"variant:flow\""), "{x}");
        assert!(
            x.contains("variant `flow` is a correct answer but fails route"),
            "{x}"
        );
        assert_eq!(x.matches("<testcase").count(), 3, "{x}");
    }
}
