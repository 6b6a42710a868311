//! The Prometheus query API as checks use it: instant queries, their parsed results
//! (`QueryResult`), and label sets shown in reports.

use crate::check::context::Ctx;
use crate::lab::compare::as_number;
use serde_json::Value;
use std::collections::BTreeMap;

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
pub(crate) struct QueryResult {
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
pub(crate) fn parse_query_data(v: &Value) -> Result<QueryResult, String> {
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
pub(crate) async fn query(
    ctx: &Ctx,
    server: &str,
    expr: &str,
    at: Option<f64>,
) -> Result<QueryResult, String> {
    query_with(ctx, server, expr, at, false).await
}

/// Runs an instant query, asking for its statistics (samples touched) when `stats`.
pub(crate) async fn query_with(
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

pub(super) fn label_set(labels: &BTreeMap<String, String>) -> String {
    let inner: Vec<String> = labels
        .iter()
        .filter(|(k, _)| k.as_str() != "__name__")
        .map(|(k, v)| format!("{k}={v:?}"))
        .collect();
    let name = labels.get("__name__").cloned().unwrap_or_default();
    format!("{name}{{{}}}", inner.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_vector_and_scalar() {
        let v = json!({"status":"success","data":{"resultType":"vector","result":[{"metric":{"job":"node"},"value":[1.0,"1"]}]},"infos":["metric might not be a counter"]});
        let r = parse_query_data(&v).unwrap();
        assert_eq!(r.series[0].value, 1.0);
        assert_eq!(r.notes.len(), 1);
        let v = json!({"status":"success","data":{"resultType":"scalar","result":[1.0,"NaN"]}});
        assert!(parse_query_data(&v).unwrap().series[0].value.is_nan());
    }
}
