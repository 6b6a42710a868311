//! `targets:` — scrape targets from `/api/v1/targets`, and the loaded configuration's jobs.

use super::ast::list_or_none;
use super::client::query;
use crate::check::context::Ctx;
use crate::check::kinds::Judge;
use crate::check::outcome::Eval;
use crate::lab::compare::{Cmp, show};
use crate::lab::spec::TargetsCheck;
use futures::future::BoxFuture;
use serde_json::Value;
use std::collections::BTreeMap;

/// `targets:`
pub(crate) async fn targets(ctx: &Ctx, c: &TargetsCheck) -> Eval {
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
pub(crate) const TARGET_UPDATE_SECS: f64 = 6.0;

/// Seconds since the last reload while Prometheus may still be applying discovered targets
/// or Alertmanagers (it does so on a timer); `None` once that window has passed.
pub(super) fn discovery_pending(ctx: &Ctx) -> Option<f64> {
    let since = crate::check::context::now_unix() - ctx.settled_since;
    (since < TARGET_UPDATE_SECS).then_some(since)
}

/// A pass seen while `what` may still be the previous configuration's: not trusted yet.
pub(super) fn premature_pass(e: Eval, what: &str, since: f64) -> Eval {
    Eval::fail(
        e.expected,
        format!(
            "{} (but Prometheus applies {what} within {TARGET_UPDATE_SECS:.0}s of a reload, and only {since:.0}s have passed)",
            e.observed
        ),
    )
}

/// The `job_name`s of the configuration a Prometheus has loaded.
pub(crate) async fn loaded_jobs(ctx: &Ctx, server: &str) -> Result<Vec<String>, String> {
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
pub(super) async fn loaded_config(ctx: &Ctx, server: &str) -> Result<Value, String> {
    let v = ctx.get_json(server, "/api/v1/status/config").await?;
    let text = v.pointer("/data/yaml").and_then(Value::as_str).unwrap_or("");
    crate::yaml::parse(text).map_err(|e| e.to_string())
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

pub(crate) fn judge_targets(v: &Value, c: &TargetsCheck) -> Eval {
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

impl Judge for TargetsCheck {
    fn judge<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, Eval> {
        Box::pin(targets(ctx, self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn targets_are_judged_per_pool() {
        let v = json!({"data":{"activeTargets":[
            {"scrapePool":"node","labels":{"instance":"node-exporter:9100","job":"node"},"health":"up","lastError":"","scrapeInterval":"5s"},
            {"scrapePool":"demo","labels":{"instance":"demo-1:8080","job":"demo"},"health":"down","lastError":"connection refused","scrapeInterval":"5s"}
        ],"droppedTargetCounts":{"node":0}}});
        let c: TargetsCheck = crate::yaml::parse("{pool: node, expect: {active: 1, health: up}}").unwrap();
        assert!(judge_targets(&v, &c).pass);
        let c: TargetsCheck = crate::yaml::parse("{pool: demo, expect: {health: up}}").unwrap();
        let e = judge_targets(&v, &c);
        assert!(!e.pass && e.observed.contains("connection refused"), "{e:?}");
        let c: TargetsCheck = crate::yaml::parse("{pool: nope}").unwrap();
        let e = judge_targets(&v, &c);
        assert!(!e.pass && e.detail[0].contains("node, demo"), "{e:?}");
    }
}
