//! `promlab hint`: the current hint again (running it twice never skips ahead), `--next`
//! for the following one, `--all` for every hint.

use std::ops::Range;

use super::session::running;
use crate::error::Error;
use crate::exit;
use crate::lab::{Catalog, LabId};
use crate::learner_progress::Progress;
use crate::render::style;
use crate::runtime::docker::Docker;

/// Which hints to print (0-based) and how many count as seen afterwards, given how many were
/// seen before and how many there are. The current hint is the last one seen (the first for
/// a learner who saw none); `next` moves one on (never past the last), `all` shows them all.
pub fn pick(seen: usize, total: usize, next: bool, all: bool) -> (Range<usize>, usize) {
    if total == 0 {
        return (0..0, 0);
    }
    if all {
        return (0..total, total);
    }
    let current = seen.clamp(1, total);
    let shown = if next { (current + 1).min(total) } else { current };
    if next && seen == 0 {
        // The first `--next` shows the first hint: there was no current one to move on from.
        return (0..1, 1);
    }
    (shown - 1..shown, shown)
}

/// `promlab hint [ID] [--next | --all]`.
pub async fn hint(id: Option<LabId>, next: bool, all: bool) -> Result<u8, Error> {
    let catalog = Catalog::discover()?;
    let id = match id {
        Some(id) => id,
        None => {
            let docker = Docker::connect().await?;
            running(&docker, None).await?.lab
        }
    };
    let lab = catalog.lab(id)?;
    let moved = super::session::moved_if_running(&catalog, id).await;
    let mut p = Progress::load();
    let entry = p.lab(id);
    let hints = &lab.manifest.hints;
    let (range, seen) = pick(entry.hints_shown, hints.len(), next, all);
    let width = super::width();
    for n in range.clone() {
        let head = format!("hint {}/{} for lab {id}: ", n + 1, hints.len());
        let text = super::session::real_urls(&hints[n], &moved);
        super::say!("{}", style::wrap(&text, width, &head, "  "));
    }
    entry.hints_shown = entry.hints_shown.max(seen);
    if range.end == hints.len() {
        super::say!(
            "{}",
            style::dim(&style::wrap(
                &format!(
                    "(that is the last hint; `promlab solve {id}` applies the reference solution, after backing up your work)"
                ),
                width,
                "",
                ""
            ))
        );
    } else {
        super::say!(
            "{}",
            style::dim(&format!(
                "(`promlab hint --next` shows hint {} of {})",
                range.end + 1,
                hints.len()
            ))
        );
    }
    p.save();
    Ok(exit::OK)
}

#[cfg(test)]
mod tests {
    use super::pick;

    #[test]
    fn hint_twice_shows_the_same_hint() {
        // A new learner sees hint 1, and again hint 1.
        assert_eq!(pick(0, 3, false, false), (0..1, 1));
        assert_eq!(pick(1, 3, false, false), (0..1, 1));
        // After two, the current one is the second.
        assert_eq!(pick(2, 3, false, false), (1..2, 2));
    }

    #[test]
    fn next_moves_on_but_not_past_the_last() {
        assert_eq!(pick(0, 3, true, false), (0..1, 1));
        assert_eq!(pick(1, 3, true, false), (1..2, 2));
        assert_eq!(pick(2, 3, true, false), (2..3, 3));
        assert_eq!(pick(3, 3, true, false), (2..3, 3));
    }

    #[test]
    fn all_shows_every_hint_and_a_lab_without_hints_shows_none() {
        assert_eq!(pick(1, 3, false, true), (0..3, 3));
        assert_eq!(pick(0, 0, true, true), (0..0, 0));
        // More seen than there are now (the lab lost a hint): the last one.
        assert_eq!(pick(5, 2, false, false), (1..2, 2));
    }
}
