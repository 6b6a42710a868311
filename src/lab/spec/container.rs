//! The container kinds as written in `lab.yaml`: `exec:` and `container:`.

use serde::Deserialize;

use super::KindSpec;
use crate::lab::compare::Cmp;

/// `exec:` — run a command in a lab container.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExecCheck {
    /// The service whose container runs it.
    pub service: String,
    /// The command and its arguments.
    pub cmd: Vec<String>,
    /// Exit code (default 0).
    #[serde(default)]
    pub exit_code: Option<Cmp>,
    /// Standard output.
    #[serde(default)]
    pub stdout: Option<Cmp>,
    /// Standard error.
    #[serde(default)]
    pub stderr: Option<Cmp>,
    /// Copy this workspace folder into the container at `/tmp/promlab-copy/<folder>` first
    /// (the command then reads the copy), so `mutate` can change it without touching the
    /// learner's files.
    #[serde(default)]
    pub copy: Option<String>,
    /// Changes applied to the copy (mutation testing: the learner's tests must catch them).
    #[serde(default)]
    pub mutate: Vec<Mutation>,
    /// Files of the lab's `hidden/` folder (paths inside it) copied into the container at
    /// `/tmp/promlab-copy/hidden/<path>` first: grader-side test data (a promtool test file)
    /// that never reaches the learner's workspace.
    #[serde(default)]
    pub copy_hidden: Vec<String>,
    /// The command asks a live server (`promtool query …`), so its result can change while
    /// `within` waits. By default a command reads only files, and its failure is final.
    #[serde(default)]
    pub dynamic: bool,
}

/// A literal text replacement in one copied file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mutation {
    /// Workspace-relative file (inside the copied folder).
    pub file: String,
    /// Text to replace (must occur).
    pub replace: String,
    /// Replacement.
    pub with: String,
}

/// `container:` — Docker facts.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContainerCheck {
    /// The service.
    pub service: String,
    /// Running or not.
    #[serde(default)]
    pub running: Option<bool>,
    /// The user it runs as.
    #[serde(default)]
    pub user: Option<Cmp>,
    /// Restart count.
    #[serde(default)]
    pub restarts: Option<Cmp>,
    /// Memory limit in bytes.
    #[serde(default)]
    pub memory_limit: Option<Cmp>,
    /// Privileged or not.
    #[serde(default)]
    pub privileged: Option<bool>,
    /// Read-only root filesystem.
    #[serde(default)]
    pub readonly_rootfs: Option<bool>,
    /// The command line, joined with spaces.
    #[serde(default)]
    pub cmd: Option<Cmp>,
}

impl ExecCheck {
    /// Whether the command runs on copies in `/tmp/promlab-copy` (a workspace folder, hidden files).
    pub fn copies(&self) -> bool {
        self.copy.is_some() || !self.copy_hidden.is_empty()
    }
}

impl KindSpec for ExecCheck {
    fn validate(&self, id: &str, check_path: &dyn Fn(&str) -> Result<(), String>) -> Result<(), String> {
        if let Some(folder) = &self.copy {
            check_path(folder)?;
        }
        for m in &self.mutate {
            check_path(&m.file)?;
        }
        if !self.mutate.is_empty() && self.copy.is_none() {
            return Err(format!(
                "check `{id}`: `mutate` changes a copy, so it needs `copy: FOLDER` (the workspace folder to copy)"
            ));
        }
        Ok(())
    }
}

impl KindSpec for ContainerCheck {}
