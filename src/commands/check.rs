//! `check`, `watch`, `hint`, `solve` and `reset`: grading the learner's work and helping.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use indicatif::ProgressBar;

use super::session::{Running, context, rendered_lab, running};
use crate::check::{Mode, Report, reload, run_all};
use crate::error::Error;
use crate::exit;
use crate::lab::{Catalog, LabId};
use crate::learner_progress::Progress;
use crate::runtime::docker::Docker;
use crate::workspace;

/// Runs the grader once on a running lab: reload first, then every check.
pub async fn grade(
    docker: &Docker,
    catalog: &Catalog,
    run: &Running,
    mode: Mode,
    show_progress: bool,
) -> Result<Report, Error> {
    let lab = rendered_lab(catalog, run)?;
    let mut ctx = context(docker, lab, run, mode);
    let (pre, settled) = reload::apply(&ctx, false).await;
    // `within` counts from the learner's last change: a reload, or any file saved since
    // (queries and answers are read directly, without a reload).
    ctx.settled_since = settled.max(reload::newest_mtime(&run.workspace));
    let bar = if show_progress && std::io::stderr().is_terminal() {
        ProgressBar::new_spinner()
    } else {
        ProgressBar::hidden()
    };
    let progress = |id: &str, waited: Duration| {
        bar.set_message(format!("waiting for {id} ({}s)", waited.as_secs()));
        bar.tick();
    };
    let report = run_all(&ctx, pre, &progress).await;
    bar.finish_and_clear();
    Ok(report)
}

/// Records progress after a check run.
fn record(report: &Report) {
    let mut p = Progress::load();
    let entry = p.lab(report.lab);
    entry.last_score = Some((report.passed, report.total));
    if report.all_passed() && !entry.done {
        entry.done = true;
        entry.passed_at = Some(crate::check::now_unix() as u64);
    }
    p.current = Some(report.lab);
    p.save();
}

/// `promlab check`.
pub async fn check(id: Option<LabId>, json: bool, junit: Option<PathBuf>) -> Result<u8, Error> {
    let catalog = Catalog::discover()?;
    let docker = Docker::connect().await?;
    let run = running(&docker, id).await?;
    let report = grade(&docker, &catalog, &run, Mode::default(), !json).await?;
    record(&report);
    let moved = super::session::moved_of(&catalog, &run);
    if json {
        println!(
            "{}",
            super::session::real_urls(&crate::report::json(&report), &moved)
        );
    } else {
        print!(
            "{}",
            super::session::real_urls(&crate::report::human(&report), &moved)
        );
    }
    if let Some(path) = junit {
        let xml = crate::report::junit("promlab check", &[(report.lab.to_string(), &report)]);
        std::fs::write(&path, xml).map_err(Error::io("write", &path))?;
    }
    Ok(if report.all_passed() {
        exit::OK
    } else {
        exit::CHECKS_FAILED
    })
}

/// `promlab watch`: re-check on every save.
pub async fn watch(id: Option<LabId>) -> Result<u8, Error> {
    use notify::{RecursiveMode, Watcher};
    let catalog = Catalog::discover()?;
    let docker = Docker::connect().await?;
    let run = running(&docker, id).await?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        if let Ok(ev) = res {
            let relevant = ev.paths.iter().any(|p| {
                !p.components().any(|c| {
                    c.as_os_str()
                        .to_string_lossy()
                        .starts_with(crate::workspace::STATE_DIR)
                })
            });
            if relevant && !matches!(ev.kind, notify::EventKind::Access(_)) {
                let _ = tx.send(());
            }
        }
    })
    .map_err(|e| Error::Other(format!("cannot watch {}: {e}", run.workspace.display())))?;
    watcher
        .watch(&run.workspace, RecursiveMode::Recursive)
        .map_err(|e| Error::Other(format!("cannot watch {}: {e}", run.workspace.display())))?;
    loop {
        print!("\x1b[2J\x1b[H");
        let report = grade(&docker, &catalog, &run, Mode::default(), true).await?;
        record(&report);
        print!(
            "{}",
            super::session::real_urls(
                &crate::report::human(&report),
                &super::session::moved_of(&catalog, &run)
            )
        );
        println!(
            "\nwatching {} — save a file to re-check, Ctrl-C to stop",
            run.workspace.display()
        );
        tokio::select! {
            got = rx.recv() => {
                if got.is_none() { break; }
                tokio::time::sleep(Duration::from_millis(300)).await;
                while rx.try_recv().is_ok() {}
            }
            () = super::shutdown_signal() => break,
        }
    }
    Ok(exit::OK)
}

/// Overlays the solution on the workspace and computes its live answers.
pub async fn apply_solution(docker: &Docker, catalog: &Catalog, run: &Running) -> Result<(), Error> {
    let lab = rendered_lab(catalog, run)?;
    workspace::copy_rendered(
        &lab.solution_dir(),
        &run.workspace,
        &super::session::param_vars(&lab, run.seed),
    )?;
    fill_answers(docker, catalog, run).await
}

/// Writes the lab's `solution_answers` into the workspace's answers.yaml, computed live once
/// the files in the workspace are applied (the solution's, or a validate variant's).
pub async fn fill_answers(docker: &Docker, catalog: &Catalog, run: &Running) -> Result<(), Error> {
    let lab = rendered_lab(catalog, run)?;
    if !lab.manifest.solution_answers.is_empty() {
        let ctx = context(docker, lab.clone(), run, Mode::default());
        crate::check::solution::write_answers(&ctx, &lab.manifest.solution_answers).await?;
    }
    workspace::open_up(&run.workspace)
}

/// `promlab solve`.
pub async fn solve(id: Option<LabId>) -> Result<u8, Error> {
    let catalog = Catalog::discover()?;
    let docker = Docker::connect().await?;
    let run = running(&docker, id).await?;
    // Only a promlab workspace with no link out of it is backed up and overwritten.
    workspace::claim(&catalog.lab(run.lab)?, &run.workspace)?;
    if let Some(b) = workspace::backup(run.lab, &run.workspace)? {
        println!("backed up your workspace to {}", b.display());
    }
    apply_solution(&docker, &catalog, &run).await?;
    println!(
        "applied the reference solution of lab {} (see SOLUTION.md in the workspace)",
        run.lab
    );
    let report = grade(&docker, &catalog, &run, Mode::default(), true).await?;
    print!(
        "{}",
        super::session::real_urls(
            &crate::report::human(&report),
            &super::session::moved_of(&catalog, &run)
        )
    );
    Ok(if report.all_passed() {
        exit::OK
    } else {
        exit::CHECKS_FAILED
    })
}

/// `promlab reset`.
pub async fn reset(id: Option<LabId>, all: bool) -> Result<u8, Error> {
    let catalog = Catalog::discover()?;
    let docker = Docker::connect().await.ok();
    let mut targets: Vec<(LabId, PathBuf, u64)> = Vec::new();
    if all {
        for id in catalog.dirs.keys() {
            let dir = workspace::default_dir(*id);
            if dir.exists() {
                targets.push((*id, dir, super::up::default_seed()));
            }
        }
    } else {
        let run = match &docker {
            Some(d) => running(d, id).await.ok(),
            None => None,
        };
        let Some(id) = id.or(run.as_ref().map(|r| r.lab)) else {
            return Err(Error::Usage(
                "name the lab to reset, e.g. `promlab reset 1.1`".to_string(),
            ));
        };
        match run.filter(|r| r.lab == id) {
            Some(r) => targets.push((id, r.workspace, r.seed)),
            None => targets.push((id, workspace::default_dir(id), super::up::default_seed())),
        }
    }
    for (id, dir, seed) in targets {
        let lab = catalog.lab(id)?;
        // Only a promlab workspace with no link out of it is backed up and reset.
        workspace::claim(&lab, &dir)?;
        if let Some(b) = workspace::backup(id, &dir)? {
            println!("lab {id}: backed up {} to {}", dir.display(), b.display());
        }
        workspace::restore_starter(&lab, &dir, &super::session::param_vars(&lab, seed))?;
        println!("lab {id}: restored the starter files in {}", dir.display());
    }
    Ok(exit::OK)
}
