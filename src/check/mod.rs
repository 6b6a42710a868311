//! The grader: runs a lab's checks against the live stack and reports, for each, what it
//! expected, what it saw and a hint. A failing check is an outcome, never an error.
//!
//! Checks are grouped by the system they talk to: `prometheus/`, `alertmanager.rs`,
//! `files.rs` (files and answers, with `learner.rs` to read them and `markdown.rs` for
//! tables and code blocks), `container.rs` (exec, container), `endpoint.rs` (HTTP and
//! exposition), `tls.rs`, `grafana.rs`, `scenario.rs`. The machinery: `context.rs` (what a
//! check consults), `outcome.rs` (what it yields), `kinds.rs` (dispatch on the kind),
//! `scheduler.rs` (timing and order), `paths.rs` (JMESPath into documents), `reload.rs`
//! (applying the learner's changes), `hints.rs`, `solution.rs`.
//!
//! The lab format (specs, comparators, templating) lives in `lab`; `check` depends on it,
//! never the reverse.

pub mod alertmanager;
pub mod container;
pub mod context;
pub mod endpoint;
pub mod files;
pub mod grafana;
pub mod hints;
pub mod kinds;
pub mod learner;
pub mod markdown;
pub mod notifications;
pub mod outcome;
pub mod paths;
pub mod prometheus;
pub mod reload;
pub mod scenario;
pub mod scheduler;
pub mod solution;
pub mod tls;

pub use context::{Ctx, Mode, Net, Svc, now_unix};
pub use outcome::{Outcome, Report, Status, trim};
pub use scheduler::run_all;
