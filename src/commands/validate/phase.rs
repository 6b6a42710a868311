//! Running one phase live: a stack (the worker's own, kept between phases of one lab at one
//! age, or a new one started on the starter), the phase's files written into its workspace,
//! the grader's reload and checks, and the judgement, with every wait timed. `--age` starts
//! the stack with `DEMO_AGE` on every demo service: the demo then behaves as if it had been
//! running that long, so near-misses are proven on a stack older than the lab's windows
//! without waiting in real time.

use std::path::Path;
use std::time::{Duration, Instant};

use super::judge::{Phase, Waits, judge_near_miss, judge_solution, judge_starter, judge_variant};
use super::schedule::{Job, StackKey, Step};
use crate::check::Mode;
use crate::commands::check::{apply_solution, fill_answers, grade};
use crate::commands::session::{Running, group, param_vars};
use crate::commands::up::{UpRequest, bring_up, plan_for, prefer_local_images};
use crate::error::Error;
use crate::lab::{Catalog, Lab};
use crate::runtime::docker::Docker;
use crate::runtime::{LABEL_PROJECT, LABEL_ROLE, StackPlan};
use crate::workspace;

/// The seed every validate run uses.
pub const VALIDATE_SEED: u64 = 1;

/// The environment variable that makes the demo behave as if it started that many seconds
/// ago (counters and histograms pre-accumulated along its seeded pattern).
pub const DEMO_AGE_ENV: &str = "DEMO_AGE";

/// A stack a worker keeps between phases of one lab.
#[derive(Debug)]
pub struct Stack {
    /// What it serves.
    pub key: StackKey,
    project: String,
    run: Running,
    _workspace: tempfile::TempDir,
}

/// Sets `DEMO_AGE` on every demo service of a plan (the services whose role is `demo`).
/// Returns how many it aged.
pub fn age_demos(plan: &mut StackPlan, age: Duration) -> usize {
    let mut n = 0;
    for c in plan
        .containers
        .iter_mut()
        .filter(|c| c.labels.get(LABEL_ROLE).is_some_and(|r| r == "demo"))
    {
        c.env.retain(|e| !e.starts_with(&format!("{DEMO_AGE_ENV}=")));
        c.env.push(format!("{DEMO_AGE_ENV}={}", age.as_secs()));
        n += 1;
    }
    n
}

/// Whether the lab's stack runs a demo service: only those have a workload that ages, so
/// only they get aged phases.
pub fn has_demo(catalog: &Catalog, lab: &Lab) -> bool {
    let req = UpRequest {
        catalog,
        lab,
        project: "promlab-age-preflight".to_string(),
        workspace: std::env::temp_dir(),
        seed: VALIDATE_SEED,
        ephemeral_ports: true,
        timeout: Duration::from_secs(90),
    };
    plan_for(&req).is_ok_and(|mut p| age_demos(&mut p, Duration::from_secs(1)) > 0)
}

/// Forgets what an earlier phase left in the stack's components: the sink's notifications
/// and any demo fault, so a phase is judged on what its own files do.
async fn clean_state(run: &Running) {
    let client = crate::http::client(Duration::from_secs(5));
    for c in &run.containers {
        let Some(url) = c.url() else { continue };
        match c.label(LABEL_ROLE) {
            "sink" => {
                let _ = client.delete(format!("{url}/api/notifications")).send().await;
            }
            "demo" => {
                let _ = client.delete(format!("{url}/admin/fault")).send().await;
            }
            _ => {}
        }
    }
}

fn overlay(lab: &Lab, ws: &Path, over: Option<&Path>) -> Result<(), Error> {
    let vars = param_vars(lab, VALIDATE_SEED);
    workspace::restore_starter(lab, ws, &vars)?;
    if let Some(o) = over {
        workspace::copy_rendered(o, ws, &vars)?;
    }
    workspace::open_up(ws)
}

/// What a phase needs besides its job: the engine, the labs, and the run's settings.
#[derive(Debug)]
pub struct Ctx<'a> {
    /// The engine.
    pub docker: &'a Docker,
    /// The labs.
    pub catalog: &'a Catalog,
    /// `--age`.
    pub age: Option<Duration>,
}

/// Starts a new stack for `key` on the starter's files.
async fn start(cx: &Ctx<'_>, lab: &Lab, key: StackKey, project: &str) -> Result<Stack, Error> {
    let tmp = tempfile::Builder::new()
        .prefix(&format!("promlab-validate-{}-", lab.id()))
        .tempdir()
        .map_err(|e| Error::Other(format!("cannot create a temporary workspace: {e}")))?;
    overlay(lab, tmp.path(), None)?;
    let req = UpRequest {
        catalog: cx.catalog,
        lab,
        project: project.to_string(),
        workspace: tmp.path().to_path_buf(),
        seed: VALIDATE_SEED,
        ephemeral_ports: true,
        timeout: Duration::from_secs(90),
    };
    let mut plan = plan_for(&req)?;
    prefer_local_images(cx.docker, cx.catalog, &mut plan).await?;
    if key.aged
        && let Some(age) = cx.age
    {
        age_demos(&mut plan, age);
    }
    let up = bring_up(cx.docker, &plan, req.timeout, &|_| {}).await;
    match (up, running(cx.docker, project).await) {
        (Ok(_), Ok(run)) => Ok(Stack {
            key,
            project: project.to_string(),
            run,
            _workspace: tmp,
        }),
        (Err(e), _) | (_, Err(e)) => {
            let _ = cx.docker.remove_all(&[(LABEL_PROJECT, project)]).await;
            Err(e)
        }
    }
}

/// Runs one phase: on the worker's stack when it serves this lab at this age, else on a new
/// stack started with the starter. Either way the phase's files are then written into the
/// workspace and the grader reloads them, as a learner's edits are (a near-miss whose
/// configuration does not load must fail its check, not the stack's start).
pub async fn run_phase(
    cx: &Ctx<'_>,
    lab: &Lab,
    key: StackKey,
    job: &Job,
    stack: &mut Option<Stack>,
    project: &str,
    say: &(dyn Fn(&str) + Sync),
) -> Result<Phase, Error> {
    let mut waits = Waits::default();
    let files = job.step.files();
    let reuse = stack.as_ref().is_some_and(|s| s.key == key);
    if !reuse {
        remove_stack(cx.docker, stack).await;
        say("starting the stack");
        let t = Instant::now();
        *stack = Some(start(cx, lab, key, project).await?);
        waits.stack = t.elapsed().as_secs_f64();
    }
    let Some(st) = stack.as_mut() else {
        return Err(Error::Other("validate lost its stack".into()));
    };
    let t = Instant::now();
    if reuse || files.is_some() {
        overlay(lab, &st.run.workspace, files)?;
        st.run = running(cx.docker, &st.project).await?;
        clean_state(&st.run).await;
    }
    waits.prepare = t.elapsed().as_secs_f64();
    say(&job.label());
    let (docker, catalog, run) = (cx.docker, cx.catalog, &st.run);
    let graded = |mode: Mode| grade(docker, catalog, run, mode, false);
    let mut phase = match &job.step {
        Step::Starter => {
            // Only the declared failures need proving: the other checks are not run.
            let starter = Mode {
                only: Some(lab.manifest.starter_fails.iter().cloned().collect()),
                stop_at_first_fail: false,
            };
            let t = Instant::now();
            let r = graded(starter).await?;
            waits.grade = t.elapsed().as_secs_f64();
            judge_starter(lab, &r)
        }
        Step::NearMiss(name, _) => {
            // One genuine failure proves a near-miss: the run ends there. When the lab
            // declares which checks catch it, only those run (and what they require).
            let declared = lab.manifest.near_miss_fails.get(name);
            let near = Mode {
                only: declared.map(|d| d.iter().cloned().collect()),
                stop_at_first_fail: true,
            };
            let t = Instant::now();
            let r = graded(near).await?;
            waits.grade = t.elapsed().as_secs_f64();
            judge_near_miss(name, declared, &r)
        }
        Step::Variant(name, dir) => {
            // A variant brings its own answers.yaml, or gets the live ones a solution gets.
            let t = Instant::now();
            if !lab.manifest.solution_answers.is_empty() && !dir.join("answers.yaml").exists() {
                fill_answers(docker, catalog, run).await?;
            }
            waits.solve = t.elapsed().as_secs_f64();
            let t = Instant::now();
            let r = graded(Mode::default()).await?;
            waits.grade = t.elapsed().as_secs_f64();
            judge_variant(name, &r)
        }
        Step::Solution => {
            let t = Instant::now();
            apply_solution(docker, catalog, run).await?;
            waits.solve = t.elapsed().as_secs_f64();
            let t = Instant::now();
            let r = graded(Mode::default()).await?;
            waits.grade = t.elapsed().as_secs_f64();
            judge_solution(&r)
        }
    };
    if job.aged {
        phase.name = format!("aged:{}", phase.name);
        phase.age_seconds = cx.age.map(|a| a.as_secs());
    }
    phase.seconds = waits.prepare + waits.solve + waits.grade;
    phase.waits = waits;
    Ok(phase)
}

/// Why an online-only lab cannot be validated here: an image it needs is neither in the
/// images file in effect, nor on the engine, nor pullable. `None` when every image is here
/// (or was just pulled): the lab is then validated live like any other.
pub async fn unobtainable(docker: &Docker, catalog: &Catalog, lab: &Lab) -> Option<String> {
    let req = UpRequest {
        catalog,
        lab,
        project: "promlab-images-preflight".to_string(),
        workspace: std::env::temp_dir(),
        seed: VALIDATE_SEED,
        ephemeral_ports: true,
        timeout: Duration::from_secs(90),
    };
    let mut plan = match plan_for(&req) {
        Ok(p) => p,
        Err(e) => return Some(e.to_string()),
    };
    if let Err(e) = prefer_local_images(docker, catalog, &mut plan).await {
        return Some(e.to_string());
    }
    // Self-built images (demo, sink) are built from this repository when missing.
    plan.containers
        .retain(|c| !crate::stack::images::SELF_BUILT.contains(&c.logical_image.as_str()));
    match crate::runtime::up::ensure_images(docker, &plan, &|_| {}).await {
        Ok(()) => None,
        Err(crate::runtime::RuntimeError::ImageMissing { image, detail }) => Some(format!(
            "image {image} is not here and cannot be pulled ({detail})"
        )),
        Err(e) => Some(e.to_string()),
    }
}

/// Removes a worker's stack, if it has one (its temporary workspace goes with it).
pub async fn remove_stack(docker: &Docker, stack: &mut Option<Stack>) {
    if let Some(old) = stack.take() {
        let _ = docker.remove_all(&[(LABEL_PROJECT, &old.project)]).await;
    }
}

/// The running stack of a validate project.
async fn running(docker: &Docker, project: &str) -> Result<Running, Error> {
    let owned = docker.owned(&[(LABEL_PROJECT, project)]).await?;
    group(owned)
        .into_iter()
        .next()
        .ok_or_else(|| Error::NotRunning(format!("validate's stack {project} vanished")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::LabId;

    #[test]
    fn age_sets_demo_age_on_every_demo_service_and_nothing_else() {
        let catalog = Catalog::discover().expect("the source tree's labs");
        let lab = catalog.lab(LabId::new(8, 5)).expect("lab 8.5");
        let req = UpRequest {
            catalog: &catalog,
            lab: &lab,
            project: "promlab-vtest-8-5".into(),
            workspace: std::env::temp_dir(),
            seed: VALIDATE_SEED,
            ephemeral_ports: true,
            timeout: Duration::from_secs(1),
        };
        let mut plan = plan_for(&req).expect("plan");
        let demos = plan
            .containers
            .iter()
            .filter(|c| c.labels.get(LABEL_ROLE).is_some_and(|r| r == "demo"))
            .count();
        assert!(demos >= 2, "8.5 runs several demo instances");
        let before: Vec<Vec<String>> = plan.containers.iter().map(|c| c.env.clone()).collect();
        assert_eq!(age_demos(&mut plan, Duration::from_secs(600)), demos);
        // Twice: the value is replaced, not repeated.
        assert_eq!(age_demos(&mut plan, Duration::from_secs(600)), demos);
        for (c, env) in plan.containers.iter().zip(before) {
            let aged: Vec<&String> = c.env.iter().filter(|e| e.starts_with("DEMO_AGE=")).collect();
            if c.labels.get(LABEL_ROLE).is_some_and(|r| r == "demo") {
                assert_eq!(aged, ["DEMO_AGE=600"], "{}", c.name);
            } else {
                assert_eq!(c.env, env, "{} untouched", c.name);
            }
        }
    }
}
