//! Finding the running lab (by Docker labels) and building the grader's context for it.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;

use crate::check::{Ctx, Svc, now_unix, template};
use crate::error::Error;
use crate::lab::{Catalog, Lab, LabId, yaml};
use crate::runtime::docker::Docker;
use crate::runtime::plan::project_name;
use crate::runtime::{
    LABEL_LAB, LABEL_PROJECT, LABEL_RELOAD, LABEL_ROLE, LABEL_SEED, LABEL_WORKSPACE, Owned,
};

/// A running lab.
#[derive(Debug, Clone)]
pub struct Running {
    /// The lab id.
    pub lab: LabId,
    /// Its project name.
    pub project: String,
    /// Its workspace.
    pub workspace: PathBuf,
    /// The seed it was started with.
    pub seed: u64,
    /// Its containers.
    pub containers: Vec<Owned>,
}

/// Groups owned containers into running labs (user projects only unless `all`).
pub fn group(owned: Vec<Owned>) -> Vec<Running> {
    let mut by: BTreeMap<String, Running> = BTreeMap::new();
    for c in owned {
        let Ok(lab) = c.label(LABEL_LAB).parse::<LabId>() else {
            continue;
        };
        let entry = by.entry(c.project().to_string()).or_insert_with(|| Running {
            lab,
            project: c.project().to_string(),
            workspace: PathBuf::from(c.label(LABEL_WORKSPACE)),
            seed: c.label(LABEL_SEED).parse().unwrap_or(0),
            containers: Vec::new(),
        });
        entry.containers.push(c);
    }
    by.into_values().collect()
}

/// Finds the running lab a command is about: the named one, else the only running one, else
/// the learner's current lab.
pub async fn running(docker: &Docker, id: Option<LabId>) -> Result<Running, Error> {
    let owned = docker.owned(&[]).await?;
    let labs: Vec<Running> = group(owned)
        .into_iter()
        .filter(|r| r.project == project_name(r.lab))
        .collect();
    let pick = match id {
        Some(id) => labs.into_iter().find(|r| r.lab == id),
        None if labs.len() == 1 => labs.into_iter().next(),
        None if labs.is_empty() => None,
        None => {
            let current = crate::progress::Progress::load().current;
            let names: Vec<String> = labs.iter().map(|r| r.lab.to_string()).collect();
            match labs.into_iter().find(|r| Some(r.lab) == current) {
                Some(r) => Some(r),
                None => {
                    return Err(Error::Usage(format!(
                        "several labs are running ({}): name one, e.g. `promlab check {}`",
                        names.join(", "),
                        names[0]
                    )));
                }
            }
        }
    };
    pick.ok_or_else(|| {
        Error::NotRunning(match id {
            Some(i) => format!("lab {i} is not running: start it with `promlab up {i}`"),
            None => {
                "no lab is running: start one with `promlab up ID` (`promlab list` shows them)".to_string()
            }
        })
    })
}

/// Template variables of a lab's files for one seed: `params.NAME` and `seed`.
pub fn param_vars(lab: &Lab, seed: u64) -> BTreeMap<String, String> {
    let mut vars: BTreeMap<String, String> = template::draw_params(lab.id(), seed, &lab.manifest.params)
        .into_iter()
        .map(|(k, v)| (format!("params.{k}"), v))
        .collect();
    vars.insert("seed".to_string(), seed.to_string());
    vars
}

/// A service's URL as shown to the learner: `https://` when a service that may serve TLS
/// does now.
pub async fn shown_url(client: &reqwest::Client, c: &Owned) -> Option<String> {
    let url = c.url()?;
    if c.labels.contains_key(crate::runtime::LABEL_TLS) && crate::http::serves_https(client, &url).await {
        return Some(url.replacen("http://", "https://", 1));
    }
    Some(url)
}

/// Template variables of a running lab: params, seed, service URLs.
pub fn template_vars(lab: &Lab, run: &Running) -> BTreeMap<String, String> {
    let mut vars = param_vars(lab, run.seed);
    for c in &run.containers {
        if let Some(u) = c.url() {
            vars.insert(format!("service.{}.url", c.service()), u);
        }
    }
    vars
}

/// The lab with its manifest rendered for this learner.
pub fn rendered_lab(catalog: &Catalog, run: &Running) -> Result<Lab, Error> {
    let mut lab = catalog.lab(run.lab)?;
    let vars = template_vars(&lab, run);
    let text = template::render(&lab.text, &vars);
    lab.manifest = yaml::from_str(&lab.manifest_path(), &text)?;
    lab.text = text;
    Ok(lab)
}

/// Builds the grader context for a running lab.
pub fn context(docker: &Docker, lab: Lab, run: &Running, mode: crate::check::Mode) -> Ctx {
    let services = run
        .containers
        .iter()
        .map(|c| {
            let port = c.label(crate::runtime::LABEL_PORT).parse().ok();
            (
                c.service().to_string(),
                Svc {
                    net: std::sync::Arc::new(std::sync::Mutex::new(crate::check::Net::new(
                        c.ports.iter().map(|p| (p.0, p.2)).collect(),
                        port,
                    ))),
                    tls: c.labels.contains_key(crate::runtime::LABEL_TLS),
                    port,
                    ready: c.labels.get(crate::runtime::LABEL_READY).cloned(),
                    restart_on: c.label_list(crate::runtime::LABEL_RESTART_ON),
                    id: c.id.clone(),
                    role: c.label(LABEL_ROLE).to_string(),
                    running: c.state == "running",
                    reload: c.labels.get(LABEL_RELOAD).cloned(),
                    binds: c.label_list(crate::runtime::LABEL_BINDS),
                },
            )
        })
        .collect();
    Ctx {
        lab,
        workspace: run.workspace.clone(),
        services,
        client: crate::http::default_client(),
        docker: docker.clone(),
        started_unix: now_unix(),
        marks: Mutex::new(BTreeMap::new()),
        state: Mutex::new(BTreeMap::new()),
        mode,
        stop: std::sync::atomic::AtomicBool::new(false),
        exclusive: tokio::sync::RwLock::new(()),
        settled_since: 0.0,
    }
}

/// Labels selecting one project.
pub fn project_labels(project: &str) -> [(&'static str, &str); 1] {
    [(LABEL_PROJECT, project)]
}
