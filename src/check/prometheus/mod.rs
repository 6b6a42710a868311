//! Checks that ask Prometheus, one file per idea: `client` (the query API), `promql`
//! (queries judged), `ast` (PromQL structure), `matchers` (label matchers by meaning), `targets`, `rules`, `status` (server status
//! endpoints) and `settle` (waiting for a fresh configuration to take effect).

pub mod ast;
pub mod client;
pub mod matchers;
pub mod promql;
pub mod rules;
pub mod settle;
pub mod status;
pub mod targets;
