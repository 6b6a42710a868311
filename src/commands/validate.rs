//! `promlab validate`: the live proof for each lab — the starter fails the checks it declares,
//! every near-miss fails at least one check, the solution passes them all. Phases are the
//! unit of work: `--jobs` workers each keep one stack, reuse it for the next phase of the same
//! lab (reload instead of recreate), and help the lab with the most phases left when no lab is
//! unstarted, so one long lab is proven by several stacks at once.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use std::io::IsTerminal;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

use super::check::{apply_solution, grade};
use super::session::{Running, group};
use super::up::{UpRequest, bring_up, plan_for};
use crate::check::{Mode, Report};
use crate::error::Error;
use crate::exit;
use crate::lab::{Catalog, Lab, LabId};
use crate::runtime::LABEL_PROJECT;
use crate::runtime::docker::Docker;
use crate::workspace;

/// The result of one phase.
#[derive(Debug, Clone, Serialize)]
pub struct Phase {
    /// `starter`, `near-miss:NAME`, `solution`.
    pub name: String,
    /// Whether the phase proved what it must.
    pub ok: bool,
    /// What went wrong.
    pub problem: Option<String>,
    /// Wall time of the phase (overlay, reload and grading).
    pub seconds: f64,
    /// The checks that failed (a near-miss: what caught it).
    pub failed: Vec<String>,
    /// Each graded check's verdict and seconds: what a lab author tunes `within` from.
    pub checks: Vec<CheckTime>,
    /// The grader's report.
    #[serde(skip)]
    pub report: Option<Report>,
}

impl Phase {
    /// A phase judged on a report (its wall time is set by the caller).
    fn judged(name: String, problem: Option<String>, failed: Vec<String>, r: &Report) -> Self {
        Self {
            name,
            ok: problem.is_none(),
            problem,
            seconds: 0.0,
            failed,
            checks: r
                .outcomes
                .iter()
                .map(|o| CheckTime {
                    id: o.id.clone(),
                    status: o.status,
                    seconds: o.seconds,
                })
                .collect(),
            report: Some(r.clone()),
        }
    }
}

/// One check of a phase, in `--json`.
#[derive(Debug, Clone, Serialize)]
pub struct CheckTime {
    /// The check's id.
    pub id: String,
    /// Its verdict.
    pub status: crate::check::Status,
    /// Seconds it took to reach it.
    pub seconds: f64,
}

/// The result of validating one lab.
#[derive(Debug, Clone, Serialize)]
pub struct LabResult {
    /// The lab.
    pub lab: LabId,
    /// `passed`, `failed` or `skipped`.
    pub verdict: &'static str,
    /// Why skipped or failed before phases.
    pub note: Option<String>,
    /// Phases in order.
    pub phases: Vec<Phase>,
    /// Wall time.
    pub seconds: f64,
    /// Attempts it took (more than 1 = flaky: it failed, then passed on a retry).
    pub attempts: u32,
}

/// Judges a starter report: every declared check must fail (or be blocked).
pub fn judge_starter(lab: &Lab, r: &Report) -> Phase {
    let failed = r.not_passed_ids();
    let missing: Vec<&String> = lab
        .manifest
        .starter_fails
        .iter()
        .filter(|id| !failed.contains(&id.as_str()))
        .collect();
    let problem = if !missing.is_empty() {
        Some(format!(
            "the starter passes {} but starter_fails says it must fail",
            missing.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
        ))
    } else if failed.is_empty() {
        Some("the starter passes every check".to_string())
    } else {
        None
    };
    Phase::judged("starter".into(), problem, Vec::new(), r)
}

/// Judges a near-miss report: at least one check must fail, and one of the declared ones
/// when the lab declares which (`near_miss_fails`).
pub fn judge_near_miss(name: &str, declared: Option<&Vec<String>>, r: &Report) -> Phase {
    let failed: Vec<String> = r.genuine_failures().iter().map(|s| s.to_string()).collect();
    let problem = if failed.is_empty() {
        Some(format!(
            "near-miss `{name}` passes every check: the grader cannot tell it from the solution"
        ))
    } else {
        declared
            .filter(|w| !w.iter().any(|id| failed.contains(id)))
            .map(|want| {
                format!(
                    "near-miss `{name}` must fail {} (near_miss_fails) but fails {}",
                    want.join(" or "),
                    failed.join(", ")
                )
            })
    };
    Phase::judged(format!("near-miss:{name}"), problem, failed, r)
}

/// Judges a solution report: every check must pass.
pub fn judge_solution(r: &Report) -> Phase {
    let failed = r.failed_ids();
    let problem = (!failed.is_empty()).then(|| format!("the solution fails {}", failed.join(", ")));
    Phase::judged("solution".into(), problem, Vec::new(), r)
}

/// The seed every validate run uses.
pub const VALIDATE_SEED: u64 = 1;

/// Forgets what an earlier phase left in the stack's components: the sink's notifications
/// and any demo fault, so a phase is judged on what its own files do.
async fn clean_state(run: &Running) {
    let client = crate::http::client(Duration::from_secs(5));
    for c in &run.containers {
        let Some(url) = c.url() else { continue };
        match c.label(crate::runtime::LABEL_ROLE) {
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
    let vars = super::session::param_vars(lab, VALIDATE_SEED);
    workspace::restore_starter(lab, ws, &vars)?;
    if let Some(o) = over {
        workspace::copy_rendered(o, ws, &vars)?;
    }
    workspace::open_up(ws)
}

/// What one phase proves.
#[derive(Debug, Clone)]
enum Step {
    /// The starter fails the checks it declares.
    Starter,
    /// A near-miss (name, overlay folder) fails at least one check.
    NearMiss(String, PathBuf),
    /// The solution passes every check.
    Solution,
}

impl Step {
    fn label(&self) -> String {
        match self {
            Step::Starter => "starter".into(),
            Step::NearMiss(n, _) => format!("near-miss {n}"),
            Step::Solution => "solution".into(),
        }
    }
}

/// A lab's phases and what became of them. Phases of one lab are independent: each runs
/// on a stack of its own or on one an earlier phase of the same lab left running.
struct LabWork {
    id: LabId,
    /// Its phases in report order (none: online-only or unreadable).
    steps: Vec<Step>,
    /// Index of the next phase nobody has taken.
    next: usize,
    /// Phases taken whose outcome (a phase or an error) is recorded.
    recorded: usize,
    phases: Vec<Option<Phase>>,
    note: Option<String>,
    attempts: u32,
    started: Option<Instant>,
}

impl LabWork {
    /// Work of these phases, none taken yet.
    fn with_steps(id: LabId, steps: Vec<Step>) -> Self {
        LabWork {
            id,
            phases: vec![None; steps.len()],
            steps,
            next: 0,
            recorded: 0,
            note: None,
            attempts: 1,
            started: None,
        }
    }

    /// The work for a lab, and the lab when it is to be validated live. An online-only lab
    /// is validated live too when its images can be obtained (see `unobtainable`).
    fn new(catalog: &Catalog, id: LabId) -> (Self, Option<Lab>) {
        let mut w = LabWork::with_steps(id, Vec::new());
        match catalog.lab(id) {
            Err(e) => w.note = Some(e.to_string()),
            Ok(lab) => {
                let mut steps = vec![Step::Starter];
                steps.extend(
                    lab.near_misses
                        .iter()
                        .map(|(name, dir)| Step::NearMiss(name.clone(), dir.clone())),
                );
                steps.push(Step::Solution);
                return (LabWork::with_steps(id, steps), Some(lab));
            }
        }
        (w, None)
    }

    /// An online-only lab that cannot run here: reported as skipped, by name, with why.
    fn skipped(id: LabId, why: &str, reason: &str) -> Self {
        let mut w = LabWork::with_steps(id, Vec::new());
        w.note = Some(format!("online-only ({why}): not validated, {reason}"));
        w
    }

    fn untaken(&self) -> usize {
        self.steps.len() - self.next
    }

    /// Every phase recorded, or the lab stopped (its stack failed) and nothing is in flight.
    fn finished(&self) -> bool {
        self.recorded == self.steps.len() || (self.note.is_some() && self.recorded == self.next)
    }

    fn result(&self, ended: Instant) -> LabResult {
        let skipped =
            self.steps.is_empty() && self.note.as_deref().is_some_and(|n| n.starts_with("online-only"));
        let phases: Vec<Phase> = self.phases.iter().flatten().cloned().collect();
        let verdict = if skipped {
            "skipped"
        } else if self.note.is_none() && !phases.is_empty() && phases.iter().all(|p| p.ok) {
            "passed"
        } else {
            "failed"
        };
        LabResult {
            lab: self.id,
            verdict,
            note: self.note.clone(),
            phases,
            seconds: self
                .started
                .map_or(0.0, |t| ended.duration_since(t).as_secs_f64()),
            attempts: self.attempts,
        }
    }
}

/// Hands out phases to workers: a worker keeps its stack for the next phase of the same lab
/// (reload instead of recreate); else it starts a lab nobody has started; else it helps the
/// lab with the most phases left (so one long lab does not finish alone at the end).
struct Queue {
    labs: Vec<LabWork>,
}

impl Queue {
    /// The next phase for a worker whose stack serves lab `current`: (lab index, phase index).
    fn take(&mut self, current: Option<usize>) -> Option<(usize, usize)> {
        let open = |w: &LabWork| w.note.is_none() && w.untaken() > 0;
        let pick = current
            .filter(|&i| open(&self.labs[i]))
            .or_else(|| self.labs.iter().position(|w| open(w) && w.next == 0))
            .or_else(|| {
                (0..self.labs.len())
                    .filter(|&i| open(&self.labs[i]))
                    .max_by_key(|&i| (self.labs[i].untaken(), std::cmp::Reverse(i)))
            })?;
        let w = &mut self.labs[pick];
        let step_no = w.next;
        w.next += 1;
        w.started.get_or_insert_with(Instant::now);
        Some((pick, step_no))
    }

    /// Records a phase (or the error that ended it); returns the lab's result when this was
    /// the lab's last outcome (which happens once: nothing is taken after that).
    fn record(
        &mut self,
        i: usize,
        step_no: usize,
        outcome: Result<Phase, String>,
        attempts: u32,
    ) -> Option<LabResult> {
        let w = &mut self.labs[i];
        w.attempts = w.attempts.max(attempts);
        w.recorded += 1;
        match outcome {
            Ok(p) => w.phases[step_no] = Some(p),
            // The stack itself failed: the lab cannot be proven; phases not taken stop.
            Err(e) => {
                w.note.get_or_insert(e);
            }
        }
        w.finished().then(|| w.result(Instant::now()))
    }
}

/// A stack a worker keeps between phases of one lab.
struct Stack {
    lab: usize,
    project: String,
    run: Running,
    _workspace: tempfile::TempDir,
}

/// Runs one phase: on the worker's stack when it serves this lab, else on a new stack
/// started with the starter. Either way the phase's files are then written into the
/// workspace and the grader reloads them, as a learner's edits are (a near-miss whose
/// configuration does not load must fail its check, not the stack's start).
#[allow(clippy::too_many_arguments)]
async fn run_phase(
    docker: &Docker,
    catalog: &Catalog,
    lab: &Lab,
    lab_index: usize,
    step: &Step,
    stack: &mut Option<Stack>,
    project: &str,
    say: &(dyn Fn(&str) + Sync),
) -> Result<Phase, Error> {
    // Only a near-miss overlays files here; the solution's are applied by `apply_solution`.
    let files = match step {
        Step::NearMiss(_, dir) => Some(dir.as_path()),
        Step::Starter | Step::Solution => None,
    };
    let reuse = stack.as_ref().is_some_and(|s| s.lab == lab_index);
    if !reuse {
        remove_stack(docker, stack).await;
        say("starting the stack");
        let tmp = tempfile::Builder::new()
            .prefix(&format!("promlab-validate-{}-", lab.id()))
            .tempdir()
            .map_err(|e| Error::Other(format!("cannot create a temporary workspace: {e}")))?;
        overlay(lab, tmp.path(), None)?;
        let req = UpRequest {
            catalog,
            lab,
            project: project.to_string(),
            workspace: tmp.path().to_path_buf(),
            seed: VALIDATE_SEED,
            ephemeral_ports: true,
            timeout: Duration::from_secs(90),
        };
        let mut plan = plan_for(&req)?;
        super::up::prefer_local_images(docker, catalog, &mut plan).await?;
        let up = bring_up(docker, &plan, req.timeout, &|_| {}).await;
        let run = running(docker, project).await;
        match (up, run) {
            (Ok(_), Ok(run)) => {
                *stack = Some(Stack {
                    lab: lab_index,
                    project: project.to_string(),
                    run,
                    _workspace: tmp,
                });
            }
            (Err(e), _) | (_, Err(e)) => {
                let _ = docker.remove_all(&[(LABEL_PROJECT, project)]).await;
                return Err(e);
            }
        }
    }
    let Some(st) = stack.as_mut() else {
        return Err(Error::Other("validate lost its stack".into()));
    };
    let t = Instant::now();
    if reuse || files.is_some() {
        overlay(lab, &st.run.workspace, files)?;
        st.run = running(docker, &st.project).await?;
        clean_state(&st.run).await;
    }
    say(&step.label());
    let mut phase = match step {
        Step::Starter => {
            // Only the declared failures need proving: the other checks are not run.
            let starter = Mode {
                only: Some(lab.manifest.starter_fails.iter().cloned().collect()),
                stop_at_first_fail: false,
            };
            judge_starter(lab, &grade(docker, catalog, &st.run, starter, false).await?)
        }
        Step::NearMiss(name, _) => {
            // One genuine failure proves a near-miss: the run ends there. When the lab
            // declares which checks catch it, only those run (and what they require).
            let declared = lab.manifest.near_miss_fails.get(name);
            let near = Mode {
                only: declared.map(|d| d.iter().cloned().collect()),
                stop_at_first_fail: true,
            };
            judge_near_miss(
                name,
                declared,
                &grade(docker, catalog, &st.run, near, false).await?,
            )
        }
        Step::Solution => {
            apply_solution(docker, catalog, &st.run).await?;
            judge_solution(&grade(docker, catalog, &st.run, Mode::default(), false).await?)
        }
    };
    phase.seconds = t.elapsed().as_secs_f64();
    Ok(phase)
}

/// Why an online-only lab cannot be validated here: an image it needs is neither in the
/// images file in effect, nor on the engine, nor pullable. `None` when every image is here
/// (or was just pulled): the lab is then validated live like any other.
async fn unobtainable(docker: &Docker, catalog: &Catalog, lab: &Lab) -> Option<String> {
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
    if let Err(e) = super::up::prefer_local_images(docker, catalog, &mut plan).await {
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
async fn remove_stack(docker: &Docker, stack: &mut Option<Stack>) {
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

/// The default `--jobs`: stacks at once. Validation waits on timers (scrape and evaluation
/// intervals, `for:`, Alertmanager's group timers) far more than it computes — measured with
/// 8 stacks on 2 cores: 42% CPU busy on average, and the sum of the phases' times the same as
/// with 6 (2443 s against 2456 s), so no phase waited for a core — four stacks per core, at most 8.
pub fn default_jobs() -> usize {
    let cores = std::thread::available_parallelism().map_or(2, usize::from);
    (cores * 4).clamp(1, 8)
}

/// `promlab validate`.
pub async fn validate(
    ids: Vec<LabId>,
    all: bool,
    sections: Vec<u16>,
    jobs: Option<usize>,
    retries: u32,
    junit: Option<PathBuf>,
    json: bool,
) -> Result<u8, Error> {
    let catalog = Catalog::discover()?;
    let mut selected: Vec<LabId> = if all {
        catalog.dirs.keys().copied().collect()
    } else {
        let mut v = ids;
        v.extend(catalog.dirs.keys().filter(|id| sections.contains(&id.section)));
        v
    };
    selected.sort();
    selected.dedup();
    if selected.is_empty() {
        return Err(Error::Usage(
            "name labs to validate, or use --all or --section N".to_string(),
        ));
    }
    let docker = Docker::connect().await?;
    let jobs = jobs.unwrap_or_else(default_jobs).max(1);
    let token = format!("{:x}", std::process::id());
    let started = Instant::now();
    let multi = if !json && std::io::stderr().is_terminal() {
        MultiProgress::new()
    } else {
        MultiProgress::with_draw_target(ProgressDrawTarget::hidden())
    };
    let say = |line: String| {
        if json {
            // stdout is the JSON document; the running commentary goes to stderr.
            eprintln!("{line}");
        } else if multi.is_hidden() {
            println!("{line}");
        } else {
            let _ = multi.println(line);
        }
    };
    let (mut works, mut labs): (Vec<LabWork>, Vec<Option<Lab>>) =
        selected.iter().map(|id| LabWork::new(&catalog, *id)).unzip();
    for (w, slot) in works.iter_mut().zip(labs.iter_mut()) {
        let Some(lab) = slot.as_ref() else { continue };
        let Some(why) = lab.manifest.online_only.clone() else {
            continue;
        };
        say(format!("{}: online-only; looking for its images", lab.id()));
        if let Some(reason) = unobtainable(&docker, &catalog, lab).await {
            *w = LabWork::skipped(lab.id(), &why, &reason);
            *slot = None;
        }
    }
    let queue = std::sync::Mutex::new(Queue { labs: works });
    let lock = || queue.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    // Labs that need no stack (online-only, unreadable) are reported at once.
    let mut results: Vec<LabResult> = Vec::new();
    for w in lock().labs.iter().filter(|w| w.steps.is_empty()) {
        let r = w.result(Instant::now());
        say(render_result(&r));
        results.push(r);
    }
    let phases: usize = lock().labs.iter().map(|w| w.steps.len()).sum();
    let workers = (0..jobs.min(phases)).map(|n| {
        let (docker, catalog, multi, say, lock, token, labs) =
            (&docker, &catalog, &multi, &say, &lock, &token, &labs);
        async move {
            let bar = multi.add(ProgressBar::new_spinner());
            bar.set_style(
                ProgressStyle::with_template("{spinner} {prefix} {msg} [{elapsed}]")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            let mut stack: Option<Stack> = None;
            let mut done = Vec::new();
            loop {
                let Some((i, step_no)) = lock().take(stack.as_ref().map(|s| s.lab)) else {
                    break;
                };
                let step = lock().labs[i].steps[step_no].clone();
                let Some(lab) = &labs[i] else { continue };
                bar.set_prefix(lab.id().to_string());
                bar.reset_elapsed();
                let project = format!("promlab-v{token}w{n}-{}", lab.id().slug());
                let mut attempt = 1;
                let outcome = loop {
                    let r = run_phase(
                        docker,
                        catalog,
                        lab,
                        i,
                        &step,
                        &mut stack,
                        &project,
                        &|m: &str| bar.set_message(m.to_string()),
                    )
                    .await
                    .map_err(|e| e.to_string());
                    if r.as_ref().is_ok_and(|p| p.ok) || attempt > retries {
                        break r;
                    }
                    attempt += 1;
                    let failure = match &r {
                        Ok(p) => render_phase_failure(p),
                        Err(e) => format!("    {e}"),
                    };
                    say(format!(
                        "✗ {} {} failed; retrying it on a new stack (attempt {attempt} of {}):\n{failure}",
                        lab.id(),
                        step.label(),
                        retries + 1
                    ));
                    remove_stack(docker, &mut stack).await;
                };
                if let Some(r) = lock().record(i, step_no, outcome, attempt) {
                    say(render_result(&r));
                    done.push(r);
                }
            }
            remove_stack(docker, &mut stack).await;
            bar.finish_and_clear();
            done
        }
    });
    for mut r in futures::future::join_all(workers).await {
        results.append(&mut r);
    }
    results.sort_by_key(|r| r.lab);
    let passed: Vec<String> = results
        .iter()
        .filter(|r| r.verdict == "passed")
        .map(|r| r.lab.to_string())
        .collect();
    let failed: Vec<String> = results
        .iter()
        .filter(|r| r.verdict == "failed")
        .map(|r| r.lab.to_string())
        .collect();
    let skipped: Vec<String> = results
        .iter()
        .filter(|r| r.verdict == "skipped")
        .map(|r| r.lab.to_string())
        .collect();
    if json {
        println!("{}", serde_json::to_string_pretty(&results).unwrap_or_default());
    } else {
        let secs = started.elapsed().as_secs_f64();
        println!(
            "\nvalidate: {} labs validated live ({} passed, {} failed), {} skipped as online-only{} in {secs:.1}s ({:.1}s per lab, --jobs {jobs})",
            passed.len() + failed.len(),
            passed.len(),
            failed.len(),
            skipped.len(),
            if skipped.is_empty() {
                String::new()
            } else {
                format!(" ({})", skipped.join(", "))
            },
            secs / results.len().max(1) as f64
        );
        if !failed.is_empty() {
            println!("failed: {}", failed.join(", "));
        }
        let flaky: Vec<String> = results
            .iter()
            .filter(|r| r.verdict == "passed" && r.attempts > 1)
            .map(|r| r.lab.to_string())
            .collect();
        if !flaky.is_empty() {
            println!("flaky (failed, then passed on a retry): {}", flaky.join(", "));
        }
    }
    if let Some(path) = junit {
        let reports: Vec<(String, &Report)> = results
            .iter()
            .flat_map(|r| {
                r.phases.iter().filter_map(move |p| {
                    p.report
                        .as_ref()
                        .map(|rep| (format!("{} {}", r.lab, p.name), rep))
                })
            })
            .collect();
        std::fs::write(&path, crate::report::junit("promlab validate", &reports))
            .map_err(Error::io("write", &path))?;
    }
    Ok(if failed.is_empty() {
        exit::OK
    } else {
        exit::CHECKS_FAILED
    })
}

fn render_result(r: &LabResult) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let mark = match r.verdict {
        "passed" => "✓",
        "skipped" => "-",
        _ => "✗",
    };
    let phases: Vec<String> = r
        .phases
        .iter()
        .map(|p| {
            let caught = if p.name.starts_with("near-miss:") && p.ok && !p.failed.is_empty() {
                format!(" ({})", p.failed.join(", "))
            } else {
                String::new()
            };
            format!(
                "{} {}{caught} {:.0}s",
                p.name,
                if p.ok { "ok" } else { "FAILED" },
                p.seconds
            )
        })
        .collect();
    let retry = if r.attempts > 1 {
        format!(" (attempt {})", r.attempts)
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "{mark} {} {}{retry} in {:.1}s: {}",
        r.lab,
        r.verdict,
        r.seconds,
        phases.join(", ")
    );
    if let Some(n) = &r.note {
        let _ = writeln!(out, "    {n}");
    }
    for p in r.phases.iter().filter(|p| !p.ok) {
        let _ = writeln!(out, "{}", render_phase_failure(p));
    }
    out.trim_end().to_string()
}

/// A failed phase: what it had to prove and the grader's report.
fn render_phase_failure(p: &Phase) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    if let Some(problem) = &p.problem {
        let _ = writeln!(out, "    {}: {problem}", p.name);
    }
    if let Some(rep) = &p.report {
        for line in crate::report::human(rep).lines() {
            let _ = writeln!(out, "      {line}");
        }
    }
    out.trim_end().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::{Outcome, Status};

    fn report(statuses: &[(&str, Status)]) -> Report {
        Report {
            format_version: 1,
            lab: LabId::new(1, 1),
            title: "t".into(),
            passed: statuses.iter().filter(|s| s.1 == Status::Pass).count(),
            total: statuses.len(),
            outcomes: statuses
                .iter()
                .map(|(id, s)| Outcome {
                    id: id.to_string(),
                    title: String::new(),
                    status: *s,
                    expected: String::new(),
                    observed: String::new(),
                    detail: vec![],
                    hint: String::new(),
                    seconds: 0.0,
                })
                .collect(),
        }
    }

    fn work(id: LabId, near_misses: usize) -> LabWork {
        let mut steps = vec![Step::Starter];
        steps.extend((0..near_misses).map(|n| Step::NearMiss(format!("nm{n}"), PathBuf::new())));
        steps.push(Step::Solution);
        LabWork::with_steps(id, steps)
    }

    fn ok_phase(name: &str) -> Result<Phase, String> {
        Ok(judge_near_miss(name, None, &report(&[("a", Status::Fail)])))
    }

    #[test]
    fn workers_keep_their_lab_then_start_new_labs_then_help_the_longest() {
        let mut q = Queue {
            labs: vec![
                work(LabId::new(1, 1), 0),
                work(LabId::new(8, 9), 4),
                work(LabId::new(9, 1), 1),
            ],
        };
        // Two workers start two labs; the first keeps its lab while it has phases left.
        assert_eq!(q.take(None), Some((0, 0)));
        assert_eq!(q.take(None), Some((1, 0)));
        assert_eq!(q.take(Some(0)), Some((0, 1)));
        // Lab 0 is all taken: the worker starts the lab nobody has started.
        assert_eq!(q.take(Some(0)), Some((2, 0)));
        // No lab is unstarted: a free worker helps 8.9, which has the most phases left.
        assert_eq!(q.take(None), Some((1, 1)));
        assert_eq!(q.take(Some(2)), Some((2, 1)));
        assert_eq!(q.take(Some(2)), Some((2, 2)));
        assert_eq!(q.take(Some(2)), Some((1, 2)));
        for _ in 0..3 {
            assert!(q.take(Some(1)).is_some());
        }
        assert_eq!(q.take(Some(1)), None);
        assert_eq!(q.take(None), None);
    }

    #[test]
    fn a_lab_is_reported_once_all_its_phases_are_in() {
        let mut q = Queue {
            labs: vec![work(LabId::new(1, 1), 1)],
        };
        let a = q.take(None).unwrap();
        let b = q.take(None).unwrap();
        let c = q.take(None).unwrap();
        assert!(q.record(a.0, a.1, ok_phase("starter"), 1).is_none());
        assert!(q.record(c.0, c.1, ok_phase("solution"), 2).is_none());
        let r = q.record(b.0, b.1, ok_phase("nm0"), 1).expect("complete");
        assert_eq!(r.verdict, "passed");
        assert_eq!(r.attempts, 2, "a retried phase marks the lab flaky");
        let names: Vec<&str> = r.phases.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(
            names,
            ["near-miss:starter", "near-miss:nm0", "near-miss:solution"],
            "report order"
        );
    }

    #[test]
    fn a_failed_stack_stops_the_lab_once_phases_in_flight_are_in() {
        let mut q = Queue {
            labs: vec![work(LabId::new(8, 9), 3)],
        };
        let a = q.take(None).unwrap();
        let b = q.take(None).unwrap();
        assert!(
            q.record(a.0, a.1, Err("prometheus never became ready".into()), 1)
                .is_none()
        );
        assert_eq!(q.take(None), None, "no new phase of a failed lab starts");
        let r = q.record(b.0, b.1, ok_phase("nm0"), 1).expect("complete");
        assert_eq!(r.verdict, "failed");
        assert_eq!(r.note.as_deref(), Some("prometheus never became ready"));
    }

    #[test]
    fn near_miss_that_passes_is_named() {
        let p = judge_near_miss("for-zero", None, &report(&[("a", Status::Pass)]));
        assert!(!p.ok);
        assert!(
            p.problem
                .unwrap()
                .contains("near-miss `for-zero` passes every check")
        );
        let p = judge_near_miss("x", None, &report(&[("a", Status::Fail)]));
        assert!(p.ok);
        assert_eq!(p.failed, vec!["a".to_string()]);
    }

    #[test]
    fn near_miss_must_fail_a_declared_check() {
        let r = report(&[("a", Status::Fail), ("b", Status::Pass)]);
        let p = judge_near_miss("x", Some(&vec!["b".to_string()]), &r);
        assert!(!p.ok);
        assert_eq!(
            p.problem.unwrap(),
            "near-miss `x` must fail b (near_miss_fails) but fails a"
        );
        let p = judge_near_miss("x", Some(&vec!["b".to_string(), "a".to_string()]), &r);
        assert!(p.ok);
    }

    #[test]
    fn solution_must_pass_everything() {
        let p = judge_solution(&report(&[("a", Status::Pass), ("b", Status::Blocked)]));
        assert!(!p.ok && p.problem.unwrap().contains("fails b"));
    }
}
