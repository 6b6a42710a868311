//! promlab: learn Prometheus by doing. Every roadmap topic is a lab whose stack runs in
//! Docker; `check` grades the learner's work against the live stack.
//!
//! Layout: `cli` (arguments), `commands` (one module per command group), `lab` (content),
//! `stack` (Compose subset and images), `runtime` (Docker, the only bollard user), `check`
//! (the grader), `report` (pure rendering), `component` (demo workload and webhook sink);
//! `commands::validate` is the live proof of every lab.
//! Shared leaves: `yaml` (the only YAML-crate user: lab data files, file:line errors),
//! `http` (clients, the HTTPS switch), `poll` (waiting with a deadline), `hash` (SHA-256),
//! `learner_progress` (the learner's progress file), `workspace`, `duration`, `exit`.

pub(crate) mod check;
pub mod cli;
pub mod commands;
pub(crate) mod component;
pub(crate) mod duration;
pub(crate) mod error;
pub mod exit;
mod hash;
pub mod http;
pub mod lab;
pub(crate) mod learner_progress;
mod poll;
pub(crate) mod render;
pub(crate) mod report;
pub(crate) mod runtime;
pub mod stack;
pub(crate) mod workspace;
pub(crate) mod yaml;

pub use error::Error;

/// Runs a parsed command line and returns the process exit code. Errors are printed here,
/// as one sentence on stderr.
pub fn main_with(cli: cli::Cli) -> u8 {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return exit::RUNTIME;
        }
    };
    match rt.block_on(commands::run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            e.exit_code()
        }
    }
}
