//! Which phases a lab has and who runs them. Phases are the unit of work: `--jobs` workers
//! each keep one stack, reuse it for the next phase of the same lab and the same age (reload
//! instead of recreate), start a lab nobody has started when theirs is all taken, and else
//! help the lab with the most phases left, so one long lab is proven by several stacks at once.
//! Pure: no Docker here.

use std::path::PathBuf;
use std::time::Instant;

use super::judge::{LabResult, Phase};
use crate::lab::{Lab, LabId};

/// What one phase proves.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// The starter fails the checks it declares.
    Starter,
    /// A near-miss (name, overlay folder) fails at least one check.
    NearMiss(String, PathBuf),
    /// A variant (name, overlay folder): a correct answer written differently passes every check.
    Variant(String, PathBuf),
    /// The solution passes every check.
    Solution,
}

impl Step {
    /// How progress lines name it.
    pub fn label(&self) -> String {
        match self {
            Step::Starter => "starter".into(),
            Step::NearMiss(n, _) => format!("near-miss {n}"),
            Step::Variant(n, _) => format!("variant {n}"),
            Step::Solution => "solution".into(),
        }
    }

    /// The folder overlaid on the starter for this phase (the solution's files are applied
    /// by `apply_solution`, not overlaid).
    pub fn files(&self) -> Option<&std::path::Path> {
        match self {
            Step::NearMiss(_, d) | Step::Variant(_, d) => Some(d.as_path()),
            Step::Starter | Step::Solution => None,
        }
    }
}

/// One phase to run: a step, on a fresh stack or on one whose demo looks `--age` old.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    /// What it proves.
    pub step: Step,
    /// On an aged stack (`--age`).
    pub aged: bool,
}

impl Job {
    /// How progress lines name it.
    pub fn label(&self) -> String {
        if self.aged {
            format!("aged {}", self.step.label())
        } else {
            self.step.label()
        }
    }
}

/// The phases of a lab: starter, near-misses, variants, solution; then, with `--age`, the
/// starter, near-misses and solution again on an aged stack (a near-miss must fail at any age,
/// and the solution must still pass where it does).
pub fn jobs_of(lab: &Lab, variants: &[(String, PathBuf)], aged: bool) -> Vec<Job> {
    let near = || {
        lab.near_misses
            .iter()
            .map(|(n, d)| Step::NearMiss(n.clone(), d.clone()))
    };
    let mut steps = vec![Step::Starter];
    steps.extend(near());
    steps.extend(variants.iter().map(|(n, d)| Step::Variant(n.clone(), d.clone())));
    steps.push(Step::Solution);
    let mut jobs: Vec<Job> = steps.into_iter().map(|step| Job { step, aged: false }).collect();
    if aged {
        let mut again = vec![Step::Starter];
        again.extend(near());
        again.push(Step::Solution);
        jobs.extend(again.into_iter().map(|step| Job { step, aged: true }));
    }
    jobs
}

/// What a worker's stack serves: a lab (by index) at an age.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StackKey {
    /// Index of the lab in the queue.
    pub lab: usize,
    /// Whether its demo looks aged.
    pub aged: bool,
}

/// A lab's phases and what became of them. Phases of one lab are independent: each runs
/// on a stack of its own or on one an earlier phase of the same lab left running.
#[derive(Debug)]
pub struct LabWork {
    /// The lab.
    pub id: LabId,
    /// Its phases in report order (none: online-only or unreadable).
    pub jobs: Vec<Job>,
    /// Index of the next phase nobody has taken.
    next: usize,
    /// Phases taken whose outcome (a phase or an error) is recorded.
    recorded: usize,
    phases: Vec<Option<Phase>>,
    /// Why the lab stopped or was skipped.
    pub note: Option<String>,
    attempts: u32,
    started: Option<Instant>,
}

impl LabWork {
    /// Work of these phases, none taken yet.
    pub fn with_jobs(id: LabId, jobs: Vec<Job>) -> Self {
        LabWork {
            id,
            phases: vec![None; jobs.len()],
            jobs,
            next: 0,
            recorded: 0,
            note: None,
            attempts: 1,
            started: None,
        }
    }

    /// A lab that cannot be validated (unreadable): reported failed with why.
    pub fn unreadable(id: LabId, why: String) -> Self {
        let mut w = LabWork::with_jobs(id, Vec::new());
        w.note = Some(why);
        w
    }

    /// An online-only lab that cannot run here: reported as skipped, by name, with why.
    pub fn skipped(id: LabId, why: &str, reason: &str) -> Self {
        LabWork::unreadable(id, format!("online-only ({why}): not validated, {reason}"))
    }

    fn untaken(&self) -> usize {
        self.jobs.len() - self.next
    }

    /// Every phase recorded, or the lab stopped (its stack failed) and nothing is in flight.
    fn finished(&self) -> bool {
        self.recorded == self.jobs.len() || (self.note.is_some() && self.recorded == self.next)
    }

    /// The lab's result as of `ended`.
    pub fn result(&self, ended: Instant) -> LabResult {
        let skipped =
            self.jobs.is_empty() && self.note.as_deref().is_some_and(|n| n.starts_with("online-only"));
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
            verdict: verdict.to_string(),
            note: self.note.clone(),
            phases,
            seconds: self
                .started
                .map_or(0.0, |t| ended.duration_since(t).as_secs_f64()),
            attempts: self.attempts,
        }
    }
}

/// Hands out phases to workers.
#[derive(Debug)]
pub struct Queue {
    /// Every lab's work.
    pub labs: Vec<LabWork>,
}

impl Queue {
    /// The next phase for a worker whose stack serves `current`: (lab index, phase index).
    /// A worker keeps its stack for the next phase of the same lab at the same age; else it
    /// starts a lab nobody has started; else it helps the lab with the most phases left.
    pub fn take(&mut self, current: Option<StackKey>) -> Option<(usize, usize)> {
        let open = |w: &LabWork| w.note.is_none() && w.untaken() > 0;
        let same = |w: &LabWork, k: StackKey| open(w) && w.jobs[w.next].aged == k.aged;
        let pick = current
            .filter(|k| same(&self.labs[k.lab], *k))
            .map(|k| k.lab)
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
    pub fn record(
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

#[cfg(test)]
mod tests {
    use super::super::judge::judge_near_miss;
    use super::super::judge::tests::report;
    use super::*;
    use crate::check::Status;

    fn steps(near_misses: usize) -> Vec<Step> {
        let mut steps = vec![Step::Starter];
        steps.extend((0..near_misses).map(|n| Step::NearMiss(format!("nm{n}"), PathBuf::new())));
        steps.push(Step::Solution);
        steps
    }

    fn work(id: LabId, near_misses: usize) -> LabWork {
        let jobs = steps(near_misses)
            .into_iter()
            .map(|step| Job { step, aged: false })
            .collect();
        LabWork::with_jobs(id, jobs)
    }

    fn key(lab: usize) -> Option<StackKey> {
        Some(StackKey { lab, aged: false })
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
        assert_eq!(q.take(key(0)), Some((0, 1)));
        // Lab 0 is all taken: the worker starts the lab nobody has started.
        assert_eq!(q.take(key(0)), Some((2, 0)));
        // No lab is unstarted: a free worker helps 8.9, which has the most phases left.
        assert_eq!(q.take(None), Some((1, 1)));
        assert_eq!(q.take(key(2)), Some((2, 1)));
        assert_eq!(q.take(key(2)), Some((2, 2)));
        assert_eq!(q.take(key(2)), Some((1, 2)));
        for _ in 0..3 {
            assert!(q.take(key(1)).is_some());
        }
        assert_eq!(q.take(key(1)), None);
        assert_eq!(q.take(None), None);
    }

    #[test]
    fn an_aged_phase_does_not_reuse_a_fresh_stack() {
        let mut jobs: Vec<Job> = steps(0)
            .into_iter()
            .map(|step| Job { step, aged: false })
            .collect();
        jobs.push(Job {
            step: Step::Starter,
            aged: true,
        });
        let mut q = Queue {
            labs: vec![
                LabWork::with_jobs(LabId::new(4, 6), jobs),
                work(LabId::new(8, 5), 0),
            ],
        };
        assert_eq!(q.take(None), Some((0, 0)));
        assert_eq!(q.take(key(0)), Some((0, 1)));
        // The next phase of 4.6 is aged: the worker's fresh stack cannot serve it, so it
        // starts 8.5 (unstarted) instead; 4.6's aged phase goes to whoever helps next.
        assert_eq!(q.take(key(0)), Some((1, 0)));
        assert_eq!(
            q.take(Some(StackKey { lab: 0, aged: true })),
            Some((0, 2)),
            "a worker with an aged 4.6 stack keeps it"
        );
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
}
