//! Finding the running lab (by Docker labels) and building the grader's context for it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::check::{Ctx, Svc, now_unix};
use crate::error::Error;
use crate::lab::template;
use crate::lab::{Catalog, Lab, LabId};
use crate::runtime::docker::Docker;
use crate::runtime::plan::project_name;
use crate::runtime::{
    ContainerState, LABEL_LAB, LABEL_PROJECT, LABEL_RELOAD, LABEL_ROLE, LABEL_SEED, LABEL_WORKSPACE, Owned,
};
use crate::yaml;

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

/// A published port that is not where the lab's stack declares it: the declared host port
/// was taken on this machine when the lab started, so Docker chose another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Moved {
    /// The service.
    pub service: String,
    /// The host port the stack declares (and the lab's text shows).
    pub declared: u16,
    /// The host port the service really has.
    pub actual: u16,
}

/// The host ports a lab's stack declares: (service, container port, host port).
pub fn declared_ports(catalog: &Catalog, lab: &Lab) -> Vec<(String, u16, u16)> {
    let Ok(stack) = crate::stack::Stack::load(&catalog.stack_path(&lab.manifest.stack)) else {
        return Vec::new();
    };
    let stack = stack.merged(&lab.manifest.services);
    let mut out = Vec::new();
    for (name, svc) in &stack.services {
        for p in &svc.ports {
            if let Ok(spec) = crate::stack::parse_port(p)
                && spec.host != 0
            {
                out.push((name.clone(), spec.container, spec.host));
            }
        }
    }
    out
}

/// The declared ports (see `declared_ports`) that the running containers publish elsewhere.
pub fn moved_ports(declared: &[(String, u16, u16)], owned: &[Owned]) -> Vec<Moved> {
    let mut out = Vec::new();
    for (service, container, host) in declared {
        let actual = owned
            .iter()
            .filter(|c| c.service() == service)
            .find_map(|c| c.host_port(*container));
        if let Some(actual) = actual
            && actual != *host
        {
            out.push(Moved {
                service: service.clone(),
                declared: *host,
                actual,
            });
        }
    }
    out
}

/// The moved ports of a running lab.
pub fn moved_of(catalog: &Catalog, run: &Running) -> Vec<Moved> {
    match catalog.lab(run.lab) {
        Ok(lab) => moved_ports(&declared_ports(catalog, &lab), &run.containers),
        Err(_) => Vec::new(),
    }
}

/// The moved ports of a lab if it is running, best effort: nothing when Docker does not
/// answer within 3 s or the lab is not running (then the lab's text is right as it is).
pub async fn moved_if_running(catalog: &Catalog, id: LabId) -> Vec<Moved> {
    let find = async {
        let docker = Docker::connect().await.ok()?;
        let project = project_name(id);
        let owned = docker.owned(&project_labels(&project)).await.ok()?;
        group(owned).into_iter().next()
    };
    match tokio::time::timeout(std::time::Duration::from_secs(3), find).await {
        Ok(Some(run)) => moved_of(catalog, &run),
        _ => Vec::new(),
    }
}

/// One line per moved port, saying where the service really is (for `up` and `show`).
pub fn describe_moved(moved: &[Moved]) -> Vec<String> {
    moved
        .iter()
        .map(|m| {
            format!(
                "note: port {} is taken on this machine, so {} listens on 127.0.0.1:{} instead: where the lab says 127.0.0.1:{} or localhost:{}, use {}",
                m.declared, m.service, m.actual, m.declared, m.declared, m.actual
            )
        })
        .collect()
}

/// Rewrites the URLs a learner opens (`http(s)://127.0.0.1:PORT`, `http(s)://localhost:PORT`)
/// of moved ports to the real ones. Bare `localhost:PORT` stays: inside the lab network it
/// means the container itself, whose port did not move.
pub fn real_urls(text: &str, moved: &[Moved]) -> String {
    static URL: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"(https?://(?:127\.0\.0\.1|localhost)):(\d+)\b").expect("valid regex")
    });
    if moved.is_empty() {
        return text.to_string();
    }
    URL.replace_all(text, |c: &regex::Captures<'_>| {
        let port: Option<u16> = c[2].parse().ok();
        match moved.iter().find(|m| Some(m.declared) == port) {
            Some(m) => format!("{}:{}", &c[1], m.actual),
            None => c[0].to_string(),
        }
    })
    .into_owned()
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
        return Some(crate::http::Scheme::Https.rebase(&url));
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
                    role: crate::stack::Role::from_label(c.label(LABEL_ROLE)),
                    running: c.state == ContainerState::Running,
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

    fn owned(service: &str, ports: &[(u16, u16)]) -> Owned {
        Owned {
            id: "x".into(),
            name: service.into(),
            labels: [(crate::runtime::LABEL_SERVICE.to_string(), service.to_string())].into(),
            state: ContainerState::Running,
            status: String::new(),
            ports: ports
                .iter()
                .map(|(c, h)| (*c, "127.0.0.1".to_string(), *h))
                .collect(),
        }
    }

    #[test]
    fn moved_ports_are_found_and_their_urls_rewritten() {
        let declared = vec![
            ("prometheus".to_string(), 9090, 9090),
            ("node-exporter".to_string(), 9100, 9100),
        ];
        let running = [
            owned("prometheus", &[(9090, 32768)]),
            owned("node-exporter", &[(9100, 9100)]),
        ];
        let moved = moved_ports(&declared, &running);
        assert_eq!(
            moved,
            [Moved {
                service: "prometheus".into(),
                declared: 9090,
                actual: 32768
            }]
        );
        assert!(describe_moved(&moved)[0].contains("prometheus listens on 127.0.0.1:32768"));
        let text = "Open http://127.0.0.1:9090/targets or http://localhost:9090, not http://127.0.0.1:90901; \
                    node is http://127.0.0.1:9100; the job scrapes localhost:9090 (itself).";
        assert_eq!(
            real_urls(text, &moved),
            "Open http://127.0.0.1:32768/targets or http://localhost:32768, not http://127.0.0.1:90901; \
             node is http://127.0.0.1:9100; the job scrapes localhost:9090 (itself)."
        );
        assert_eq!(real_urls(text, &[]), text);
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
