//! Live tests of the built-in components through a real stack: Prometheus scraping two demo
//! workloads, a fault measured through Prometheus, exemplars, and Alertmanager notifying the
//! webhook sink.

mod support;

use std::time::{Duration, Instant};

use serde_json::Value;
use support::{setup_with, text, url_of};

const PROM_YML: &str = "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: demo\n    static_configs:\n      - targets: [\"demo-1:8080\", \"demo-2:8080\"]\nalerting:\n  alertmanagers:\n    - static_configs:\n        - targets: [\"alertmanager:9093\"]\n";
const AM_YML: &str = "route:\n  receiver: default\n  group_by: [alertname, team]\n  group_wait: 1s\n  group_interval: 5s\nreceivers:\n  - name: default\n    webhook_configs:\n      - url: http://sink:9099/hook/default\n";
const EXEMPLAR_PROM: &str = "services:\n  prometheus:\n    image: prometheus\n    command: [--config.file=/etc/prometheus/prometheus.yml, --storage.tsdb.path=/prometheus, --web.enable-lifecycle, --enable-feature=exemplar-storage]\n    ports: [\"127.0.0.1:9090:9090\"]\n    volumes: [\"./prometheus:/etc/prometheus:ro\"]\n    x-promlab: {port: 9090, ready: /-/ready, reload: /-/reload, role: prometheus}\n";

async fn query(client: &reqwest::Client, prom: &str, q: &str) -> Option<f64> {
    let v: Value = client
        .get(format!("{prom}/api/v1/query"))
        .query(&[("query", q)])
        .send()
        .await
        .ok()?
        .json()
        .await
        .ok()?;
    v.pointer("/data/result/0/value/1")?.as_str()?.parse().ok()
}

/// Polls until `pred` holds for the query's value, or panics after `deadline`.
async fn poll(
    client: &reqwest::Client,
    prom: &str,
    q: &str,
    deadline: Duration,
    pred: impl Fn(f64) -> bool,
) -> f64 {
    let start = Instant::now();
    let mut last = None;
    while start.elapsed() < deadline {
        last = query(client, prom, q).await;
        if let Some(v) = last
            && pred(v)
        {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    panic!("`{q}` never satisfied the condition within {deadline:?}; last value {last:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "live: needs Docker and the built images (make test)"]
async fn demo_faults_exemplars_and_sink_through_a_real_stack() {
    let env = setup_with(&[(
        "25.4",
        "Vendor and Platform Selection",
        "alerting",
        EXEMPLAR_PROM,
        &[
            ("starter/prometheus/prometheus.yml", PROM_YML),
            ("starter/alertmanager/alertmanager.yml", AM_YML),
        ],
    )]);
    let up = env.run(&["up", "25.4"]);
    let out = text(&up);
    assert!(up.status.success(), "{out}");
    let prom = url_of(&out, "prometheus");
    let am = url_of(&out, "alertmanager");
    let sink = url_of(&out, "sink");
    let client = promlab::http::client(Duration::from_secs(5));

    // Traffic flows and is scraped.
    poll(
        &client,
        &prom,
        "sum(rate(demo_http_requests_total[5s]))",
        Duration::from_secs(30),
        |v| v > 0.0,
    )
    .await;

    // errors at rate 0.5 on demo-1: its 5xx share reaches ≈0.5 while demo-2 stays at 0.
    let f = env.run(&["fault", "demo-1", "errors", "--rate", "0.5", "--lab", "25.4"]);
    assert!(f.status.success(), "{}", text(&f));
    let ratio = |inst: &str| {
        format!(
            "sum(rate(demo_http_requests_total{{instance=\"{inst}:8080\",code=~\"5..\"}}[20s])) / sum(rate(demo_http_requests_total{{instance=\"{inst}:8080\"}}[20s]))"
        )
    };
    tokio::time::sleep(Duration::from_secs(21)).await;
    let r1 = poll(&client, &prom, &ratio("demo-1"), Duration::from_secs(30), |v| {
        (0.35..=0.65).contains(&v)
    })
    .await;
    let r2 = query(&client, &prom, &ratio("demo-2")).await.unwrap_or(f64::NAN);
    assert_eq!(r2, 0.0, "demo-2 must stay error-free while demo-1 fails ({r1})");
    let cleared = env.run(&["fault", "clear", "--lab", "25.4"]);
    assert!(cleared.status.success(), "{}", text(&cleared));

    // Exemplars (trace_id) reach Prometheus through OpenMetrics scrapes.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let v: Value = client
        .get(format!("{prom}/api/v1/query_exemplars"))
        .query(&[
            ("query", "demo_http_requests_total"),
            ("start", &format!("{}", now - 120.0)),
            ("end", &format!("{now}")),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ex = v
        .pointer("/data/0/exemplars/0/labels/trace_id")
        .and_then(Value::as_str)
        .unwrap_or("");
    assert_eq!(ex.len(), 32, "no trace_id exemplar in {v}");

    // Alertmanager routes a posted alert to the sink, with receiver and group labels.
    let posted = client
        .post(format!("{am}/api/v2/alerts"))
        .json(&serde_json::json!([{"labels": {"alertname": "SinkTest", "team": "db"}}]))
        .send()
        .await
        .unwrap();
    assert!(posted.status().is_success());
    let start = Instant::now();
    let got = loop {
        let v: Value = client
            .get(format!("{sink}/api/notifications?hook=default"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let hit = v.as_array().and_then(|a| {
            a.iter()
                .find(|n| {
                    n.pointer("/payload/groupLabels/alertname")
                        .and_then(Value::as_str)
                        == Some("SinkTest")
                })
                .cloned()
        });
        if let Some(n) = hit {
            break n;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the sink never got SinkTest: {v}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    assert_eq!(got["payload"]["receiver"], "default");
    assert_eq!(got["payload"]["groupLabels"]["team"], "db");
    assert_eq!(got["payload"]["status"], "firing");

    let down = env.run(&["down", "25.4"]);
    assert!(down.status.success(), "{}", text(&down));
    assert!(support::leftovers("promlab-25-4").is_empty());
}
