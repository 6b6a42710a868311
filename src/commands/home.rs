//! Bare `promlab`: where the learner is (the current lab, whether its stack runs, its last
//! score, how many labs passed) and the one command to run next.

use std::time::Duration;

use super::session::group;
use crate::error::Error;
use crate::exit;
use crate::lab::{Catalog, LabId};
use crate::learner_progress::{Progress, Stack, next};
use crate::runtime::docker::Docker;
use crate::runtime::plan::project_name;

/// How long bare `promlab` waits for Docker before saying it does not answer.
const DOCKER_WAIT: Duration = Duration::from_secs(3);

/// What Docker says about the labs that run: their ids and workspaces, or why it could not say.
async fn running_labs() -> Result<Vec<(LabId, std::path::PathBuf)>, String> {
    let ask = async {
        let docker = Docker::connect().await?;
        docker.owned(&[]).await
    };
    match tokio::time::timeout(DOCKER_WAIT, ask).await {
        Ok(Ok(owned)) => Ok(group(owned)
            .into_iter()
            .filter(|r| r.project == project_name(r.lab))
            .map(|r| (r.lab, r.workspace))
            .collect()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("it did not answer within {}s", DOCKER_WAIT.as_secs())),
    }
}

/// `promlab` without a command.
pub async fn home() -> Result<u8, Error> {
    let catalog = Catalog::discover()?;
    let progress = Progress::load();
    // The labs that run here, in roadmap order (online-only ones need a registry).
    let labs: Vec<LabId> = catalog
        .dirs
        .keys()
        .copied()
        .filter(|id| catalog.lab(*id).is_ok_and(|l| !l.is_online_only()))
        .collect();
    let running = running_labs().await;
    let title = |id: LabId| {
        catalog
            .roadmap
            .topic(id)
            .map_or_else(String::new, |t| format!(" — {}", t.title))
    };
    let stack = match (&running, progress.current) {
        (Err(_), _) => Stack::Unknown,
        (Ok(r), Some(c)) if r.iter().any(|(id, _)| *id == c) => Stack::Running,
        (Ok(_), _) => Stack::Stopped,
    };
    match progress.current {
        None => println!("welcome to promlab: you have not started a lab yet"),
        Some(c) => {
            println!("current lab: {c}{}", title(c));
            let entry = progress.labs.get(&c);
            let state = match &running {
                Err(_) => "unknown (see below)".to_string(),
                Ok(r) => match r.iter().find(|(id, _)| *id == c) {
                    Some((_, ws)) => format!("running, workspace {}", ws.display()),
                    None => "not running".to_string(),
                },
            };
            println!("  stack:      {state}");
            let score = match entry.and_then(|e| e.last_score) {
                Some((passed, total)) => format!("{passed}/{total} checks passed"),
                None => "not checked yet".to_string(),
            };
            let passed = if entry.is_some_and(|e| e.done) {
                " (lab passed)"
            } else {
                ""
            };
            println!("  last check: {score}{passed}");
        }
    }
    let done = labs
        .iter()
        .filter(|id| progress.labs.get(id).is_some_and(|l| l.done))
        .count();
    println!(
        "progress: {done} of {} labs passed (`promlab list` shows them all)",
        labs.len()
    );
    match &running {
        Err(why) => println!("Docker: unreachable ({why})"),
        Ok(r) => {
            let others: Vec<String> = r
                .iter()
                .filter(|(id, _)| Some(*id) != progress.current)
                .map(|(id, _)| id.to_string())
                .collect();
            if !others.is_empty() {
                println!("also running: {} (`promlab status`)", others.join(", "));
            }
        }
    }
    println!("\nnext: {}", next(&progress, stack, &labs));
    Ok(exit::OK)
}
