//! Containers: create from a plan, start, stop, restart, inspect, list the owned ones,
//! remove one, read logs, upload files and run commands.

use std::collections::HashMap;

use bollard::models::{
    ContainerCreateBody, EndpointSettings, HealthConfig, HostConfig, Mount, MountType, MountVolumeOptions,
    NetworkingConfig, PortBinding,
};
use bollard::query_parameters::{
    CreateContainerOptions, ListContainersOptions, LogsOptions, RemoveContainerOptions,
    RestartContainerOptions, StopContainerOptions,
};
use futures::{Stream, StreamExt};

use super::{Docker, ExecOutput, api, classify, label_filter, status_of};
use crate::runtime::{
    ContainerPlan, ContainerState, LABEL_LAB, LABEL_MANAGED, LABEL_PROJECT, LABEL_SEED, LABEL_WORKSPACE,
    Owned, RuntimeError,
};

/// The labels a volume made for a container's mount carries: the stack's, not the service's.
const VOLUME_LABELS: [&str; 5] = [
    LABEL_MANAGED,
    LABEL_LAB,
    LABEL_PROJECT,
    LABEL_WORKSPACE,
    LABEL_SEED,
];

impl Docker {
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
                state: ContainerState::parse(&c.state.map(|s| s.to_string()).unwrap_or_default()),
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
