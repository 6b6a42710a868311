//! The `scenario:` kind as written in `lab.yaml`: steps that disturb the stack, then nested checks.

use std::collections::BTreeMap;

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{CheckSpec, KindSpec, default_alertmanager, default_prometheus};
use crate::duration::Dur;

/// `scenario:` — actions, then nested checks; `cleanup` always runs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioCheck {
    /// The steps, in order.
    pub steps: Vec<Step>,
    /// Steps that always run at the end.
    #[serde(default)]
    pub cleanup: Vec<Step>,
}

/// One scenario step: exactly one field set.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Record the current time under this name: later nested checks may use
    /// `{{ mark.NAME }}` (unix seconds) and `{{ since.NAME }}` (whole seconds since, at least 1).
    #[serde(default)]
    pub mark: Option<String>,
    /// Record a query's value now under a name, for later nested checks as
    /// `{{ state.NAME }}` (a baseline: `sum(demo_orders_total) - {{ state.before }}`).
    #[serde(default)]
    pub record: Option<RecordStep>,
    /// Wait this long.
    #[serde(default)]
    pub wait: Option<Dur>,
    /// Start a demo fault.
    #[serde(default)]
    pub fault: Option<FaultStep>,
    /// Clear faults on a service (`all` = every demo).
    #[serde(default)]
    pub clear_fault: Option<String>,
    /// Post alerts to Alertmanager.
    #[serde(default)]
    pub post_alerts: Option<PostAlerts>,
    /// Stop a service's container.
    #[serde(default)]
    pub stop: Option<String>,
    /// Start a service's container.
    #[serde(default)]
    pub start: Option<String>,
    /// Restart a service's container.
    #[serde(default)]
    pub restart: Option<String>,
    /// Reset the sink's notifications.
    #[serde(default)]
    pub sink_reset: Option<bool>,
    /// A nested check.
    #[serde(default)]
    pub check: Option<Box<CheckSpec>>,
}

/// A value recorded during a scenario.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordStep {
    /// The name (`{{ state.NAME }}`).
    pub name: String,
    /// A query returning one series or a scalar.
    pub promql: String,
    /// The Prometheus-compatible service to ask.
    #[serde(default = "default_prometheus")]
    pub server: String,
}

/// A demo fault.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultStep {
    /// The demo service.
    pub service: String,
    /// `errors`, `latency`, `down`, `cardinality`, `churn`, `counter-reset`.
    pub kind: FaultKind,
    /// Share of failing requests for `errors`.
    #[serde(default)]
    pub rate: Option<f64>,
    /// Added latency for `latency`, milliseconds.
    #[serde(default)]
    pub latency_ms: Option<u64>,
    /// Clears itself after this long.
    #[serde(default)]
    pub duration: Option<Dur>,
    /// Restricts `errors` or `latency` to one route (`/api/checkout`); omitted = every route.
    #[serde(default)]
    pub route: Option<String>,
}

/// Alerts posted to Alertmanager's `/api/v2/alerts`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostAlerts {
    /// The Alertmanager service.
    #[serde(default = "default_alertmanager")]
    pub server: String,
    /// The alerts: label sets plus optional annotations.
    pub alerts: Vec<PostedAlert>,
}

/// One posted alert.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostedAlert {
    /// Labels (must include `alertname`).
    pub labels: BTreeMap<String, String>,
    /// Annotations.
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

impl KindSpec for ScenarioCheck {
    fn validate(&self, id: &str, _check_path: &dyn Fn(&str) -> Result<(), String>) -> Result<(), String> {
        use crate::component::fault::ROUTES;
        let faults = self
            .steps
            .iter()
            .chain(&self.cleanup)
            .filter_map(|s| s.fault.as_ref());
        for f in faults {
            if let Some(r) = f.route.as_deref().filter(|r| !ROUTES.contains(r)) {
                return Err(format!(
                    "check `{id}`: fault route \"{r}\" is not a route the demo serves: use one of {}",
                    ROUTES.join(", ")
                ));
            }
            if f.route.is_some() && !matches!(f.kind, FaultKind::Errors | FaultKind::Latency) {
                return Err(format!(
                    "check `{id}`: a `{}` fault has no route: only errors and latency faults take `route:`",
                    f.kind
                ));
            }
        }
        Ok(())
    }

    fn nested(&self) -> Vec<&CheckSpec> {
        self.steps
            .iter()
            .chain(&self.cleanup)
            .filter_map(|s| s.check.as_deref())
            .collect()
    }
}

/// The kinds of fault the demo can simulate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultKind {
    /// A share of requests answers 500.
    Errors,
    /// Every request takes longer.
    Latency,
    /// `/metrics`, `/healthz` and `/ready` answer 503.
    Down,
    /// `demo_sessions{user_id}` explodes to hundreds of series.
    Cardinality,
    /// Every scrape exposes a fresh `demo_churn_info{request_id}` series.
    Churn,
    /// All counters and histograms restart from zero (one-shot).
    CounterReset,
}

impl FaultKind {
    /// Every kind, in the order they are listed to users.
    pub const ALL: [FaultKind; 6] = [
        FaultKind::Errors,
        FaultKind::Latency,
        FaultKind::Down,
        FaultKind::Cardinality,
        FaultKind::Churn,
        FaultKind::CounterReset,
    ];

    /// The name used in the API and in logs.
    pub fn as_str(self) -> &'static str {
        match self {
            FaultKind::Errors => "errors",
            FaultKind::Latency => "latency",
            FaultKind::Down => "down",
            FaultKind::Cardinality => "cardinality",
            FaultKind::Churn => "churn",
            FaultKind::CounterReset => "counter-reset",
        }
    }

    /// One-shot kinds take effect once and are never listed as active.
    pub fn is_one_shot(self) -> bool {
        matches!(self, FaultKind::CounterReset)
    }
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
