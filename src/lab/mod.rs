//! Lab content: ids, the roadmap, lab manifests and the catalog that finds them on disk,
//! and the lab format the grader reads: check specs (`spec`), comparators (`compare`),
//! per-learner parameters and templating (`template`).
//!
//! The lab format is a leaf: nothing here depends on the grader (`check`), the runtime or the
//! commands; `check` depends on it.

pub mod catalog;
pub mod compare;
pub mod id;
pub mod manifest;
pub mod roadmap;
pub mod spec;
pub mod template;
pub mod yaml;

use std::fmt;
use std::path::{Path, PathBuf};

pub use catalog::Catalog;
pub use id::LabId;
pub use manifest::{Lab, Manifest};
pub use roadmap::Roadmap;

/// A problem with lab data (manifests, stacks, roadmap, images files, learner files).
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    /// A file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A file is not valid YAML for its schema.
    #[error("{}: {message}", Loc(file, *line))]
    Parse {
        /// The file.
        file: PathBuf,
        /// 1-based line, when known.
        line: Option<usize>,
        /// What is wrong and what to write instead.
        message: String,
    },
    /// A file parses but says something impossible.
    #[error("{}: {message}", Loc(file, *line))]
    Invalid {
        /// The file.
        file: PathBuf,
        /// 1-based line, when known.
        line: Option<usize>,
        /// What is wrong and what to write instead.
        message: String,
    },
    /// No lab has this id.
    #[error("{message}")]
    Unknown {
        /// The sentence to print.
        message: String,
    },
}

struct Loc<'a>(&'a Path, Option<usize>);

impl fmt::Display for Loc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.1 {
            Some(l) => write!(f, "{}:{l}", self.0.display()),
            None => write!(f, "{}", self.0.display()),
        }
    }
}

impl LabError {
    /// An `Invalid` error located at the first line of `text` containing `needle`.
    pub fn invalid(file: &Path, text: &str, needle: &str, message: impl Into<String>) -> Self {
        LabError::Invalid {
            file: file.to_path_buf(),
            line: yaml::line_of(text, needle),
            message: message.into(),
        }
    }

    /// An `Invalid` error about a whole file or folder.
    pub fn at(file: &Path, message: impl Into<String>) -> Self {
        LabError::Invalid {
            file: file.to_path_buf(),
            line: None,
            message: message.into(),
        }
    }
}

/// Reads a UTF-8 file.
pub fn read_text(path: &Path) -> Result<String, LabError> {
    std::fs::read_to_string(path).map_err(|source| LabError::Io {
        path: path.to_path_buf(),
        source,
    })
}
