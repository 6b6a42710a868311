//! `lab.yaml`: the strict manifest of one lab, and `Lab`, the validated lab on disk.

use std::collections::{BTreeMap, HashSet};
use std::path::{Component, Path, PathBuf};

use serde::Deserialize;

use super::spec::CheckSpec;
use super::template::ParamSpec;
use super::{LabError, LabId, read_text};
use crate::stack::Service;
use crate::yaml;

/// Newest manifest `format_version` this build reads.
pub const LAB_FORMAT_VERSION: u32 = 1;

/// The manifest as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Manifest format version (1).
    pub format_version: u32,
    /// The roadmap topic id, quoted.
    pub id: LabId,
    /// The topic title (the roadmap's).
    pub title: String,
    /// One sentence: what the learner does.
    pub summary: String,
    /// The stack (`compose/stacks/<stack>.yaml`).
    pub stack: String,
    /// Why the lab cannot run offline (set = online-only).
    #[serde(default)]
    pub online_only: Option<String>,
    /// Services added to or replacing the stack's, in the same Compose subset.
    #[serde(default)]
    pub services: BTreeMap<String, Service>,
    /// Per-learner parameters, drawn from the seed.
    #[serde(default)]
    pub params: BTreeMap<String, ParamSpec>,
    /// Ids of the checks the starter must fail (validate proves it).
    pub starter_fails: Vec<String>,
    /// For each near-miss (folder name), the checks of which one must fail: validate runs
    /// only those and proves the near-miss is caught for its stated reason.
    #[serde(default)]
    pub near_miss_fails: BTreeMap<String, Vec<String>>,
    /// Progressive hints, shown one at a time by `promlab hint`.
    pub hints: Vec<String>,
    /// Answers the reference solution computes live (`answers.yaml` key → source).
    #[serde(default)]
    pub solution_answers: BTreeMap<String, super::spec::Truth>,
    /// The checks, in report order.
    pub checks: Vec<CheckSpec>,
}

/// A validated lab on disk.
#[derive(Debug, Clone)]
pub struct Lab {
    /// The manifest.
    pub manifest: Manifest,
    /// The lab folder.
    pub dir: PathBuf,
    /// Raw text of `lab.yaml` (for templating and line lookups).
    pub text: String,
    /// Near-miss overlays: name → folder.
    pub near_misses: BTreeMap<String, PathBuf>,
}

/// Files and folders a lab folder may contain.
const ALLOWED_ENTRIES: &[&str] = &[
    "lab.yaml",
    "README.md",
    "starter",
    "solution",
    "near-miss",
    "variants",
    "hidden",
];

impl Lab {
    /// Reads `dir/lab.yaml` strictly and checks the folder around it.
    pub fn load(dir: &Path) -> Result<Self, LabError> {
        let path = dir.join("lab.yaml");
        let text = read_text(&path)?;
        let manifest: Manifest = yaml::from_str(&path, &text)?;
        let lab = Lab {
            near_misses: list_overlays(dir, "near-miss")?,
            manifest,
            dir: dir.to_path_buf(),
            text,
        };
        lab.variants()?;
        lab.validate()?;
        Ok(lab)
    }

    /// The lab id.
    pub fn id(&self) -> LabId {
        self.manifest.id
    }

    /// `lab.yaml`'s path.
    pub fn manifest_path(&self) -> PathBuf {
        self.dir.join("lab.yaml")
    }

    /// The starter folder.
    pub fn starter_dir(&self) -> PathBuf {
        self.dir.join("starter")
    }

    /// The solution folder.
    pub fn solution_dir(&self) -> PathBuf {
        self.dir.join("solution")
    }

    /// Whether the lab needs images that cannot be built offline.
    pub fn is_online_only(&self) -> bool {
        self.manifest.online_only.is_some()
    }

    /// The folders whose files reach a workspace or the grader: starter, solution, hidden and
    /// every near-miss.
    pub fn content_dirs(&self) -> Vec<PathBuf> {
        let mut out = vec![self.starter_dir(), self.solution_dir(), self.dir.join("hidden")];
        out.extend(self.near_misses.values().cloned());
        out.extend(self.variants().unwrap_or_default().into_values());
        out
    }

    /// Variant overlays (`variants/NAME/`: correct answers written differently from the
    /// solution, overlaid on the starter like near-misses): name → folder.
    pub fn variants(&self) -> Result<BTreeMap<String, PathBuf>, LabError> {
        list_overlays(&self.dir, "variants")
    }

    /// Whether the starter or the solution provides this workspace-relative path (a file or
    /// a folder): what `up` + `solve` can put in a workspace.
    pub fn provides(&self, rel: &str) -> bool {
        self.starter_dir().join(rel).exists() || self.solution_dir().join(rel).exists()
    }

    fn invalid(&self, needle: &str, message: impl Into<String>) -> LabError {
        LabError::invalid(&self.manifest_path(), &self.text, needle, message)
    }

    fn validate(&self) -> Result<(), LabError> {
        let m = &self.manifest;
        if m.format_version != LAB_FORMAT_VERSION {
            let hint = if m.format_version > LAB_FORMAT_VERSION {
                "this lab needs a newer promlab: update promlab"
            } else {
                "this lab was written for an older promlab: set format_version: 1 and re-run `promlab lint`"
            };
            return Err(self.invalid(
                "format_version",
                format!("format_version {} is not supported ({hint})", m.format_version),
            ));
        }
        let path = self.manifest_path();
        for required in ["README.md", "starter", "solution"] {
            if !self.dir.join(required).exists() {
                return Err(LabError::at(
                    &self.dir,
                    format!(
                        "the lab folder has no `{required}`: every lab needs README.md, starter/ and solution/"
                    ),
                ));
            }
        }
        for entry in read_dir_names(&self.dir)? {
            if !ALLOWED_ENTRIES.contains(&entry.as_str()) {
                return Err(LabError::at(
                    &self.dir.join(&entry),
                    format!(
                        "stray file `{entry}` in the lab folder: only {} belong there",
                        ALLOWED_ENTRIES.join(", ")
                    ),
                ));
            }
        }
        for dir in self.content_dirs() {
            if let Some(link) = first_symlink(&dir)? {
                return Err(LabError::at(
                    &link,
                    format!(
                        "`{}` is a symbolic link, which copied into a workspace could point anywhere on the learner's machine; replace it with a copy of what it points to",
                        link.strip_prefix(&self.dir).unwrap_or(&link).display()
                    ),
                ));
            }
        }
        let src = crate::stack::Source {
            path: &path,
            text: &self.text,
        };
        for (name, svc) in &m.services {
            crate::stack::check_service(name, svc, src)?;
        }
        if m.checks.len() < 3 {
            return Err(self.invalid("checks:", "a lab needs at least three checks"));
        }
        let readme = self.dir.join("README.md");
        let readme_text = read_utf8(&readme)?;
        if let Some(said) = readme_done_count(&readme_text)
            && said != m.checks.len()
        {
            return Err(LabError::invalid(
                &readme,
                &readme_text,
                DONE_COUNT,
                format!(
                    "README.md says `promlab check` shows {said}/{said}, but lab.yaml has {} checks: update the README",
                    m.checks.len()
                ),
            ));
        }
        if m.hints.is_empty() {
            return Err(self.invalid("hints:", "add at least one hint under `hints:`"));
        }
        let mut ids = HashSet::new();
        for c in &m.checks {
            let needle = format!("id: {}", c.id);
            if !ids.insert(c.id.as_str()) {
                return Err(LabError::Invalid {
                    file: path.clone(),
                    line: yaml::last_line_of(&self.text, &needle),
                    message: format!("check id `{}` is used twice: ids must be unique", c.id),
                });
            }
            validate_check(c, &|msg| self.invalid(&needle, msg))?;
        }
        for c in &m.checks {
            for r in &c.requires {
                if !ids.contains(r.as_str()) {
                    return Err(self.invalid(
                        r,
                        format!(
                            "check `{}` requires `{r}`, which is not a check of this lab",
                            c.id
                        ),
                    ));
                }
            }
        }
        if m.starter_fails.is_empty() {
            return Err(self.invalid(
                "starter_fails",
                "starter_fails is empty: name the checks the starter must fail",
            ));
        }
        for s in &m.starter_fails {
            if !ids.contains(s.as_str()) {
                return Err(self.invalid(
                    s,
                    format!("starter_fails names `{s}`, which is not a check of this lab"),
                ));
            }
        }
        for (nm, fails) in &m.near_miss_fails {
            if !self.near_misses.contains_key(nm) {
                return Err(self.invalid(
                    &format!("{nm}:"),
                    format!("near_miss_fails names `{nm}`, which is not a folder under near-miss/"),
                ));
            }
            if fails.is_empty() {
                return Err(self.invalid(
                    &format!("{nm}:"),
                    format!("near_miss_fails.{nm} is empty: name the checks it must fail"),
                ));
            }
            for s in fails {
                // `SERVICE-config-loads`: the failed reload promlab reports before any check.
                if !ids.contains(s.as_str()) && !s.ends_with("-config-loads") {
                    return Err(self.invalid(
                        s,
                        format!("near_miss_fails.{nm} names `{s}`, which is not a check of this lab"),
                    ));
                }
            }
        }
        for (name, p) in &m.params {
            match (&p.choice, &p.int) {
                (Some(c), None) if !c.is_empty() => {}
                (None, Some([lo, hi])) if lo <= hi => {}
                _ => {
                    return Err(self.invalid(
                        &format!("{name}:"),
                        format!("param `{name}` needs exactly one of `choice: [a, b]` or `int: [low, high]`"),
                    ));
                }
            }
        }
        Ok(())
    }
}

fn validate_check(c: &CheckSpec, err: &dyn Fn(String) -> LabError) -> Result<(), LabError> {
    if c.title.trim().is_empty() {
        return Err(err(format!("check `{}` has no title", c.id)));
    }
    if c.hint.trim().is_empty() {
        return Err(err(format!(
            "check `{}` has no hint: say what to try when it fails",
            c.id
        )));
    }
    if let Some(back) = c.looks_back {
        let within = c.within.map_or(std::time::Duration::ZERO, |w| w.0);
        if within <= back.0 {
            return Err(err(format!(
                "check `{}`: within ({}s) must be longer than looks_back ({}s): it is judged only once its window lies after the learner's change",
                c.id,
                within.as_secs(),
                back.0.as_secs()
            )));
        }
    }
    let kind = c.kind().map_err(err)?.spec();
    let check_path = |p: &str| -> Result<(), String> {
        workspace_relative(p)
            .map(|_| ())
            .map_err(|m| format!("check `{}`: {m}", c.id))
    };
    if let Some(p) = kind
        .path_expects()
        .into_iter()
        .find(|p| p.path.contains("[?") && p.what.is_none())
    {
        return Err(err(format!(
            "check `{}`: the path `{}` filters, which a learner cannot read in a report: add `what:` (what it reads, in plain words)",
            c.id, p.path
        )));
    }
    kind.validate(&c.id, &check_path).map_err(err)?;
    for inner in kind.nested() {
        validate_check(inner, err)?;
    }
    Ok(())
}

/// How a lab README announces its number of checks: "`promlab check` shows N/N".
const DONE_COUNT: &str = "`promlab check` shows ";

/// The N of "`promlab check` shows N/N" in a lab's README, when it says so.
fn readme_done_count(text: &str) -> Option<usize> {
    let rest = &text[text.find(DONE_COUNT)? + DONE_COUNT.len()..];
    let (n, rest) = rest.split_once('/')?;
    let m: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let n: usize = n.parse().ok()?;
    (m.parse() == Ok(n)).then_some(n)
}

/// Checks a workspace-relative path: not absolute, no `..`.
pub fn workspace_relative(p: &str) -> Result<PathBuf, String> {
    let path = Path::new(p);
    if path.is_absolute() {
        return Err(format!(
            "path `{p}` is absolute: write it relative to the workspace"
        ));
    }
    if path.components().any(|c| matches!(c, Component::ParentDir)) {
        return Err(format!("path `{p}` escapes the lab folder with `..`"));
    }
    Ok(path.to_path_buf())
}

/// Reads a text file of the lab folder, refusing bytes that are not UTF-8 (with the line
/// of the first one).
fn read_utf8(path: &Path) -> Result<String, LabError> {
    let bytes = std::fs::read(path).map_err(|source| LabError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    String::from_utf8(bytes).map_err(|e| {
        let good = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        LabError::Invalid {
            file: path.to_path_buf(),
            line: Some(good.iter().filter(|b| **b == b'\n').count() + 1),
            message: format!(
                "{name} is not UTF-8 text (this line holds a byte that is not); save it as UTF-8"
            ),
        }
    })
}

/// The first symbolic link under `dir` (in name order), not following links; none when
/// `dir` does not exist.
fn first_symlink(dir: &Path) -> Result<Option<PathBuf>, LabError> {
    let Ok(meta) = std::fs::symlink_metadata(dir) else {
        return Ok(None);
    };
    if meta.file_type().is_symlink() {
        return Ok(Some(dir.to_path_buf()));
    }
    if !meta.is_dir() {
        return Ok(None);
    }
    for name in read_dir_names(dir)? {
        if let Some(link) = first_symlink(&dir.join(name))? {
            return Ok(Some(link));
        }
    }
    Ok(None)
}

fn read_dir_names(dir: &Path) -> Result<Vec<String>, LabError> {
    let rd = std::fs::read_dir(dir).map_err(|source| LabError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut out: Vec<String> = rd
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    out.sort();
    Ok(out)
}

fn list_overlays(dir: &Path, folder: &str) -> Result<BTreeMap<String, PathBuf>, LabError> {
    let nm = dir.join(folder);
    let mut out = BTreeMap::new();
    if !nm.exists() {
        return Ok(out);
    }
    for name in read_dir_names(&nm)? {
        let p = nm.join(&name);
        if !p.is_dir() {
            return Err(LabError::at(
                &p,
                format!(
                    "{folder}/ holds one folder per {} (an overlay of workspace files), not loose files",
                    folder.trim_end_matches('s')
                ),
            ));
        }
        out.insert(name, p);
    }
    Ok(out)
}
