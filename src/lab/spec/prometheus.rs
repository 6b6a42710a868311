//! The Prometheus kinds as written in `lab.yaml`: `promql:`, `targets:`, `rule:`, `status:`.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{KindSpec, PathExpect, default_prometheus};
use crate::duration::Dur;
use crate::lab::compare::{Approx, Cmp};

/// `promql:` — evaluate a query and compare its result.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PromqlCheck {
    /// Service that answers the Prometheus query API.
    #[serde(default = "default_prometheus")]
    pub server: String,
    /// The query (lab-authored).
    #[serde(default)]
    pub expr: Option<String>,
    /// A workspace file holding the learner's query.
    #[serde(default)]
    pub expr_file: Option<String>,
    /// Structural rules on the query text (parsed, never string-matched).
    #[serde(default)]
    pub ast: Option<AstRules>,
    /// What the result must look like.
    #[serde(default)]
    pub expect: PromqlExpect,
}

/// Expectations on a query result.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PromqlExpect {
    /// `vector`, `scalar`, `matrix` or `string`.
    #[serde(default)]
    pub result_type: Option<String>,
    /// The number of series.
    #[serde(default)]
    pub series: Option<Cmp>,
    /// Every series' value (a scalar result counts as one series).
    #[serde(default)]
    pub value: Option<Cmp>,
    /// At least one series' value.
    #[serde(default)]
    pub any_value: Option<Cmp>,
    /// Labels every series must have.
    #[serde(default)]
    pub labels: BTreeMap<String, Cmp>,
    /// Labels no series may have.
    #[serde(default)]
    pub no_label: Vec<String>,
    /// Same series and values as a reference query, evaluated at the same instant.
    #[serde(default)]
    pub equals_expr: Option<EqualsExpr>,
    /// The query must fail; the error text is compared.
    #[serde(default)]
    pub error: Option<Cmp>,
    /// The warnings and infos Prometheus attaches (a list of strings).
    #[serde(default)]
    pub notes: Option<Cmp>,
    /// Samples the query touched (Prometheus' query statistics, `totalQueryableSamples`):
    /// the cost of a query, e.g. `{le: 500}` where a recorded series is the cheap answer.
    #[serde(default)]
    pub samples: Option<Cmp>,
}

/// A hidden reference query the result must equal.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EqualsExpr {
    /// The reference query.
    pub expr: String,
    /// Allowed difference per series (default: 1e-6 relative).
    #[serde(default)]
    pub tolerance: Option<Approx>,
    /// Compare series by these labels only (default: all labels).
    #[serde(default)]
    pub match_on: Option<Vec<String>>,
    /// The server that evaluates the reference (default: the check's own server).
    #[serde(default)]
    pub server: Option<String>,
}

/// Structural rules on PromQL text, checked on the parsed expression.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AstRules {
    /// Functions that must appear.
    #[serde(default)]
    pub require_functions: Vec<String>,
    /// Functions that must not appear.
    #[serde(default)]
    pub forbid_functions: Vec<String>,
    /// Aggregations that must appear (`sum`, `topk`, …).
    #[serde(default)]
    pub require_aggregations: Vec<String>,
    /// Aggregations that must not appear (`avg` where averaging ratios is the mistake).
    #[serde(default)]
    pub forbid_aggregations: Vec<String>,
    /// Metric names that must be selected.
    #[serde(default)]
    pub require_metrics: Vec<String>,
    /// Metric names that must not be selected (the raw series a recorded one replaces).
    #[serde(default)]
    pub forbid_metrics: Vec<String>,
    /// Minimum range of every range selector inside `rate`/`increase`-like functions.
    #[serde(default)]
    pub min_range: Option<Dur>,
    /// Forbid subqueries.
    #[serde(default)]
    pub forbid_subquery: bool,
    /// Forbid selecting metric names by regex (`{__name__=~"…"}`).
    #[serde(default)]
    pub forbid_name_regex: bool,
    /// Every range selector's range in seconds, wherever it appears (`range: 60` = `[1m]`).
    #[serde(default)]
    pub range: Option<Cmp>,
    /// Like `range`, but a query with no range selector passes: one that reads recorded
    /// series (`sum by (job) (job_route:x:rate1m)`) instead of a raw counter's window.
    #[serde(default)]
    pub ranges: Option<Cmp>,
    /// Forbid a range function (`rate`, `increase`, …) over a recorded series (a name with a
    /// `:`): the rate of a recorded sum breaks at every counter reset.
    #[serde(default)]
    pub forbid_rate_of_recorded: bool,
    /// Constant arguments of functions, by function and 0-based position, evaluated when
    /// written as arithmetic (`{predict_linear: {1: {eq: 14400}}}` accepts `4 * 3600`): for a
    /// value a check cannot tell apart on live data (a horizon on a nearly static disk).
    #[serde(default)]
    pub args: BTreeMap<String, BTreeMap<usize, Cmp>>,
    /// Label matchers judged by meaning, by metric then label: every selector of the metric
    /// must accept each `accepts` value and reject each `rejects` value
    /// (`{demo_http_requests_total: {code: {accepts: ["500", "503"], rejects: ["200"]}}}`
    /// passes `code=~"5.."` and fails `code="500"`).
    #[serde(default)]
    pub matchers: BTreeMap<String, BTreeMap<String, LabelValues>>,
    /// Forbid reading shifted data: `offset` or `@` on any selector or subquery.
    #[serde(default)]
    pub forbid_time_shift: bool,
}

impl AstRules {
    /// The sentence of the first rule that cannot be judged, for check `id`.
    pub fn problem(&self, id: &str) -> Option<String> {
        for (metric, labels) in &self.matchers {
            for (label, v) in labels {
                let at = format!("check `{id}`: ast.matchers.{metric}.{label}");
                if v.accepts.is_empty() && v.rejects.is_empty() {
                    return Some(format!("{at} lists no value: give `accepts:` and/or `rejects:`"));
                }
                if let Some(both) = v.accepts.iter().find(|a| v.rejects.contains(a)) {
                    return Some(format!(
                        "{at} both accepts and rejects \"{both}\": keep it in one list"
                    ));
                }
            }
        }
        None
    }
}

/// What a label's matchers must do to label values, whatever operators spell it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabelValues {
    /// Values every selector must select (a series with this value is kept).
    #[serde(default)]
    pub accepts: Vec<String>,
    /// Values every selector must leave out (a value the lab's data may not even serve).
    #[serde(default)]
    pub rejects: Vec<String>,
    /// Which selectors of the metric are judged.
    #[serde(default)]
    pub scope: MatcherScope,
}

/// The selectors a `matchers:` rule judges.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatcherScope {
    /// Every selector of the metric (one without a matcher on the label accepts every value).
    #[default]
    Every,
    /// Only selectors that match on the label, and there must be one: for a ratio whose
    /// denominator reads every value (`errors / all requests`).
    Filtered,
}

/// `targets:` — scrape target state from `/api/v1/targets`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetsCheck {
    /// The Prometheus service.
    #[serde(default = "default_prometheus")]
    pub server: String,
    /// Scrape pool (the `job_name`); omitted = every pool.
    #[serde(default)]
    pub pool: Option<String>,
    /// Only targets whose labels match these.
    #[serde(default)]
    pub labels: BTreeMap<String, Cmp>,
    /// What must hold.
    #[serde(default)]
    pub expect: TargetsExpect,
}

/// Expectations on the selected targets.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetsExpect {
    /// The number of active targets selected.
    #[serde(default)]
    pub active: Option<Cmp>,
    /// The number of dropped targets of the pool.
    #[serde(default)]
    pub dropped: Option<Cmp>,
    /// Health of every selected target (`up`).
    #[serde(default)]
    pub health: Option<Cmp>,
    /// Labels every selected target must carry.
    #[serde(default)]
    pub labels: BTreeMap<String, Cmp>,
    /// `scrapeInterval` of every target (`10s`).
    #[serde(default)]
    pub scrape_interval: Option<Cmp>,
    /// `scrapeTimeout` of every target.
    #[serde(default)]
    pub scrape_timeout: Option<Cmp>,
    /// `scrapeUrl` of every target.
    #[serde(default)]
    pub scrape_url: Option<Cmp>,
    /// `lastError` of every target.
    #[serde(default)]
    pub last_error: Option<Cmp>,
    /// A metric every selected (healthy) target must expose under its own job and instance
    /// labels (`node_exporter_build_info`): proves what the job scrapes, not only that it is up.
    #[serde(default)]
    pub serves: Option<String>,
}

/// `rule:` — loaded rules from `/api/v1/rules`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleCheck {
    /// The Prometheus service.
    #[serde(default = "default_prometheus")]
    pub server: String,
    /// Which rules.
    #[serde(default)]
    pub select: RuleSelect,
    /// What must hold for each selected rule.
    #[serde(default)]
    pub expect: RuleExpect,
}

/// Rule selection; every field set must match.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSelect {
    /// Rule name (alert name or recorded series name).
    #[serde(default)]
    pub name: Option<Cmp>,
    /// `alerting` or `recording`.
    #[serde(default, rename = "type")]
    pub rule_type: Option<String>,
    /// Group name.
    #[serde(default)]
    pub group: Option<Cmp>,
    /// Rules whose query is equivalent to this reference (names are not part of the task).
    #[serde(default)]
    pub equivalent_to: Option<EqualsExpr>,
}

/// Expectations on selected rules.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleExpect {
    /// How many rules are selected (default: ≥ 1).
    #[serde(default)]
    pub count: Option<Cmp>,
    /// `ok`, `err`, `unknown`.
    #[serde(default)]
    pub health: Option<Cmp>,
    /// The `for:` of an alerting rule, in seconds (or a duration string).
    #[serde(rename = "for", default)]
    pub for_secs: Option<Cmp>,
    /// `keep_firing_for`, in seconds.
    #[serde(default)]
    pub keep_firing_for: Option<Cmp>,
    /// Rule labels.
    #[serde(default)]
    pub labels: BTreeMap<String, Cmp>,
    /// Rule annotations (templates unexpanded).
    #[serde(default)]
    pub annotations: BTreeMap<String, Cmp>,
    /// Group evaluation interval in seconds.
    #[serde(default)]
    pub interval: Option<Cmp>,
    /// The group's `limit` (0 = none).
    #[serde(default)]
    pub limit: Option<Cmp>,
    /// The rule's `lastError` ("" when healthy).
    #[serde(default)]
    pub last_error: Option<Cmp>,
    /// The rule's last evaluation time in seconds.
    #[serde(default)]
    pub evaluation_time: Option<Cmp>,
    /// The rule's query must produce this many series now.
    #[serde(default)]
    pub evaluates: Option<Cmp>,
    /// Structural rules on the rule's query.
    #[serde(default)]
    pub ast: Option<AstRules>,
}

/// `status:` — a server status endpoint, read with JMESPath-like dotted paths.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusCheck {
    /// The service.
    #[serde(default = "default_prometheus")]
    pub server: String,
    /// Which document: Prometheus' or Alertmanager's.
    pub endpoint: Endpoint,
    /// Path expectations.
    pub expect: Vec<PathExpect>,
}

/// A status document a `status` check reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Endpoint {
    /// Prometheus' loaded configuration, parsed (`/api/v1/status/config`).
    Config,
    /// Prometheus' command-line flags.
    Flags,
    /// Prometheus' runtime information.
    Runtimeinfo,
    /// Prometheus' build information.
    Buildinfo,
    /// Prometheus' TSDB statistics.
    Tsdb,
    /// The Alertmanagers Prometheus sends to (`/api/v1/alertmanagers`).
    Alertmanagers,
    /// Alertmanager's status (`/api/v2/status`).
    AmStatus,
    /// Alertmanager's loaded configuration, parsed.
    AmConfig,
    /// Alertmanager's alert groups (`/api/v2/alerts/groups`).
    AmGroups,
}

impl Endpoint {
    /// The API path, and the JSON pointer of an embedded YAML document to parse.
    pub fn path(self) -> (&'static str, Option<&'static str>) {
        match self {
            Endpoint::Config => ("/api/v1/status/config", Some("/data/yaml")),
            Endpoint::Flags => ("/api/v1/status/flags", None),
            Endpoint::Runtimeinfo => ("/api/v1/status/runtimeinfo", None),
            Endpoint::Buildinfo => ("/api/v1/status/buildinfo", None),
            Endpoint::Tsdb => ("/api/v1/status/tsdb", None),
            Endpoint::Alertmanagers => ("/api/v1/alertmanagers", None),
            Endpoint::AmStatus => ("/api/v2/status", None),
            Endpoint::AmConfig => ("/api/v2/status", Some("/config/original")),
            Endpoint::AmGroups => ("/api/v2/alerts/groups", None),
        }
    }

    /// Alertmanager answers without Prometheus' `{status, data}` envelope.
    pub fn is_alertmanager(self) -> bool {
        matches!(self, Endpoint::AmStatus | Endpoint::AmConfig | Endpoint::AmGroups)
    }

    /// What the document holds changes only with a reload or a restart, so waiting cannot
    /// change a verdict on it.
    pub fn is_static(self) -> bool {
        matches!(
            self,
            Endpoint::Config | Endpoint::Flags | Endpoint::Buildinfo | Endpoint::AmConfig
        )
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = match self {
            Endpoint::Config => "config",
            Endpoint::Flags => "flags",
            Endpoint::Runtimeinfo => "runtimeinfo",
            Endpoint::Buildinfo => "buildinfo",
            Endpoint::Tsdb => "tsdb",
            Endpoint::Alertmanagers => "alertmanagers",
            Endpoint::AmStatus => "am_status",
            Endpoint::AmConfig => "am_config",
            Endpoint::AmGroups => "am_groups",
        };
        f.write_str(s)
    }
}

impl KindSpec for PromqlCheck {
    fn render_state(&mut self, render: &dyn Fn(&mut String)) {
        if let Some(e) = self.expr.as_mut() {
            render(e);
        }
        if let Some(eq) = self.expect.equals_expr.as_mut() {
            render(&mut eq.expr);
        }
    }

    fn validate(&self, id: &str, check_path: &dyn Fn(&str) -> Result<(), String>) -> Result<(), String> {
        if let Some(f) = &self.expr_file {
            check_path(f)?;
        }
        if self.expr.is_some() == self.expr_file.is_some() {
            return Err(format!(
                "check `{id}`: write exactly one of `expr:` (a query) or `expr_file:` (the learner's query file)"
            ));
        }
        if let Some(p) = self.ast.as_ref().and_then(|a| a.problem(id)) {
            return Err(p);
        }
        Ok(())
    }
}

impl KindSpec for TargetsCheck {}

impl KindSpec for RuleCheck {
    fn render_state(&mut self, render: &dyn Fn(&mut String)) {
        if let Some(eq) = self.select.equivalent_to.as_mut() {
            render(&mut eq.expr);
        }
    }

    fn validate(&self, id: &str, _check_path: &dyn Fn(&str) -> Result<(), String>) -> Result<(), String> {
        match self.expect.ast.as_ref().and_then(|a| a.problem(id)) {
            Some(p) => Err(p),
            None => Ok(()),
        }
    }
}

impl KindSpec for StatusCheck {
    fn path_expects(&self) -> Vec<&PathExpect> {
        self.expect.iter().collect()
    }
}
