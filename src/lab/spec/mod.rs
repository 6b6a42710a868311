//! The grader vocabulary as it is written in `lab.yaml`: one `CheckSpec` per check, whose
//! kind is the one kind-named key it carries (`promql:`, `targets:`, `alert:` …).
//!
//! Every kind is declared once, in [`for_each_kind!`]: the `CheckSpec` fields, the [`Kind`]
//! enum, [`KIND_KEYS`] and [`CheckSpec::kind`] follow from that table here, the grader's
//! dispatch (`check::kinds`) from the same table there, and load-time validation from the
//! [`KindSpec`] each kind's type implements. A new kind is one entry in the table, its
//! spec type (in the submodule of the system it talks to) and its grader module.
//!
//! Every struct denies unknown fields, so a misspelled key is reported with file:line.
//! The kind is a key rather than a `kind:` tag because serde cannot deny unknown fields
//! reliably inside internally tagged enums (serde #2123) and loses line numbers there.

mod alertmanager;
mod container;
mod dashboard;
mod endpoint;
mod files;
mod prometheus;
mod scenario;
mod tls;

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::duration::Dur;
use crate::lab::compare::Cmp;

pub use alertmanager::*;
pub use container::*;
pub use dashboard::*;
pub use endpoint::*;
pub use files::*;
pub use prometheus::*;
pub use scenario::*;
pub use tls::*;

/// The table of check kinds: `key => Variant(SpecType)`, with the doc of the key. Calls the
/// macro it is given with the whole table, so every list of kinds is generated from here.
macro_rules! for_each_kind {
    ($then:ident) => {
        $then! {
            /// PromQL evaluated on a server.
            promql => Promql(PromqlCheck),
            /// Scrape targets.
            targets => Targets(TargetsCheck),
            /// Loaded recording or alerting rules.
            rule => Rule(RuleCheck),
            /// Alerts at Prometheus or Alertmanager.
            alert => Alert(AlertCheck),
            /// Alertmanager silences.
            silence => Silence(SilenceCheck),
            /// What the webhook sink received.
            notification => Notification(NotificationCheck),
            /// Server status endpoints (config, flags, runtimeinfo, buildinfo, tsdb, …).
            status => Status(StatusCheck),
            /// An exporter's metrics text, parsed.
            exposition => Exposition(ExpositionCheck),
            /// A generic HTTP request.
            http => Http(HttpCheck),
            /// A file in the workspace.
            file => File(FileCheck),
            /// A command run inside one of the lab's containers (promtool, amtool).
            exec => Exec(ExecCheck),
            /// A learner's answer compared with a value computed live.
            answer => Answer(AnswerCheck),
            /// Docker facts about a container.
            container => Container(ContainerCheck),
            /// TLS handshake facts of a service's port (certificate, versions, client auth).
            tls => Tls(TlsCheck),
            /// A Grafana dashboard (a provisioned file, or Grafana's API): panels, units,
            /// variables, and every panel query run against Prometheus.
            dashboard => Dashboard(DashboardCheck),
            /// Actions that make the stack do something, then nested checks.
            scenario => Scenario(ScenarioCheck),
        }
    };
}
pub(crate) use for_each_kind;

/// What every kind's spec type says about itself beyond its fields. The defaults fit a kind
/// with nothing to add.
pub trait KindSpec {
    /// Renders scenario state (`{{ mark.X }}`, `{{ since.X }}`, `{{ state.X }}`) into the
    /// texts of this kind that may hold it (queries, references, HTTP paths and bodies).
    fn render_state(&mut self, _render: &dyn Fn(&mut String)) {}

    /// The document paths it reads, which a report shows (a filtering one needs `what:`).
    fn path_expects(&self) -> Vec<&PathExpect> {
        Vec::new()
    }

    /// Load-time rules beyond the schema, for check `id`: the sentence of the first broken
    /// one. `check_path` judges a workspace-relative path (its error is a full sentence).
    fn validate(&self, _id: &str, _check_path: &dyn Fn(&str) -> Result<(), String>) -> Result<(), String> {
        Ok(())
    }

    /// Checks nested in it (a scenario's), validated like top-level ones.
    fn nested(&self) -> Vec<&CheckSpec> {
        Vec::new()
    }
}

/// Declares `CheckSpec`, `Kind`, `KIND_KEYS` and the per-kind parts of `CheckSpec` from the table.
macro_rules! declare_kinds {
    ($( $(#[$doc:meta])* $key:ident => $variant:ident($ty:ty), )*) => {
        /// One check of a lab.
        #[derive(Debug, Clone, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct CheckSpec {
            /// Unique id within the lab, shown in reports (`node-up`).
            pub id: String,
            /// What the check proves, in the learner's words.
            pub title: String,
            /// Printed when the check fails.
            #[serde(default)]
            pub hint: String,
            /// Poll until the check holds or this much time has passed.
            #[serde(default)]
            pub within: Option<Dur>,
            /// How often to poll (default 1s).
            #[serde(default)]
            pub poll: Option<Dur>,
            /// After passing, it must keep passing this long.
            #[serde(default)]
            pub hold: Option<Dur>,
            /// How far back the check's data reaches (a query's `[20s]` window): it is judged only
            /// once that long has passed since the learner's last change, so neither a pass nor a
            /// failure rests on samples from before it.
            #[serde(default)]
            pub looks_back: Option<Dur>,
            /// Ids of checks that must pass first; when one fails this check is reported blocked.
            #[serde(default)]
            pub requires: Vec<String>,
            $(
                $(#[$doc])*
                #[serde(default)]
                pub $key: Option<$ty>,
            )*
        }

        /// The one kind a check has, borrowed from its spec.
        #[derive(Debug, Clone, Copy)]
        pub enum Kind<'a> {
            $(
                #[doc = concat!("`", stringify!($key), ":`")]
                $variant(&'a $ty),
            )*
        }

        /// The kind keys, for messages.
        pub const KIND_KEYS: &[&str] = &[$(stringify!($key)),*];

        impl<'a> Kind<'a> {
            /// The kind's spec, as what every kind says about itself.
            pub fn spec(self) -> &'a dyn KindSpec {
                match self {
                    $(Kind::$variant(x) => x,)*
                }
            }
        }

        impl CheckSpec {
            /// Every kind key this check carries, with its kind.
            fn kinds_present(&self) -> Vec<(&'static str, Kind<'_>)> {
                let mut found = Vec::new();
                $(
                    if let Some(x) = &self.$key {
                        found.push((stringify!($key), Kind::$variant(x)));
                    }
                )*
                found
            }

            /// The kinds this check carries, to change.
            fn kinds_present_mut(&mut self) -> Vec<&mut dyn KindSpec> {
                let mut found: Vec<&mut dyn KindSpec> = Vec::new();
                $(
                    if let Some(x) = self.$key.as_mut() {
                        found.push(x);
                    }
                )*
                found
            }
        }
    };
}

for_each_kind!(declare_kinds);

impl CheckSpec {
    /// The check with scenario state (`{{ mark.X }}`, `{{ since.X }}`, `{{ state.X }}`)
    /// rendered into the texts that may hold it: queries, references, HTTP paths and bodies.
    pub fn with_state(&self, vars: &BTreeMap<String, String>) -> CheckSpec {
        let r = |t: &mut String| *t = super::template::render(t, vars);
        let mut c = self.clone();
        for k in c.kinds_present_mut() {
            k.render_state(&r);
        }
        c
    }

    /// The kind of this check, or why it has none or several.
    pub fn kind(&self) -> Result<Kind<'_>, String> {
        let found = self.kinds_present();
        match found.len() {
            1 => Ok(found[0].1),
            0 => Err(format!(
                "check `{}` has no kind: add exactly one of {}",
                self.id,
                KIND_KEYS.join(", ")
            )),
            _ => Err(format!(
                "check `{}` has several kinds ({}): split it into one check per kind",
                self.id,
                found.iter().map(|f| f.0).collect::<Vec<_>>().join(", ")
            )),
        }
    }
}

pub(crate) fn default_prometheus() -> String {
    "prometheus".into()
}
pub(crate) fn default_alertmanager() -> String {
    "alertmanager".into()
}
pub(crate) fn default_answers() -> String {
    "answers.yaml".into()
}
pub(crate) fn default_sink() -> String {
    "sink".into()
}
pub(crate) fn default_get() -> String {
    "GET".into()
}
pub(crate) fn default_metrics() -> String {
    "/metrics".into()
}

/// A JMESPath expression into a JSON (or YAML-as-JSON) document and what it must satisfy.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PathExpect {
    /// JMESPath expression.
    pub path: String,
    /// The comparator.
    pub expect: Cmp,
    /// What the path reads, in the learner's words ("remote_write entries sending to
    /// http://vm:8428/"); shown instead of the JMESPath in the report when given.
    #[serde(default)]
    pub what: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_kind_is_required() {
        let c: CheckSpec = crate::yaml::parse("id: a\ntitle: t\n").unwrap();
        assert!(c.kind().unwrap_err().contains("has no kind"));
        let c: CheckSpec = crate::yaml::parse("id: a\ntitle: t\npromql: {expr: up}\ntargets: {}\n").unwrap();
        assert!(c.kind().unwrap_err().contains("several kinds (promql, targets)"));
        let c: CheckSpec = crate::yaml::parse("id: a\ntitle: t\npromql: {expr: up}\n").unwrap();
        assert!(matches!(c.kind(), Ok(Kind::Promql(_))));
    }

    #[test]
    fn misspelled_fields_are_rejected_in_every_kind() {
        for (kind, body) in [
            ("promql", "{expr: up, expct: {}}"),
            ("targets", "{pool: x, expect: {actve: 1}}"),
            ("rule", "{select: {nam: x}}"),
            ("alert", "{alertnam: x}"),
            ("silence", "{matcher: x}"),
            ("notification", "{hook: a, stauts: firing}"),
            ("status", "{endpoint: flags, expect: [{path: a, expct: 1}]}"),
            ("exposition", "{service: a, sample: []}"),
            ("http", "{service: a, path: /, stauts: 200}"),
            ("file", "{path: a, exist: true}"),
            ("exec", "{service: a, command: [x]}"),
            ("answer", "{key: a, truth: {promq: up}}"),
            ("container", "{service: a, runing: true}"),
            ("scenario", "{steps: [{wiat: 1s}]}"),
        ] {
            let yaml = format!("id: a\ntitle: t\n{kind}: {body}\n");
            let err = crate::yaml::parse::<CheckSpec>(&yaml).unwrap_err();
            assert!(err.to_string().contains("unknown field"), "{kind}: {err}");
            assert_eq!(err.location().map(|l| l.line()), Some(3), "{kind}: {err}");
        }
    }
}
