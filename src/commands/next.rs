//! `promlab next`: start the next lab of the roadmap, stopping the current one first when
//! asked to (`--down`, or yes at the prompt on a terminal).

use std::io::{BufRead, IsTerminal, Write};

use crate::error::Error;
use crate::exit;
use crate::lab::{Catalog, LabId};
use crate::learner_progress::Progress;
use crate::runtime::docker::Docker;
use crate::runtime::plan::project_name;

/// The lab after the current one that is not passed yet, in `labs`' order (the labs that
/// run here), wrapping around; the first one not passed for a learner who started none.
/// None when every lab but the current one passed.
pub fn following(progress: &Progress, labs: &[LabId]) -> Option<LabId> {
    let done = |id: &LabId| progress.labs.get(id).is_some_and(|l| l.done);
    let current = progress.current;
    labs.iter()
        .filter(|id| current.is_none_or(|c| **id > c))
        .chain(labs.iter().filter(|id| current.is_none_or(|c| **id < c)))
        .find(|id| !done(id))
        .copied()
}

/// The labs that run here, in roadmap order (online-only ones need a registry).
pub fn offline_labs(catalog: &Catalog) -> Vec<LabId> {
    catalog
        .dirs
        .keys()
        .copied()
        .filter(|id| catalog.lab(*id).is_ok_and(|l| !l.is_online_only()))
        .collect()
}

/// Whether an answer to "stop it? [Y/n]" means yes (an empty answer does).
pub fn is_yes(answer: &str) -> bool {
    matches!(answer.trim().to_ascii_lowercase().as_str(), "" | "y" | "yes")
}

/// `promlab next [--down]`.
pub async fn next(down: bool, timeout: u64) -> Result<u8, Error> {
    let catalog = Catalog::discover()?;
    let progress = Progress::load();
    let labs = offline_labs(&catalog);
    let Some(target) = following(&progress, &labs) else {
        println!("every lab passed — well done; `promlab list` shows the roadmap");
        return Ok(exit::OK);
    };
    if let Some(current) = progress.current {
        let docker = Docker::connect().await?;
        let runs = !docker
            .owned(&super::session::project_labels(&project_name(current)))
            .await?
            .is_empty();
        if runs {
            let stop = down || (std::io::stdin().is_terminal() && ask(current));
            if stop {
                let removed = crate::runtime::up::roll_back(&docker, &project_name(current)).await?;
                println!(
                    "stopped lab {current} ({} containers removed; its workspace is kept)",
                    removed.containers
                );
            } else {
                println!(
                    "lab {current} keeps running next to lab {target} (`promlab down {current}` stops it)"
                );
            }
        }
    }
    println!("next lab: {target}");
    super::up::up(target, None, None, false, timeout).await
}

/// Asks on the terminal whether to stop the current lab.
fn ask(current: LabId) -> bool {
    print!("lab {current} is still running; stop it first? [Y/n] ");
    let _ = std::io::stdout().flush();
    let mut answer = String::new();
    match std::io::stdin().lock().read_line(&mut answer) {
        Ok(0) | Err(_) => false,
        Ok(_) => is_yes(&answer),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> LabId {
        s.parse().unwrap()
    }

    fn at(current: Option<&str>, done: &[&str]) -> Progress {
        let mut p = Progress {
            current: current.map(id),
            ..Progress::default()
        };
        for d in done {
            p.lab(id(d)).done = true;
        }
        p
    }

    #[test]
    fn next_is_the_following_lab_not_passed() {
        let labs = [id("1.1"), id("1.2"), id("4.1"), id("8.1")];
        assert_eq!(following(&Progress::default(), &labs), Some(id("1.1")));
        // Moving on does not need the current lab passed.
        assert_eq!(following(&at(Some("1.1"), &[]), &labs), Some(id("1.2")));
        assert_eq!(following(&at(Some("1.1"), &["1.2"]), &labs), Some(id("4.1")));
        // Wraps around to a lab skipped earlier; never the current one.
        assert_eq!(following(&at(Some("8.1"), &["4.1"]), &labs), Some(id("1.1")));
        assert_eq!(following(&at(Some("1.1"), &["1.2", "4.1", "8.1"]), &labs), None);
        // A current lab no longer in the list still leads forward.
        assert_eq!(following(&at(Some("2.1"), &[]), &labs), Some(id("4.1")));
    }

    #[test]
    fn an_empty_answer_means_yes() {
        assert!(is_yes("\n"));
        assert!(is_yes("Y\n"));
        assert!(is_yes("yes"));
        assert!(!is_yes("n\n"));
        assert!(!is_yes("no"));
    }
}
