//! The workspace kinds as written in `lab.yaml`: `file:` and `answer:` (with its live `truth`).

use serde::Deserialize;
use serde_json::Value;

use super::{KindSpec, PathExpect, default_answers};
use crate::lab::compare::{Approx, Cmp};

/// `file:` — a workspace file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileCheck {
    /// Workspace-relative path.
    pub path: String,
    /// Whether it exists.
    #[serde(default)]
    pub exists: Option<bool>,
    /// The whole text.
    #[serde(default)]
    pub text: Option<Cmp>,
    /// Paths into the file parsed as YAML/JSON.
    #[serde(default)]
    pub yaml: Vec<PathExpect>,
    /// `true`: must differ from the starter; `false`: must equal it.
    #[serde(default)]
    pub changed_from_starter: Option<bool>,
    /// Paths into the file's Markdown tables: an array of tables, each an array of rows
    /// keyed by header cell (`[0][?Alert=='DemoDown'] | [0].Severity`).
    #[serde(default)]
    pub tables: Vec<PathExpect>,
}

/// `answer:` — the learner's answer vs a live truth; never reveals the truth.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnswerCheck {
    /// Dotted key in the answers file (`node_series`, `versions.node`).
    pub key: String,
    /// The answers file (default `answers.yaml`).
    #[serde(default = "default_answers")]
    pub file: String,
    /// Where the right answer comes from, live.
    pub truth: Truth,
    /// Numeric tolerance; without it numbers must be equal, lists equal as sets.
    #[serde(default)]
    pub tolerance: Option<Approx>,
}

/// A value computed live.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Truth {
    /// A PromQL query.
    #[serde(default)]
    pub promql: Option<String>,
    /// The server for `promql` (default prometheus).
    #[serde(default)]
    pub server: Option<String>,
    /// How to reduce a query result: `scalar` (default; one series), `count`, `sum`,
    /// or `labels:<name>` (the set of values of a label).
    #[serde(default)]
    pub reduce: Option<String>,
    /// An HTTP GET on a service: `{service, path}`, read with `jmespath`.
    #[serde(default)]
    pub http: Option<HttpSource>,
    /// JMESPath into the `http` JSON.
    #[serde(default)]
    pub jmespath: Option<String>,
    /// A constant.
    #[serde(default, rename = "const")]
    pub constant: Option<Value>,
}

/// A GET on a service.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSource {
    /// The service.
    pub service: String,
    /// Path and query.
    pub path: String,
}

impl KindSpec for FileCheck {
    fn path_expects(&self) -> Vec<&PathExpect> {
        self.yaml.iter().chain(&self.tables).collect()
    }

    fn validate(&self, _id: &str, check_path: &dyn Fn(&str) -> Result<(), String>) -> Result<(), String> {
        check_path(&self.path)
    }
}

impl KindSpec for AnswerCheck {
    fn render_state(&mut self, render: &dyn Fn(&mut String)) {
        if let Some(q) = self.truth.promql.as_mut() {
            render(q);
        }
    }

    fn validate(&self, _id: &str, check_path: &dyn Fn(&str) -> Result<(), String>) -> Result<(), String> {
        check_path(&self.file)
    }
}
