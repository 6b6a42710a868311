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
  130  interrupted (SIGINT or SIGTERM); `up` removed what it had created";
