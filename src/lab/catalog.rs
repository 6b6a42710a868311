//! The catalog: finds promlab's data (`labs/`, `compose/`), maps roadmap topics to lab
//! folders (`labs/NN-section/ID-slug/`), and loads labs by id.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{Lab, LabError, LabId, Roadmap};

/// The environment variable naming promlab's data folder (the one holding `labs/`).
pub const ROOT_ENV: &str = "PROMLAB_ROOT";

/// The roadmap and where each lab lives.
#[derive(Debug, Clone)]
pub struct Catalog {
    /// The data folder (holds `labs/` and `compose/`).
    pub root: PathBuf,
    /// The roadmap.
    pub roadmap: Roadmap,
    /// Lab folders by id.
    pub dirs: BTreeMap<LabId, PathBuf>,
}

/// Finds the data folder: `PROMLAB_ROOT`, else the nearest ancestor of the current folder
/// holding `labs/roadmap.yaml`, else the source tree promlab was built from.
pub fn find_root() -> Result<PathBuf, LabError> {
    if let Some(v) = std::env::var_os(ROOT_ENV).filter(|v| !v.is_empty()) {
        let p = PathBuf::from(v);
        if p.join("labs/roadmap.yaml").is_file() {
            return Ok(p);
        }
        return Err(LabError::Unknown {
            message: format!(
                "{ROOT_ENV}={} has no labs/roadmap.yaml: point it at a promlab checkout",
                p.display()
            ),
        });
    }
    if let Ok(cwd) = std::env::current_dir() {
        for dir in cwd.ancestors() {
            if dir.join("labs/roadmap.yaml").is_file() && dir.join("compose").is_dir() {
                return Ok(dir.to_path_buf());
            }
        }
    }
    let built = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    if built.join("labs/roadmap.yaml").is_file() {
        return Ok(built);
    }
    Err(LabError::Unknown {
        message: not_found(&built),
    })
}

/// The sentence for labs found nowhere: the checkout an installed promlab was built from
/// (`built`) was moved or removed.
fn not_found(built: &Path) -> String {
    format!(
        "cannot find promlab's labs: not in the current folder, and {} (the checkout this promlab was built from) has no labs/roadmap.yaml any more; run `make install` again in your promlab checkout, run promlab inside it, or set {ROOT_ENV} to it",
        built.display()
    )
}

impl Catalog {
    /// Opens the catalog at `root`: reads the roadmap and indexes lab folders.
    pub fn open(root: &Path) -> Result<Self, LabError> {
        let roadmap = Roadmap::load(&root.join("labs/roadmap.yaml"))?;
        let mut dirs = BTreeMap::new();
        let labs = root.join("labs");
        for section_dir in sorted_dirs(&labs)? {
            let section_name = file_name(&section_dir);
            let Some(section) = section_prefix(&section_name) else {
                return Err(LabError::at(
                    &section_dir,
                    "section folders are named NN-slug (e.g. 08-alerting)",
                ));
            };
            for lab_dir in sorted_dirs(&section_dir)? {
                let name = file_name(&lab_dir);
                let id = name
                    .split_once('-')
                    .and_then(|(id, _)| id.parse::<LabId>().ok())
                    .ok_or_else(|| {
                        LabError::at(&lab_dir, "lab folders are named ID-slug (e.g. 8.3-alertmanager)")
                    })?;
                if id.section != section {
                    return Err(LabError::at(
                        &lab_dir,
                        format!("lab {id} sits in the folder of section {section}: move it"),
                    ));
                }
                if roadmap.topic(id).is_none() {
                    return Err(LabError::at(
                        &lab_dir,
                        format!("lab {id} is not a topic of labs/roadmap.yaml"),
                    ));
                }
                if let Some(prev) = dirs.insert(id, lab_dir.clone()) {
                    return Err(LabError::at(
                        &lab_dir,
                        format!("lab {id} exists twice (also {})", prev.display()),
                    ));
                }
            }
        }
        Ok(Self {
            root: root.to_path_buf(),
            roadmap,
            dirs,
        })
    }

    /// Opens the catalog at the root `find_root` picks.
    pub fn discover() -> Result<Self, LabError> {
        Self::open(&find_root()?)
    }

    /// Loads the lab with this id, checking that the manifest's id matches its folder.
    pub fn lab(&self, id: LabId) -> Result<Lab, LabError> {
        let Some(dir) = self.dirs.get(&id) else {
            let message = match self.roadmap.topic(id) {
                Some(t) => format!(
                    "topic {id} ({}) has no lab yet; `promlab list` shows the labs you can run",
                    t.title
                ),
                None => format!("there is no topic {id} in the roadmap; `promlab list` shows them all"),
            };
            return Err(LabError::Unknown { message });
        };
        let lab = Lab::load(dir)?;
        if lab.id() != id {
            return Err(LabError::invalid(
                &lab.manifest_path(),
                &lab.text,
                "id:",
                format!("the manifest says id {} but its folder is lab {id}", lab.id()),
            ));
        }
        let title = &self
            .roadmap
            .topic(id)
            .map(|t| t.title.clone())
            .unwrap_or_default();
        if &lab.manifest.title != title {
            return Err(LabError::invalid(
                &lab.manifest_path(),
                &lab.text,
                "title:",
                format!("title must be the roadmap's: write `title: {title}`"),
            ));
        }
        self.check_lab_services(&lab)?;
        Ok(lab)
    }

    /// Checks what a lab's `services:` refer to (named volumes, dependencies) against its
    /// stack merged with them, with lab.yaml's lines. A stack that does not load is reported
    /// by itself (by `lint` once, by `up` when it plans), so it is skipped here.
    fn check_lab_services(&self, lab: &Lab) -> Result<(), LabError> {
        if lab.manifest.services.is_empty() {
            return Ok(());
        }
        let stack_file = self.stack_path(&lab.manifest.stack);
        let Ok(stack) = crate::stack::Stack::load(&stack_file) else {
            return Ok(());
        };
        let merged = stack.merged(&lab.manifest.services);
        let path = lab.manifest_path();
        let src = crate::stack::Source {
            path: &path,
            text: &lab.text,
        };
        for (name, svc) in &lab.manifest.services {
            let shown = stack_file.strip_prefix(&self.root).unwrap_or(&stack_file);
            crate::stack::check_references(name, svc, &merged, src, shown)?;
        }
        Ok(())
    }

    /// Loads every lab; problems are collected, not fatal.
    pub fn all_labs(&self) -> (Vec<Lab>, Vec<LabError>) {
        let mut labs = Vec::new();
        let mut errors = Vec::new();
        for id in self.dirs.keys() {
            match self.lab(*id) {
                Ok(l) => labs.push(l),
                Err(e) => errors.push(e),
            }
        }
        (labs, errors)
    }

    /// The stack file of a lab.
    pub fn stack_path(&self, stack: &str) -> PathBuf {
        self.root.join("compose/stacks").join(format!("{stack}.yaml"))
    }
}

fn section_prefix(name: &str) -> Option<u16> {
    let (num, rest) = name.split_once('-')?;
    if num.len() != 2 || rest.is_empty() {
        return None;
    }
    num.parse().ok()
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn sorted_dirs(dir: &Path) -> Result<Vec<PathBuf>, LabError> {
    let rd = std::fs::read_dir(dir).map_err(|source| LabError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut out: Vec<PathBuf> = rd
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_moved_checkout_is_named_in_one_sentence() {
        let m = not_found(Path::new("/home/me/src/promlab"));
        assert!(
            m.contains("/home/me/src/promlab (the checkout this promlab was built from)"),
            "{m}"
        );
        assert!(m.contains("make install") && m.contains(ROOT_ENV), "{m}");
        assert_eq!(m.matches(". ").count(), 0, "one sentence: {m}");
    }

    #[test]
    fn section_folder_names() {
        assert_eq!(section_prefix("08-alerting"), Some(8));
        assert_eq!(section_prefix("8-alerting"), None);
        assert_eq!(section_prefix("08"), None);
    }
}
