//! The HTTP kinds as written in `lab.yaml`: `exposition:` (metrics text) and `http:`.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{KindSpec, PathExpect, default_get, default_metrics};
use crate::lab::compare::Cmp;

/// `exposition:` — fetch and parse a metrics page.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpositionCheck {
    /// The service to fetch from.
    pub service: String,
    /// The path (default `/metrics`).
    #[serde(default = "default_metrics")]
    pub path: String,
    /// Query parameters.
    #[serde(default)]
    pub query: BTreeMap<String, String>,
    /// Samples that must be present.
    #[serde(default)]
    pub samples: Vec<SampleExpect>,
    /// The set of metric family names.
    #[serde(default)]
    pub families: Option<Cmp>,
}

/// One sample expectation.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SampleExpect {
    /// Metric name.
    pub metric: String,
    /// Labels the sample must carry.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Its value.
    #[serde(default)]
    pub value: Option<Cmp>,
}

/// `http:` — a generic request.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpCheck {
    /// The service.
    pub service: String,
    /// Method (default GET).
    #[serde(default = "default_get")]
    pub method: String,
    /// Path and query.
    pub path: String,
    /// Request body.
    #[serde(default)]
    pub body: Option<String>,
    /// Request headers.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Response status.
    #[serde(default)]
    pub status: Option<Cmp>,
    /// Response body text.
    #[serde(default)]
    pub body_text: Option<Cmp>,
    /// Paths into a JSON body.
    #[serde(default)]
    pub json: Vec<PathExpect>,
}

impl KindSpec for ExpositionCheck {}

impl KindSpec for HttpCheck {
    fn render_state(&mut self, render: &dyn Fn(&mut String)) {
        render(&mut self.path);
        if let Some(b) = self.body.as_mut() {
            render(b);
        }
    }

    fn path_expects(&self) -> Vec<&PathExpect> {
        self.json.iter().collect()
    }
}
