//! What one request of the demo is: its route and method, drawn latency,
//! status code and (for checkout) order, decided from the instance's
//! [`Pattern`] at a pattern time and the active faults.

use std::time::Instant;

use rand::Rng;

use super::pattern::Pattern;
use crate::component::metrics::PLANS;

/// The API routes, with their latency profiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ApiRoute {
    Orders,
    Checkout,
    Users,
    Search,
}

/// The generated (route, method) mix, in the order of `metrics::TRAFFIC_MIX`
/// and of [`Pattern::route_weights`].
pub(crate) const ROUTE_MIX: [(ApiRoute, &str); 5] = [
    (ApiRoute::Orders, "GET"),
    (ApiRoute::Orders, "POST"),
    (ApiRoute::Checkout, "POST"),
    (ApiRoute::Users, "GET"),
    (ApiRoute::Search, "GET"),
];

impl ApiRoute {
    pub(crate) fn path(self) -> &'static str {
        match self {
            ApiRoute::Orders => "/api/orders",
            ApiRoute::Checkout => "/api/checkout",
            ApiRoute::Users => "/api/users",
            ApiRoute::Search => "/api/search",
        }
    }

    /// Median latency in seconds (before the pattern's factor) and the
    /// log-normal spread.
    pub(crate) fn latency_profile(self) -> (f64, f64) {
        match self {
            ApiRoute::Orders => (0.035, 0.5),
            ApiRoute::Checkout => (0.120, 0.6),
            ApiRoute::Users => (0.012, 0.4),
            ApiRoute::Search => (0.070, 0.7),
        }
    }
}

/// Pattern time: `age` seconds at the moment the clock was made, then
/// running with the monotonic clock.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    started: Instant,
    age_s: f64,
}

impl Clock {
    pub(crate) fn new(age_s: f64) -> Self {
        Self {
            started: Instant::now(),
            age_s,
        }
    }

    /// Pattern time at `at`.
    pub(crate) fn at(&self, at: Instant) -> f64 {
        self.age_s + at.saturating_duration_since(self.started).as_secs_f64()
    }

    /// Pattern time now.
    pub(crate) fn now(&self) -> f64 {
        self.at(Instant::now())
    }
}

/// What one request turns out to be, decided before it is served.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub(crate) trace_id: String,
    /// `None` for success, else the 5xx code.
    pub(crate) error: Option<&'static str>,
    /// Drawn service time, seconds.
    pub(crate) base_s: f64,
    /// Added by a `latency` fault, seconds.
    pub(crate) extra_s: f64,
    /// Checkout only: the plan bought and its price.
    pub(crate) order: (&'static str, u64),
}

impl Plan {
    pub(crate) fn fail(&self) -> bool {
        self.error.is_some()
    }

    pub(crate) fn status(&self) -> u16 {
        self.code().parse().unwrap_or(500)
    }

    pub(crate) fn code(&self) -> &'static str {
        self.error.unwrap_or("200")
    }
}

/// What the active faults do to a request to one route.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct FaultEffect {
    /// Share of requests a fault makes fail (0 without an `errors` fault).
    pub(crate) error_rate: f64,
    /// Milliseconds a `latency` fault adds.
    pub(crate) extra_ms: f64,
}

/// Draws a standard normal value (Box-Muller).
pub(crate) fn standard_normal(rng: &mut impl Rng) -> f64 {
    let u1: f64 = 1.0 - rng.random::<f64>(); // (0, 1]
    let u2: f64 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

pub(crate) fn trace_id(rng: &mut impl Rng) -> String {
    format!("{:032x}", rng.random::<u128>())
}

/// Draws one (route, method) of the generated mix at pattern time `t`.
pub(crate) fn pick(pattern: &Pattern, rng: &mut impl Rng) -> (ApiRoute, &'static str) {
    ROUTE_MIX[pattern.pick_route(rng.random())]
}

/// Decides how a request to `route` at pattern time `t` goes.
pub(crate) fn plan(
    pattern: &Pattern,
    t: f64,
    route: ApiRoute,
    fault: FaultEffect,
    rng: &mut impl Rng,
) -> Plan {
    let (median, sigma) = route.latency_profile();
    let median = median * pattern.latency_factor(t);
    let base_s = (median * (sigma * standard_normal(rng)).exp()).clamp(0.0005, 30.0);
    let roll: f64 = rng.random();
    let fail = roll < fault.error_rate || roll > 1.0 - pattern.error_share_at(t);
    let code = pattern.pick_code(rng.random());
    let order = match rng.random_range(0..10u32) {
        0..6 => (PLANS[0], 0),
        6..9 => (PLANS[1], 2_900),
        _ => (PLANS[2], 49_900),
    };
    Plan {
        trace_id: trace_id(rng),
        error: fail.then_some(code),
        base_s,
        extra_s: fault.extra_ms / 1000.0,
        order,
    }
}
