//! Bringing a planned stack up: images, network, volumes, containers created concurrently,
//! started in dependency waves, readiness awaited per service with one deadline, and a full
//! rollback (by label, checked) on failure; on a signal it stops between steps that create
//! objects and leaves the rollback to its caller.

use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use futures::future::{join_all, try_join_all};

use super::cancel::Cancel;
use super::docker::{Docker, Removed};
use super::plan::waves;
use super::{LABEL_PROJECT, Owned, ReadyProbe, RuntimeError, StackPlan};
use crate::poll;

/// Something `up` wants the user to see.
#[derive(Debug, Clone)]
pub enum UpEvent {
    /// An image is being pulled.
    Pulling {
        /// The image.
        image: String,
        /// Bytes done and total, when known.
        current: Option<u64>,
        /// Total bytes.
        total: Option<u64>,
    },
    /// Containers are being created.
    Creating {
        /// How many.
        count: usize,
    },
    /// A service answers its readiness probe.
    Ready {
        /// The service.
        service: String,
        /// Time since `up` began.
        after: Duration,
    },
}

/// Pulls every image of the plan that is not present.
pub async fn ensure_images(
    docker: &Docker,
    plan: &StackPlan,
    events: &(dyn Fn(UpEvent) + Sync),
) -> Result<(), RuntimeError> {
    let mut images: Vec<&str> = plan.containers.iter().map(|c| c.image.as_str()).collect();
    images.sort_unstable();
    images.dedup();
    for image in images {
        if docker.image_present(image).await? {
            continue;
        }
        docker
            .pull(image, |(_, _, current, total)| {
                events(UpEvent::Pulling {
                    image: image.to_string(),
                    current,
                    total,
                });
            })
            .await?;
    }
    Ok(())
}

/// Creates and starts the stack and waits until every service is ready. On a failure, removes
/// everything of the project (checked, see `roll_back`) and returns the error. When `cancel`
/// is set, stops after the step that runs (steps that create objects are never cut short)
/// and returns `Interrupted` without removing anything: the caller owns that rollback, so
/// that it also covers what it did before and after.
pub async fn apply(
    docker: &Docker,
    plan: &StackPlan,
    deadline: Duration,
    events: &(dyn Fn(UpEvent) + Sync),
    cancel: &Cancel,
) -> Result<Vec<Owned>, RuntimeError> {
    let started = Instant::now();
    let result = apply_inner(docker, plan, deadline, started, events, cancel).await;
    if let Err(e) = &result
        && !matches!(e, RuntimeError::Interrupted)
        && let Err(left) = roll_back(docker, &plan.project).await
    {
        eprintln!("warning: {left}");
    }
    result
}

/// Removes every container, network and volume of a project (by label, each by id), then
/// lists again until none is left (a few seconds at most). Returns what it removed, or
/// `NotRemoved` with what is still there.
pub async fn roll_back(docker: &Docker, project: &str) -> Result<Removed, RuntimeError> {
    let labels = [(LABEL_PROJECT, project)];
    let mut removed = Removed::default();
    let outcome = poll::until(
        tokio::time::Instant::now() + Duration::from_secs(20),
        Duration::from_millis(250),
        async || {
            let error = match docker.remove_all(&labels).await {
                Ok(r) => {
                    removed.add(r);
                    None
                }
                Err(e) => Some(e.to_string()),
            };
            match docker.count_owned(&labels).await {
                Ok(l) if l.is_empty() => ControlFlow::Break(()),
                Ok(l) => ControlFlow::Continue((
                    l.to_string(),
                    error.unwrap_or_else(|| "they came back after removal".to_string()),
                )),
                Err(e) => ControlFlow::Continue(("an unknown number of objects".to_string(), e.to_string())),
            }
        },
    )
    .await;
    match outcome {
        Ok(()) => Ok(removed),
        Err((left, detail)) => Err(RuntimeError::NotRemoved {
            project: project.to_string(),
            left,
            detail,
        }),
    }
}

async fn apply_inner(
    docker: &Docker,
    plan: &StackPlan,
    deadline: Duration,
    started: Instant,
    events: &(dyn Fn(UpEvent) + Sync),
    cancel: &Cancel,
) -> Result<Vec<Owned>, RuntimeError> {
    cancel.check()?;
    // The network and the volumes do not depend on each other: created at once.
    tokio::try_join!(
        docker.ensure_network(&plan.network, &plan.labels),
        try_join_all(plan.volumes.iter().map(|v| docker.ensure_volume(v, &plan.labels))),
    )?;
    cancel.check()?;
    events(UpEvent::Creating {
        count: plan.containers.len(),
    });
    let ids = try_join_all(plan.containers.iter().map(|c| docker.create(c))).await?;
    cancel.check()?;
    let id_of = |service: &str| -> String {
        plan.containers
            .iter()
            .zip(&ids)
            .find(|(c, _)| c.service == service)
            .map(|(_, id)| id.clone())
            .unwrap_or_default()
    };
    for wave in waves(plan) {
        try_join_all(wave.iter().map(|c| {
            let id = id_of(&c.service);
            async move { start_with_port_fallback(docker, c, &id).await }
        }))
        .await?;
        cancel.check()?;
    }
    let owned = docker.owned(&[(LABEL_PROJECT, &plan.project)]).await?;
    let client = crate::http::client(Duration::from_secs(2));
    let waits = plan.containers.iter().map(|c| {
        let own = owned.iter().find(|o| o.service() == c.service).cloned();
        let client = client.clone();
        let id = own.as_ref().map_or_else(|| id_of(&c.service), |o| o.id.clone());
        async move {
            wait_ready(
                docker,
                &client,
                &c.service,
                &id,
                own.as_ref(),
                c.ready.as_ref(),
                started,
                deadline,
            )
            .await?;
            events(UpEvent::Ready {
                service: c.service.clone(),
                after: started.elapsed(),
            });
            Ok::<(), RuntimeError>(())
        }
    });
    // Waiting only reads: abandoned at once on a signal.
    let results = cancel
        .abortable(join_all(waits))
        .await
        .ok_or(RuntimeError::Interrupted)?;
    if let Some(Err(e)) = results.into_iter().find(Result::is_err) {
        return Err(e);
    }
    Ok(owned)
}

/// Starts a container; when a preferred host port was taken meanwhile (another `up` racing
/// for it), recreates the container on ephemeral ports instead.
async fn start_with_port_fallback(
    docker: &Docker,
    c: &super::ContainerPlan,
    id: &str,
) -> Result<(), RuntimeError> {
    match docker.start(id).await {
        Err(RuntimeError::Api { detail, .. })
            if detail.contains("port is already allocated") || detail.contains("address already in use") =>
        {
            docker.remove_container(id).await?;
            let mut ephemeral = c.clone();
            for p in &mut ephemeral.ports {
                p.host = 0;
            }
            let new_id = docker.create(&ephemeral).await?;
            docker.start(&new_id).await
        }
        other => other,
    }
}

#[expect(
    clippy::too_many_arguments,
    reason = "one call site; a struct would only rename them"
)]
async fn wait_ready(
    docker: &Docker,
    client: &reqwest::Client,
    service: &str,
    id: &str,
    owned: Option<&Owned>,
    probe: Option<&ReadyProbe>,
    started: Instant,
    deadline: Duration,
) -> Result<(), RuntimeError> {
    let mut url = match (probe, owned) {
        (Some(p), Some(o)) => o
            .host_port(p.port)
            .map(|hp| format!("http://127.0.0.1:{hp}{}", p.path)),
        _ => None,
    };
    let mut tick = 0u32;
    let outcome = poll::until(
        poll::deadline_after(started, deadline),
        Duration::from_millis(20),
        async || {
            tick += 1;
            if (tick - 1).is_multiple_of(20) || url.is_none() {
                match docker.state(id).await {
                    Err(e) => return ControlFlow::Break(Err(e)),
                    Ok((false, code)) => {
                        return ControlFlow::Break(Err(RuntimeError::Exited {
                            service: service.to_string(),
                            code,
                            logs: indent(&docker.logs_tail(id, 15).await),
                        }));
                    }
                    Ok((true, _)) if url.is_none() => return ControlFlow::Break(Ok(())),
                    Ok((true, _)) => {}
                }
            }
            let u = url.clone().unwrap_or_default();
            match client.get(&u).send().await {
                Ok(r) if r.status().is_success() => ControlFlow::Break(Ok(())),
                Ok(r) if r.status().as_u16() == 400 && u.starts_with("http://") => {
                    // A web config that turns TLS on: the same path, over HTTPS.
                    let body = r.text().await.unwrap_or_default();
                    if crate::http::is_https_refusal(400, &body) {
                        url = Some(crate::http::Scheme::Https.rebase(&u));
                        return ControlFlow::Continue(format!("{u} asks for HTTPS"));
                    }
                    ControlFlow::Continue(format!("{u} answered 400: {}", body.trim()))
                }
                Ok(r) => ControlFlow::Continue(format!("{u} answered {}", r.status())),
                Err(e) => ControlFlow::Continue(format!("{u}: {}", crate::http::describe(&e))),
            }
        },
    )
    .await;
    match outcome {
        Ok(done) => done,
        Err(last) => Err(RuntimeError::NotReady {
            service: service.to_string(),
            waited: deadline,
            last,
        }),
    }
}

fn indent(s: &str) -> String {
    let lines: Vec<&str> = s.lines().filter(|l| !l.trim().is_empty()).collect();
    lines
        .iter()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}
