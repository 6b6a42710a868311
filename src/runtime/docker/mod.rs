//! The only module that speaks Docker (bollard). It maps promlab plans to Engine API calls
//! and Docker's errors to `RuntimeError`s that say what to do.
//!
//! One file per idea: `connect` (which engine, and the client), `containers` (create, run,
//! inspect, exec, logs), `resources` (networks, volumes, and removing a project's objects),
//! `images` (present, pull, import). This file holds the client type, the counts and outputs
//! they return, and the mapping of bollard's errors.

mod connect;
mod containers;
mod images;
mod resources;

use std::collections::HashMap;

use bollard::errors::Error as BollardError;

use super::{LABEL_MANAGED, RuntimeError};

/// A connected Docker client.
#[derive(Debug, Clone)]
pub struct Docker {
    inner: bollard::Docker,
}

/// Pull progress: (layer id, status, current bytes, total bytes).
pub type PullEvent = (String, String, Option<u64>, Option<u64>);

/// What `remove` removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Removed {
    /// Containers removed.
    pub containers: usize,
    /// Networks removed.
    pub networks: usize,
    /// Volumes removed.
    pub volumes: usize,
}

impl Removed {
    /// Whether every count is zero.
    pub fn is_empty(&self) -> bool {
        self.containers == 0 && self.networks == 0 && self.volumes == 0
    }

    /// Adds another count to this one.
    pub fn add(&mut self, other: Removed) {
        self.containers += other.containers;
        self.networks += other.networks;
        self.volumes += other.volumes;
    }
}

impl std::fmt::Display for Removed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = |k: usize, what: &str| format!("{k} {what}{}", if k == 1 { "" } else { "s" });
        write!(
            f,
            "{}, {}, {}",
            n(self.containers, "container"),
            n(self.networks, "network"),
            n(self.volumes, "volume")
        )
    }
}

/// Output of a command run in a container.
#[derive(Debug, Clone, Default)]
pub struct ExecOutput {
    /// Exit code.
    pub exit_code: i64,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

fn api(action: impl Into<String>) -> impl FnOnce(BollardError) -> RuntimeError {
    let action = action.into();
    move |e| classify(&action, e)
}

fn classify(action: &str, e: BollardError) -> RuntimeError {
    match e {
        BollardError::DockerResponseServerError { message, .. } => RuntimeError::Api {
            action: action.to_string(),
            detail: message,
        },
        BollardError::HyperResponseError { .. }
        | BollardError::IOError { .. }
        | BollardError::SocketNotFoundError(_) => RuntimeError::Unreachable {
            detail: e.to_string(),
        },
        other => RuntimeError::Api {
            action: action.to_string(),
            detail: other.to_string(),
        },
    }
}

fn status_of(e: &BollardError) -> Option<u16> {
    match e {
        BollardError::DockerResponseServerError { status_code, .. } => Some(*status_code),
        _ => None,
    }
}

fn label_filter(labels: &[(&str, &str)]) -> HashMap<String, Vec<String>> {
    let mut f = HashMap::new();
    let mut values = vec![format!("{LABEL_MANAGED}=true")];
    values.extend(labels.iter().map(|(k, v)| format!("{k}={v}")));
    f.insert("label".to_string(), values);
    f
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or(s).chars().take(200).collect()
}
