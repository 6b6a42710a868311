//! The command line, declared with clap derive; doc comments are the help text.

use std::path::PathBuf;

use std::str::FromStr;

use clap::{Args, Parser, Subcommand};

use crate::lab::LabId;

/// Learn Prometheus by doing: every roadmap topic is a live lab you fix and get graded on.
#[derive(Debug, Parser)]
#[command(name = "promlab", version, propagate_version = true, after_help = crate::exit::HELP_TABLE)]
pub struct Cli {
    /// The command; without one, promlab says where you are and what to run next.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Where workspaces live and which seed to use.
#[derive(Debug, Clone, Args)]
pub struct WorkspaceArgs {
    /// The workspace folder (default: $PROMLAB_HOME/labs/ID, i.e. ~/promlab/labs/ID).
    #[arg(long, value_name = "DIR")]
    pub workspace: Option<PathBuf>,
}

/// promlab's commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// The roadmap: every topic, whether it has a lab, and your progress.
    List {
        /// Only this section.
        #[arg(long, value_name = "N")]
        section: Vec<u16>,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// A lab's instructions, services and checks.
    Show {
        /// The lab id, e.g. 8.3.
        id: LabId,
    },
    /// Start a lab's stack and prepare its workspace.
    Up {
        /// The lab id, e.g. 1.1.
        id: LabId,
        #[command(flatten)]
        ws: WorkspaceArgs,
        /// Seed for per-learner parameters (default: derived from your user name).
        #[arg(long)]
        seed: Option<u64>,
        /// Remove a running copy of the lab first (your workspace is kept).
        #[arg(long)]
        fresh: bool,
        /// Seconds to wait for every service to be ready.
        #[arg(long, default_value_t = 60)]
        timeout: u64,
    },
    /// What promlab runs now: labs, services, state and URLs.
    Status,
    /// Grade your work against the live stack.
    Check {
        /// The lab (default: the running lab whose workspace holds the current folder, else the
        /// only running one).
        id: Option<LabId>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// Also write a JUnit XML report.
        #[arg(long, value_name = "FILE")]
        junit: Option<PathBuf>,
    },
    /// Re-check every time you save a file in the workspace.
    Watch {
        /// The lab (default: the one whose workspace you are in, else the only running one).
        id: Option<LabId>,
    },
    /// The current hint for a lab (the same one until you ask for the next).
    Hint {
        /// The lab (default: the one whose workspace you are in, else the only running one).
        id: Option<LabId>,
        /// Move on to the following hint.
        #[arg(long, conflicts_with = "all")]
        next: bool,
        /// Every hint of the lab.
        #[arg(long)]
        all: bool,
    },
    /// Start the next lab of the roadmap.
    Next {
        /// Stop the current lab first (on a terminal promlab asks; elsewhere it keeps running).
        #[arg(long)]
        down: bool,
        /// Seconds to wait for every service to be ready.
        #[arg(long, default_value_t = 60)]
        timeout: u64,
    },
    /// Run a PromQL query on the lab's Prometheus: a table now, or charts over a range.
    Query {
        /// The PromQL expression, e.g. 'rate(demo_requests_total[1m])'.
        expr: String,
        /// The lab (default: the one whose workspace you are in, else the only running one).
        #[arg(long)]
        lab: Option<LabId>,
        /// Chart the expression over this long, ending now (e.g. 10m, 1h).
        #[arg(long, value_name = "DURATION")]
        range: Option<String>,
        /// Time between the range's points (default: one per column of the chart).
        #[arg(long, value_name = "DURATION", requires = "range")]
        step: Option<String>,
        /// Print Prometheus' result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// The lab Prometheus' scrape targets and their health (the web UI's Targets page).
    Targets {
        /// The lab (default: the one whose workspace you are in, else the only running one).
        #[arg(long)]
        lab: Option<LabId>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// The lab Prometheus' alerting rules and their state (the web UI's Alerts page).
    Alerts {
        /// The lab (default: the one whose workspace you are in, else the only running one).
        #[arg(long)]
        lab: Option<LabId>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Back up your workspace, then apply the reference solution and check it.
    Solve {
        /// The lab (default: the one whose workspace you are in, else the only running one).
        id: Option<LabId>,
    },
    /// Back up your workspace, then restore the starter files.
    Reset {
        /// The lab (default: the one whose workspace you are in, else the only running one).
        id: Option<LabId>,
        /// Reset every lab workspace under $PROMLAB_HOME.
        #[arg(long, conflicts_with = "id")]
        all: bool,
    },
    /// Show a service's container logs.
    Logs {
        /// The service, e.g. prometheus.
        service: String,
        /// The lab (default: the one whose workspace you are in, else the only running one).
        #[arg(long)]
        lab: Option<LabId>,
        /// Keep following.
        #[arg(short, long)]
        follow: bool,
        /// Only the last N lines.
        #[arg(long, value_name = "N")]
        tail: Option<usize>,
    },
    /// Inject a fault into a demo service, or clear faults.
    Fault {
        /// `clear`, or the demo service (demo-1, …).
        service: String,
        /// errors, latency, down, cardinality, churn, counter-reset.
        kind: Option<String>,
        /// Share of failing requests (errors).
        #[arg(long)]
        rate: Option<f64>,
        /// Added latency, e.g. 300ms (latency).
        #[arg(long)]
        latency: Option<String>,
        /// Clear the fault after this long, e.g. 2m.
        #[arg(long)]
        duration: Option<String>,
        /// The lab (default: the one whose workspace you are in, else the only running one).
        #[arg(long)]
        lab: Option<LabId>,
    },
    /// Remove everything promlab created for a lab: containers, network, volumes.
    Down {
        /// The lab (default: every running lab when only one runs).
        id: Option<LabId>,
        /// Every lab, including validate runs.
        #[arg(long, conflicts_with = "id")]
        all: bool,
    },
    /// Prove labs live: the starter fails, each near-miss fails, the solution passes.
    Validate {
        /// Labs to validate.
        ids: Vec<LabId>,
        /// Every lab.
        #[arg(long)]
        all: bool,
        /// Every lab of these sections.
        #[arg(long, value_name = "N")]
        section: Vec<u16>,
        /// Stacks run at once, each proving one phase at a time (default: 4 per core, at most 8:
        /// validation mostly waits on Prometheus and Alertmanager timers).
        #[arg(long)]
        jobs: Option<usize>,
        /// Validate a failed lab again up to N times; a lab that passes on a retry is
        /// reported as flaky.
        #[arg(long, default_value_t = 0)]
        retries: u32,
        /// Also write a JUnit XML report.
        #[arg(long, value_name = "FILE")]
        junit: Option<PathBuf>,
        /// Print the results as JSON (a report `--merge` and `--partition` read).
        #[arg(long)]
        json: bool,
        /// Prove only part K of N of the selected labs (`1/3`): a stable split, balanced by
        /// the phase times in compose/bench/validate-times.json when there is one.
        #[arg(long, value_name = "K/N")]
        partition: Option<Partition>,
        /// Also prove the starter, near-misses and solution on a stack whose demo looks this
        /// old (`10m`: older than the longest window the lab reads), reported as `aged:` phases
        /// (labs whose stack runs the demo workload).
        #[arg(long, value_name = "DURATION", value_parser = crate::duration::parse_age)]
        age: Option<std::time::Duration>,
        /// Merge these `--json` reports (the parts of a `--partition` run) into one, instead
        /// of validating; prints it (`--json`) or its tables, and writes `--junit`.
        #[arg(long, value_name = "FILE", num_args = 1.., conflicts_with_all = ["ids", "all", "section", "partition", "age"])]
        merge: Vec<PathBuf>,
    },
    /// Check every lab manifest, stack and images file without Docker.
    Lint,
    /// Preflight: Docker, API version, images, ports, disk.
    Doctor,
    /// Manage images.
    Images {
        /// What to do.
        #[command(subcommand)]
        action: ImagesAction,
    },
    /// Print shell completions.
    Completions {
        /// bash, zsh, fish, elvish, powershell.
        shell: clap_complete::Shell,
    },
    /// Run the built-in demo workload (used inside lab containers).
    #[command(hide = true)]
    Demo {
        /// Listen address.
        #[arg(long, default_value = "0.0.0.0:8080")]
        listen: std::net::SocketAddr,
        /// Instance name (demo-1, …).
        #[arg(long, default_value = "demo-1")]
        instance: String,
        /// Seed for the traffic pattern.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Self-generated requests per second.
        #[arg(long, default_value_t = 5.0)]
        rps: f64,
        /// Version reported by demo_build_info (default: 1.5.0 for instances
        /// whose number is a multiple of 3, else 1.4.2).
        #[arg(long)]
        app_version: Option<String>,
    },
    /// Run the built-in webhook sink (used inside lab containers).
    #[command(hide = true)]
    Sink {
        /// Listen address.
        #[arg(long, default_value = "0.0.0.0:9099")]
        listen: std::net::SocketAddr,
    },
}

/// `promlab images …`
#[derive(Debug, Subcommand)]
pub enum ImagesAction {
    /// Every image the labs use, and whether it is present.
    List,
    /// Pull every missing image (for workshops; needs a registry).
    Pull,
    /// Package this promlab binary into the demo and sink images (no registry needed).
    BuildLocal {
        /// Rebuild even when the image exists.
        #[arg(long)]
        force: bool,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn bare_command_is_accepted_and_help_still_works() {
        let cli = Cli::try_parse_from(["promlab"]).unwrap();
        assert!(cli.command.is_none());
        let cli = Cli::try_parse_from(["promlab", "check"]).unwrap();
        assert!(matches!(cli.command, Some(Command::Check { .. })));
        let help = Cli::try_parse_from(["promlab", "--help"]).unwrap_err();
        assert_eq!(help.kind(), clap::error::ErrorKind::DisplayHelp);
        assert!(help.to_string().contains("Exit codes:"), "{help}");
        let unknown = Cli::try_parse_from(["promlab", "chekc"]).unwrap_err();
        assert_eq!(unknown.exit_code(), 2);
    }

    #[test]
    fn learner_loop_commands_parse() {
        let cli = Cli::try_parse_from(["promlab", "hint", "--next"]).unwrap();
        assert!(matches!(
            cli.command,
            Some(Command::Hint {
                id: None,
                next: true,
                all: false
            })
        ));
        let cli = Cli::try_parse_from(["promlab", "hint", "4.2", "--all"]).unwrap();
        assert!(matches!(
            cli.command,
            Some(Command::Hint {
                id: Some(_),
                next: false,
                all: true
            })
        ));
        assert!(Cli::try_parse_from(["promlab", "hint", "--next", "--all"]).is_err());
        let cli = Cli::try_parse_from(["promlab", "next", "--down"]).unwrap();
        assert!(matches!(
            cli.command,
            Some(Command::Next {
                down: true,
                timeout: 60
            })
        ));
        let cli = Cli::try_parse_from([
            "promlab",
            "query",
            "rate(x[1m])",
            "--range",
            "10m",
            "--step",
            "15s",
            "--lab",
            "1.1",
        ])
        .unwrap();
        let Some(Command::Query {
            expr,
            lab,
            range,
            step,
            json,
        }) = cli.command
        else {
            panic!("not a query");
        };
        assert_eq!(
            (expr.as_str(), range.as_deref(), step.as_deref(), json),
            ("rate(x[1m])", Some("10m"), Some("15s"), false)
        );
        assert_eq!(lab.map(|l| l.to_string()).as_deref(), Some("1.1"));
        // A step without a range is a usage error.
        let err = Cli::try_parse_from(["promlab", "query", "up", "--step", "15s"]).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(matches!(
            Cli::try_parse_from(["promlab", "targets", "--json"])
                .unwrap()
                .command,
            Some(Command::Targets {
                lab: None,
                json: true
            })
        ));
        assert!(matches!(
            Cli::try_parse_from(["promlab", "alerts"]).unwrap().command,
            Some(Command::Alerts {
                lab: None,
                json: false
            })
        ));
    }

    #[test]
    fn bad_lab_id_is_a_usage_error() {
        let err = Cli::try_parse_from(["promlab", "up", "8.x"]).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("not a lab id"), "{err}");
    }
}

/// `validate --partition K/N`: part `k` of `n` (1-based); the split itself is
/// `commands::validate::partition`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partition {
    /// This part, 1..=n.
    pub k: usize,
    /// How many parts.
    pub n: usize,
}

impl FromStr for Partition {
    type Err = String;

    /// `K/N`, or nextest's spelling `count:K/N`.
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("--partition `{s}`: write K/N with 1 ≤ K ≤ N, e.g. 1/3");
        let body = s.strip_prefix("count:").unwrap_or(s);
        let (k, n) = body.split_once('/').ok_or_else(bad)?;
        let k: usize = k.trim().parse().map_err(|_| bad())?;
        let n: usize = n.trim().parse().map_err(|_| bad())?;
        if n == 0 || k == 0 || k > n {
            return Err(bad());
        }
        Ok(Partition { k, n })
    }
}

impl std::fmt::Display for Partition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.k, self.n)
    }
}
