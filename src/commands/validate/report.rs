//! validate's JSON document (`--json`): the run's settings and wall time, and every lab's
//! phases with their waits. Parts written by `--partition` are merged with `--merge`.
//! Reading and merging are pure apart from reading the named files.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::judge::{LabResult, Waits};

/// The JSON schema version of a validate report.
pub const FORMAT_VERSION: u32 = 2;

/// One validate run (or several merged).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunReport {
    /// Schema version.
    pub format_version: u32,
    /// Wall time of the run; of merged parts, the longest (parts run side by side).
    pub wall_seconds: f64,
    /// Stacks at once; of merged parts, their sum.
    pub jobs: usize,
    /// `K/N` for one part; every part merged, for a merged report.
    #[serde(default)]
    pub partitions: Vec<String>,
    /// `--age` in seconds, when aged phases ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age_seconds: Option<u64>,
    /// Every lab, in id order.
    pub labs: Vec<LabResult>,
}

impl RunReport {
    /// Labs with this verdict.
    pub fn with_verdict(&self, verdict: &str) -> Vec<String> {
        self.labs
            .iter()
            .filter(|r| r.verdict == verdict)
            .map(|r| r.lab.to_string())
            .collect()
    }

    /// The sum of every phase's waits: which timers the run is bound by.
    pub fn wait_sums(&self) -> Waits {
        let mut w = Waits::default();
        for p in self.labs.iter().flat_map(|l| &l.phases) {
            w.add(&p.waits);
        }
        w
    }
}

/// Reads a validate JSON report; a file that is not one is named with what to do.
pub fn read(path: &Path) -> Result<RunReport, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let r: RunReport = serde_json::from_str(&text).map_err(|e| {
        format!(
            "{}:{}: not a promlab validate --json report ({e}); write one with `promlab validate … --json > FILE`",
            path.display(),
            e.line()
        )
    })?;
    if r.format_version != FORMAT_VERSION {
        return Err(format!(
            "{}: validate report format {} is not {FORMAT_VERSION}; write it again with this promlab",
            path.display(),
            r.format_version
        ));
    }
    Ok(r)
}

/// Merges parts into one report: labs in id order, the longest wall time, the sum of jobs.
/// A lab in two parts is an error naming both (the parts overlap: not one split).
pub fn merge(parts: &[(String, RunReport)]) -> Result<RunReport, String> {
    let mut labs: Vec<(LabResult, &str)> = Vec::new();
    for (name, r) in parts {
        for l in &r.labs {
            if let Some((_, other)) = labs.iter().find(|(x, _)| x.lab == l.lab) {
                return Err(format!(
                    "lab {} is in both {other} and {name}: merge the parts of one split (--partition K/N with the same N)",
                    l.lab
                ));
            }
            labs.push((l.clone(), name));
        }
    }
    labs.sort_by_key(|(l, _)| l.lab);
    let ages: Vec<u64> = parts.iter().filter_map(|(_, r)| r.age_seconds).collect();
    Ok(RunReport {
        format_version: FORMAT_VERSION,
        wall_seconds: parts.iter().map(|(_, r)| r.wall_seconds).fold(0.0, f64::max),
        jobs: parts.iter().map(|(_, r)| r.jobs).sum(),
        partitions: parts.iter().flat_map(|(_, r)| r.partitions.clone()).collect(),
        age_seconds: ages.iter().max().copied(),
        labs: labs.into_iter().map(|(l, _)| l).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::LabId;

    fn lab(id: LabId, verdict: &str) -> LabResult {
        LabResult {
            lab: id,
            verdict: verdict.into(),
            note: None,
            phases: vec![],
            seconds: 1.0,
            attempts: 1,
        }
    }

    fn part(k: usize, wall: f64, labs: Vec<LabResult>) -> RunReport {
        RunReport {
            format_version: FORMAT_VERSION,
            wall_seconds: wall,
            jobs: 4,
            partitions: vec![format!("{k}/2")],
            age_seconds: None,
            labs,
        }
    }

    #[test]
    fn parts_merge_into_one_report_in_lab_order() {
        let a = part(1, 30.0, vec![lab(LabId::new(4, 6), "passed")]);
        let b = part(
            2,
            42.0,
            vec![lab(LabId::new(1, 1), "failed"), lab(LabId::new(8, 5), "passed")],
        );
        let m = merge(&[("a.json".into(), a), ("b.json".into(), b)]).unwrap();
        let order: Vec<String> = m.labs.iter().map(|l| l.lab.to_string()).collect();
        assert_eq!(order, ["1.1", "4.6", "8.5"]);
        assert_eq!(m.wall_seconds, 42.0, "parts run side by side");
        assert_eq!(m.jobs, 8);
        assert_eq!(m.partitions, ["1/2", "2/2"]);
        assert_eq!(m.with_verdict("failed"), ["1.1"]);
        // It round-trips through JSON, as parts are read back.
        let text = serde_json::to_string(&m).unwrap();
        let back: RunReport = serde_json::from_str(&text).unwrap();
        assert_eq!(back.labs.len(), 3);
    }

    #[test]
    fn a_lab_in_two_parts_is_named() {
        let a = part(1, 1.0, vec![lab(LabId::new(4, 6), "passed")]);
        let b = part(2, 1.0, vec![lab(LabId::new(4, 6), "passed")]);
        let e = merge(&[("a.json".into(), a), ("b.json".into(), b)]).unwrap_err();
        assert!(e.contains("lab 4.6 is in both a.json and b.json"), "{e}");
    }

    #[test]
    fn a_file_that_is_not_a_report_is_named_with_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.json");
        std::fs::write(&p, "[\n  {\"lab\": \"1.1\"}\n]").unwrap();
        let e = read(&p).unwrap_err();
        assert!(
            e.contains("x.json:") && e.contains("not a promlab validate --json report"),
            "{e}"
        );
    }
}
