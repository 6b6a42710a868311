//! The grader vocabulary as it is written in `lab.yaml`: one `CheckSpec` per check, whose
//! kind is the one kind-named key it carries (`promql:`, `targets:`, `alert:` …).
//!
//! Every struct denies unknown fields, so a misspelled key is reported with file:line.
//! The kind is a key rather than a `kind:` tag because serde cannot deny unknown fields
//! reliably inside internally tagged enums (serde #2123) and loses line numbers there.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use super::compare::{Approx, Cmp};
use crate::duration::Dur;

/// One check of a lab.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckSpec {
    /// Unique id within the lab, shown in reports (`node-up`).
    pub id: String,
    /// What the check proves, in the learner's words.
    pub title: String,
    /// Printed when the check fails.
    #[serde(default)]
    pub hint: String,
    /// Poll until the check holds or this much time has passed.
    #[serde(default)]
    pub within: Option<Dur>,
    /// How often to poll (default 1s).
    #[serde(default)]
    pub poll: Option<Dur>,
    /// After passing, it must keep passing this long.
    #[serde(default)]
    pub hold: Option<Dur>,
    /// How far back the check's data reaches (a query's `[20s]` window): it is judged only
    /// once that long has passed since the learner's last change, so neither a pass nor a
    /// failure rests on samples from before it.
    #[serde(default)]
    pub looks_back: Option<Dur>,
    /// Ids of checks that must pass first; when one fails this check is reported blocked.
    #[serde(default)]
    pub requires: Vec<String>,
    /// PromQL evaluated on a server.
    #[serde(default)]
    pub promql: Option<PromqlCheck>,
    /// Scrape targets.
    #[serde(default)]
    pub targets: Option<TargetsCheck>,
    /// Loaded recording or alerting rules.
    #[serde(default)]
    pub rule: Option<RuleCheck>,
    /// Alerts at Prometheus or Alertmanager.
    #[serde(default)]
    pub alert: Option<AlertCheck>,
    /// Alertmanager silences.
    #[serde(default)]
    pub silence: Option<SilenceCheck>,
    /// What the webhook sink received.
    #[serde(default)]
    pub notification: Option<NotificationCheck>,
    /// Server status endpoints (config, flags, runtimeinfo, buildinfo, tsdb, …).
    #[serde(default)]
    pub status: Option<StatusCheck>,
    /// An exporter's metrics text, parsed.
    #[serde(default)]
    pub exposition: Option<ExpositionCheck>,
    /// A generic HTTP request.
    #[serde(default)]
    pub http: Option<HttpCheck>,
    /// A file in the workspace.
    #[serde(default)]
    pub file: Option<FileCheck>,
    /// A command run inside one of the lab's containers (promtool, amtool).
    #[serde(default)]
    pub exec: Option<ExecCheck>,
    /// A learner's answer compared with a value computed live.
    #[serde(default)]
    pub answer: Option<AnswerCheck>,
    /// Docker facts about a container.
    #[serde(default)]
    pub container: Option<ContainerCheck>,
    /// TLS handshake facts of a service's port (certificate, versions, client auth).
    #[serde(default)]
    pub tls: Option<TlsCheck>,
    /// A Grafana dashboard (a provisioned file, or Grafana's API): panels, units,
    /// variables, and every panel query run against Prometheus.
    #[serde(default)]
    pub dashboard: Option<DashboardCheck>,
    /// Actions that make the stack do something, then nested checks.
    #[serde(default)]
    pub scenario: Option<ScenarioCheck>,
}

/// The one kind a check has, borrowed from its spec.
#[derive(Debug, Clone, Copy)]
pub enum Kind<'a> {
    /// `promql:`
    Promql(&'a PromqlCheck),
    /// `targets:`
    Targets(&'a TargetsCheck),
    /// `rule:`
    Rule(&'a RuleCheck),
    /// `alert:`
    Alert(&'a AlertCheck),
    /// `silence:`
    Silence(&'a SilenceCheck),
    /// `notification:`
    Notification(&'a NotificationCheck),
    /// `status:`
    Status(&'a StatusCheck),
    /// `exposition:`
    Exposition(&'a ExpositionCheck),
    /// `http:`
    Http(&'a HttpCheck),
    /// `file:`
    File(&'a FileCheck),
    /// `exec:`
    Exec(&'a ExecCheck),
    /// `answer:`
    Answer(&'a AnswerCheck),
    /// `container:`
    Container(&'a ContainerCheck),
    /// `tls:`
    Tls(&'a TlsCheck),
    /// `dashboard:`
    Dashboard(&'a DashboardCheck),
    /// `scenario:`
    Scenario(&'a ScenarioCheck),
}

/// The kind keys, for messages.
pub const KIND_KEYS: &[&str] = &[
    "promql",
    "targets",
    "rule",
    "alert",
    "silence",
    "notification",
    "status",
    "exposition",
    "http",
    "file",
    "exec",
    "answer",
    "container",
    "tls",
    "dashboard",
    "scenario",
];

impl CheckSpec {
    /// The check with scenario state (`{{ mark.X }}`, `{{ since.X }}`, `{{ state.X }}`)
    /// rendered into the texts that may hold it: queries, references, HTTP paths and bodies.
    pub fn with_state(&self, vars: &BTreeMap<String, String>) -> CheckSpec {
        let r = |t: &mut String| *t = super::template::render(t, vars);
        let mut c = self.clone();
        if let Some(p) = c.promql.as_mut() {
            if let Some(e) = p.expr.as_mut() {
                r(e);
            }
            if let Some(eq) = p.expect.equals_expr.as_mut() {
                r(&mut eq.expr);
            }
        }
        if let Some(eq) = c.rule.as_mut().and_then(|x| x.select.equivalent_to.as_mut()) {
            r(&mut eq.expr);
        }
        if let Some(h) = c.http.as_mut() {
            r(&mut h.path);
            if let Some(b) = h.body.as_mut() {
                r(b);
            }
        }
        if let Some(q) = c.answer.as_mut().and_then(|a| a.truth.promql.as_mut()) {
            r(q);
        }
        c
    }

    /// The kind of this check, or why it has none or several.
    pub fn kind(&self) -> Result<Kind<'_>, String> {
        let mut found = Vec::new();
        if let Some(x) = &self.promql {
            found.push(("promql", Kind::Promql(x)));
        }
        if let Some(x) = &self.targets {
            found.push(("targets", Kind::Targets(x)));
        }
        if let Some(x) = &self.rule {
            found.push(("rule", Kind::Rule(x)));
        }
        if let Some(x) = &self.alert {
            found.push(("alert", Kind::Alert(x)));
        }
        if let Some(x) = &self.silence {
            found.push(("silence", Kind::Silence(x)));
        }
        if let Some(x) = &self.notification {
            found.push(("notification", Kind::Notification(x)));
        }
        if let Some(x) = &self.status {
            found.push(("status", Kind::Status(x)));
        }
        if let Some(x) = &self.exposition {
            found.push(("exposition", Kind::Exposition(x)));
        }
        if let Some(x) = &self.http {
            found.push(("http", Kind::Http(x)));
        }
        if let Some(x) = &self.file {
            found.push(("file", Kind::File(x)));
        }
        if let Some(x) = &self.exec {
            found.push(("exec", Kind::Exec(x)));
        }
        if let Some(x) = &self.answer {
            found.push(("answer", Kind::Answer(x)));
        }
        if let Some(x) = &self.container {
            found.push(("container", Kind::Container(x)));
        }
        if let Some(x) = &self.tls {
            found.push(("tls", Kind::Tls(x)));
        }
        if let Some(x) = &self.dashboard {
            found.push(("dashboard", Kind::Dashboard(x)));
        }
        if let Some(x) = &self.scenario {
            found.push(("scenario", Kind::Scenario(x)));
        }
        match found.len() {
            1 => Ok(found[0].1),
            0 => Err(format!(
                "check `{}` has no kind: add exactly one of {}",
                self.id,
                KIND_KEYS.join(", ")
            )),
            _ => Err(format!(
                "check `{}` has several kinds ({}): split it into one check per kind",
                self.id,
                found.iter().map(|f| f.0).collect::<Vec<_>>().join(", ")
            )),
        }
    }
}

fn default_prometheus() -> String {
    "prometheus".into()
}
fn default_alertmanager() -> String {
    "alertmanager".into()
}
fn default_answers() -> String {
    "answers.yaml".into()
}
fn default_sink() -> String {
    "sink".into()
}
fn default_get() -> String {
    "GET".into()
}
fn default_metrics() -> String {
    "/metrics".into()
}

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

/// A JMESPath expression into a JSON (or YAML-as-JSON) document and what it must satisfy.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PathExpect {
    /// JMESPath expression.
    pub path: String,
    /// The comparator.
    pub expect: Cmp,
    /// What the path reads, in the learner's words ("remote_write entries sending to
    /// http://vm:8428/"); shown instead of the JMESPath in the report when given.
    #[serde(default)]
    pub what: Option<String>,
}

/// From when a `notification` check counts deliveries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CountedFrom {
    /// Every delivery the sink holds.
    Always,
    /// Deliveries since this `check` run started (`since_check_start`).
    CheckStart,
    /// Deliveries since the learner's last change (`since_change`).
    Change,
}

impl NotificationCheck {
    /// From when deliveries count.
    pub fn counted_from(&self) -> CountedFrom {
        match (self.since_check_start, self.since_change) {
            (true, _) => CountedFrom::CheckStart,
            (false, true) => CountedFrom::Change,
            (false, false) => CountedFrom::Always,
        }
    }
}

/// `exposition:` — fetch and parse a metrics page.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpositionCheck {
    /// The service to fetch from.
    pub service: String,
    /// The path (default `/metrics`).
    #[serde(default = "default_metrics")]
    pub path: String,
    /// Query parameters.
    #[serde(default)]
    pub query: BTreeMap<String, String>,
    /// Samples that must be present.
    #[serde(default)]
    pub samples: Vec<SampleExpect>,
    /// The set of metric family names.
    #[serde(default)]
    pub families: Option<Cmp>,
}

/// One sample expectation.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SampleExpect {
    /// Metric name.
    pub metric: String,
    /// Labels the sample must carry.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Its value.
    #[serde(default)]
    pub value: Option<Cmp>,
}

/// `http:` — a generic request.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpCheck {
    /// The service.
    pub service: String,
    /// Method (default GET).
    #[serde(default = "default_get")]
    pub method: String,
    /// Path and query.
    pub path: String,
    /// Request body.
    #[serde(default)]
    pub body: Option<String>,
    /// Request headers.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Response status.
    #[serde(default)]
    pub status: Option<Cmp>,
    /// Response body text.
    #[serde(default)]
    pub body_text: Option<Cmp>,
    /// Paths into a JSON body.
    #[serde(default)]
    pub json: Vec<PathExpect>,
}

/// `file:` — a workspace file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileCheck {
    /// Workspace-relative path.
    pub path: String,
    /// Whether it exists.
    #[serde(default)]
    pub exists: Option<bool>,
    /// The whole text.
    #[serde(default)]
    pub text: Option<Cmp>,
    /// Paths into the file parsed as YAML/JSON.
    #[serde(default)]
    pub yaml: Vec<PathExpect>,
    /// `true`: must differ from the starter; `false`: must equal it.
    #[serde(default)]
    pub changed_from_starter: Option<bool>,
    /// Paths into the file's Markdown tables: an array of tables, each an array of rows
    /// keyed by header cell (`[0][?Alert=='DemoDown'] | [0].Severity`).
    #[serde(default)]
    pub tables: Vec<PathExpect>,
}

/// `exec:` — run a command in a lab container.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExecCheck {
    /// The service whose container runs it.
    pub service: String,
    /// The command and its arguments.
    pub cmd: Vec<String>,
    /// Exit code (default 0).
    #[serde(default)]
    pub exit_code: Option<Cmp>,
    /// Standard output.
    #[serde(default)]
    pub stdout: Option<Cmp>,
    /// Standard error.
    #[serde(default)]
    pub stderr: Option<Cmp>,
    /// Copy this workspace folder into the container at `/tmp/promlab-copy/<folder>` first
    /// (the command then reads the copy), so `mutate` can change it without touching the
    /// learner's files.
    #[serde(default)]
    pub copy: Option<String>,
    /// Changes applied to the copy (mutation testing: the learner's tests must catch them).
    #[serde(default)]
    pub mutate: Vec<Mutation>,
    /// The command asks a live server (`promtool query …`), so its result can change while
    /// `within` waits. By default a command reads only files, and its failure is final.
    #[serde(default)]
    pub dynamic: bool,
}

/// A literal text replacement in one copied file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mutation {
    /// Workspace-relative file (inside the copied folder).
    pub file: String,
    /// Text to replace (must occur).
    pub replace: String,
    /// Replacement.
    pub with: String,
}

/// `answer:` — the learner's answer vs a live truth; never reveals the truth.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnswerCheck {
    /// Dotted key in the answers file (`node_series`, `versions.node`).
    pub key: String,
    /// The answers file (default `answers.yaml`).
    #[serde(default = "default_answers")]
    pub file: String,
    /// Where the right answer comes from, live.
    pub truth: Truth,
    /// Numeric tolerance; without it numbers must be equal, lists equal as sets.
    #[serde(default)]
    pub tolerance: Option<Approx>,
}

/// A value computed live.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Truth {
    /// A PromQL query.
    #[serde(default)]
    pub promql: Option<String>,
    /// The server for `promql` (default prometheus).
    #[serde(default)]
    pub server: Option<String>,
    /// How to reduce a query result: `scalar` (default; one series), `count`, `sum`,
    /// or `labels:<name>` (the set of values of a label).
    #[serde(default)]
    pub reduce: Option<String>,
    /// An HTTP GET on a service: `{service, path}`, read with `jmespath`.
    #[serde(default)]
    pub http: Option<HttpSource>,
    /// JMESPath into the `http` JSON.
    #[serde(default)]
    pub jmespath: Option<String>,
    /// A constant.
    #[serde(default, rename = "const")]
    pub constant: Option<Value>,
}

/// A GET on a service.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSource {
    /// The service.
    pub service: String,
    /// Path and query.
    pub path: String,
}

/// `container:` — Docker facts.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContainerCheck {
    /// The service.
    pub service: String,
    /// Running or not.
    #[serde(default)]
    pub running: Option<bool>,
    /// The user it runs as.
    #[serde(default)]
    pub user: Option<Cmp>,
    /// Restart count.
    #[serde(default)]
    pub restarts: Option<Cmp>,
    /// Memory limit in bytes.
    #[serde(default)]
    pub memory_limit: Option<Cmp>,
    /// Privileged or not.
    #[serde(default)]
    pub privileged: Option<bool>,
    /// Read-only root filesystem.
    #[serde(default)]
    pub readonly_rootfs: Option<bool>,
    /// The command line, joined with spaces.
    #[serde(default)]
    pub cmd: Option<Cmp>,
}

/// `tls:` — a TLS handshake with a service's port, and what its certificate says.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsCheck {
    /// The service.
    pub service: String,
    /// The container port (default: the service's main port).
    #[serde(default)]
    pub port: Option<u16>,
    /// The name sent as SNI and verified against the certificate (default: the service).
    #[serde(default)]
    pub server_name: Option<String>,
    /// A client certificate to present (workspace-relative PEM files).
    #[serde(default)]
    pub client_cert: Option<ClientCert>,
    /// What must hold.
    pub expect: TlsExpect,
}

/// A client certificate and its key, workspace-relative PEM files.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientCert {
    /// The certificate (chain).
    pub cert: String,
    /// Its private key.
    pub key: String,
}

/// `tls.expect`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsExpect {
    /// `ok` (default) or `fails`: whether a TLS session can be opened and used.
    #[serde(default)]
    pub handshake: Option<Handshake>,
    /// A workspace CA file the served chain must verify against, for `server_name`.
    #[serde(default)]
    pub verifies_with: Option<String>,
    /// The certificate's subject alternative names (DNS names and IP addresses).
    #[serde(default)]
    pub san: Option<Cmp>,
    /// Days until the certificate expires.
    #[serde(default)]
    pub expires_in_days: Option<Cmp>,
    /// The issuer's distinguished name (`CN=promlab lab CA`).
    #[serde(default)]
    pub issuer: Option<Cmp>,
    /// Protocol versions the server must accept (`TLS1.2`, `TLS1.3`).
    #[serde(default)]
    pub accepts: Vec<TlsVersion>,
    /// Protocol versions the server must refuse.
    #[serde(default)]
    pub rejects: Vec<TlsVersion>,
    /// Whether a client without a certificate is refused.
    #[serde(default)]
    pub client_auth_required: Option<bool>,
}

/// `dashboard:` — a Grafana dashboard's content.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DashboardCheck {
    /// A dashboard JSON file in the workspace (what Grafana's file provider loads).
    #[serde(default)]
    pub file: Option<String>,
    /// Or: the dashboard's uid in Grafana (`GET /api/dashboards/uid/:uid`).
    #[serde(default)]
    pub uid: Option<String>,
    /// The Grafana service (uid mode).
    #[serde(default = "default_grafana")]
    pub grafana: String,
    /// The Prometheus service panel queries run against.
    #[serde(default = "default_prometheus")]
    pub server: String,
    /// What must hold.
    #[serde(default)]
    pub expect: DashboardExpect,
}

fn default_grafana() -> String {
    "grafana".into()
}

/// `dashboard.expect`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DashboardExpect {
    /// The dashboard title.
    #[serde(default)]
    pub title: Option<Cmp>,
    /// The number of panels (rows' panels included, rows not).
    #[serde(default)]
    pub panels: Option<Cmp>,
    /// The panels' types, as a list (`{superset_of: [timeseries, stat]}`).
    #[serde(default)]
    pub panel_types: Option<Cmp>,
    /// Unit per panel title (`fieldConfig.defaults.unit`).
    #[serde(default)]
    pub units: BTreeMap<String, Cmp>,
    /// The template variables' names, as a list.
    #[serde(default)]
    pub variables: Option<Cmp>,
    /// Grafana's meta.provisioned (uid mode).
    #[serde(default)]
    pub provisioned: Option<Cmp>,
    /// Grafana's meta.folderTitle (uid mode).
    #[serde(default)]
    pub folder: Option<Cmp>,
    /// What every panel must have.
    #[serde(default)]
    pub every_panel: EveryPanel,
    /// What every panel query must be and do.
    #[serde(default)]
    pub every_target: EveryTarget,
}

/// `dashboard.expect.every_panel`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EveryPanel {
    /// Its description.
    #[serde(default)]
    pub description: Option<Cmp>,
    /// Its datasource uid (`{regex: '^\$\{?datasource'}` for a variable).
    #[serde(default)]
    pub datasource: Option<Cmp>,
}

/// `dashboard.expect.every_target`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EveryTarget {
    /// No empty query.
    #[serde(default)]
    pub non_empty: bool,
    /// Every range is Grafana's `[$__rate_interval]`.
    #[serde(default)]
    pub rate_interval: bool,
    /// Structure rules, as for `promql.ast` (judged with Grafana's variables substituted).
    #[serde(default)]
    pub ast: Option<AstRules>,
    /// Each query, variables substituted, returns data from Prometheus now.
    #[serde(default)]
    pub returns_data: bool,
}

/// `handshake:` outcomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Handshake {
    /// A session opens and answers.
    Ok,
    /// No session can be opened (or the server drops it at once).
    Fails,
}

/// A TLS protocol version a client can offer (rustls speaks 1.2 and 1.3 only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum TlsVersion {
    /// TLS 1.2.
    #[serde(rename = "TLS1.2")]
    Tls12,
    /// TLS 1.3.
    #[serde(rename = "TLS1.3")]
    Tls13,
}

impl std::fmt::Display for TlsVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TlsVersion::Tls12 => "TLS1.2",
            TlsVersion::Tls13 => "TLS1.3",
        })
    }
}

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
    pub kind: String,
    /// Share of failing requests for `errors`.
    #[serde(default)]
    pub rate: Option<f64>,
    /// Added latency for `latency`, milliseconds.
    #[serde(default)]
    pub latency_ms: Option<u64>,
    /// Clears itself after this long.
    #[serde(default)]
    pub duration: Option<Dur>,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_kind_is_required() {
        let c: CheckSpec = serde_yaml::from_str("id: a\ntitle: t\n").unwrap();
        assert!(c.kind().unwrap_err().contains("has no kind"));
        let c: CheckSpec =
            serde_yaml::from_str("id: a\ntitle: t\npromql: {expr: up}\ntargets: {}\n").unwrap();
        assert!(c.kind().unwrap_err().contains("several kinds (promql, targets)"));
        let c: CheckSpec = serde_yaml::from_str("id: a\ntitle: t\npromql: {expr: up}\n").unwrap();
        assert!(matches!(c.kind(), Ok(Kind::Promql(_))));
    }

    #[test]
    fn misspelled_fields_are_rejected_in_every_kind() {
        for (kind, body) in [
            ("promql", "{expr: up, expct: {}}"),
            ("targets", "{pool: x, expect: {actve: 1}}"),
            ("rule", "{select: {nam: x}}"),
            ("alert", "{alertnam: x}"),
            ("silence", "{matcher: x}"),
            ("notification", "{hook: a, stauts: firing}"),
            ("status", "{endpoint: flags, expect: [{path: a, expct: 1}]}"),
            ("exposition", "{service: a, sample: []}"),
            ("http", "{service: a, path: /, stauts: 200}"),
            ("file", "{path: a, exist: true}"),
            ("exec", "{service: a, command: [x]}"),
            ("answer", "{key: a, truth: {promq: up}}"),
            ("container", "{service: a, runing: true}"),
            ("scenario", "{steps: [{wiat: 1s}]}"),
        ] {
            let yaml = format!("id: a\ntitle: t\n{kind}: {body}\n");
            let err = serde_yaml::from_str::<CheckSpec>(&yaml).unwrap_err();
            assert!(err.to_string().contains("unknown field"), "{kind}: {err}");
            assert_eq!(err.location().map(|l| l.line()), Some(3), "{kind}: {err}");
        }
    }
}
