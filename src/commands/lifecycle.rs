//! `status`, `down`, `logs` and `fault`: what runs, removing it, reading it, disturbing it.

use futures::StreamExt;

use super::session::{group, running};
use crate::error::Error;
use crate::exit;
use crate::lab::LabId;
use crate::runtime::docker::Docker;
use crate::runtime::plan::project_name;

/// `promlab status`.
pub async fn status() -> Result<u8, Error> {
    let docker = Docker::connect().await?;
    let labs = group(docker.owned(&[]).await?);
    if labs.is_empty() {
        println!("no lab is running; start one with `promlab up ID` (`promlab list` shows them)");
        return Ok(exit::OK);
    }
    let client = crate::http::client(std::time::Duration::from_secs(3));
    for r in labs {
        let kind = if r.project == project_name(r.lab) {
            String::new()
        } else {
            format!(" ({})", r.project)
        };
        println!("lab {}{kind} — workspace {}", r.lab, r.workspace.display());
        let width = r.containers.iter().map(|c| c.service().len()).max().unwrap_or(8);
        for c in &r.containers {
            let url = super::session::shown_url(&client, c)
                .await
                .unwrap_or_else(|| "-".to_string());
            println!("  {:width$}  {:8} {url}  {}", c.service(), c.state, c.status);
        }
    }
    Ok(exit::OK)
}

/// `promlab down`.
pub async fn down(id: Option<LabId>, all: bool) -> Result<u8, Error> {
    let docker = Docker::connect().await?;
    let removed = if all {
        docker.remove_all(&[]).await?
    } else {
        let id = match id {
            Some(id) => id,
            None => {
                let mut labs: Vec<LabId> = group(docker.owned(&[]).await?).iter().map(|r| r.lab).collect();
                if labs.is_empty() {
                    // No container, but an `up` killed early may have left a network or a volume.
                    labs = docker
                        .leftover_projects()
                        .await?
                        .into_iter()
                        .filter_map(|(lab, project)| {
                            lab.parse::<LabId>().ok().filter(|l| project_name(*l) == project)
                        })
                        .collect();
                    labs.dedup();
                }
                match labs.as_slice() {
                    [] => {
                        println!("nothing to remove: no lab is running");
                        return Ok(exit::OK);
                    }
                    [one] => *one,
                    many => {
                        let names: Vec<String> = many.iter().map(ToString::to_string).collect();
                        return Err(Error::Usage(format!(
                            "several labs are running ({}): name one, or use `promlab down --all`",
                            names.join(", ")
                        )));
                    }
                }
            }
        };
        // By label, each object by id, then listed again until none is left: this also
        // removes what an `up` killed by SIGKILL left (a network, a volume, stopped containers).
        crate::runtime::up::roll_back(&docker, &project_name(id)).await?
    };
    println!(
        "removed {} containers, {} networks, {} volumes (workspaces are kept)",
        removed.containers, removed.networks, removed.volumes
    );
    Ok(exit::OK)
}

/// `promlab logs SERVICE`.
pub async fn logs(service: &str, lab: Option<LabId>, follow: bool, tail: Option<usize>) -> Result<u8, Error> {
    let docker = Docker::connect().await?;
    let run = running(&docker, lab).await?;
    let Some(c) = run.containers.iter().find(|c| c.service() == service) else {
        let names: Vec<&str> = run.containers.iter().map(|c| c.service()).collect();
        return Err(Error::Usage(format!(
            "lab {} has no service `{service}`; it runs {}",
            run.lab,
            names.join(", ")
        )));
    };
    let mut s = Box::pin(docker.logs(&c.id, follow, tail));
    loop {
        tokio::select! {
            item = s.next() => match item {
                Some(Ok(chunk)) => print!("{chunk}"),
                Some(Err(e)) => return Err(e.into()),
                None => break,
            },
            () = super::shutdown_signal() => break,
        }
    }
    Ok(exit::OK)
}

/// `promlab fault SERVICE KIND` / `promlab fault clear`.
pub async fn fault(
    service: &str,
    kind: Option<&str>,
    rate: Option<f64>,
    latency: Option<&str>,
    duration: Option<&str>,
    lab: Option<LabId>,
) -> Result<u8, Error> {
    let docker = Docker::connect().await?;
    let run = running(&docker, lab).await?;
    let client = crate::http::default_client();
    let demos: Vec<&crate::runtime::Owned> = run
        .containers
        .iter()
        .filter(|c| c.label(crate::runtime::LABEL_ROLE) == "demo")
        .collect();
    let parse_ms = |s: &str| crate::duration::Dur::parse(s).map_err(Error::Usage);
    if service == "clear" {
        for d in &demos {
            if let Some(u) = d.url() {
                client
                    .delete(format!("{u}/admin/fault"))
                    .send()
                    .await
                    .map_err(|e| {
                        Error::Other(format!(
                            "cannot reach {}: {}",
                            d.service(),
                            crate::http::describe(&e)
                        ))
                    })?;
            }
        }
        println!("cleared faults on {} demo services", demos.len());
        return Ok(exit::OK);
    }
    let Some(d) = demos.iter().find(|c| c.service() == service) else {
        let names: Vec<&str> = demos.iter().map(|c| c.service()).collect();
        return Err(Error::Usage(format!(
            "`{service}` is not a demo service of lab {} (demo services: {})",
            run.lab,
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            }
        )));
    };
    let Some(kind) = kind else {
        return Err(Error::Usage(
            "name the fault: errors, latency, down, cardinality, churn or counter-reset".to_string(),
        ));
    };
    let mut body = serde_json::json!({"kind": kind});
    if let Some(r) = rate {
        body["rate"] = serde_json::json!(r);
    }
    if let Some(l) = latency {
        body["latency_ms"] = serde_json::json!(parse_ms(l)?.0.as_millis());
    }
    if let Some(d) = duration {
        body["duration_s"] = serde_json::json!(parse_ms(d)?.secs());
    }
    let url = d
        .url()
        .ok_or_else(|| Error::Other(format!("{service} publishes no port")))?;
    let resp = client
        .post(format!("{url}/admin/fault"))
        .json(&body)
        .send()
        .await
        .map_err(|e| Error::Other(format!("cannot reach {service}: {}", crate::http::describe(&e))))?;
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    if !status.is_success() {
        return Err(Error::Usage(format!(
            "{service} refused the fault: {}",
            crate::check::trim(&text, 200)
        )));
    }
    println!("fault `{kind}` started on {service}; `promlab fault clear` ends it");
    Ok(exit::OK)
}
