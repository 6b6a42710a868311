//! Tests of the demo workload: metrics, faults, aging and the HTTP surface.

use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::json;

use super::http::{healthz, metrics, ready};
use super::*;
use crate::component::exposition::{OPENMETRICS_CONTENT_TYPE, TEXT_CONTENT_TYPE};
use crate::component::fault::{EventType, StopReason};

fn demo() -> Arc<Demo> {
    Demo::new(&DemoOptions::default(), 8080)
}

fn render(demo: &Demo) -> String {
    match demo.render_metrics() {
        Ok(s) => s,
        Err(e) => panic!("encode failed: {e}"),
    }
}

/// `(series key, value)` of every sample of metric `name`.
fn series(text: &str, name: &str) -> Vec<(String, f64)> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let sample = l.split(" # ").next()?;
            let (key, value) = sample.rsplit_once(' ')?;
            let metric = key.split('{').next()?;
            (metric == name).then(|| (key.to_string(), value.parse().unwrap_or(f64::NAN)))
        })
        .collect()
}

/// Sum of the samples of `name` whose key contains every `needle`.
fn sum(text: &str, name: &str, needles: &[&str]) -> f64 {
    series(text, name)
        .into_iter()
        .filter(|(k, _)| needles.iter().all(|n| k.contains(n)))
        .map(|(_, v)| v)
        .sum()
}

/// `n` generated requests, one every 0.2 s of pattern time from `seed` s on.
fn traffic(demo: &Demo, n: usize, seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    for i in 0..n {
        #[allow(clippy::cast_precision_loss)]
        let t = seed as f64 + i as f64 * 0.2;
        demo.simulate_one(t, &mut rng, true);
    }
}

/// Sum of every 5xx series of `demo_http_requests_total`.
fn errors(text: &str) -> f64 {
    pattern::ERROR_CODES
        .iter()
        .map(|c| sum(text, "demo_http_requests_total", &[&format!(r#"code="{c}""#)]))
        .sum()
}

fn fault(demo: &Demo, body: &str) {
    if let Err(e) = demo.start_fault(body.as_bytes()) {
        panic!("{body}: {e}");
    }
}

#[test]
fn exposes_every_documented_family() {
    let d = demo();
    traffic(&d, 50, 1);
    d.slow_tick(&mut StdRng::seed_from_u64(1));
    let text = render(&d);
    for name in [
        "demo_http_requests_total",
        "demo_http_request_duration_seconds_bucket",
        "demo_http_request_duration_seconds_sum",
        "demo_http_request_duration_seconds_count",
        "demo_inflight_requests",
        "demo_queue_depth",
        "demo_maintenance",
        "demo_desired_replicas",
        "demo_heartbeat_timestamp_seconds",
        "demo_build_info",
        "demo_jobs_processed_total",
        "demo_orders_total",
        "demo_revenue_cents_total",
        "demo_checkout_total",
        "demo_sessions",
    ] {
        assert!(!series(&text, name).is_empty(), "{name} missing:\n{text}");
    }
    assert!(!text.contains("_total_total"));
    assert!(text.ends_with("# EOF\n"));
    assert!(
        !text.lines().any(|l| l.starts_with("# HELP") && l.ends_with("..")),
        "prometheus-client appends the final period itself"
    );
    assert!(text.contains(r#"demo_build_info{version="1.4.2",commit="3f9c2e1"} 1"#));
    assert_eq!(sum(&text, "demo_desired_replicas", &[]), 3.0);
    assert_eq!(sum(&text, "demo_maintenance", &[]), 0.0);
    assert_eq!(series(&text, "demo_sessions").len(), BASE_USERS.len());
    assert!(series(&text, "demo_churn_info").is_empty());
    assert!(!text.contains("demo_churn_info"), "empty family is not exposed");
    let buckets = series(&text, "demo_http_request_duration_seconds_bucket");
    assert!(buckets.iter().any(|(k, _)| k.contains(r#"le="0.005""#)));
    assert!(buckets.iter().any(|(k, _)| k.contains(r#"le="+Inf""#)));
    assert_eq!(buckets.len(), 4 * 12, "4 routes x (11 bounds + Inf)");
}

#[test]
fn baseline_has_a_small_mixed_5xx_share_and_every_series_exists() {
    let d = demo();
    traffic(&d, 3000, 7);
    let text = render(&d);
    assert_eq!(sum(&text, "demo_http_requests_total", &[]), 3000.0);
    for code in pattern::ERROR_CODES {
        let label = format!(r#"code="{code}""#);
        let n = series(&text, "demo_http_requests_total")
            .into_iter()
            .filter(|(k, _)| k.contains(&label))
            .count();
        assert_eq!(n, 5, "one {code} series per (route, method)");
    }
    // Without a fault a few requests fail (0.4 %..2.7 % of them), not none.
    let share = errors(&text) / 3000.0;
    assert!((0.001..0.03).contains(&share), "{share}");
    let failed = sum(&text, "demo_checkout_total", &[r#"result="failed""#]);
    let checkout_errors: f64 = pattern::ERROR_CODES
        .iter()
        .map(|c| {
            let code = format!(r#"code="{c}""#);
            sum(
                &text,
                "demo_http_requests_total",
                &[r#"route="/api/checkout""#, &code],
            )
        })
        .sum();
    assert_eq!(failed, checkout_errors);
    let ok = sum(&text, "demo_checkout_total", &[r#"result="success""#]);
    assert!(ok > 0.0);
    assert_eq!(sum(&text, "demo_orders_total", &[]), ok);
    assert!(sum(&text, "demo_revenue_cents_total", &[]) > 0.0);
    // Every route gets traffic, and latencies spread across buckets.
    for route in fault::ROUTES {
        let label = format!(r#"route="{route}""#);
        assert!(sum(&text, "demo_http_requests_total", &[&label]) > 0.0, "{route}");
    }
    let le = |b: &str| {
        sum(
            &text,
            "demo_http_request_duration_seconds_bucket",
            &[&format!(r#"le="{b}""#)],
        )
    };
    assert!(le("0.01") > 0.0 && le("0.01") < le("0.1") && le("0.1") < le("+Inf"));
}

use crate::component::fault;

#[test]
fn errors_fault_turns_new_requests_into_several_5xx_codes() {
    let d = demo();
    traffic(&d, 200, 1);
    let before = render(&d);
    let ok_before = sum(&before, "demo_http_requests_total", &[r#"code="200""#]);
    let errors_before = errors(&before);
    fault(&d, r#"{"kind":"errors","rate":1.0}"#);
    traffic(&d, 300, 2);
    let after = render(&d);
    assert_eq!(
        sum(&after, "demo_http_requests_total", &[r#"code="200""#]),
        ok_before
    );
    assert_eq!(errors(&after), errors_before + 300.0);
    for code in pattern::ERROR_CODES {
        let n = sum(
            &after,
            "demo_http_requests_total",
            &[&format!(r#"code="{code}""#)],
        );
        assert!(n >= 15.0, "{code}: {n} of 300 (500 is not the only 5xx)");
    }
    assert!(sum(&after, "demo_checkout_total", &[r#"result="failed""#]) > 0.0);
}

#[test]
fn errors_fault_can_target_one_route() {
    let d = demo();
    fault(&d, r#"{"kind":"errors","rate":1.0,"route":"/api/checkout"}"#);
    traffic(&d, 500, 3);
    let text = render(&d);
    let bad = errors(&text);
    let checkout = sum(&text, "demo_http_requests_total", &[r#"route="/api/checkout""#]);
    assert!(checkout > 0.0);
    // Every checkout fails, other routes only at the small baseline share.
    assert!(bad >= checkout && bad < checkout + 15.0, "{bad} {checkout}");
    assert_eq!(sum(&text, "demo_orders_total", &[]), 0.0);
}

#[test]
fn errors_fault_rate_is_roughly_honoured() {
    let d = demo();
    fault(&d, r#"{"kind":"errors","rate":0.2}"#);
    traffic(&d, 5000, 4);
    let text = render(&d);
    // 20 % from the fault, plus the baseline share (under 3 %).
    let share = errors(&text) / 5000.0;
    assert!((0.17..0.26).contains(&share), "{share}");
}

#[test]
fn latency_fault_shows_in_the_histogram() {
    let d = demo();
    fault(&d, r#"{"kind":"latency","latency_ms":2000}"#);
    traffic(&d, 100, 5);
    let text = render(&d);
    let count = sum(&text, "demo_http_request_duration_seconds_count", &[]);
    let total = sum(&text, "demo_http_request_duration_seconds_sum", &[]);
    assert_eq!(count, 100.0);
    assert!(total >= 200.0, "{total}");
    let fast = sum(
        &text,
        "demo_http_request_duration_seconds_bucket",
        &[r#"le="1.0""#],
    );
    assert_eq!(fast, 0.0, "every request took > 1 s");
}

#[test]
fn cardinality_fault_explodes_sessions_and_clears() {
    let d = demo();
    fault(&d, r#"{"kind":"cardinality"}"#);
    let text = render(&d);
    let n = series(&text, "demo_sessions").len();
    assert!(n >= 500, "{n}");
    d.stop_faults(Some(FaultKind::Cardinality));
    let text = render(&d);
    assert_eq!(series(&text, "demo_sessions").len(), BASE_USERS.len());
}

#[test]
fn churn_fault_exposes_one_fresh_series_per_scrape() {
    let d = demo();
    fault(&d, r#"{"kind":"churn"}"#);
    let first = series(&render(&d), "demo_churn_info");
    let second = series(&render(&d), "demo_churn_info");
    assert_eq!(first.len(), 1, "{first:?}");
    assert_eq!(second.len(), 1, "{second:?}");
    assert_ne!(first[0].0, second[0].0);
    assert!(first[0].0.starts_with(r#"demo_churn_info{request_id=""#));
    assert_eq!(first[0].1, 1.0);
    d.stop_faults(None);
    assert!(series(&render(&d), "demo_churn_info").is_empty());
}

#[test]
fn counter_reset_restarts_counters_but_keeps_gauges() {
    let d = demo();
    traffic(&d, 500, 6);
    d.slow_tick(&mut StdRng::seed_from_u64(6));
    let before = render(&d);
    assert_eq!(sum(&before, "demo_http_requests_total", &[]), 500.0);
    assert!(sum(&before, "demo_jobs_processed_total", &[]) > 0.0);
    fault(&d, r#"{"kind":"counter-reset"}"#);
    let after = render(&d);
    for name in [
        "demo_http_requests_total",
        "demo_http_request_duration_seconds_count",
        "demo_http_request_duration_seconds_sum",
        "demo_http_request_duration_seconds_bucket",
        "demo_jobs_processed_total",
        "demo_orders_total",
        "demo_revenue_cents_total",
        "demo_checkout_total",
    ] {
        assert!(!series(&after, name).is_empty(), "{name} still exposed");
        assert_eq!(sum(&after, name, &[]), 0.0, "{name}");
    }
    assert_eq!(sum(&after, "demo_desired_replicas", &[]), 3.0);
    assert_eq!(series(&after, "demo_sessions").len(), BASE_USERS.len());
    assert_eq!(
        sum(&after, "demo_queue_depth", &[]),
        sum(&before, "demo_queue_depth", &[])
    );
    traffic(&d, 10, 7);
    assert_eq!(sum(&render(&d), "demo_http_requests_total", &[]), 10.0);
    let snap = d.faults_snapshot();
    assert!(snap.active.is_empty(), "one-shot");
    assert_eq!(snap.history.len(), 2);
}

#[tokio::test]
async fn down_fault_makes_metrics_and_health_answer_503() {
    let d = demo();
    fault(&d, r#"{"kind":"down"}"#);
    let r = metrics(State(Arc::clone(&d)), HeaderMap::new()).await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    let r = healthz(State(Arc::clone(&d))).await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    let r = ready(State(Arc::clone(&d))).await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    d.stop_faults(Some(FaultKind::Down));
    let r = metrics(State(Arc::clone(&d)), HeaderMap::new()).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.headers().get(header::CONTENT_TYPE).map(HeaderValue::as_bytes),
        Some(TEXT_CONTENT_TYPE.as_bytes())
    );
    assert_eq!(healthz(State(d)).await.status(), StatusCode::OK);
}

#[test]
fn fault_duration_expiry_is_recorded_and_undone() {
    let d = demo();
    fault(&d, r#"{"kind":"errors","rate":1.0,"duration_s":5}"#);
    fault(&d, r#"{"kind":"cardinality","duration_s":5}"#);
    d.reconcile(unix_now() + 1.0);
    assert_eq!(d.faults_snapshot().active.len(), 2);
    d.reconcile(unix_now() + 6.0);
    let snap = d.faults_snapshot();
    assert!(snap.active.is_empty(), "{snap:?}");
    let expired: Vec<_> = snap
        .history
        .iter()
        .filter(|e| e.event == EventType::Stop && e.reason == Some(StopReason::Expired))
        .map(|e| e.kind)
        .collect();
    assert_eq!(expired, vec![FaultKind::Errors, FaultKind::Cardinality]);
    traffic(&d, 100, 8);
    let text = render(&d);
    assert!(errors(&text) < 10.0, "only the baseline share fails");
    assert_eq!(series(&text, "demo_sessions").len(), BASE_USERS.len());
}

#[test]
fn bad_fault_bodies_are_rejected() {
    let d = demo();
    let e = d.start_fault(br#"{"kind":"meltdown"}"#).err().unwrap_or_default();
    assert!(e.contains("valid kinds are: errors, latency"), "{e}");
    let e = d
        .start_fault(br#"{"kind":"errors","rate":2}"#)
        .err()
        .unwrap_or_default();
    assert!(e.contains("between 0 and 1"), "{e}");
    assert!(d.faults_snapshot().history.is_empty());
}

#[test]
fn exemplars_carry_trace_ids() {
    let d = demo();
    traffic(&d, 50, 9);
    let text = render(&d);
    let with_exemplar = |prefix: &str| {
        text.lines()
            .filter(|l| l.starts_with(prefix) && l.contains(r#" # {trace_id=""#))
            .count()
    };
    assert!(with_exemplar("demo_http_requests_total{") > 0, "{text}");
    assert!(with_exemplar("demo_http_request_duration_seconds_bucket{") > 0);
    let line = text
        .lines()
        .find(|l| l.starts_with("demo_http_requests_total{") && l.contains(" # {"))
        .unwrap_or_default();
    // `# {trace_id="<32 hex>"} <value> <timestamp>`
    let exemplar = line.split(" # ").nth(1).unwrap_or_default();
    let id = exemplar
        .trim_start_matches("{trace_id=\"")
        .split('"')
        .next()
        .unwrap_or_default();
    assert_eq!(id.len(), 32, "{line}");
    assert!(id.chars().all(|c| c.is_ascii_hexdigit()));
    assert_eq!(exemplar.split(' ').count(), 3, "value and timestamp: {line}");
}

#[test]
fn traffic_is_deterministic_per_seed_and_instance() {
    let counts = |instance: &str, seed: u64| {
        let opts = DemoOptions {
            instance: instance.to_string(),
            seed,
            ..DemoOptions::default()
        };
        let d = Demo::new(&opts, 8080);
        let mut rng = generator::rng(seed, instance);
        for i in 0..500 {
            d.simulate_one(f64::from(i) * 0.2, &mut rng, false);
        }
        let text = render(&d);
        let mut requests: Vec<String> = series(&text, "demo_http_requests_total")
            .into_iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        requests.sort();
        // Series order varies between encodes, so the sum is rounded.
        let seconds = sum(&text, "demo_http_request_duration_seconds_sum", &[]);
        (requests, (seconds * 1e6).round())
    };
    assert_eq!(counts("demo-1", 1), counts("demo-1", 1));
    assert_ne!(counts("demo-1", 1), counts("demo-2", 1));
}

#[test]
fn an_aged_demo_starts_with_the_pattern_pre_accumulated() {
    let opts = DemoOptions {
        instance: "demo-2".to_string(),
        seed: 2,
        age_s: 900.0,
        ..DemoOptions::default()
    };
    let d = Demo::new(&opts, 8080);
    let mut rng = generator::rng(opts.seed, &opts.instance);
    let replayed = generator::preaccumulate(&d, opts.age_s, &mut rng);
    let text = render(&d);
    let expected = d.pattern.requests_between(0.0, 900.0);
    #[allow(clippy::cast_precision_loss)]
    let replayed_f = replayed as f64;
    assert!((replayed_f - expected).abs() < 3.0, "{replayed} vs {expected}");
    assert_eq!(sum(&text, "demo_http_requests_total", &[]), replayed_f);
    assert_eq!(
        sum(&text, "demo_http_request_duration_seconds_count", &[]),
        replayed_f
    );
    assert!(errors(&text) > 0.0, "baseline errors accumulated too");
    assert!(
        sum(&text, "demo_jobs_processed_total", &[]) > 300.0,
        "jobs of 900 s"
    );
    // The pattern's phase goes on from the age.
    assert!((d.clock.now() - 900.0).abs() < 5.0);
    // Same seed and instance: the same pre-accumulated counters.
    let again = Demo::new(&opts, 8080);
    generator::preaccumulate(&again, opts.age_s, &mut generator::rng(opts.seed, &opts.instance));
    let key = |t: &str| {
        let mut v: Vec<String> = series(t, "demo_http_requests_total")
            .into_iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        v.sort();
        v
    };
    assert_eq!(key(&text), key(&render(&again)));
}

#[test]
fn options_are_validated() {
    let ok = DemoOptions::default();
    assert!(validate(&ok).is_ok());
    for rps in [-1.0, f64::NAN, f64::INFINITY, 1000.5] {
        let o = DemoOptions {
            traffic_rps: rps,
            ..ok.clone()
        };
        assert!(validate(&o).is_err(), "{rps}");
    }
    for instance in ["", "demo 1", "demo/1"] {
        let o = DemoOptions {
            instance: instance.to_string(),
            ..ok.clone()
        };
        let e = validate(&o).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.starts_with("invalid instance"), "{e}");
    }
    for age in [-1.0, f64::NAN, MAX_AGE_S + 1.0] {
        let o = DemoOptions {
            age_s: age,
            ..ok.clone()
        };
        let e = validate(&o).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.starts_with("invalid DEMO_AGE"), "{e}");
    }
}

/// The whole HTTP surface, on a real socket.
#[tokio::test]
async fn http_endpoints() {
    let listener = match TcpListener::bind("127.0.0.1:0").await {
        Ok(l) => l,
        Err(e) => panic!("{e}"),
    };
    let port = listener.local_addr().map(|a| a.port()).unwrap_or_default();
    let opts = DemoOptions {
        instance: "demo-7".to_string(),
        traffic_rps: 50.0,
        ..DemoOptions::default()
    };
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(
        listener,
        opts,
        StopSignal::from_future(async move {
            let _ = rx.await;
        }),
    ));
    let base = format!("http://127.0.0.1:{port}");
    let c = crate::http::default_client();
    let get = |path: &str| c.get(format!("{base}{path}")).send();

    let r = get("/healthz").await.map_err(|e| e.to_string());
    assert_eq!(r.map(|r| r.status().as_u16()), Ok(200));
    let r = get("/ready").await.map_err(|e| e.to_string());
    assert_eq!(r.map(|r| r.status().as_u16()), Ok(200));

    let sd: serde_json::Value = match get("/sd").await {
        Ok(r) => r.json().await.unwrap_or_default(),
        Err(e) => panic!("{e}"),
    };
    assert_eq!(
        sd,
        json!([{"targets": [format!("demo-7:{port}")], "labels": {"env": "lab"}}])
    );

    tokio::time::sleep(Duration::from_millis(300)).await;
    let om = c
        .get(format!("{base}/metrics"))
        .header("accept", "application/openmetrics-text;version=1.0.0,*/*;q=0.1")
        .send()
        .await;
    let r = match om {
        Ok(r) => r,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(
        r.headers().get("content-type").map(HeaderValue::as_bytes),
        Some(OPENMETRICS_CONTENT_TYPE.as_bytes())
    );
    let text = r.text().await.unwrap_or_default();
    assert!(sum(&text, "demo_heartbeat_timestamp_seconds", &[]) > 1.6e9);
    assert!(sum(&text, "demo_http_requests_total", &[]) >= 5.0, "{text}");
    assert!(text.contains(" # {trace_id=\""), "exemplars in OpenMetrics");
    assert!(text.ends_with("# EOF\n"));

    let r = match get("/metrics").await {
        Ok(r) => r,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(
        r.headers().get("content-type").map(HeaderValue::as_bytes),
        Some(TEXT_CONTENT_TYPE.as_bytes())
    );
    let text = r.text().await.unwrap_or_default();
    assert!(sum(&text, "demo_http_requests_total", &[]) >= 5.0, "{text}");
    assert!(!text.contains("trace_id"), "no exemplars in text format");
    assert!(!text.contains("# EOF"));
    assert!(text.contains("# TYPE demo_http_requests_total counter\n"));
    assert!(text.contains("# TYPE demo_build_info gauge\n"));

    for (path, post) in [
        ("/api/orders", false),
        ("/api/orders", true),
        ("/api/checkout", true),
        ("/api/users", false),
        ("/api/search", false),
    ] {
        let req = if post {
            c.post(format!("{base}{path}"))
        } else {
            c.get(format!("{base}{path}"))
        };
        let r = match req.send().await {
            Ok(r) => r,
            Err(e) => panic!("{e}"),
        };
        // A real request may fail at the baseline error share (about 1 %).
        let status = r.status().as_u16();
        assert!(
            status == 200 || pattern::ERROR_CODES.contains(&status.to_string().as_str()),
            "{path}: {status}"
        );
        assert!(r.headers().contains_key("x-trace-id"));
        let body: serde_json::Value = r.json().await.unwrap_or_default();
        if status == 200 {
            assert_eq!(body["route"], path);
        } else {
            assert!(body["error"].is_string(), "{body}");
        }
    }
    let r = get("/broken").await.map(|r| r.status().as_u16());
    assert_eq!(r.ok(), Some(500));

    let post = |body: &'static str| c.post(format!("{base}/admin/fault")).body(body).send();
    let r = match post(r#"{"kind":"nope"}"#).await {
        Ok(r) => r,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(r.status().as_u16(), 400);
    let body: serde_json::Value = r.json().await.unwrap_or_default();
    let msg = body["error"].as_str().unwrap_or_default();
    assert!(msg.contains("valid kinds are"), "{body}");

    let r = post(r#"{"kind":"errors","rate":1.0,"route":"/api/users"}"#).await;
    assert_eq!(r.map(|r| r.status().as_u16()).ok(), Some(200));
    let r = get("/api/users").await.map(|r| r.status().as_u16());
    let r = r.ok();
    assert!(matches!(r, Some(500 | 502 | 503)), "{r:?}");
    let r = post(r#"{"kind":"down"}"#).await.map(|r| r.status().as_u16());
    assert_eq!(r.ok(), Some(200));
    let r = get("/metrics").await.map(|r| r.status().as_u16());
    assert_eq!(r.ok(), Some(503));

    let state: serde_json::Value = match get("/admin/fault").await {
        Ok(r) => r.json().await.unwrap_or_default(),
        Err(e) => panic!("{e}"),
    };
    assert_eq!(state["active"].as_array().map(Vec::len), Some(2), "{state}");
    assert_eq!(state["active"][0]["kind"], "errors");
    assert_eq!(state["active"][1]["kind"], "down");

    let r = c.delete(format!("{base}/admin/fault/down")).send().await;
    let state: serde_json::Value = match r {
        Ok(r) => r.json().await.unwrap_or_default(),
        Err(e) => panic!("{e}"),
    };
    assert_eq!(state["active"].as_array().map(Vec::len), Some(1), "{state}");
    let r = get("/metrics").await.map(|r| r.status().as_u16());
    assert_eq!(r.ok(), Some(200));
    let r = c.delete(format!("{base}/admin/fault/bogus")).send().await;
    assert_eq!(r.map(|r| r.status().as_u16()).ok(), Some(400));
    let r = c.delete(format!("{base}/admin/fault")).send().await;
    let state: serde_json::Value = match r {
        Ok(r) => r.json().await.unwrap_or_default(),
        Err(e) => panic!("{e}"),
    };
    assert_eq!(state["active"], json!([]));
    assert_eq!(state["history"].as_array().map(Vec::len), Some(4));

    let _ = tx.send(());
    let stopped = tokio::time::timeout(Duration::from_secs(5), server).await;
    assert!(matches!(stopped, Ok(Ok(Ok(())))), "{stopped:?}");
}
