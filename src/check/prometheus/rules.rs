//! `rule:` — loaded recording and alerting rules from `/api/v1/rules`.

use super::ast::{ast_check, list_or_none};
use super::client::query;
use super::promql::{compare_results, comparison_is_final, instant, too_early};
use crate::check::context::Ctx;
use crate::check::kinds::Judge;
use crate::check::outcome::{Eval, trim};
use crate::lab::compare::{Cmp, as_number, show};
use crate::lab::spec::RuleCheck;
use futures::future::BoxFuture;
use serde_json::Value;

/// Rule fields read from the loaded files: a mismatch stays until the learner edits a file.
const STATIC_RULE_FIELDS: [&str; 4] = ["for", "keep_firing_for", "interval", "limit"];

/// `rule:`
pub(crate) async fn rule(ctx: &Ctx, c: &RuleCheck) -> Eval {
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

impl Judge for RuleCheck {
    fn judge<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, Eval> {
        Box::pin(rule(ctx, self))
    }
}
