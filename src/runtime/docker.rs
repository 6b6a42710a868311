//! The only module that speaks Docker (bollard). It maps promlab plans to Engine API calls
//! and Docker's errors to `RuntimeError`s that say what to do.

use std::collections::HashMap;

use bollard::errors::Error as BollardError;
use bollard::models::{
    ContainerCreateBody, EndpointSettings, HealthConfig, HostConfig, Mount, MountType, MountVolumeOptions,
    NetworkCreateRequest, NetworkingConfig, PortBinding, VolumeCreateRequest,
};
use bollard::query_parameters::{
    CreateContainerOptions, CreateImageOptions, ListContainersOptions, ListNetworksOptions,
    ListVolumesOptions, LogsOptions, RemoveContainerOptions, RemoveVolumeOptions, RestartContainerOptions,
    StopContainerOptions,
};
use futures::{Stream, StreamExt};

use super::{
    ContainerPlan, LABEL_LAB, LABEL_MANAGED, LABEL_PROJECT, LABEL_SEED, LABEL_WORKSPACE, Owned, RuntimeError,
};

/// The labels a volume made for a container's mount carries: the stack's, not the service's.
const VOLUME_LABELS: [&str; 5] = [
    LABEL_MANAGED,
    LABEL_LAB,
    LABEL_PROJECT,
    LABEL_WORKSPACE,
    LABEL_SEED,
];

/// A connected Docker client.
#[derive(Debug, Clone)]
pub struct Docker {
    inner: bollard::Docker,
}

/// Pull progress: (layer id, status, current bytes, total bytes).
pub type PullEvent = (String, String, Option<u64>, Option<u64>);

/// What `remove` removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Removed {
    /// Containers removed.
    pub containers: usize,
    /// Networks removed.
    pub networks: usize,
    /// Volumes removed.
    pub volumes: usize,
}

impl Removed {
    /// Whether every count is zero.
    pub fn is_empty(&self) -> bool {
        self.containers == 0 && self.networks == 0 && self.volumes == 0
    }

    /// Adds another count to this one.
    pub fn add(&mut self, other: Removed) {
        self.containers += other.containers;
        self.networks += other.networks;
        self.volumes += other.volumes;
    }
}

impl std::fmt::Display for Removed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = |k: usize, what: &str| format!("{k} {what}{}", if k == 1 { "" } else { "s" });
        write!(
            f,
            "{}, {}, {}",
            n(self.containers, "container"),
            n(self.networks, "network"),
            n(self.volumes, "volume")
        )
    }
}

/// Output of a command run in a container.
#[derive(Debug, Clone, Default)]
pub struct ExecOutput {
    /// Exit code.
    pub exit_code: i64,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

fn api(action: impl Into<String>) -> impl FnOnce(BollardError) -> RuntimeError {
    let action = action.into();
    move |e| classify(&action, e)
}

fn classify(action: &str, e: BollardError) -> RuntimeError {
    match e {
        BollardError::DockerResponseServerError { message, .. } => RuntimeError::Api {
            action: action.to_string(),
            detail: message,
        },
        BollardError::HyperResponseError { .. }
        | BollardError::IOError { .. }
        | BollardError::SocketNotFoundError(_) => RuntimeError::Unreachable {
            detail: e.to_string(),
        },
        other => RuntimeError::Api {
            action: action.to_string(),
            detail: other.to_string(),
        },
    }
}

fn status_of(e: &BollardError) -> Option<u16> {
    match e {
        BollardError::DockerResponseServerError { status_code, .. } => Some(*status_code),
        _ => None,
    }
}

fn label_filter(labels: &[(&str, &str)]) -> HashMap<String, Vec<String>> {
    let mut f = HashMap::new();
    let mut values = vec![format!("{LABEL_MANAGED}=true")];
    values.extend(labels.iter().map(|(k, v)| format!("{k}={v}")));
    f.insert("label".to_string(), values);
    f
}

/// Where the Docker client connects, and why there (shown when the engine cannot be reached).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `unix:///var/run/docker.sock`, `tcp://host:2376`, `ssh://user@host`, …
    pub host: String,
    /// Where the address came from: `DOCKER_HOST`, `docker context NAME`, or the default.
    pub source: String,
    /// Client TLS material (ca.pem, cert.pem, key.pem) for a TLS endpoint.
    pub tls: Option<std::path::PathBuf>,
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} from {}", self.host, self.source)
    }
}

/// The engine address when nothing names another.
const DEFAULT_HOST: &str = "unix:///var/run/docker.sock";

/// Chooses the engine endpoint as the docker CLI does: `DOCKER_HOST`, else the context named
/// by `DOCKER_CONTEXT`, else the config's `currentContext`, else the local socket. TLS for a
/// `tcp://` host when `DOCKER_TLS_VERIFY` is set (certificates in `DOCKER_CERT_PATH`, else
/// the config folder). `env` reads a variable; `config_dir` is `$DOCKER_CONFIG` or `~/.docker`.
pub fn endpoint_from(
    env: &dyn Fn(&str) -> Option<String>,
    config_dir: Option<&std::path::Path>,
) -> Result<Endpoint, String> {
    let var = |k: &str| env(k).filter(|v| !v.is_empty());
    let env_tls = || {
        var("DOCKER_TLS_VERIFY").map(|_| {
            var("DOCKER_CERT_PATH")
                .map(std::path::PathBuf::from)
                .or_else(|| config_dir.map(std::path::Path::to_path_buf))
                .unwrap_or_default()
        })
    };
    if let Some(host) = var("DOCKER_HOST") {
        let tls = if host.starts_with("https://") {
            env_tls().or_else(|| config_dir.map(std::path::Path::to_path_buf))
        } else {
            env_tls()
        };
        return Ok(Endpoint {
            host,
            source: "DOCKER_HOST".to_string(),
            tls,
        });
    }
    let default = || Endpoint {
        host: DEFAULT_HOST.to_string(),
        source: "the default socket".to_string(),
        tls: None,
    };
    let Some(dir) = config_dir else {
        return Ok(default());
    };
    let context = match var("DOCKER_CONTEXT") {
        Some(c) => c,
        None => {
            let path = dir.join("config.json");
            let Ok(text) = std::fs::read_to_string(&path) else {
                return Ok(default());
            };
            let doc: serde_json::Value = serde_json::from_str(&text)
                .map_err(|e| format!("{} is not valid JSON ({e})", path.display()))?;
            match doc.get("currentContext").and_then(serde_json::Value::as_str) {
                Some(c) if !c.is_empty() => c.to_string(),
                _ => return Ok(default()),
            }
        }
    };
    if context == "default" {
        return Ok(default());
    }
    let id = {
        use sha2::{Digest, Sha256};
        Sha256::digest(context.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    let meta = dir.join("contexts/meta").join(&id).join("meta.json");
    let text = std::fs::read_to_string(&meta).map_err(|e| {
        format!(
            "docker context `{context}` has no readable {} ({e}): `docker context ls` lists the contexts",
            meta.display()
        )
    })?;
    let doc: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{} is not valid JSON ({e})", meta.display()))?;
    let host = doc
        .pointer("/Endpoints/docker/Host")
        .and_then(serde_json::Value::as_str)
        .filter(|h| !h.is_empty())
        .ok_or_else(|| format!("{} names no Endpoints.docker.Host", meta.display()))?
        .to_string();
    let tls_dir = dir.join("contexts/tls").join(&id).join("docker");
    let tls = tls_dir.join("ca.pem").is_file().then_some(tls_dir);
    Ok(Endpoint {
        host,
        source: format!("docker context `{context}`"),
        tls,
    })
}

/// The endpoint of this process's environment (see `endpoint_from`).
fn endpoint() -> Result<Endpoint, RuntimeError> {
    let config = std::env::var_os("DOCKER_CONFIG")
        .filter(|v| !v.is_empty())
        .map(std::path::PathBuf::from)
        .or_else(|| dirs::home_dir().map(|h| h.join(".docker")));
    endpoint_from(&|k| std::env::var(k).ok(), config.as_deref())
        .map_err(|detail| RuntimeError::Unreachable { detail })
}

/// The most specific cause of an error ("Connection refused (os error 111)", not "client error").
fn innermost(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// A client for an endpoint (no request made yet).
fn client_for(ep: &Endpoint) -> Result<bollard::Docker, RuntimeError> {
    let timeout = 120;
    let version = bollard::API_DEFAULT_VERSION;
    let h = ep.host.as_str();
    let made = if h.starts_with("unix://") {
        bollard::Docker::connect_with_unix(h, timeout, version)
    } else if h.starts_with("ssh://") {
        bollard::Docker::connect_with_ssh(h, timeout, version, None)
    } else if h.starts_with("tcp://") || h.starts_with("http://") || h.starts_with("https://") {
        match &ep.tls {
            Some(dir) => bollard::Docker::connect_with_ssl(
                h,
                &dir.join("key.pem"),
                &dir.join("cert.pem"),
                &dir.join("ca.pem"),
                timeout,
                version,
            ),
            None => bollard::Docker::connect_with_http(h, timeout, version),
        }
    } else {
        return Err(RuntimeError::Unreachable {
            detail: format!(
                "{ep} is not an address promlab can use: unix://, tcp://, https:// and ssh:// are"
            ),
        });
    };
    made.map_err(|e| RuntimeError::Unreachable {
        detail: format!("{ep}: {}", innermost(&e)),
    })
}

impl Docker {
    /// Connects to the engine the docker CLI would use (`DOCKER_HOST`, `DOCKER_CONTEXT`, the
    /// current context, else the local socket) and negotiates the API version (engines as old
    /// as 1.41). An engine that does not answer is an error naming the address tried.
    pub async fn connect() -> Result<Self, RuntimeError> {
        let ep = endpoint()?;
        let unreachable = |e: BollardError| RuntimeError::Unreachable {
            detail: format!("{ep}: {}", innermost(&e)),
        };
        let d = client_for(&ep)?.negotiate_version().await.map_err(unreachable)?;
        d.ping().await.map_err(unreachable)?;
        Ok(Self { inner: d })
    }

    /// A client for the engine `connect` would use that has not talked to it yet: for grading
    /// runs whose checks never reach Docker (the grader's own tests). Any call fails as
    /// `connect` would.
    pub fn unconnected() -> Result<Self, RuntimeError> {
        Ok(Self {
            inner: client_for(&endpoint()?)?,
        })
    }

    /// The engine's version and API version.
    pub async fn version(&self) -> Result<(String, String), RuntimeError> {
        let v = self.inner.version().await.map_err(api("read its version"))?;
        Ok((v.version.unwrap_or_default(), v.api_version.unwrap_or_default()))
    }

    /// Whether an image is present locally.
    pub async fn image_present(&self, image: &str) -> Result<bool, RuntimeError> {
        match self.inner.inspect_image(image).await {
            Ok(_) => Ok(true),
            Err(e) if status_of(&e) == Some(404) => Ok(false),
            Err(e) => Err(classify(&format!("inspect image {image}"), e)),
        }
    }

    /// A label of an image, if the image exists and has it.
    pub async fn image_label(&self, image: &str, label: &str) -> Result<Option<String>, RuntimeError> {
        match self.inner.inspect_image(image).await {
            Ok(i) => Ok(i
                .config
                .and_then(|c| c.labels)
                .and_then(|l| l.get(label).cloned())),
            Err(e) if status_of(&e) == Some(404) => Ok(None),
            Err(e) => Err(classify(&format!("inspect image {image}"), e)),
        }
    }

    /// Pulls an image, reporting progress.
    pub async fn pull(&self, image: &str, mut progress: impl FnMut(PullEvent)) -> Result<(), RuntimeError> {
        let opts = CreateImageOptions {
            from_image: Some(image.to_string()),
            ..Default::default()
        };
        let mut stream = self.inner.create_image(Some(opts), None, None);
        while let Some(item) = stream.next().await {
            match item {
                Ok(info) => {
                    let pd = info.progress_detail.unwrap_or_default();
                    progress((
                        info.id.unwrap_or_default(),
                        info.status.unwrap_or_default(),
                        pd.current.and_then(|c| u64::try_from(c).ok()),
                        pd.total.and_then(|c| u64::try_from(c).ok()),
                    ));
                }
                Err(e) => {
                    return Err(RuntimeError::ImageMissing {
                        image: image.to_string(),
                        detail: first_line(&e.to_string()),
                    });
                }
            }
        }
        Ok(())
    }

    /// Imports a root filesystem tarball as an image (`docker import`), with Dockerfile-style
    /// `changes` such as `ENTRYPOINT ["/promlab"]`.
    pub async fn import_rootfs(
        &self,
        tar: std::fs::File,
        repo: &str,
        tag: &str,
        changes: Vec<String>,
    ) -> Result<(), RuntimeError> {
        let opts = CreateImageOptions {
            from_src: Some("-".to_string()),
            repo: Some(repo.to_string()),
            tag: Some(tag.to_string()),
            changes,
            ..Default::default()
        };
        // Streamed from the file in chunks: the archive is never whole in memory.
        let body =
            bollard::body_try_stream(tokio_util::io::ReaderStream::new(tokio::fs::File::from_std(tar)));
        let mut stream = self.inner.create_image(Some(opts), Some(body), None);
        while let Some(item) = stream.next().await {
            item.map_err(api(format!("import image {repo}:{tag}")))?;
        }
        Ok(())
    }

    /// Creates the lab network, or reuses the one promlab already made for this project
    /// (found by label, so a second network of the same name is never made). Returns whether
    /// it was created.
    pub async fn ensure_network(
        &self,
        name: &str,
        labels: &std::collections::BTreeMap<String, String>,
    ) -> Result<bool, RuntimeError> {
        let project = labels.get(LABEL_PROJECT).map_or("", String::as_str);
        let mine = self.owned_networks(&[(LABEL_PROJECT, project)]).await?;
        if mine.iter().any(|(_, n)| n == name) {
            return Ok(false);
        }
        // The engine (before API 1.44) accepts a second network of a taken name; a name
        // taken by someone else's network would then be ambiguous for every container.
        match self
            .inner
            .inspect_network(name, None::<bollard::query_parameters::InspectNetworkOptions>)
            .await
        {
            Ok(_) => {
                return Err(RuntimeError::Conflict {
                    what: "network",
                    name: name.to_string(),
                });
            }
            Err(e) if status_of(&e) == Some(404) => {}
            Err(e) => return Err(classify(&format!("inspect network {name}"), e)),
        }
        let req = NetworkCreateRequest {
            name: name.to_string(),
            driver: Some("bridge".to_string()),
            labels: Some(labels.clone().into_iter().collect()),
            ..Default::default()
        };
        match self.inner.create_network(req).await {
            Ok(_) => Ok(true),
            Err(e) if status_of(&e) == Some(409) => Err(RuntimeError::Conflict {
                what: "network",
                name: name.to_string(),
            }),
            Err(e) => Err(classify(&format!("create network {name}"), e)),
        }
    }

    /// Creates a labelled named volume (idempotent).
    pub async fn ensure_volume(
        &self,
        name: &str,
        labels: &std::collections::BTreeMap<String, String>,
    ) -> Result<(), RuntimeError> {
        let req = VolumeCreateRequest {
            name: Some(name.to_string()),
            labels: Some(labels.clone().into_iter().collect()),
            ..Default::default()
        };
        self.inner
            .create_volume(req)
            .await
            .map(|_| ())
            .map_err(api(format!("create volume {name}")))
    }

    /// Creates one container from its plan; returns its id.
    pub async fn create(&self, plan: &ContainerPlan) -> Result<String, RuntimeError> {
        let mut port_bindings: HashMap<String, Option<Vec<PortBinding>>> = HashMap::new();
        let mut exposed = Vec::new();
        for p in &plan.ports {
            let key = format!("{}/tcp", p.container);
            exposed.push(key.clone());
            port_bindings.insert(
                key,
                Some(vec![PortBinding {
                    host_ip: Some("127.0.0.1".to_string()),
                    host_port: Some(if p.host == 0 {
                        String::new()
                    } else {
                        p.host.to_string()
                    }),
                }]),
            );
        }
        let mut mounts: Vec<Mount> = plan
            .binds
            .iter()
            .map(|b| Mount {
                target: Some(b.target.clone()),
                source: Some(b.host.display().to_string()),
                typ: Some(MountType::BIND),
                read_only: Some(b.read_only),
                ..Default::default()
            })
            .collect();
        // Labelled here too: should the engine create the volume for this mount (it was not
        // made beforehand), it is still promlab's and `down` finds it.
        let volume_labels: HashMap<String, String> = plan
            .labels
            .iter()
            .filter(|(k, _)| VOLUME_LABELS.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        mounts.extend(plan.volumes.iter().map(|v| Mount {
            target: Some(v.target.clone()),
            source: Some(v.name.clone()),
            typ: Some(MountType::VOLUME),
            read_only: Some(false),
            volume_options: Some(MountVolumeOptions {
                labels: Some(volume_labels.clone()),
                ..Default::default()
            }),
            ..Default::default()
        }));
        let mut endpoints = HashMap::new();
        endpoints.insert(
            plan.network.clone(),
            EndpointSettings {
                aliases: Some(vec![plan.service.clone()]),
                ..Default::default()
            },
        );
        let nanos = |d: std::time::Duration| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX);
        let body = ContainerCreateBody {
            image: Some(plan.image.clone()),
            hostname: Some(plan.service.clone()),
            cmd: if plan.cmd.is_empty() {
                None
            } else {
                Some(plan.cmd.clone())
            },
            entrypoint: plan.entrypoint.clone(),
            env: Some(plan.env.clone()),
            user: plan.user.clone(),
            labels: Some(plan.labels.clone().into_iter().collect()),
            exposed_ports: Some(exposed),
            healthcheck: plan.healthcheck.as_ref().map(|(test, i, t, r)| HealthConfig {
                test: Some(test.clone()),
                interval: Some(nanos(*i)),
                timeout: Some(nanos(*t)),
                retries: Some(i64::from(*r)),
                ..Default::default()
            }),
            host_config: Some(HostConfig {
                port_bindings: Some(port_bindings),
                mounts: Some(mounts),
                network_mode: Some(plan.network.clone()),
                init: Some(true),
                ..Default::default()
            }),
            networking_config: Some(NetworkingConfig {
                endpoints_config: Some(endpoints),
            }),
            ..Default::default()
        };
        let opts = CreateContainerOptions {
            name: Some(plan.name.clone()),
            ..Default::default()
        };
        match self.inner.create_container(Some(opts), body).await {
            Ok(r) => Ok(r.id),
            Err(e) if status_of(&e) == Some(409) => Err(RuntimeError::Conflict {
                what: "container",
                name: plan.name.clone(),
            }),
            Err(e) if status_of(&e) == Some(404) => Err(RuntimeError::ImageMissing {
                image: plan.image.clone(),
                detail: "not found locally".to_string(),
            }),
            Err(e) => Err(classify(&format!("create container {}", plan.name), e)),
        }
    }

    /// Starts a container.
    pub async fn start(&self, id: &str) -> Result<(), RuntimeError> {
        self.inner
            .start_container(id, None::<bollard::query_parameters::StartContainerOptions>)
            .await
            .map_err(api(format!("start container {id}")))
    }

    /// Stops a container (10 s grace).
    pub async fn stop(&self, id: &str) -> Result<(), RuntimeError> {
        let opts = StopContainerOptions {
            t: Some(10),
            ..Default::default()
        };
        match self.inner.stop_container(id, Some(opts)).await {
            Ok(()) => Ok(()),
            Err(e) if status_of(&e) == Some(304) => Ok(()),
            Err(e) => Err(classify(&format!("stop container {id}"), e)),
        }
    }

    /// Restarts a container.
    pub async fn restart(&self, id: &str) -> Result<(), RuntimeError> {
        let opts = RestartContainerOptions {
            t: Some(10),
            ..Default::default()
        };
        self.inner
            .restart_container(id, Some(opts))
            .await
            .map_err(api(format!("restart container {id}")))
    }

    /// Whether a container runs, and its exit code when it does not.
    pub async fn state(&self, id: &str) -> Result<(bool, i64), RuntimeError> {
        let c = self
            .inner
            .inspect_container(id, None::<bollard::query_parameters::InspectContainerOptions>)
            .await
            .map_err(api(format!("inspect container {id}")))?;
        let s = c.state.unwrap_or_default();
        Ok((s.running.unwrap_or(false), s.exit_code.unwrap_or(0)))
    }

    /// The full inspect document of a container, as JSON (for `container` checks).
    pub async fn inspect_json(&self, id: &str) -> Result<serde_json::Value, RuntimeError> {
        let c = self
            .inner
            .inspect_container(id, None::<bollard::query_parameters::InspectContainerOptions>)
            .await
            .map_err(api(format!("inspect container {id}")))?;
        serde_json::to_value(c).map_err(|e| RuntimeError::Api {
            action: format!("read container {id}"),
            detail: e.to_string(),
        })
    }

    /// Containers promlab owns that carry all these labels (running or not).
    pub async fn owned(&self, labels: &[(&str, &str)]) -> Result<Vec<Owned>, RuntimeError> {
        let opts = ListContainersOptions {
            all: true,
            filters: Some(label_filter(labels)),
            ..Default::default()
        };
        let list = self
            .inner
            .list_containers(Some(opts))
            .await
            .map_err(api("list containers"))?;
        let mut out: Vec<Owned> = list
            .into_iter()
            .map(|c| Owned {
                id: c.id.unwrap_or_default(),
                name: c
                    .names
                    .and_then(|n| n.first().cloned())
                    .unwrap_or_default()
                    .trim_start_matches('/')
                    .to_string(),
                labels: c.labels.unwrap_or_default().into_iter().collect(),
                state: c.state.map(|s| s.to_string()).unwrap_or_default(),
                status: c.status.unwrap_or_default(),
                ports: c
                    .ports
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|p| Some((p.private_port, p.ip.unwrap_or_default(), p.public_port?)))
                    .collect(),
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// The host ports a container publishes now: (container port, host port).
    pub async fn published_ports(&self, id: &str) -> Result<Vec<(u16, u16)>, RuntimeError> {
        let v = self.inspect_json(id).await?;
        let mut out = Vec::new();
        if let Some(map) = v.pointer("/NetworkSettings/Ports").and_then(|p| p.as_object()) {
            for (key, binds) in map {
                let Some(cport) = key.split('/').next().and_then(|p| p.parse().ok()) else {
                    continue;
                };
                for b in binds.as_array().into_iter().flatten() {
                    if let Some(h) = b
                        .get("HostPort")
                        .and_then(|h| h.as_str())
                        .and_then(|h| h.parse().ok())
                    {
                        out.push((cport, h));
                    }
                }
            }
        }
        Ok(out)
    }

    /// Promlab-owned networks with these labels, as Docker lists them.
    async fn networks_labelled(
        &self,
        labels: &[(&str, &str)],
    ) -> Result<Vec<bollard::models::Network>, RuntimeError> {
        let opts = ListNetworksOptions {
            filters: Some(label_filter(labels)),
        };
        self.inner
            .list_networks(Some(opts))
            .await
            .map_err(api("list networks"))
    }

    /// Promlab-owned volumes with these labels, as Docker lists them.
    async fn volumes_labelled(
        &self,
        labels: &[(&str, &str)],
    ) -> Result<Vec<bollard::models::Volume>, RuntimeError> {
        let opts = ListVolumesOptions {
            filters: Some(label_filter(labels)),
        };
        let list = self
            .inner
            .list_volumes(Some(opts))
            .await
            .map_err(api("list volumes"))?;
        Ok(list.volumes.unwrap_or_default())
    }

    /// Promlab-owned networks with these labels: (id, name).
    pub async fn owned_networks(
        &self,
        labels: &[(&str, &str)],
    ) -> Result<Vec<(String, String)>, RuntimeError> {
        Ok(self
            .networks_labelled(labels)
            .await?
            .into_iter()
            .filter_map(|n| Some((n.id?, n.name.unwrap_or_default())))
            .collect())
    }

    /// Names of promlab-owned volumes with these labels.
    pub async fn owned_volumes(&self, labels: &[(&str, &str)]) -> Result<Vec<String>, RuntimeError> {
        Ok(self
            .volumes_labelled(labels)
            .await?
            .into_iter()
            .map(|v| v.name)
            .collect())
    }

    /// Removes a container (forced, with its anonymous volumes). Gone already is fine.
    pub async fn remove_container(&self, id: &str) -> Result<(), RuntimeError> {
        let opts = RemoveContainerOptions {
            force: true,
            v: true,
            ..Default::default()
        };
        match self.inner.remove_container(id, Some(opts)).await {
            Ok(()) => Ok(()),
            Err(e) if status_of(&e) == Some(404) => Ok(()),
            Err(e) if status_of(&e) == Some(409) => Ok(()),
            Err(e) => Err(classify(&format!("remove container {id}"), e)),
        }
    }

    /// Removes everything promlab owns with these labels: containers, then networks and
    /// volumes, each by id (a network name may be ambiguous). Idempotent.
    pub async fn remove_all(&self, labels: &[(&str, &str)]) -> Result<Removed, RuntimeError> {
        let containers = self.owned(labels).await?;
        let removals = containers.iter().map(|c| self.remove_container(&c.id));
        for r in futures::future::join_all(removals).await {
            r?;
        }
        let mut removed = Removed {
            containers: containers.len(),
            ..Removed::default()
        };
        for (id, name) in self.owned_networks(labels).await? {
            match self.inner.remove_network(&id).await {
                Ok(()) => removed.networks += 1,
                Err(e) if status_of(&e) == Some(404) => {}
                Err(e) => return Err(classify(&format!("remove network {name} ({id})"), e)),
            }
        }
        for v in self.owned_volumes(labels).await? {
            let opts = RemoveVolumeOptions { force: true };
            match self.inner.remove_volume(&v, Some(opts)).await {
                Ok(()) => removed.volumes += 1,
                Err(e) if status_of(&e) == Some(404) => {}
                Err(e) => return Err(classify(&format!("remove volume {v}"), e)),
            }
        }
        Ok(removed)
    }

    /// The (lab, project) labels of every network and volume promlab owns: what an `up`
    /// killed before its containers existed can leave behind.
    pub async fn leftover_projects(
        &self,
    ) -> Result<std::collections::BTreeSet<(String, String)>, RuntimeError> {
        let (networks, volumes) = tokio::try_join!(self.networks_labelled(&[]), self.volumes_labelled(&[]))?;
        let pair = |labels: Option<&HashMap<String, String>>| {
            let l = labels?;
            Some((l.get(LABEL_LAB)?.clone(), l.get(LABEL_PROJECT)?.clone()))
        };
        Ok(networks
            .iter()
            .filter_map(|n| pair(n.labels.as_ref()))
            .chain(volumes.iter().filter_map(|v| pair(Some(&v.labels))))
            .collect())
    }

    /// How many containers, networks and volumes promlab owns with these labels now.
    pub async fn count_owned(&self, labels: &[(&str, &str)]) -> Result<Removed, RuntimeError> {
        let (c, n, v) = tokio::try_join!(
            self.owned(labels),
            self.owned_networks(labels),
            self.owned_volumes(labels)
        )?;
        Ok(Removed {
            containers: c.len(),
            networks: n.len(),
            volumes: v.len(),
        })
    }

    /// The last `n` log lines of a container (stdout and stderr).
    pub async fn logs_tail(&self, id: &str, n: usize) -> String {
        let opts = LogsOptions {
            stdout: true,
            stderr: true,
            tail: n.to_string(),
            ..Default::default()
        };
        let mut s = self.inner.logs(id, Some(opts));
        let mut out = String::new();
        while let Some(Ok(chunk)) = s.next().await {
            out.push_str(&String::from_utf8_lossy(&chunk.into_bytes()));
        }
        out
    }

    /// A stream of a container's log output.
    pub fn logs(
        &self,
        id: &str,
        follow: bool,
        tail: Option<usize>,
    ) -> impl Stream<Item = Result<String, RuntimeError>> + use<> {
        let opts = LogsOptions {
            stdout: true,
            stderr: true,
            follow,
            tail: tail.map_or_else(|| "all".to_string(), |n| n.to_string()),
            ..Default::default()
        };
        self.inner.logs(id, Some(opts)).map(|r| {
            r.map(|c| String::from_utf8_lossy(&c.into_bytes()).into_owned())
                .map_err(api("read logs"))
        })
    }

    /// Unpacks a tar archive into a folder of a container.
    pub async fn upload(&self, id: &str, path: &str, tar: Vec<u8>) -> Result<(), RuntimeError> {
        let opts = bollard::query_parameters::UploadToContainerOptions {
            path: path.to_string(),
            ..Default::default()
        };
        self.inner
            .upload_to_container(id, Some(opts), bollard::body_full(tar.into()))
            .await
            .map_err(api(format!("copy files into container {id}")))
    }

    /// Runs a command in a running container and collects its output.
    pub async fn exec(&self, id: &str, cmd: &[String]) -> Result<ExecOutput, RuntimeError> {
        use bollard::exec::{CreateExecOptions, StartExecResults};
        let exec = self
            .inner
            .create_exec(
                id,
                CreateExecOptions::<String> {
                    cmd: Some(cmd.to_vec()),
                    attach_stdout: Some(true),
                    attach_stderr: Some(true),
                    ..Default::default()
                },
            )
            .await
            .map_err(api(format!("run `{}`", cmd.join(" "))))?;
        let mut out = ExecOutput::default();
        if let StartExecResults::Attached { mut output, .. } = self
            .inner
            .start_exec(&exec.id, None)
            .await
            .map_err(api(format!("run `{}`", cmd.join(" "))))?
        {
            while let Some(Ok(msg)) = output.next().await {
                match msg {
                    bollard::container::LogOutput::StdErr { message } => {
                        out.stderr.push_str(&String::from_utf8_lossy(&message));
                    }
                    other => out.stdout.push_str(&String::from_utf8_lossy(&other.into_bytes())),
                }
            }
        }
        let info = self
            .inner
            .inspect_exec(&exec.id)
            .await
            .map_err(api("read the exit code"))?;
        out.exit_code = info.exit_code.unwrap_or(-1);
        Ok(out)
    }
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or(s).chars().take(200).collect()
}

#[cfg(test)]
mod endpoint_tests {
    use std::collections::HashMap;
    use std::path::Path;

    use super::endpoint_from;

    fn pick(vars: &[(&str, &str)], config: Option<&Path>) -> Result<super::Endpoint, String> {
        let vars: HashMap<String, String> =
            vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        endpoint_from(&|k| vars.get(k).cloned(), config)
    }

    /// A docker config folder with `currentContext` and two contexts, as `docker context create` writes them.
    fn config_with_contexts() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("config.json"),
            r#"{"auths": {}, "currentContext": "remote"}"#,
        )
        .unwrap();
        for (name, host) in [("remote", "tcp://10.0.0.5:2375"), ("other", "ssh://me@box")] {
            use sha2::{Digest, Sha256};
            let id: String = Sha256::digest(name.as_bytes())
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            let meta = dir.path().join("contexts/meta").join(id);
            std::fs::create_dir_all(&meta).unwrap();
            std::fs::write(
                meta.join("meta.json"),
                format!(r#"{{"Name":"{name}","Metadata":{{}},"Endpoints":{{"docker":{{"Host":"{host}","SkipTLSVerify":false}}}}}}"#),
            )
            .unwrap();
        }
        dir
    }

    #[test]
    fn docker_host_beats_contexts_and_the_default() {
        let cfg = config_with_contexts();
        let ep = pick(
            &[("DOCKER_HOST", "tcp://127.0.0.1:1"), ("DOCKER_CONTEXT", "other")],
            Some(cfg.path()),
        )
        .unwrap();
        assert_eq!(ep.host, "tcp://127.0.0.1:1");
        assert_eq!(ep.source, "DOCKER_HOST");
        assert_eq!(ep.tls, None);
        assert!(ep.to_string().contains("tcp://127.0.0.1:1"), "{ep}");
    }

    #[test]
    fn docker_context_beats_the_current_context() {
        let cfg = config_with_contexts();
        let ep = pick(&[("DOCKER_CONTEXT", "other")], Some(cfg.path())).unwrap();
        assert_eq!(ep.host, "ssh://me@box");
        assert_eq!(ep.source, "docker context `other`");
        let ep = pick(&[("DOCKER_HOST", "")], Some(cfg.path())).unwrap();
        assert_eq!(ep.host, "tcp://10.0.0.5:2375", "the config's currentContext");
        let ep = pick(&[("DOCKER_CONTEXT", "default")], Some(cfg.path())).unwrap();
        assert_eq!(ep.host, "unix:///var/run/docker.sock");
    }

    #[test]
    fn no_config_means_the_local_socket() {
        let empty = tempfile::tempdir().unwrap();
        for cfg in [None, Some(empty.path())] {
            let ep = pick(&[], cfg).unwrap();
            assert_eq!(ep.host, "unix:///var/run/docker.sock");
        }
    }

    #[test]
    fn tls_verify_takes_certificates_from_the_cert_path() {
        let ep = pick(
            &[
                ("DOCKER_HOST", "tcp://box:2376"),
                ("DOCKER_TLS_VERIFY", "1"),
                ("DOCKER_CERT_PATH", "/certs"),
            ],
            Some(Path::new("/home/x/.docker")),
        )
        .unwrap();
        assert_eq!(ep.tls.as_deref(), Some(Path::new("/certs")));
        let ep = pick(
            &[("DOCKER_HOST", "tcp://box:2376"), ("DOCKER_TLS_VERIFY", "1")],
            Some(Path::new("/home/x/.docker")),
        )
        .unwrap();
        assert_eq!(ep.tls.as_deref(), Some(Path::new("/home/x/.docker")));
    }

    #[test]
    fn an_unknown_context_is_named() {
        let cfg = config_with_contexts();
        let err = pick(&[("DOCKER_CONTEXT", "nope")], Some(cfg.path())).unwrap_err();
        assert!(err.contains("docker context `nope`"), "{err}");
        std::fs::write(cfg.path().join("config.json"), "{not json").unwrap();
        let err = pick(&[], Some(cfg.path())).unwrap_err();
        assert!(err.contains("config.json"), "{err}");
    }
}
