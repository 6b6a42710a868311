//! The demo workload: a small HTTP service that generates its own steady
//! traffic, exposes its metrics at `/metrics` (OpenMetrics, with exemplars)
//! and misbehaves on request through `/admin/fault`.
//!
//! The traffic generator calls the same request logic as the real handlers,
//! in-process, so generated and real requests are counted alike. Generated
//! requests do not sleep: their drawn latency (plus any `latency` fault) is
//! only observed; real requests really take that long.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::{Duration, Instant, SystemTime};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use tokio::net::TcpListener;

use super::exposition::Format;
use super::fault::{FaultBook, FaultKind, FaultSnapshot, FaultSpec};
use super::metrics::{
    ChurnLabels, DemoMetrics, PLANS, PlanLabels, QueueLabels, RequestLabels, ResultLabels, RouteLabels,
    TraceLabels, UserLabels,
};
use super::time::unix_now;
use super::{ComponentError, DemoOptions, StopSignal, serve_until};

/// Highest accepted `traffic_rps`.
const MAX_TRAFFIC_RPS: f64 = 1000.0;

/// Period of the internal loop (traffic, heartbeat, fault expiry).
const TICK: Duration = Duration::from_millis(100);

/// Ticks between slow changes (queue depth, jobs, sessions).
const SLOW_EVERY: u64 = 10;

/// One in this many successful generated requests is logged.
const LOG_SAMPLE_EVERY: u64 = 10;

/// `demo_sessions` users that always exist.
const BASE_USERS: [&str; 5] = ["u-1001", "u-1002", "u-1003", "u-1004", "u-1005"];

/// Extra `demo_sessions` series while the `cardinality` fault is active.
pub const CARDINALITY_EXTRA_USERS: u32 = 500;

/// The API routes, with their latency profiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ApiRoute {
    Orders,
    Checkout,
    Users,
    Search,
}

impl ApiRoute {
    fn path(self) -> &'static str {
        match self {
            ApiRoute::Orders => "/api/orders",
            ApiRoute::Checkout => "/api/checkout",
            ApiRoute::Users => "/api/users",
            ApiRoute::Search => "/api/search",
        }
    }

    /// Median latency in seconds and the log-normal spread.
    fn latency_profile(self) -> (f64, f64) {
        match self {
            ApiRoute::Orders => (0.035, 0.5),
            ApiRoute::Checkout => (0.120, 0.6),
            ApiRoute::Users => (0.012, 0.4),
            ApiRoute::Search => (0.070, 0.7),
        }
    }

    /// Draws one (route, method) of the generated traffic mix.
    fn pick(rng: &mut impl Rng) -> (ApiRoute, &'static str) {
        match rng.random_range(0..100u32) {
            0..25 => (ApiRoute::Orders, "GET"),
            25..35 => (ApiRoute::Orders, "POST"),
            35..45 => (ApiRoute::Checkout, "POST"),
            45..70 => (ApiRoute::Users, "GET"),
            _ => (ApiRoute::Search, "GET"),
        }
    }
}

/// What one request turns out to be, decided before it is served.
#[derive(Debug, Clone)]
struct Plan {
    trace_id: String,
    fail: bool,
    /// Drawn service time, seconds.
    base_s: f64,
    /// Added by a `latency` fault, seconds.
    extra_s: f64,
    /// Checkout only: the plan bought and its price.
    order: (&'static str, u64),
}

impl Plan {
    fn status(&self) -> u16 {
        if self.fail { 500 } else { 200 }
    }

    fn code(&self) -> &'static str {
        if self.fail { "500" } else { "200" }
    }
}

/// Draws a standard normal value (Box-Muller).
fn standard_normal(rng: &mut impl Rng) -> f64 {
    let u1: f64 = 1.0 - rng.random::<f64>(); // (0, 1]
    let u2: f64 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

fn trace_id(rng: &mut impl Rng) -> String {
    format!("{:032x}", rng.random::<u128>())
}

/// FNV-1a, a stable hash (unlike std's) to mix the instance into the seed.
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Which fault effects on gauges are currently applied.
#[derive(Debug, Default)]
struct Applied {
    cardinality: bool,
}

/// The demo's shared state.
#[derive(Debug)]
pub(crate) struct Demo {
    instance: String,
    port: u16,
    version: String,
    metrics: RwLock<Arc<DemoMetrics>>,
    faults: Mutex<FaultBook>,
    applied: Mutex<Applied>,
    /// Serializes scrapes so churn's "one fresh series per scrape" holds.
    scrape: Mutex<()>,
    generated_ok: AtomicU64,
}

/// Checks the options before anything is started.
pub(crate) fn validate(opts: &DemoOptions) -> Result<(), ComponentError> {
    if !(opts.traffic_rps.is_finite() && (0.0..=MAX_TRAFFIC_RPS).contains(&opts.traffic_rps)) {
        return Err(ComponentError::InvalidOption {
            option: "traffic_rps",
            value: opts.traffic_rps.to_string(),
            reason: "give a number of requests per second between 0 and 1000",
        });
    }
    let host_ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_');
    if opts.instance.is_empty() || !opts.instance.chars().all(host_ok) {
        return Err(ComponentError::InvalidOption {
            option: "instance",
            value: opts.instance.clone(),
            reason: "give a host name such as demo-1 (letters, digits, '-', '.', '_')",
        });
    }
    Ok(())
}

/// Runs the demo on `listener` until `stop`.
pub(crate) async fn serve(
    listener: TcpListener,
    opts: DemoOptions,
    stop: StopSignal,
) -> Result<(), ComponentError> {
    let local = listener.local_addr().unwrap_or(opts.listen);
    let demo = Demo::new(&opts, local.port());
    println!(
        "event=started component=demo listen={local} instance={} seed={} traffic_rps={} version={}",
        opts.instance, opts.seed, opts.traffic_rps, opts.version
    );
    let generator = tokio::spawn(run_generator(Arc::clone(&demo), opts.traffic_rps, opts.seed));
    let result = serve_until("demo", listener, router(demo), stop).await;
    generator.abort();
    result
}

impl Demo {
    pub(crate) fn new(opts: &DemoOptions, port: u16) -> Arc<Self> {
        let demo = Self {
            instance: opts.instance.clone(),
            port,
            version: opts.version.clone(),
            metrics: RwLock::new(Arc::new(DemoMetrics::new(&opts.version))),
            faults: Mutex::new(FaultBook::new()),
            applied: Mutex::new(Applied::default()),
            scrape: Mutex::new(()),
            generated_ok: AtomicU64::new(0),
        };
        for user in BASE_USERS {
            demo.metrics()
                .gauges
                .sessions
                .get_or_create(&UserLabels {
                    user_id: user.to_string(),
                })
                .set(1);
        }
        Arc::new(demo)
    }

    /// The current metrics (replaced wholesale by `counter-reset`).
    fn metrics(&self) -> Arc<DemoMetrics> {
        Arc::clone(&self.metrics.read().unwrap_or_else(PoisonError::into_inner))
    }

    fn is_down(&self) -> bool {
        lock(&self.faults).is_active(FaultKind::Down)
    }

    /// Decides how a request to `route` goes, under the active faults.
    fn plan(&self, route: ApiRoute, rng: &mut impl Rng) -> Plan {
        let (median, sigma) = route.latency_profile();
        let base_s = (median * (sigma * standard_normal(rng)).exp()).clamp(0.0005, 30.0);
        let roll: f64 = rng.random();
        let (fail, extra_ms) = {
            let book = lock(&self.faults);
            (
                book.should_fail(route.path(), roll),
                book.extra_latency_ms(route.path()),
            )
        };
        let order = match rng.random_range(0..10u32) {
            0..6 => (PLANS[0], 0),
            6..9 => (PLANS[1], 2_900),
            _ => (PLANS[2], 49_900),
        };
        Plan {
            trace_id: trace_id(rng),
            fail,
            base_s,
            extra_s: extra_ms / 1000.0,
            order,
        }
    }

    /// Counts a finished request (and, for checkout, its business effect).
    fn record(&self, route: ApiRoute, method: &'static str, plan: &Plan, duration_s: f64) {
        let m = self.metrics();
        let now = Some(SystemTime::now());
        let exemplar = || TraceLabels {
            trace_id: plan.trace_id.clone(),
        };
        m.counters
            .requests
            .get_or_create(&RequestLabels {
                route: route.path(),
                method,
                code: plan.code(),
            })
            .inc_by(1, Some(exemplar()), now);
        m.counters
            .duration
            .get_or_create(&RouteLabels { route: route.path() })
            .observe(duration_s, Some(exemplar()), now);
        if route == ApiRoute::Checkout {
            let result = if plan.fail { "failed" } else { "success" };
            m.counters.checkout.get_or_create(&ResultLabels { result }).inc();
            if !plan.fail {
                let (plan_name, cents) = plan.order;
                m.counters
                    .orders
                    .get_or_create(&PlanLabels { plan: plan_name })
                    .inc();
                m.counters.revenue_cents.inc_by(cents);
            }
        }
    }

    /// Serves one generated request in-process; returns its duration.
    fn simulate_one(&self, rng: &mut impl Rng) -> f64 {
        let (route, method) = ApiRoute::pick(rng);
        let plan = self.plan(route, rng);
        let duration_s = plan.base_s + plan.extra_s;
        self.record(route, method, &plan, duration_s);
        let log = plan.fail
            || self
                .generated_ok
                .fetch_add(1, Ordering::Relaxed)
                .is_multiple_of(LOG_SAMPLE_EVERY);
        if log {
            log_request(&plan, route, method, duration_s);
        }
        duration_s
    }

    /// Expires faults whose time is up and brings gauges in line with the
    /// active faults.
    fn reconcile(&self, now: f64) {
        let (expired, cardinality, churn) = {
            let mut book = lock(&self.faults);
            let expired = book.expire(now);
            (
                expired,
                book.is_active(FaultKind::Cardinality),
                book.is_active(FaultKind::Churn),
            )
        };
        for kind in expired {
            println!("event=fault_stop kind={kind} reason=expired");
        }
        let gauges = self.metrics().gauges.clone();
        let mut applied = lock(&self.applied);
        if cardinality != applied.cardinality {
            for i in 0..CARDINALITY_EXTRA_USERS {
                let labels = UserLabels {
                    user_id: format!("u-{}", 20_000 + i),
                };
                if cardinality {
                    gauges.sessions.get_or_create(&labels).set(1);
                } else {
                    gauges.sessions.remove(&labels);
                }
            }
            applied.cardinality = cardinality;
        }
        if !churn {
            gauges.churn.clear();
        }
    }

    /// Starts a fault from a `POST /admin/fault` body.
    fn start_fault(&self, body: &[u8]) -> Result<FaultSnapshot, String> {
        let spec = FaultSpec::from_json(body).map_err(|e| e.to_string())?;
        let kind = spec.kind;
        let now = unix_now();
        let active = lock(&self.faults).start(spec, now);
        let params = serde_json::to_string(&active.params).unwrap_or_default();
        println!("event=fault_start kind={kind} params={params}");
        if kind == FaultKind::CounterReset {
            let mut slot = self.metrics.write().unwrap_or_else(PoisonError::into_inner);
            *slot = Arc::new(slot.with_fresh_counters(&self.version));
            drop(slot);
            println!("event=fault_stop kind={kind} reason=one-shot");
        }
        self.reconcile(now);
        Ok(self.faults_snapshot())
    }

    /// Stops one fault (`Some`) or all of them (`None`).
    fn stop_faults(&self, kind: Option<FaultKind>) -> FaultSnapshot {
        let now = unix_now();
        let stopped = {
            let mut book = lock(&self.faults);
            match kind {
                Some(kind) => {
                    if book.stop(kind, now) {
                        vec![kind]
                    } else {
                        Vec::new()
                    }
                }
                None => book.clear_all(now),
            }
        };
        for kind in stopped {
            println!("event=fault_stop kind={kind} reason=cleared");
        }
        self.reconcile(now);
        self.faults_snapshot()
    }

    fn faults_snapshot(&self) -> FaultSnapshot {
        let now = unix_now();
        self.reconcile(now);
        lock(&self.faults).snapshot()
    }

    /// Encodes the registry as one scrape sees it (churn: a fresh series).
    fn render_metrics(&self) -> Result<String, std::fmt::Error> {
        let churn = lock(&self.faults).is_active(FaultKind::Churn);
        let m = self.metrics();
        let _scrape = lock(&self.scrape);
        m.gauges.churn.clear();
        if churn {
            let request_id = format!("{:016x}", rand::rng().random::<u64>());
            m.gauges.churn.get_or_create(&ChurnLabels { request_id }).set(1);
        }
        m.encode()
    }

    /// One tick's slow-moving changes: queue depth, jobs, session counts.
    fn slow_tick(&self, rng: &mut impl Rng) {
        let m = self.metrics();
        let depth = m.gauges.queue_depth.get();
        let step = rng.random_range(-3..=3i64);
        m.gauges.queue_depth.set((depth + step).clamp(0, 50));
        for (queue, max) in [("emails", 4u64), ("invoices", 2)] {
            m.counters
                .jobs
                .get_or_create(&QueueLabels { queue })
                .inc_by(rng.random_range(0..=max));
        }
        for user in BASE_USERS {
            let g = m.gauges.sessions.get_or_create_owned(&UserLabels {
                user_id: user.to_string(),
            });
            let next = (g.get() + rng.random_range(-1..=1i64)).clamp(0, 4);
            g.set(next);
        }
    }
}

fn log_request(plan: &Plan, route: ApiRoute, method: &str, duration_s: f64) {
    println!(
        "trace_id={} route={} method={} status={} duration_ms={:.1}",
        plan.trace_id,
        route.path(),
        method,
        plan.status(),
        duration_s * 1000.0
    );
}

/// The internal loop: generated traffic, heartbeat, slow gauges, expiry.
async fn run_generator(demo: Arc<Demo>, rps: f64, seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed ^ fnv1a(&demo.instance));
    demo.metrics().gauges.queue_depth.set(rng.random_range(5..=15));
    let mut ticker = tokio::time::interval(TICK);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let per_tick = rps * TICK.as_secs_f64();
    let mut budget = 0.0;
    let mut running: Vec<Instant> = Vec::new();
    let mut shown: i64 = 0;
    let mut ticks: u64 = 0;
    loop {
        ticker.tick().await;
        let now = Instant::now();
        demo.reconcile(unix_now());
        budget += per_tick;
        while budget >= 1.0 {
            budget -= 1.0;
            let d = demo.simulate_one(&mut rng);
            running.push(now + Duration::from_secs_f64(d));
        }
        // Generated requests are "in flight" until their drawn duration ends.
        running.retain(|end| *end > now);
        let inflight = i64::try_from(running.len()).unwrap_or(i64::MAX);
        let m = demo.metrics();
        m.gauges.inflight.inc_by(inflight - shown);
        shown = inflight;
        if ticks.is_multiple_of(SLOW_EVERY) {
            demo.slow_tick(&mut rng);
        }
        m.gauges.heartbeat.set(unix_now());
        ticks += 1;
    }
}

fn router(demo: Arc<Demo>) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/ready", get(ready))
        .route("/sd", get(sd))
        .route("/broken", get(broken).post(broken))
        .route("/api/orders", get(api_orders).post(api_orders))
        .route("/api/checkout", get(api_checkout).post(api_checkout))
        .route("/api/users", get(api_users).post(api_users))
        .route("/api/search", get(api_search).post(api_search))
        .route(
            "/admin/fault",
            get(list_faults).post(start_fault).delete(clear_faults),
        )
        .route("/admin/fault/{kind}", axum::routing::delete(clear_fault))
        .with_state(demo)
}

fn json_error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, axum::Json(json!({ "error": message.into() }))).into_response()
}

fn down_response() -> Response {
    (StatusCode::SERVICE_UNAVAILABLE, "demo is down (fault)\n").into_response()
}

async fn metrics(State(demo): State<Arc<Demo>>, headers: HeaderMap) -> Response {
    if demo.is_down() {
        return down_response();
    }
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let format = Format::negotiate(accept);
    match demo.render_metrics() {
        Ok(body) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static(format.content_type()),
            )],
            format.render(body),
        )
            .into_response(),
        Err(_) => json_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "encoding the metrics failed; this is a bug in the demo",
        ),
    }
}

async fn healthz(State(demo): State<Arc<Demo>>) -> Response {
    if demo.is_down() {
        return down_response();
    }
    "ok\n".into_response()
}

async fn ready(State(demo): State<Arc<Demo>>) -> Response {
    if demo.is_down() {
        return down_response();
    }
    "ready\n".into_response()
}

async fn sd(State(demo): State<Arc<Demo>>) -> Response {
    axum::Json(json!([{
        "targets": [format!("{}:{}", demo.instance, demo.port)],
        "labels": { "env": "lab" },
    }]))
    .into_response()
}

async fn broken() -> Response {
    json_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "this endpoint always fails (on purpose)",
    )
}

/// Decrements the in-flight gauge when a real request ends, even if the
/// client went away mid-request.
struct InflightGuard(prometheus_client::metrics::gauge::Gauge);

impl Drop for InflightGuard {
    fn drop(&mut self) {
        self.0.dec();
    }
}

async fn serve_api(demo: Arc<Demo>, route: ApiRoute, method: Method) -> Response {
    let method: &'static str = if method == Method::POST { "POST" } else { "GET" };
    let inflight = demo.metrics().gauges.inflight.clone();
    inflight.inc();
    let _guard = InflightGuard(inflight);
    let started = Instant::now();
    let plan = demo.plan(route, &mut rand::rng());
    tokio::time::sleep(Duration::from_secs_f64(plan.base_s + plan.extra_s)).await;
    let duration_s = started.elapsed().as_secs_f64();
    demo.record(route, method, &plan, duration_s);
    log_request(&plan, route, method, duration_s);
    let trace = HeaderValue::from_str(&plan.trace_id).ok();
    let mut response = if plan.fail {
        json_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal error (injected by the errors fault)",
        )
    } else {
        let mut body = json!({
            "route": route.path(),
            "method": method,
            "status": 200,
            "trace_id": plan.trace_id,
            "duration_ms": (duration_s * 1000.0 * 10.0).round() / 10.0,
        });
        if route == ApiRoute::Checkout {
            body["plan"] = json!(plan.order.0);
            body["amount_cents"] = json!(plan.order.1);
        }
        axum::Json(body).into_response()
    };
    if let Some(trace) = trace {
        response.headers_mut().insert("x-trace-id", trace);
    }
    response
}

async fn api_orders(State(demo): State<Arc<Demo>>, method: Method) -> Response {
    serve_api(demo, ApiRoute::Orders, method).await
}

async fn api_checkout(State(demo): State<Arc<Demo>>, method: Method) -> Response {
    serve_api(demo, ApiRoute::Checkout, method).await
}

async fn api_users(State(demo): State<Arc<Demo>>, method: Method) -> Response {
    serve_api(demo, ApiRoute::Users, method).await
}

async fn api_search(State(demo): State<Arc<Demo>>, method: Method) -> Response {
    serve_api(demo, ApiRoute::Search, method).await
}

async fn list_faults(State(demo): State<Arc<Demo>>) -> Response {
    axum::Json(demo.faults_snapshot()).into_response()
}

async fn start_fault(State(demo): State<Arc<Demo>>, body: Bytes) -> Response {
    match demo.start_fault(&body) {
        Ok(snapshot) => axum::Json(snapshot).into_response(),
        Err(message) => json_error(StatusCode::BAD_REQUEST, message),
    }
}

async fn clear_faults(State(demo): State<Arc<Demo>>) -> Response {
    axum::Json(demo.stop_faults(None)).into_response()
}

async fn clear_fault(State(demo): State<Arc<Demo>>, Path(kind): Path<String>) -> Response {
    match FaultKind::parse(&kind) {
        Ok(kind) => axum::Json(demo.stop_faults(Some(kind))).into_response(),
        Err(e) => json_error(StatusCode::BAD_REQUEST, e.to_string()),
    }
}

#[cfg(test)]
mod tests {
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

    fn traffic(demo: &Demo, n: usize, seed: u64) {
        let mut rng = StdRng::seed_from_u64(seed);
        for _ in 0..n {
            demo.simulate_one(&mut rng);
        }
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
    fn baseline_has_zero_errors_but_the_series_exist() {
        let d = demo();
        traffic(&d, 3000, 7);
        let text = render(&d);
        assert_eq!(sum(&text, "demo_http_requests_total", &[]), 3000.0);
        let errors = series(&text, "demo_http_requests_total")
            .into_iter()
            .filter(|(k, _)| k.contains(r#"code="500""#))
            .collect::<Vec<_>>();
        assert_eq!(errors.len(), 5, "one 500 series per (route, method)");
        assert!(errors.iter().all(|(_, v)| *v == 0.0), "{errors:?}");
        assert_eq!(sum(&text, "demo_checkout_total", &[r#"result="failed""#]), 0.0);
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
    fn errors_fault_turns_new_requests_into_500() {
        let d = demo();
        traffic(&d, 200, 1);
        let before = render(&d);
        let ok_before = sum(&before, "demo_http_requests_total", &[r#"code="200""#]);
        fault(&d, r#"{"kind":"errors","rate":1.0}"#);
        traffic(&d, 300, 2);
        let after = render(&d);
        assert_eq!(
            sum(&after, "demo_http_requests_total", &[r#"code="200""#]),
            ok_before
        );
        assert_eq!(sum(&after, "demo_http_requests_total", &[r#"code="500""#]), 300.0);
        assert!(sum(&after, "demo_checkout_total", &[r#"result="failed""#]) > 0.0);
    }

    #[test]
    fn errors_fault_can_target_one_route() {
        let d = demo();
        fault(&d, r#"{"kind":"errors","rate":1.0,"route":"/api/checkout"}"#);
        traffic(&d, 500, 3);
        let text = render(&d);
        let bad = sum(&text, "demo_http_requests_total", &[r#"code="500""#]);
        let checkout = sum(&text, "demo_http_requests_total", &[r#"route="/api/checkout""#]);
        assert!(checkout > 0.0);
        assert_eq!(bad, checkout);
        assert_eq!(sum(&text, "demo_orders_total", &[]), 0.0);
    }

    #[test]
    fn errors_fault_rate_is_roughly_honoured() {
        let d = demo();
        fault(&d, r#"{"kind":"errors","rate":0.2}"#);
        traffic(&d, 5000, 4);
        let text = render(&d);
        let share = sum(&text, "demo_http_requests_total", &[r#"code="500""#]) / 5000.0;
        assert!((0.17..0.23).contains(&share), "{share}");
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
        assert_eq!(sum(&text, "demo_http_requests_total", &[r#"code="500""#]), 0.0);
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
            let mut rng = StdRng::seed_from_u64(seed ^ fnv1a(instance));
            for _ in 0..500 {
                d.simulate_one(&mut rng);
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
            assert_eq!(r.status().as_u16(), 200, "{path}");
            assert!(r.headers().contains_key("x-trace-id"));
            let body: serde_json::Value = r.json().await.unwrap_or_default();
            assert_eq!(body["route"], path);
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
        assert_eq!(r.ok(), Some(500));
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
}
