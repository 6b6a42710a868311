//! Logical image names (`prometheus`, `demo`) → image references, from `compose/images.yaml`
//! or the file named by `PROMLAB_IMAGES` (e.g. `compose/images.local.yaml`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::yaml::{self, LabError, read_text};

/// The environment variable that selects an images file.
pub const IMAGES_ENV: &str = "PROMLAB_IMAGES";

/// Logical names of images the promlab binary packages itself.
pub const SELF_BUILT: &[&str] = &["demo", "sink"];

/// An images file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageMap {
    /// Logical name → image reference.
    pub images: BTreeMap<String, String>,
    /// Where it was read from.
    #[serde(skip)]
    pub source: PathBuf,
}

impl ImageMap {
    /// Reads an images file and checks that every reference is pinned.
    pub fn load(path: &Path) -> Result<Self, LabError> {
        let text = read_text(path)?;
        let mut map: ImageMap = yaml::from_str(path, &text)?;
        for (name, reference) in &map.images {
            if let Err(m) = check_pinned(reference) {
                return Err(LabError::invalid(
                    path,
                    &text,
                    reference,
                    format!("image `{name}`: {m}"),
                ));
            }
        }
        map.source = path.to_path_buf();
        Ok(map)
    }

    /// The images file in effect: `PROMLAB_IMAGES` (relative to `root` when not absolute)
    /// or `root/compose/images.yaml`.
    pub fn selected(root: &Path) -> Result<Self, LabError> {
        match std::env::var_os(IMAGES_ENV) {
            Some(v) if !v.is_empty() => {
                let p = PathBuf::from(v);
                let p = if p.is_absolute() { p } else { root.join(p) };
                Self::load(&p)
            }
            _ => Self::load(&root.join("compose/images.yaml")),
        }
    }

    /// Resolves a logical name.
    pub fn resolve(&self, logical: &str) -> Option<&str> {
        self.images.get(logical).map(String::as_str)
    }
}

/// Rejects untagged and `:latest` references.
pub fn check_pinned(reference: &str) -> Result<(), String> {
    let last = reference.rsplit('/').next().unwrap_or(reference);
    if reference.contains('@') {
        return Ok(());
    }
    match last.split_once(':') {
        None => Err(format!(
            "`{reference}` has no tag: pin a version, e.g. `{reference}:v1.2.3`"
        )),
        Some((_, "latest")) => Err(format!("`{reference}` uses :latest: pin a version")),
        Some(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pinning_rules() {
        assert!(check_pinned("prom/prometheus:v3.5.0").is_ok());
        assert!(check_pinned("localhost:5000/x:1").is_ok());
        assert!(check_pinned("prom/prometheus").unwrap_err().contains("no tag"));
        assert!(
            check_pinned("prom/prometheus:latest")
                .unwrap_err()
                .contains(":latest")
        );
        assert!(check_pinned("localhost:5000/x").is_err());
    }

    #[test]
    fn repo_image_files_are_pinned_and_agree() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let up = ImageMap::load(&root.join("compose/images.yaml")).unwrap();
        let local = ImageMap::load(&root.join("compose/images.local.yaml")).unwrap();
        for name in local.images.keys() {
            assert!(up.images.contains_key(name), "{name} is local-only");
        }
        for s in SELF_BUILT {
            assert!(local.resolve(s).is_some(), "{s} missing from images.local.yaml");
        }
    }
}
