//! The grader: runs a lab's checks against the live stack and reports, for each, what it
//! expected, what it saw and a hint. A failing check is an outcome, never an error.
//!
//! Checks are grouped by the system they talk to: `prometheus.rs`, `alertmanager.rs`,
//! `workspace.rs` (files and answers), `docker.rs` (exec, container), `http.rs`.

pub mod alertmanager;
pub mod compare;
pub mod docker;
pub mod hints;
pub mod http;
pub mod prometheus;
pub mod reload;
pub mod scenario;
pub mod spec;
pub mod template;
pub mod workspace;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures::future::BoxFuture;
use serde::Serialize;
use serde_json::Value;

use crate::lab::{Lab, LabId};
use crate::runtime::docker::Docker;
use spec::{CheckSpec, Kind};

/// A service of the running lab, as checks see it.
#[derive(Debug, Clone)]
pub struct Svc {
    /// Base URL on the host (`http://127.0.0.1:PORT`), when it publishes its main port.
    pub url: Option<String>,
    /// Container id.
    pub id: String,
    /// Role label.
    pub role: String,
    /// Whether it was running when the check began.
    pub running: bool,
    /// Reload path.
    pub reload: Option<String>,
    /// Workspace folders bound into it (relative).
    pub binds: Vec<String>,
}

/// Everything a check may consult.
#[derive(Debug)]
pub struct Ctx {
    /// The lab (manifest rendered with this learner's parameters).
    pub lab: Lab,
    /// The workspace folder.
    pub workspace: PathBuf,
    /// Services by name.
    pub services: BTreeMap<String, Svc>,
    /// HTTP client.
    pub client: reqwest::Client,
    /// Docker.
    pub docker: Docker,
    /// Unix time the check run started.
    pub started_unix: f64,
    /// Scenario marks (name → unix time).
    pub marks: Mutex<BTreeMap<String, f64>>,
    /// Cap on every `within` (validate's starter phase uses a short one).
    pub within_cap: Option<Duration>,
    /// Unix time of the newest configuration change applied: `within` counts from here, so
    /// a change made minutes ago is not waited for again.
    pub settled_since: f64,
}

/// The result of evaluating a check once.
#[derive(Debug, Clone, Default)]
pub struct Eval {
    /// Whether it holds.
    pub pass: bool,
    /// What was expected.
    pub expected: String,
    /// What was seen.
    pub observed: String,
    /// Extra lines (per-series or per-target details, computed hints).
    pub detail: Vec<String>,
    /// Waiting cannot change this verdict (the learner's file says so, the loaded config
    /// has no such job, …): `within` stops polling.
    pub settled: bool,
}

impl Eval {
    /// A passing result.
    pub fn pass(expected: impl Into<String>, observed: impl Into<String>) -> Self {
        Eval {
            pass: true,
            expected: expected.into(),
            observed: observed.into(),
            detail: Vec::new(),
            settled: false,
        }
    }

    /// A failing result.
    pub fn fail(expected: impl Into<String>, observed: impl Into<String>) -> Self {
        Eval {
            pass: false,
            expected: expected.into(),
            observed: observed.into(),
            detail: Vec::new(),
            settled: false,
        }
    }

    /// Marks the verdict as one waiting cannot change.
    #[must_use]
    pub fn settled(mut self) -> Self {
        self.settled = true;
        self
    }

    /// Adds a detail line.
    #[must_use]
    pub fn with_detail(mut self, line: impl Into<String>) -> Self {
        self.detail.push(line.into());
        self
    }
}

/// A check's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// It holds.
    Pass,
    /// It does not.
    Fail,
    /// Not run because a check it requires failed.
    Blocked,
}

/// One check's outcome, as reported.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// Check id.
    pub id: String,
    /// Check title.
    pub title: String,
    /// The verdict.
    pub status: Status,
    /// What was expected.
    pub expected: String,
    /// What was seen.
    pub observed: String,
    /// Detail lines.
    pub detail: Vec<String>,
    /// The hint (empty when passing).
    pub hint: String,
    /// Seconds spent.
    pub seconds: f64,
}

/// The report of one `check` run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// JSON schema version of this report.
    pub format_version: u32,
    /// The lab.
    pub lab: LabId,
    /// The lab title.
    pub title: String,
    /// Checks passed.
    pub passed: usize,
    /// Checks in all.
    pub total: usize,
    /// Outcomes in manifest order (a failed reload comes first).
    pub outcomes: Vec<Outcome>,
}

impl Report {
    /// Whether every check passed.
    pub fn all_passed(&self) -> bool {
        self.outcomes.iter().all(|o| o.status == Status::Pass)
    }

    /// Ids of checks that did not pass.
    pub fn failed_ids(&self) -> Vec<&str> {
        self.outcomes
            .iter()
            .filter(|o| o.status != Status::Pass)
            .map(|o| o.id.as_str())
            .collect()
    }
}

/// Unix time now, as float seconds.
pub fn now_unix() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

impl Ctx {
    /// The base URL of a service, or why there is none.
    pub fn url(&self, service: &str) -> Result<String, String> {
        match self.services.get(service) {
            Some(Svc { url: Some(u), .. }) => Ok(u.clone()),
            Some(_) => Err(format!("service `{service}` publishes no port")),
            None => Err(format!(
                "this lab runs no service `{service}` (it runs {})",
                self.services.keys().cloned().collect::<Vec<_>>().join(", ")
            )),
        }
    }

    /// The container id of a service.
    pub fn container(&self, service: &str) -> Result<String, String> {
        self.services
            .get(service)
            .map(|s| s.id.clone())
            .ok_or_else(|| format!("this lab runs no service `{service}`"))
    }

    /// GET a JSON document from a service: the status and the parsed body.
    async fn fetch_json(
        &self,
        service: &str,
        path_and_query: &str,
    ) -> Result<(reqwest::StatusCode, Value, String), String> {
        let url = format!("{}{path_and_query}", self.url(service)?);
        let resp = self
            .client
            .get(&url)
            .send()
            .await
            .map_err(|e| format!("cannot reach {service} ({})", crate::http::describe(&e)))?;
        let status = resp.status();
        let body = resp.text().await.map_err(|e| crate::http::describe(&e))?;
        let v = serde_json::from_str(&body)
            .map_err(|_| format!("{service} answered {status} with non-JSON: {}", trim(&body, 200)))?;
        Ok((status, v, body))
    }

    /// GET a JSON document from a service, whatever the status (error bodies are JSON too).
    pub async fn get_json_any(&self, service: &str, path_and_query: &str) -> Result<Value, String> {
        self.fetch_json(service, path_and_query).await.map(|(_, v, _)| v)
    }

    /// GET a JSON document from a service; a non-2xx status is an error quoting the server.
    pub async fn get_json(&self, service: &str, path_and_query: &str) -> Result<Value, String> {
        let (status, v, body) = self.fetch_json(service, path_and_query).await?;
        if !status.is_success() {
            let msg = v
                .get("error")
                .and_then(Value::as_str)
                .map_or_else(|| trim(&body, 200), str::to_string);
            return Err(format!("{service} answered {status}: {msg}"));
        }
        Ok(v)
    }
}

/// Cuts text to `n` characters on one line.
pub fn trim(s: &str, n: usize) -> String {
    let one: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one.chars().count() > n {
        format!("{}…", one.chars().take(n).collect::<String>())
    } else {
        one
    }
}

/// Evaluates one check once.
pub fn eval_once<'a>(ctx: &'a Ctx, spec: &'a CheckSpec) -> BoxFuture<'a, Eval> {
    Box::pin(async move {
        match spec.kind() {
            Err(e) => Eval::fail("a valid check", e),
            Ok(Kind::Promql(c)) => prometheus::promql(ctx, c).await,
            Ok(Kind::Targets(c)) => prometheus::targets(ctx, c).await,
            Ok(Kind::Rule(c)) => prometheus::rule(ctx, c).await,
            Ok(Kind::Status(c)) => prometheus::status(ctx, c).await,
            Ok(Kind::Alert(c)) => alertmanager::alert(ctx, c).await,
            Ok(Kind::Silence(c)) => alertmanager::silence(ctx, c).await,
            Ok(Kind::Notification(c)) => alertmanager::notification(ctx, c).await,
            Ok(Kind::Exposition(c)) => http::exposition(ctx, c).await,
            Ok(Kind::Http(c)) => http::http(ctx, c).await,
            Ok(Kind::File(c)) => workspace::file(ctx, c).await,
            Ok(Kind::Answer(c)) => workspace::answer(ctx, c).await,
            Ok(Kind::Exec(c)) => docker::exec(ctx, c).await,
            Ok(Kind::Container(c)) => docker::container(ctx, c).await,
            Ok(Kind::Scenario(c)) => scenario::run(ctx, c).await,
        }
    })
}

/// Evaluates a check with its timing: `within` polls until it holds (counted from
/// `settled_since`, the last change that could affect it), `hold` requires it to keep holding.
pub async fn eval_timed(
    ctx: &Ctx,
    spec: &CheckSpec,
    settled_since: f64,
    progress: &(dyn Fn(&str, Duration) + Sync),
) -> Eval {
    let start = Instant::now();
    let mut within = spec.within.map_or(Duration::ZERO, |d| d.0);
    if let Some(cap) = ctx.within_cap {
        within = within.min(cap);
    }
    let since_change = (now_unix() - settled_since).max(0.0);
    let full_within = within;
    within = within.saturating_sub(Duration::from_secs_f64(since_change.min(within.as_secs_f64())));
    let poll = spec
        .poll
        .map_or(Duration::from_secs(1), |d| d.0)
        .max(Duration::from_millis(100));
    let mut e = eval_once(ctx, spec).await;
    while !e.pass && !e.settled && start.elapsed() < within {
        progress(&spec.id, start.elapsed());
        tokio::time::sleep(poll.min(within.saturating_sub(start.elapsed()))).await;
        e = eval_once(ctx, spec).await;
    }
    if !e.pass {
        if !full_within.is_zero() && !e.settled {
            e.observed = format!(
                "{} (still, {}s after your last change)",
                e.observed,
                full_within.as_secs().max(since_change as u64)
            );
        }
        return e;
    }
    if let Some(hold) = spec.hold.map(|d| d.0) {
        let held_from = Instant::now();
        while held_from.elapsed() < hold {
            progress(&spec.id, start.elapsed());
            tokio::time::sleep(poll).await;
            let again = eval_once(ctx, spec).await;
            if !again.pass {
                let mut f = again;
                f.observed = format!(
                    "{} (held {:.0}s of {}s)",
                    f.observed,
                    held_from.elapsed().as_secs_f64(),
                    hold.as_secs()
                );
                return f;
            }
        }
    }
    e
}

/// Runs every check: independent checks concurrently, `requires` respected, report in
/// manifest order. `pre` outcomes (a failed reload) come first and block everything.
pub async fn run_all(ctx: &Ctx, pre: Vec<Outcome>, progress: &(dyn Fn(&str, Duration) + Sync)) -> Report {
    let checks = &ctx.lab.manifest.checks;
    let blocked_all = pre.iter().any(|o| o.status != Status::Pass);
    let mut results: BTreeMap<String, Outcome> = BTreeMap::new();
    let mut remaining: Vec<&CheckSpec> = checks.iter().collect();
    while !remaining.is_empty() {
        let (ready, later): (Vec<&CheckSpec>, Vec<&CheckSpec>) = remaining
            .into_iter()
            .partition(|c| blocked_all || c.requires.iter().all(|r| results.contains_key(r)));
        if ready.is_empty() {
            for c in later {
                results.insert(c.id.clone(), blocked(c, "a cycle in `requires`".to_string()));
            }
            break;
        }
        let done = &results;
        let runs = ready.iter().map(|c| async move {
            if blocked_all {
                return blocked(c, "the configuration did not load (see above)".to_string());
            }
            let failed: Vec<&str> = c
                .requires
                .iter()
                .filter(|r| done.get(*r).is_some_and(|o| o.status != Status::Pass))
                .map(String::as_str)
                .collect();
            if !failed.is_empty() {
                return blocked(
                    c,
                    format!("it requires {}, which did not pass", failed.join(", ")),
                );
            }
            let t = Instant::now();
            let e = eval_timed(ctx, c, ctx.settled_since, progress).await;
            to_outcome(c, e, t.elapsed())
        });
        let outs = futures::future::join_all(runs).await;
        for o in outs {
            results.insert(o.id.clone(), o);
        }
        remaining = later;
    }
    let mut outcomes = pre;
    outcomes.extend(checks.iter().filter_map(|c| results.remove(&c.id)));
    for o in &mut outcomes {
        if o.status == Status::Fail {
            o.detail.extend(hints::computed(o));
        }
    }
    let passed = outcomes.iter().filter(|o| o.status == Status::Pass).count();
    Report {
        format_version: 1,
        lab: ctx.lab.id(),
        title: ctx.lab.manifest.title.clone(),
        passed,
        total: outcomes.len(),
        outcomes,
    }
}

fn blocked(c: &CheckSpec, why: String) -> Outcome {
    Outcome {
        id: c.id.clone(),
        title: c.title.clone(),
        status: Status::Blocked,
        expected: String::new(),
        observed: format!("not checked: {why}"),
        detail: Vec::new(),
        hint: String::new(),
        seconds: 0.0,
    }
}

/// Turns an evaluation into a reported outcome.
pub fn to_outcome(c: &CheckSpec, e: Eval, took: Duration) -> Outcome {
    Outcome {
        id: c.id.clone(),
        title: c.title.clone(),
        status: if e.pass { Status::Pass } else { Status::Fail },
        hint: if e.pass { String::new() } else { c.hint.clone() },
        expected: e.expected,
        observed: e.observed,
        detail: e.detail,
        seconds: took.as_secs_f64(),
    }
}
