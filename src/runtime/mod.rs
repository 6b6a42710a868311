//! The container runtime in promlab's terms: plans, owned containers, errors. `docker.rs`
//! is the only file that talks to Docker (bollard); `plan.rs` turns a lab into plans.

pub mod cancel;
pub mod docker;
pub mod lock;
pub mod plan;
pub mod up;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// Label marking everything promlab creates.
pub const LABEL_MANAGED: &str = "io.promlab.managed";
/// Label: the lab id.
pub const LABEL_LAB: &str = "io.promlab.lab";
/// Label: the project (one running copy of a lab: `promlab-8-3`, or a validate run's).
pub const LABEL_PROJECT: &str = "io.promlab.project";
/// Label: the service name.
pub const LABEL_SERVICE: &str = "io.promlab.service";
/// Label: the workspace folder.
pub const LABEL_WORKSPACE: &str = "io.promlab.workspace";
/// Label: the service's main container port.
pub const LABEL_PORT: &str = "io.promlab.port";
/// Label: the service's readiness path.
pub const LABEL_READY: &str = "io.promlab.ready";
/// Label: the service's reload path.
pub const LABEL_RELOAD: &str = "io.promlab.reload";
/// Label: the service's role (prometheus, alertmanager, demo, sink, …).
pub const LABEL_ROLE: &str = "io.promlab.role";
/// Label: workspace folders bound into the service, comma-separated, relative.
pub const LABEL_BINDS: &str = "io.promlab.binds";
/// Label: workspace files whose change needs a restart, not a reload, comma-separated.
pub const LABEL_RESTART_ON: &str = "io.promlab.restart-on";
/// Label: the service may serve HTTPS on its main port (promlab detects the scheme).
pub const LABEL_TLS: &str = "io.promlab.tls";
/// Label: the per-learner seed the lab was started with.
pub const LABEL_SEED: &str = "io.promlab.seed";

/// One container to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerPlan {
    /// Container name (`promlab-8-3-prometheus`).
    pub name: String,
    /// Service name; also its DNS alias on the lab network.
    pub service: String,
    /// Logical image name.
    pub logical_image: String,
    /// Resolved image reference.
    pub image: String,
    /// Entrypoint override.
    pub entrypoint: Option<Vec<String>>,
    /// Arguments.
    pub cmd: Vec<String>,
    /// `KEY=value` pairs.
    pub env: Vec<String>,
    /// Labels (ownership and promlab facts).
    pub labels: BTreeMap<String, String>,
    /// Published ports.
    pub ports: Vec<PortPlan>,
    /// Workspace folders bound in.
    pub binds: Vec<BindPlan>,
    /// Named volumes mounted.
    pub volumes: Vec<VolumePlan>,
    /// The lab network.
    pub network: String,
    /// User override.
    pub user: Option<String>,
    /// Readiness probe, if the service has one.
    pub ready: Option<ReadyProbe>,
    /// Services that must be started first.
    pub depends_on: Vec<String>,
    /// Docker healthcheck: test, interval, timeout, retries.
    pub healthcheck: Option<(Vec<String>, Duration, Duration, u32)>,
}

/// A published port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortPlan {
    /// Container port.
    pub container: u16,
    /// Host port on 127.0.0.1 (0 = ephemeral).
    pub host: u16,
}

/// A bind mount of a workspace folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindPlan {
    /// Absolute host path.
    pub host: PathBuf,
    /// Container path.
    pub target: String,
    /// Read-only.
    pub read_only: bool,
}

/// A named volume mount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumePlan {
    /// Full volume name (`promlab-8-3-data`).
    pub name: String,
    /// Container path.
    pub target: String,
}

/// An HTTP readiness probe on a container port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadyProbe {
    /// Container port.
    pub port: u16,
    /// Path answering 2xx when ready.
    pub path: String,
}

/// A whole lab stack to create.
#[derive(Debug, Clone)]
pub struct StackPlan {
    /// Project name (`promlab-8-3`).
    pub project: String,
    /// Network name.
    pub network: String,
    /// Labels on the network and volumes.
    pub labels: BTreeMap<String, String>,
    /// Named volumes to create.
    pub volumes: Vec<String>,
    /// Containers, in dependency order.
    pub containers: Vec<ContainerPlan>,
}

/// A container promlab owns, as Docker reports it.
#[derive(Debug, Clone)]
pub struct Owned {
    /// Container id.
    pub id: String,
    /// Container name.
    pub name: String,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
    /// What Docker says the container is doing.
    pub state: ContainerState,
    /// Docker's status line (`Up 3 minutes`).
    pub status: String,
    /// Published ports: (container port, host ip, host port).
    pub ports: Vec<(u16, String, u16)>,
}

/// A container's state as Docker reports it (`docker ps`'s STATE column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerState {
    /// Created, never started.
    Created,
    /// Running.
    Running,
    /// Paused.
    Paused,
    /// Being restarted.
    Restarting,
    /// Being removed.
    Removing,
    /// Stopped.
    Exited,
    /// Failed to stop or be removed.
    Dead,
    /// A state this promlab does not know (a newer engine's).
    Unknown,
}

impl ContainerState {
    /// The state Docker names `s` (`running`, `exited`, …).
    pub fn parse(s: &str) -> Self {
        match s {
            "created" => Self::Created,
            "running" => Self::Running,
            "paused" => Self::Paused,
            "restarting" => Self::Restarting,
            "removing" => Self::Removing,
            "exited" => Self::Exited,
            "dead" => Self::Dead,
            _ => Self::Unknown,
        }
    }

    /// Docker's name for it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Running => "running",
            Self::Paused => "paused",
            Self::Restarting => "restarting",
            Self::Removing => "removing",
            Self::Exited => "exited",
            Self::Dead => "dead",
            Self::Unknown => "unknown",
        }
    }
}

impl std::fmt::Display for ContainerState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

impl Owned {
    /// A label's value, or "".
    pub fn label(&self, key: &str) -> &str {
        self.labels.get(key).map_or("", String::as_str)
    }

    /// A comma-separated label's items (none when absent).
    pub fn label_list(&self, key: &str) -> Vec<String> {
        self.label(key)
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    }

    /// The service name.
    pub fn service(&self) -> &str {
        self.label(LABEL_SERVICE)
    }

    /// The project name.
    pub fn project(&self) -> &str {
        self.label(LABEL_PROJECT)
    }

    /// The host port published for a container port.
    pub fn host_port(&self, container_port: u16) -> Option<u16> {
        self.ports.iter().find(|p| p.0 == container_port).map(|p| p.2)
    }

    /// The base URL of the service's main port on the host.
    pub fn url(&self) -> Option<String> {
        let port: u16 = self.label(LABEL_PORT).parse().ok()?;
        let host = self.host_port(port)?;
        Some(format!("http://127.0.0.1:{host}"))
    }
}

/// A container runtime failure.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// Docker cannot be reached.
    #[error("cannot reach Docker ({detail}): is the Docker engine running? `docker info` tells")]
    Unreachable {
        /// What the client said.
        detail: String,
    },
    /// An image is not present and could not be pulled.
    #[error(
        "image {image} is not present and cannot be pulled ({detail}); without a registry, `make images` builds the images of every offline lab and PROMLAB_IMAGES=compose/images.local.yaml selects them (online-only labs need a registry)"
    )]
    ImageMissing {
        /// The image reference.
        image: String,
        /// What the pull said.
        detail: String,
    },
    /// A name is taken by something promlab does not own.
    #[error(
        "{what} `{name}` already exists and promlab does not own it: remove it with `docker rm -f {name}` or pick another lab"
    )]
    Conflict {
        /// container, network, volume.
        what: &'static str,
        /// The name.
        name: String,
    },
    /// A Docker API call failed.
    #[error("docker could not {action}: {detail}")]
    Api {
        /// What promlab asked for.
        action: String,
        /// What Docker said.
        detail: String,
    },
    /// A container stopped while promlab waited for it.
    #[error("service `{service}` exited while starting (exit code {code}); its last log lines:\n{logs}")]
    Exited {
        /// The service.
        service: String,
        /// Exit code.
        code: i64,
        /// The tail of its logs.
        logs: String,
    },
    /// A service did not become ready in time.
    #[error(
        "service `{service}` was not ready after {waited:?} ({last}); `promlab logs {service}` shows why"
    )]
    NotReady {
        /// The service.
        service: String,
        /// How long promlab waited.
        waited: Duration,
        /// The last probe result.
        last: String,
    },
    /// A signal (SIGINT, SIGTERM) stopped the command; the caller removes what it created.
    #[error("interrupted")]
    Interrupted,
    /// A signal stopped `up`; says what was removed and what is left.
    #[error("interrupted by {signal}: {outcome}")]
    Stopped {
        /// SIGINT or SIGTERM.
        signal: String,
        /// What promlab did about it.
        outcome: String,
    },
    /// Removal left objects behind.
    #[error(
        "could not remove everything of {project}: {left} remain ({detail}); `docker ps -a --filter label=io.promlab.project={project}` shows them and `promlab down` removes them"
    )]
    NotRemoved {
        /// The project.
        project: String,
        /// What is left, counted.
        left: String,
        /// The last error.
        detail: String,
    },
}
