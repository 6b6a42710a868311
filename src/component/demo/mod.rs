//! The demo workload: a small HTTP service that generates its own traffic
//! along a seeded, non-stationary [`pattern`] (rates, latencies and a small
//! error share that vary over time and differ per instance), exposes its
//! metrics at `/metrics` (OpenMetrics, with exemplars) and misbehaves on
//! request through `/admin/fault`.
//!
//! The traffic generator calls the same request logic as the real handlers,
//! in-process, so generated and real requests are counted alike. Generated
//! requests do not sleep: their drawn latency (plus any `latency` fault) is
//! only observed; real requests really take that long. `DEMO_AGE` makes the
//! demo start as if it had run that long ([`generator::preaccumulate`]).

mod generator;
mod http;
pub mod pattern;
mod traffic;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::SystemTime;

use rand::Rng;
use tokio::net::TcpListener;

use super::fault::{FaultBook, FaultKind, FaultSnapshot, FaultSpec};
use super::metrics::{
    ChurnLabels, DemoMetrics, PlanLabels, QueueLabels, RequestLabels, ResultLabels, RouteLabels, TraceLabels,
    UserLabels,
};
use super::time::unix_now;
use super::{ComponentError, DemoOptions, StopSignal, serve_until};
use pattern::Pattern;
use traffic::{ApiRoute, Clock, FaultEffect, Plan};

/// Highest accepted `traffic_rps`.
const MAX_TRAFFIC_RPS: f64 = 1000.0;

/// Highest accepted `DEMO_AGE`: one week.
pub const MAX_AGE_S: f64 = 7.0 * 86_400.0;

/// One in this many successful generated requests is logged.
const LOG_SAMPLE_EVERY: u64 = 10;

/// `demo_sessions` users that always exist.
const BASE_USERS: [&str; 5] = ["u-1001", "u-1002", "u-1003", "u-1004", "u-1005"];

/// Extra `demo_sessions` series while the `cardinality` fault is active.
pub const CARDINALITY_EXTRA_USERS: u32 = 500;

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
    pattern: Pattern,
    clock: Clock,
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
    if !(opts.age_s.is_finite() && (0.0..=MAX_AGE_S).contains(&opts.age_s)) {
        return Err(ComponentError::InvalidOption {
            option: "DEMO_AGE",
            value: opts.age_s.to_string(),
            reason: "give an age in seconds between 0 and 604800 (one week)",
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
    let mut rng = generator::rng(opts.seed, &opts.instance);
    let requests = generator::preaccumulate(&demo, opts.age_s, &mut rng);
    println!(
        "event=started component=demo listen={local} instance={} seed={} traffic_rps={} version={} age_s={} preaccumulated_requests={requests}",
        opts.instance, opts.seed, opts.traffic_rps, opts.version, opts.age_s
    );
    let generator = tokio::spawn(generator::run(Arc::clone(&demo), rng));
    let result = serve_until("demo", listener, http::router(demo), stop).await;
    generator.abort();
    result
}

impl Demo {
    pub(crate) fn new(opts: &DemoOptions, port: u16) -> Arc<Self> {
        let demo = Self {
            instance: opts.instance.clone(),
            port,
            version: opts.version.clone(),
            pattern: Pattern::new(opts.seed, &opts.instance, opts.traffic_rps),
            clock: Clock::new(opts.age_s),
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

    /// Decides how a request to `route` at pattern time `t` goes, under the
    /// active faults.
    fn plan(&self, route: ApiRoute, t: f64, rng: &mut impl Rng) -> Plan {
        let effect = {
            let book = lock(&self.faults);
            FaultEffect {
                error_rate: book.error_rate(route.path()),
                extra_ms: book.extra_latency_ms(route.path()),
            }
        };
        traffic::plan(&self.pattern, t, route, effect, rng)
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
            let result = if plan.fail() { "failed" } else { "success" };
            m.counters.checkout.get_or_create(&ResultLabels { result }).inc();
            if !plan.fail() {
                let (plan_name, cents) = plan.order;
                m.counters
                    .orders
                    .get_or_create(&PlanLabels { plan: plan_name })
                    .inc();
                m.counters.revenue_cents.inc_by(cents);
            }
        }
    }

    /// Serves one generated request at pattern time `t` in-process; returns
    /// its duration. Logs failures and one in [`LOG_SAMPLE_EVERY`] successes
    /// when `log`.
    fn simulate_one(&self, t: f64, rng: &mut impl Rng, log: bool) -> f64 {
        let (route, method) = traffic::pick(&self.pattern, rng);
        let plan = self.plan(route, t, rng);
        let duration_s = plan.base_s + plan.extra_s;
        self.record(route, method, &plan, duration_s);
        let log = log
            && (plan.fail()
                || self
                    .generated_ok
                    .fetch_add(1, Ordering::Relaxed)
                    .is_multiple_of(LOG_SAMPLE_EVERY));
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

#[cfg(test)]
mod tests;
