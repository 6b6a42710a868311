//! Prometheus API answers as people read them: instant results as a table, range results
//! as charts, targets and alerting rules as the web UI's Targets and Alerts pages show
//! them, and a rejected query with a caret under the column Prometheus names.

use serde_json::Value;

use super::chart::{self, Series};
use super::style;
use super::table;

/// Version of the `--json` shapes of `query`, `targets` and `alerts`.
pub const FORMAT_VERSION: u32 = 1;

/// A series' labels as PromQL writes them: `name{a="1", b="2"}`; `{}` without any.
pub fn legend(metric: &Value) -> String {
    let Some(map) = metric.as_object() else {
        return "{}".to_string();
    };
    let name = map.get("__name__").and_then(Value::as_str).unwrap_or("");
    let labels: Vec<String> = map
        .iter()
        .filter(|(k, _)| k.as_str() != "__name__")
        .map(|(k, v)| {
            format!(
                "{k}={}",
                serde_json::to_string(v.as_str().unwrap_or("")).unwrap_or_default()
            )
        })
        .collect();
    if labels.is_empty() && !name.is_empty() {
        return name.to_string();
    }
    format!("{name}{{{}}}", labels.join(", "))
}

/// A sample `[time, "value"]` as (time, value); NaN when the value is not a number.
fn sample(v: &Value) -> Option<(f64, f64)> {
    let t = v.get(0)?.as_f64()?;
    let s = v.get(1)?.as_str()?;
    let value = match s {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        _ => s.parse().unwrap_or(f64::NAN),
    };
    Some((t, value))
}

/// The `data` of an instant query as a table (vector, matrix, scalar or string).
pub fn instant(data: &Value) -> String {
    let result = &data["result"];
    match data["resultType"].as_str().unwrap_or("") {
        "vector" => {
            let rows: Vec<Vec<String>> = result
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|s| {
                            let v = s["value"][1].as_str().unwrap_or("").to_string();
                            vec![legend(&s["metric"]), v]
                        })
                        .collect()
                })
                .unwrap_or_default();
            if rows.is_empty() {
                return "no series match (an empty result)\n".to_string();
            }
            let n = rows.len();
            format!(
                "{}{}",
                table::render(&["series", "value"], &rows),
                style::dim(&format!("{n} series\n"))
            )
        }
        "matrix" => {
            let rows: Vec<Vec<String>> = result
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|s| {
                            let values: Vec<String> = s["values"]
                                .as_array()
                                .map(|v| {
                                    v.iter()
                                        .filter_map(|p| p[1].as_str().map(str::to_string))
                                        .collect()
                                })
                                .unwrap_or_default();
                            vec![legend(&s["metric"]), values.join(" ")]
                        })
                        .collect()
                })
                .unwrap_or_default();
            if rows.is_empty() {
                return "no series match (an empty result)\n".to_string();
            }
            table::render(&["series", "samples (oldest first)"], &rows)
        }
        "scalar" | "string" => format!("{}\n", result[1].as_str().unwrap_or("")),
        other => format!("Prometheus answered a result type promlab does not show: {other}\n"),
    }
}

/// The series of a range query's `data`.
pub fn range_series(data: &Value) -> Vec<Series> {
    data["result"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|s| Series {
                    legend: legend(&s["metric"]),
                    points: s["values"]
                        .as_array()
                        .map(|v| v.iter().filter_map(sample).collect())
                        .unwrap_or_default(),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A range query's `data` as one chart per series, `columns` wide.
pub fn range(data: &Value, start: f64, end: f64, columns: usize) -> String {
    let series = range_series(data);
    if series.is_empty() {
        return "no series match in this range (an empty result)\n".to_string();
    }
    chart::render(&series, start, end, columns)
}

/// A rejected query: Prometheus' own message, and when it names `line:column`, the query
/// with a caret under that column.
pub fn rejected(expr: &str, error: &str) -> String {
    let mut out = format!("Prometheus rejected the query: {error}");
    static POS: std::sync::LazyLock<regex::Regex> =
        std::sync::LazyLock::new(|| regex::Regex::new(r"(\d+):(\d+): parse error").expect("valid regex"));
    if let Some(c) = POS.captures(error) {
        let line: usize = c[1].parse().unwrap_or(1);
        let col: usize = c[2].parse().unwrap_or(1);
        if let Some(text) = expr.lines().nth(line.saturating_sub(1)) {
            out.push_str(&format!(
                "\n  {text}\n  {}^ line {line}, column {col}",
                " ".repeat(col.saturating_sub(1))
            ));
        }
    }
    out
}

/// Seconds ago as people say it: 3.2 → "3s ago".
fn ago(seconds: f64) -> String {
    if seconds < 0.0 {
        return "-".to_string();
    }
    let s = seconds.round() as u64;
    match s {
        s if s < 120 => format!("{s}s ago"),
        s if s < 7200 => format!("{}m ago", s / 60),
        s => format!("{}h ago", s / 3600),
    }
}

/// Unix seconds of an RFC 3339 time as Prometheus writes it (`2026-12-08T00:01:02.123Z`).
pub fn unix_of(rfc3339: &str) -> Option<f64> {
    let t = humantime::parse_rfc3339_weak(rfc3339.trim_end_matches('Z').split('+').next()?).ok()?;
    let d = t.duration_since(std::time::UNIX_EPOCH).ok()?;
    Some(d.as_secs_f64())
}

/// `/api/v1/targets`' `data` as the Targets page shows it: job, endpoint, health, labels,
/// last scrape, its duration and error; `now` is the current unix time.
pub fn targets(data: &Value, now: f64) -> String {
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    let active = data["activeTargets"].as_array().cloned().unwrap_or_default();
    for t in &active {
        let health = t["health"].as_str().unwrap_or("unknown");
        let mark = match health {
            "up" => style::good("✓ up"),
            "down" => style::bad("✗ down"),
            other => format!("· {other}"),
        };
        let last = t["lastScrape"]
            .as_str()
            .and_then(unix_of)
            .map_or("-".to_string(), |t| {
                if t < 1.0 {
                    "never".to_string()
                } else {
                    ago(now - t)
                }
            });
        let took = t["lastScrapeDuration"]
            .as_f64()
            .map_or("-".to_string(), |d| format!("{}ms", (d * 1000.0).round()));
        rows.push(vec![
            t["scrapePool"]
                .as_str()
                .or(t["labels"]["job"].as_str())
                .unwrap_or("")
                .to_string(),
            t["scrapeUrl"].as_str().unwrap_or("").to_string(),
            mark,
            legend(&t["labels"]),
            last,
            took,
        ]);
        if let Some(e) = t["lastError"].as_str().filter(|e| !e.is_empty()) {
            errors.push(format!(
                "{} {}: {e}",
                style::bad("✗"),
                t["scrapeUrl"].as_str().unwrap_or("")
            ));
        }
    }
    if rows.is_empty() {
        return "no active targets: Prometheus scrapes nothing (is `scrape_configs` empty?)\n".to_string();
    }
    let mut out = table::render(
        &["job", "endpoint", "state", "labels", "last scrape", "took"],
        &rows,
    );
    let up = active.iter().filter(|t| t["health"] == "up").count();
    out.push_str(&style::dim(&format!("{up} of {} targets up\n", active.len())));
    for e in errors {
        out.push_str(&e);
        out.push('\n');
    }
    let dropped = data["droppedTargets"].as_array().map_or(0, Vec::len);
    if dropped > 0 {
        out.push_str(&style::dim(&format!(
            "{dropped} discovered targets were dropped by relabelling\n"
        )));
    }
    out
}

/// `/api/v1/rules?type=alert`'s `data` as the Alerts page shows it: each alerting rule, its
/// state, and the labels of its pending or firing alerts.
pub fn alerts(data: &Value) -> String {
    let mut rows = Vec::new();
    let mut detail = Vec::new();
    let mut rules = 0;
    for g in data["groups"].as_array().cloned().unwrap_or_default() {
        let group = g["name"].as_str().unwrap_or("");
        let file = g["file"].as_str().unwrap_or("");
        for r in g["rules"].as_array().cloned().unwrap_or_default() {
            if r["type"].as_str().is_some_and(|t| t != "alerting") {
                continue;
            }
            rules += 1;
            let state = r["state"].as_str().unwrap_or("inactive");
            let shown = match state {
                "firing" => style::bad("firing"),
                "pending" => style::warn("pending"),
                other => style::good(other),
            };
            let alerts = r["alerts"].as_array().cloned().unwrap_or_default();
            let name = r["name"].as_str().unwrap_or("");
            let wait = r["duration"]
                .as_f64()
                .map_or("-".to_string(), |d| format!("{d}s"));
            rows.push(vec![
                name.to_string(),
                shown,
                alerts.len().to_string(),
                wait,
                format!("{group} ({})", file.rsplit('/').next().unwrap_or(file)),
            ]);
            for a in alerts {
                detail.push(format!(
                    "  {name} {}: {}",
                    a["state"].as_str().unwrap_or(""),
                    legend(&a["labels"])
                ));
            }
        }
    }
    if rows.is_empty() {
        return "no alerting rules are loaded (`rule_files` names none, or they hold only recording rules)\n"
            .to_string();
    }
    let mut out = table::render(&["alert", "state", "active", "for", "group (file)"], &rows);
    out.push_str(&style::dim(&format!("{rules} alerting rules\n")));
    for d in detail {
        out.push_str(&d);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::style::plain;
    use serde_json::json;

    #[test]
    fn instant_vector_is_a_table_of_series_and_values() {
        let data = json!({"resultType": "vector", "result": [
            {"metric": {"__name__": "up", "job": "node", "instance": "node-exporter:9100"}, "value": [1.7e9, "1"]},
            {"metric": {}, "value": [1.7e9, "0.25"]}
        ]});
        let t = plain(&instant(&data));
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[0], "series                                         value");
        assert_eq!(lines[1], "up{instance=\"node-exporter:9100\", job=\"node\"}  1");
        assert_eq!(lines[2], "{}                                             0.25");
        assert_eq!(lines[3], "2 series");
        assert!(instant(&json!({"resultType": "vector", "result": []})).contains("no series match"));
        assert_eq!(
            instant(&json!({"resultType": "scalar", "result": [1.0, "42"]})),
            "42\n"
        );
    }

    #[test]
    fn range_result_becomes_one_chart_per_series() {
        let values: Vec<Value> = (0..21)
            .map(|i| json!([1000 + 30 * i, format!("{}", i * i)]))
            .collect();
        let data = json!({"resultType": "matrix", "result": [
            {"metric": {"job": "a"}, "values": values},
            {"metric": {"job": "b"}, "values": [[1000, "NaN"], [1600, "3"]]}
        ]});
        let series = range_series(&data);
        assert_eq!(series.len(), 2);
        assert_eq!(series[0].points[20], (1600.0, 400.0));
        assert!(series[1].points[0].1.is_nan());
        let t = range(&data, 1000.0, 1600.0, 72);
        assert!(
            t.contains("{job=\"a\"}\n  last 400  min 0  max 400  (21 samples)"),
            "{t}"
        );
        assert!(
            t.contains("{job=\"b\"}\n  last 3  min 3  max 3  (1 samples)"),
            "{t}"
        );
    }

    #[test]
    fn a_parse_error_points_at_its_column() {
        let err = "invalid parameter \"query\": 1:14: parse error: unexpected right parenthesis ')'";
        let t = rejected("rate(up[5m]))", err);
        assert!(
            t.starts_with("Prometheus rejected the query: invalid parameter"),
            "{t}"
        );
        assert!(
            t.ends_with("\n  rate(up[5m]))\n               ^ line 1, column 14"),
            "{t}"
        );
        // Without a position, the message alone.
        assert_eq!(rejected("x", "boom"), "Prometheus rejected the query: boom");
    }

    #[test]
    fn targets_show_health_labels_and_errors() {
        let data = json!({"activeTargets": [
            {"scrapePool": "node", "scrapeUrl": "http://node-exporter:9100/metrics", "health": "up",
             "labels": {"job": "node", "instance": "node-exporter:9100"},
             "lastScrape": "1970-01-01T00:16:40Z", "lastScrapeDuration": 0.0123, "lastError": ""},
            {"scrapePool": "demo", "scrapeUrl": "http://demo-1:8080/metrics", "health": "down",
             "labels": {"job": "demo", "instance": "demo-1:8080"},
             "lastScrape": "1970-01-01T00:16:30Z", "lastScrapeDuration": 0.001,
             "lastError": "connection refused"}
        ], "droppedTargets": [{}]});
        let t = plain(&targets(&data, 1005.0));
        assert!(t.lines().next().unwrap().starts_with("job   endpoint"), "{t}");
        assert!(t.contains("node  http://node-exporter:9100/metrics  ✓ up    {instance=\"node-exporter:9100\", job=\"node\"}  5s ago       12ms"), "{t}");
        assert!(t.contains("✗ down"), "{t}");
        assert!(t.contains("1 of 2 targets up"), "{t}");
        assert!(
            t.contains("✗ http://demo-1:8080/metrics: connection refused"),
            "{t}"
        );
        assert!(t.contains("1 discovered targets were dropped"), "{t}");
        assert!(targets(&json!({"activeTargets": []}), 0.0).contains("no active targets"));
    }

    #[test]
    fn alerts_show_each_rule_state_and_firing_labels() {
        let data = json!({"groups": [{"name": "demo", "file": "/etc/prometheus/rules/alerts.yml", "rules": [
            {"type": "alerting", "name": "DemoDown", "state": "firing", "duration": 60.0,
             "alerts": [{"state": "firing", "labels": {"alertname": "DemoDown", "instance": "demo-1:8080"}}]},
            {"type": "alerting", "name": "HighLatency", "state": "inactive", "duration": 300.0, "alerts": []},
            {"type": "recording", "name": "job:up:sum"}
        ]}]});
        let t = plain(&alerts(&data));
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[0], "alert        state     active  for   group (file)");
        assert_eq!(lines[1], "DemoDown     firing    1       60s   demo (alerts.yml)");
        assert_eq!(lines[2], "HighLatency  inactive  0       300s  demo (alerts.yml)");
        assert_eq!(lines[3], "2 alerting rules");
        assert_eq!(
            lines[4],
            "  DemoDown firing: {alertname=\"DemoDown\", instance=\"demo-1:8080\"}"
        );
        assert!(alerts(&json!({"groups": []})).contains("no alerting rules"));
    }
}
