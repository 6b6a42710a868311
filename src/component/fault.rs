//! Fault injection for the demo workload: parsing and validating fault
//! requests, the set of active faults, their history, and the decisions the
//! request path asks for (fail this request? add how much latency?).
//!
//! Everything here is pure logic over an explicit `now` (unix seconds), so it
//! is unit-tested without HTTP or a clock.

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};

use super::time::rfc3339;

/// The API routes the demo serves; a fault's `route` must be one of these.
pub const ROUTES: [&str; 4] = ["/api/orders", "/api/checkout", "/api/users", "/api/search"];

/// Largest `latency_ms` a latency fault accepts (one minute).
pub const MAX_LATENCY_MS: f64 = 60_000.0;

/// Largest `duration_s` a fault accepts (one day).
pub const MAX_DURATION_S: f64 = 86_400.0;

/// Default share of failing requests for an `errors` fault without `rate`.
pub const DEFAULT_ERROR_RATE: f64 = 1.0;

/// Default added latency for a `latency` fault without `latency_ms`.
pub const DEFAULT_LATENCY_MS: f64 = 500.0;

/// How many start/stop events the history keeps (oldest dropped first).
pub const HISTORY_CAPACITY: usize = 1000;

pub use crate::lab::spec::FaultKind;

/// The demo API's side of a fault kind: its name in a request body.
impl FaultKind {
    /// Parses a kind name as used in the API.
    pub fn parse(name: &str) -> Result<Self, FaultError> {
        FaultKind::ALL
            .into_iter()
            .find(|k| k.as_str() == name)
            .ok_or_else(|| FaultError::UnknownKind {
                kind: name.to_string(),
            })
    }
}

fn valid_kinds() -> String {
    FaultKind::ALL.map(FaultKind::as_str).join(", ")
}

fn valid_routes() -> String {
    ROUTES.join(", ")
}

/// Why a fault request was rejected; each message is one sentence for the
/// `{"error": ...}` body of a 400 answer.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FaultError {
    /// The body is not the expected JSON object.
    #[error(
        "the request body is not a valid fault ({detail}); send JSON like {{\"kind\": \"errors\", \"rate\": 0.5}}"
    )]
    BadBody {
        /// What the JSON parser said.
        detail: String,
    },
    /// The kind is not one of [`FaultKind::ALL`].
    #[error("unknown fault kind \"{kind}\"; valid kinds are: {}", valid_kinds())]
    UnknownKind {
        /// The rejected kind.
        kind: String,
    },
    /// `rate` is not within 0..=1.
    #[error("rate must be a number between 0 and 1 (got {rate})")]
    RateOutOfRange {
        /// The rejected rate.
        rate: f64,
    },
    /// `latency_ms` is negative, not finite or too large.
    #[error(
        "latency_ms must be a number between 0 and {} (got {latency_ms})",
        MAX_LATENCY_MS
    )]
    LatencyOutOfRange {
        /// The rejected latency.
        latency_ms: f64,
    },
    /// `duration_s` is not a positive number of seconds.
    #[error(
        "duration_s must be a positive number of seconds up to {} or null for no end (got {duration_s})",
        MAX_DURATION_S
    )]
    DurationOutOfRange {
        /// The rejected duration.
        duration_s: f64,
    },
    /// `route` is not one of [`ROUTES`].
    #[error("unknown route \"{route}\"; valid routes are: {}", valid_routes())]
    UnknownRoute {
        /// The rejected route.
        route: String,
    },
}

/// The JSON body of `POST /admin/fault`, as sent.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultRequest {
    kind: String,
    #[serde(default)]
    rate: Option<f64>,
    #[serde(default)]
    latency_ms: Option<f64>,
    #[serde(default)]
    duration_s: Option<f64>,
    #[serde(default)]
    route: Option<String>,
}

/// The parameters of a fault, normalized (defaults filled in, irrelevant
/// fields dropped).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FaultParams {
    /// Share of requests that fail (errors only).
    pub rate: Option<f64>,
    /// Added latency in milliseconds (latency only).
    pub latency_ms: Option<f64>,
    /// Seconds after which the fault clears itself; `None` for never.
    pub duration_s: Option<f64>,
    /// Restricts errors/latency to one route; `None` for all routes.
    pub route: Option<String>,
}

/// A validated request to start a fault.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultSpec {
    /// Which fault.
    pub kind: FaultKind,
    /// Its parameters.
    pub params: FaultParams,
}

impl FaultSpec {
    /// Parses and validates a `POST /admin/fault` body.
    pub fn from_json(body: &[u8]) -> Result<Self, FaultError> {
        let req: FaultRequest = serde_json::from_slice(body).map_err(|e| FaultError::BadBody {
            detail: e.to_string(),
        })?;
        Self::validate(req)
    }

    fn validate(req: FaultRequest) -> Result<Self, FaultError> {
        let kind = FaultKind::parse(req.kind.trim())?;
        if let Some(rate) = req.rate
            && !(0.0..=1.0).contains(&rate)
        {
            return Err(FaultError::RateOutOfRange { rate });
        }
        if let Some(latency_ms) = req.latency_ms
            && !(0.0..=MAX_LATENCY_MS).contains(&latency_ms)
        {
            return Err(FaultError::LatencyOutOfRange { latency_ms });
        }
        if let Some(duration_s) = req.duration_s
            && !(duration_s > 0.0 && duration_s <= MAX_DURATION_S)
        {
            return Err(FaultError::DurationOutOfRange { duration_s });
        }
        if let Some(route) = &req.route
            && !ROUTES.contains(&route.as_str())
        {
            return Err(FaultError::UnknownRoute { route: route.clone() });
        }
        let scoped = matches!(kind, FaultKind::Errors | FaultKind::Latency);
        let params = FaultParams {
            rate: (kind == FaultKind::Errors).then(|| req.rate.unwrap_or(DEFAULT_ERROR_RATE)),
            latency_ms: (kind == FaultKind::Latency).then(|| req.latency_ms.unwrap_or(DEFAULT_LATENCY_MS)),
            duration_s: if kind.is_one_shot() { None } else { req.duration_s },
            route: if scoped { req.route } else { None },
        };
        Ok(FaultSpec { kind, params })
    }

    fn applies_to(&self, route: &str) -> bool {
        self.params.route.as_deref().is_none_or(|r| r == route)
    }
}

/// A fault that is currently in effect.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActiveFault {
    /// Which fault.
    pub kind: FaultKind,
    /// Its parameters.
    pub params: FaultParams,
    /// When it started (unix seconds).
    pub started_at: f64,
    /// `started_at` as RFC 3339.
    pub started_at_rfc3339: String,
    /// When it clears itself (unix seconds), if it has a duration.
    pub ends_at: Option<f64>,
    /// `ends_at` as RFC 3339.
    pub ends_at_rfc3339: Option<String>,
}

/// Whether a history event is a start or a stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EventType {
    /// The fault started.
    Start,
    /// The fault stopped.
    Stop,
}

/// Why a fault stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StopReason {
    /// Cleared through `DELETE /admin/fault[/<kind>]`.
    Cleared,
    /// Its `duration_s` ran out.
    Expired,
    /// A new fault of the same kind replaced it.
    Replaced,
    /// A one-shot fault is done as soon as it started.
    OneShot,
}

/// One entry of the fault history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FaultEvent {
    /// Which fault.
    pub kind: FaultKind,
    /// Start or stop.
    pub event: EventType,
    /// When (unix seconds).
    pub at: f64,
    /// `at` as RFC 3339.
    pub at_rfc3339: String,
    /// The parameters, on start events.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub params: Option<FaultParams>,
    /// Why it stopped, on stop events.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<StopReason>,
}

/// What `GET /admin/fault` answers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FaultSnapshot {
    /// Faults in effect, in kind order.
    pub active: Vec<ActiveFault>,
    /// Start/stop events, oldest first.
    pub history: Vec<FaultEvent>,
}

/// The active faults and their history.
#[derive(Debug)]
pub struct FaultBook {
    active: BTreeMap<FaultKind, (FaultSpec, ActiveFault)>,
    history: VecDeque<FaultEvent>,
}

impl Default for FaultBook {
    fn default() -> Self {
        Self::new()
    }
}

impl FaultBook {
    /// An empty book: no fault active, no history.
    pub fn new() -> Self {
        Self {
            active: BTreeMap::new(),
            history: VecDeque::new(),
        }
    }

    fn record(&mut self, event: FaultEvent) {
        if self.history.len() >= HISTORY_CAPACITY {
            self.history.pop_front();
        }
        self.history.push_back(event);
    }

    fn record_stop(&mut self, kind: FaultKind, now: f64, reason: StopReason) {
        self.record(FaultEvent {
            kind,
            event: EventType::Stop,
            at: now,
            at_rfc3339: rfc3339(now),
            params: None,
            reason: Some(reason),
        });
    }

    /// Starts a fault at `now`, replacing an active one of the same kind.
    /// One-shot kinds are recorded as a start and an immediate stop.
    pub fn start(&mut self, spec: FaultSpec, now: f64) -> ActiveFault {
        if self.active.remove(&spec.kind).is_some() {
            self.record_stop(spec.kind, now, StopReason::Replaced);
        }
        let ends_at = spec.params.duration_s.map(|d| now + d);
        let active = ActiveFault {
            kind: spec.kind,
            params: spec.params.clone(),
            started_at: now,
            started_at_rfc3339: rfc3339(now),
            ends_at,
            ends_at_rfc3339: ends_at.map(rfc3339),
        };
        self.record(FaultEvent {
            kind: spec.kind,
            event: EventType::Start,
            at: now,
            at_rfc3339: rfc3339(now),
            params: Some(spec.params.clone()),
            reason: None,
        });
        if spec.kind.is_one_shot() {
            self.record_stop(spec.kind, now, StopReason::OneShot);
        } else {
            self.active.insert(spec.kind, (spec, active.clone()));
        }
        active
    }

    /// Stops one fault; returns whether it was active.
    pub fn stop(&mut self, kind: FaultKind, now: f64) -> bool {
        if self.active.remove(&kind).is_some() {
            self.record_stop(kind, now, StopReason::Cleared);
            true
        } else {
            false
        }
    }

    /// Stops every active fault; returns the kinds that were active.
    pub fn clear_all(&mut self, now: f64) -> Vec<FaultKind> {
        let kinds: Vec<FaultKind> = self.active.keys().copied().collect();
        for kind in &kinds {
            self.active.remove(kind);
            self.record_stop(*kind, now, StopReason::Cleared);
        }
        kinds
    }

    /// Stops every fault whose time has run out by `now`; returns their kinds.
    pub fn expire(&mut self, now: f64) -> Vec<FaultKind> {
        let due: Vec<FaultKind> = self
            .active
            .values()
            .filter(|(_, a)| a.ends_at.is_some_and(|end| end <= now))
            .map(|(spec, _)| spec.kind)
            .collect();
        for kind in &due {
            self.active.remove(kind);
            self.record_stop(*kind, now, StopReason::Expired);
        }
        due
    }

    /// Whether a fault of this kind is in effect.
    pub fn is_active(&self, kind: FaultKind) -> bool {
        self.active.contains_key(&kind)
    }

    /// The share of requests to `route` that must fail (0 without an
    /// `errors` fault covering it).
    pub fn error_rate(&self, route: &str) -> f64 {
        match self.active.get(&FaultKind::Errors) {
            Some((spec, _)) if spec.applies_to(route) => spec.params.rate.unwrap_or(0.0),
            _ => 0.0,
        }
    }

    /// Whether a request to `route` fails, given a uniform roll in `[0, 1)`.
    #[cfg(test)]
    pub fn should_fail(&self, route: &str, roll: f64) -> bool {
        roll < self.error_rate(route)
    }

    /// Milliseconds to add to a request to `route` (0 without a `latency`
    /// fault covering it).
    pub fn extra_latency_ms(&self, route: &str) -> f64 {
        match self.active.get(&FaultKind::Latency) {
            Some((spec, _)) if spec.applies_to(route) => spec.params.latency_ms.unwrap_or(0.0),
            _ => 0.0,
        }
    }

    /// The active faults and the history, for `GET /admin/fault`.
    pub fn snapshot(&self) -> FaultSnapshot {
        FaultSnapshot {
            active: self.active.values().map(|(_, a)| a.clone()).collect(),
            history: self.history.iter().cloned().collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(json: &str) -> FaultSpec {
        match FaultSpec::from_json(json.as_bytes()) {
            Ok(s) => s,
            Err(e) => panic!("{json}: {e}"),
        }
    }

    fn err(json: &str) -> String {
        match FaultSpec::from_json(json.as_bytes()) {
            Ok(s) => panic!("{json} was accepted as {s:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn parses_the_documented_body() {
        let s =
            spec(r#"{"kind": "errors", "rate": 0.5, "latency_ms": 0, "duration_s": null, "route": null}"#);
        assert_eq!(s.kind, FaultKind::Errors);
        assert_eq!(s.params.rate, Some(0.5));
        assert_eq!(s.params.latency_ms, None, "latency_ms is irrelevant to errors");
        assert_eq!(s.params.duration_s, None);
        assert_eq!(s.params.route, None);
    }

    #[test]
    fn fills_in_defaults() {
        assert_eq!(spec(r#"{"kind":"errors"}"#).params.rate, Some(DEFAULT_ERROR_RATE));
        assert_eq!(
            spec(r#"{"kind":"latency"}"#).params.latency_ms,
            Some(DEFAULT_LATENCY_MS)
        );
        let reset = spec(r#"{"kind":"counter-reset","duration_s":10}"#);
        assert_eq!(reset.params.duration_s, None, "one-shot has no duration");
        let down = spec(r#"{"kind":"down","route":"/api/orders"}"#);
        assert_eq!(down.params.route, None, "route only scopes errors/latency");
    }

    #[test]
    fn every_kind_parses_by_name() {
        for kind in FaultKind::ALL {
            assert_eq!(FaultKind::parse(kind.as_str()), Ok(kind));
            let json = format!(r#"{{"kind":"{kind}"}}"#);
            assert_eq!(spec(&json).kind, kind);
        }
    }

    #[test]
    fn rejects_bad_input_with_one_clear_sentence() {
        let e = err(r#"{"kind":"explode"}"#);
        assert!(e.contains("unknown fault kind \"explode\""), "{e}");
        assert!(
            e.contains("errors, latency, down, cardinality, churn, counter-reset"),
            "{e}"
        );
        let e = err(r#"{"kind":"errors","rate":1.5}"#);
        assert!(e.contains("rate must be a number between 0 and 1"), "{e}");
        let e = err(r#"{"kind":"errors","rate":-0.1}"#);
        assert!(e.contains("between 0 and 1"), "{e}");
        let e = err(r#"{"kind":"latency","latency_ms":-5}"#);
        assert!(e.contains("latency_ms"), "{e}");
        let e = err(r#"{"kind":"latency","duration_s":0}"#);
        assert!(e.contains("duration_s must be a positive"), "{e}");
        let e = err(r#"{"kind":"errors","route":"/nope"}"#);
        assert!(e.contains("valid routes are: /api/orders"), "{e}");
        let e = err(r#"{"kind":"errors","rat":0.5}"#);
        assert!(e.contains("unknown field `rat`"), "{e}");
        let e = err("not json");
        assert!(e.contains("send JSON like"), "{e}");
        let e = err(r#"{"rate":0.5}"#);
        assert!(e.contains("missing field `kind`"), "{e}");
    }

    #[test]
    fn errors_decision_follows_rate_and_route() {
        let mut book = FaultBook::new();
        assert_eq!(book.error_rate("/api/orders"), 0.0);
        assert!(!book.should_fail("/api/orders", 0.0));
        book.start(spec(r#"{"kind":"errors","rate":1.0}"#), 100.0);
        for route in ROUTES {
            assert!(book.should_fail(route, 0.0));
            assert!(book.should_fail(route, 0.999));
        }
        book.start(
            spec(r#"{"kind":"errors","rate":0.25,"route":"/api/checkout"}"#),
            101.0,
        );
        assert!(book.should_fail("/api/checkout", 0.2));
        assert!(!book.should_fail("/api/checkout", 0.3));
        assert!(!book.should_fail("/api/orders", 0.0));
    }

    #[test]
    fn latency_applies_to_its_route() {
        let mut book = FaultBook::new();
        assert_eq!(book.extra_latency_ms("/api/users"), 0.0);
        book.start(
            spec(r#"{"kind":"latency","latency_ms":250,"route":"/api/users"}"#),
            1.0,
        );
        assert_eq!(book.extra_latency_ms("/api/users"), 250.0);
        assert_eq!(book.extra_latency_ms("/api/search"), 0.0);
    }

    #[test]
    fn start_stop_and_history() {
        let mut book = FaultBook::new();
        let a = book.start(spec(r#"{"kind":"down"}"#), 1000.5);
        assert_eq!(a.started_at, 1000.5);
        assert_eq!(a.started_at_rfc3339, "1970-01-01T00:16:40.500Z");
        assert!(book.is_active(FaultKind::Down));
        assert!(book.stop(FaultKind::Down, 1001.0));
        assert!(!book.stop(FaultKind::Down, 1002.0), "already stopped");
        assert!(!book.is_active(FaultKind::Down));
        let snap = book.snapshot();
        assert!(snap.active.is_empty());
        assert_eq!(snap.history.len(), 2);
        assert_eq!(snap.history[0].event, EventType::Start);
        assert_eq!(snap.history[1].event, EventType::Stop);
        assert_eq!(snap.history[1].reason, Some(StopReason::Cleared));
        assert_eq!(snap.history[1].at, 1001.0);
    }

    #[test]
    fn restarting_a_kind_replaces_it() {
        let mut book = FaultBook::new();
        book.start(spec(r#"{"kind":"errors","rate":0.1}"#), 1.0);
        book.start(spec(r#"{"kind":"errors","rate":0.9}"#), 2.0);
        let snap = book.snapshot();
        assert_eq!(snap.active.len(), 1);
        assert_eq!(snap.active[0].params.rate, Some(0.9));
        let reasons: Vec<_> = snap.history.iter().map(|e| (e.event, e.reason)).collect();
        assert_eq!(
            reasons,
            vec![
                (EventType::Start, None),
                (EventType::Stop, Some(StopReason::Replaced)),
                (EventType::Start, None)
            ]
        );
    }

    #[test]
    fn counter_reset_is_one_shot() {
        let mut book = FaultBook::new();
        book.start(spec(r#"{"kind":"counter-reset"}"#), 5.0);
        assert!(!book.is_active(FaultKind::CounterReset));
        let snap = book.snapshot();
        assert!(snap.active.is_empty());
        assert_eq!(snap.history.len(), 2);
        assert_eq!(snap.history[1].reason, Some(StopReason::OneShot));
    }

    #[test]
    fn duration_expiry_is_recorded() {
        let mut book = FaultBook::new();
        let a = book.start(spec(r#"{"kind":"latency","duration_s":30}"#), 100.0);
        assert_eq!(a.ends_at, Some(130.0));
        book.start(spec(r#"{"kind":"churn"}"#), 100.0);
        assert!(book.expire(129.9).is_empty());
        assert_eq!(book.expire(130.0), vec![FaultKind::Latency]);
        assert!(!book.is_active(FaultKind::Latency));
        assert!(book.is_active(FaultKind::Churn), "no duration: stays");
        let last = book.snapshot().history.pop();
        assert_eq!(last.as_ref().map(|e| e.reason), Some(Some(StopReason::Expired)));
        assert_eq!(last.map(|e| e.at), Some(130.0));
        assert!(book.expire(1e9).is_empty());
    }

    #[test]
    fn clear_all_stops_everything() {
        let mut book = FaultBook::new();
        book.start(spec(r#"{"kind":"down"}"#), 1.0);
        book.start(spec(r#"{"kind":"churn"}"#), 1.0);
        assert_eq!(book.clear_all(2.0), vec![FaultKind::Down, FaultKind::Churn]);
        assert!(book.snapshot().active.is_empty());
        assert!(book.clear_all(3.0).is_empty());
    }

    #[test]
    fn history_is_bounded() {
        let mut book = FaultBook::new();
        for i in 0..HISTORY_CAPACITY {
            book.start(spec(r#"{"kind":"counter-reset"}"#), i as f64);
        }
        let snap = book.snapshot();
        assert_eq!(snap.history.len(), HISTORY_CAPACITY);
        assert_eq!(snap.history[0].at, (HISTORY_CAPACITY / 2) as f64);
    }

    #[test]
    fn snapshot_serializes_as_documented() {
        let mut book = FaultBook::new();
        book.start(spec(r#"{"kind":"errors","rate":0.5,"duration_s":60}"#), 10.0);
        let json = serde_json::to_value(book.snapshot()).unwrap_or_default();
        assert_eq!(json["active"][0]["kind"], "errors");
        assert_eq!(json["active"][0]["params"]["rate"], 0.5);
        assert_eq!(json["active"][0]["started_at"], 10.0);
        assert_eq!(json["active"][0]["ends_at"], 70.0);
        assert_eq!(json["history"][0]["event"], "start");
        assert_eq!(json["history"][0]["at"], 10.0);
        assert_eq!(json["history"][0]["kind"], "errors");
    }
}
