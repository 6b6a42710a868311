//! What a check may consult: the running lab's services (`Svc`, `Net`), the grading run's
//! context (`Ctx`) with its JSON fetches, and what the run must establish (`Mode`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;

use super::outcome::trim;
use crate::lab::Lab;
use crate::runtime::docker::Docker;
use crate::stack::Role;

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
    pub role: Option<Role>,
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

/// Unix time now, as float seconds.
pub fn now_unix() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

impl Ctx {
    /// The names of the lab's services that play `role` (`prometheus`, `alertmanager`, …).
    pub(crate) fn services_with_role(&self, role: Role) -> impl Iterator<Item = &String> + '_ {
        self.services
            .iter()
            .filter(move |(_, s)| s.role == Some(role))
            .map(|(name, _)| name)
    }

    /// Template variables of what scenarios recorded: `mark.NAME`, `since.NAME`, `state.NAME`.
    pub(crate) fn state_vars(&self) -> BTreeMap<String, String> {
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
            } => Ok(crate::http::Scheme::Https.rebase(&u)),
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
    pub(crate) async fn detect_schemes(&self) {
        for svc in self.services.values() {
            self.detect_scheme(svc).await;
        }
    }

    /// Finds out whether a service that may serve TLS does so now.
    pub(crate) async fn detect_scheme(&self, svc: &Svc) {
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
    pub(crate) async fn refresh(&self, service: &str) {
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
    pub(crate) async fn get_json_any(&self, service: &str, path_and_query: &str) -> Result<Value, String> {
        self.fetch_json(service, path_and_query).await.map(|(_, v, _)| v)
    }

    /// GET a JSON document from a service; a non-2xx status is an error quoting the server.
    pub(crate) async fn get_json(&self, service: &str, path_and_query: &str) -> Result<Value, String> {
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

/// Contexts for unit tests.
#[cfg(test)]
pub mod testing {
    use super::*;
    use std::time::Duration;

    /// A context whose checks read only the workspace, a port where nothing listens
    /// (`closed`), or the given services (name, base URL: recorded-response servers).
    pub fn ctx(checks: &str, mode: Mode, services_in: &[(&str, &str)]) -> (Ctx, tempfile::TempDir) {
        let ws = tempfile::tempdir().unwrap();
        std::fs::write(ws.path().join("present.txt"), "here\n").unwrap();
        let text = format!(
            "format_version: 1\nid: \"25.9\"\ntitle: t\nsummary: s\nstack: base\nstarter_fails: [missing]\nhints: [h]\nchecks:\n{checks}"
        );
        let path = ws.path().join("lab.yaml");
        let manifest = crate::yaml::from_str(&path, &text).unwrap();
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
            role: Some(Role::Demo),
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
