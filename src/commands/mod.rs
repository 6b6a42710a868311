//! One module per command group; `run` dispatches. Commands print; logic modules do not.

pub mod check;
pub mod doctor;
pub mod lifecycle;
pub mod lint;
pub mod list;
pub mod session;
pub mod up;
pub mod validate;

use clap::CommandFactory;

use crate::cli::{Cli, Command};
use crate::error::Error;
use crate::exit;

/// Runs one command; returns the exit code for outcomes that are not errors.
pub async fn run(cli: Cli) -> Result<u8, Error> {
    match cli.command {
        Command::List { section, json } => list::list(&section, json),
        Command::Show { id } => list::show(id).await,
        Command::Up {
            id,
            ws,
            seed,
            fresh,
            timeout,
        } => up::up(id, ws.workspace, seed, fresh, timeout).await,
        Command::Status => lifecycle::status().await,
        Command::Down { id, all } => lifecycle::down(id, all).await,
        Command::Logs {
            service,
            lab,
            follow,
            tail,
        } => lifecycle::logs(&service, lab, follow, tail).await,
        Command::Check { id, json, junit } => check::check(id, json, junit).await,
        Command::Watch { id } => check::watch(id).await,
        Command::Hint { id } => check::hint(id).await,
        Command::Solve { id } => check::solve(id).await,
        Command::Reset { id, all } => check::reset(id, all).await,
        Command::Fault {
            service,
            kind,
            rate,
            latency,
            duration,
            lab,
        } => {
            lifecycle::fault(
                &service,
                kind.as_deref(),
                rate,
                latency.as_deref(),
                duration.as_deref(),
                lab,
            )
            .await
        }
        Command::Validate {
            ids,
            all,
            section,
            jobs,
            retries,
            junit,
            json,
        } => validate::validate(ids, all, section, jobs, retries, junit, json).await,
        Command::Lint => lint::lint(),
        Command::Doctor => doctor::doctor().await,
        Command::Images { action } => doctor::images(action).await,
        Command::Completions { shell } => {
            // Through print!, so a closed pipe ends promlab quietly (see main.rs).
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "promlab", &mut script);
            print!("{}", String::from_utf8_lossy(&script));
            Ok(exit::OK)
        }
        Command::Demo {
            listen,
            instance,
            seed,
            rps,
            app_version,
        } => {
            let opts = crate::component::DemoOptions {
                listen,
                instance,
                seed,
                traffic_rps: rps,
                version: app_version,
            };
            crate::component::run_demo(opts, shutdown_signal())
                .await
                .map_err(|e| Error::Other(e.to_string()))?;
            Ok(exit::OK)
        }
        Command::Sink { listen } => {
            crate::component::run_sink(crate::component::SinkOptions { listen }, shutdown_signal())
                .await
                .map_err(|e| Error::Other(e.to_string()))?;
            Ok(exit::OK)
        }
    }
}

/// Resolves on Ctrl-C.
pub async fn shutdown_signal() {
    let _ = tokio::signal::ctrl_c().await;
}
