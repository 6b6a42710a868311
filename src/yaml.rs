//! The one place promlab meets the YAML crate (serde_norway): lab data files are read,
//! parsed with file:line errors ([`LabError`]) and searched for lines here. Every other module
//! goes through this one, so the YAML crate can change in one file.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

pub use serde_norway::{Error, Mapping, Value};

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
            line: line_of(text, needle),
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

/// Parses `text` (read from `path`) into `T`, turning serde errors into file:line errors.
pub fn from_str<T: DeserializeOwned>(path: &Path, text: &str) -> Result<T, LabError> {
    serde_norway::from_str(text).map_err(|e| {
        let line = e.location().map(|l| l.line());
        LabError::Parse {
            file: path.to_path_buf(),
            line,
            message: tidy(&e.to_string()),
        }
    })
}

/// Removes the YAML crate's trailing "at line X column Y", which promlab prints as file:line,
/// and says why an unknown Compose key that would give a container power over the machine
/// (`privileged`, `cap_add`, …) is not supported.
fn tidy(msg: &str) -> String {
    let cut = msg.find(" at line ").map_or(msg, |i| &msg[..i]);
    let field = cut
        .split_once("unknown field `")
        .and_then(|(_, rest)| rest.split_once('`'))
        .map(|(f, _)| f);
    match field.and_then(refused_key_hint) {
        Some(hint) => {
            let head = cut.split_once(", expected").map_or(cut, |(h, _)| h);
            format!("{head}; {hint}")
        }
        None => cut.to_string(),
    }
}

/// The 1-based line where `needle` first appears in `text`.
pub fn line_of(text: &str, needle: &str) -> Option<usize> {
    text.lines().position(|l| l.contains(needle)).map(|i| i + 1)
}

/// The 1-based line where `needle` last appears in `text`.
pub fn last_line_of(text: &str, needle: &str) -> Option<usize> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| l.contains(needle))
        .last()
        .map(|(i, _)| i + 1)
}

/// Renders a value as YAML text, or says why it cannot be (for files promlab writes).
pub fn try_to_string<T: serde::Serialize>(value: &T) -> Result<String, Error> {
    serde_norway::to_string(value)
}

/// Parses YAML text with no file behind it (a served config, a learner's answer, a test's
/// inline spec); the error keeps its own line ([`Error::location`]).
pub fn parse<T: DeserializeOwned>(text: &str) -> Result<T, Error> {
    serde_norway::from_str(text)
}

/// Converts a serializable value into a YAML [`Value`].
pub fn to_value<T: serde::Serialize>(value: T) -> Result<Value, Error> {
    serde_norway::to_value(value)
}

/// Hints for Compose keys promlab deliberately does not support (they would give a
/// container power over the machine), appended to serde's "unknown field" message.
pub fn refused_key_hint(key: &str) -> Option<&'static str> {
    match key {
        "privileged" | "cap_add" | "devices" | "security_opt" => Some(
            "promlab runs no privileged containers and adds no capabilities or devices: remove it (a lab cannot need it)",
        ),
        "network_mode" | "pid" | "ipc" | "userns_mode" => {
            Some("promlab runs every service on the lab's own network and namespaces: remove it")
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_errors_carry_the_line() {
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct S {
            a: u32,
        }
        let err = from_str::<S>(Path::new("x.yaml"), "a: 1\nb: 2\n").unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("x.yaml:2:"), "{text}");
        assert!(text.contains("unknown field `b`"), "{text}");
        assert!(!text.contains("at line"), "{text}");
    }

    #[test]
    fn finds_lines() {
        let t = "a\nb x\nc x\n";
        assert_eq!(line_of(t, "x"), Some(2));
        assert_eq!(last_line_of(t, "x"), Some(3));
        assert_eq!(line_of(t, "zz"), None);
    }
}
