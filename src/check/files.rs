//! Checks on the learner's files: `file` (text, YAML paths, changed from the starter) and
//! `answer` (a value the learner wrote vs a value computed live, never revealed).

use serde_json::Value;

use super::learner::{Unreadable, read_learner, read_text};
use super::paths::{jmes, judge_paths};
use super::prometheus::client::query;
use crate::lab::compare::{Approx, approx_check, as_number, loosely_equal_values, show};
use crate::lab::spec::{AnswerCheck, FileCheck, Truth};
use futures::future::BoxFuture;

use super::context::Ctx;
use super::kinds::Judge;
use super::outcome::Eval;

/// `file:` (the learner's files do not change while a check runs: verdicts are settled).
pub(crate) async fn file(ctx: &Ctx, c: &FileCheck) -> Eval {
    let mut e = file_once(ctx, c);
    e.settled = true;
    e
}

fn file_once(ctx: &Ctx, c: &FileCheck) -> Eval {
    let text = read_learner(&ctx.workspace, &c.path);
    if let Some(want) = c.exists {
        let exists = !matches!(text, Err(Unreadable::Missing(_)));
        if exists != want {
            return Eval::fail(
                format!("{} to {}", c.path, if want { "exist" } else { "be absent" }),
                format!("{} {}", c.path, if want { "does not exist" } else { "exists" }),
            );
        }
        if !want {
            return Eval::pass(format!("{} absent", c.path), "absent");
        }
    }
    let text = match text {
        Ok(t) => t,
        Err(e @ Unreadable::Missing(_)) => {
            return Eval::fail(format!("{} to exist", c.path), e.to_string());
        }
        Err(e) => return Eval::fail(format!("{} as text to grade", c.path), e.to_string()),
    };
    if let Some(cmp) = &c.text
        && let Err(why) = cmp.check(Some(&Value::String(text.clone())))
    {
        return Eval::fail(
            format!("{} {}", c.path, cmp.describe()),
            format!("it does not ({why})"),
        );
    }
    if let Some(changed) = c.changed_from_starter {
        let starter = read_text(&ctx.lab.starter_dir().join(&c.path)).unwrap_or_default();
        let same = starter == text;
        if same == changed {
            return Eval::fail(
                format!(
                    "{} {}",
                    c.path,
                    if changed {
                        "changed from the starter"
                    } else {
                        "unchanged from the starter"
                    }
                ),
                if same {
                    "it is the starter's file".to_string()
                } else {
                    "it was changed".to_string()
                },
            );
        }
    }
    if !c.yaml.is_empty() {
        let doc: Value = match crate::yaml::parse(&text) {
            Ok(d) => d,
            Err(e) => {
                let line = e.location().map_or(String::new(), |l| format!(":{}", l.line()));
                return Eval::fail(
                    format!("{} to be valid YAML", c.path),
                    format!("{}{line}: {e}", c.path),
                );
            }
        };
        return judge_paths(&doc, &c.yaml, &c.path);
    }
    if !c.tables.is_empty() {
        let doc = super::markdown::tables(&text);
        if doc.as_array().is_none_or(Vec::is_empty) {
            return Eval::fail(
                format!("a Markdown table in {}", c.path),
                format!(
                    "{} has no table (a header row, then `|---|---|`, then rows)",
                    c.path
                ),
            );
        }
        return judge_paths(&doc, &c.tables, &format!("the tables of {}", c.path));
    }
    Eval::pass(c.path.clone(), "as expected")
}

/// Computes a truth value live.
pub async fn truth(ctx: &Ctx, t: &Truth) -> Result<Value, String> {
    if let Some(v) = &t.constant {
        return Ok(v.clone());
    }
    if let Some(expr) = &t.promql {
        let server = t.server.as_deref().unwrap_or("prometheus");
        let r = query(ctx, server, expr, None).await?;
        let reduce = t.reduce.as_deref().unwrap_or("scalar");
        return match reduce {
            "scalar" => match r.series.as_slice() {
                [one] => Ok(Value::from(one.value)),
                other => Err(format!(
                    "the truth query returned {} series, not one",
                    other.len()
                )),
            },
            "count" => Ok(Value::from(r.series.len())),
            "sum" => Ok(Value::from(r.series.iter().map(|s| s.value).sum::<f64>())),
            other => match other.strip_prefix("labels:") {
                Some(label) => {
                    let mut vals: Vec<String> = r
                        .series
                        .iter()
                        .filter_map(|s| s.labels.get(label).cloned())
                        .collect();
                    vals.sort();
                    vals.dedup();
                    if vals.is_empty() {
                        return Err(format!("the truth query returned no series with label {label}"));
                    }
                    Ok(Value::from(vals))
                }
                None => Err(format!(
                    "unknown reduce `{other}` (scalar, count, sum, labels:NAME)"
                )),
            },
        };
    }
    if let Some(h) = &t.http {
        let doc = ctx.get_json_any(&h.service, &h.path).await?;
        return match &t.jmespath {
            Some(p) => jmes(&doc, p)?.ok_or_else(|| format!("{p} is absent in {}", h.path)),
            None => Ok(doc),
        };
    }
    Err("the truth names no source (promql, http or const)".to_string())
}

/// Reads a dotted key (`versions.node`) from a YAML answers file.
pub(crate) fn read_answer(text: &str, key: &str) -> Result<Option<Value>, String> {
    let doc: Value = crate::yaml::parse(text).map_err(|e| {
        let line = e
            .location()
            .map_or(String::new(), |l| format!(" at line {}", l.line()));
        format!("not valid YAML{line}: {e}")
    })?;
    let mut cur = &doc;
    for part in key.split('.') {
        match cur.get(part) {
            Some(v) => cur = v,
            None => return Ok(None),
        }
    }
    Ok(if cur.is_null() { None } else { Some(cur.clone()) })
}

/// Compares a learner's answer with the truth without revealing the truth.
pub(crate) fn judge_answer(key: &str, given: &Value, truth: &Value, tol: Option<&Approx>) -> Eval {
    if let Value::Array(want) = truth {
        let given_list: Vec<Value> = match given {
            Value::Array(a) => a.clone(),
            Value::String(s) => s
                .split(',')
                .map(|x| Value::String(x.trim().to_string()))
                .collect(),
            other => vec![other.clone()],
        };
        let missing = want
            .iter()
            .filter(|w| !given_list.iter().any(|g| loosely_equal_values(g, w)))
            .count();
        let wrong: Vec<&Value> = given_list
            .iter()
            .filter(|g| !want.iter().any(|w| loosely_equal_values(g, w)))
            .collect();
        if missing == 0 && wrong.is_empty() {
            return Eval::pass(
                format!("{key} matching the live set"),
                format!("{} items, all right", given_list.len()),
            );
        }
        let mut parts = Vec::new();
        if missing > 0 {
            parts.push(format!("{missing} missing"));
        }
        if !wrong.is_empty() {
            parts.push(format!(
                "{} that are not in the live set ({})",
                wrong.len(),
                wrong.iter().map(|w| show(w)).collect::<Vec<_>>().join(", ")
            ));
        }
        return Eval::fail(
            format!("{key} matching the live set"),
            format!("{key}: {}", parts.join(", ")),
        );
    }
    if let (Some(t), Some(g)) = (as_number(truth), as_number(given)) {
        let tol = tol.cloned().unwrap_or(Approx {
            value: None,
            rel: None,
            abs: None,
        });
        return match approx_check(g, t, &tol) {
            Ok(()) => Eval::pass(
                format!("{key} matching the live value"),
                format!("{key}={} is right", show(given)),
            ),
            Err(_) => {
                let rel = if t == 0.0 {
                    f64::INFINITY
                } else {
                    ((g - t) / t).abs() * 100.0
                };
                let allowed = tol.rel.map_or_else(
                    || tol.abs.map_or("exact".to_string(), |a| format!("±{a}")),
                    |r| format!("±{:.0}%", r * 100.0),
                );
                let off = if rel.is_finite() {
                    format!("{rel:.0}%")
                } else {
                    "a lot".to_string()
                };
                Eval::fail(
                    format!("{key} within {allowed} of the live value"),
                    format!("{key}={} is off by {off}", show(given)),
                )
            }
        };
    }
    if as_number(truth).is_some() && as_number(given).is_none() {
        // Not a matter of time: "170 samples/s" or a query never becomes the number.
        return Eval::fail(
            format!("{key} as a number"),
            format!(
                "{key}={} is not a number: write the number alone (no unit, no query)",
                show(given)
            ),
        )
        .settled();
    }
    if loosely_equal_values(&as_typed(given), &as_typed(truth)) {
        Eval::pass(
            format!("{key} matching the live value"),
            format!("{key}={} is right", show(given)),
        )
    } else {
        Eval::fail(
            format!("{key} matching the live value"),
            format!("{key}={} is not it", show(given)),
        )
    }
}

/// An answer as the learner means it: text trimmed, and a directory path the same with or
/// without its trailing slash (`/prometheus/tsdb/` is `/prometheus/tsdb`).
fn as_typed(v: &Value) -> Value {
    match v {
        Value::String(s) => {
            let t = s.trim();
            let t = if t.len() > 1 && t.starts_with('/') {
                t.trim_end_matches('/')
            } else {
                t
            };
            Value::String(t.to_string())
        }
        other => other.clone(),
    }
}

/// `answer:`
pub(crate) async fn answer(ctx: &Ctx, c: &AnswerCheck) -> Eval {
    let text = match read_learner(&ctx.workspace, &c.file) {
        Ok(t) => t,
        Err(e) => return Eval::fail(format!("{} with key {}", c.file, c.key), e.to_string()).settled(),
    };
    let given = match read_answer(&text, &c.key) {
        Ok(Some(v)) => v,
        Ok(None) => {
            return Eval::fail(
                format!("an answer under `{}` in {}", c.key, c.file),
                "no answer yet",
            )
            .settled();
        }
        Err(e) => {
            return Eval::fail(format!("{} to be valid YAML", c.file), format!("{}: {e}", c.file)).settled();
        }
    };
    if matches!(&given, Value::String(s) if s.trim().eq_ignore_ascii_case("todo")) {
        return Eval::fail(
            format!("an answer under `{}`", c.key),
            format!("{} is still TODO", c.key),
        )
        .settled();
    }
    let t = match truth(ctx, &c.truth).await {
        Ok(t) => t,
        Err(e) => return Eval::fail("a live value to compare with", format!("cannot compute it: {e}")),
    };
    judge_answer(&c.key, &given, &t, c.tolerance.as_ref())
}

impl Judge for FileCheck {
    fn judge<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, Eval> {
        Box::pin(file(ctx, self))
    }
}

impl Judge for AnswerCheck {
    fn judge<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, Eval> {
        Box::pin(answer(ctx, self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_dotted_answers() {
        let t = "node_series: 812\nversions:\n  node: 1.9.1\n";
        assert_eq!(read_answer(t, "node_series").unwrap(), Some(json!(812)));
        assert_eq!(read_answer(t, "versions.node").unwrap(), Some(json!("1.9.1")));
        assert_eq!(read_answer(t, "nope").unwrap(), None);
        assert!(read_answer("a: [", "a").unwrap_err().contains("not valid YAML"));
    }

    #[test]
    fn numeric_answers_never_reveal_the_truth() {
        let tol = Approx {
            value: None,
            rel: Some(0.05),
            abs: None,
        };
        assert!(judge_answer("n", &json!(100), &json!(103.0), Some(&tol)).pass);
        let e = judge_answer("n", &json!("170 samples/s"), &json!(170.2), Some(&tol));
        assert!(
            !e.pass && e.settled && e.observed.contains("not a number"),
            "{e:?}"
        );
        assert!(judge_answer("n", &json!("170.2"), &json!(170.2), Some(&tol)).pass);
        let e = judge_answer("n", &json!(80), &json!(103.0), Some(&tol));
        assert!(!e.pass);
        let all = format!("{} {} {:?}", e.expected, e.observed, e.detail);
        assert!(!all.contains("103"), "truth leaked: {all}");
        assert!(e.observed.contains("off by 22%"), "{all}");
    }

    #[test]
    fn a_path_is_the_same_with_or_without_its_trailing_slash() {
        let truth = json!("/prometheus/tsdb");
        assert!(judge_answer("d", &json!("/prometheus/tsdb/"), &truth, None).pass);
        assert!(judge_answer("d", &json!(" /prometheus/tsdb "), &truth, None).pass);
        assert!(!judge_answer("d", &json!("/prometheus"), &truth, None).pass);
        assert!(judge_answer("d", &json!("/"), &json!("/"), None).pass);
    }

    #[test]
    fn set_answers_compare_as_sets() {
        let truth = json!(["demo", "node", "prometheus"]);
        assert!(judge_answer("p", &json!(["node", "prometheus", "demo"]), &truth, None).pass);
        assert!(judge_answer("p", &json!("node, demo, prometheus"), &truth, None).pass);
        let e = judge_answer("p", &json!(["node", "foo"]), &truth, None);
        assert!(
            !e.pass && e.observed.contains("2 missing") && e.observed.contains("foo"),
            "{e:?}"
        );
    }

    #[test]
    fn text_answers() {
        assert!(judge_answer("v", &json!("3.5.3"), &json!("3.5.3"), None).pass);
        assert!(!judge_answer("v", &json!("3.5.0"), &json!("3.5.3"), None).pass);
    }
}
