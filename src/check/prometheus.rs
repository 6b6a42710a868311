//! Checks that ask Prometheus: `promql`, `targets`, `rule`, `status`, and PromQL structure
//! (`ast:`) via the maintained `promql-parser` crate.

use std::collections::{BTreeMap, BTreeSet};

use promql_parser::parser::{self, Expr};
use serde_json::Value;

use super::compare::{Approx, Cmp, approx_check, as_number, fmt_num, show};
use super::spec::{AstRules, Endpoint, EqualsExpr, PromqlCheck, RuleCheck, StatusCheck, TargetsCheck};
use super::{Ctx, Eval, trim};

/// One series of an instant query result.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Its labels (including `__name__` when present).
    pub labels: BTreeMap<String, String>,
    /// Its value.
    pub value: f64,
}

/// An instant query result, flattened: scalars become one series without labels.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryResult {
    /// `vector`, `scalar`, `matrix` or `string`.
    pub result_type: String,
    /// The series.
    pub series: Vec<Series>,
    /// Warnings and infos Prometheus attached.
    pub notes: Vec<String>,
    /// Samples the query touched (`stats=all`: totalQueryableSamples), when asked for.
    pub samples: Option<f64>,
}

fn metric_labels(series: &Value) -> BTreeMap<String, String> {
    series
        .get("metric")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// Parses the `data` of a `/api/v1/query` response.
pub fn parse_query_data(v: &Value) -> Result<QueryResult, String> {
    let data = v.get("data").ok_or("response has no data")?;
    let result_type = data
        .get("resultType")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let result = data.get("result").cloned().unwrap_or(Value::Null);
    let mut series = Vec::new();
    match result_type.as_str() {
        "vector" => {
            for s in result.as_array().cloned().unwrap_or_default() {
                let labels = metric_labels(&s);
                let value = s
                    .get("value")
                    .and_then(|v| v.get(1))
                    .and_then(as_number)
                    .unwrap_or(f64::NAN);
                series.push(Series { labels, value });
            }
        }
        "scalar" => {
            let value = result.get(1).and_then(as_number).unwrap_or(f64::NAN);
            series.push(Series {
                labels: BTreeMap::new(),
                value,
            });
        }
        "matrix" => {
            for s in result.as_array().cloned().unwrap_or_default() {
                let labels = metric_labels(&s);
                let value = s
                    .get("values")
                    .and_then(Value::as_array)
                    .and_then(|a| a.last())
                    .and_then(|v| v.get(1))
                    .and_then(as_number)
                    .unwrap_or(f64::NAN);
                series.push(Series { labels, value });
            }
        }
        _ => {}
    }
    let mut notes = Vec::new();
    for key in ["warnings", "infos"] {
        if let Some(a) = v.get(key).and_then(Value::as_array) {
            notes.extend(
                a.iter()
                    .filter_map(Value::as_str)
                    .map(|s| format!("prometheus says: {s}")),
            );
        }
    }
    let samples = data
        .pointer("/stats/samples/totalQueryableSamples")
        .and_then(Value::as_f64);
    Ok(QueryResult {
        result_type,
        series,
        notes,
        samples,
    })
}

/// Runs an instant query; `Err` carries Prometheus' own error text.
pub async fn query(ctx: &Ctx, server: &str, expr: &str, at: Option<f64>) -> Result<QueryResult, String> {
    query_with(ctx, server, expr, at, false).await
}

/// Runs an instant query, asking for its statistics (samples touched) when `stats`.
pub async fn query_with(
    ctx: &Ctx,
    server: &str,
    expr: &str,
    at: Option<f64>,
    stats: bool,
) -> Result<QueryResult, String> {
    let url = format!("{}/api/v1/query", ctx.url(server)?);
    let mut form = vec![("query", expr.to_string())];
    if let Some(t) = at {
        form.push(("time", format!("{t:.3}")));
    }
    if stats {
        form.push(("stats", "all".to_string()));
    }
    let resp = ctx
        .client
        .post(&url)
        .form(&form)
        .send()
        .await
        .map_err(|e| format!("cannot reach {server} ({})", crate::http::describe(&e)))?;
    let status = resp.status();
    let v: Value = resp
        .json()
        .await
        .map_err(|e| format!("{server} answered {status} without JSON: {e}"))?;
    if v.get("status").and_then(Value::as_str) != Some("success") {
        let kind = v.get("errorType").and_then(Value::as_str).unwrap_or("error");
        let msg = v.get("error").and_then(Value::as_str).unwrap_or("unknown error");
        return Err(format!("{kind}: {msg}"));
    }
    parse_query_data(&v)
}

fn label_set(labels: &BTreeMap<String, String>) -> String {
    let inner: Vec<String> = labels
        .iter()
        .filter(|(k, _)| k.as_str() != "__name__")
        .map(|(k, v)| format!("{k}={v:?}"))
        .collect();
    let name = labels.get("__name__").cloned().unwrap_or_default();
    format!("{name}{{{}}}", inner.join(", "))
}

/// `promql:`
pub async fn promql(ctx: &Ctx, c: &PromqlCheck) -> Eval {
    let expr = match (&c.expr, &c.expr_file) {
        (Some(e), _) => e.clone(),
        (None, Some(f)) => match super::workspace::read_learner(&ctx.workspace, f) {
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
        super::markdown::code_blocks(text, "promql")
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
pub fn judge_result(r: &QueryResult, x: &super::spec::PromqlExpect) -> Eval {
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
fn instant() -> f64 {
    (super::now_unix() * 1000.0).floor() / 1000.0
}

/// Whether a failed comparison between queries evaluated at one instant is final: the
/// reference answered with data, on a Prometheus, no query reads recorded series or alert
/// state (those lag the raw data by an evaluation), and the checked query either answered
/// with data too or had time to: it reads no past (offset, @) and the server has collected
/// under its current configuration long enough for every target's first scrapes, or every
/// selector of each empty query had data at that instant (two samples in each range).
async fn comparison_is_final(
    ctx: &Ctx,
    server: &str,
    at: f64,
    exprs: &[&str],
    results: &[&QueryResult],
) -> bool {
    let on_prometheus = ctx.services.get(server).is_some_and(|s| s.role == "prometheus");
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
async fn too_early(ctx: &Ctx, server: &str, exprs: &[&str]) -> Option<String> {
    if ctx.services.get(server).is_none_or(|s| s.role != "prometheus") {
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
pub fn reads_raw_data_only(expr: &str) -> bool {
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
pub fn compare_answer(got: &QueryResult, reference: &QueryResult, eq: &EqualsExpr) -> Eval {
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
pub fn compare_results(got: &QueryResult, reference: &QueryResult, eq: &EqualsExpr) -> Eval {
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

/// What a parsed PromQL expression contains.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct AstFacts {
    /// Function names, in order of appearance.
    pub functions: Vec<String>,
    /// Aggregation operators.
    pub aggregations: Vec<String>,
    /// Selected metric names.
    pub metrics: Vec<String>,
    /// (function, range in seconds) for range selectors passed to functions.
    pub ranges: Vec<(String, f64)>,
    /// Whether a subquery appears.
    pub subquery: bool,
    /// Whether a selector matches metric names by regex (`{__name__=~"…"}`).
    pub name_regex: bool,
    /// Every range selector's range, in seconds, wherever it appears.
    pub all_ranges: Vec<f64>,
    /// Whether a selector or subquery reads the past with `offset` or `@`.
    pub time_shift: bool,
    /// Range functions applied directly to a recorded series (its name has a `:`).
    pub rates_of_recorded: Vec<String>,
    /// (function, argument position, its value when the argument is a constant expression).
    pub call_args: Vec<(String, usize, Option<f64>)>,
    /// Queries that answer with data when every metric a query reads was scraped:
    /// `count(name)` per instant selector, `count(count_over_time(name[r]) >= 2)` per range
    /// selector (the metric name only: matchers that exclude every existing series are the
    /// query's own doing; a selector without a name is probed whole).
    pub probes: Vec<String>,
}

/// Walks an expression and collects its facts.
pub fn ast_facts(expr: &Expr) -> AstFacts {
    let mut f = AstFacts::default();
    walk(expr, None, &mut f);
    f
}

fn walk(e: &Expr, func: Option<&str>, f: &mut AstFacts) {
    match e {
        Expr::Aggregate(a) => {
            f.aggregations.push(a.op.to_string().to_lowercase());
            walk(&a.expr, None, f);
            if let Some(p) = &a.param {
                walk(p, None, f);
            }
        }
        Expr::Unary(u) => walk(&u.expr, None, f),
        Expr::Binary(b) => {
            walk(&b.lhs, None, f);
            walk(&b.rhs, None, f);
        }
        Expr::Paren(p) => walk(&p.expr, func, f),
        Expr::Subquery(s) => {
            f.subquery = true;
            f.time_shift |= s.offset.is_some() || s.at.is_some();
            if let Some(name) = func {
                f.ranges.push((name.to_string(), s.range.as_secs_f64()));
            }
            walk(&s.expr, None, f);
        }
        Expr::VectorSelector(v) => {
            let name = selector_name(v);
            f.probes.push(match &name {
                Some(n) => format!("count({n})"),
                None => format!("count({e})"),
            });
            f.name_regex |= has_name_regex(v);
            f.time_shift |= v.offset.is_some() || v.at.is_some();
            f.metrics.extend(name);
        }
        Expr::MatrixSelector(m) => {
            let name = selector_name(&m.vs);
            f.probes.push(match &name {
                Some(n) => format!("count(count_over_time({n}[{}ms]) >= 2)", m.range.as_millis()),
                None => format!("count(count_over_time({e}) >= 2)"),
            });
            f.name_regex |= has_name_regex(&m.vs);
            f.time_shift |= m.vs.offset.is_some() || m.vs.at.is_some();
            f.all_ranges.push(m.range.as_secs_f64());
            if let (Some(func), Some(metric)) = (func, &name)
                && metric.contains(':')
            {
                f.rates_of_recorded.push(format!("{func}({metric}[…])"));
            }
            f.metrics.extend(name);
            if let Some(name) = func {
                f.ranges.push((name.to_string(), m.range.as_secs_f64()));
            }
        }
        Expr::Call(c) => {
            f.functions.push(c.func.name.to_string());
            for (i, a) in c.args.args.iter().enumerate() {
                f.call_args.push((c.func.name.to_string(), i, constant(a)));
                walk(a, Some(c.func.name), f);
            }
        }
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::Extension(_) => {}
    }
}

/// The value of a constant expression (`14400`, `4 * 60 * 60`, `(4 * 3600)`, `-1`).
fn constant(e: &Expr) -> Option<f64> {
    match e {
        Expr::NumberLiteral(n) => Some(n.val),
        Expr::Paren(p) => constant(&p.expr),
        Expr::Unary(u) => constant(&u.expr).map(|v| -v),
        Expr::Binary(b) => {
            let (l, r) = (constant(&b.lhs)?, constant(&b.rhs)?);
            match b.op.to_string().as_str() {
                "+" => Some(l + r),
                "-" => Some(l - r),
                "*" => Some(l * r),
                "/" => Some(l / r),
                "%" => Some(l % r),
                "^" => Some(l.powf(r)),
                _ => None,
            }
        }
        _ => None,
    }
}

fn has_name_regex(v: &promql_parser::parser::VectorSelector) -> bool {
    use promql_parser::label::MatchOp;
    v.matchers
        .matchers
        .iter()
        .chain(v.matchers.or_matchers.iter().flatten())
        .any(|m| m.name == "__name__" && matches!(m.op, MatchOp::Re(_) | MatchOp::NotRe(_)))
}

fn selector_name(v: &promql_parser::parser::VectorSelector) -> Option<String> {
    use promql_parser::label::MatchOp;
    v.name.clone().or_else(|| {
        v.matchers
            .matchers
            .iter()
            .find(|m| m.name == "__name__" && matches!(m.op, MatchOp::Equal))
            .map(|m| m.value.clone())
    })
}

/// Checks structural rules on a query's text.
pub fn ast_check(expr: &str, rules: &AstRules) -> Eval {
    let parsed = match parser::parse(expr) {
        Ok(p) => p,
        Err(e) => return Eval::fail("a query that parses", format!("parse error: {}", trim(&e, 200))),
    };
    let f = ast_facts(&parsed);
    for func in &rules.require_functions {
        if !f.functions.iter().any(|x| x == func) {
            return Eval::fail(
                format!("the query to use {func}()"),
                format!("it uses {}", list_or_none(&f.functions)),
            );
        }
    }
    for func in &rules.forbid_functions {
        if f.functions.iter().any(|x| x == func) {
            return Eval::fail(format!("no {func}()"), format!("the query uses {func}()"));
        }
    }
    for agg in &rules.require_aggregations {
        if !f.aggregations.iter().any(|x| x == agg) {
            return Eval::fail(
                format!("an aggregation with {agg}"),
                format!("it aggregates with {}", list_or_none(&f.aggregations)),
            );
        }
    }
    for agg in &rules.forbid_aggregations {
        if f.aggregations.iter().any(|x| x == agg) {
            return Eval::fail(
                format!("no {agg} aggregation"),
                format!("the query aggregates with {agg}"),
            );
        }
    }
    for m in &rules.require_metrics {
        if !f.metrics.iter().any(|x| x == m) {
            return Eval::fail(
                format!("the query to select {m}"),
                format!("it selects {}", list_or_none(&f.metrics)),
            );
        }
    }
    for m in &rules.forbid_metrics {
        if f.metrics.iter().any(|x| x == m) {
            return Eval::fail(format!("no selector of {m}"), format!("the query reads {m}"));
        }
    }
    if let Some(min) = rules.min_range
        && let Some((func, r)) = f.ranges.iter().find(|(_, r)| *r < min.secs())
    {
        return Eval::fail(
            format!("every range passed to a function ≥ {min}"),
            format!("{func}() gets a {}s range", fmt_num(*r)),
        );
    }
    if rules.forbid_subquery && f.subquery {
        return Eval::fail("no subquery", "the query uses a subquery");
    }
    if rules.forbid_name_regex && f.name_regex {
        return Eval::fail(
            "selectors that name their metric",
            "the query matches metric names with a regex ({__name__=~…}), which reads every series",
        );
    }
    if rules.forbid_rate_of_recorded
        && let Some(r) = f.rates_of_recorded.first()
    {
        return Eval::fail(
            "range functions over raw counters only",
            format!("the query takes {r} of a recorded series: rate() the raw counter, then aggregate"),
        );
    }
    if let Some(want) = &rules.ranges
        && let Some(e) = range_mismatch(&f, want)
    {
        return e;
    }
    for (func, positions) in &rules.args {
        if !f.functions.iter().any(|x| x == func) {
            return Eval::fail(
                format!("the query to use {func}()"),
                format!("it uses {}", list_or_none(&f.functions)),
            );
        }
        for (pos, want) in positions {
            for (_, _, value) in f.call_args.iter().filter(|(n, i, _)| n == func && i == pos) {
                let what = format!("argument {} of {func}()", pos + 1);
                let Some(v) = value else {
                    return Eval::fail(
                        format!("{what} a constant {}", want.describe()),
                        "it is not a constant (a number, or arithmetic on numbers)",
                    );
                };
                if let Err(why) = want.check(Some(&Value::from(*v))) {
                    return Eval::fail(
                        format!("{what} {}", want.describe()),
                        format!("{} ({why})", fmt_num(*v)),
                    );
                }
            }
        }
    }
    if let Some(want) = &rules.range {
        if let Some(e) = range_mismatch(&f, want) {
            return e;
        }
        if f.all_ranges.is_empty() {
            let why = if f.subquery {
                "its only range is a subquery's (expr[range:step]), which evaluates the inner query at every step; read the samples with a range selector instead (metric[range])"
            } else {
                "the query has none"
            };
            return Eval::fail("a range selector", why);
        }
    }
    Eval::pass("the required query structure", "structure ok")
}

/// The failure for the first range selector whose range (seconds) `want` refuses.
fn range_mismatch(f: &AstFacts, want: &Cmp) -> Option<Eval> {
    f.all_ranges.iter().find_map(|r| {
        want.check(Some(&Value::from(*r))).err().map(|why| {
            Eval::fail(
                format!("every range selector {} seconds", want.describe()),
                format!("a [{}s] range ({why})", fmt_num(*r)),
            )
        })
    })
}

fn list_or_none(v: &[String]) -> String {
    let mut names: Vec<&str> = Vec::new();
    for n in v {
        if !names.contains(&n.as_str()) {
            names.push(n);
        }
    }
    if names.is_empty() {
        "none".to_string()
    } else {
        names.join(", ")
    }
}

/// `targets:`
pub async fn targets(ctx: &Ctx, c: &TargetsCheck) -> Eval {
    let v = match ctx.get_json(&c.server, "/api/v1/targets?state=any").await {
        Ok(v) => v,
        Err(e) => return Eval::fail("the targets of Prometheus", e),
    };
    let mut e = judge_targets(&v, c);
    // Right after a reload the API may still show the previous targets: neither a pass nor
    // a final failure yet.
    let pending = discovery_pending(ctx);
    if pending.is_some() {
        e.settled = false;
    }
    if e.pass
        && let Some(metric) = &c.expect.serves
        && let Some(fail) = judge_serves(ctx, c, &v, metric).await
    {
        return fail;
    }
    if e.pass {
        return match pending {
            Some(since) => premature_pass(e, "new targets", since),
            None => e,
        };
    }
    // Targets appear a few seconds after a reload (the scrape manager applies them on a
    // timer), so an empty pool is only final when the loaded configuration has no such job.
    if let Some(pool) = &c.pool
        && let Ok(jobs) = loaded_jobs(ctx, &c.server).await
        && !jobs.contains(pool)
    {
        return e
            .with_detail(format!(
                "the loaded configuration has no job `{pool}` (jobs: {})",
                list_or_none(&jobs)
            ))
            .settled();
    }
    e
}

/// How long after a reload the targets API may still show the previous target sets
/// (Prometheus' scrape manager applies updates every 5s), plus a margin.
pub const TARGET_UPDATE_SECS: f64 = 6.0;

/// Seconds since the last reload while Prometheus may still be applying discovered targets
/// or Alertmanagers (it does so on a timer); `None` once that window has passed.
fn discovery_pending(ctx: &Ctx) -> Option<f64> {
    let since = super::now_unix() - ctx.settled_since;
    (since < TARGET_UPDATE_SECS).then_some(since)
}

/// A pass seen while `what` may still be the previous configuration's: not trusted yet.
fn premature_pass(e: Eval, what: &str, since: f64) -> Eval {
    Eval::fail(
        e.expected,
        format!(
            "{} (but Prometheus applies {what} within {TARGET_UPDATE_SECS:.0}s of a reload, and only {since:.0}s have passed)",
            e.observed
        ),
    )
}

/// The `job_name`s of the configuration a Prometheus has loaded.
pub async fn loaded_jobs(ctx: &Ctx, server: &str) -> Result<Vec<String>, String> {
    let doc = loaded_config(ctx, server).await?;
    if doc.get("scrape_config_files").is_some_and(|f| !f.is_null()) {
        return Err("jobs may come from scrape_config_files, which the status API does not expand".into());
    }
    Ok(doc
        .get("scrape_configs")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|j| j.get("job_name").and_then(Value::as_str).map(str::to_string))
                .collect()
        })
        .unwrap_or_default())
}

/// The configuration a Prometheus has loaded, parsed.
async fn loaded_config(ctx: &Ctx, server: &str) -> Result<Value, String> {
    let v = ctx.get_json(server, "/api/v1/status/config").await?;
    let text = v.pointer("/data/yaml").and_then(Value::as_str).unwrap_or("");
    serde_yaml::from_str(text).map_err(|e| e.to_string())
}

/// Judges a `/api/v1/targets` response.
/// The active targets a `targets` check selects (its pool and labels).
fn selected_targets<'a>(v: &'a Value, c: &TargetsCheck) -> Vec<&'a Value> {
    v.pointer("/data/activeTargets")
        .and_then(Value::as_array)
        .map(|a| a.iter().collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .filter(|t| {
            c.pool
                .as_ref()
                .is_none_or(|p| t.get("scrapePool").and_then(Value::as_str) == Some(p))
        })
        .filter(|t| {
            c.labels
                .iter()
                .all(|(k, cmp)| cmp.check(t.get("labels").and_then(|l| l.get(k))).is_ok())
        })
        .collect()
}

/// `expect.serves`: every selected healthy target exposes the metric under its own job and
/// instance, or the failure naming the first that does not (a job pointed at the wrong
/// endpoint is up too).
async fn judge_serves(ctx: &Ctx, c: &TargetsCheck, v: &Value, metric: &str) -> Option<Eval> {
    let res = match query(ctx, &c.server, metric, None).await {
        Ok(r) => r,
        Err(e) => return Some(Eval::fail(format!("{metric} to be queried"), e)),
    };
    let label = |m: &BTreeMap<String, String>, k: &str| m.get(k).cloned().unwrap_or_default();
    let served: Vec<(String, String)> = res
        .series
        .iter()
        .map(|s| (label(&s.labels, "job"), label(&s.labels, "instance")))
        .collect();
    for t in selected_targets(v, c) {
        if t.get("health").and_then(Value::as_str) != Some("up") {
            continue;
        }
        let job = t.pointer("/labels/job").and_then(Value::as_str).unwrap_or("");
        let inst = t
            .pointer("/labels/instance")
            .and_then(Value::as_str)
            .unwrap_or("");
        if !served.iter().any(|(j, i)| j == job && i == inst) {
            let pool = t.get("scrapePool").and_then(Value::as_str).unwrap_or(job);
            return Some(
                Eval::fail(
                    format!("every target of pool `{pool}` to expose {metric}"),
                    format!(
                        "{inst} (job {job}) is up but exposes no {metric}: the job scrapes another program"
                    ),
                )
                .with_detail(format!(
                    "{metric} comes from: {}",
                    if served.is_empty() {
                        "no target".to_string()
                    } else {
                        served
                            .iter()
                            .map(|(j, i)| format!("{i} (job {j})"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    }
                )),
            );
        }
    }
    None
}

pub fn judge_targets(v: &Value, c: &TargetsCheck) -> Eval {
    let data = v.get("data").cloned().unwrap_or(Value::Null);
    let selected: Vec<&Value> = selected_targets(v, c);
    let pool = c
        .pool
        .clone()
        .map_or_else(|| "any pool".to_string(), |p| format!("pool `{p}`"));
    let describe = |t: &Value| {
        let inst = t
            .pointer("/labels/instance")
            .and_then(Value::as_str)
            .unwrap_or("?");
        let health = t.get("health").and_then(Value::as_str).unwrap_or("?");
        let err = t.get("lastError").and_then(Value::as_str).unwrap_or("");
        if err.is_empty() {
            format!("{inst} health={health}")
        } else {
            format!("{inst} health={health} lastError={err:?}")
        }
    };
    let x = &c.expect;
    let active_cmp = Cmp::count_or_at_least_one(x.active.as_ref());
    if let Err(why) = active_cmp.check(Some(&Value::from(selected.len()))) {
        let pools: Vec<String> = data
            .get("activeTargets")
            .and_then(Value::as_array)
            .map(|a| {
                let mut p: Vec<String> = a
                    .iter()
                    .filter_map(|t| t.get("scrapePool").and_then(Value::as_str))
                    .map(str::to_string)
                    .collect();
                p.dedup();
                p
            })
            .unwrap_or_default();
        let e = Eval::fail(
            format!("{} active targets in {pool}", active_cmp.describe()),
            format!("{} ({why})", selected.len()),
        )
        .with_detail(format!(
            "scrape pools Prometheus has now: {}",
            list_or_none(&pools)
        ));
        return e;
    }
    if let Some(d) = &x.dropped {
        let n = c
            .pool
            .as_ref()
            .and_then(|p| data.get("droppedTargetCounts").and_then(|m| m.get(p)))
            .and_then(Value::as_u64)
            .unwrap_or(0);
        if let Err(why) = d.check(Some(&Value::from(n))) {
            return Eval::fail(
                format!("{} dropped targets in {pool}", d.describe()),
                format!("{n} ({why})"),
            );
        }
    }
    // Interval, timeout and URL come from the loaded configuration: judged first, and a
    // mismatch is final (`targets` lifts that within the first seconds after a reload).
    let per_target: [(&str, &Option<Cmp>, bool); 5] = [
        ("scrapeInterval", &x.scrape_interval, true),
        ("scrapeTimeout", &x.scrape_timeout, true),
        ("scrapeUrl", &x.scrape_url, true),
        ("health", &x.health, false),
        ("lastError", &x.last_error, false),
    ];
    for (field, cmp, from_config) in per_target {
        let Some(cmp) = cmp else { continue };
        let bad: Vec<String> = selected
            .iter()
            .filter(|t| cmp.check(t.get(field)).is_err())
            .map(|t| {
                format!(
                    "{} {field}={}",
                    describe(t),
                    t.get(field).map_or_else(|| "none".into(), show)
                )
            })
            .collect();
        if !bad.is_empty() {
            let mut e = Eval::fail(
                format!("{field} {} on every target of {pool}", cmp.describe()),
                bad[0].clone(),
            );
            for b in bad.iter().skip(1).take(4) {
                e = e.with_detail(b.clone());
            }
            e.settled = from_config;
            return e;
        }
    }
    for (label, cmp) in &x.labels {
        if let Some(t) = selected
            .iter()
            .find(|t| cmp.check(t.get("labels").and_then(|l| l.get(label))).is_err())
        {
            return Eval::fail(
                format!("label {label} {} on every target of {pool}", cmp.describe()),
                format!(
                    "{} has {label}={}",
                    describe(t),
                    t.pointer(&format!("/labels/{label}"))
                        .map_or_else(|| "none".into(), show)
                ),
            );
        }
    }
    let shown: Vec<String> = selected.iter().take(4).map(|t| describe(t)).collect();
    Eval::pass(format!("targets of {pool}"), shown.join("; "))
}

/// Rule fields read from the loaded files: a mismatch stays until the learner edits a file.
const STATIC_RULE_FIELDS: [&str; 4] = ["for", "keep_firing_for", "interval", "limit"];

/// `rule:`
pub async fn rule(ctx: &Ctx, c: &RuleCheck) -> Eval {
    let v = match ctx.get_json(&c.server, "/api/v1/rules").await {
        Ok(v) => v,
        Err(e) => return Eval::fail("the rules of Prometheus", e),
    };
    let mut rules: Vec<(Value, Value)> = Vec::new();
    for g in v
        .pointer("/data/groups")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
    {
        for r in g
            .get("rules")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
        {
            rules.push((g.clone(), r));
        }
    }
    let all_names: Vec<String> = rules
        .iter()
        .filter_map(|(_, r)| r.get("name").and_then(Value::as_str).map(str::to_string))
        .collect();
    let s = &c.select;
    let mut selected: Vec<&(Value, Value)> = rules
        .iter()
        .filter(|(_, r)| {
            s.rule_type
                .as_ref()
                .is_none_or(|t| r.get("type").and_then(Value::as_str) == Some(t.as_str()))
        })
        .filter(|(_, r)| s.name.as_ref().is_none_or(|n| n.check(r.get("name")).is_ok()))
        .filter(|(g, _)| s.group.as_ref().is_none_or(|n| n.check(g.get("name")).is_ok()))
        .collect();
    let before_equivalence: Vec<String> = selected
        .iter()
        .filter_map(|(_, r)| r.get("name").and_then(Value::as_str).map(str::to_string))
        .collect();
    // Every candidate's query differs from the reference, evaluated at the same instant:
    // final (see `comparison_is_final`) when all of them could be compared on data.
    let mut differs_finally = false;
    // Why each candidate is not equivalent: its query fails, returns nothing, or differs.
    let mut why_not: Vec<String> = Vec::new();
    if let Some(eq) = &s.equivalent_to {
        let mut exprs: Vec<&str> = selected
            .iter()
            .filter_map(|r| r.1.get("query").and_then(Value::as_str))
            .collect();
        exprs.push(&eq.expr);
        if let Some(why) = too_early(ctx, &c.server, &exprs).await {
            return Eval::fail(
                format!("a rule equivalent to {}", trim(&eq.expr, 120)),
                format!("not compared yet: {why}"),
            );
        }
        let at = instant();
        let reference = match query(ctx, &c.server, &eq.expr, Some(at)).await {
            Ok(r) => r,
            Err(e) => return Eval::fail("the reference query to run", format!("reference failed: {e}")),
        };
        let mut kept = Vec::new();
        differs_finally = !selected.is_empty();
        for r in selected {
            let q = r.1.get("query").and_then(Value::as_str).unwrap_or("");
            let name = r.1.get("name").and_then(Value::as_str).unwrap_or("?");
            match query(ctx, &c.server, q, Some(at)).await {
                Ok(res) if !res.series.is_empty() && compare_results(&res, &reference, eq).pass => {
                    kept.push(r);
                }
                Ok(res) => {
                    why_not.push(if res.series.is_empty() {
                        format!("{name}: its expression returns no series")
                    } else {
                        let cmp = compare_results(&res, &reference, eq);
                        format!("{name}: {}", trim(&cmp.observed, 200))
                    });
                    differs_finally = differs_finally
                        && comparison_is_final(ctx, &c.server, at, &[q, &eq.expr], &[&res, &reference]).await;
                }
                Err(e) => {
                    why_not.push(format!("{name}: its expression fails: {}", trim(&e, 200)));
                    differs_finally = false;
                }
            }
        }
        selected = kept;
    }
    let what = describe_select(c);
    let x = &c.expect;
    let count = Cmp::count_or_at_least_one(x.count.as_ref());
    if let Err(why) = count.check(Some(&Value::from(selected.len()))) {
        let mut e = Eval::fail(
            format!("{} {what}", count.describe()),
            format!("{} ({why})", selected.len()),
        )
        .with_detail(format!("loaded rules: {}", list_or_none(&all_names)));
        // Which rules are loaded changes only with a reload: without a comparison of
        // results (or with no candidate to compare), the count is final.
        e.settled = s.equivalent_to.is_none()
            || before_equivalence.is_empty()
            || (selected.is_empty() && differs_finally);
        if s.equivalent_to.is_some() && selected.is_empty() && !before_equivalence.is_empty() {
            e = e.with_detail(format!(
                "{} matched by name and type, but is not equivalent to the reference:",
                before_equivalence.join(", ")
            ));
            for w in &why_not {
                e = e.with_detail(format!("  {w}"));
            }
        }
        return e;
    }
    for (g, r) in &selected {
        let name = r.get("name").and_then(Value::as_str).unwrap_or("?");
        let checks: [(&str, &Option<Cmp>, Option<Value>); 7] = [
            ("health", &x.health, r.get("health").cloned()),
            ("for", &x.for_secs, r.get("duration").cloned()),
            (
                "keep_firing_for",
                &x.keep_firing_for,
                r.get("keepFiringFor").cloned(),
            ),
            ("interval", &x.interval, g.get("interval").cloned()),
            ("limit", &x.limit, g.get("limit").cloned()),
            ("lastError", &x.last_error, r.get("lastError").cloned()),
            (
                "evaluationTime",
                &x.evaluation_time,
                r.get("evaluationTime").cloned(),
            ),
        ];
        for (field, cmp, got) in checks {
            let Some(cmp) = cmp else { continue };
            let (cmp, got) = normalize_duration_cmp(field, cmp, got);
            let cmp = &cmp;
            if let Err(why) = cmp.check(got.as_ref()) {
                let mut e = Eval::fail(
                    format!("{name}: {field} {}", cmp.describe()),
                    format!(
                        "{field} is {} ({why})",
                        got.as_ref().map_or_else(|| "unset".into(), show)
                    ),
                );
                if let Some(err) = r
                    .get("lastError")
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
                {
                    e = e.with_detail(format!("rule error: {err}"));
                }
                // What the file says is final; what evaluation reports is not.
                e.settled = STATIC_RULE_FIELDS.contains(&field);
                return e;
            }
        }
        for (kind, map) in [("labels", &x.labels), ("annotations", &x.annotations)] {
            for (k, cmp) in map {
                let got = r.get(kind).and_then(|m| m.get(k));
                if let Err(why) = cmp.check(got) {
                    return Eval::fail(
                        format!("{name}: {kind}.{k} {}", cmp.describe()),
                        format!(
                            "{kind}.{k} is {} ({why})",
                            got.map_or_else(|| "unset".into(), show)
                        ),
                    )
                    .settled();
                }
            }
        }
        let q = r.get("query").and_then(Value::as_str).unwrap_or("");
        if let Some(rules) = &x.ast {
            let e = ast_check(q, rules);
            if !e.pass {
                return Eval::fail(format!("{name}: {}", e.expected), e.observed).settled();
            }
        }
        if let Some(cmp) = &x.evaluates {
            match query(ctx, &c.server, q, None).await {
                Ok(res) => {
                    if let Err(why) = cmp.check(Some(&Value::from(res.series.len()))) {
                        return Eval::fail(
                            format!("{name}'s query to return {} series", cmp.describe()),
                            format!("{} series ({why})", res.series.len()),
                        )
                        .with_detail(format!("query: {}", trim(q, 160)));
                    }
                }
                Err(e) => return Eval::fail(format!("{name}'s query to run"), e),
            }
        }
    }
    let names: Vec<&str> = selected
        .iter()
        .filter_map(|(_, r)| r.get("name").and_then(Value::as_str))
        .collect();
    Eval::pass(what, names.join(", "))
}

fn describe_select(c: &RuleCheck) -> String {
    let mut s = match c.select.rule_type.as_deref() {
        Some("alerting") => "alerting rules".to_string(),
        Some("recording") => "recording rules".to_string(),
        _ => "rules".to_string(),
    };
    if let Some(n) = &c.select.name {
        s.push_str(&format!(" named {}", n.describe()));
    }
    if let Some(g) = &c.select.group {
        s.push_str(&format!(" in group {}", g.describe()));
    }
    if c.select.equivalent_to.is_some() {
        s.push_str(" computing the expected result");
    }
    s
}

/// `for`, `keep_firing_for` and `interval` are durations: Prometheus reports seconds, and the
/// manifest may write `20s` or `1m` as well as 20 or 60. Both sides become seconds.
fn normalize_duration_cmp(field: &str, cmp: &Cmp, got: Option<Value>) -> (Cmp, Option<Value>) {
    if field == "for" || field == "keep_firing_for" || field == "interval" {
        return (
            cmp.durations_as_seconds(),
            got.map(|v| Value::from(as_number(&v).unwrap_or(0.0))),
        );
    }
    (cmp.clone(), got)
}

/// `status:`
pub async fn status(ctx: &Ctx, c: &StatusCheck) -> Eval {
    let (path, yaml_field) = c.endpoint.path();
    let v = match ctx.get_json(&c.server, path).await {
        Ok(v) => v,
        Err(e) => return Eval::fail(format!("{} {}", c.server, c.endpoint), e),
    };
    let doc = match yaml_field {
        Some(ptr) => {
            let text = v.pointer(ptr).and_then(Value::as_str).unwrap_or("");
            match serde_yaml::from_str::<Value>(text) {
                Ok(d) => d,
                Err(e) => return Eval::fail("a YAML document", format!("cannot parse {}: {e}", c.endpoint)),
            }
        }
        None if c.endpoint.is_alertmanager() => v,
        None => v.get("data").cloned().unwrap_or(Value::Null),
    };
    let mut e = judge_paths(&doc, &c.expect, &format!("{} {}", c.server, c.endpoint));
    // The loaded configuration, the flags and the build change only with a reload or a
    // restart: waiting cannot change the verdict.
    e.settled = c.endpoint.is_static();
    if c.endpoint == Endpoint::Alertmanagers {
        // Like targets, the Alertmanager list is applied on a timer after a reload: not
        // final before that, then final when every Alertmanager is listed statically.
        match discovery_pending(ctx) {
            Some(since) if e.pass => return premature_pass(e, "a new Alertmanager list", since),
            Some(_) => {}
            None => e.settled = alertmanagers_static(ctx, &c.server).await,
        }
    }
    e
}

/// Waits, polling, until every Prometheus of the lab has caught up with its loaded
/// configuration (`caught_up`: every pool scraped, the series of removed targets gone), or `within`
/// has passed: what live answers computed from a fresh configuration wait for (`solve`,
/// `validate`).
pub async fn await_first_scrapes(ctx: &Ctx, within: std::time::Duration) {
    let deadline = std::time::Instant::now() + within;
    for server in ctx.services_with_role("prometheus") {
        while !caught_up(ctx, server).await && std::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        }
    }
}

/// Whether the series of targets a reload removed are gone: Prometheus marks them stale only
/// an interval or two later, and until then they still count (`count({job="node"})` counts
/// an old target's series beside the new one's).
async fn removed_targets_gone(ctx: &Ctx, server: &str, targets: &Value) -> bool {
    let Ok(up) = query(ctx, server, "group by (job, instance) (up)", None).await else {
        return false;
    };
    let active: Vec<(String, String)> = targets
        .pointer("/data/activeTargets")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|t| {
            let l = |k: &str| {
                t.pointer(&format!("/labels/{k}"))
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string()
            };
            (l("job"), l("instance"))
        })
        .collect();
    up.series.iter().all(|s| {
        let l = |k: &str| s.labels.get(k).cloned().unwrap_or_default();
        active.contains(&(l("job"), l("instance")))
    })
}

/// Whether `server` has caught up with its loaded configuration: every scrape pool has its
/// targets and each of them has been scraped at least once (a reload applies targets on a
/// timer, and a new target's first scrape comes up to an interval later), and the series of
/// targets the reload removed are gone. The targets are read once for both.
async fn caught_up(ctx: &Ctx, server: &str) -> bool {
    // The jobs of the loaded configuration, not /api/v1/scrape_pools: that list follows the
    // scrape manager, which takes the new pools on its own timer (empty just after a start).
    match (
        loaded_jobs(ctx, server).await,
        ctx.get_json(server, "/api/v1/targets?state=active").await,
    ) {
        (Ok(jobs), Ok(targets)) => {
            every_job_scraped(&jobs, &targets) && removed_targets_gone(ctx, server, &targets).await
        }
        _ => false,
    }
}

/// Whether each of `jobs` has active targets in a `/api/v1/targets` answer, and every active
/// target has been scraped at least once (`lastScrape` is Go's zero time before that).
fn every_job_scraped(jobs: &[String], targets: &Value) -> bool {
    let active = targets
        .pointer("/data/activeTargets")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    let pool_of = |t: &Value| t.get("scrapePool").and_then(Value::as_str).map(str::to_string);
    jobs.iter()
        .all(|j| active.iter().any(|t| pool_of(t).as_deref() == Some(j.as_str())))
        && active
            .iter()
            .all(|t| crate::component::time::is_set(t.get("lastScrape")))
}

/// Whether the loaded configuration lists every Alertmanager with `static_configs` only (no
/// service discovery that could change the list without a reload).
async fn alertmanagers_static(ctx: &Ctx, server: &str) -> bool {
    let Ok(doc) = loaded_config(ctx, server).await else {
        return false;
    };
    match doc.pointer("/alerting/alertmanagers") {
        // No Alertmanager at all: the empty list changes only with a reload too.
        None | Some(Value::Null) => true,
        Some(list) => list.as_array().is_some_and(|ams| {
            ams.iter().all(|am| {
                am.as_object().is_some_and(|o| {
                    o.keys()
                        .all(|k| k == "static_configs" || !k.ends_with("_sd_configs"))
                })
            })
        }),
    }
}

/// Evaluates JMESPath expectations against a JSON document.
pub fn judge_paths(doc: &Value, expects: &[super::spec::PathExpect], what: &str) -> Eval {
    let mut seen = Vec::new();
    for pe in expects {
        let got = match jmes(doc, &pe.path) {
            Ok(g) => g,
            Err(e) => return Eval::fail(format!("a valid path {}", pe.path), e),
        };
        let shown = got.as_ref().map_or_else(|| "absent".to_string(), show);
        let named = pe.what.as_deref().unwrap_or(&pe.path);
        if let Err(why) = pe.expect.check(got.as_ref()) {
            return Eval::fail(
                format!("{what}: {named} {}", pe.expect.describe()),
                format!("{named}: {shown} ({why})"),
            );
        }
        seen.push(format!("{named}: {shown}"));
    }
    Eval::pass(what.to_string(), seen.join(", "))
}

/// Evaluates a JMESPath expression; `None` when it yields null.
pub fn jmes(doc: &Value, path: &str) -> Result<Option<Value>, String> {
    let expr = jmespath::compile(path).map_err(|e| format!("bad JMESPath `{path}`: {e}"))?;
    let data = jmespath::Variable::from_json(&doc.to_string()).map_err(|e| e.to_string())?;
    let out = expr.search(data).map_err(|e| format!("JMESPath `{path}`: {e}"))?;
    let v: Value = serde_json::to_value(&*out).map_err(|e| e.to_string())?;
    Ok(if v.is_null() { None } else { Some(v) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::spec::PromqlExpect;
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
    fn parses_vector_and_scalar() {
        let v = json!({"status":"success","data":{"resultType":"vector","result":[{"metric":{"job":"node"},"value":[1.0,"1"]}]},"infos":["metric might not be a counter"]});
        let r = parse_query_data(&v).unwrap();
        assert_eq!(r.series[0].value, 1.0);
        assert_eq!(r.notes.len(), 1);
        let v = json!({"status":"success","data":{"resultType":"scalar","result":[1.0,"NaN"]}});
        assert!(parse_query_data(&v).unwrap().series[0].value.is_nan());
    }

    #[test]
    fn judges_the_samples_a_query_touched() {
        // The shape Prometheus 3.5 answers with `stats=all`.
        let v = json!({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1.0,"3"]}],
            "stats":{"timings":{"evalTotalTime":0.0001},"samples":{"totalQueryableSamples":1440,"peakSamples":12}}}});
        let r = parse_query_data(&v).unwrap();
        assert_eq!(r.samples, Some(1440.0));
        let cheap: PromqlExpect = serde_yaml::from_str("{samples: {le: 100}}").unwrap();
        let e = judge_result(&r, &cheap);
        assert!(!e.pass && e.observed.contains("1440 samples"), "{e:?}");
        let mut without = r.clone();
        without.samples = None;
        let e = judge_result(&without, &cheap);
        assert!(!e.pass && e.observed.contains("no statistics"), "{e:?}");
        let generous: PromqlExpect = serde_yaml::from_str("{samples: {le: 5000}}").unwrap();
        assert!(judge_result(&r, &generous).pass);
    }

    #[test]
    fn judges_series_values_and_labels() {
        let x: PromqlExpect =
            serde_yaml::from_str("{series: 2, value: {ge: 1}, labels: {instance: {regex: '^n'}}}").unwrap();
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
        let eq: EqualsExpr = serde_yaml::from_str("{expr: x, tolerance: {rel: 0.05}}").unwrap();
        assert!(compare_results(&vector(&[("a", 1.0)]), &vector(&[("a", 1.04)]), &eq).pass);
        assert!(!compare_results(&vector(&[("a", 1.0)]), &vector(&[("a", 1.2)]), &eq).pass);
        let e = compare_results(&vector(&[("a", 1.0)]), &vector(&[("b", 1.0)]), &eq);
        assert!(!e.pass && e.observed.contains("1 missing"), "{e:?}");
    }

    #[test]
    fn probes_ask_whether_each_selector_has_data() {
        let e = parser::parse(
            r#"histogram_quantile(0.9, sum by (job) (rate(b_bucket{job="d"}[1m]))) / on (job) up"#,
        )
        .unwrap();
        assert_eq!(
            ast_facts(&e).probes,
            vec![
                "count(count_over_time(b_bucket[60000ms]) >= 2)".to_string(),
                "count(up)".to_string()
            ]
        );
    }

    #[test]
    fn a_constant_argument_is_read_whatever_the_arithmetic() {
        let rules: AstRules = serde_yaml::from_str("{args: {predict_linear: {1: {eq: 14400}}}}").unwrap();
        let q =
            |h: &str| format!("predict_linear(node_filesystem_avail_bytes{{mountpoint=\"/\"}}[10m], {h})");
        for right in ["14400", "4 * 3600", "4*60*60", "(4 * 60) * 60", "3600 * 4"] {
            assert!(ast_check(&q(right), &rules).pass, "{right}");
        }
        for (wrong, shows) in [("4", "4 ("), ("4 * 60", "240"), ("14400 / 60", "240")] {
            let e = ast_check(&q(wrong), &rules);
            assert!(!e.pass && e.observed.contains(shows), "{wrong}: {e:?}");
            assert!(e.expected.contains("argument 2 of predict_linear()"), "{e:?}");
        }
        let e = ast_check(&q("scalar(up)"), &rules);
        assert!(!e.pass && e.observed.contains("not a constant"), "{e:?}");
        let e = ast_check("deriv(x[10m]) * 14400", &rules);
        assert!(!e.pass && e.expected.contains("predict_linear"), "{e:?}");
    }

    #[test]
    fn ast_rules_grade_structure_not_spelling() {
        let rules: AstRules = serde_yaml::from_str("{require_functions: [rate], forbid_functions: [irate], min_range: 20s, require_aggregations: [sum]}").unwrap();
        assert!(ast_check("sum by (job) (rate(x_total[1m]))", &rules).pass);
        assert!(
            ast_check("sum(rate(x_total[30s])) by (job)", &rules).pass,
            "equivalent spelling"
        );
        let e = ast_check("sum(irate(x_total[1m]))", &rules);
        assert!(!e.pass, "{e:?}");
        let e = ast_check("sum(rate(x_total[10s]))", &rules);
        assert!(!e.pass && e.observed.contains("10s"), "{e:?}");
        assert!(!ast_check("sum(rate(x_total[1m]", &rules).pass);
        let rules: AstRules = serde_yaml::from_str("{forbid_name_regex: true, range: 60}").unwrap();
        assert!(ast_check("x[1m]", &rules).pass);
        assert!(
            !ast_check("x[30s]", &rules).pass,
            "range anywhere, not only in functions"
        );
        let e = ast_check("{__name__=~\"demo_.*\"}[1m]", &rules);
        assert!(!e.pass && e.observed.contains("regex"), "{e:?}");
        assert!(
            ast_check("{__name__=\"x\"}[1m]", &rules).pass,
            "an equality on the name is fine"
        );
        let facts = |q: &str| ast_facts(&parser::parse(q).unwrap());
        assert!(facts("rate(x[5m] offset 1h)").time_shift);
        assert!(facts("max_over_time(x[10m:1m] @ 1700000000)").time_shift);
        assert!(!facts("sum by (job) (rate(x[5m]))").time_shift);
        assert!(reads_raw_data_only("sum by (job) (rate(x[5m]))"));
        assert!(!reads_raw_data_only("job:x:rate5m > 0"));
        assert!(!reads_raw_data_only("ALERTS{alertstate=\"firing\"}"));
        let opt: AstRules = serde_yaml::from_str("{ranges: 60, forbid_rate_of_recorded: true}").unwrap();
        assert!(ast_check("sum by (job) (rate(x_total[1m]))", &opt).pass);
        assert!(
            ast_check("sum by (job) (job_route:x:rate1m)", &opt).pass,
            "no range: fine"
        );
        assert!(!ast_check("sum by (job) (rate(x_total[5m]))", &opt).pass);
        let e = ast_check("rate(job:x:sum[1m])", &opt);
        assert!(!e.pass && e.observed.contains("rate(job:x:sum"), "{e:?}");
        let raw: AstRules = serde_yaml::from_str("{forbid_metrics: [x_bucket]}").unwrap();
        let e = ast_check("histogram_quantile(0.95, sum by (le) (x_bucket))", &raw);
        assert!(!e.pass && e.observed.contains("reads x_bucket"), "{e:?}");
        assert!(ast_check("histogram_quantile(0.95, job_le:x_bucket:rate1m)", &raw).pass);
        let no_avg: AstRules = serde_yaml::from_str("{forbid_aggregations: [avg]}").unwrap();
        let e = ast_check("avg by (job) (rate(a_sum[1m]) / rate(a_count[1m]))", &no_avg);
        assert!(!e.pass && e.observed.contains("avg"), "{e:?}");
        assert!(
            ast_check(
                "sum by (job) (rate(a_sum[1m])) / sum by (job) (rate(a_count[1m]))",
                &no_avg
            )
            .pass
        );
    }

    #[test]
    fn targets_are_judged_per_pool() {
        let v = json!({"data":{"activeTargets":[
            {"scrapePool":"node","labels":{"instance":"node-exporter:9100","job":"node"},"health":"up","lastError":"","scrapeInterval":"5s"},
            {"scrapePool":"demo","labels":{"instance":"demo-1:8080","job":"demo"},"health":"down","lastError":"connection refused","scrapeInterval":"5s"}
        ],"droppedTargetCounts":{"node":0}}});
        let c: TargetsCheck = serde_yaml::from_str("{pool: node, expect: {active: 1, health: up}}").unwrap();
        assert!(judge_targets(&v, &c).pass);
        let c: TargetsCheck = serde_yaml::from_str("{pool: demo, expect: {health: up}}").unwrap();
        let e = judge_targets(&v, &c);
        assert!(!e.pass && e.observed.contains("connection refused"), "{e:?}");
        let c: TargetsCheck = serde_yaml::from_str("{pool: nope}").unwrap();
        let e = judge_targets(&v, &c);
        assert!(!e.pass && e.detail[0].contains("node, demo"), "{e:?}");
    }

    #[test]
    fn jmespath_paths() {
        let doc = json!({"global": {"scrape_interval": "10s"}, "scrape_configs": [{"job_name": "a"}]});
        assert_eq!(jmes(&doc, "global.scrape_interval").unwrap(), Some(json!("10s")));
        assert_eq!(jmes(&doc, "global.nope").unwrap(), None);
        assert_eq!(
            jmes(&doc, "scrape_configs[*].job_name").unwrap(),
            Some(json!(["a"]))
        );
    }

    #[test]
    fn answers_wait_for_every_job_to_be_scraped_once() {
        let jobs = vec!["demo".to_string(), "pushgateway".to_string()];
        let target = |pool: &str, last: &str| json!({"scrapePool": pool, "lastScrape": last});
        let answer = |ts: Vec<Value>| json!({"status": "success", "data": {"activeTargets": ts}});
        let now = "2026-11-30T07:54:08.123456789Z";
        let never = "0001-01-01T00:00:00Z";
        assert!(
            !every_job_scraped(&jobs, &answer(vec![])),
            "no targets yet (just started)"
        );
        assert!(
            !every_job_scraped(&jobs, &answer(vec![target("demo", now)])),
            "the new job's targets are not discovered yet"
        );
        assert!(
            !every_job_scraped(
                &jobs,
                &answer(vec![target("demo", now), target("pushgateway", never)])
            ),
            "a target not scraped yet"
        );
        assert!(every_job_scraped(
            &jobs,
            &answer(vec![target("demo", now), target("pushgateway", now)])
        ));
    }

    #[test]
    fn a_path_with_plain_words_is_reported_in_those_words() {
        let doc = json!({"remote_write": [{"url": "http://localhost:8428/api/v1/write"}]});
        let path = "remote_write[?starts_with(url, 'http://vm:8428/')] | length(@)";
        let plain: Vec<crate::check::spec::PathExpect> = serde_yaml::from_str(&format!(
            "[{{path: \"{path}\", expect: {{ge: 1}}, what: remote_write entries sending to VM}}]"
        ))
        .unwrap();
        let e = judge_paths(&doc, &plain, "prometheus config");
        assert!(!e.pass);
        assert_eq!(
            e.expected,
            "prometheus config: remote_write entries sending to VM ≥ 1"
        );
        assert!(
            e.observed.starts_with("remote_write entries sending to VM: 0"),
            "{}",
            e.observed
        );
        let raw: Vec<crate::check::spec::PathExpect> =
            serde_yaml::from_str(&format!("[{{path: \"{path}\", expect: {{ge: 1}}}}]")).unwrap();
        assert!(
            judge_paths(&doc, &raw, "prometheus config")
                .expected
                .contains(path)
        );
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
        let eq: EqualsExpr = serde_yaml::from_str("{expr: x, tolerance: {rel: 0.05}}").unwrap();
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
            serde_yaml::from_str("{expr: x, tolerance: {rel: 0.05}, match_on: [instance]}").unwrap();
        assert!(compare_answer(&with_job, &per_instance, &on_job).pass);
        assert!(!compare_answer(&by_job, &per_instance, &on_job).pass);
    }
}
