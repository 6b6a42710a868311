//! `promlab validate`: the live proof for each lab — the starter fails the checks it declares,
//! every near-miss fails at least one check, the solution passes them all. One stack per lab,
//! reused across phases (reload instead of recreate), labs run concurrently up to `--jobs`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use std::io::IsTerminal;

use futures::StreamExt;
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
    /// The grader's report.
    #[serde(skip)]
    pub report: Option<Report>,
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
    Phase {
        name: "starter".into(),
        ok: problem.is_none(),
        problem,
        seconds: 0.0,
        failed: Vec::new(),
        report: Some(r.clone()),
    }
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
    Phase {
        name: format!("near-miss:{name}"),
        ok: problem.is_none(),
        problem,
        seconds: 0.0,
        failed,
        report: Some(r.clone()),
    }
}

/// Judges a solution report: every check must pass.
pub fn judge_solution(r: &Report) -> Phase {
    let failed = r.failed_ids();
    let problem = (!failed.is_empty()).then(|| format!("the solution fails {}", failed.join(", ")));
    Phase {
        name: "solution".into(),
        ok: problem.is_none(),
        problem,
        seconds: 0.0,
        failed: Vec::new(),
        report: Some(r.clone()),
    }
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

async fn validate_lab(
    docker: &Docker,
    catalog: &Catalog,
    id: LabId,
    token: &str,
    phase: &(dyn Fn(&str) + Sync),
) -> LabResult {
    let started = Instant::now();
    let mut result = LabResult {
        lab: id,
        verdict: "failed",
        note: None,
        phases: Vec::new(),
        seconds: 0.0,
        attempts: 1,
    };
    let lab = match catalog.lab(id) {
        Ok(l) => l,
        Err(e) => {
            result.note = Some(e.to_string());
            return result;
        }
    };
    if let Some(why) = &lab.manifest.online_only {
        result.verdict = "skipped";
        result.note = Some(format!("online-only: {why}"));
        return result;
    }
    let tmp = match tempfile::Builder::new()
        .prefix(&format!("promlab-validate-{id}-"))
        .tempdir()
    {
        Ok(t) => t,
        Err(e) => {
            result.note = Some(format!("cannot create a temporary workspace: {e}"));
            return result;
        }
    };
    let ws: PathBuf = tmp.path().to_path_buf();
    let project = format!("promlab-v{token}-{}", id.slug());
    let outcome = run_phases(docker, catalog, &lab, &ws, &project, &mut result, phase).await;
    let _ = docker.remove_all(&[(LABEL_PROJECT, &project)]).await;
    if let Err(e) = outcome {
        result.note = Some(e.to_string());
    } else if result.phases.iter().all(|p| p.ok) {
        result.verdict = "passed";
    }
    result.seconds = started.elapsed().as_secs_f64();
    result
}

async fn run_phases(
    docker: &Docker,
    catalog: &Catalog,
    lab: &Lab,
    ws: &Path,
    project: &str,
    result: &mut LabResult,
    phase: &(dyn Fn(&str) + Sync),
) -> Result<(), Error> {
    phase("starting the stack");
    overlay(lab, ws, None)?;
    let req = UpRequest {
        catalog,
        lab,
        project: project.to_string(),
        workspace: ws.to_path_buf(),
        seed: VALIDATE_SEED,
        ephemeral_ports: true,
        timeout: Duration::from_secs(90),
    };
    let mut plan = plan_for(&req)?;
    super::up::prefer_local_images(docker, catalog, &mut plan).await?;
    bring_up(docker, &plan, req.timeout, &|_| {}).await?;
    let running = || async {
        let owned = docker.owned(&[(LABEL_PROJECT, project)]).await?;
        group(owned)
            .into_iter()
            .next()
            .ok_or_else(|| Error::NotRunning(format!("validate's stack {project} vanished")))
    };
    let run: Running = running().await?;
    let mut t = Instant::now();
    let mut timed = |mut p: Phase| {
        p.seconds = t.elapsed().as_secs_f64();
        t = Instant::now();
        p
    };
    phase("starter");
    // Only the declared failures need proving: the other checks are not run.
    let starter = Mode {
        only: Some(lab.manifest.starter_fails.iter().cloned().collect()),
        stop_at_first_fail: false,
    };
    let r = grade(docker, catalog, &run, starter, false).await?;
    result.phases.push(timed(judge_starter(lab, &r)));
    for (name, dir) in &lab.near_misses {
        phase(&format!("near-miss {name}"));
        overlay(lab, ws, Some(dir))?;
        let run = running().await?;
        clean_state(&run).await;
        // One genuine failure proves a near-miss: the run ends there. When the lab declares
        // which checks catch it, only those run (and what they require).
        let declared = lab.manifest.near_miss_fails.get(name);
        let near = Mode {
            only: declared.map(|d| d.iter().cloned().collect()),
            stop_at_first_fail: true,
        };
        let r = grade(docker, catalog, &run, near, false).await?;
        result.phases.push(timed(judge_near_miss(name, declared, &r)));
    }
    overlay(lab, ws, None)?;
    let run = running().await?;
    clean_state(&run).await;
    phase("solution");
    apply_solution(docker, catalog, &run).await?;
    let r = grade(docker, catalog, &run, Mode::default(), false).await?;
    result.phases.push(timed(judge_solution(&r)));
    Ok(())
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
    let jobs = jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, usize::from))
        .max(1);
    let token = format!("{:x}", std::process::id());
    let started = Instant::now();
    let multi = if !json && std::io::stderr().is_terminal() {
        MultiProgress::new()
    } else {
        MultiProgress::with_draw_target(ProgressDrawTarget::hidden())
    };
    let say = |line: String| {
        if multi.is_hidden() {
            println!("{line}");
        } else {
            let _ = multi.println(line);
        }
    };
    let mut results: Vec<LabResult> = futures::stream::iter(selected.iter().map(|id| {
        let (docker, catalog, token, multi, say) = (&docker, &catalog, &token, &multi, &say);
        async move {
            let bar = multi.add(ProgressBar::new_spinner());
            bar.set_style(
                ProgressStyle::with_template("{spinner} {prefix} {msg} [{elapsed}]")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.set_prefix(id.to_string());
            bar.enable_steady_tick(Duration::from_millis(120));
            let phase = |p: &str| bar.set_message(p.to_string());
            let mut r = validate_lab(docker, catalog, *id, token, &phase).await;
            let mut attempt = 1;
            while r.verdict == "failed" && attempt <= retries {
                attempt += 1;
                if !json {
                    say(render_result(&r));
                    say(format!(
                        "    retrying {} (attempt {attempt} of {})",
                        r.lab,
                        retries + 1
                    ));
                }
                r = validate_lab(docker, catalog, *id, token, &phase).await;
                r.attempts = attempt;
            }
            bar.finish_and_clear();
            if !json {
                say(render_result(&r));
            }
            r
        }
    }))
    .buffer_unordered(jobs)
    .collect()
    .await;
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
        if let Some(problem) = &p.problem {
            let _ = writeln!(out, "    {}: {problem}", p.name);
        }
        if let Some(rep) = &p.report {
            for line in crate::report::human(rep).lines() {
                let _ = writeln!(out, "      {line}");
            }
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
