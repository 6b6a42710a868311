//! Every check kind, proven live against the real stack (Prometheus, Alertmanager,
//! promtool/amtool, node-exporter, the demo workload, the webhook sink): for each kind one
//! check that must pass and one near-miss that must fail, the near-miss mirroring a
//! plausible learner mistake.
//!
//! One fixture lab (stack `alerting`) holds both a right and a wrong variant of each thing
//! in its workspace; its checks come in pairs `<kind>[-aspect]-pass` / `<kind>[-aspect]-miss`.
//! A second test proves that a broken prometheus.yml blocks every check, the first failure
//! quoting Prometheus' own reload error.
//!
//! Scenarios come first in the manifest: they run alone (each holds the grader's exclusive
//! lock), so every other check starts after them, when the stack has had time to scrape and
//! fire. Their `within` counts from `up` (not from their start), and they wait side by side:
//! the check run lasts about the longest `within` (75s, the alert pairs).

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime};

// Every kind the grader knows: a kind added later must get its pair here too.
use promlab::lab::spec::KIND_KEYS as KINDS;
use support::{Env, Fixture, http_get, leftovers, setup_with, text, url_of};

/// Runs `promlab down` for a lab when dropped, so a failing assertion never leaves a stack.
struct Down<'a> {
    env: &'a Env,
    lab: &'a str,
    done: bool,
}

impl Drop for Down<'_> {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let out = self.env.run(&["down", self.lab]);
        if !out.status.success() {
            eprintln!("down {} failed: {}", self.lab, text(&out));
        }
    }
}

/// `promlab up`, with a guard that takes the lab down again.
fn up<'a>(env: &'a Env, lab: &'a str) -> (Down<'a>, String) {
    let guard = Down {
        env,
        lab,
        done: false,
    };
    let out = env.run(&["up", lab]);
    assert!(out.status.success(), "up {lab} failed: {}", text(&out));
    (guard, text(&out))
}

/// `promlab check --json`: the exit code and the parsed report.
fn check(env: &Env, lab: &str) -> (Option<i32>, serde_json::Value) {
    let out = env.run(&["check", lab, "--json"]);
    let report = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("check {lab} printed no JSON report ({e}): {}", text(&out)));
    (out.status.code(), report)
}

/// Takes a lab down and proves nothing of it is left.
fn down_clean(mut guard: Down<'_>) {
    guard.done = true;
    let (env, lab) = (guard.env, guard.lab);
    let out = env.run(&["down", lab]);
    assert!(out.status.success(), "down {lab} failed: {}", text(&out));
    let project = format!("promlab-{}", lab.replace('.', "-"));
    assert_eq!(
        leftovers(&project),
        Vec::<String>::new(),
        "down left objects of {project}"
    );
}

/// A plain HTTP/1.0 POST without a body; returns the raw response.
fn http_post(base: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let addr = base.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "POST {path} HTTP/1.0\r\nHost: {addr}\r\nContent-Length: 0\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

/// The body of a raw HTTP response.
fn body(raw: &str) -> &str {
    raw.split_once("\r\n\r\n").map_or("", |(_, b)| b)
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

// ---------------------------------------------------------------------------------------
// The kinds lab (25.11).
// ---------------------------------------------------------------------------------------

const PROMETHEUS_YML: &str = r#"global:
  scrape_interval: 5s
  evaluation_interval: 5s

alerting:
  alertmanagers:
    - static_configs:
        - targets: ["alertmanager:9093"]

rule_files:
  - /etc/prometheus/rules/*.yml

scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: ["localhost:9090"]
  - job_name: node
    static_configs:
      - targets: ["node-exporter:9100"]
  # Near-miss (targets, file, alerts): inside the Prometheus container localhost is
  # Prometheus itself, so this target is down.
  - job_name: node-localhost
    static_configs:
      - targets: ["localhost:9100"]
  # Near-miss (status config): the production default interval, not the lab-sized 5s.
  - job_name: node-slow
    scrape_interval: 1m
    static_configs:
      - targets: ["node-exporter:9100"]
  - job_name: demo
    static_configs:
      - targets: ["demo-1:8080", "demo-2:8080", "demo-3:8080"]
"#;

const RULES_YML: &str = r#"groups:
  - name: kinds.alerts
    rules:
      # Right: a lab-sized for:, so it fires a few seconds after the target is down.
      - alert: GoodAlert
        expr: up{job="node-localhost"} == 0
        for: 20s
        labels:
          severity: page
        annotations:
          summary: "{{ $labels.instance }} is down"
      # Near-miss (rule for): no hold time, so one failed scrape pages someone.
      - alert: NearAlert
        expr: up{job="node-localhost"} == 0
        for: 0s
        labels:
          severity: page
        annotations:
          summary: "{{ $labels.instance }} is down"
      # Near-miss (alert state): a production-sized for:, still pending when graded.
      - alert: SlowAlert
        expr: up{job="node-localhost"} == 0
        for: 10m
        labels:
          severity: page
        annotations:
          summary: "{{ $labels.instance }} is down"
      # Near-miss (routing): severity spelled Page, which the page route does not match.
      - alert: MiscasedAlert
        expr: up{job="node-localhost"} == 0
        labels:
          severity: Page
        annotations:
          summary: "{{ $labels.instance }} is down"
  - name: kinds.records
    rules:
      # Right, spelled differently from the reference sum by (job) (rate(...[1m])).
      - record: job:demo_http_requests:rate1m
        expr: sum without (instance, code, method, route) (rate(demo_http_requests_total[1m]))
      # Near-miss (equivalent_to): the average of per-series means, not total time / requests.
      - record: job:demo_http_request_duration_seconds:mean1m
        expr: avg by (job) (rate(demo_http_request_duration_seconds_sum[1m]) / rate(demo_http_request_duration_seconds_count[1m]))
      # Right: the share of 5xx responses.
      - record: job:demo_http_errors:ratio_rate1m
        expr: sum by (job) (rate(demo_http_requests_total{code=~"5.."}[1m])) / sum by (job) (rate(demo_http_requests_total[1m]))
      # Near-miss (scenario): the 5xx rate per second, not a share (both are 0 without a fault).
      - record: job:demo_http_errors:rate1m
        expr: sum by (job) (rate(demo_http_requests_total{code=~"5.."}[1m]))
"#;

/// Not loaded by Prometheus (outside rules/): promtool must reject it.
const BROKEN_RULES_YML: &str = r#"# Near-miss (exec): a duration needs a unit (20s), promtool rejects a bare 20.
groups:
  - name: kinds.broken
    rules:
      - alert: GoodAlert
        expr: up{job="node-localhost"} == 0
        for: 20
"#;

const ALERTMANAGER_YML: &str = r#"route:
  receiver: default
  group_by: [alertname]
  group_wait: 2s
  group_interval: 5s
  repeat_interval: 10s
  routes:
    # Near-miss (notification, status am_config): '...' groups by every label, so each
    # alert arrives alone.
    - matchers: ['team="split"']
      receiver: team-split
      group_by: ['...']
    - matchers: ['severity="page"']
      receiver: team-pager

receivers:
  - name: default
    webhook_configs:
      - url: http://sink:9099/hook/default
  - name: team-pager
    webhook_configs:
      - url: http://sink:9099/hook/team-pager
  - name: team-split
    webhook_configs:
      - url: http://sink:9099/hook/team-split
"#;

/// Not loaded by Alertmanager (only alertmanager.yml is): amtool must reject it.
const BROKEN_ALERTMANAGER_YML: &str = r#"# Near-miss (exec amtool, file): the route names a receiver that is not defined.
route:
  receiver: pager
  group_by: [alertname]
receivers:
  - name: team-pager
    webhook_configs:
      - url: http://sink:9099/hook/team-pager
"#;

const GOOD_QUERY: &str = "# Requests per second per job (spelled differently from the reference).\nsum(rate(demo_http_requests_total{job=\"demo\"}[1m])) by (job)\n";
const SUM_DROPS_JOB_QUERY: &str =
    "# Near-miss: sum without by () drops the job label.\nsum(rate(demo_http_requests_total[1m]))\n";
const IRATE_QUERY: &str = "# Near-miss: irate looks at the last two samples only.\nsum by (job) (irate(demo_http_requests_total[1m]))\n";

/// A provisioned RED dashboard (Grafana's JSON model): three panels in a row, a `job`
/// variable, Grafana's `$__rate_interval`.
const DASHBOARD_JSON: &str = r#"{
  "uid": "demo-red", "title": "Demo RED",
  "templating": {"list": [
    {"name": "datasource", "type": "datasource", "query": "prometheus"},
    {"name": "job", "type": "query", "current": {"text": "demo", "value": "demo"}}
  ]},
  "panels": [
    {"type": "row", "title": "Service", "panels": [
      {"type": "timeseries", "title": "Request rate", "description": "Requests per second",
       "datasource": {"type": "prometheus", "uid": "${datasource}"},
       "fieldConfig": {"defaults": {"unit": "reqps"}},
       "targets": [{"refId": "A", "expr": "sum by (job) (rate(demo_http_requests_total{job=\"$job\"}[$__rate_interval]))"}]},
      {"type": "timeseries", "title": "Error ratio", "description": "Share of 5xx answers",
       "datasource": {"type": "prometheus", "uid": "${datasource}"},
       "fieldConfig": {"defaults": {"unit": "percentunit"}},
       "targets": [{"refId": "A", "expr": "sum(rate(demo_http_requests_total{job=\"$job\", code=~\"5..\"}[$__rate_interval])) / sum(rate(demo_http_requests_total{job=\"$job\"}[$__rate_interval]))"}]},
      {"type": "stat", "title": "p95 latency", "description": "95th percentile",
       "datasource": {"type": "prometheus", "uid": "${datasource}"},
       "fieldConfig": {"defaults": {"unit": "s"}},
       "targets": [{"refId": "A", "expr": "histogram_quantile(0.95, sum by (le) (rate(demo_http_request_duration_seconds_bucket{job=\"$job\"}[$__rate_interval])))"}]}
    ]}
  ]
}
"#;

/// The manifest; `@STARTS@`/`@ENDS@` become the silences' times (Alertmanager needs them).
const KINDS_LAB: &str = r#"format_version: 1
id: "25.11"
title: Regulatory and Compliance Strategy
summary: Every check kind, once right and once a near-miss.
stack: alerting
services:
  # Near-miss (container): an exporter run as root.
  exporter-as-root:
    image: node-exporter
    command: [--web.listen-address=:9100]
    user: "0"
    ports: ["127.0.0.1:9101:9100"]
    x-promlab: {port: 9100, ready: /metrics, role: exporter, root_reason: "the container check's near-miss: a service run as root"}
  # tls: an exporter serving TLS 1.3 only, with a certificate from the test's own CA.
  node-tls:
    image: node-exporter
    command: [--web.listen-address=:9100, --web.config.file=/etc/tls/web.yml]
    ports: ["127.0.0.1:9102:9100"]
    volumes: ["./tls:/etc/tls:ro"]
    x-promlab: {port: 9100, ready: /metrics, role: exporter}
starter_fails: [promql-miss]
hints: [h]
checks:
  # ---- scenarios first: they run alone, before everything else ----
  - id: notification-pass
    title: Two posted page alerts arrive at team-pager as one grouped notification
    hint: h
    scenario:
      steps:
        - post_alerts:
            alerts:
              - {labels: {alertname: PostedPair, severity: page, instance: a}}
              - {labels: {alertname: PostedPair, severity: page, instance: b}}
        - check:
            id: pair-notified
            title: /hook/team-pager gets one notification holding both alerts
            hint: h
            within: 20s
            notification:
              hook: team-pager
              alertname: PostedPair
              status: firing
              since_check_start: true
              expect: {count: {ge: 1}, alerts: 2, receiver: team-pager, group_labels: {alertname: PostedPair}}
  - id: notification-miss
    title: Two posted team=split alerts arrive as one grouped notification (the route groups by '...')
    hint: h
    scenario:
      steps:
        - post_alerts:
            alerts:
              - {labels: {alertname: PostedSplit, team: split, instance: a}}
              - {labels: {alertname: PostedSplit, team: split, instance: b}}
        - check:
            id: split-notified
            title: /hook/team-split gets one notification holding both alerts
            hint: h
            within: 10s
            notification:
              hook: team-split
              alertname: PostedSplit
              status: firing
              since_check_start: true
              expect: {count: {ge: 1}, alerts: 2, receiver: team-split}
  - id: scenario-pass
    title: With 50% errors on demo-2, the ratio rule equals 5xx / all requests per job
    hint: h
    scenario:
      steps:
        - record: {name: served, promql: 'sum(demo_http_requests_total{instance="demo-2:8080"})'}
        - fault: {service: demo-2, kind: errors, rate: 0.5}
        - check:
            id: errors-visible-1
            title: demo-2's 5xx responses show in Prometheus
            hint: h
            within: 40s
            promql:
              expr: 'sum(rate(demo_http_requests_total{instance="demo-2:8080", code=~"5.."}[1m]))'
              expect: {series: 1, value: {gt: 0}}
        - check:
            id: state-rendered
            title: demo-2 served requests since the recorded baseline, within the time since the fault
            hint: h
            within: 20s
            promql:
              expr: '(sum(demo_http_requests_total{instance="demo-2:8080"}) - {{ state.served }}) and on () (vector({{ since.fault }}) > 0)'
              expect: {series: 1, value: {gt: 0}}
        - check:
            id: ratio-right
            title: job:demo_http_errors:ratio_rate1m computes the share of 5xx responses
            hint: h
            within: 15s
            rule:
              select:
                name: 'job:demo_http_errors:ratio_rate1m'
                equivalent_to: {expr: 'sum by (job) (rate(demo_http_requests_total{code=~"5.."}[1m])) / sum by (job) (rate(demo_http_requests_total[1m]))', tolerance: {rel: 0.05}}
              expect: {count: 1}
      cleanup: [{clear_fault: all}]
  - id: scenario-miss
    title: With 50% errors on demo-2, the 5xx-rate rule equals 5xx / all requests per job
    hint: h
    scenario:
      steps:
        - fault: {service: demo-2, kind: errors, rate: 0.5}
        - check:
            id: errors-visible-2
            title: demo-2's 5xx responses show in Prometheus
            hint: h
            within: 40s
            promql:
              expr: 'sum(rate(demo_http_requests_total{instance="demo-2:8080", code=~"5.."}[1m]))'
              expect: {series: 1, value: {gt: 0}}
        - check:
            id: ratio-wrong
            title: job:demo_http_errors:rate1m computes the share of 5xx responses
            hint: h
            within: 10s
            rule:
              select:
                name: 'job:demo_http_errors:rate1m'
                equivalent_to: {expr: 'sum by (job) (rate(demo_http_requests_total{code=~"5.."}[1m])) / sum by (job) (rate(demo_http_requests_total[1m]))', tolerance: {rel: 0.05}}
              expect: {count: 1}
      cleanup: [{clear_fault: all}]

  # ---- promql ----
  - id: promql-pass
    title: queries/good.promql equals the reference per-job request rate
    hint: h
    within: 60s
    promql:
      expr_file: queries/good.promql
      ast: {require_functions: [rate], forbid_functions: [irate], require_aggregations: [sum], min_range: 1m}
      expect:
        equals_expr: {expr: 'sum by (job) (rate(demo_http_requests_total[1m]))', tolerance: {rel: 0.05}}
  - id: promql-miss
    title: queries/sum-drops-job.promql equals the reference per-job request rate
    hint: h
    within: 60s
    promql:
      expr_file: queries/sum-drops-job.promql
      expect:
        equals_expr: {expr: 'sum by (job) (rate(demo_http_requests_total[1m]))', tolerance: {rel: 0.05}}
  - id: promql-ast-miss
    title: queries/irate.promql has the required structure
    hint: h
    within: 60s
    promql:
      expr_file: queries/irate.promql
      ast: {require_functions: [rate], forbid_functions: [irate], require_aggregations: [sum], min_range: 1m}

  # ---- targets ----
  - id: targets-pass
    title: The node job scrapes node-exporter successfully
    hint: h
    within: 60s
    targets:
      pool: node
      expect: {active: 1, health: up, scrape_interval: 5s, last_error: ""}
  - id: targets-miss
    title: The node-localhost job scrapes node-exporter successfully
    hint: h
    within: 60s
    targets:
      pool: node-localhost
      expect: {active: 1, health: up}

  # ---- rule ----
  - id: rule-pass
    title: GoodAlert waits at least 20s before firing
    hint: h
    within: 30s
    rule:
      select: {name: GoodAlert, type: alerting}
      expect: {count: 1, health: ok, for: 20s, labels: {severity: page}, annotations: {summary: {contains: instance}}}
  - id: rule-miss
    title: NearAlert waits at least 20s before firing
    hint: h
    within: 30s
    rule:
      select: {name: NearAlert, type: alerting}
      expect: {count: 1, health: ok, for: {ge: 20}, labels: {severity: page}, annotations: {summary: {contains: instance}}}
  # `for` compares seconds: a duration text (20s above) and a number ({ge: 20}) both work.
  - id: rule-equiv-pass
    title: job:demo_http_requests:rate1m computes the per-job request rate
    hint: h
    within: 60s
    rule:
      select:
        name: 'job:demo_http_requests:rate1m'
        type: recording
        equivalent_to: {expr: 'sum by (job) (rate(demo_http_requests_total[1m]))', tolerance: {rel: 0.05}}
      expect: {count: 1, health: ok, ast: {forbid_functions: [irate]}}
  - id: rule-equiv-miss
    title: job:demo_http_request_duration_seconds:mean1m computes the per-job mean latency
    hint: h
    within: 60s
    rule:
      select:
        name: 'job:demo_http_request_duration_seconds:mean1m'
        type: recording
        equivalent_to: {expr: 'sum by (job) (rate(demo_http_request_duration_seconds_sum[1m])) / sum by (job) (rate(demo_http_request_duration_seconds_count[1m]))', tolerance: {rel: 0.05}}
      expect: {count: 1}

  # ---- alert ----
  - id: alert-prom-pass
    title: GoodAlert fires in Prometheus
    hint: h
    within: 75s
    alert:
      at: prometheus
      alertname: GoodAlert
      expect: {count: 1, state: firing, labels: {severity: page}, annotations: {summary: 'localhost:9100 is down'}}
  - id: alert-prom-miss
    title: SlowAlert fires in Prometheus
    hint: h
    within: 75s
    alert:
      at: prometheus
      alertname: SlowAlert
      expect: {count: 1, state: firing}
  - id: alert-prom-label-miss
    title: MiscasedAlert fires with severity=page
    hint: h
    within: 75s
    alert:
      at: prometheus
      alertname: MiscasedAlert
      expect: {count: 1, labels: {severity: page}}
  - id: alert-am-pass
    title: GoodAlert reaches Alertmanager and is routed to team-pager
    hint: h
    within: 75s
    alert:
      at: alertmanager
      alertname: GoodAlert
      labels: {instance: 'localhost:9100'}
      expect: {count: 1, state: active, receivers: {set_equal: [team-pager]}, inhibited: false, silenced: false}
  - id: alert-am-miss
    title: MiscasedAlert reaches Alertmanager and is routed to team-pager
    hint: h
    within: 75s
    alert:
      at: alertmanager
      alertname: MiscasedAlert
      expect: {count: 1, receivers: {set_equal: [team-pager]}}

  # ---- http (creates the silences the silence checks read) ----
  - id: http-pass
    title: A silence for MiscasedAlert is created through Alertmanager's API v2
    hint: h
    http:
      service: alertmanager
      method: POST
      path: /api/v2/silences
      headers: {Content-Type: application/json}
      body: '{"matchers":[{"name":"alertname","value":"MiscasedAlert","isRegex":false,"isEqual":true}],"startsAt":"@STARTS@","endsAt":"@ENDS@","createdBy":"promlab-kinds","comment":"INC-42 mis-cased severity, fix pending"}'
      status: 200
      json: [{path: silenceID, expect: {exists: true}}]
  - id: http-miss
    title: A silence is created through the API v1 that old blog posts show
    hint: h
    http:
      service: alertmanager
      method: POST
      path: /api/v1/silences
      headers: {Content-Type: application/json}
      body: '{"matchers":[{"name":"alertname","value":"MiscasedAlert","isRegex":false}],"startsAt":"@STARTS@","endsAt":"@ENDS@","createdBy":"promlab-kinds","comment":"INC-44"}'
      status: 200
  - id: silence-setup
    title: "Setup: a db-maintenance silence whose alertname matcher is the regex .*"
    hint: h
    http:
      service: alertmanager
      method: POST
      path: /api/v2/silences
      headers: {Content-Type: application/json}
      body: '{"matchers":[{"name":"alertname","value":".*","isRegex":true,"isEqual":true},{"name":"team","value":"db","isRegex":false,"isEqual":true}],"startsAt":"@STARTS@","endsAt":"@ENDS@","createdBy":"promlab-kinds","comment":"INC-43 db maintenance"}'
      status: 200

  # ---- silence ----
  - id: silence-pass
    title: The MiscasedAlert silence names a ticket, lasts at most 2h and matches narrowly
    hint: h
    requires: [http-pass]
    within: 10s
    silence:
      matcher_name: alertname
      matcher_value: MiscasedAlert
      expect: {count: 1, comment: {regex: 'INC-[0-9]+'}, created_by: promlab-kinds, duration: {le: 7200}, no_broad_matchers: true}
  - id: silence-miss
    title: The db-maintenance silence names a ticket, lasts at most 2h and matches narrowly
    hint: h
    requires: [silence-setup]
    within: 10s
    silence:
      matcher_name: team
      matcher_value: db
      expect: {count: 1, comment: {regex: 'INC-[0-9]+'}, duration: {le: 7200}, no_broad_matchers: true}

  # ---- status ----
  - id: status-config-pass
    title: Prometheus loaded a 5s node job and sends alerts to alertmanager:9093
    hint: h
    status:
      endpoint: config
      expect:
        - {path: global.scrape_interval, expect: 5s}
        - {path: "scrape_configs[?job_name=='node'] | [0].scrape_interval", expect: 5s, what: the node job's scrape_interval}
        - {path: "alerting.alertmanagers[0].static_configs[0].targets", expect: {contains: 'alertmanager:9093'}}
  - id: status-config-miss
    title: Prometheus loaded the node-slow job with a lab-sized 5s interval
    hint: h
    status:
      endpoint: config
      expect:
        - {path: "scrape_configs[?job_name=='node-slow'] | [0].scrape_interval", expect: 5s, what: the node-slow job's scrape_interval}
  - id: status-flags-pass
    title: Prometheus runs with the lifecycle API enabled
    hint: h
    status:
      endpoint: flags
      expect: [{path: '"web.enable-lifecycle"', expect: "true"}]
  - id: status-flags-miss
    title: Prometheus runs with the admin API enabled (to delete series)
    hint: h
    status:
      endpoint: flags
      expect: [{path: '"web.enable-admin-api"', expect: "true"}]
  - id: status-am-pass
    title: Alertmanager loaded lab-sized timers and a team-pager route
    hint: h
    status:
      server: alertmanager
      endpoint: am_config
      expect:
        - {path: route.group_wait, expect: 2s}
        - {path: route.group_interval, expect: 5s}
        - {path: route.repeat_interval, expect: 10s}
        - {path: "length(route.routes[?receiver=='team-pager'])", expect: 1, what: routes to team-pager}
  - id: status-am-miss
    title: Alertmanager's team-split route groups by alertname
    hint: h
    status:
      server: alertmanager
      endpoint: am_config
      expect:
        - {path: "route.routes[?receiver=='team-split'] | [0].group_by", expect: {set_equal: [alertname]}, what: the group_by of the team-split route}

  # ---- exposition ----
  - id: exposition-pass
    title: node-exporter exposes its build info
    hint: h
    exposition:
      service: node-exporter
      samples: [{metric: node_exporter_build_info, value: 1}]
      families: {superset_of: [node_exporter_build_info, go_goroutines]}
  - id: exposition-miss
    title: node-exporter exposes up
    hint: h
    exposition:
      service: node-exporter
      families: {superset_of: [up]}

  # ---- file ----
  - id: file-pass
    title: alertmanager/alertmanager.yml routes to a receiver it defines
    hint: h
    file:
      path: alertmanager/alertmanager.yml
      exists: true
      changed_from_starter: false
      yaml:
        - {path: 'contains(receivers[*].name, route.receiver)', expect: true}
        - {path: route.group_wait, expect: 2s}
  - id: file-miss
    title: alertmanager/broken.yml routes to a receiver it defines
    hint: h
    file:
      path: alertmanager/broken.yml
      yaml:
        - {path: 'contains(receivers[*].name, route.receiver)', expect: true}

  # ---- exec ----
  - id: exec-pass
    title: promtool accepts prometheus/rules/kinds.yml
    hint: h
    within: 30s
    exec:
      service: prometheus
      cmd: [promtool, check, rules, /etc/prometheus/rules/kinds.yml]
      exit_code: 0
      stdout: {contains: SUCCESS}
  - id: exec-miss
    title: promtool accepts prometheus/broken/kinds.yml
    hint: h
    within: 30s
    exec:
      service: prometheus
      cmd: [promtool, check, rules, /etc/prometheus/broken/kinds.yml]
      exit_code: 0
      stdout: {contains: SUCCESS}
  - id: exec-amtool-pass
    title: amtool accepts alertmanager/alertmanager.yml
    hint: h
    within: 30s
    exec:
      service: alertmanager
      cmd: [amtool, check-config, /etc/alertmanager/alertmanager.yml]
      exit_code: 0
  - id: exec-amtool-miss
    title: amtool accepts alertmanager/broken.yml
    hint: h
    within: 30s
    exec:
      service: alertmanager
      cmd: [amtool, check-config, /etc/alertmanager/broken.yml]
      exit_code: 0

  # ---- answer ----
  - id: answer-pass
    title: answers.yaml gives the number of series of the node job
    hint: h
    within: 60s
    answer:
      key: node_series
      truth: {promql: 'count({job="node"})'}
      tolerance: {rel: 0.05}
  - id: answer-miss
    title: answers.yaml gives the number of series of the node job (counted as metric names)
    hint: h
    within: 60s
    answer:
      key: node_series_by_names
      truth: {promql: 'count({job="node"})'}
      tolerance: {rel: 0.05}

  # ---- container ----
  - id: container-pass
    title: Prometheus runs unprivileged, as a non-root user, with the lifecycle API
    hint: h
    container: {service: prometheus, running: true, user: {not_in: ['', '0', root]}, privileged: false, cmd: {contains: --web.enable-lifecycle}}
  - id: container-miss
    title: exporter-as-root runs as a non-root user
    hint: h
    container: {service: exporter-as-root, running: true, user: {not_in: ['', '0', root]}, privileged: false}

  # ---- tls ----
  - id: tls-pass
    title: node-tls serves TLS 1.3 only, with a certificate from the lab CA for node-tls and localhost
    hint: h
    within: 10s
    tls:
      service: node-tls
      expect:
        handshake: ok
        verifies_with: tls/ca.crt
        san: {superset_of: [node-tls, localhost]}
        expires_in_days: {between: [360, 366]}
        issuer: {contains: kinds test CA}
        accepts: [TLS1.3]
        rejects: [TLS1.2]
        client_auth_required: false
  - id: tls-miss
    title: "Near-miss: node-tls's chain verifies with another CA"
    hint: h
    tls: {service: node-tls, expect: {verifies_with: tls/other-ca.crt}}
  - id: tls-name-miss
    title: "Near-miss: node-tls's certificate is valid for the name node-exporter"
    hint: h
    tls: {service: node-tls, server_name: node-exporter, expect: {verifies_with: tls/ca.crt}}
  - id: tls-version-miss
    title: "Near-miss: node-tls accepts TLS 1.2"
    hint: h
    tls: {service: node-tls, expect: {accepts: [TLS1.2]}}
  - id: tls-mtls-miss
    title: "Near-miss: node-tls requires a client certificate"
    hint: h
    tls: {service: node-tls, expect: {client_auth_required: true}}

  # ---- dashboard (a provisioned file; its queries run against the live Prometheus) ----
  - id: dashboard-pass
    title: The RED dashboard has its panels, units and variables, and every query returns data
    hint: h
    within: 20s
    dashboard:
      file: dashboards/red.json
      expect:
        title: Demo RED
        panels: {ge: 3}
        panel_types: {superset_of: [timeseries, stat]}
        units: {"Request rate": reqps, "Error ratio": percentunit, "p95 latency": s}
        variables: {superset_of: [datasource, job]}
        every_panel: {description: {ne: ""}, datasource: {regex: '^\$\{?datasource'}}
        every_target: {non_empty: true, rate_interval: true, returns_data: true, ast: {forbid_functions: [irate]}}
  - id: dashboard-miss
    title: "Near-miss: every query of the dashboard returns data for job node-exporter's demo"
    hint: h
    dashboard:
      file: dashboards/red-wrong-job.json
      expect: {every_target: {returns_data: true}}
  - id: dashboard-unit-miss
    title: "Near-miss: the error ratio is shown in percent (0-100)"
    hint: h
    dashboard:
      file: dashboards/red.json
      expect: {units: {"Error ratio": percent}}
  - id: dashboard-range-miss
    title: "Near-miss: the fixed-5m copy of the dashboard uses $__rate_interval"
    hint: h
    dashboard:
      file: dashboards/red-5m.json
      expect: {every_target: {rate_interval: true}}
"#;

/// Every check id of the kinds lab, in manifest order, with what a near-miss must say
/// (in its expected, observed or detail) so it fails for its stated reason.
const KINDS_EXPECTED: &[(&str, &str)] = &[
    ("notification-pass", ""),
    ("notification-miss", "check group_by"),
    ("scenario-pass", ""),
    ("scenario-miss", "is not equivalent to the reference"),
    ("promql-pass", ""),
    ("promql-miss", "unexpected series"),
    ("promql-ast-miss", "it uses irate"),
    ("targets-pass", ""),
    ("targets-miss", "connection refused"),
    ("rule-pass", ""),
    ("rule-miss", "NearAlert: for"),
    ("rule-equiv-pass", ""),
    ("rule-equiv-miss", "is not equivalent to the reference"),
    ("alert-prom-pass", ""),
    (
        "alert-prom-miss",
        "cannot pass within 75s of your last change: the rule holds a new SlowAlert pending for `for: 10m`",
    ),
    (
        "alert-prom-label-miss",
        "every loaded rule named MiscasedAlert sets the label severity=\"Page\"",
    ),
    ("alert-am-pass", ""),
    ("alert-am-miss", "receivers [\"default\"]"),
    ("http-pass", ""),
    ("http-miss", "status 410"),
    ("silence-setup", ""),
    ("silence-pass", ""),
    ("silence-miss", "matches everything"),
    ("status-config-pass", ""),
    ("status-config-miss", "\"1m\""),
    ("status-flags-pass", ""),
    ("status-flags-miss", "\"false\""),
    ("status-am-pass", ""),
    ("status-am-miss", "[\"...\"]"),
    ("exposition-pass", ""),
    ("exposition-miss", "metric families"),
    ("file-pass", ""),
    ("file-miss", "route.receiver): false"),
    ("exec-pass", ""),
    ("exec-miss", "not a valid duration string"),
    ("exec-amtool-pass", ""),
    ("exec-amtool-miss", "undefined receiver \"pager\""),
    ("answer-pass", ""),
    ("answer-miss", "is off by"),
    ("container-pass", ""),
    ("container-miss", "user is \"0\""),
    ("tls-pass", ""),
    ("tls-miss", "does not lead to the CA in tls/other-ca.crt"),
    ("tls-name-miss", "not valid for `node-exporter`"),
    ("tls-version-miss", "TLS1.2 refused"),
    ("tls-mtls-miss", "client_auth_type does not require a certificate"),
    ("dashboard-pass", ""),
    ("dashboard-miss", "panel \"Request rate\" target A returns data"),
    ("dashboard-unit-miss", "panel \"Error ratio\" unit"),
    ("dashboard-range-miss", "[5m] in"),
];

/// Certificates for `node-tls`, made fresh: the lab CA, a server certificate it issued
/// (node-tls, localhost; one year), and an unrelated CA. Returns (path, PEM) pairs.
fn tls_files() -> Vec<(&'static str, String)> {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
    let ca = |cn: &str| {
        let key = KeyPair::generate().unwrap();
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.distinguished_name.push(DnType::CommonName, cn);
        let cert = p.self_signed(&key).unwrap();
        (cert, key)
    };
    let (ca_cert, ca_key) = ca("kinds test CA");
    let (other, _) = ca("another CA");
    let key = KeyPair::generate().unwrap();
    let mut p = CertificateParams::new(vec!["node-tls".to_string(), "localhost".to_string()]).unwrap();
    p.distinguished_name.push(DnType::CommonName, "node-tls");
    p.not_before = rcgen::date_time_ymd(2020, 1, 1);
    p.not_after = time::OffsetDateTime::now_utc() + time::Duration::days(365);
    let cert = p.signed_by(&key, &ca_cert, &ca_key).unwrap();
    vec![
        ("starter/tls/ca.crt", ca_cert.pem()),
        ("starter/tls/other-ca.crt", other.pem()),
        ("starter/tls/node-tls.crt", cert.pem()),
        ("starter/tls/node-tls.key", key.serialize_pem()),
        (
            "starter/tls/web.yml",
            "tls_server_config:\n  cert_file: node-tls.crt\n  key_file: node-tls.key\n  min_version: TLS13\n"
                .to_string(),
        ),
    ]
}

fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

/// The node job's series, counted the way a learner reading node-exporter's page would:
/// one per sample line, plus the five Prometheus writes per target (`up`, …). Also the
/// number of metric names (`# TYPE` lines): the near-miss answer.
fn node_counts(node_exporter: &str) -> (usize, usize) {
    let raw = http_get(node_exporter, "/metrics");
    assert!(
        raw.starts_with("HTTP/1.0 200") || raw.starts_with("HTTP/1.1 200"),
        "{raw:.200}"
    );
    let page = body(&raw);
    let samples = page
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .count();
    let names = page.lines().filter(|l| l.starts_with("# TYPE ")).count();
    assert!(samples > names && names > 10, "an odd metrics page: {page:.300}");
    (samples + 5, names)
}

#[test]
#[ignore = "live: needs Docker and the built images (make test)"]
fn every_check_kind_passes_when_right_and_fails_on_its_near_miss() {
    let t0 = Instant::now();
    let now = SystemTime::now();
    let manifest = KINDS_LAB
        .replace("@STARTS@", &rfc3339(now))
        .replace("@ENDS@", &rfc3339(now + Duration::from_secs(3600)));
    let files: &[(&str, &str)] = &[
        ("lab.yaml", &manifest),
        ("starter/prometheus/prometheus.yml", PROMETHEUS_YML),
        ("starter/prometheus/rules/kinds.yml", RULES_YML),
        ("starter/prometheus/broken/kinds.yml", BROKEN_RULES_YML),
        ("starter/alertmanager/alertmanager.yml", ALERTMANAGER_YML),
        ("starter/alertmanager/broken.yml", BROKEN_ALERTMANAGER_YML),
        ("starter/queries/good.promql", GOOD_QUERY),
        ("starter/queries/sum-drops-job.promql", SUM_DROPS_JOB_QUERY),
        ("starter/queries/irate.promql", IRATE_QUERY),
        ("solution/prometheus/prometheus.yml", PROMETHEUS_YML),
    ];
    let wrong_job = DASHBOARD_JSON.replace("\"value\": \"demo\"", "\"value\": \"node\"");
    assert_ne!(wrong_job, DASHBOARD_JSON);
    // Generated files: fresh certificates, the dashboards.
    let mut generated = tls_files();
    generated.push(("starter/dashboards/red.json", DASHBOARD_JSON.to_string()));
    generated.push(("starter/dashboards/red-wrong-job.json", wrong_job));
    let fixed = DASHBOARD_JSON.replace("[$__rate_interval]", "[5m]");
    generated.push(("starter/dashboards/red-5m.json", fixed));
    let files: Vec<(&str, &str)> = files
        .iter()
        .copied()
        .chain(generated.iter().map(|(p, c)| (*p, c.as_str())))
        .collect();
    let fixture: Fixture<'_> = (
        "25.11",
        "Regulatory and Compliance Strategy",
        "alerting",
        "",
        &files,
    );
    let env = setup_with(&[fixture]);
    // Lab 1.1's answers are not this lab's: the test writes answers.yaml from the live stack.
    let lab_dir = env.root.path().join("labs/25-cto/25.11-fixture");
    std::fs::remove_file(lab_dir.join("starter/answers.yaml")).unwrap();

    let (guard, up_out) = up(&env, "25.11");
    let t_up = t0.elapsed();
    let (node_series, node_names) = node_counts(&url_of(&up_out, "node-exporter"));
    let answers = format!(
        "# Counted on node-exporter's page: sample lines + the 5 series Prometheus adds.\nnode_series: {node_series}\n# Near-miss: the number of metric names, not of series.\nnode_series_by_names: {node_names}\n"
    );
    std::fs::write(env.home.path().join("labs/25.11/answers.yaml"), answers).unwrap();

    let t_check = Instant::now();
    let (code, report) = check(&env, "25.11");
    let check_took = t_check.elapsed();
    down_clean(guard);

    let outcomes: BTreeMap<String, &serde_json::Value> = report["outcomes"]
        .as_array()
        .unwrap_or_else(|| panic!("no outcomes: {report:#}"))
        .iter()
        .map(|o| (o["id"].as_str().unwrap_or("").to_string(), o))
        .collect();
    let ids: Vec<&str> = report["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|o| o["id"].as_str())
        .collect();
    let want: Vec<&str> = KINDS_EXPECTED.iter().map(|(id, _)| *id).collect();
    assert_eq!(
        ids, want,
        "the report lists every check in manifest order: {report:#}"
    );
    let mut wrong = Vec::new();
    for (id, reason) in KINDS_EXPECTED {
        let o = outcomes[*id];
        let status = o["status"].as_str().unwrap_or("");
        let must = if id.ends_with("-miss") { "fail" } else { "pass" };
        if status != must {
            wrong.push(format!("{id}: {status}, must {must}"));
            continue;
        }
        if !reason.is_empty() {
            let detail: Vec<&str> = o["detail"]
                .as_array()
                .map(|d| d.iter().filter_map(|l| l.as_str()).collect())
                .unwrap_or_default();
            let said = format!(
                "{} | {} | {}",
                o["expected"].as_str().unwrap_or(""),
                o["observed"].as_str().unwrap_or(""),
                detail.join(" | ")
            );
            if !said.contains(reason) {
                wrong.push(format!("{id}: fails, but not because of `{reason}`: {said}"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "wrong verdicts:\n  {}\nfull report: {report:#}",
        wrong.join("\n  ")
    );
    for kind in KINDS {
        for side in ["-pass", "-miss"] {
            assert!(
                want.iter().any(|id| id.starts_with(kind) && id.ends_with(side)),
                "kind {kind} has no {side} check"
            );
        }
    }
    assert_eq!(code, Some(1), "near-misses fail, so check exits 1: {report:#}");
    eprintln!(
        "kinds: up {:.0}s, check {:.0}s, total {:.0}s",
        t_up.as_secs_f64(),
        check_took.as_secs_f64(),
        t0.elapsed().as_secs_f64()
    );
}

// ---------------------------------------------------------------------------------------
// A broken prometheus.yml (25.12).
// ---------------------------------------------------------------------------------------

const GOOD_CONFIG: &str = "global:\n  scrape_interval: 5s\n  evaluation_interval: 5s\nscrape_configs:\n  - job_name: prometheus\n    static_configs:\n      - targets: [\"localhost:9090\"]\n  - job_name: node\n    static_configs:\n      - targets: [\"node-exporter:9100\"]\n";

/// A YAML error: the last line is indented by three spaces, between the list item and its keys.
const BROKEN_CONFIG: &str = "global:\n  scrape_interval: 5s\n  evaluation_interval: 5s\nscrape_configs:\n  - job_name: prometheus\n    static_configs:\n      - targets: [\"localhost:9090\"]\n  - job_name: node\n    static_configs:\n      - targets: [\"node-exporter:9100\"]\n   scrape_timeout: 5s\n";

/// Checks that all pass on the running (good) configuration.
const BROKEN_LAB: &str = r#"format_version: 1
id: "25.12"
title: Talent Acquisition and Retention
summary: A broken prometheus.yml blocks every check.
stack: base
starter_fails: [node-target-up]
hints: [h]
checks:
  - id: node-target-up
    title: The node job is up
    hint: h
    within: 20s
    targets: {pool: node, expect: {active: 1, health: up}}
  - id: config-file-present
    title: prometheus/prometheus.yml exists
    hint: h
    file: {path: prometheus/prometheus.yml, exists: true}
  - id: prometheus-ready
    title: Prometheus answers /-/ready
    hint: h
    within: 10s
    http: {service: prometheus, path: /-/ready, status: 200}
  - id: promtool-runs
    title: promtool runs in the Prometheus container
    hint: h
    exec: {service: prometheus, cmd: [promtool, --version], exit_code: 0}
"#;

#[test]
#[ignore = "live: needs Docker and the built images (make test)"]
fn a_broken_prometheus_yml_blocks_every_check_and_quotes_prometheus() {
    let files: &[(&str, &str)] = &[
        ("lab.yaml", BROKEN_LAB),
        ("starter/prometheus/prometheus.yml", GOOD_CONFIG),
        ("solution/prometheus/prometheus.yml", GOOD_CONFIG),
    ];
    let fixture: Fixture<'_> = ("25.12", "Talent Acquisition and Retention", "base", "", files);
    let env = setup_with(&[fixture]);
    let (guard, up_out) = up(&env, "25.12");
    let prometheus = url_of(&up_out, "prometheus");
    // The good configuration passes everything.
    let (code, report) = check(&env, "25.12");
    assert_eq!(code, Some(0), "the good configuration passes: {report:#}");

    let ws = env.home.path().join("labs/25.12/prometheus/prometheus.yml");
    std::fs::write(&ws, BROKEN_CONFIG).unwrap();
    let (code, report) = check(&env, "25.12");
    // What Prometheus itself says about this file, asked directly.
    let own = one_line(body(&http_post(&prometheus, "/-/reload")));
    down_clean(guard);

    assert_eq!(code, Some(1), "{report:#}");
    let outcomes = report["outcomes"].as_array().unwrap();
    let first = &outcomes[0];
    assert_eq!(first["id"], "prometheus-config-loads", "{report:#}");
    assert_eq!(first["status"], "fail", "{report:#}");
    let observed = first["observed"].as_str().unwrap();
    assert!(own.contains("yaml: line"), "Prometheus' own error: {own}");
    assert!(
        !observed.is_empty() && own.starts_with(observed.trim_end_matches('…')),
        "the first failure quotes Prometheus' own reload error\n  prometheus: {own}\n  observed:   {observed}"
    );
    assert_eq!(outcomes.len(), 5, "{report:#}");
    for o in &outcomes[1..] {
        assert_eq!(
            o["status"], "blocked",
            "nothing is graded on the stale config: {report:#}"
        );
    }
    assert_eq!(report["passed"], 0, "{report:#}");
}
