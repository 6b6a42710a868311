//! Generic HTTP checks (`http`) and metrics pages fetched and parsed (`exposition`, with the
//! `prometheus-parse` crate).

use std::collections::BTreeMap;

use serde_json::Value;

use super::paths::judge_paths;
use crate::lab::compare::{Cmp, fmt_num, show};
use crate::lab::spec::{ExpositionCheck, HttpCheck};
use futures::future::BoxFuture;

use super::context::Ctx;
use super::kinds::Judge;
use super::outcome::{Eval, trim};

/// `http:`
pub(crate) async fn http(ctx: &Ctx, c: &HttpCheck) -> Eval {
    let base = match ctx.url(&c.service) {
        Ok(u) => u,
        Err(e) => return Eval::fail(format!("{} {}", c.method, c.path), e).settled(),
    };
    let Ok(method) = reqwest::Method::from_bytes(c.method.to_uppercase().as_bytes()) else {
        return Eval::fail("an HTTP method", format!("`{}` is not one", c.method)).settled();
    };
    let mut req = ctx.client.request(method, format!("{base}{}", c.path));
    for (k, v) in &c.headers {
        req = req.header(k, v);
    }
    if let Some(b) = &c.body {
        req = req.body(b.clone());
    }
    let what = format!("{} {} on {}", c.method.to_uppercase(), c.path, c.service);
    let resp = match req.send().await {
        Ok(r) => r,
        Err(e) => return Eval::fail(what, format!("no answer: {}", crate::http::describe(&e))),
    };
    let status = resp.status().as_u16();
    let body = resp.text().await.unwrap_or_default();
    let status_cmp = c.status.clone().unwrap_or_else(|| {
        Cmp(crate::lab::compare::Ops {
            between: Some([200.0, 299.0]),
            ..Default::default()
        })
    });
    if let Err(why) = status_cmp.check(Some(&Value::from(status))) {
        return Eval::fail(
            format!("{what} → status {}", status_cmp.describe()),
            format!("status {status} ({why}); body: {}", trim(&body, 120)),
        );
    }
    if let Some(cmp) = &c.body_text
        && let Err(why) = cmp.check(Some(&Value::String(body.clone())))
    {
        return Eval::fail(
            format!("{what} → body {}", cmp.describe()),
            format!("body {} ({why})", trim(&body, 120)),
        );
    }
    if !c.json.is_empty() {
        let doc: Value = match serde_json::from_str(&body) {
            Ok(d) => d,
            Err(_) => {
                return Eval::fail(
                    format!("{what} → JSON"),
                    format!("not JSON: {}", trim(&body, 120)),
                );
            }
        };
        let mut e = judge_paths(&doc, &c.json, &what);
        if !e.pass && reads_rule_structure_only(ctx, c, &doc) {
            e = e
                .with_detail(
                    "this reads only the rule groups' structure, which changes only when Prometheus reloads",
                )
                .settled();
        }
        return e;
    }
    Eval::pass(what, format!("status {status}"))
}

/// Fields of Prometheus' `/api/v1/rules` answer that only a reload changes (the rest —
/// health, lastError, evaluation times, alerts — move on every evaluation).
const RULE_STRUCTURE_FIELDS: &[&str] = &[
    "status",
    "data",
    "groups",
    "name",
    "file",
    "interval",
    "limit",
    "queryOffset",
    "rules",
    "type",
    "query",
    "duration",
    "keepFiringFor",
    "labels",
    "annotations",
];

/// Whether an `http` check's verdict depends only on the rule groups' structure: a GET of
/// Prometheus' rules API whose JSON paths read only structural fields, select no object
/// wildcard, and yield no objects (which would carry the moving fields).
fn reads_rule_structure_only(ctx: &Ctx, c: &HttpCheck, doc: &Value) -> bool {
    let prometheus = ctx
        .services
        .get(&c.service)
        .is_some_and(|s| s.role == Some(crate::stack::Role::Prometheus));
    prometheus
        && c.method.eq_ignore_ascii_case("get")
        && c.path.starts_with("/api/v1/rules")
        && c.body_text.is_none()
        && c.json.iter().all(|pe| {
            jmespath::compile(&pe.path)
                .is_ok_and(|e| reads_only(e.as_ast(), RULE_STRUCTURE_FIELDS, RULE_STRUCTURE_MAPS))
                && super::paths::jmes(doc, &pe.path)
                    .is_ok_and(|v| v.as_ref().is_none_or(|v| !holds_object(v)))
        })
}

/// Fields of the rules API whose values are maps with the learner's own keys (a rule's
/// `labels` and `annotations`): any key read in them is as structural as the map.
const RULE_STRUCTURE_MAPS: &[&str] = &["labels", "annotations"];

/// Whether a JMESPath expression reads no field outside `fields` (keys of the `maps` among
/// them excepted), and nothing that reads every field of an object (`*` on objects, `keys`,
/// `values`, `to_string`, `merge`).
pub(crate) fn reads_only(ast: &jmespath::ast::Ast, fields: &[&str], maps: &[&str]) -> bool {
    use jmespath::ast::Ast;
    /// The field a chain of sub-expressions ends with (`a.b.labels` → `labels`).
    fn last_field(ast: &Ast) -> Option<&str> {
        match ast {
            Ast::Field { name, .. } => Some(name),
            Ast::Subexpr { rhs, .. } => last_field(rhs),
            _ => None,
        }
    }
    let reads_only = |ast: &Ast, fields: &[&str]| reads_only(ast, fields, maps);
    let all = |nodes: &[&Ast]| nodes.iter().all(|n| reads_only(n, fields));
    match ast {
        Ast::Field { name, .. } => fields.contains(&name.as_str()),
        Ast::Subexpr { lhs, rhs, .. }
            if matches!(**rhs, Ast::Field { .. }) && last_field(lhs).is_some_and(|f| maps.contains(&f)) =>
        {
            reads_only(lhs, fields)
        }
        Ast::ObjectValues { .. } => false,
        Ast::Function { name, args, .. } => {
            !matches!(name.as_str(), "keys" | "values" | "to_string" | "merge")
                && args.iter().all(|a| reads_only(a, fields))
        }
        Ast::Identity { .. } | Ast::Index { .. } | Ast::Literal { .. } | Ast::Slice { .. } => true,
        Ast::Expref { ast, .. } => reads_only(ast, fields),
        Ast::Flatten { node, .. } | Ast::Not { node, .. } => reads_only(node, fields),
        Ast::MultiList { elements, .. } => elements.iter().all(|a| reads_only(a, fields)),
        Ast::MultiHash { elements, .. } => elements.iter().all(|kv| reads_only(&kv.value, fields)),
        Ast::Comparison { lhs, rhs, .. }
        | Ast::Projection { lhs, rhs, .. }
        | Ast::And { lhs, rhs, .. }
        | Ast::Or { lhs, rhs, .. }
        | Ast::Subexpr { lhs, rhs, .. } => all(&[lhs, rhs]),
        Ast::Condition { predicate, then, .. } => all(&[predicate, then]),
    }
}

fn holds_object(v: &Value) -> bool {
    match v {
        Value::Object(_) => true,
        Value::Array(items) => items.iter().any(holds_object),
        _ => false,
    }
}

/// One parsed sample: name, labels, value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ParsedSample {
    /// Metric name as exposed (`_bucket` for histogram buckets).
    pub name: String,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Value.
    pub value: f64,
}

/// Parses a text exposition into flat samples and the set of family names.
pub(crate) fn parse_exposition(text: &str) -> Result<(Vec<ParsedSample>, Vec<String>), String> {
    let lines = text.lines().map(|l| Ok(l.to_string()));
    let scrape =
        prometheus_parse::Scrape::parse(lines).map_err(|e| format!("cannot parse the metrics text: {e}"))?;
    let mut out = Vec::new();
    let mut families: Vec<String> = Vec::new();
    for s in scrape.samples {
        let labels: BTreeMap<String, String> = s.labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        if !families.contains(&s.metric) {
            families.push(s.metric.clone());
        }
        match s.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => {
                out.push(ParsedSample {
                    name: s.metric,
                    labels,
                    value: v,
                });
            }
            prometheus_parse::Value::Histogram(buckets) => {
                for b in buckets {
                    let mut l = labels.clone();
                    l.insert("le".to_string(), fmt_num(b.less_than));
                    out.push(ParsedSample {
                        name: format!("{}_bucket", s.metric),
                        labels: l,
                        value: b.count,
                    });
                }
            }
            prometheus_parse::Value::Summary(qs) => {
                for q in qs {
                    let mut l = labels.clone();
                    l.insert("quantile".to_string(), fmt_num(q.quantile));
                    out.push(ParsedSample {
                        name: s.metric.clone(),
                        labels: l,
                        value: q.count,
                    });
                }
            }
        }
    }
    families.sort();
    Ok((out, families))
}

/// `exposition:`
pub(crate) async fn exposition(ctx: &Ctx, c: &ExpositionCheck) -> Eval {
    let base = match ctx.url(&c.service) {
        Ok(u) => u,
        Err(e) => return Eval::fail(format!("metrics of {}", c.service), e).settled(),
    };
    let resp = ctx
        .client
        .get(format!("{base}{}", c.path))
        .query(&c.query.iter().collect::<Vec<_>>())
        .header("Accept", "text/plain;version=0.0.4")
        .send()
        .await;
    let what = format!(
        "{}{} on {}",
        c.path,
        if c.query.is_empty() { "" } else { "?…" },
        c.service
    );
    let body = match resp {
        Ok(r) if r.status().is_success() => r.text().await.unwrap_or_default(),
        Ok(r) => return Eval::fail(format!("{what} to answer"), format!("status {}", r.status())),
        Err(e) => return Eval::fail(format!("{what} to answer"), crate::http::describe(&e)),
    };
    let (samples, families) = match parse_exposition(&body) {
        Ok(x) => x,
        Err(e) => return Eval::fail(format!("{what} in the Prometheus text format"), e),
    };
    judge_exposition(&samples, &families, c, &what)
}

/// Judges parsed samples against an `exposition` check.
pub(crate) fn judge_exposition(
    samples: &[ParsedSample],
    families: &[String],
    c: &ExpositionCheck,
    what: &str,
) -> Eval {
    for want in &c.samples {
        let found: Vec<&ParsedSample> = samples
            .iter()
            .filter(|s| s.name == want.metric && want.labels.iter().all(|(k, v)| s.labels.get(k) == Some(v)))
            .collect();
        let Some(first) = found.first() else {
            return Eval::fail(
                format!("{what}: a sample {}{}", want.metric, show_labels(&want.labels)),
                "no such sample",
            );
        };
        if let Some(cmp) = &want.value
            && let Err(why) = cmp.check(Some(&Value::from(first.value)))
        {
            return Eval::fail(
                format!("{what}: {} {}", want.metric, cmp.describe()),
                format!(
                    "{}{} = {} ({why})",
                    first.name,
                    show_labels(&first.labels),
                    fmt_num(first.value)
                ),
            );
        }
    }
    if let Some(cmp) = &c.families {
        let v = Value::from(families.to_vec());
        if let Err(why) = cmp.check(Some(&v)) {
            return Eval::fail(
                format!("{what}: metric families {}", cmp.describe()),
                format!("{} families ({why})", families.len()),
            );
        }
    }
    Eval::pass(
        what.to_string(),
        format!("{} samples, {} families", samples.len(), families.len()),
    )
}

fn show_labels(l: &BTreeMap<String, String>) -> String {
    if l.is_empty() {
        return String::new();
    }
    let inner: Vec<String> = l
        .iter()
        .map(|(k, v)| format!("{k}={}", show(&Value::String(v.clone()))))
        .collect();
    format!("{{{}}}", inner.join(", "))
}

impl Judge for ExpositionCheck {
    fn judge<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, Eval> {
        Box::pin(exposition(ctx, self))
    }
}

impl Judge for HttpCheck {
    fn judge<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, Eval> {
        Box::pin(http(ctx, self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_structure_paths_are_told_from_moving_ones() {
        let reads = |p: &str| {
            reads_only(
                jmespath::compile(p).unwrap().as_ast(),
                RULE_STRUCTURE_FIELDS,
                RULE_STRUCTURE_MAPS,
            )
        };
        assert!(reads("data.groups[?rules[?name=='a:b']] | [0].rules[*].name"));
        assert!(reads("length(data.groups[?limit > `0`])"));
        assert!(reads("data.groups[].rules[?type=='recording'].query"));
        assert!(!reads("data.groups[].rules[?health=='ok'].name"), "health moves");
        assert!(!reads("data.groups[].rules[].alerts[].labels"), "alerts move");
        assert!(
            !reads("data.groups[0].rules[0].*"),
            "a wildcard reads moving fields"
        );
        assert!(!reads("to_string(data.groups[0])"));
        assert!(
            reads("data.groups[].rules[] | [?labels.job || labels.instance] | length(@)"),
            "a rule's own label keys are structural"
        );
        assert!(reads("data.groups[0].rules[0].annotations.runbook_url"));
        assert!(
            !reads("data.groups[].rules[].alerts[].labels.job"),
            "an alert's labels move"
        );
        assert!(!reads("data.groups[].rules[].labels.*"), "a wildcard on labels");
        assert!(!reads("data.groups[].rules[].job"), "job is no field of a rule");
    }

    const TEXT: &str = "# HELP up_total x\n# TYPE lab_backups_total counter\nlab_backups_total{job=\"nightly\"} 3\n# TYPE temp gauge\ntemp 21.5\n# TYPE rt histogram\nrt_bucket{le=\"0.1\"} 1\nrt_bucket{le=\"+Inf\"} 2\nrt_sum 0.3\nrt_count 2\n";

    #[test]
    fn parses_and_judges_samples() {
        let (samples, families) = parse_exposition(TEXT).unwrap();
        assert!(samples.iter().any(|s| s.name == "temp" && s.value == 21.5));
        assert!(
            samples
                .iter()
                .any(|s| s.name == "rt_bucket" && s.labels["le"] == "0.1")
        );
        assert!(families.contains(&"lab_backups_total".to_string()));
        let c: ExpositionCheck = crate::yaml::parse("{service: x, samples: [{metric: lab_backups_total, labels: {job: nightly}, value: {ge: 1}}], families: {superset_of: [temp]}}").unwrap();
        assert!(judge_exposition(&samples, &families, &c, "m").pass);
        let c: ExpositionCheck =
            crate::yaml::parse("{service: x, samples: [{metric: lab_backups_total, labels: {job: weekly}}]}")
                .unwrap();
        assert!(!judge_exposition(&samples, &families, &c, "m").pass);
        let c: ExpositionCheck =
            crate::yaml::parse("{service: x, samples: [{metric: temp, value: {lt: 20}}]}").unwrap();
        assert!(!judge_exposition(&samples, &families, &c, "m").pass);
    }
}
