//! The top-level error: every failure a command can end with, its exit code and its hint.

use std::path::PathBuf;

use crate::exit;
use crate::runtime::RuntimeError;
use crate::yaml::LabError;

/// Why a command stopped.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Lab data is wrong.
    #[error(transparent)]
    Lab(#[from] LabError),
    /// The container runtime failed.
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    /// The lab is not running.
    #[error("{0}")]
    NotRunning(String),
    /// A file operation failed.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// What promlab tried.
        action: &'static str,
        /// Where.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A folder that cannot be a workspace, or a link leaving it (the message says which
    /// and what to do).
    #[error("{0}")]
    Workspace(String),
    /// The command was used wrongly in a way clap cannot see.
    #[error("{0}")]
    Usage(String),
    /// Something else that the message explains.
    #[error("{0}")]
    Other(String),
}

impl Error {
    /// The exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Lab(_) => exit::LAB_INVALID,
            Error::Runtime(RuntimeError::NotReady { .. }) | Error::NotRunning(_) => exit::NOT_READY,
            Error::Runtime(RuntimeError::Interrupted | RuntimeError::Stopped { .. }) => exit::INTERRUPTED,
            Error::Runtime(_) => exit::RUNTIME,
            Error::Usage(_) => exit::USAGE,
            Error::Io { .. } | Error::Workspace(_) => exit::WORKSPACE,
            Error::Other(_) => exit::RUNTIME,
        }
    }

    /// An I/O error with context.
    pub fn io(action: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { action, path, source }
    }
}
