//! The demo workload's metrics: one prometheus-client registry holding every
//! family the demo exposes at `/metrics`.
//!
//! Counters and histograms live in [`Counters`], gauges in [`Gauges`]. The
//! `counter-reset` fault builds a fresh [`DemoMetrics`] with new counters but
//! the same (shared) gauges, and swaps it in atomically.

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::exemplar::{CounterWithExemplar, HistogramWithExemplars};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::{Registry, Unit};

/// Bucket bounds of `demo_http_request_duration_seconds`.
pub const DURATION_BUCKETS: [f64; 11] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// Labels of `demo_http_requests_total`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// API route, e.g. `/api/orders`.
    pub route: &'static str,
    /// `GET` or `POST`.
    pub method: &'static str,
    /// HTTP status code, e.g. `200`.
    pub code: &'static str,
}

/// Labels of `demo_http_request_duration_seconds`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    /// API route, e.g. `/api/orders`.
    pub route: &'static str,
}

/// Exemplar labels: the trace id of the request.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TraceLabels {
    /// 32 lowercase hex digits.
    pub trace_id: String,
}

/// Labels of `demo_jobs_processed_total`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct QueueLabels {
    /// `emails` or `invoices`.
    pub queue: &'static str,
}

/// Labels of `demo_orders_total`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PlanLabels {
    /// `free`, `pro` or `enterprise`.
    pub plan: &'static str,
}

/// Labels of `demo_checkout_total`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabels {
    /// `success` or `failed`.
    pub result: &'static str,
}

/// Labels of `demo_sessions`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct UserLabels {
    /// A user id such as `u-1001`.
    pub user_id: String,
}

/// Labels of `demo_churn_info`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ChurnLabels {
    /// A fresh value on every scrape while the churn fault is active.
    pub request_id: String,
}

/// The request-duration histogram type, one per route.
pub type DurationHistogram = HistogramWithExemplars<TraceLabels>;

fn new_duration_histogram() -> DurationHistogram {
    HistogramWithExemplars::new(DURATION_BUCKETS.into_iter())
}

/// Counters and histograms: everything `counter-reset` restarts from zero.
#[derive(Debug, Clone)]
pub struct Counters {
    /// `demo_http_requests_total{route,method,code}`.
    pub requests: Family<RequestLabels, CounterWithExemplar<TraceLabels>>,
    /// `demo_http_request_duration_seconds{route}`.
    pub duration: Family<RouteLabels, DurationHistogram, fn() -> DurationHistogram>,
    /// `demo_jobs_processed_total{queue}`.
    pub jobs: Family<QueueLabels, Counter>,
    /// `demo_orders_total{plan}`.
    pub orders: Family<PlanLabels, Counter>,
    /// `demo_revenue_cents_total`.
    pub revenue_cents: Counter,
    /// `demo_checkout_total{result}`.
    pub checkout: Family<ResultLabels, Counter>,
}

/// The (route, method) pairs the generated traffic uses; their `200`,
/// `500`, `502` and `503` series exist from the start, so an error ratio
/// never reads "no data".
pub const TRAFFIC_MIX: [(&str, &str); 5] = [
    ("/api/orders", "GET"),
    ("/api/orders", "POST"),
    ("/api/checkout", "POST"),
    ("/api/users", "GET"),
    ("/api/search", "GET"),
];

/// Plans of `demo_orders_total`.
pub const PLANS: [&str; 3] = ["free", "pro", "enterprise"];

/// Queues of `demo_jobs_processed_total`.
pub const QUEUES: [&str; 2] = ["emails", "invoices"];

impl Counters {
    fn new() -> Self {
        let counters = Self {
            requests: Family::default(),
            duration: Family::new_with_constructor(new_duration_histogram as fn() -> DurationHistogram),
            jobs: Family::default(),
            orders: Family::default(),
            revenue_cents: Counter::default(),
            checkout: Family::default(),
        };
        for (route, method) in TRAFFIC_MIX {
            for code in ["200", "500", "502", "503"] {
                let _ = counters
                    .requests
                    .get_or_create(&RequestLabels { route, method, code });
            }
            let _ = counters.duration.get_or_create(&RouteLabels { route });
        }
        for queue in QUEUES {
            let _ = counters.jobs.get_or_create(&QueueLabels { queue });
        }
        for plan in PLANS {
            let _ = counters.orders.get_or_create(&PlanLabels { plan });
        }
        for result in ["success", "failed"] {
            let _ = counters.checkout.get_or_create(&ResultLabels { result });
        }
        counters
    }
}

/// Gauges: they survive `counter-reset` (the fault resets counters only).
#[derive(Debug, Clone)]
pub struct Gauges {
    /// `demo_inflight_requests`.
    pub inflight: Gauge,
    /// `demo_queue_depth`.
    pub queue_depth: Gauge,
    /// `demo_maintenance`.
    pub maintenance: Gauge,
    /// `demo_desired_replicas`.
    pub desired_replicas: Gauge,
    /// `demo_heartbeat_timestamp_seconds`.
    pub heartbeat: Gauge<f64, AtomicU64>,
    /// `demo_sessions{user_id}`.
    pub sessions: Family<UserLabels, Gauge>,
    /// `demo_churn_info{request_id}`.
    pub churn: Family<ChurnLabels, Gauge>,
}

impl Gauges {
    fn new() -> Self {
        let gauges = Self {
            inflight: Gauge::default(),
            queue_depth: Gauge::default(),
            maintenance: Gauge::default(),
            desired_replicas: Gauge::default(),
            heartbeat: Gauge::default(),
            sessions: Family::default(),
            churn: Family::default(),
        };
        gauges.desired_replicas.set(3);
        gauges
    }
}

/// One registry and the handles to every metric in it.
#[derive(Debug)]
pub struct DemoMetrics {
    /// The registry `/metrics` encodes.
    pub registry: Registry,
    /// Counters and histograms.
    pub counters: Counters,
    /// Gauges.
    pub gauges: Gauges,
}

impl DemoMetrics {
    /// Fresh metrics; `version` is the `demo_build_info` version label.
    pub fn new(version: &str) -> Self {
        Self::assemble(version, Counters::new(), Gauges::new())
    }

    /// New metrics sharing this one's gauges, with every counter and
    /// histogram back at zero (the `counter-reset` fault).
    pub fn with_fresh_counters(&self, version: &str) -> Self {
        Self::assemble(version, Counters::new(), self.gauges.clone())
    }

    fn assemble(version: &str, counters: Counters, gauges: Gauges) -> Self {
        let mut r = Registry::default();
        r.register(
            "demo_http_requests",
            "HTTP requests served, by route, method and status code",
            counters.requests.clone(),
        );
        r.register_with_unit(
            "demo_http_request_duration",
            "HTTP request latency, by route",
            Unit::Seconds,
            counters.duration.clone(),
        );
        r.register(
            "demo_inflight_requests",
            "Requests currently being served",
            gauges.inflight.clone(),
        );
        r.register(
            "demo_queue_depth",
            "Jobs waiting in the background queue",
            gauges.queue_depth.clone(),
        );
        r.register(
            "demo_maintenance",
            "1 while the service is in maintenance mode, else 0",
            gauges.maintenance.clone(),
        );
        r.register(
            "demo_desired_replicas",
            "How many replicas of this service should run",
            gauges.desired_replicas.clone(),
        );
        r.register_with_unit(
            "demo_heartbeat_timestamp",
            "Unix time of the last tick of the internal loop",
            Unit::Seconds,
            gauges.heartbeat.clone(),
        );
        r.register(
            "demo_build",
            "Build information",
            Info::new(vec![
                ("version".to_string(), version.to_string()),
                (
                    "commit".to_string(),
                    super::pattern::commit_of(version).to_string(),
                ),
            ]),
        );
        r.register(
            "demo_jobs_processed",
            "Background jobs processed, by queue",
            counters.jobs.clone(),
        );
        r.register("demo_orders", "Orders placed, by plan", counters.orders.clone());
        r.register(
            "demo_revenue_cents",
            "Revenue from placed orders, in cents",
            counters.revenue_cents.clone(),
        );
        r.register(
            "demo_checkout",
            "Checkout attempts, by result",
            counters.checkout.clone(),
        );
        r.register("demo_sessions", "Open sessions, by user", gauges.sessions.clone());
        r.register(
            "demo_churn_info",
            "Changes its request_id label on every scrape while the churn fault is active",
            gauges.churn.clone(),
        );
        Self {
            registry: r,
            counters,
            gauges,
        }
    }

    /// The registry in OpenMetrics text (ending with `# EOF`).
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut out = String::with_capacity(8 * 1024);
        prometheus_client::encoding::text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}
