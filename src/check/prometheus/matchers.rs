//! Label matchers judged by meaning (`ast.matchers:`): which label values a selector keeps,
//! whatever operators spell it (`code=~"5.."`, `code!~"[1-4].."`, `code=~"500|502|503|504"`).
//! Each matcher is evaluated on the values the lab lists, as Prometheus evaluates it (regexes
//! fully anchored), so a matcher that only happens to select the right series on the demo's
//! data (`code="500"` for "every 5xx") fails.

use std::collections::BTreeMap;

use promql_parser::label::{Matcher, Matchers};

use crate::check::outcome::Eval;
use crate::lab::spec::{LabelValues, MatcherScope};

/// One selector of a query: its metric name and its alternatives of matchers (one group, or
/// one per `or` branch of `{a="x" or b="y"}`), each group ANDed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Selector {
    /// The metric name, when the selector names one.
    pub name: Option<String>,
    /// The matcher groups, any of which keeps a series.
    pub groups: Vec<Vec<Matcher>>,
    /// The selector as written back by the parser, for messages.
    pub text: String,
}

impl Selector {
    /// The selector's parts, from the parser's matchers.
    pub(crate) fn new(name: Option<String>, m: &Matchers, text: String) -> Self {
        let groups = if m.or_matchers.is_empty() {
            vec![m.matchers.clone()]
        } else {
            m.or_matchers
                .iter()
                .map(|g| m.matchers.iter().chain(g).cloned().collect())
                .collect()
        };
        Selector { name, groups, text }
    }

    /// Whether a series whose `label` is `value` is kept (other labels aside).
    fn keeps(&self, label: &str, value: &str) -> bool {
        self.groups
            .iter()
            .any(|g| g.iter().filter(|m| m.name == label).all(|m| m.is_match(value)))
    }

    /// Whether the selector matches on `label` at all.
    fn filters(&self, label: &str) -> bool {
        self.groups.iter().flatten().any(|m| m.name == label)
    }
}

/// Judges every `metric → label → values` rule against the query's selectors: the first
/// selector that keeps a value it must reject, or drops one it must keep, fails.
pub(crate) fn judge(
    selectors: &[Selector],
    rules: &BTreeMap<String, BTreeMap<String, LabelValues>>,
) -> Option<Eval> {
    for (metric, labels) in rules {
        let of_metric: Vec<&Selector> = selectors
            .iter()
            .filter(|s| s.name.as_deref() == Some(metric.as_str()))
            .collect();
        for (label, want) in labels {
            let judged: Vec<&&Selector> = match want.scope {
                MatcherScope::Every => of_metric.iter().collect(),
                MatcherScope::Filtered => of_metric.iter().filter(|s| s.filters(label)).collect(),
            };
            let expected = describe(metric, label, want);
            if want.scope == MatcherScope::Filtered && judged.is_empty() && !of_metric.is_empty() {
                return Some(Eval::fail(
                    expected,
                    format!("no selector of {metric} matches on {label}"),
                ));
            }
            for s in judged {
                if let Some(v) = want.accepts.iter().find(|v| !s.keeps(label, v)) {
                    return Some(Eval::fail(
                        expected,
                        format!("{} leaves out {label}=\"{v}\"", s.text),
                    ));
                }
                if let Some(v) = want.rejects.iter().find(|v| s.keeps(label, v)) {
                    let how = if s.filters(label) {
                        "also keeps"
                    } else {
                        "has no matcher on the label, so it keeps"
                    };
                    return Some(Eval::fail(expected, format!("{} {how} {label}=\"{v}\"", s.text)));
                }
            }
        }
    }
    None
}

fn describe(metric: &str, label: &str, want: &LabelValues) -> String {
    let quoted = |v: &[String]| {
        v.iter()
            .map(|x| format!("\"{x}\""))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut parts = Vec::new();
    if !want.accepts.is_empty() {
        parts.push(format!("keep {label} {}", quoted(&want.accepts)));
    }
    if !want.rejects.is_empty() {
        parts.push(format!("leave out {label} {}", quoted(&want.rejects)));
    }
    let whose = match want.scope {
        MatcherScope::Every => "every",
        MatcherScope::Filtered => "every filtering",
    };
    format!("{whose} selector of {metric} to {}", parts.join(" and "))
}

#[cfg(test)]
mod tests {
    use super::super::ast::ast_check;
    use crate::lab::spec::AstRules;

    fn rules(yaml: &str) -> AstRules {
        crate::yaml::parse(yaml).unwrap()
    }

    const FIVE_XX: &str = r#"{matchers: {x_total: {code: {accepts: ["500", "502", "503", "504"], rejects: ["200", "404", "5000", "1500"]}}}}"#;

    #[test]
    fn any_spelling_that_means_5xx_passes() {
        let r = rules(FIVE_XX);
        for q in [
            r#"x_total{code=~"5.."}"#,
            r#"x_total{code=~"5[0-9]{2}"}"#,
            r#"x_total{code=~"500|502|503|504"}"#,
            r#"x_total{code=~"5.*", code!~"5...+"}"#,
            r#"sum(rate(x_total{job="d", code=~"5.."}[5m])) / sum(rate(x_total{code=~"5.."}[5m]))"#,
            r#"{__name__="x_total", code=~"5.."}"#,
        ] {
            let e = ast_check(q, &r);
            assert!(e.pass, "{q}: {e:?}");
        }
    }

    #[test]
    fn spellings_that_only_fit_todays_data_fail() {
        let r = rules(FIVE_XX);
        for (q, shows) in [
            (r#"x_total{code="500"}"#, r#"leaves out code="502""#),
            (r#"x_total{code=~"500|503"}"#, r#"leaves out code="502""#),
            (r#"x_total{code="5.."}"#, r#"leaves out code="500""#),
            (r#"x_total{code=~"5.*"}"#, r#"also keeps code="5000""#),
            (r#"x_total{code=~".*5.."}"#, r#"also keeps code="1500""#),
            (r#"x_total{code!="200"}"#, r#"also keeps code="404""#),
            (r#"x_total"#, "no matcher on the label"),
            (
                r#"sum(rate(x_total{code=~"5.."}[5m])) / sum(rate(x_total[5m]))"#,
                "no matcher on the label",
            ),
        ] {
            let e = ast_check(q, &r);
            assert!(!e.pass && e.observed.contains(shows), "{q}: {e:?}");
            assert!(e.expected.contains(r#"keep code "500""#), "{e:?}");
        }
        assert!(ast_check("y_total", &r).pass, "other metrics are not judged");
    }

    #[test]
    fn negative_matchers_and_or_groups_are_evaluated() {
        let r = rules(
            r#"{matchers: {x_total: {route: {accepts: ["/api/orders", "/api/checkout"], rejects: ["/api/users", "/api/new"]}}}}"#,
        );
        assert!(ast_check(r#"x_total{route=~"/api/(orders|checkout)"}"#, &r).pass);
        let e = ast_check(r#"x_total{route!~"/api/users|/api/search"}"#, &r);
        assert!(
            !e.pass && e.observed.contains(r#"also keeps route="/api/new""#),
            "{e:?}"
        );
        assert!(ast_check(r#"x_total{route="/api/orders" or route="/api/checkout"}"#, &r).pass);
        let e = ast_check(r#"x_total{route="/api/orders" or code="500"}"#, &r);
        assert!(
            !e.pass && e.observed.contains("/api/users"),
            "an or-branch without the label keeps every route: {e:?}"
        );
    }

    #[test]
    fn filtered_scope_lets_a_denominator_read_every_value() {
        let r = rules(
            r#"{matchers: {x_total: {code: {accepts: ["500", "503"], rejects: ["200"], scope: filtered}}}}"#,
        );
        assert!(
            ast_check(
                r#"sum(rate(x_total{code=~"5.."}[5m])) / sum(rate(x_total[5m]))"#,
                &r
            )
            .pass
        );
        let e = ast_check(
            r#"sum(rate(x_total{code="500"}[5m])) / sum(rate(x_total[5m]))"#,
            &r,
        );
        assert!(
            !e.pass && e.observed.contains(r#"leaves out code="503""#),
            "{e:?}"
        );
        let e = ast_check(r#"sum(rate(x_total[5m]))"#, &r);
        assert!(
            !e.pass && e.observed.contains("no selector of x_total matches on code"),
            "{e:?}"
        );
    }

    #[test]
    fn unjudgeable_rules_are_refused_at_load() {
        assert!(rules(FIVE_XX).problem("c").is_none());
        let p = rules(r#"{matchers: {x: {code: {}}}}"#).problem("c").unwrap();
        assert!(p.contains("ast.matchers.x.code lists no value"), "{p}");
        let p = rules(r#"{matchers: {x: {code: {accepts: ["1"], rejects: ["1"]}}}}"#)
            .problem("c")
            .unwrap();
        assert!(p.contains(r#"both accepts and rejects "1""#), "{p}");
        let e = crate::yaml::parse::<AstRules>(r#"{matchers: {x: {code: {acepts: ["1"]}}}}"#).unwrap_err();
        assert!(e.to_string().contains("unknown field"), "{e}");
    }

    #[test]
    fn time_shift_is_forbidden_on_request() {
        let r = rules("{forbid_time_shift: true}");
        assert!(ast_check("rate(x[5m])", &r).pass);
        for q in [
            "rate(x[5m] offset 1m)",
            "x @ 1700000000",
            "max_over_time(x[10m:1m] offset 5m)",
            "x @ end()",
        ] {
            let e = ast_check(q, &r);
            assert!(!e.pass && e.observed.contains("offset"), "{q}: {e:?}");
        }
        assert!(ast_check("rate(x[5m] offset 1m)", &AstRules::default()).pass);
    }
}
