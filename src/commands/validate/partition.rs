//! `--partition K/N`: a stable split of the selected labs into N parts, so N CI jobs (or N
//! Docker hosts through `DOCKER_HOST`) each prove a share. Balanced by each lab's recorded
//! phase times when the repository holds a timing file (a validate `--json` report saved as
//! `compose/bench/validate-times.json`), else by the labs' order alone (round robin). The same
//! inputs give the same split on every machine. Pure: no Docker here.

use std::collections::BTreeMap;
use std::path::Path;

use super::report::RunReport;
use crate::lab::LabId;

/// The timing file a partition is balanced by, relative to the data folder.
pub const TIMES_FILE: &str = "compose/bench/validate-times.json";

pub use crate::cli::Partition;

/// Each lab's recorded work in seconds (the sum of its phases' wall times, stack starts
/// included) from a validate JSON report. Labs with no phases are left out.
pub fn times_of(report: &RunReport) -> BTreeMap<LabId, f64> {
    report
        .labs
        .iter()
        .filter(|l| !l.phases.is_empty())
        .map(|l| (l.lab, l.phases.iter().map(|p| p.waits.total()).sum()))
        .collect()
}

/// The recorded times in `root`'s timing file; empty when there is none. A file that is
/// there but unreadable is an error naming it.
pub fn load_times(root: &Path) -> Result<BTreeMap<LabId, f64>, String> {
    let path = root.join(TIMES_FILE);
    if !path.exists() {
        return Ok(BTreeMap::new());
    }
    let report = super::report::read(&path)?;
    Ok(times_of(&report))
}

/// The labs of part `p`, in id order. With times, labs are dealt longest first to the part
/// with the least recorded time so far (ties: the lower part); a lab with no recorded time
/// counts as the median of the recorded ones. Without times every lab weighs the same, and
/// this is a round robin over the labs in id order.
pub fn select(labs: &[LabId], times: &BTreeMap<LabId, f64>, p: Partition) -> Vec<LabId> {
    let mut known: Vec<f64> = labs.iter().filter_map(|l| times.get(l).copied()).collect();
    known.sort_by(f64::total_cmp);
    let fallback = known.get(known.len() / 2).copied().unwrap_or(1.0);
    let mut order: Vec<(f64, LabId)> = labs
        .iter()
        .map(|l| (times.get(l).copied().unwrap_or(fallback), *l))
        .collect();
    order.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut load = vec![0.0_f64; p.n];
    let mut mine = Vec::new();
    for (w, lab) in order {
        let part = (0..p.n)
            .min_by(|&a, &b| load[a].total_cmp(&load[b]).then(a.cmp(&b)))
            .unwrap_or(0);
        load[part] += w;
        if part + 1 == p.k {
            mine.push(lab);
        }
    }
    mine.sort();
    mine
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(n: u16) -> Vec<LabId> {
        (1..=n).map(|i| LabId::new(4, i)).collect()
    }

    #[test]
    fn k_of_n_parses_and_bad_input_says_what_to_write() {
        assert_eq!("2/3".parse::<Partition>(), Ok(Partition { k: 2, n: 3 }));
        assert_eq!("count:1/2".parse::<Partition>(), Ok(Partition { k: 1, n: 2 }));
        for bad in ["0/3", "4/3", "3", "a/b", "1/0"] {
            let e = bad.parse::<Partition>().unwrap_err();
            assert!(e.contains("write K/N"), "{bad}: {e}");
        }
    }

    #[test]
    fn parts_cover_every_lab_once_and_are_stable() {
        let labs = ids(10);
        for times in [BTreeMap::new(), {
            let mut t = BTreeMap::new();
            for (i, l) in labs.iter().enumerate() {
                t.insert(*l, (i * 7 % 5) as f64 + 1.0);
            }
            t
        }] {
            let mut all: Vec<LabId> = (1..=3)
                .flat_map(|k| select(&labs, &times, Partition { k, n: 3 }))
                .collect();
            all.sort();
            assert_eq!(all, labs, "every lab in exactly one part");
            assert_eq!(
                select(&labs, &times, Partition { k: 2, n: 3 }),
                select(&labs, &times, Partition { k: 2, n: 3 })
            );
        }
    }

    #[test]
    fn without_times_the_split_is_a_round_robin_in_id_order() {
        let labs = ids(5);
        let none = BTreeMap::new();
        let part = |k| select(&labs, &none, Partition { k, n: 2 });
        assert_eq!(
            part(1),
            vec![LabId::new(4, 1), LabId::new(4, 3), LabId::new(4, 5)]
        );
        assert_eq!(part(2), vec![LabId::new(4, 2), LabId::new(4, 4)]);
    }

    #[test]
    fn recorded_times_balance_the_parts() {
        // One long lab and four short ones: the long one gets a part to itself.
        let labs = ids(5);
        let mut t = BTreeMap::new();
        t.insert(LabId::new(4, 3), 100.0);
        for i in [1, 2, 4, 5] {
            t.insert(LabId::new(4, i), 20.0);
        }
        let p1 = select(&labs, &t, Partition { k: 1, n: 2 });
        let p2 = select(&labs, &t, Partition { k: 2, n: 2 });
        assert_eq!(p1, vec![LabId::new(4, 3)]);
        assert_eq!(p2.len(), 4);
        // A lab with no recorded time weighs the median of the others.
        t.remove(&LabId::new(4, 5));
        let p2 = select(&labs, &t, Partition { k: 2, n: 2 });
        assert!(p2.contains(&LabId::new(4, 5)), "{p2:?}");
    }
}
