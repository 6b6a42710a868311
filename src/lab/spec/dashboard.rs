//! The `dashboard:` kind as written in `lab.yaml`: a Grafana dashboard's panels and queries.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{AstRules, KindSpec, default_prometheus};
use crate::lab::compare::Cmp;

/// `dashboard:` — a Grafana dashboard's content.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DashboardCheck {
    /// A dashboard JSON file in the workspace (what Grafana's file provider loads).
    #[serde(default)]
    pub file: Option<String>,
    /// Or: the dashboard's uid in Grafana (`GET /api/dashboards/uid/:uid`).
    #[serde(default)]
    pub uid: Option<String>,
    /// The Grafana service (uid mode).
    #[serde(default = "default_grafana")]
    pub grafana: String,
    /// The Prometheus service panel queries run against.
    #[serde(default = "default_prometheus")]
    pub server: String,
    /// What must hold.
    #[serde(default)]
    pub expect: DashboardExpect,
}

fn default_grafana() -> String {
    "grafana".into()
}

/// `dashboard.expect`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DashboardExpect {
    /// The dashboard title.
    #[serde(default)]
    pub title: Option<Cmp>,
    /// The number of panels (rows' panels included, rows not).
    #[serde(default)]
    pub panels: Option<Cmp>,
    /// The panels' types, as a list (`{superset_of: [timeseries, stat]}`).
    #[serde(default)]
    pub panel_types: Option<Cmp>,
    /// Unit per panel title (`fieldConfig.defaults.unit`).
    #[serde(default)]
    pub units: BTreeMap<String, Cmp>,
    /// The template variables' names, as a list.
    #[serde(default)]
    pub variables: Option<Cmp>,
    /// Grafana's meta.provisioned (uid mode).
    #[serde(default)]
    pub provisioned: Option<Cmp>,
    /// Grafana's meta.folderTitle (uid mode).
    #[serde(default)]
    pub folder: Option<Cmp>,
    /// What every panel must have.
    #[serde(default)]
    pub every_panel: EveryPanel,
    /// What every panel query must be and do.
    #[serde(default)]
    pub every_target: EveryTarget,
}

/// `dashboard.expect.every_panel`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EveryPanel {
    /// Its description.
    #[serde(default)]
    pub description: Option<Cmp>,
    /// Its datasource uid (`{regex: '^\$\{?datasource'}` for a variable).
    #[serde(default)]
    pub datasource: Option<Cmp>,
}

/// `dashboard.expect.every_target`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EveryTarget {
    /// No empty query.
    #[serde(default)]
    pub non_empty: bool,
    /// Every range is Grafana's `[$__rate_interval]`.
    #[serde(default)]
    pub rate_interval: bool,
    /// Structure rules, as for `promql.ast` (judged with Grafana's variables substituted).
    #[serde(default)]
    pub ast: Option<AstRules>,
    /// Each query, variables substituted, returns data from Prometheus now.
    #[serde(default)]
    pub returns_data: bool,
}

impl KindSpec for DashboardCheck {}
