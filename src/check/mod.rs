//! The grader: runs a lab's checks against the live stack and reports, for each, what it
//! expected, what it saw and a hint. A failing check is an outcome, never an error.
//!
//! Checks are grouped by the system they talk to: `prometheus.rs`, `alertmanager.rs`,
//! `workspace.rs` (files and answers, with `markdown.rs` for tables and code blocks),
//! `docker.rs` (exec, container), `http.rs`.

pub mod alertmanager;
pub mod compare;
pub mod docker;
pub mod grafana;
pub mod hints;
pub mod http;
pub mod markdown;
pub mod prometheus;
pub mod reload;
pub mod scenario;
pub mod spec;
pub mod template;
pub mod tls;
pub mod workspace;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures::FutureExt;
use futures::future::{BoxFuture, Shared};
use serde::Serialize;
use serde_json::Value;

use crate::lab::{Lab, LabId};
use crate::runtime::docker::Docker;
use spec::{CheckSpec, Kind};

/// A service of the running lab, as checks see it.
#[derive(Debug, Clone, Default)]
pub struct Svc {
    /// Where it is reached from the host; a restart can move it (Docker draws new
    /// ephemeral host ports), so it is shared and refreshed (`Ctx::refresh`).
    pub net: std::sync::Arc<Mutex<Net>>,
    /// The service may serve HTTPS (x-promlab `tls: true`): its scheme is probed.
    pub tls: bool,
    /// The main container port.
    pub port: Option<u16>,
    /// Readiness path.
    pub ready: Option<String>,
    /// Workspace files whose change needs a restart (read only at start).
    pub restart_on: Vec<String>,
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

impl Svc {
    /// Where it is reached now.
    pub fn net(&self) -> Net {
        self.net
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

/// Where a service is reached from the host.
#[derive(Debug, Clone, Default)]
pub struct Net {
    /// Base URL (`http://127.0.0.1:PORT`), when it publishes its main port.
    pub url: Option<String>,
    /// Published ports: (container port, host port).
    pub ports: Vec<(u16, u16)>,
    /// It serves HTTPS on its main port (see `Ctx::detect_schemes`).
    pub https: bool,
}

impl Net {
    /// From published ports and the main port.
    pub fn new(ports: Vec<(u16, u16)>, main: Option<u16>) -> Self {
        let url = main
            .and_then(|m| ports.iter().find(|p| p.0 == m))
            .map(|p| format!("http://127.0.0.1:{}", p.1));
        Net {
            url,
            ports,
            https: false,
        }
    }
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
    /// Values recorded by scenario steps (name → value).
    pub state: Mutex<BTreeMap<String, String>>,
    /// What this run must establish (all checks, or validate's shortcuts).
    pub mode: Mode,
    /// Set once a check has failed in a `stop_at_first_fail` run: checks still waiting end.
    pub stop: AtomicBool,
    /// Scenarios change the stack (faults, restarts, posted alerts, an emptied sink): each
    /// runs alone, never beside another check that could see its disturbance.
    pub exclusive: tokio::sync::RwLock<()>,
    /// Unix time of the newest configuration change applied: `within` counts from here, so
    /// a change made minutes ago is not waited for again.
    pub settled_since: f64,
}

/// What a grading run must establish. `check` runs everything; `validate` needs less.
#[derive(Debug, Clone, Default)]
pub struct Mode {
    /// Run only these checks (and what they require); the rest are reported skipped.
    pub only: Option<BTreeSet<String>>,
    /// One genuine failure settles the run (a near-miss must fail one check): checks still
    /// waiting stop and are reported skipped, never failed.
    pub stop_at_first_fail: bool,
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
    /// Unix time before which it cannot pass (a rule's `for:` keeps a new alert pending):
    /// `within` stops polling when that is past its deadline, the verdict cannot change by then.
    pub not_before: Option<(f64, String)>,
    /// The run was stopped before this check could finish: no verdict (reported skipped).
    pub interrupted: bool,
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
            not_before: None,
            interrupted: false,
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
            not_before: None,
            interrupted: false,
        }
    }

    /// A check cut short by a stopped run: no verdict.
    pub fn interrupted() -> Self {
        Eval {
            interrupted: true,
            ..Eval::fail("a verdict", "not finished: the run stopped")
        }
    }

    /// Marks the verdict as one waiting cannot change.
    #[must_use]
    pub fn settled(mut self) -> Self {
        self.settled = true;
        self
    }

    /// Records that it cannot pass before a unix time, and why.
    #[must_use]
    pub fn not_before(mut self, unix: f64, why: impl Into<String>) -> Self {
        self.not_before = Some((unix, why.into()));
        self
    }

    /// Whether it cannot pass before `deadline` (unix seconds).
    fn hopeless_by(&self, deadline: f64) -> bool {
        self.not_before.as_ref().is_some_and(|(t, _)| *t > deadline)
    }

    /// Adds a detail line.
    #[must_use]
    pub fn with_detail(mut self, line: impl Into<String>) -> Self {
        self.detail.push(line.into());
        self
    }
}

/// A check's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// It holds.
    Pass,
    /// It does not.
    Fail,
    /// Not run because a check it requires failed.
    Blocked,
    /// Not run, or not finished, because the run did not need it (`validate` only: a
    /// starter's undeclared checks, a near-miss's checks after its first failure).
    Skipped,
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

    /// Ids of checks that did not pass (failed, blocked or skipped).
    pub fn failed_ids(&self) -> Vec<&str> {
        self.outcomes
            .iter()
            .filter(|o| o.status != Status::Pass)
            .map(|o| o.id.as_str())
            .collect()
    }

    /// Ids of checks that genuinely failed or were blocked by a failure (not skipped).
    pub fn not_passed_ids(&self) -> Vec<&str> {
        self.outcomes
            .iter()
            .filter(|o| matches!(o.status, Status::Fail | Status::Blocked))
            .map(|o| o.id.as_str())
            .collect()
    }

    /// Ids of checks that genuinely failed (not blocked, not skipped).
    pub fn genuine_failures(&self) -> Vec<&str> {
        self.outcomes
            .iter()
            .filter(|o| o.status == Status::Fail)
            .map(|o| o.id.as_str())
            .collect()
    }

    /// Whether any check genuinely failed.
    pub fn any_failed(&self) -> bool {
        !self.genuine_failures().is_empty()
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
    /// The names of the lab's services that play `role` (`prometheus`, `alertmanager`, …).
    pub fn services_with_role<'a>(&'a self, role: &'a str) -> impl Iterator<Item = &'a String> + 'a {
        self.services
            .iter()
            .filter(move |(_, s)| s.role == role)
            .map(|(name, _)| name)
    }

    /// Template variables of what scenarios recorded: `mark.NAME`, `since.NAME`, `state.NAME`.
    pub fn state_vars(&self) -> BTreeMap<String, String> {
        let mut vars = BTreeMap::new();
        let now = now_unix();
        if let Ok(m) = self.marks.lock() {
            for (k, t) in m.iter() {
                vars.insert(format!("mark.{k}"), format!("{t:.3}"));
                vars.insert(
                    format!("since.{k}"),
                    format!("{}", ((now - t).ceil() as u64).max(1)),
                );
            }
        }
        if let Ok(s) = self.state.lock() {
            for (k, v) in s.iter() {
                vars.insert(format!("state.{k}"), v.clone());
            }
        }
        vars
    }

    /// Whether the run was stopped (a `stop_at_first_fail` run saw its first failure).
    pub fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// The base URL of a service, or why there is none.
    pub fn url(&self, service: &str) -> Result<String, String> {
        let Some(svc) = self.services.get(service) else {
            return Err(format!(
                "this lab runs no service `{service}` (it runs {})",
                self.services.keys().cloned().collect::<Vec<_>>().join(", ")
            ));
        };
        match svc.net() {
            Net {
                url: Some(u),
                https: true,
                ..
            } => Ok(u.replacen("http://", "https://", 1)),
            Net { url: Some(u), .. } => Ok(u),
            Net { url: None, .. } => Err(format!("service `{service}` publishes no port")),
        }
    }

    /// The host port published for a service's container port (default: its main port).
    pub fn host_port(&self, service: &str, port: Option<u16>) -> Result<u16, String> {
        let svc = self
            .services
            .get(service)
            .ok_or_else(|| format!("this lab runs no service `{service}`"))?;
        let Some(want) = port.or(svc.port) else {
            return Err(format!(
                "service `{service}` has no main port: name one with `port:`"
            ));
        };
        svc.net()
            .ports
            .iter()
            .find(|p| p.0 == want)
            .map(|p| p.1)
            .ok_or_else(|| format!("service `{service}` publishes no port {want} on the host"))
    }

    /// Finds out which services that may serve TLS do so now (after `up` or a restart).
    pub async fn detect_schemes(&self) {
        for svc in self.services.values() {
            self.detect_scheme(svc).await;
        }
    }

    /// Finds out whether a service that may serve TLS does so now.
    pub async fn detect_scheme(&self, svc: &Svc) {
        if !svc.tls {
            return;
        }
        let Some(u) = svc.net().url else { return };
        let https = crate::http::serves_https(&self.client, &u).await;
        svc.net
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .https = https;
    }

    /// Re-reads a service's published ports after its container was (re)started (Docker
    /// draws new ephemeral host ports) and probes its scheme again.
    pub async fn refresh(&self, service: &str) {
        let Some(svc) = self.services.get(service) else {
            return;
        };
        let Ok(ports) = self.docker.published_ports(&svc.id).await else {
            return;
        };
        *svc.net.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Net::new(ports, svc.port);
        self.detect_scheme(svc).await;
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
            Ok(Kind::Tls(c)) => tls::tls(ctx, c).await,
            Ok(Kind::Dashboard(c)) => grafana::dashboard(ctx, c).await,
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
    let begun = Instant::now();
    let poll = spec
        .poll
        .map_or(Duration::from_secs(1), |d| d.0)
        .max(Duration::from_millis(100));
    if let Some(back) = spec.looks_back.map(|d| d.0.as_secs_f64()) {
        // Until the data window lies wholly after the change, any verdict may rest on older
        // samples: a pass on data shipped before a half-fix, a failure counted before a fix.
        loop {
            let left = settled_since + back - now_unix();
            if left <= 0.0 {
                break;
            }
            if ctx.stopped() {
                return Eval::interrupted();
            }
            progress(&spec.id, begun.elapsed());
            tokio::time::sleep(poll.min(Duration::from_secs_f64(left))).await;
        }
    }
    let start = Instant::now();
    let full_within = spec.within.map_or(Duration::ZERO, |d| d.0);
    let since_change = (now_unix() - settled_since).max(0.0);
    let within = full_within.saturating_sub(Duration::from_secs_f64(
        since_change.min(full_within.as_secs_f64()),
    ));
    let deadline = now_unix() + within.as_secs_f64();
    let mut e = eval_once(ctx, spec).await;
    // A `hold` broken while `within` still runs starts over: the check must hold for the
    // whole `hold` at some point before the deadline (leftovers of an earlier run may make it
    // pass for a moment first, then break before the learner's change takes effect).
    loop {
        while !e.pass
            && !e.settled
            && !e.hopeless_by(deadline)
            && !e.interrupted
            && !ctx.stopped()
            && start.elapsed() < within
        {
            progress(&spec.id, begun.elapsed());
            tokio::time::sleep(poll.min(within.saturating_sub(start.elapsed()))).await;
            e = eval_once(ctx, spec).await;
        }
        if !e.pass {
            if e.interrupted || (!e.settled && ctx.stopped() && start.elapsed() < within) {
                return Eval::interrupted();
            }
            if let Some((t, why)) = e.not_before.clone().filter(|_| e.hopeless_by(deadline)) {
                e.observed = format!(
                    "{} (and it cannot pass within {}s of your last change: {why}, not before {:.0}s from now)",
                    e.observed,
                    full_within.as_secs(),
                    (t - now_unix()).max(0.0)
                );
            } else if !full_within.is_zero() && !e.settled {
                e.observed = format!(
                    "{} (still, {}s after your last change)",
                    e.observed,
                    full_within.as_secs().max(since_change as u64)
                );
            }
            return e;
        }
        let Some(hold) = spec.hold.map(|d| d.0) else {
            return e;
        };
        let held_from = Instant::now();
        let mut broke = None;
        while held_from.elapsed() < hold {
            if ctx.stopped() {
                return Eval::interrupted();
            }
            progress(&spec.id, begun.elapsed());
            tokio::time::sleep(poll).await;
            let again = eval_once(ctx, spec).await;
            if again.interrupted {
                return again;
            }
            if !again.pass {
                broke = Some(again);
                break;
            }
        }
        let Some(mut f) = broke else {
            return e;
        };
        if start.elapsed() < within && !f.settled && !ctx.stopped() {
            e = f;
            continue;
        }
        f.observed = format!(
            "{} (held {:.0}s of {}s)",
            f.observed,
            held_from.elapsed().as_secs_f64(),
            hold.as_secs()
        );
        return f;
    }
}

/// Runs every check: each starts as soon as the checks it `requires` are done, scenarios run
/// alone, the report keeps manifest order. `pre` outcomes (a failed reload) come first and
/// block everything.
pub async fn run_all(ctx: &Ctx, pre: Vec<Outcome>, progress: &(dyn Fn(&str, Duration) + Sync)) -> Report {
    let checks = &ctx.lab.manifest.checks;
    let blocked_all = pre.iter().any(|o| o.status != Status::Pass);
    let wanted = ctx.mode.only.as_ref().map(|only| with_requirements(checks, only));
    type Run<'a> = Shared<BoxFuture<'a, Outcome>>;
    let mut runs: BTreeMap<&str, Run<'_>> = BTreeMap::new();
    let mut remaining: Vec<&CheckSpec> = checks.iter().collect();
    // Build in dependency order, so that every check can await what it requires.
    while !remaining.is_empty() {
        let (ready, later): (Vec<&CheckSpec>, Vec<&CheckSpec>) = remaining
            .into_iter()
            .partition(|c| c.requires.iter().all(|r| runs.contains_key(r.as_str())));
        if ready.is_empty() {
            for c in later {
                let o = blocked(c, "a cycle in `requires`".to_string());
                runs.insert(c.id.as_str(), futures::future::ready(o).boxed().shared());
            }
            break;
        }
        for c in ready {
            let deps: Vec<Run<'_>> = c.requires.iter().map(|r| runs[r.as_str()].clone()).collect();
            let wanted = wanted.as_ref();
            let run = async move {
                let deps = futures::future::join_all(deps).await;
                if blocked_all {
                    return blocked(c, "the configuration did not load (see above)".to_string());
                }
                if wanted.is_some_and(|w| !w.contains(c.id.as_str())) {
                    return skipped(c, "not needed to prove this phase");
                }
                let failed: Vec<&str> = deps
                    .iter()
                    .filter(|o| matches!(o.status, Status::Fail | Status::Blocked))
                    .map(|o| o.id.as_str())
                    .collect();
                if !failed.is_empty() {
                    return blocked(
                        c,
                        format!("it requires {}, which did not pass", failed.join(", ")),
                    );
                }
                if ctx.stopped() || deps.iter().any(|o| o.status == Status::Skipped) {
                    return skipped(c, "not needed: another check already failed");
                }
                let t = Instant::now();
                let e = if c.scenario.is_some() {
                    let _alone = ctx.exclusive.write().await;
                    eval_timed(ctx, c, ctx.settled_since, progress).await
                } else {
                    let _shared = ctx.exclusive.read().await;
                    eval_timed(ctx, c, ctx.settled_since, progress).await
                };
                let o = to_outcome(c, e, t.elapsed());
                if o.status == Status::Fail && ctx.mode.stop_at_first_fail {
                    ctx.stop.store(true, Ordering::Relaxed);
                }
                o
            }
            .boxed()
            .shared();
            runs.insert(c.id.as_str(), run);
        }
        remaining = later;
    }
    let in_order: Vec<Run<'_>> = checks
        .iter()
        .filter_map(|c| runs.get(c.id.as_str()).cloned())
        .collect();
    let mut outcomes = pre;
    outcomes.extend(futures::future::join_all(in_order).await);
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

/// The named checks and, transitively, every check they require.
fn with_requirements<'a>(checks: &'a [CheckSpec], only: &BTreeSet<String>) -> BTreeSet<&'a str> {
    let mut want: BTreeSet<&str> = checks
        .iter()
        .filter(|c| only.contains(&c.id))
        .map(|c| c.id.as_str())
        .collect();
    loop {
        let more: Vec<&str> = checks
            .iter()
            .filter(|c| want.contains(c.id.as_str()))
            .flat_map(|c| c.requires.iter().map(String::as_str))
            .filter(|r| !want.contains(r))
            .collect();
        if more.is_empty() {
            return want;
        }
        want.extend(more);
    }
}

fn skipped(c: &CheckSpec, why: &str) -> Outcome {
    Outcome {
        status: Status::Skipped,
        observed: format!("not run: {why}"),
        ..blocked(c, String::new())
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

/// Turns an evaluation into a reported outcome (an interrupted one is skipped, not failed).
pub fn to_outcome(c: &CheckSpec, e: Eval, took: Duration) -> Outcome {
    if e.interrupted {
        return Outcome {
            seconds: took.as_secs_f64(),
            ..skipped(c, "not finished: another check already failed")
        };
    }
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

/// Contexts for unit tests.
#[cfg(test)]
pub mod testing {
    use super::*;

    /// A context whose checks read only the workspace, a port where nothing listens
    /// (`closed`), or the given services (name, base URL: recorded-response servers).
    pub fn ctx(checks: &str, mode: Mode, services_in: &[(&str, &str)]) -> (Ctx, tempfile::TempDir) {
        let ws = tempfile::tempdir().unwrap();
        std::fs::write(ws.path().join("present.txt"), "here\n").unwrap();
        let text = format!(
            "format_version: 1\nid: \"25.9\"\ntitle: t\nsummary: s\nstack: base\nstarter_fails: [missing]\nhints: [h]\nchecks:\n{checks}"
        );
        let path = ws.path().join("lab.yaml");
        let manifest = crate::lab::yaml::from_str(&path, &text).unwrap();
        let lab = Lab {
            manifest,
            dir: ws.path().to_path_buf(),
            text,
            near_misses: BTreeMap::new(),
        };
        let closed = Svc {
            net: std::sync::Arc::new(Mutex::new(Net {
                url: Some("http://127.0.0.1:1".into()),
                ..Default::default()
            })),
            id: "none".into(),
            role: "demo".into(),
            running: true,
            ..Default::default()
        };
        let mut services = BTreeMap::from([("closed".to_string(), closed)]);
        for (name, url) in services_in {
            let svc = Svc {
                net: std::sync::Arc::new(Mutex::new(Net {
                    url: Some((*url).to_string()),
                    ..Default::default()
                })),
                id: (*name).to_string(),
                running: true,
                ..Default::default()
            };
            services.insert((*name).to_string(), svc);
        }
        let c = Ctx {
            lab,
            workspace: ws.path().to_path_buf(),
            services,
            client: crate::http::client(Duration::from_secs(2)),
            docker: Docker::unconnected().unwrap(),
            started_unix: now_unix(),
            marks: Mutex::new(BTreeMap::new()),
            state: Mutex::new(BTreeMap::new()),
            mode,
            stop: AtomicBool::new(false),
            exclusive: tokio::sync::RwLock::new(()),
            settled_since: now_unix(),
        };
        (c, ws)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(checks: &str, mode: Mode) -> (Ctx, tempfile::TempDir) {
        testing::ctx(checks, mode, &[])
    }

    const CHECKS: &str = r#"  - id: present
    title: a file that exists
    hint: h
    file: {path: present.txt, exists: true}
  - id: missing
    title: a file the learner has not written (settled at once, however long within is)
    hint: h
    within: 300s
    file: {path: missing.txt, exists: true}
  - id: after-missing
    title: requires the missing file
    hint: h
    requires: [missing]
    file: {path: present.txt, exists: true}
  - id: unreachable
    title: a server that never answers (would wait its whole within)
    hint: h
    within: 300s
    http: {service: closed, path: /}
"#;

    fn status_of(r: &Report, id: &str) -> Status {
        r.outcomes.iter().find(|o| o.id == id).unwrap().status
    }

    #[tokio::test]
    async fn a_near_miss_run_ends_at_its_first_settled_failure() {
        let mode = Mode {
            only: None,
            stop_at_first_fail: true,
        };
        let (c, _ws) = ctx(CHECKS, mode);
        let r = run_all(&c, vec![], &|_, _| {}).await;
        assert_eq!(status_of(&r, "present"), Status::Pass);
        assert_eq!(status_of(&r, "missing"), Status::Fail);
        let m = r.outcomes.iter().find(|o| o.id == "missing").unwrap();
        assert!(
            !m.observed.contains("still,"),
            "a settled failure never waits: {m:?}"
        );
        assert_eq!(status_of(&r, "after-missing"), Status::Blocked);
        // Cut short by the failure above: reported skipped, never failed.
        let u = r.outcomes.iter().find(|o| o.id == "unreachable").unwrap();
        assert_eq!(u.status, Status::Skipped, "{u:?}");
        assert!(u.seconds < 100.0, "it stopped waiting: {u:?}");
        assert!(r.any_failed());
        assert_eq!(r.not_passed_ids(), vec!["missing", "after-missing"]);
    }

    #[tokio::test]
    async fn a_starter_run_grades_only_the_declared_checks_and_their_requirements() {
        let mode = Mode {
            only: Some(BTreeSet::from(["after-missing".to_string()])),
            stop_at_first_fail: false,
        };
        let (c, _ws) = ctx(CHECKS, mode);
        let r = run_all(&c, vec![], &|_, _| {}).await;
        assert_eq!(status_of(&r, "missing"), Status::Fail, "a requirement runs");
        assert_eq!(status_of(&r, "after-missing"), Status::Blocked);
        assert_eq!(status_of(&r, "present"), Status::Skipped);
        assert_eq!(status_of(&r, "unreachable"), Status::Skipped);
        let ids: Vec<&str> = r.outcomes.iter().map(|o| o.id.as_str()).collect();
        assert_eq!(
            ids,
            ["present", "missing", "after-missing", "unreachable"],
            "manifest order"
        );
    }

    #[tokio::test]
    async fn a_check_that_looks_back_is_judged_only_once_its_window_follows_the_change() {
        let (c, ws) = ctx(CHECKS, Mode::default());
        std::fs::write(ws.path().join("present.txt"), "x").unwrap();
        let spec: CheckSpec = serde_yaml::from_str(
            "{id: w, title: t, hint: h, within: 5s, looks_back: 1s, file: {path: present.txt, exists: true}}",
        )
        .unwrap();
        // Changed just now: a pass may rest on data from before, so it waits the window out.
        let t = Instant::now();
        let e = eval_timed(&c, &spec, now_unix(), &|_, _| {}).await;
        assert!(e.pass);
        assert!(t.elapsed() >= Duration::from_millis(900), "{:?}", t.elapsed());
        // Changed long ago: judged at once.
        let t = Instant::now();
        let e = eval_timed(&c, &spec, now_unix() - 60.0, &|_, _| {}).await;
        assert!(e.pass);
        assert!(t.elapsed() < Duration::from_millis(500), "{:?}", t.elapsed());
        // A failure waits the window, then polls the rest of `within` from the change.
        let missing: CheckSpec = serde_yaml::from_str(
            "{id: m, title: t, hint: h, within: 2s, looks_back: 1s, http: {service: closed, path: /}}",
        )
        .unwrap();
        let t = Instant::now();
        let e = eval_timed(&c, &missing, now_unix(), &|_, _| {}).await;
        assert!(!e.pass);
        let took = t.elapsed();
        assert!(
            took >= Duration::from_millis(1900) && took < Duration::from_secs(4),
            "{took:?}"
        );
    }

    #[test]
    fn scenario_state_is_rendered_into_queries_only_when_recorded() {
        let (c, _ws) = ctx(CHECKS, Mode::default());
        c.marks.lock().unwrap().insert("fault".into(), now_unix() - 41.5);
        c.state.lock().unwrap().insert("before".into(), "1234".into());
        let spec: CheckSpec = serde_yaml::from_str(
            "{id: x, title: t, hint: h, promql: {expr: 'increase(errors[{{ since.fault }}s]) + {{ state.before }} + {{ state.nope }}', expect: {equals_expr: {expr: 'x @ {{ mark.fault }}'}}}}",
        )
        .unwrap();
        let p = spec.with_state(&c.state_vars()).promql.unwrap();
        assert_eq!(p.expr.unwrap(), "increase(errors[42s]) + 1234 + {{ state.nope }}");
        let at: f64 = p
            .expect
            .equals_expr
            .unwrap()
            .expr
            .trim_start_matches("x @ ")
            .parse()
            .unwrap();
        assert!((now_unix() - 41.5 - at).abs() < 5.0);
    }

    #[tokio::test]
    async fn a_failed_reload_blocks_every_check() {
        let (c, _ws) = ctx(CHECKS, Mode::default());
        let pre = vec![Outcome {
            id: "prometheus-config-loads".into(),
            title: "t".into(),
            status: Status::Fail,
            expected: String::new(),
            observed: "bad config".into(),
            detail: vec![],
            hint: String::new(),
            seconds: 0.0,
        }];
        let r = run_all(&c, pre, &|_, _| {}).await;
        assert_eq!(r.outcomes[0].id, "prometheus-config-loads");
        assert!(r.outcomes[1..].iter().all(|o| o.status == Status::Blocked));
        assert_eq!(r.passed, 0);
    }
}
