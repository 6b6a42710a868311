//! When checks run: `eval_timed` polls one check within its `within`, `hold` and
//! `looks_back`; `run_all` runs a lab's checks in `requires` order, scenarios alone, and
//! turns evaluations into the report.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use futures::FutureExt;
use futures::future::{BoxFuture, Shared};

use super::context::{Ctx, now_unix};
use super::hints;
use super::kinds::eval_once;
use super::outcome::{Eval, Outcome, Report, Status};
use crate::lab::spec::CheckSpec;

/// Evaluates a check with its timing: `within` polls until it holds (counted from
/// `settled_since`, the last change that could affect it), `hold` requires it to keep holding.
pub(crate) async fn eval_timed(
    ctx: &Ctx,
    spec: &CheckSpec,
    settled_since: f64,
    progress: &(dyn Fn(&str, Duration) + Sync),
) -> Eval {
    let begun = Instant::now();
    let poll = spec
        .poll
        .map_or(Duration::from_secs(1), |d| d.0)
        .max(Duration::from_millis(100));
    if let Some(back) = spec.looks_back.map(|d| d.0.as_secs_f64()) {
        // Until the data window lies wholly after the change, any verdict may rest on older
        // samples: a pass on data shipped before a half-fix, a failure counted before a fix.
        loop {
            let left = settled_since + back - now_unix();
            if left <= 0.0 {
                break;
            }
            if ctx.stopped() {
                return Eval::interrupted();
            }
            progress(&spec.id, begun.elapsed());
            tokio::time::sleep(poll.min(Duration::from_secs_f64(left))).await;
        }
    }
    let start = Instant::now();
    let full_within = spec.within.map_or(Duration::ZERO, |d| d.0);
    let since_change = (now_unix() - settled_since).max(0.0);
    let within = full_within.saturating_sub(Duration::from_secs_f64(
        since_change.min(full_within.as_secs_f64()),
    ));
    let deadline = now_unix() + within.as_secs_f64();
    let mut e = eval_once(ctx, spec).await;
    // A `hold` broken while `within` still runs starts over: the check must hold for the
    // whole `hold` at some point before the deadline (leftovers of an earlier run may make it
    // pass for a moment first, then break before the learner's change takes effect).
    loop {
        while !e.pass
            && !e.settled
            && !e.hopeless_by(deadline)
            && !e.interrupted
            && !ctx.stopped()
            && start.elapsed() < within
        {
            progress(&spec.id, begun.elapsed());
            tokio::time::sleep(poll.min(within.saturating_sub(start.elapsed()))).await;
            e = eval_once(ctx, spec).await;
        }
        if !e.pass {
            if e.interrupted || (!e.settled && ctx.stopped() && start.elapsed() < within) {
                return Eval::interrupted();
            }
            if let Some((t, why)) = e.not_before.clone().filter(|_| e.hopeless_by(deadline)) {
                e.observed = format!(
                    "{} (and it cannot pass within {}s of your last change: {why}, not before {:.0}s from now)",
                    e.observed,
                    full_within.as_secs(),
                    (t - now_unix()).max(0.0)
                );
            } else if !full_within.is_zero() && !e.settled {
                e.observed = format!(
                    "{} (still, {}s after your last change)",
                    e.observed,
                    full_within.as_secs().max(since_change as u64)
                );
            }
            return e;
        }
        let Some(hold) = spec.hold.map(|d| d.0) else {
            return e;
        };
        let held_from = Instant::now();
        let mut broke = None;
        while held_from.elapsed() < hold {
            if ctx.stopped() {
                return Eval::interrupted();
            }
            progress(&spec.id, begun.elapsed());
            tokio::time::sleep(poll).await;
            let again = eval_once(ctx, spec).await;
            if again.interrupted {
                return again;
            }
            if !again.pass {
                broke = Some(again);
                break;
            }
        }
        let Some(mut f) = broke else {
            return e;
        };
        if start.elapsed() < within && !f.settled && !ctx.stopped() {
            e = f;
            continue;
        }
        f.observed = format!(
            "{} (held {:.0}s of {}s)",
            f.observed,
            held_from.elapsed().as_secs_f64(),
            hold.as_secs()
        );
        return f;
    }
}

/// Runs every check: each starts as soon as the checks it `requires` are done, scenarios run
/// alone, the report keeps manifest order. `pre` outcomes (a failed reload) come first and
/// block everything.
pub async fn run_all(ctx: &Ctx, pre: Vec<Outcome>, progress: &(dyn Fn(&str, Duration) + Sync)) -> Report {
    let checks = &ctx.lab.manifest.checks;
    let blocked_all = pre.iter().any(|o| o.status != Status::Pass);
    let wanted = ctx.mode.only.as_ref().map(|only| with_requirements(checks, only));
    type Run<'a> = Shared<BoxFuture<'a, Outcome>>;
    let mut runs: BTreeMap<&str, Run<'_>> = BTreeMap::new();
    let mut remaining: Vec<&CheckSpec> = checks.iter().collect();
    // Build in dependency order, so that every check can await what it requires.
    while !remaining.is_empty() {
        let (ready, later): (Vec<&CheckSpec>, Vec<&CheckSpec>) = remaining
            .into_iter()
            .partition(|c| c.requires.iter().all(|r| runs.contains_key(r.as_str())));
        if ready.is_empty() {
            for c in later {
                let o = blocked(c, "a cycle in `requires`".to_string());
                runs.insert(c.id.as_str(), futures::future::ready(o).boxed().shared());
            }
            break;
        }
        for c in ready {
            let deps: Vec<Run<'_>> = c.requires.iter().map(|r| runs[r.as_str()].clone()).collect();
            let wanted = wanted.as_ref();
            let run = async move {
                let deps = futures::future::join_all(deps).await;
                if blocked_all {
                    return blocked(c, "the configuration did not load (see above)".to_string());
                }
                if wanted.is_some_and(|w| !w.contains(c.id.as_str())) {
                    return skipped(c, "not needed to prove this phase");
                }
                let failed: Vec<&str> = deps
                    .iter()
                    .filter(|o| matches!(o.status, Status::Fail | Status::Blocked))
                    .map(|o| o.id.as_str())
                    .collect();
                if !failed.is_empty() {
                    return blocked(
                        c,
                        format!("it requires {}, which did not pass", failed.join(", ")),
                    );
                }
                if ctx.stopped() || deps.iter().any(|o| o.status == Status::Skipped) {
                    return skipped(c, "not needed: another check already failed");
                }
                let t = Instant::now();
                let e = if c.scenario.is_some() {
                    let _alone = ctx.exclusive.write().await;
                    eval_timed(ctx, c, ctx.settled_since, progress).await
                } else {
                    let _shared = ctx.exclusive.read().await;
                    eval_timed(ctx, c, ctx.settled_since, progress).await
                };
                let o = to_outcome(c, e, t.elapsed());
                if o.status == Status::Fail && ctx.mode.stop_at_first_fail {
                    ctx.stop.store(true, Ordering::Relaxed);
                }
                o
            }
            .boxed()
            .shared();
            runs.insert(c.id.as_str(), run);
        }
        remaining = later;
    }
    let in_order: Vec<Run<'_>> = checks
        .iter()
        .filter_map(|c| runs.get(c.id.as_str()).cloned())
        .collect();
    let mut outcomes = pre;
    outcomes.extend(futures::future::join_all(in_order).await);
    for o in &mut outcomes {
        if o.status == Status::Fail {
            o.detail.extend(hints::computed(o));
        }
    }
    let passed = outcomes.iter().filter(|o| o.status == Status::Pass).count();
    Report {
        format_version: 1,
        lab: ctx.lab.id(),
        title: ctx.lab.manifest.title.clone(),
        passed,
        total: outcomes.len(),
        outcomes,
    }
}

/// The named checks and, transitively, every check they require.
fn with_requirements<'a>(checks: &'a [CheckSpec], only: &BTreeSet<String>) -> BTreeSet<&'a str> {
    let mut want: BTreeSet<&str> = checks
        .iter()
        .filter(|c| only.contains(&c.id))
        .map(|c| c.id.as_str())
        .collect();
    loop {
        let more: Vec<&str> = checks
            .iter()
            .filter(|c| want.contains(c.id.as_str()))
            .flat_map(|c| c.requires.iter().map(String::as_str))
            .filter(|r| !want.contains(r))
            .collect();
        if more.is_empty() {
            return want;
        }
        want.extend(more);
    }
}

fn skipped(c: &CheckSpec, why: &str) -> Outcome {
    Outcome {
        status: Status::Skipped,
        observed: format!("not run: {why}"),
        ..blocked(c, String::new())
    }
}

fn blocked(c: &CheckSpec, why: String) -> Outcome {
    Outcome {
        id: c.id.clone(),
        title: c.title.clone(),
        status: Status::Blocked,
        expected: String::new(),
        observed: format!("not checked: {why}"),
        detail: Vec::new(),
        hint: String::new(),
        seconds: 0.0,
    }
}

/// Turns an evaluation into a reported outcome (an interrupted one is skipped, not failed).
pub(crate) fn to_outcome(c: &CheckSpec, e: Eval, took: Duration) -> Outcome {
    if e.interrupted {
        return Outcome {
            seconds: took.as_secs_f64(),
            ..skipped(c, "not finished: another check already failed")
        };
    }
    Outcome {
        id: c.id.clone(),
        title: c.title.clone(),
        status: if e.pass { Status::Pass } else { Status::Fail },
        hint: if e.pass { String::new() } else { c.hint.clone() },
        expected: e.expected,
        observed: e.observed,
        detail: e.detail,
        seconds: took.as_secs_f64(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::context::Mode;

    fn ctx(checks: &str, mode: Mode) -> (Ctx, tempfile::TempDir) {
        crate::check::context::testing::ctx(checks, mode, &[])
    }

    const CHECKS: &str = r#"  - id: present
    title: a file that exists
    hint: h
    file: {path: present.txt, exists: true}
  - id: missing
    title: a file the learner has not written (settled at once, however long within is)
    hint: h
    within: 300s
    file: {path: missing.txt, exists: true}
  - id: after-missing
    title: requires the missing file
    hint: h
    requires: [missing]
    file: {path: present.txt, exists: true}
  - id: unreachable
    title: a server that never answers (would wait its whole within)
    hint: h
    within: 300s
    http: {service: closed, path: /}
"#;

    fn status_of(r: &Report, id: &str) -> Status {
        r.outcomes.iter().find(|o| o.id == id).unwrap().status
    }

    #[tokio::test]
    async fn a_near_miss_run_ends_at_its_first_settled_failure() {
        let mode = Mode {
            only: None,
            stop_at_first_fail: true,
        };
        let (c, _ws) = ctx(CHECKS, mode);
        let r = run_all(&c, vec![], &|_, _| {}).await;
        assert_eq!(status_of(&r, "present"), Status::Pass);
        assert_eq!(status_of(&r, "missing"), Status::Fail);
        let m = r.outcomes.iter().find(|o| o.id == "missing").unwrap();
        assert!(
            !m.observed.contains("still,"),
            "a settled failure never waits: {m:?}"
        );
        assert_eq!(status_of(&r, "after-missing"), Status::Blocked);
        // Cut short by the failure above: reported skipped, never failed.
        let u = r.outcomes.iter().find(|o| o.id == "unreachable").unwrap();
        assert_eq!(u.status, Status::Skipped, "{u:?}");
        assert!(u.seconds < 100.0, "it stopped waiting: {u:?}");
        assert!(r.any_failed());
        assert_eq!(r.not_passed_ids(), vec!["missing", "after-missing"]);
    }

    #[tokio::test]
    async fn a_starter_run_grades_only_the_declared_checks_and_their_requirements() {
        let mode = Mode {
            only: Some(BTreeSet::from(["after-missing".to_string()])),
            stop_at_first_fail: false,
        };
        let (c, _ws) = ctx(CHECKS, mode);
        let r = run_all(&c, vec![], &|_, _| {}).await;
        assert_eq!(status_of(&r, "missing"), Status::Fail, "a requirement runs");
        assert_eq!(status_of(&r, "after-missing"), Status::Blocked);
        assert_eq!(status_of(&r, "present"), Status::Skipped);
        assert_eq!(status_of(&r, "unreachable"), Status::Skipped);
        let ids: Vec<&str> = r.outcomes.iter().map(|o| o.id.as_str()).collect();
        assert_eq!(
            ids,
            ["present", "missing", "after-missing", "unreachable"],
            "manifest order"
        );
    }

    #[tokio::test]
    async fn a_check_that_looks_back_is_judged_only_once_its_window_follows_the_change() {
        let (c, ws) = ctx(CHECKS, Mode::default());
        std::fs::write(ws.path().join("present.txt"), "x").unwrap();
        let spec: CheckSpec = crate::yaml::parse(
            "{id: w, title: t, hint: h, within: 5s, looks_back: 1s, file: {path: present.txt, exists: true}}",
        )
        .unwrap();
        // Changed just now: a pass may rest on data from before, so it waits the window out.
        let t = Instant::now();
        let e = eval_timed(&c, &spec, now_unix(), &|_, _| {}).await;
        assert!(e.pass);
        assert!(t.elapsed() >= Duration::from_millis(900), "{:?}", t.elapsed());
        // Changed long ago: judged at once.
        let t = Instant::now();
        let e = eval_timed(&c, &spec, now_unix() - 60.0, &|_, _| {}).await;
        assert!(e.pass);
        assert!(t.elapsed() < Duration::from_millis(500), "{:?}", t.elapsed());
        // A failure waits the window, then polls the rest of `within` from the change.
        let missing: CheckSpec = crate::yaml::parse(
            "{id: m, title: t, hint: h, within: 2s, looks_back: 1s, http: {service: closed, path: /}}",
        )
        .unwrap();
        let t = Instant::now();
        let e = eval_timed(&c, &missing, now_unix(), &|_, _| {}).await;
        assert!(!e.pass);
        let took = t.elapsed();
        assert!(
            took >= Duration::from_millis(1900) && took < Duration::from_secs(4),
            "{took:?}"
        );
    }

    #[test]
    fn scenario_state_is_rendered_into_queries_only_when_recorded() {
        let (c, _ws) = ctx(CHECKS, Mode::default());
        c.marks.lock().unwrap().insert("fault".into(), now_unix() - 41.5);
        c.state.lock().unwrap().insert("before".into(), "1234".into());
        let spec: CheckSpec = crate::yaml::parse(
            "{id: x, title: t, hint: h, promql: {expr: 'increase(errors[{{ since.fault }}s]) + {{ state.before }} + {{ state.nope }}', expect: {equals_expr: {expr: 'x @ {{ mark.fault }}'}}}}",
        )
        .unwrap();
        let p = spec.with_state(&c.state_vars()).promql.unwrap();
        assert_eq!(p.expr.unwrap(), "increase(errors[42s]) + 1234 + {{ state.nope }}");
        let at: f64 = p
            .expect
            .equals_expr
            .unwrap()
            .expr
            .trim_start_matches("x @ ")
            .parse()
            .unwrap();
        assert!((now_unix() - 41.5 - at).abs() < 5.0);
    }

    #[tokio::test]
    async fn a_failed_reload_blocks_every_check() {
        let (c, _ws) = ctx(CHECKS, Mode::default());
        let pre = vec![Outcome {
            id: "prometheus-config-loads".into(),
            title: "t".into(),
            status: Status::Fail,
            expected: String::new(),
            observed: "bad config".into(),
            detail: vec![],
            hint: String::new(),
            seconds: 0.0,
        }];
        let r = run_all(&c, pre, &|_, _| {}).await;
        assert_eq!(r.outcomes[0].id, "prometheus-config-loads");
        assert!(r.outcomes[1..].iter().all(|o| o.status == Status::Blocked));
        assert_eq!(r.passed, 0);
    }
}
