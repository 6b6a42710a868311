//! `promlab validate`: the live proof for each lab — the starter fails the checks it declares,
//! every near-miss fails at least one check, every variant (a correct answer written
//! differently) and the solution pass them all; with `--age`, the starter, near-misses and
//! solution again on a stack whose demo looks that old. Every phase's waits are timed and
//! reported, `--partition K/N` proves a stable share of the labs, and `--merge` joins the
//! parts' JSON reports.
//!
//! Layout: `schedule` (phases and who runs them), `phase` (one phase live), `judge` (what a
//! phase must prove), `partition` (the split), `report` (the JSON document and merging),
//! `render` (text, tables and JUnit).

pub mod judge;
pub mod partition;
pub mod phase;
pub mod render;
pub mod report;
pub mod schedule;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

pub use judge::{LabResult, Phase, Waits};
pub use phase::VALIDATE_SEED;
use report::RunReport;
use schedule::{LabWork, Queue, StackKey};

use crate::error::Error;
use crate::exit;
use crate::lab::{Catalog, Lab, LabId};
use crate::runtime::docker::Docker;

/// Rows of each table of slowest labs and phases.
pub const SLOWEST_ROWS: usize = 10;

/// What `promlab validate` was asked.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Labs named.
    pub ids: Vec<LabId>,
    /// `--all`.
    pub all: bool,
    /// `--section N`.
    pub sections: Vec<u16>,
    /// `--jobs`.
    pub jobs: Option<usize>,
    /// `--retries`.
    pub retries: u32,
    /// `--junit FILE`.
    pub junit: Option<PathBuf>,
    /// `--json`.
    pub json: bool,
    /// `--partition K/N`.
    pub partition: Option<partition::Partition>,
    /// `--age DUR`.
    pub age: Option<Duration>,
    /// `--merge FILE…`: merge these reports instead of validating.
    pub merge: Vec<PathBuf>,
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
pub async fn validate(opts: Options) -> Result<u8, Error> {
    if !opts.merge.is_empty() {
        return merge(&opts.merge, opts.json, opts.junit.as_deref());
    }
    let catalog = Catalog::discover()?;
    let selected = select(&catalog, &opts)?;
    let docker = Docker::connect().await?;
    let jobs = opts.jobs.unwrap_or_else(default_jobs).max(1);
    let token = format!("{:x}", std::process::id());
    let started = Instant::now();
    let json = opts.json;
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
    if let Some(p) = opts.partition {
        say(format!(
            "validate: partition {p}: {} labs ({})",
            selected.len(),
            selected
                .iter()
                .map(LabId::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let mut works = Vec::new();
    let mut labs: Vec<Option<Lab>> = Vec::new();
    for id in &selected {
        let (w, lab) = match catalog.lab(*id) {
            Err(e) => (LabWork::unreadable(*id, e.to_string()), None),
            Ok(lab) => match variants_of(&lab) {
                Err(e) => (LabWork::unreadable(*id, e), None),
                Ok(v) => {
                    // Only a demo workload ages: a stack without one has no aged phases.
                    let aged = opts.age.is_some() && phase::has_demo(&catalog, &lab);
                    let jobs = schedule::jobs_of(&lab, &v, aged);
                    (LabWork::with_jobs(*id, jobs), Some(lab))
                }
            },
        };
        works.push(w);
        labs.push(lab);
    }
    for (w, slot) in works.iter_mut().zip(labs.iter_mut()) {
        let Some(lab) = slot.as_ref() else { continue };
        let Some(why) = lab.manifest.online_only.clone() else {
            continue;
        };
        say(format!("{}: online-only; looking for its images", lab.id()));
        if let Some(reason) = phase::unobtainable(&docker, &catalog, lab).await {
            *w = LabWork::skipped(lab.id(), &why, &reason);
            *slot = None;
        }
    }
    let queue = std::sync::Mutex::new(Queue { labs: works });
    let lock = || queue.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    // Labs that need no stack (online-only, unreadable) are reported at once.
    let mut results: Vec<LabResult> = Vec::new();
    for w in lock().labs.iter().filter(|w| w.jobs.is_empty()) {
        let r = w.result(Instant::now());
        say(render::result_line(&r));
        results.push(r);
    }
    let phases: usize = lock().labs.iter().map(|w| w.jobs.len()).sum();
    let cx = phase::Ctx {
        docker: &docker,
        catalog: &catalog,
        age: opts.age,
    };
    let retries = opts.retries;
    let workers = (0..jobs.min(phases)).map(|n| {
        let (cx, multi, say, lock, token, labs) = (&cx, &multi, &say, &lock, &token, &labs);
        async move {
            let bar = multi.add(ProgressBar::new_spinner());
            bar.set_style(
                ProgressStyle::with_template("{spinner} {prefix} {msg} [{elapsed}]")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            let mut stack: Option<phase::Stack> = None;
            let mut done = Vec::new();
            loop {
                let Some((i, step_no)) = lock().take(stack.as_ref().map(|s| s.key)) else {
                    break;
                };
                let job = lock().labs[i].jobs[step_no].clone();
                let Some(lab) = &labs[i] else { continue };
                let key = StackKey {
                    lab: i,
                    aged: job.aged,
                };
                bar.set_prefix(lab.id().to_string());
                bar.reset_elapsed();
                let project = format!(
                    "promlab-v{token}w{n}-{}{}",
                    lab.id().slug(),
                    if job.aged { "-aged" } else { "" }
                );
                let mut attempt = 1;
                let outcome = loop {
                    let r = phase::run_phase(cx, lab, key, &job, &mut stack, &project, &|m: &str| {
                        bar.set_message(m.to_string())
                    })
                    .await
                    .map_err(|e| e.to_string());
                    if r.as_ref().is_ok_and(|p| p.ok) || attempt > retries {
                        break r;
                    }
                    attempt += 1;
                    let failure = match &r {
                        Ok(p) => render::phase_failure(p),
                        Err(e) => format!("    {e}"),
                    };
                    say(format!(
                        "✗ {} {} failed; retrying it on a new stack (attempt {attempt} of {}):\n{failure}",
                        lab.id(),
                        job.label(),
                        retries + 1
                    ));
                    phase::remove_stack(cx.docker, &mut stack).await;
                };
                if let Some(r) = lock().record(i, step_no, outcome, attempt) {
                    say(render::result_line(&r));
                    done.push(r);
                }
            }
            phase::remove_stack(cx.docker, &mut stack).await;
            bar.finish_and_clear();
            done
        }
    });
    for mut r in futures::future::join_all(workers).await {
        results.append(&mut r);
    }
    results.sort_by_key(|r| r.lab);
    let run = RunReport {
        format_version: report::FORMAT_VERSION,
        wall_seconds: started.elapsed().as_secs_f64(),
        jobs,
        partitions: opts.partition.iter().map(ToString::to_string).collect(),
        age_seconds: opts.age.map(|a| a.as_secs()),
        labs: results,
    };
    finish(&run, json, opts.junit.as_deref())
}

/// Prints the run (JSON, or the slowest tables and the summary), writes JUnit, and gives
/// the exit code.
fn finish(run: &RunReport, json: bool, junit: Option<&Path>) -> Result<u8, Error> {
    if json {
        println!("{}", serde_json::to_string_pretty(run).unwrap_or_default());
    } else {
        let table = render::slowest(run, SLOWEST_ROWS);
        if !table.is_empty() {
            println!("\n{table}");
        }
        println!("\n{}", render::summary(run));
    }
    if let Some(path) = junit {
        std::fs::write(path, render::junit(run)).map_err(Error::io("write", path))?;
    }
    Ok(if run.with_verdict("failed").is_empty() {
        exit::OK
    } else {
        exit::CHECKS_FAILED
    })
}

/// `validate --merge A.json B.json…`: one report from the parts of a partitioned run.
fn merge(files: &[PathBuf], json: bool, junit: Option<&Path>) -> Result<u8, Error> {
    let mut parts = Vec::new();
    for f in files {
        let r = report::read(f).map_err(Error::Usage)?;
        parts.push((f.display().to_string(), r));
    }
    let run = report::merge(&parts).map_err(Error::Usage)?;
    finish(&run, json, junit)
}

/// The labs to validate: named, `--all` or `--section`, then this part of `--partition`.
fn select(catalog: &Catalog, opts: &Options) -> Result<Vec<LabId>, Error> {
    let mut selected: Vec<LabId> = if opts.all {
        catalog.dirs.keys().copied().collect()
    } else {
        let mut v = opts.ids.clone();
        v.extend(
            catalog
                .dirs
                .keys()
                .filter(|id| opts.sections.contains(&id.section)),
        );
        v
    };
    selected.sort();
    selected.dedup();
    if selected.is_empty() {
        return Err(Error::Usage(
            "name labs to validate, or use --all or --section N".to_string(),
        ));
    }
    if let Some(p) = opts.partition {
        let times = partition::load_times(&catalog.root).map_err(Error::Usage)?;
        selected = partition::select(&selected, &times, p);
    }
    Ok(selected)
}

/// A lab's `variants/NAME/` folders, by name.
fn variants_of(lab: &Lab) -> Result<Vec<(String, PathBuf)>, String> {
    lab.variants()
        .map(|m| m.into_iter().collect())
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn age_takes_a_duration_and_says_what_to_write_otherwise() {
        assert_eq!(crate::duration::parse_age("10m"), Ok(Duration::from_secs(600)));
        assert!(
            crate::duration::parse_age("ten")
                .unwrap_err()
                .contains("write e.g. 10m")
        );
        assert!(
            crate::duration::parse_age("0s")
                .unwrap_err()
                .contains("under a second")
        );
    }
}
