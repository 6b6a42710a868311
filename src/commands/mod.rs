//! One module per command group; `run` dispatches. Commands print; logic modules do not.

/// Prints a line that may hold colors (see `render::style`), keeping them only when stdout
/// is a terminal and NO_COLOR is not set. Through `println!`, so a closed pipe still ends
/// promlab quietly with exit 141 (see main.rs).
macro_rules! say {
    ($($arg:tt)*) => {
        println!("{}", $crate::commands::styled(&format!($($arg)*)))
    };
}
pub(crate) use say;

pub mod check;
pub mod doctor;
pub mod hint;
pub mod home;
pub mod lifecycle;
pub mod lint;
pub mod list;
pub mod next;
pub mod query;
pub mod session;
pub mod up;
pub mod validate;

/// `text` with its colors when stdout shows them (a terminal, NO_COLOR unset), else plain.
pub fn styled(text: &str) -> String {
    use std::io::IsTerminal;
    let no_color = std::env::var("NO_COLOR").ok();
    if crate::render::style::colors_wanted(no_color.as_deref(), std::io::stdout().is_terminal()) {
        text.to_string()
    } else {
        crate::render::style::plain(text)
    }
}

/// The width to wrap and scale output to: the terminal's, else 100 columns.
pub fn width() -> usize {
    crate::render::style::width_of(terminal_size::terminal_size().map(|(w, _)| w.0))
}

use clap::CommandFactory;

use crate::cli::{Cli, Command};
use crate::error::Error;
use crate::exit;
use crate::runtime::cancel::Cancel;

/// Runs one command; returns the exit code for outcomes that are not errors.
pub async fn run(cli: Cli) -> Result<u8, Error> {
    let Some(command) = cli.command else {
        return home::home().await;
    };
    match command {
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
        Command::Hint { id, next, all } => hint::hint(id, next, all).await,
        Command::Next { down, timeout } => next::next(down, timeout).await,
        Command::Query {
            expr,
            lab,
            range,
            step,
            json,
        } => {
            query::query(query::QueryArgs {
                expr,
                lab,
                range,
                step,
                json,
            })
            .await
        }
        Command::Targets { lab, json } => query::targets(lab, json).await,
        Command::Alerts { lab, json } => query::alerts(lab, json).await,
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
            partition,
            age,
            merge,
        } => {
            let opts = crate::commands::validate::Options {
                ids,
                all,
                sections: section,
                jobs,
                retries,
                junit,
                json,
                partition,
                age,
                merge,
            };
            crate::commands::validate::validate(opts).await
        }
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
            let age = std::env::var("DEMO_AGE").ok();
            let age_s =
                crate::component::parse_age(age.as_deref()).map_err(|e| Error::Other(e.to_string()))?;
            let version = app_version
                .unwrap_or_else(|| crate::component::pattern::default_build(&instance).0.to_string());
            let opts = crate::component::DemoOptions {
                listen,
                instance,
                seed,
                traffic_rps: rps,
                version,
                age_s,
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

/// Takes over SIGINT and SIGTERM for a command that changes Docker; call it first, before
/// the command does anything. The first signal sets the returned flag (the command then
/// stops after its current step and removes what it created); a second one is answered
/// with a note and ignored, so that removal completes; a third ends promlab at once (exit
/// 130) after saying what may be left and that `cleanup` removes it.
pub fn interrupts(cleanup: String) -> Result<Cancel, Error> {
    use tokio::signal::unix::{SignalKind, signal};
    let install =
        |kind| signal(kind).map_err(|e| Error::Other(format!("cannot install the signal handler: {e}")));
    let mut int = install(SignalKind::interrupt())?;
    let mut term = install(SignalKind::terminate())?;
    let cancel = Cancel::new();
    let flag = cancel.clone();
    tokio::spawn(async move {
        let mut seen = 0u32;
        loop {
            let name = tokio::select! {
                _ = int.recv() => "SIGINT",
                _ = term.recv() => "SIGTERM",
            };
            seen += 1;
            match seen {
                1 => {
                    eprintln!("\n{name}: stopping after the current step");
                    flag.cancel(name);
                }
                2 => eprintln!(
                    "{name}: still removing what this command created; one more signal stops promlab at once and may leave containers behind"
                ),
                _ => {
                    eprintln!("{name}: stopping now; what is left is removed by `{cleanup}`");
                    std::process::exit(i32::from(exit::INTERRUPTED));
                }
            }
        }
    });
    Ok(cancel)
}
