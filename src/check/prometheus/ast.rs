//! PromQL structure (`ast:`), judged on the parsed expression via the maintained
//! `promql-parser` crate: functions, aggregations, metrics, ranges, constant arguments.

use super::matchers::{self, Selector};
use crate::check::outcome::{Eval, trim};
use crate::lab::compare::{Cmp, fmt_num};
use crate::lab::spec::AstRules;
use promql_parser::parser::{self, Expr};
use serde_json::Value;

/// What a parsed PromQL expression contains.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct AstFacts {
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
    /// Every selector, with its matchers (for `matchers:` rules).
    pub selectors: Vec<Selector>,
}

/// Walks an expression and collects its facts.
pub(crate) fn ast_facts(expr: &Expr) -> AstFacts {
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
            f.selectors
                .push(Selector::new(name.clone(), &v.matchers, e.to_string()));
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
            f.selectors
                .push(Selector::new(name.clone(), &m.vs.matchers, m.vs.to_string()));
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
pub(crate) fn ast_check(expr: &str, rules: &AstRules) -> Eval {
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
    if rules.forbid_time_shift && f.time_shift {
        return Eval::fail(
            "a query over current data (no offset or @)",
            "the query shifts a selector or subquery in time with offset or @",
        );
    }
    if let Some(e) = matchers::judge(&f.selectors, &rules.matchers) {
        return e;
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

pub(super) fn list_or_none(v: &[String]) -> String {
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

#[cfg(test)]
mod tests {
    use super::super::promql::reads_raw_data_only;
    use super::*;

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
        let rules: AstRules = crate::yaml::parse("{args: {predict_linear: {1: {eq: 14400}}}}").unwrap();
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
        let rules: AstRules = crate::yaml::parse("{require_functions: [rate], forbid_functions: [irate], min_range: 20s, require_aggregations: [sum]}").unwrap();
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
        let rules: AstRules = crate::yaml::parse("{forbid_name_regex: true, range: 60}").unwrap();
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
        let opt: AstRules = crate::yaml::parse("{ranges: 60, forbid_rate_of_recorded: true}").unwrap();
        assert!(ast_check("sum by (job) (rate(x_total[1m]))", &opt).pass);
        assert!(
            ast_check("sum by (job) (job_route:x:rate1m)", &opt).pass,
            "no range: fine"
        );
        assert!(!ast_check("sum by (job) (rate(x_total[5m]))", &opt).pass);
        let e = ast_check("rate(job:x:sum[1m])", &opt);
        assert!(!e.pass && e.observed.contains("rate(job:x:sum"), "{e:?}");
        let raw: AstRules = crate::yaml::parse("{forbid_metrics: [x_bucket]}").unwrap();
        let e = ast_check("histogram_quantile(0.95, sum by (le) (x_bucket))", &raw);
        assert!(!e.pass && e.observed.contains("reads x_bucket"), "{e:?}");
        assert!(ast_check("histogram_quantile(0.95, job_le:x_bucket:rate1m)", &raw).pass);
        let no_avg: AstRules = crate::yaml::parse("{forbid_aggregations: [avg]}").unwrap();
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
}
