//! `dashboard` checks: a Grafana dashboard's content — read from a provisioned dashboard
//! file in the workspace (works offline) or from Grafana's API by uid (online-only labs) —
//! its panels, units, variables and datasources, and every panel query run for real against
//! Prometheus after Grafana's own variables are substituted.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::lab::compare::Cmp;
use crate::lab::spec::DashboardCheck;
use futures::future::BoxFuture;

use super::context::Ctx;
use super::kinds::Judge;
use super::outcome::{Eval, trim};

/// A panel, flattened out of rows.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Panel {
    /// Its title.
    pub title: String,
    /// Its type (`timeseries`, `stat`, …).
    pub kind: String,
    /// `fieldConfig.defaults.unit`.
    pub unit: Option<String>,
    /// Its description.
    pub description: String,
    /// Its datasource uid (or the variable naming it: `${datasource}`).
    pub datasource: Option<String>,
    /// Its query targets: (refId, expr).
    pub targets: Vec<(String, String)>,
}

/// Every panel of a dashboard model, rows' nested panels included (rows themselves not).
pub(crate) fn panels(dash: &Value) -> Vec<Panel> {
    let mut out = Vec::new();
    fn walk(list: &Value, out: &mut Vec<Panel>) {
        for p in list.as_array().into_iter().flatten() {
            let kind = p.get("type").and_then(Value::as_str).unwrap_or("").to_string();
            if kind == "row" {
                walk(p.get("panels").unwrap_or(&Value::Null), out);
                continue;
            }
            let ds = |v: Option<&Value>| match v {
                Some(Value::String(s)) => Some(s.clone()),
                Some(Value::Object(o)) => o.get("uid").and_then(Value::as_str).map(str::to_string),
                _ => None,
            };
            let targets = p
                .get("targets")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter(|t| t.get("hide").and_then(Value::as_bool) != Some(true))
                .map(|t| {
                    (
                        t.get("refId").and_then(Value::as_str).unwrap_or("?").to_string(),
                        t.get("expr").and_then(Value::as_str).unwrap_or("").to_string(),
                    )
                })
                .collect();
            out.push(Panel {
                title: p.get("title").and_then(Value::as_str).unwrap_or("").to_string(),
                kind,
                unit: p
                    .pointer("/fieldConfig/defaults/unit")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                description: p
                    .get("description")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                datasource: ds(p.get("datasource")),
                targets,
            });
        }
    }
    walk(dash.get("panels").unwrap_or(&Value::Null), &mut out);
    out
}

/// The dashboard's template variables: name → the value a query is run with (its current
/// value; `All` or none → `.*`, which suits the regex matchers Grafana variables feed).
pub fn variables(dash: &Value) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for v in dash
        .pointer("/templating/list")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(name) = v.get("name").and_then(Value::as_str) else {
            continue;
        };
        let current = match v.pointer("/current/value") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Array(a)) => a.first().and_then(Value::as_str).unwrap_or("").to_string(),
            _ => String::new(),
        };
        let value = if current.is_empty() || current == "$__all" || current == "All" {
            ".*".to_string()
        } else {
            current
        };
        out.insert(name.to_string(), value);
    }
    out
}

/// A panel query as Prometheus would receive it from Grafana: the built-in interval
/// variables (for a 5s scrape interval) and the dashboard's own variables substituted.
pub(crate) fn substitute(expr: &str, vars: &BTreeMap<String, String>) -> String {
    let mut s = expr.to_string();
    let builtins = [
        ("$__rate_interval", "1m"),
        ("${__rate_interval}", "1m"),
        ("$__interval_ms", "15000"),
        ("$__interval", "15s"),
        ("${__interval}", "15s"),
        ("$__range_s", "3600"),
        ("$__range", "1h"),
        ("${__range}", "1h"),
    ];
    for (k, v) in builtins {
        s = s.replace(k, v);
    }
    // Longest names first, so `$job` does not eat the front of `$job_name`.
    let mut names: Vec<&String> = vars.keys().collect();
    names.sort_by_key(|n| std::cmp::Reverse(n.len()));
    for n in names {
        let v = &vars[n];
        s = s
            .replace(&format!("${{{n}:regex}}"), v)
            .replace(&format!("${{{n}}}"), v)
            .replace(&format!("[[{n}]]"), v)
            .replace(&format!("${n}"), v);
    }
    s
}

/// The first range in a query that is not Grafana's `$__rate_interval` (a fixed `[5m]`
/// shows gaps or over-smooths as the dashboard's time range changes).
pub(crate) fn fixed_range(expr: &str) -> Option<String> {
    let mut rest = expr;
    while let Some(open) = rest.find('[') {
        let after = &rest[open + 1..];
        let close = after.find(']')?;
        let range = after[..close].trim();
        if range != "$__rate_interval" && range != "${__rate_interval}" {
            return Some(range.to_string());
        }
        rest = &after[close + 1..];
    }
    None
}

/// Reads the dashboard model: from a workspace file, or from Grafana by uid. Also returns
/// Grafana's `meta` (empty for a file).
async fn load(ctx: &Ctx, c: &DashboardCheck) -> Result<(Value, Value, String), (String, bool)> {
    if let Some(file) = &c.file {
        let text = super::learner::read_learner(&ctx.workspace, file).map_err(|e| (e.to_string(), true))?;
        let v: Value = serde_json::from_str(&text).map_err(|e| {
            (
                format!("{file}:{}:{}: not valid JSON: {e}", e.line(), e.column()),
                true,
            )
        })?;
        // A file may hold the model itself or an API-style {dashboard, meta} wrapper.
        let (dash, meta) = match v.get("dashboard") {
            Some(d) => (d.clone(), v.get("meta").cloned().unwrap_or(Value::Null)),
            None => (v, Value::Null),
        };
        return Ok((dash, meta, file.clone()));
    }
    let Some(uid) = &c.uid else {
        return Err(("a dashboard check needs `file:` or `uid:`".to_string(), true));
    };
    let v = ctx
        .get_json(&c.grafana, &format!("/api/dashboards/uid/{uid}"))
        .await
        .map_err(|e| (e, false))?;
    Ok((
        v.get("dashboard").cloned().unwrap_or(Value::Null),
        v.get("meta").cloned().unwrap_or(Value::Null),
        format!("dashboard {uid}"),
    ))
}

fn cmp_fail(what: String, cmp: &Cmp, got: &Value) -> Option<Eval> {
    cmp.check(Some(got))
        .err()
        .map(|why| Eval::fail(format!("{what} {}", cmp.describe()), why))
}

/// `dashboard:`
pub(crate) async fn dashboard(ctx: &Ctx, c: &DashboardCheck) -> Eval {
    let (dash, meta, name) = match load(ctx, c).await {
        Ok(x) => x,
        Err((e, settled)) => {
            let ev = Eval::fail("a dashboard", e);
            return if settled { ev.settled() } else { ev };
        }
    };
    // What the file says is final; Grafana may still be provisioning.
    let settle = |e: Eval| if c.file.is_some() { e.settled() } else { e };
    let x = &c.expect;
    let ps = panels(&dash);
    let title = dash.get("title").cloned().unwrap_or(Value::Null);
    let checks: Vec<(String, &Option<Cmp>, Value)> = vec![
        (format!("{name}: title"), &x.title, title),
        (
            format!("{name}: number of panels"),
            &x.panels,
            Value::from(ps.len()),
        ),
        (
            format!("{name}: panel types"),
            &x.panel_types,
            Value::from(ps.iter().map(|p| p.kind.clone()).collect::<Vec<_>>()),
        ),
        (
            format!("{name}: variables"),
            &x.variables,
            Value::from(variables(&dash).into_keys().collect::<Vec<_>>()),
        ),
        (
            format!("{name}: provisioned"),
            &x.provisioned,
            meta.get("provisioned").cloned().unwrap_or(Value::Null),
        ),
        (
            format!("{name}: folder"),
            &x.folder,
            meta.get("folderTitle").cloned().unwrap_or(Value::Null),
        ),
    ];
    for (what, cmp, got) in checks {
        if let Some(cmp) = cmp
            && let Some(e) = cmp_fail(what, cmp, &got)
        {
            return settle(e);
        }
    }
    for (panel_title, cmp) in &x.units {
        let Some(p) = ps.iter().find(|p| &p.title == panel_title) else {
            let titles: Vec<&str> = ps.iter().map(|p| p.title.as_str()).collect();
            return settle(Eval::fail(
                format!("a panel titled \"{panel_title}\""),
                format!("panels: {}", titles.join(", ")),
            ));
        };
        let got = p.unit.clone().map_or(Value::Null, Value::from);
        if let Some(e) = cmp_fail(format!("panel \"{panel_title}\" unit"), cmp, &got) {
            return settle(e);
        }
    }
    for p in &ps {
        if let Some(cmp) = &x.every_panel.description
            && let Some(e) = cmp_fail(
                format!("panel \"{}\" description", p.title),
                cmp,
                &Value::from(p.description.clone()),
            )
        {
            return settle(e);
        }
        if let Some(cmp) = &x.every_panel.datasource {
            let got = p.datasource.clone().map_or(Value::Null, Value::from);
            if let Some(e) = cmp_fail(format!("panel \"{}\" datasource", p.title), cmp, &got) {
                return settle(e);
            }
        }
    }
    let t = &x.every_target;
    let vars = variables(&dash);
    let mut ran = 0;
    for p in &ps {
        for (ref_id, expr) in &p.targets {
            let at = format!("panel \"{}\" target {ref_id}", p.title);
            if expr.trim().is_empty() {
                if t.non_empty {
                    return settle(Eval::fail(format!("{at}: a query"), "an empty query"));
                }
                continue;
            }
            if t.rate_interval
                && let Some(r) = fixed_range(expr)
            {
                return settle(Eval::fail(
                    format!("{at}: ranges of [$__rate_interval]"),
                    format!("[{r}] in {}", trim(expr, 160)),
                ));
            }
            let q = substitute(expr, &vars);
            if let Some(rules) = &t.ast {
                let e = super::prometheus::ast::ast_check(&q, rules);
                if !e.pass {
                    return settle(Eval::fail(format!("{at}: {}", e.expected), e.observed));
                }
            }
            if t.returns_data {
                match super::prometheus::client::query(ctx, &c.server, &q, None).await {
                    Ok(r) if !r.series.is_empty() => ran += 1,
                    Ok(_) => {
                        return Eval::fail(
                            format!("{at} returns data"),
                            format!("no data: {}", trim(&q, 160)),
                        );
                    }
                    Err(e) => {
                        return Eval::fail(format!("{at} returns data"), format!("{}: {e}", trim(&q, 160)))
                            .settled();
                    }
                }
            }
        }
    }
    let queried = if t.returns_data {
        format!("; {ran} panel queries returned data")
    } else {
        String::new()
    };
    Eval::pass(
        format!("{name} as specified"),
        format!("{} panels{queried}", ps.len()),
    )
}

impl Judge for DashboardCheck {
    fn judge<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, Eval> {
        Box::pin(dashboard(ctx, self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model() -> Value {
        serde_json::json!({
            "title": "Demo RED",
            "templating": {"list": [
                {"name": "job", "current": {"value": "demo"}},
                {"name": "instance", "current": {"value": ["$__all"]}},
                {"name": "job_name", "current": {}}
            ]},
            "panels": [
                {"type": "timeseries", "title": "Request rate", "description": "req/s",
                 "datasource": {"type": "prometheus", "uid": "${datasource}"},
                 "fieldConfig": {"defaults": {"unit": "reqps"}},
                 "targets": [{"refId": "A", "expr": "sum(rate(x{job=\"$job\"}[$__rate_interval]))"},
                             {"refId": "B", "expr": "hidden", "hide": true}]},
                {"type": "row", "title": "More", "panels": [
                    {"type": "stat", "title": "Errors", "datasource": "prom",
                     "targets": [{"refId": "A", "expr": "x{instance=~\"${instance}\", j=\"$job_name\"}"}]}
                ]}
            ]
        })
    }

    #[test]
    fn rows_are_flattened_and_hidden_targets_skipped() {
        let ps = panels(&model());
        assert_eq!(ps.len(), 2);
        assert_eq!(ps[0].unit.as_deref(), Some("reqps"));
        assert_eq!(ps[0].datasource.as_deref(), Some("${datasource}"));
        assert_eq!(ps[0].targets.len(), 1);
        assert_eq!(ps[1].kind, "stat");
        assert_eq!(ps[1].datasource.as_deref(), Some("prom"));
    }

    /// Grafana's answer to GET /api/dashboards/uid/demo-red, recorded shape (model + meta).
    async fn recorded_grafana() -> String {
        let body = serde_json::json!({
            "dashboard": model(),
            "meta": {"provisioned": true, "folderTitle": "Services", "slug": "demo-red"}
        });
        let app = axum::Router::new().route(
            "/api/dashboards/uid/demo-red",
            axum::routing::get(move || {
                let b = body.clone();
                async move { axum::Json(b) }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{addr}")
    }

    #[tokio::test]
    async fn uid_mode_reads_grafana_meta() {
        let url = recorded_grafana().await;
        let (ctx, _ws) = crate::check::context::testing::ctx(
            "",
            crate::check::context::Mode::default(),
            &[("grafana", &url)],
        );
        let check = |expect: &str| -> DashboardCheck {
            crate::yaml::parse(&format!("{{uid: demo-red, expect: {expect}}}")).unwrap()
        };
        let ok = dashboard(
            &ctx,
            &check("{provisioned: true, folder: Services, panels: 2, units: {Request rate: reqps}}"),
        )
        .await;
        assert!(ok.pass, "{ok:?}");
        let miss = dashboard(&ctx, &check("{folder: {ne: Services}}")).await;
        assert!(!miss.pass && miss.expected.contains("folder"), "{miss:?}");
        let missing = dashboard(
            &ctx,
            &DashboardCheck {
                uid: Some("nope".into()),
                ..check("{}")
            },
        )
        .await;
        assert!(
            !missing.pass && !missing.settled,
            "Grafana may still be provisioning: {missing:?}"
        );
    }

    #[test]
    fn fixed_ranges_are_found() {
        assert_eq!(fixed_range("rate(x[$__rate_interval])"), None);
        assert_eq!(
            fixed_range("rate(x[${__rate_interval}]) / rate(y[5m])"),
            Some("5m".into())
        );
        assert_eq!(fixed_range("up"), None);
    }

    #[test]
    fn variables_are_substituted_longest_first() {
        let vars = variables(&model());
        assert_eq!(vars["job"], "demo");
        assert_eq!(vars["instance"], ".*");
        let ps = panels(&model());
        assert_eq!(
            substitute(&ps[0].targets[0].1, &vars),
            "sum(rate(x{job=\"demo\"}[1m]))"
        );
        assert_eq!(
            substitute(&ps[1].targets[0].1, &vars),
            "x{instance=~\".*\", j=\".*\"}"
        );
    }
}
