//! `promlab up ID`: prepare the workspace, plan the stack, build or pull what is missing,
//! start everything, wait until ready, print the real URLs and the next step.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use super::session::{group, project_labels};
use crate::error::Error;
use crate::exit;
use crate::lab::{Catalog, Lab};
use crate::runtime::cancel::Cancel;
use crate::runtime::docker::Docker;
use crate::runtime::lock::{LockError, ProjectLock, lock_path};
use crate::runtime::plan::{self, PlanInput, project_name};
use crate::runtime::up::{UpEvent, apply, ensure_images, roll_back};
use crate::runtime::{ContainerState, Owned, RuntimeError, StackPlan};
use crate::stack::Stack;
use crate::stack::images::ImageMap;
use crate::workspace::{self, Prepared};

/// The default seed: stable per user, so a learner's parameters do not change between runs.
pub fn default_seed() -> u64 {
    let user = std::env::var("USER").unwrap_or_else(|_| "learner".to_string());
    user.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Everything needed to bring a lab up, independent of the terminal.
#[derive(Debug)]
pub struct UpRequest<'a> {
    /// The catalog.
    pub catalog: &'a Catalog,
    /// The lab.
    pub lab: &'a Lab,
    /// Project name.
    pub project: String,
    /// Workspace.
    pub workspace: PathBuf,
    /// Seed.
    pub seed: u64,
    /// Ephemeral ports only.
    pub ephemeral_ports: bool,
    /// Readiness deadline.
    pub timeout: Duration,
}

/// Plans a lab's stack.
pub fn plan_for(req: &UpRequest<'_>) -> Result<StackPlan, Error> {
    let stack_path = req.catalog.stack_path(&req.lab.manifest.stack);
    // A lab's own services were checked against this stack when the lab loaded
    // (`Catalog::lab`: undeclared volumes and dependencies, with lab.yaml's lines).
    let stack = Stack::load(&stack_path)?.merged(&req.lab.manifest.services);
    let images = ImageMap::selected(&req.catalog.root)?;
    let input = PlanInput {
        lab: req.lab.id(),
        project: &req.project,
        workspace: &req.workspace,
        seed: req.seed,
        ephemeral_ports: req.ephemeral_ports,
    };
    let mut plan = plan::build(&stack, &images, &input, &|p| {
        std::net::TcpListener::bind(("127.0.0.1", p)).is_ok()
    })
    .map_err(|m| Error::Lab(crate::lab::LabError::at(&stack_path, m)))?;
    for c in &mut plan.containers {
        if c.image.ends_with(crate::component::image::AUTO_TAG) {
            c.image = crate::component::image::resolve(&c.image)?;
        }
    }
    Ok(plan)
}

/// Brings a planned stack up (images, containers, readiness), rolling back on failure; stops
/// on Ctrl-C (the caller removes what is left). Returns the containers.
pub async fn bring_up(
    docker: &Docker,
    plan: &StackPlan,
    timeout: Duration,
    events: &(dyn Fn(UpEvent) + Sync),
) -> Result<Vec<Owned>, Error> {
    let cancel = Cancel::new();
    let flag = cancel.clone();
    let watcher = tokio::spawn(async move {
        super::shutdown_signal().await;
        flag.cancel("SIGINT");
    });
    let result = bring_up_with(docker, plan, timeout, events, &cancel).await;
    watcher.abort();
    result
}

/// Like `bring_up`, stopping between steps once `cancel` is set: returns `Interrupted` then,
/// and the caller removes what the project has (`runtime::up::roll_back`).
pub async fn bring_up_with(
    docker: &Docker,
    plan: &StackPlan,
    timeout: Duration,
    events: &(dyn Fn(UpEvent) + Sync),
    cancel: &Cancel,
) -> Result<Vec<Owned>, Error> {
    let ws = plan
        .labels
        .get(crate::runtime::LABEL_WORKSPACE)
        .map(PathBuf::from)
        .unwrap_or_default();
    for c in &plan.containers {
        for b in &c.binds {
            workspace::ensure_dir(&ws, &b.host)?;
        }
    }
    // Images are not the lab's objects: checking, building or pulling them is abandoned at once.
    cancel
        .abortable(super::doctor::ensure_self_built(docker, plan))
        .await
        .ok_or(RuntimeError::Interrupted)??;
    cancel
        .abortable(ensure_images(docker, plan, events))
        .await
        .ok_or(RuntimeError::Interrupted)??;
    let owned = apply(docker, plan, timeout, events, cancel).await?;
    record_started(&owned);
    Ok(owned)
}

/// When no images file was chosen (`PROMLAB_IMAGES` unset) and an upstream image is not
/// here, uses the locally built image of the same logical name, and says so. Without a
/// registry this is what the user wants; with one, nothing changes.
pub async fn prefer_local_images(
    docker: &Docker,
    catalog: &Catalog,
    plan: &mut StackPlan,
) -> Result<(), Error> {
    if std::env::var_os(crate::stack::images::IMAGES_ENV).is_some_and(|v| !v.is_empty()) {
        return Ok(());
    }
    let Ok(local) = ImageMap::load(&catalog.root.join("compose/images.local.yaml")) else {
        return Ok(());
    };
    for c in &mut plan.containers {
        if crate::stack::images::SELF_BUILT.contains(&c.logical_image.as_str())
            || docker.image_present(&c.image).await?
        {
            continue;
        }
        if let Some(l) = local.resolve(&c.logical_image)
            && docker.image_present(l).await?
        {
            eprintln!(
                "note: {} is not here; using the locally built {l} (set PROMLAB_IMAGES to choose)",
                c.image
            );
            c.image = l.to_string();
        }
    }
    Ok(())
}

/// Tells the grader that fresh services run the workspace as it is now.
fn record_started(owned: &[Owned]) {
    if let Some(ws) = owned
        .first()
        .map(|c| std::path::PathBuf::from(c.label(crate::runtime::LABEL_WORKSPACE)))
    {
        let services: Vec<crate::check::reload::Started> = owned
            .iter()
            .filter(|c| {
                c.labels.contains_key(crate::runtime::LABEL_RELOAD)
                    || c.labels.contains_key(crate::runtime::LABEL_RESTART_ON)
            })
            .map(|c| crate::check::reload::Started {
                name: c.service().to_string(),
                id: c.id.clone(),
                binds: c.label_list(crate::runtime::LABEL_BINDS),
                restart_on: c.label_list(crate::runtime::LABEL_RESTART_ON),
            })
            .collect();
        crate::check::reload::record_started(&ws, &services);
    }
}

/// What `up` had done when it stopped: whether it connected and whether it began to change
/// the lab's objects (then a signal removes them all).
#[derive(Debug, Default)]
struct Progress {
    docker: Option<Docker>,
    changing: bool,
}

/// `promlab up`. Signals are taken over first, then the project's lock: from then on a
/// SIGINT or SIGTERM at any instant ends with the lab's objects removed and checked (unless
/// the lab was already up before this command and it only reused it).
pub async fn up(
    id: crate::lab::LabId,
    workspace_dir: Option<PathBuf>,
    seed: Option<u64>,
    fresh: bool,
    timeout: u64,
) -> Result<u8, Error> {
    let cancel = super::interrupts(format!("promlab down {id}"))?;
    let project = project_name(id);
    let _lock = match ProjectLock::try_acquire(&lock_path(&workspace::home(), &project)) {
        Ok(lock) => lock,
        Err(LockError::Busy { path, pid }) => {
            let by = pid.map(|p| format!(" (pid {p})")).unwrap_or_default();
            return Err(Error::NotRunning(format!(
                "lab {id} is already starting: another `promlab up {id}`{by} holds {}; when it is done, `promlab status` shows the lab",
                path.display()
            )));
        }
        Err(LockError::Io { path, source }) => {
            return Err(Error::Io {
                action: "lock",
                path,
                source,
            });
        }
    };
    let mut progress = Progress {
        docker: None,
        changing: fresh,
    };
    let result = up_locked(id, workspace_dir, seed, fresh, timeout, &cancel, &mut progress).await;
    if !cancel.is_cancelled() {
        return result;
    }
    let signal = cancel.reason().unwrap_or("a signal").to_string();
    let outcome = if progress.changing {
        stop_and_remove(id, &project, progress.docker).await
    } else if result.is_ok() {
        format!("lab {id} was already up before this command and is left running")
    } else {
        format!("nothing of lab {id} was changed")
    };
    Err(Error::Runtime(RuntimeError::Stopped { signal, outcome }))
}

/// Removes everything of the project after a signal and says what it removed, only once a
/// second listing found nothing left (or what is left and how to remove it).
async fn stop_and_remove(id: crate::lab::LabId, project: &str, docker: Option<Docker>) -> String {
    let docker = match docker {
        Some(d) => d,
        None => match Docker::connect().await {
            Ok(d) => d,
            Err(e) => {
                return format!(
                    "could not check what is left of lab {id} ({e}); `promlab down {id}` removes it"
                );
            }
        },
    };
    match roll_back(&docker, project).await {
        Ok(r) if r.is_empty() => format!("nothing of lab {id} is left (checked)"),
        Ok(r) => format!("removed {r} of lab {id}; nothing of it is left (checked)"),
        Err(e) => format!("{e}; `promlab down {id}` removes what is left"),
    }
}

async fn up_locked(
    id: crate::lab::LabId,
    workspace_dir: Option<PathBuf>,
    seed: Option<u64>,
    fresh: bool,
    timeout: u64,
    cancel: &Cancel,
    progress: &mut Progress,
) -> Result<u8, Error> {
    let interrupted = || Error::Runtime(RuntimeError::Interrupted);
    let started = Instant::now();
    let catalog = Catalog::discover()?;
    let lab = catalog.lab(id)?;
    if let Some(why) = &lab.manifest.online_only {
        eprintln!("note: lab {id} is online-only ({why}); it needs images from a registry");
    }
    let docker = cancel
        .abortable(Docker::connect())
        .await
        .ok_or_else(interrupted)??;
    progress.docker = Some(docker.clone());
    let project = project_name(id);
    let stack_path = catalog.stack_path(&lab.manifest.stack);
    let services: Vec<String> = Stack::load(&stack_path)?
        .merged(&lab.manifest.services)
        .services
        .into_keys()
        .collect();
    let ws = workspace::absolute(
        &workspace_dir
            .clone()
            .unwrap_or_else(|| workspace::default_dir(id)),
    );
    let existing = cancel
        .abortable(docker.owned(&project_labels(&project)))
        .await
        .ok_or_else(interrupted)??;
    let existing = group(existing);
    if let Some(run) = existing.first().filter(|_| !fresh) {
        let complete = services.iter().all(|s| {
            run.containers
                .iter()
                .any(|c| c.service() == s && c.state == ContainerState::Running)
        });
        if complete {
            if workspace_dir.is_some() && !same_folder(&ws, &run.workspace) {
                return Err(Error::Usage(format!(
                    "lab {id} already runs on workspace {}, not {}: `promlab up {id} --workspace {} --fresh` restarts it on {} (the files in {} are kept)",
                    run.workspace.display(),
                    ws.display(),
                    ws.display(),
                    ws.display(),
                    run.workspace.display()
                )));
            }
            println!(
                "lab {id} is already up (workspace {}); reusing it",
                run.workspace.display()
            );
            print_services(&run.containers).await;
            print_moved(&super::session::moved_ports(
                &super::session::declared_ports(&catalog, &lab),
                &run.containers,
            ));
            println!(
                "\nnext: edit the files in {}, then run `promlab check`",
                run.workspace.display()
            );
            return Ok(exit::OK);
        }
    }
    // From here on this command owns the project: a signal removes all of it.
    progress.changing = true;
    cancel.check()?;
    let removed = roll_back(&docker, &project).await?;
    if !removed.is_empty() {
        if fresh {
            eprintln!("removed the previous copy of lab {id} ({removed}); your workspace is kept");
        } else if existing.is_empty() {
            eprintln!("removed what an interrupted `promlab up {id}` had left ({removed})");
        } else {
            eprintln!("lab {id} was partly stopped; recreating it (your workspace is kept)");
        }
    }
    cancel.check()?;
    let seed = seed.unwrap_or_else(default_seed);
    let prepared = workspace::prepare(&lab, &ws, &super::session::param_vars(&lab, seed))?;
    let req = UpRequest {
        catalog: &catalog,
        lab: &lab,
        project,
        workspace: ws.clone(),
        seed,
        ephemeral_ports: false,
        timeout: Duration::from_secs(timeout),
    };
    let mut plan = plan_for(&req)?;
    cancel
        .abortable(prefer_local_images(&docker, &catalog, &mut plan))
        .await
        .ok_or_else(interrupted)??;
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(Duration::from_millis(100));
    bar.set_message(format!("starting lab {id}: {} services", plan.containers.len()));
    let pending = std::sync::Mutex::new(
        plan.containers
            .iter()
            .map(|c| c.service.clone())
            .collect::<Vec<_>>(),
    );
    let events = |e: UpEvent| match e {
        UpEvent::Pulling {
            image,
            current,
            total,
        } => {
            let pct = match (current, total) {
                (Some(c), Some(t)) if t > 0 => format!(" {}%", c * 100 / t),
                _ => String::new(),
            };
            bar.set_message(format!("pulling {image}{pct}"));
        }
        UpEvent::Creating { count } => bar.set_message(format!("creating {count} containers")),
        UpEvent::Ready { service, .. } => {
            if let Ok(mut p) = pending.lock() {
                p.retain(|s| s != &service);
                bar.set_message(format!("waiting for {}", p.join(", ")));
            }
        }
    };
    let result = bring_up_with(&docker, &plan, req.timeout, &events, cancel).await;
    bar.finish_and_clear();
    let owned = result?;
    cancel.check()?;
    let mut saved = crate::learner_progress::Progress::load();
    saved.current = Some(id);
    saved.save();
    println!(
        "lab {id} — {} is up in {:.1}s",
        lab.manifest.title,
        started.elapsed().as_secs_f64()
    );
    print_services(&owned).await;
    print_moved(&super::session::moved_ports(
        &super::session::declared_ports(&catalog, &lab),
        &owned,
    ));
    match prepared {
        Prepared::Fresh => println!("\nworkspace: {} (fresh copy of the starter)", ws.display()),
        Prepared::Kept => println!(
            "\nworkspace: {} (kept your existing files; `promlab reset {id}` restores the starter)",
            ws.display()
        ),
    }
    println!(
        "task: `promlab show {id}` • grade: `promlab check` • hint: `promlab hint` • stop: `promlab down`"
    );
    Ok(exit::OK)
}

/// Whether two paths name the same folder (symbolic links and `..` resolved where they exist).
fn same_folder(a: &std::path::Path, b: &std::path::Path) -> bool {
    let real = |p: &std::path::Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    real(a) == real(b)
}

/// Says which services do not listen where the lab's text says (their port was taken).
fn print_moved(moved: &[super::session::Moved]) {
    for line in super::session::describe_moved(moved) {
        println!("{line}");
    }
}

/// Prints one line per service with its URL.
pub async fn print_services(owned: &[Owned]) {
    let width = owned.iter().map(|c| c.service().len()).max().unwrap_or(8);
    let client = crate::http::client(std::time::Duration::from_secs(3));
    for c in owned {
        let url = super::session::shown_url(&client, c)
            .await
            .unwrap_or_else(|| "(lab network only)".to_string());
        println!("  {:width$}  {url}  {}", c.service(), c.state);
    }
}
