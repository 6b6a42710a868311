//! `promlab up ID`: prepare the workspace, plan the stack, build or pull what is missing,
//! start everything, wait until ready, print the real URLs and the next step.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use super::session::{group, project_labels};
use crate::error::Error;
use crate::exit;
use crate::lab::{Catalog, Lab};
use crate::runtime::docker::Docker;
use crate::runtime::plan::{self, PlanInput, project_name};
use crate::runtime::up::{UpEvent, apply, ensure_images};
use crate::runtime::{Owned, StackPlan};
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

/// Brings a planned stack up (images, containers, readiness), rolling back on failure or
/// Ctrl-C. Returns the containers.
pub async fn bring_up(
    docker: &Docker,
    plan: &StackPlan,
    timeout: Duration,
    events: &(dyn Fn(UpEvent) + Sync),
) -> Result<Vec<Owned>, Error> {
    for c in &plan.containers {
        for b in &c.binds {
            workspace::ensure_dir(&b.host)?;
        }
    }
    super::doctor::ensure_self_built(docker, plan).await?;
    ensure_images(docker, plan, events).await?;
    let owned = apply(docker, plan, timeout, events, super::shutdown_signal()).await?;
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

/// `promlab up`.
pub async fn up(
    id: crate::lab::LabId,
    workspace_dir: Option<PathBuf>,
    seed: Option<u64>,
    fresh: bool,
    timeout: u64,
) -> Result<u8, Error> {
    let started = Instant::now();
    let catalog = Catalog::discover()?;
    let lab = catalog.lab(id)?;
    if let Some(why) = &lab.manifest.online_only {
        eprintln!("note: lab {id} is online-only ({why}); it needs images from a registry");
    }
    let docker = Docker::connect().await?;
    let project = project_name(id);
    let existing = group(docker.owned(&project_labels(&project)).await?);
    if let Some(run) = existing.first() {
        let all_running = run.containers.iter().all(|c| c.state == "running");
        if fresh || !all_running {
            if !all_running && !fresh {
                eprintln!("lab {id} was partly stopped; recreating it (your workspace is kept)");
            }
            docker.remove_all(&project_labels(&project)).await?;
        } else {
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
    let ws = workspace::absolute(&workspace_dir.unwrap_or_else(|| workspace::default_dir(id)));
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
    prefer_local_images(&docker, &catalog, &mut plan).await?;
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
    let result = bring_up(&docker, &plan, req.timeout, &events).await;
    bar.finish_and_clear();
    let owned = result?;
    let mut progress = crate::progress::Progress::load();
    progress.current = Some(id);
    progress.save();
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
