//! Comparators shared by every check kind: `eq`, `approx`, `regex`, `set_equal`, `len`, …
//!
//! A comparator is written in YAML either as a bare scalar (meaning `eq`) or as a map of one
//! or more operators, all of which must hold: `{ge: 1, lt: 5}`.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, MapAccess, Visitor};
use serde_json::Value;

/// `approx`: a number within a relative and/or absolute tolerance of `value`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Approx {
    /// The reference value (omitted when a live truth supplies it).
    #[serde(default)]
    pub value: Option<f64>,
    /// Allowed relative difference (0.1 = ±10 %).
    #[serde(default)]
    pub rel: Option<f64>,
    /// Allowed absolute difference.
    #[serde(default)]
    pub abs: Option<f64>,
}

/// The operators of a comparator; every one that is set must hold.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Ops {
    /// Equal (numbers compare as numbers, `"5s"` and `5s` as text).
    pub eq: Option<Value>,
    /// Not equal.
    pub ne: Option<Value>,
    /// Less than.
    pub lt: Option<f64>,
    /// Less than or equal.
    pub le: Option<f64>,
    /// Greater than.
    pub gt: Option<f64>,
    /// Greater than or equal.
    pub ge: Option<f64>,
    /// Inclusive range `[low, high]`.
    pub between: Option<[f64; 2]>,
    /// Within a tolerance of a value.
    pub approx: Option<Approx>,
    /// Text matches this regular expression (unanchored).
    pub regex: Option<String>,
    /// Text does not match this regular expression.
    pub not_regex: Option<String>,
    /// Text (or list) contains this.
    pub contains: Option<Value>,
    /// Text (or list) does not contain this.
    pub not_contains: Option<Value>,
    /// Value is one of these.
    #[serde(rename = "in")]
    pub one_of: Option<Vec<Value>>,
    /// Value is none of these.
    pub not_in: Option<Vec<Value>>,
    /// A list with exactly these members (order and duplicates ignored).
    pub set_equal: Option<Vec<Value>>,
    /// A list whose members all appear here.
    pub subset_of: Option<Vec<Value>>,
    /// A list that contains all of these.
    pub superset_of: Option<Vec<Value>>,
    /// The length of a list, map or text.
    pub len: Option<Box<Cmp>>,
    /// Empty (`true`) or not empty (`false`).
    pub empty: Option<bool>,
    /// Present (`true`) or absent (`false`).
    pub exists: Option<bool>,
}

/// A comparator: what an observed value must satisfy.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Cmp(pub Ops);

impl<'de> Deserialize<'de> for Cmp {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Cmp;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a value (meaning `eq`) or a map of comparators such as {ge: 1}")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Cmp, E> {
                Ok(Cmp::eq(Value::Bool(v)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Cmp, E> {
                Ok(Cmp::eq(Value::from(v)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Cmp, E> {
                Ok(Cmp::eq(Value::from(v)))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Cmp, E> {
                Ok(Cmp::eq(Value::from(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Cmp, E> {
                Ok(Cmp::eq(Value::String(v.to_string())))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Cmp, A::Error> {
                let ops = Ops::deserialize(de::value::MapAccessDeserializer::new(map))?;
                if ops == Ops::default() {
                    return Err(de::Error::custom("a comparator needs at least one operator"));
                }
                Ok(Cmp(ops))
            }
        }
        d.deserialize_any(V)
    }
}

impl Cmp {
    /// The same comparator with every duration text it compares against (`20s`, `1m30s`)
    /// turned into seconds, for fields Prometheus reports in seconds.
    pub fn durations_as_seconds(&self) -> Cmp {
        let secs = |v: &Value| match v {
            Value::String(s) => {
                crate::duration::Dur::parse(s).map_or_else(|_| v.clone(), |d| Value::from(d.secs()))
            }
            _ => v.clone(),
        };
        let list = |l: &Option<Vec<Value>>| l.as_ref().map(|l| l.iter().map(secs).collect());
        let mut ops = self.0.clone();
        ops.eq = ops.eq.as_ref().map(secs);
        ops.ne = ops.ne.as_ref().map(secs);
        ops.one_of = list(&self.0.one_of);
        ops.not_in = list(&self.0.not_in);
        Cmp(ops)
    }
}

/// Parses a Prometheus sample value or any JSON value as a number (`"NaN"`, `"+Inf"` too).
pub fn as_number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => parse_number(s),
        Value::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
        _ => None,
    }
}

/// Parses text as a number the way Prometheus writes them.
pub fn parse_number(s: &str) -> Option<f64> {
    match s.trim() {
        "NaN" => Some(f64::NAN),
        "+Inf" | "Inf" | "inf" => Some(f64::INFINITY),
        "-Inf" | "-inf" => Some(f64::NEG_INFINITY),
        t => t.parse().ok(),
    }
}

/// Renders a value for a report: strings bare, numbers short, others as JSON.
pub fn show(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s:?}"),
        Value::Number(n) => n.as_f64().map_or_else(|| n.to_string(), fmt_num),
        Value::Null => "nothing".to_string(),
        other => other.to_string(),
    }
}

/// Formats a float without noise (`3`, `0.25`, `1.23e-5`).
pub fn fmt_num(x: f64) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "+Inf".into() } else { "-Inf".into() };
    }
    if x == x.trunc() && x.abs() < 1e15 {
        return format!("{x:.0}");
    }
    let s = format!("{x:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.').to_string();
    if s == "0" || s == "-0" {
        format!("{x:.3e}")
    } else {
        s
    }
}

fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Equality that treats `"1"`, `1` and `1.0` alike (Prometheus values are strings).
pub fn loosely_equal_values(a: &Value, b: &Value) -> bool {
    loosely_equal(a, b)
}

fn loosely_equal(a: &Value, b: &Value) -> bool {
    if a == b {
        return true;
    }
    match (as_number(a), as_number(b)) {
        (Some(x), Some(y)) if !matches!(a, Value::Bool(_)) && !matches!(b, Value::Bool(_)) => {
            x == y || (x.is_nan() && y.is_nan())
        }
        _ => text_of(a) == text_of(b),
    }
}

fn as_list(v: &Value) -> Vec<Value> {
    match v {
        Value::Array(a) => a.clone(),
        Value::Null => Vec::new(),
        other => vec![other.clone()],
    }
}

fn length(v: &Value) -> Option<usize> {
    match v {
        Value::Array(a) => Some(a.len()),
        Value::Object(o) => Some(o.len()),
        Value::String(s) => Some(s.chars().count()),
        Value::Null => Some(0),
        _ => None,
    }
}

fn regex(pattern: &str) -> Result<regex::Regex, String> {
    regex::Regex::new(pattern).map_err(|e| format!("invalid regex `{pattern}`: {e}"))
}

impl Cmp {
    /// A comparator that only checks equality.
    pub fn eq(v: Value) -> Self {
        Cmp(Ops {
            eq: Some(v),
            ..Ops::default()
        })
    }

    /// A comparator `ge: n`.
    pub fn ge(n: f64) -> Self {
        Cmp(Ops {
            ge: Some(n),
            ..Ops::default()
        })
    }

    /// A count expectation as given, or `ge: 1` (at least one) when the check gives none.
    pub fn count_or_at_least_one(count: Option<&Cmp>) -> Self {
        count.cloned().unwrap_or_else(|| Cmp::ge(1.0))
    }

    /// Whether this count expectation rejects zero: the check needs at least one.
    pub fn needs_some(&self) -> bool {
        self.check(Some(&Value::from(0))).is_err()
    }

    /// Whether this comparator asks for absence (`exists: false`).
    pub fn wants_absent(&self) -> bool {
        self.0.exists == Some(false)
    }

    /// Checks `observed` (`None` = absent). `Ok(())` when every operator holds, otherwise
    /// the first operator that does not, phrased as "expected …".
    pub fn check(&self, observed: Option<&Value>) -> Result<(), String> {
        let o = &self.0;
        if let Some(want) = o.exists {
            let present = observed.is_some_and(|v| !v.is_null());
            if present != want {
                return Err(if want {
                    "expected it to exist".into()
                } else {
                    "expected it to be absent".into()
                });
            }
            if !want {
                return Ok(());
            }
        }
        let null = Value::Null;
        let v = observed.unwrap_or(&null);
        if let Some(want) = &o.eq
            && !loosely_equal(v, want)
        {
            return Err(format!("expected {}", show(want)));
        }
        if let Some(want) = &o.ne
            && loosely_equal(v, want)
        {
            return Err(format!("expected anything but {}", show(want)));
        }
        let num = || as_number(v).ok_or_else(|| "expected a number".to_string());
        if let Some(b) = o.lt
            && num()?.partial_cmp(&b) != Some(std::cmp::Ordering::Less)
        {
            return Err(format!("expected < {}", fmt_num(b)));
        }
        if let Some(b) = o.le
            && num()?
                .partial_cmp(&b)
                .is_none_or(|o| o == std::cmp::Ordering::Greater)
        {
            return Err(format!("expected ≤ {}", fmt_num(b)));
        }
        if let Some(b) = o.gt
            && num()?.partial_cmp(&b) != Some(std::cmp::Ordering::Greater)
        {
            return Err(format!("expected > {}", fmt_num(b)));
        }
        if let Some(b) = o.ge
            && num()?
                .partial_cmp(&b)
                .is_none_or(|o| o == std::cmp::Ordering::Less)
        {
            return Err(format!("expected ≥ {}", fmt_num(b)));
        }
        if let Some([lo, hi]) = o.between {
            let x = num()?;
            if !(x >= lo && x <= hi) {
                return Err(format!("expected between {} and {}", fmt_num(lo), fmt_num(hi)));
            }
        }
        if let Some(a) = &o.approx {
            let Some(target) = a.value else {
                return Err("approx needs a `value` (or a live truth)".into());
            };
            approx_check(num()?, target, a)?;
        }
        if let Some(p) = &o.regex
            && !regex(p)?.is_match(&text_of(v))
        {
            return Err(format!("expected text matching /{p}/"));
        }
        if let Some(p) = &o.not_regex
            && regex(p)?.is_match(&text_of(v))
        {
            return Err(format!("expected text not matching /{p}/"));
        }
        if let Some(want) = &o.contains
            && !contains(v, want)
        {
            return Err(format!("expected it to contain {}", show(want)));
        }
        if let Some(want) = &o.not_contains
            && contains(v, want)
        {
            return Err(format!("expected it not to contain {}", show(want)));
        }
        if let Some(set) = &o.one_of
            && !set.iter().any(|w| loosely_equal(v, w))
        {
            return Err(format!("expected one of {}", show(&Value::Array(set.clone()))));
        }
        if let Some(set) = &o.not_in
            && set.iter().any(|w| loosely_equal(v, w))
        {
            return Err(format!("expected none of {}", show(&Value::Array(set.clone()))));
        }
        let members = as_list(v);
        let has = |list: &[Value], x: &Value| list.iter().any(|y| loosely_equal(x, y));
        if let Some(want) = &o.set_equal {
            let missing: Vec<_> = want.iter().filter(|w| !has(&members, w)).cloned().collect();
            let extra: Vec<_> = members.iter().filter(|m| !has(want, m)).cloned().collect();
            if !missing.is_empty() || !extra.is_empty() {
                return Err(set_diff_message(&missing, &extra));
            }
        }
        if let Some(want) = &o.subset_of {
            let extra: Vec<_> = members.iter().filter(|m| !has(want, m)).cloned().collect();
            if !extra.is_empty() {
                return Err(set_diff_message(&[], &extra));
            }
        }
        if let Some(want) = &o.superset_of {
            let missing: Vec<_> = want.iter().filter(|w| !has(&members, w)).cloned().collect();
            if !missing.is_empty() {
                return Err(set_diff_message(&missing, &[]));
            }
        }
        if let Some(inner) = &o.len {
            let n = length(v).ok_or_else(|| "expected something with a length".to_string())?;
            inner
                .check(Some(&Value::from(n)))
                .map_err(|e| format!("length {n}: {e}"))?;
        }
        if let Some(want) = o.empty {
            let is_empty = length(v).unwrap_or(1) == 0;
            if is_empty != want {
                return Err(if want {
                    "expected it to be empty".into()
                } else {
                    "expected it not to be empty".into()
                });
            }
        }
        Ok(())
    }

    /// A short description of what the comparator wants, for reports.
    pub fn describe(&self) -> String {
        let o = &self.0;
        let mut parts = Vec::new();
        if let Some(v) = &o.eq {
            parts.push(format!("= {}", show(v)));
        }
        if let Some(v) = &o.ne {
            parts.push(format!("≠ {}", show(v)));
        }
        for (sym, b) in [("<", o.lt), ("≤", o.le), (">", o.gt), ("≥", o.ge)] {
            if let Some(b) = b {
                parts.push(format!("{sym} {}", fmt_num(b)));
            }
        }
        if let Some([a, b]) = o.between {
            parts.push(format!("between {} and {}", fmt_num(a), fmt_num(b)));
        }
        if let Some(a) = &o.approx {
            parts.push(describe_approx(a));
        }
        if let Some(p) = &o.regex {
            parts.push(format!("matches /{p}/"));
        }
        if let Some(p) = &o.not_regex {
            parts.push(format!("does not match /{p}/"));
        }
        if let Some(v) = &o.contains {
            parts.push(format!("contains {}", show(v)));
        }
        if let Some(v) = &o.not_contains {
            parts.push(format!("does not contain {}", show(v)));
        }
        if let Some(v) = &o.one_of {
            parts.push(format!("one of {}", show(&Value::Array(v.clone()))));
        }
        if let Some(v) = &o.not_in {
            parts.push(format!("none of {}", show(&Value::Array(v.clone()))));
        }
        if let Some(v) = &o.set_equal {
            parts.push(format!("exactly {}", show(&Value::Array(v.clone()))));
        }
        if let Some(v) = &o.subset_of {
            parts.push(format!("within {}", show(&Value::Array(v.clone()))));
        }
        if let Some(v) = &o.superset_of {
            parts.push(format!("including {}", show(&Value::Array(v.clone()))));
        }
        if let Some(l) = &o.len {
            parts.push(format!("length {}", l.describe()));
        }
        if let Some(e) = o.empty {
            parts.push(if e { "empty".into() } else { "not empty".into() });
        }
        if let Some(e) = o.exists {
            parts.push(if e { "present".into() } else { "absent".into() });
        }
        parts.join(" and ")
    }
}

fn describe_approx(a: &Approx) -> String {
    let target = a.value.map_or_else(|| "the live value".to_string(), fmt_num);
    match (a.rel, a.abs) {
        (Some(r), _) => format!("≈ {target} (±{}%)", fmt_num(r * 100.0)),
        (None, Some(x)) => format!("≈ {target} (±{})", fmt_num(x)),
        (None, None) => format!("≈ {target}"),
    }
}

/// Checks `x ≈ target` with the tolerance of `a` (default ±1e-9 relative).
pub fn approx_check(x: f64, target: f64, a: &Approx) -> Result<(), String> {
    let diff = (x - target).abs();
    let rel_ok = a.rel.is_some_and(|r| diff <= r * target.abs());
    let abs_ok = a.abs.is_some_and(|t| diff <= t);
    let exact = a.rel.is_none() && a.abs.is_none() && diff <= 1e-9 * target.abs().max(1.0);
    if rel_ok || abs_ok || exact || (x.is_nan() && target.is_nan()) {
        Ok(())
    } else {
        Err(format!(
            "expected {}",
            describe_approx(&Approx {
                value: Some(target),
                ..a.clone()
            })
        ))
    }
}

fn contains(haystack: &Value, needle: &Value) -> bool {
    match haystack {
        Value::Array(items) => items.iter().any(|i| loosely_equal(i, needle)),
        Value::Object(map) => map.contains_key(&text_of(needle)),
        other => text_of(other).contains(&text_of(needle)),
    }
}

fn set_diff_message(missing: &[Value], extra: &[Value]) -> String {
    let mut parts = Vec::new();
    if !missing.is_empty() {
        parts.push(format!("missing {}", show(&Value::Array(missing.to_vec()))));
    }
    if !extra.is_empty() {
        parts.push(format!("unexpected {}", show(&Value::Array(extra.to_vec()))));
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn duration_texts_compare_as_seconds() {
        let c: Cmp = crate::yaml::parse("20s").unwrap();
        assert!(
            c.check(Some(&json!(20))).is_err(),
            "as written, text is not a number"
        );
        let c = c.durations_as_seconds();
        assert!(c.check(Some(&json!(20.0))).is_ok());
        assert!(c.check(Some(&json!(0.0))).is_err());
        let c: Cmp = crate::yaml::parse("{in: [1m, 90s], ne: 2m}").unwrap();
        let c = c.durations_as_seconds();
        assert!(c.check(Some(&json!(60))).is_ok());
        assert!(c.check(Some(&json!(90))).is_ok());
        assert!(c.check(Some(&json!(120))).is_err());
        let c: Cmp = crate::yaml::parse("{ge: 20}").unwrap();
        assert_eq!(c.durations_as_seconds(), c, "numbers stay numbers");
    }

    fn cmp(yaml: &str) -> Cmp {
        crate::yaml::parse(yaml).unwrap()
    }

    #[test]
    fn bare_scalar_means_eq() {
        assert_eq!(cmp("up"), Cmp::eq(json!("up")));
        assert!(
            cmp("1").check(Some(&json!("1"))).is_ok(),
            "prometheus values are strings"
        );
        assert!(cmp("1").check(Some(&json!("1.0"))).is_ok());
        assert!(cmp("5s").check(Some(&json!("5s"))).is_ok());
        assert!(cmp("up").check(Some(&json!("down"))).is_err());
    }

    #[test]
    fn numeric_operators() {
        let c = cmp("{ge: 1, lt: 5}");
        assert!(c.check(Some(&json!(1))).is_ok());
        assert!(c.check(Some(&json!("4.9"))).is_ok());
        assert_eq!(c.check(Some(&json!(5))).unwrap_err(), "expected < 5");
        assert_eq!(c.check(Some(&json!(0))).unwrap_err(), "expected ≥ 1");
        assert!(c.check(Some(&json!("NaN"))).is_err(), "NaN satisfies no bound");
        assert!(cmp("{between: [2, 3]}").check(Some(&json!(3))).is_ok());
        assert!(cmp("{gt: 0}").check(Some(&json!("abc"))).is_err());
    }

    #[test]
    fn approx_relative_and_absolute() {
        let c = cmp("{approx: {value: 100, rel: 0.05}}");
        assert!(c.check(Some(&json!(104.9))).is_ok());
        assert!(c.check(Some(&json!(106))).is_err());
        let c = cmp("{approx: {value: 0, abs: 0.01}}");
        assert!(c.check(Some(&json!(0.005))).is_ok());
        assert!(c.check(Some(&json!(0.02))).is_err());
    }

    #[test]
    fn text_and_sets() {
        assert!(cmp("{regex: '^demo-\\d$'}").check(Some(&json!("demo-2"))).is_ok());
        assert!(cmp("{not_regex: 'x'}").check(Some(&json!("xyz"))).is_err());
        assert!(cmp("{contains: b}").check(Some(&json!(["a", "b"]))).is_ok());
        let c = cmp("{set_equal: [a, b]}");
        assert!(c.check(Some(&json!(["b", "a", "a"]))).is_ok());
        assert_eq!(
            c.check(Some(&json!(["a", "c"]))).unwrap_err(),
            "missing [\"b\"], unexpected [\"c\"]"
        );
        assert!(cmp("{subset_of: [a, b]}").check(Some(&json!(["a"]))).is_ok());
        assert!(cmp("{superset_of: [a, b]}").check(Some(&json!(["a"]))).is_err());
        assert!(cmp("{in: [1, 2]}").check(Some(&json!("2"))).is_ok());
    }

    #[test]
    fn len_empty_exists() {
        assert!(cmp("{len: 2}").check(Some(&json!([1, 2]))).is_ok());
        assert!(cmp("{len: {ge: 3}}").check(Some(&json!([1, 2]))).is_err());
        assert!(cmp("{empty: true}").check(Some(&json!(""))).is_ok());
        assert!(cmp("{exists: false}").check(None).is_ok());
        assert!(cmp("{exists: false}").check(Some(&json!(1))).is_err());
        assert!(cmp("{exists: true}").check(None).is_err());
    }

    #[test]
    fn misspelled_operator_is_rejected() {
        let err = crate::yaml::parse::<Cmp>("{gte: 1}").unwrap_err().to_string();
        assert!(err.contains("unknown field `gte`"), "{err}");
        assert!(crate::yaml::parse::<Cmp>("{}").is_err());
    }

    #[test]
    fn describes_itself() {
        assert_eq!(cmp("{ge: 1, lt: 5}").describe(), "< 5 and ≥ 1");
        assert_eq!(cmp("{approx: {value: 2, rel: 0.1}}").describe(), "≈ 2 (±10%)");
        assert_eq!(fmt_num(0.25), "0.25");
        assert_eq!(fmt_num(3.0), "3");
    }
}
