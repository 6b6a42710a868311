//! Finding the running lab (by Docker labels) and building the grader's context for it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
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

/// Finds the running lab a command is about (see `resolve`).
pub async fn running(docker: &Docker, id: Option<LabId>) -> Result<Running, Error> {
    let owned = docker.owned(&[]).await?;
    let labs: Vec<Running> = group(owned)
        .into_iter()
        .filter(|r| r.project == project_name(r.lab))
        .collect();
    let cwd = std::env::current_dir().unwrap_or_default();
    resolve(labs, id, &cwd)
}

/// Whether `dir` is `workspace` or inside it (symbolic links resolved when both exist).
fn inside(dir: &Path, workspace: &Path) -> bool {
    if workspace.as_os_str().is_empty() {
        return false;
    }
    dir.starts_with(workspace)
        || matches!(
            (dir.canonicalize(), workspace.canonicalize()),
            (Ok(d), Ok(w)) if d.starts_with(&w)
        )
}

/// Picks the running lab a command is about: the named one; else the one whose workspace
/// holds the current folder `cwd`; else the only running one. Several running labs and a
/// folder outside their workspaces is a usage error that lists them: grading or disturbing
/// another lab than the one the learner works in would be a wrong verdict.
pub fn resolve(labs: Vec<Running>, id: Option<LabId>, cwd: &Path) -> Result<Running, Error> {
    if let Some(id) = id {
        return labs.into_iter().find(|r| r.lab == id).ok_or_else(|| {
            Error::NotRunning(format!(
                "lab {id} is not running: start it with `promlab up {id}`"
            ))
        });
    }
    // The innermost workspace holding the current folder.
    let here = labs
        .iter()
        .filter(|r| inside(cwd, &r.workspace))
        .max_by_key(|r| r.workspace.components().count())
        .map(|r| r.lab);
    if let Some(lab) = here {
        return labs
            .into_iter()
            .find(|r| r.lab == lab)
            .ok_or_else(|| Error::NotRunning(format!("lab {lab} is not running")));
    }
    match labs.len() {
        0 => Err(Error::NotRunning(
            "no lab is running: start one with `promlab up ID` (`promlab list` shows them)".to_string(),
        )),
        1 => Ok(labs.into_iter().next().expect("one lab")),
        _ => {
            let names: Vec<String> = labs
                .iter()
                .map(|r| format!("{} in {}", r.lab, r.workspace.display()))
                .collect();
            Err(Error::Usage(format!(
                "several labs are running ({}) and {} is in none of their workspaces: run promlab from the lab's workspace, or name the lab (e.g. `promlab check {}`)",
                names.join(", "),
                cwd.display(),
                labs[0].lab
            )))
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn lab(id: &str, workspace: &str) -> Running {
        Running {
            lab: id.parse().unwrap(),
            project: format!("promlab-{}", id.replace('.', "-")),
            workspace: PathBuf::from(workspace),
            seed: 1,
            containers: Vec::new(),
        }
    }

    fn two() -> Vec<Running> {
        vec![
            lab("1.1", "/home/u/promlab/labs/1.1"),
            lab("4.2", "/home/u/promlab/labs/4.2"),
        ]
    }

    #[test]
    fn the_current_workspace_decides_among_several_labs() {
        let cwd = Path::new("/home/u/promlab/labs/4.2/rules");
        assert_eq!(resolve(two(), None, cwd).unwrap().lab.to_string(), "4.2");
        let cwd = Path::new("/home/u/promlab/labs/1.1");
        assert_eq!(resolve(two(), None, cwd).unwrap().lab.to_string(), "1.1");
        // A named lab wins over the folder.
        let named = resolve(
            two(),
            Some("1.1".parse().unwrap()),
            Path::new("/home/u/promlab/labs/4.2"),
        );
        assert_eq!(named.unwrap().lab.to_string(), "1.1");
        // A sibling folder whose name starts like a workspace is not inside it.
        let err = resolve(two(), None, Path::new("/home/u/promlab/labs/4.25")).unwrap_err();
        assert!(matches!(err, Error::Usage(_)), "{err}");
    }

    #[test]
    fn outside_every_workspace_only_a_single_lab_is_picked() {
        let elsewhere = Path::new("/tmp");
        let one = vec![lab("1.1", "/home/u/promlab/labs/1.1")];
        assert_eq!(resolve(one, None, elsewhere).unwrap().lab.to_string(), "1.1");
        let err = resolve(two(), None, elsewhere).unwrap_err();
        assert_eq!(err.exit_code(), crate::exit::USAGE);
        let msg = err.to_string();
        assert!(
            msg.contains("1.1 in /home/u/promlab/labs/1.1") && msg.contains("4.2 in"),
            "{msg}"
        );
        let err = resolve(Vec::new(), None, elsewhere).unwrap_err();
        assert_eq!(err.exit_code(), crate::exit::NOT_READY);
        let err = resolve(two(), Some("9.9".parse().unwrap()), elsewhere).unwrap_err();
        assert!(err.to_string().contains("lab 9.9 is not running"), "{err}");
    }
}
