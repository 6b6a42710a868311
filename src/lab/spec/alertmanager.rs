//! The Alertmanager kinds as written in `lab.yaml`: `alert:`, `silence:`, `notification:`.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{KindSpec, default_alertmanager, default_prometheus, default_sink};
use crate::lab::compare::Cmp;

/// `alert:` — alerts at Prometheus or Alertmanager.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertCheck {
    /// `prometheus` (default) or `alertmanager`.
    #[serde(default = "default_prometheus")]
    pub at: String,
    /// Service to ask (defaults to the `at` service).
    #[serde(default)]
    pub server: Option<String>,
    /// Alert name.
    #[serde(default)]
    pub alertname: Option<String>,
    /// Other labels the alert must have to be selected.
    #[serde(default)]
    pub labels: BTreeMap<String, Cmp>,
    /// What must hold.
    #[serde(default)]
    pub expect: AlertExpect,
}

/// Expectations on selected alerts.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertExpect {
    /// Number of selected alerts (default ≥ 1).
    #[serde(default)]
    pub count: Option<Cmp>,
    /// `pending`/`firing` at Prometheus; `active`/`suppressed` at Alertmanager.
    #[serde(default)]
    pub state: Option<Cmp>,
    /// Labels of each alert.
    #[serde(default)]
    pub labels: BTreeMap<String, Cmp>,
    /// Annotations of each alert (templates expanded).
    #[serde(default)]
    pub annotations: BTreeMap<String, Cmp>,
    /// Receivers of each alert (Alertmanager only).
    #[serde(default)]
    pub receivers: Option<Cmp>,
    /// Whether each alert is inhibited (Alertmanager only).
    #[serde(default)]
    pub inhibited: Option<bool>,
    /// Whether each alert is silenced (Alertmanager only).
    #[serde(default)]
    pub silenced: Option<bool>,
}

/// `silence:` — silences at Alertmanager.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SilenceCheck {
    /// The Alertmanager service.
    #[serde(default = "default_alertmanager")]
    pub server: String,
    /// Silences with a matcher on this label name …
    #[serde(default)]
    pub matcher_name: Option<String>,
    /// … whose value matches this.
    #[serde(default)]
    pub matcher_value: Option<Cmp>,
    /// Only silences in this state (default `active`).
    #[serde(default)]
    pub state: Option<String>,
    /// What must hold.
    #[serde(default)]
    pub expect: SilenceExpect,
}

/// Expectations on selected silences.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SilenceExpect {
    /// Number selected (default ≥ 1).
    #[serde(default)]
    pub count: Option<Cmp>,
    /// Comment of each.
    #[serde(default)]
    pub comment: Option<Cmp>,
    /// `createdBy` of each.
    #[serde(default)]
    pub created_by: Option<Cmp>,
    /// Length of each (endsAt − startsAt), seconds.
    #[serde(default)]
    pub duration: Option<Cmp>,
    /// No matcher may match everything (`=~".*"`, `=~".+"`).
    #[serde(default)]
    pub no_broad_matchers: bool,
}

/// `notification:` — notifications recorded by the webhook sink.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotificationCheck {
    /// The sink service.
    #[serde(default = "default_sink")]
    pub server: String,
    /// The hook name (`/hook/<name>`).
    pub hook: String,
    /// Only notifications with this status (`firing`/`resolved`).
    #[serde(default)]
    pub status: Option<String>,
    /// Only notifications containing an alert with this name.
    #[serde(default)]
    pub alertname: Option<String>,
    /// Only notifications received after this check run started (default false: any).
    #[serde(default)]
    pub since_check_start: bool,
    /// Only notifications received after the learner's last change (default false: any), so
    /// that notifications delivered under an earlier, right configuration do not count.
    #[serde(default)]
    pub since_change: bool,
    /// Only notifications received after the scenario step `mark: NAME` ran, so that
    /// deliveries from before an action (an earlier run's late resolved notification, a
    /// group's change) do not count, without emptying the sink for other checks.
    #[serde(default)]
    pub since_mark: Option<String>,
    /// What must hold.
    #[serde(default)]
    pub expect: NotificationExpect,
}

/// Expectations on selected notifications.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotificationExpect {
    /// Number of notifications (default ≥ 1).
    #[serde(default)]
    pub count: Option<Cmp>,
    /// Alerts in each notification.
    #[serde(default)]
    pub alerts: Option<Cmp>,
    /// `groupLabels` of each.
    #[serde(default)]
    pub group_labels: BTreeMap<String, Cmp>,
    /// The receiver named in each.
    #[serde(default)]
    pub receiver: Option<Cmp>,
    /// `commonLabels` of each.
    #[serde(default)]
    pub common_labels: BTreeMap<String, Cmp>,
}

/// From when a `notification` check counts deliveries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CountedFrom<'a> {
    /// Every delivery the sink holds.
    Always,
    /// Deliveries since this `check` run started (`since_check_start`).
    CheckStart,
    /// Deliveries since the learner's last change (`since_change`).
    Change,
    /// Deliveries since the scenario step `mark: NAME` ran (`since_mark`).
    Mark(&'a str),
}

impl NotificationCheck {
    /// From when deliveries count.
    pub fn counted_from(&self) -> CountedFrom<'_> {
        match (
            self.since_check_start,
            self.since_change,
            self.since_mark.as_deref(),
        ) {
            (true, _, _) => CountedFrom::CheckStart,
            (false, true, _) => CountedFrom::Change,
            (false, false, Some(m)) => CountedFrom::Mark(m),
            (false, false, None) => CountedFrom::Always,
        }
    }
}

impl KindSpec for AlertCheck {}

impl KindSpec for SilenceCheck {}

impl KindSpec for NotificationCheck {
    fn validate(&self, id: &str, _check_path: &dyn Fn(&str) -> Result<(), String>) -> Result<(), String> {
        let windows = [
            self.since_check_start,
            self.since_change,
            self.since_mark.is_some(),
        ];
        if windows.iter().filter(|w| **w).count() > 1 {
            return Err(format!(
                "check `{id}`: write one of since_check_start (deliveries during this check run), since_change (since the learner's last change) or since_mark (since a scenario `mark:` step)"
            ));
        }
        Ok(())
    }
}
