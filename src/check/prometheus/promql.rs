//! `promql:` — a query (lab-authored or the learner's file) evaluated and judged: result type,
//! series, values, labels, a hidden reference query, and whether a verdict can still change.

use super::ast::{ast_check, ast_facts};
use super::client::{QueryResult, Series, label_set, query, query_with};
use crate::check::context::Ctx;
use crate::check::kinds::Judge;
use crate::check::outcome::{Eval, trim};
use crate::lab::compare::{Approx, Cmp, approx_check, fmt_num};
use crate::lab::spec::{EqualsExpr, PromqlCheck};
use futures::future::BoxFuture;
use promql_parser::parser;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// `promql:`
pub(crate) async fn promql(ctx: &Ctx, c: &PromqlCheck) -> Eval {
    let expr = match (&c.expr, &c.expr_file) {
        (Some(e), _) => e.clone(),
        (None, Some(f)) => match crate::check::learner::read_learner(&ctx.workspace, f) {
            Ok(t) => match query_in_file(f, &t) {
                Some(q) => q,
                None => {
                    return Eval::fail(
                        format!("a ```promql code block in {f}"),
                        format!("{f} has no ```promql block"),
                    )
                    .settled();
                }
            },
            Err(e) => return Eval::fail(format!("a query in {f}"), e.to_string()).settled(),
        },
        (None, None) => return Eval::fail("a query", "the check names no query"),
    };
    if expr.trim().is_empty() {
        let file = c.expr_file.clone().unwrap_or_default();
        return Eval::fail(format!("a query in {file}"), format!("{file} is empty")).settled();
    }
    if let Some(rules) = &c.ast {
        let e = ast_check(&expr, rules);
        if !e.pass {
            return e.settled();
        }
    }
    let x = &c.expect;
    // The learner's query and the reference are evaluated at one instant, so that two
    // equivalent queries always agree, whatever the traffic does between two requests.
    let at = instant();
    let result = query_with(ctx, &c.server, &expr, Some(at), x.samples.is_some()).await;
    if let Some(err_cmp) = &x.error {
        return match result {
            Err(msg) => match err_cmp.check(Some(&Value::String(msg.clone()))) {
                Ok(()) => Eval::pass("the query to fail", msg),
                Err(why) => Eval::fail(
                    format!("an error that {}", err_cmp.describe()),
                    format!("{msg} ({why})"),
                ),
            },
            Ok(r) => Eval::fail(
                "the query to fail",
                format!("it returned {} series", r.series.len()),
            ),
        };
    }
    let r = match result {
        Ok(r) => r,
        Err(msg) => {
            let e = Eval::fail("the query to run", format!("query failed: {msg}"))
                .with_detail(format!("query: {}", trim(&expr, 160)));
            return if msg.starts_with("bad_data") {
                e.settled()
            } else {
                e
            };
        }
    };
    let mut e = judge_result(&r, x);
    if let Some(eq) = &x.equals_expr {
        let server = eq.server.as_deref().unwrap_or(&c.server);
        let reference = query(ctx, server, &eq.expr, Some(at)).await;
        match reference {
            Err(err) if e.pass => {
                e = Eval::fail("the reference query to run", format!("reference failed: {err}"));
            }
            Err(_) => {}
            Ok(reference) => {
                let same = compare_answer(&r, &reference, eq);
                let differs = !same.pass;
                if e.pass {
                    e = same;
                }
                if e.pass
                    && let Some(why) = too_early(ctx, server, &[&expr, &eq.expr]).await
                {
                    e = Eval::fail(e.expected, format!("{} {why}", e.observed));
                }
                // Two different answers over the same data at the same instant: an
                // equivalent query would agree now, so waiting cannot turn this into a pass.
                if differs
                    && comparison_is_final(ctx, server, at, &[&expr, &eq.expr], &[&r, &reference]).await
                {
                    e.settled = true;
                }
            }
        }
    }
    if !e.pass {
        e.detail.push(format!("query: {}", trim(&expr, 160)));
    }
    e.detail.extend(r.notes);
    e
}

/// The query a learner's file holds: the whole file, or in Markdown its first ```promql
/// block (None when it has none); `#` comment lines dropped.
pub fn query_in_file(path: &str, text: &str) -> Option<String> {
    if path.ends_with(".md") {
        crate::check::markdown::code_blocks(text, "promql")
            .first()
            .map(|q| strip_comments(q))
    } else {
        Some(strip_comments(text))
    }
}

fn strip_comments(t: &str) -> String {
    t.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_string()
}

/// Judges a result against `expect` (no reference comparison).
pub(crate) fn judge_result(r: &QueryResult, x: &crate::lab::spec::PromqlExpect) -> Eval {
    let n = r.series.len();
    let summary = summarize(r);
    if let Some(t) = &x.result_type
        && &r.result_type != t
    {
        // The type of a result follows from the query's text, not from the data.
        return Eval::fail(format!("a {t} result"), format!("a {} result", r.result_type)).settled();
    }
    let series_cmp = Cmp::count_or_at_least_one(x.series.as_ref());
    if let Err(why) = series_cmp.check(Some(&Value::from(n))) {
        let mut e = Eval::fail(
            format!("{} series", series_cmp.describe()),
            format!("{n} series ({why})"),
        );
        if n == 0 {
            e = e.with_detail(
                "the query returned nothing: does the metric exist, and do the label matchers match?",
            );
        }
        return e.with_detail(summary);
    }
    if let Some(v) = &x.value {
        for s in &r.series {
            if let Err(why) = v.check(Some(&Value::from(s.value))) {
                return Eval::fail(
                    format!("every value {}", v.describe()),
                    format!("{} = {} ({why})", label_set(&s.labels), fmt_num(s.value)),
                );
            }
        }
    }
    if let Some(v) = &x.any_value
        && !r
            .series
            .iter()
            .any(|s| v.check(Some(&Value::from(s.value))).is_ok())
    {
        return Eval::fail(format!("some value {}", v.describe()), summary);
    }
    for (name, cmp) in &x.labels {
        for s in &r.series {
            let got = s.labels.get(name).map(|v| Value::String(v.clone()));
            if let Err(why) = cmp.check(got.as_ref()) {
                return Eval::fail(
                    format!("label {name} {} on every series", cmp.describe()),
                    format!("{} ({why})", label_set(&s.labels)),
                );
            }
        }
    }
    for name in &x.no_label {
        if let Some(s) = r.series.iter().find(|s| s.labels.contains_key(name)) {
            return Eval::fail(format!("no series with label {name}"), label_set(&s.labels));
        }
    }
    if let Some(cmp) = &x.samples {
        let Some(n) = r.samples else {
            return Eval::fail(
                format!("query statistics (samples {})", cmp.describe()),
                "the server reported no statistics",
            );
        };
        if let Err(why) = cmp.check(Some(&Value::from(n))) {
            return Eval::fail(
                format!("a query touching {} samples", cmp.describe()),
                format!("it touched {} samples ({why})", fmt_num(n)),
            )
            .with_detail("the samples a query reads grow with the series it selects and its range: select fewer series (label matchers), or read a recorded series");
        }
    }
    Eval::pass("the expected result", summary)
}

fn summarize(r: &QueryResult) -> String {
    let n = r.series.len();
    let shown: Vec<String> = r
        .series
        .iter()
        .take(3)
        .map(|s| format!("{} {}", label_set(&s.labels), fmt_num(s.value)))
        .collect();
    match n {
        0 => "no series".to_string(),
        1..=3 => shown.join("; "),
        _ => format!("{n} series, e.g. {}", shown.join("; ")),
    }
}

fn key_of(labels: &BTreeMap<String, String>, on: Option<&Vec<String>>) -> String {
    match on {
        Some(keys) => keys
            .iter()
            .map(|k| format!("{k}={}", labels.get(k).map_or("", String::as_str)))
            .collect::<Vec<_>>()
            .join(","),
        None => label_set(labels),
    }
}

/// Compares a result with a reference query's result, series by series.
/// The evaluation instant shared by a query and its reference: now, to the millisecond.
pub(super) fn instant() -> f64 {
    (crate::check::context::now_unix() * 1000.0).floor() / 1000.0
}

/// Whether a failed comparison between queries evaluated at one instant is final: the
/// reference answered with data, on a Prometheus, no query reads recorded series or alert
/// state (those lag the raw data by an evaluation), and the checked query either answered
/// with data too or had time to: it reads no past (offset, @) and the server has collected
/// under its current configuration long enough for every target's first scrapes, or every
/// selector of each empty query had data at that instant (two samples in each range).
pub(super) async fn comparison_is_final(
    ctx: &Ctx,
    server: &str,
    at: f64,
    exprs: &[&str],
    results: &[&QueryResult],
) -> bool {
    let on_prometheus = ctx
        .services
        .get(server)
        .is_some_and(|s| s.role == Some(crate::stack::Role::Prometheus));
    let reference_has_data = results.last().is_some_and(|r| !r.series.is_empty());
    if !(on_prometheus && reference_has_data && exprs.iter().all(|e| reads_raw_data_only(e))) {
        return false;
    }
    if results.iter().all(|r| !r.series.is_empty()) {
        return true;
    }
    // A range function needs two samples, not a full range; a query reading the past
    // (offset, @) needs that past, so it is never judged on an empty answer.
    let reads_past = exprs
        .iter()
        .any(|e| parser::parse(e).map_or(true, |p| ast_facts(&p).time_shift));
    if reads_past {
        return false;
    }
    if collecting_for(ctx, server)
        .await
        .is_some_and(|age| age >= FIRST_SCRAPES_SECS)
    {
        return true;
    }
    // Early on: an empty answer is the query's own doing (a join on the wrong labels, a
    // quantile without `le`, matchers that exclude every series) when every metric it reads
    // was there at that instant: a query meaning the same would have had data to answer.
    for (e, _) in exprs.iter().zip(results).filter(|(_, r)| r.series.is_empty()) {
        let Ok(parsed) = parser::parse(e) else {
            return false;
        };
        let f = ast_facts(&parsed);
        if f.subquery || f.probes.is_empty() {
            return false;
        }
        for p in &f.probes {
            match query(ctx, server, p, Some(at)).await {
                Ok(r) if !r.series.is_empty() => {}
                _ => return false,
            }
        }
    }
    true
}

/// Why results cannot be compared yet: right after a start or reload some targets have
/// not been scraped twice (Prometheus spreads first scrapes over one interval, and a rate
/// needs two samples), so a query and its reference could agree only because a target's
/// series are still missing from both (an over-selecting query would pass).
pub(super) async fn too_early(ctx: &Ctx, server: &str, exprs: &[&str]) -> Option<String> {
    if ctx
        .services
        .get(server)
        .is_none_or(|s| s.role != Some(crate::stack::Role::Prometheus))
    {
        return None;
    }
    let age = collecting_for(ctx, server).await?;
    let targets = ctx.get_json(server, "/api/v1/targets?state=active").await.ok()?;
    // Only the jobs whose series the queries read (all jobs when that cannot be told).
    let mut metrics: Vec<String> = exprs
        .iter()
        .filter_map(|e| parser::parse(e).ok())
        .flat_map(|p| ast_facts(&p).metrics)
        .collect();
    metrics.sort();
    metrics.dedup();
    let jobs: Vec<String> = if metrics.is_empty() {
        Vec::new()
    } else {
        let q = format!("group by (job) ({{__name__=~\"{}\"}})", metrics.join("|"));
        query(ctx, server, &q, None)
            .await
            .map(|r| {
                r.series
                    .iter()
                    .filter_map(|s| s.labels.get("job").cloned())
                    .collect()
            })
            .unwrap_or_default()
    };
    let longest = targets
        .pointer("/data/activeTargets")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|t| {
            jobs.is_empty()
                || t.pointer("/labels/job")
                    .and_then(Value::as_str)
                    .is_some_and(|j| jobs.iter().any(|x| x == j))
        })
        .filter_map(|t| t.get("scrapeInterval").and_then(Value::as_str))
        .filter_map(|i| crate::duration::Dur::parse(i).ok())
        .map(|d| d.0.as_secs_f64())
        .fold(0.0, f64::max);
    let needed = 2.0 * longest + 2.0;
    (age < needed).then(|| {
        format!("(but Prometheus has collected for only {age:.0}s since its start or last reload; results are compared once every target had two scrapes, after {needed:.0}s)")
    })
}

/// Long enough after a start or a reload for every target to have been scraped at least
/// twice, at scrape intervals up to 30s.
const FIRST_SCRAPES_SECS: f64 = 75.0;

/// Seconds a Prometheus has collected under its current configuration (since it started or
/// last loaded a configuration), by its own clock.
async fn collecting_for(ctx: &Ctx, server: &str) -> Option<f64> {
    let v = ctx.get_json(server, "/api/v1/status/runtimeinfo").await.ok()?;
    let t = |k: &str| -> Option<f64> {
        crate::component::time::parse_rfc3339(v.pointer(&format!("/data/{k}"))?.as_str()?)
    };
    let since = t("startTime")?.max(t("lastConfigTime").unwrap_or(0.0));
    Some(t("serverTime")? - since)
}

/// Whether a query selects only scraped series: no recording-rule names (with a colon), no
/// ALERTS.
pub(crate) fn reads_raw_data_only(expr: &str) -> bool {
    let Ok(parsed) = parser::parse(expr) else {
        return false;
    };
    let f = ast_facts(&parsed);
    !f.name_regex
        && f.metrics
            .iter()
            .all(|m| !m.contains(':') && m != "ALERTS" && m != "ALERTS_FOR_STATE")
}

/// Compares a learner's query with its reference, meaning over spelling: besides the same
/// series, a result that keeps labels the reference aggregates away (`sum by (job, instance)`
/// for a per-instance reference) matches when leaving those labels out maps its series one
/// to one onto the reference's. Rules are compared strictly (`compare_results`): a rule's
/// name promises its labels, and a label a rule adds is what a forged `job` is made of.
pub(crate) fn compare_answer(got: &QueryResult, reference: &QueryResult, eq: &EqualsExpr) -> Eval {
    let strict = compare_results(got, reference, eq);
    if strict.pass || eq.match_on.is_some() {
        return strict;
    }
    let names: BTreeSet<&String> = reference.series.iter().flat_map(|s| s.labels.keys()).collect();
    let extra: BTreeSet<&String> = got
        .series
        .iter()
        .flat_map(|s| s.labels.keys())
        .filter(|k| !names.contains(k))
        .collect();
    if extra.is_empty() {
        return strict;
    }
    let narrowed: Vec<Series> = got
        .series
        .iter()
        .map(|s| Series {
            labels: s
                .labels
                .iter()
                .filter(|(k, _)| names.contains(k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            value: s.value,
        })
        .collect();
    let distinct: BTreeSet<String> = narrowed.iter().map(|s| label_set(&s.labels)).collect();
    if distinct.len() != narrowed.len() {
        return strict;
    }
    let narrowed = QueryResult {
        series: narrowed,
        ..got.clone()
    };
    let mut e = compare_results(&narrowed, reference, eq);
    if e.pass {
        let kept: Vec<&str> = extra.iter().map(|k| k.as_str()).collect();
        e.observed = format!("{} (you also keep {}: fine)", e.observed, kept.join(", "));
    }
    e
}

/// Whether two results hold the same series with values within the tolerance.
pub(crate) fn compare_results(got: &QueryResult, reference: &QueryResult, eq: &EqualsExpr) -> Eval {
    let tol = eq.tolerance.clone().unwrap_or(Approx {
        value: None,
        rel: Some(1e-6),
        abs: Some(1e-9),
    });
    let on = eq.match_on.as_ref();
    let want: BTreeMap<String, f64> = reference
        .series
        .iter()
        .map(|s| (key_of(&s.labels, on), s.value))
        .collect();
    let have: BTreeMap<String, f64> = got
        .series
        .iter()
        .map(|s| (key_of(&s.labels, on), s.value))
        .collect();
    let missing: Vec<&String> = want.keys().filter(|k| !have.contains_key(*k)).collect();
    let extra: Vec<&String> = have.keys().filter(|k| !want.contains_key(*k)).collect();
    if !missing.is_empty() || !extra.is_empty() {
        let mut e = Eval::fail(
            format!("the same {} series as the reference", want.len()),
            format!(
                "{} series, {} missing, {} unexpected",
                have.len(),
                missing.len(),
                extra.len()
            ),
        );
        if let Some(m) = missing.first() {
            e = e.with_detail(format!("missing series like {m}"));
        }
        if let Some(x) = extra.first() {
            e = e.with_detail(format!(
                "unexpected series like {x} (check which labels your aggregation keeps)"
            ));
        }
        return e;
    }
    for (k, w) in &want {
        let h = have[k];
        if approx_check(h, *w, &tol).is_err() {
            return Eval::fail(
                "values equal to the reference query's",
                format!("{k} = {}, the reference query gives {}", fmt_num(h), fmt_num(*w)),
            );
        }
    }
    Eval::pass(
        "the same result as the reference",
        format!("{} series match", want.len()),
    )
}

impl Judge for PromqlCheck {
    fn judge<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, Eval> {
        Box::pin(promql(ctx, self))
    }
}

#[cfg(test)]
mod tests {
    use super::super::client::parse_query_data;
    use super::*;
    use crate::lab::spec::PromqlExpect;
    use serde_json::json;

    fn vector(series: &[(&str, f64)]) -> QueryResult {
        QueryResult {
            result_type: "vector".into(),
            series: series
                .iter()
                .map(|(inst, v)| Series {
                    labels: [("instance".to_string(), inst.to_string())].into_iter().collect(),
                    value: *v,
                })
                .collect(),
            notes: vec![],
            samples: None,
        }
    }

    #[test]
    fn judges_the_samples_a_query_touched() {
        // The shape Prometheus 3.5 answers with `stats=all`.
        let v = json!({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1.0,"3"]}],
            "stats":{"timings":{"evalTotalTime":0.0001},"samples":{"totalQueryableSamples":1440,"peakSamples":12}}}});
        let r = parse_query_data(&v).unwrap();
        assert_eq!(r.samples, Some(1440.0));
        let cheap: PromqlExpect = crate::yaml::parse("{samples: {le: 100}}").unwrap();
        let e = judge_result(&r, &cheap);
        assert!(!e.pass && e.observed.contains("1440 samples"), "{e:?}");
        let mut without = r.clone();
        without.samples = None;
        let e = judge_result(&without, &cheap);
        assert!(!e.pass && e.observed.contains("no statistics"), "{e:?}");
        let generous: PromqlExpect = crate::yaml::parse("{samples: {le: 5000}}").unwrap();
        assert!(judge_result(&r, &generous).pass);
    }

    #[test]
    fn judges_series_values_and_labels() {
        let x: PromqlExpect =
            crate::yaml::parse("{series: 2, value: {ge: 1}, labels: {instance: {regex: '^n'}}}").unwrap();
        assert!(judge_result(&vector(&[("n1", 1.0), ("n2", 2.0)]), &x).pass);
        let e = judge_result(&vector(&[("n1", 1.0), ("n2", 0.0)]), &x);
        assert!(!e.pass && e.observed.contains("n2"), "{e:?}");
        let e = judge_result(&vector(&[("n1", 1.0)]), &x);
        assert!(!e.pass && e.observed.starts_with("1 series"), "{e:?}");
        let e = judge_result(&vector(&[]), &PromqlExpect::default());
        assert!(!e.pass, "empty results fail by default");
    }

    #[test]
    fn reference_comparison_matches_series_and_values() {
        let eq: EqualsExpr = crate::yaml::parse("{expr: x, tolerance: {rel: 0.05}}").unwrap();
        assert!(compare_results(&vector(&[("a", 1.0)]), &vector(&[("a", 1.04)]), &eq).pass);
        assert!(!compare_results(&vector(&[("a", 1.0)]), &vector(&[("a", 1.2)]), &eq).pass);
        let e = compare_results(&vector(&[("a", 1.0)]), &vector(&[("b", 1.0)]), &eq);
        assert!(!e.pass && e.observed.contains("1 missing"), "{e:?}");
    }

    fn result(series: &[(&[(&str, &str)], f64)]) -> QueryResult {
        QueryResult {
            result_type: "vector".into(),
            series: series
                .iter()
                .map(|(labels, v)| Series {
                    labels: labels
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect(),
                    value: *v,
                })
                .collect(),
            notes: vec![],
            samples: None,
        }
    }

    #[test]
    fn an_answer_may_keep_labels_the_reference_drops_when_nothing_collapses() {
        let eq: EqualsExpr = crate::yaml::parse("{expr: x, tolerance: {rel: 0.05}}").unwrap();
        // sum(...) against sum by (job) (...): one series, job kept.
        let total = result(&[(&[], 15.0)]);
        let by_job = result(&[(&[("job", "demo")], 15.2)]);
        assert!(!compare_results(&by_job, &total, &eq).pass, "rules stay strict");
        let e = compare_answer(&by_job, &total, &eq);
        assert!(e.pass, "{e:?}");
        assert!(e.observed.contains("you also keep job"), "{}", e.observed);
        // Per instance, with job kept: still one series per instance.
        let per_instance = result(&[(&[("instance", "a")], 5.0), (&[("instance", "b")], 7.0)]);
        let with_job = result(&[
            (&[("instance", "a"), ("job", "demo")], 5.0),
            (&[("instance", "b"), ("job", "demo")], 7.0),
        ]);
        assert!(compare_answer(&with_job, &per_instance, &eq).pass);
        // Keeping route as well splits an instance into several series: not the same answer.
        let with_route = result(&[
            (&[("instance", "a"), ("route", "/x")], 2.0),
            (&[("instance", "a"), ("route", "/y")], 3.0),
            (&[("instance", "b"), ("route", "/x")], 7.0),
        ]);
        assert!(!compare_answer(&with_route, &per_instance, &eq).pass);
        // Values still count, and an explicit match_on is taken as written.
        let wrong = result(&[(&[("job", "demo")], 30.0)]);
        assert!(!compare_answer(&wrong, &total, &eq).pass);
        let on_job: EqualsExpr =
            crate::yaml::parse("{expr: x, tolerance: {rel: 0.05}, match_on: [instance]}").unwrap();
        assert!(compare_answer(&with_job, &per_instance, &on_job).pass);
        assert!(!compare_answer(&by_job, &per_instance, &on_job).pass);
    }
}
