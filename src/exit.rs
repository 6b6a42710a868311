//! Named exit codes, documented in `--help`.

/// Success; for `check`, every check passed.
pub const OK: u8 = 0;
/// `check`/`validate` ran and something failed (the learner's work is pending).
pub const CHECKS_FAILED: u8 = 1;
/// Usage error (clap's own code).
pub const USAGE: u8 = 2;
/// A lab, manifest, stack or learner file is invalid, or the lab id is unknown; `lint` found problems.
pub const LAB_INVALID: u8 = 3;
/// The container runtime is unavailable, an image is missing, or a container failed.
pub const RUNTIME: u8 = 4;
/// A service did not become ready in time, or the lab is not running (or still starting).
pub const NOT_READY: u8 = 5;
/// A workspace or file problem: a folder that cannot be a workspace, a link leaving it, a file
/// that cannot be read or written.
pub const WORKSPACE: u8 = 6;

/// Output was cut short because its reader went away (`promlab show 1.1 | head -1`): 128 +
/// SIGPIPE, as for other Unix tools.
pub const PIPE_CLOSED: u8 = 141;

/// SIGINT or SIGTERM stopped the command (128 + SIGINT, as shells report it).
pub const INTERRUPTED: u8 = 130;

/// The table printed after `--help`.
pub const HELP_TABLE: &str = "Exit codes:
  0  success (check: every check passed)
  1  check or validate ran and at least one check failed
  2  usage error
  3  invalid lab, manifest, stack or file; unknown lab id; lint problems
  4  Docker unreachable, image missing, container failed
  5  a service was not ready in time; the lab is not running (`promlab up ID`) or still starting
  6  workspace or file problem: a folder that cannot be a workspace, a link leaving it,
     a file that cannot be read or written
  130  interrupted (SIGINT or SIGTERM); `up` removed what it had created
  141  the output's reader went away (e.g. `| head`); promlab stopped quietly";

#[cfg(test)]
mod tests {
    #[test]
    fn help_table_and_readme_name_every_code() {
        let readme = include_str!("../README.md").replace('\n', " ");
        let code = super::WORKSPACE;
        let what = "workspace or file problem";
        assert!(super::HELP_TABLE.contains(&format!("  {code}  {what}")));
        assert!(
            readme.contains(&format!("{code} {what}")),
            "README's exit codes miss {code}"
        );
        for code in [
            super::OK,
            super::CHECKS_FAILED,
            super::USAGE,
            super::LAB_INVALID,
            super::RUNTIME,
            super::NOT_READY,
            super::WORKSPACE,
            super::PIPE_CLOSED,
            super::INTERRUPTED,
        ] {
            assert!(super::HELP_TABLE.contains(&format!("\n  {code}  ")), "{code}");
        }
    }
}
