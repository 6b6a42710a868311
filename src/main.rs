//! The `promlab` binary: parse arguments, run, map the outcome to an exit code. A reader that
//! goes away (`promlab show 1.1 | head -1`) ends promlab quietly, as it ends other Unix tools.

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::Parser;

/// Set when printing failed because stdout or stderr was closed.
static PIPE_CLOSED: AtomicBool = AtomicBool::new(false);

/// Whether a panic message is the standard library's report of a write to a closed pipe
/// (`println!` panics with "failed printing to stdout: Broken pipe (os error 32)").
fn is_closed_pipe(message: &str) -> bool {
    message.starts_with("failed printing to std") && message.contains("Broken pipe")
}

/// Silences the panic of a write to a closed pipe (and remembers it); other panics are
/// reported as before. The panic still unwinds, so cleanup guards run.
fn quiet_closed_pipes() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if is_closed_pipe(message) {
            PIPE_CLOSED.store(true, Ordering::SeqCst);
        } else {
            default(info);
        }
    }));
}

fn main() -> ExitCode {
    quiet_closed_pipes();
    let cli = promlab::cli::Cli::parse();
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| promlab::main_with(cli))) {
        Ok(code) => ExitCode::from(code),
        Err(_) if PIPE_CLOSED.load(Ordering::SeqCst) => ExitCode::from(promlab::exit::PIPE_CLOSED),
        Err(payload) => std::panic::resume_unwind(payload),
    }
}

#[cfg(test)]
mod tests {
    use super::is_closed_pipe;

    #[test]
    fn only_a_closed_pipe_is_quiet() {
        assert!(is_closed_pipe(
            "failed printing to stdout: Broken pipe (os error 32)"
        ));
        assert!(is_closed_pipe(
            "failed printing to stderr: Broken pipe (os error 32)"
        ));
        assert!(!is_closed_pipe(
            "failed printing to stdout: No space left on device"
        ));
        assert!(!is_closed_pipe("index out of bounds"));
    }
}
