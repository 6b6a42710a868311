//! Pure planning: a lab's stack + images + workspace → the network, volumes and containers
//! to create, with names, labels, ports and mounts. No Docker here.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use super::{
    BindPlan, ContainerPlan, LABEL_BINDS, LABEL_LAB, LABEL_MANAGED, LABEL_PORT, LABEL_PROJECT, LABEL_READY,
    LABEL_RELOAD, LABEL_RESTART_ON, LABEL_ROLE, LABEL_SEED, LABEL_SERVICE, LABEL_TLS, LABEL_WORKSPACE,
    PortPlan, ReadyProbe, StackPlan, VolumePlan,
};
use crate::lab::LabId;
use crate::stack::images::ImageMap;
use crate::stack::{Stack, VolumeSpec, parse_port, parse_volume};

/// Inputs that vary per run.
#[derive(Debug, Clone)]
pub struct PlanInput<'a> {
    /// The lab.
    pub lab: LabId,
    /// Project name (see `project_name`).
    pub project: &'a str,
    /// Absolute workspace folder.
    pub workspace: &'a Path,
    /// Learner seed.
    pub seed: u64,
    /// Publish on ephemeral ports only (validate, tests).
    pub ephemeral_ports: bool,
}

/// The default project name of a lab: `promlab-8-3`.
pub fn project_name(lab: LabId) -> String {
    format!("promlab-{}", lab.slug())
}

/// Builds the plan. `port_free(p)` says whether host port `p` is free on 127.0.0.1.
pub fn build(
    stack: &Stack,
    images: &ImageMap,
    input: &PlanInput<'_>,
    port_free: &dyn Fn(u16) -> bool,
) -> Result<StackPlan, String> {
    let mut labels = BTreeMap::new();
    labels.insert(LABEL_MANAGED.to_string(), "true".to_string());
    labels.insert(LABEL_LAB.to_string(), input.lab.to_string());
    labels.insert(LABEL_PROJECT.to_string(), input.project.to_string());
    labels.insert(LABEL_WORKSPACE.to_string(), input.workspace.display().to_string());
    labels.insert(LABEL_SEED.to_string(), input.seed.to_string());
    let network = input.project.to_string();
    let volume_name = |v: &str| format!("{}-{v}", input.project);
    let mut taken = BTreeSet::new();
    let mut containers = Vec::new();
    for name in start_order(stack)? {
        let svc = &stack.services[&name];
        let image = images.resolve(&svc.image).ok_or_else(|| {
            format!(
                "service `{name}` uses image `{}`, which {} does not name",
                svc.image,
                images.source.display()
            )
        })?;
        let meta = svc.promlab.clone().unwrap_or_default();
        let mut ports = Vec::new();
        for p in &svc.ports {
            let spec = parse_port(p)?;
            let host = if input.ephemeral_ports
                || spec.host == 0
                || taken.contains(&spec.host)
                || !port_free(spec.host)
            {
                0
            } else {
                spec.host
            };
            if host != 0 {
                taken.insert(host);
            }
            ports.push(PortPlan {
                container: spec.container,
                host,
            });
        }
        let mut binds = Vec::new();
        let mut volumes = Vec::new();
        for v in &svc.volumes {
            match parse_volume(v)? {
                VolumeSpec::Bind {
                    source,
                    target,
                    read_only,
                } => binds.push(BindPlan {
                    host: input.workspace.join(source),
                    target,
                    read_only,
                }),
                VolumeSpec::Named { name: vol, .. } if !stack.volumes.contains_key(&vol) => {
                    return Err(undeclared_message(&name, &vol, stack));
                }
                VolumeSpec::Named { name, target } => volumes.push(VolumePlan {
                    name: volume_name(&name),
                    target,
                }),
            }
        }
        let mut c_labels = labels.clone();
        let rel: Vec<String> = svc
            .volumes
            .iter()
            .filter_map(|v| match parse_volume(v) {
                Ok(VolumeSpec::Bind { source, .. }) => Some(source),
                _ => None,
            })
            .collect();
        if !rel.is_empty() {
            c_labels.insert(LABEL_BINDS.to_string(), rel.join(","));
        }
        c_labels.insert(LABEL_SERVICE.to_string(), name.clone());
        if let Some(p) = meta.port {
            c_labels.insert(LABEL_PORT.to_string(), p.to_string());
        }
        if let Some(r) = &meta.ready {
            c_labels.insert(LABEL_READY.to_string(), r.clone());
        }
        if let Some(r) = &meta.reload {
            c_labels.insert(LABEL_RELOAD.to_string(), r.clone());
        }
        if let Some(r) = meta.role {
            c_labels.insert(LABEL_ROLE.to_string(), r.as_str().to_string());
        }
        if !meta.restart_on.is_empty() {
            c_labels.insert(LABEL_RESTART_ON.to_string(), meta.restart_on.join(","));
        }
        if meta.tls {
            c_labels.insert(LABEL_TLS.to_string(), "true".to_string());
        }
        let ready = match (&meta.ready, meta.port) {
            (Some(path), Some(port)) => Some(ReadyProbe {
                port,
                path: path.clone(),
            }),
            (Some(_), None) => {
                return Err(format!(
                    "service `{name}` has x-promlab.ready but no x-promlab.port"
                ));
            }
            _ => None,
        };
        let healthcheck = svc.healthcheck.as_ref().map(|h| {
            let d = |s: &Option<String>, def: u64| {
                s.as_deref()
                    .and_then(|s| humantime::parse_duration(s).ok())
                    .unwrap_or(Duration::from_secs(def))
            };
            (
                h.test.clone(),
                d(&h.interval, 5),
                d(&h.timeout, 3),
                h.retries.unwrap_or(3),
            )
        });
        containers.push(ContainerPlan {
            name: format!("{}-{name}", input.project),
            service: name.clone(),
            logical_image: svc.image.clone(),
            image: image.to_string(),
            entrypoint: svc.entrypoint.clone(),
            cmd: svc.command.clone(),
            env: svc.environment.iter().map(|(k, v)| format!("{k}={v}")).collect(),
            labels: c_labels,
            ports,
            binds,
            volumes,
            network: network.clone(),
            user: svc.user.clone(),
            ready,
            depends_on: svc.depends_on.clone(),
            healthcheck,
        });
    }
    Ok(StackPlan {
        project: input.project.to_string(),
        network,
        volumes: stack.volumes.keys().map(|v| volume_name(v)).collect(),
        labels,
        containers,
    })
}

/// Why a plan refuses a named volume the stack does not declare: the engine would make it
/// without promlab's labels, and it would outlive `down`.
fn undeclared_message(service: &str, vol: &str, stack: &Stack) -> String {
    let declared: Vec<&str> = stack.volumes.keys().map(String::as_str).collect();
    format!(
        "service `{service}` mounts the named volume `{vol}`, which the stack does not declare (it declares {}): mount one of those or a ./ workspace folder",
        if declared.is_empty() {
            "none".to_string()
        } else {
            declared.join(", ")
        }
    )
}

/// Services sorted so that every service comes after what it depends on (then by name).
pub fn start_order(stack: &Stack) -> Result<Vec<String>, String> {
    let mut done: Vec<String> = Vec::new();
    let mut left: BTreeSet<&String> = stack.services.keys().collect();
    while !left.is_empty() {
        let ready: Vec<&String> = left
            .iter()
            .filter(|s| stack.services[**s].depends_on.iter().all(|d| done.contains(d)))
            .copied()
            .collect();
        if ready.is_empty() {
            let names: Vec<&str> = left.iter().map(|s| s.as_str()).collect();
            return Err(format!(
                "services {} depend on each other in a cycle",
                names.join(", ")
            ));
        }
        for s in ready {
            left.remove(s);
            done.push(s.clone());
        }
    }
    Ok(done)
}

/// Groups containers into waves: each wave depends only on earlier waves.
pub fn waves(plan: &StackPlan) -> Vec<Vec<&ContainerPlan>> {
    let mut out: Vec<Vec<&ContainerPlan>> = Vec::new();
    let mut placed: BTreeMap<&str, usize> = BTreeMap::new();
    for c in &plan.containers {
        let wave = c
            .depends_on
            .iter()
            .filter_map(|d| placed.get(d.as_str()))
            .map(|w| w + 1)
            .max()
            .unwrap_or(0);
        placed.insert(&c.service, wave);
        if out.len() <= wave {
            out.resize_with(wave + 1, Vec::new);
        }
        out[wave].push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn stack() -> Stack {
        crate::yaml::parse(
            "services:\n  prometheus:\n    image: prometheus\n    command: [--config.file=/etc/prometheus/prometheus.yml]\n    ports: [\"127.0.0.1:9090:9090\"]\n    volumes: [\"./prometheus:/etc/prometheus:ro\", \"data:/prometheus\"]\n    depends_on: [node-exporter]\n    x-promlab: {port: 9090, ready: /-/ready, reload: /-/reload, role: prometheus}\n  node-exporter:\n    image: node-exporter\n    ports: [\"127.0.0.1:9100:9100\"]\n    x-promlab: {port: 9100, ready: /metrics}\nvolumes:\n  data: {}\n",
        )
        .unwrap()
    }

    fn images() -> ImageMap {
        ImageMap {
            images: [("prometheus", "p:1"), ("node-exporter", "n:1")]
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
            source: PathBuf::from("images.yaml"),
        }
    }

    #[test]
    fn names_labels_mounts_and_order() {
        let ws = PathBuf::from("/home/l/promlab/labs/1.1");
        let input = PlanInput {
            lab: LabId::new(1, 1),
            project: "promlab-1-1",
            workspace: &ws,
            seed: 7,
            ephemeral_ports: false,
        };
        let plan = build(&stack(), &images(), &input, &|_| true).unwrap();
        assert_eq!(plan.network, "promlab-1-1");
        assert_eq!(plan.volumes, ["promlab-1-1-data"]);
        let names: Vec<&str> = plan.containers.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["promlab-1-1-node-exporter", "promlab-1-1-prometheus"]);
        let p = &plan.containers[1];
        assert_eq!(p.image, "p:1");
        assert_eq!(p.labels[LABEL_MANAGED], "true");
        assert_eq!(p.labels[LABEL_LAB], "1.1");
        assert_eq!(p.labels[LABEL_SERVICE], "prometheus");
        assert_eq!(p.labels[LABEL_RELOAD], "/-/reload");
        assert_eq!(
            p.ports,
            [PortPlan {
                container: 9090,
                host: 9090
            }]
        );
        assert_eq!(p.binds[0].host, ws.join("prometheus"));
        assert!(p.binds[0].read_only);
        assert_eq!(p.volumes[0].name, "promlab-1-1-data");
        assert_eq!(
            p.ready,
            Some(ReadyProbe {
                port: 9090,
                path: "/-/ready".into()
            })
        );
        let w = waves(&plan);
        assert_eq!(w.len(), 2);
        assert_eq!(w[0][0].service, "node-exporter");
    }

    #[test]
    fn busy_or_ephemeral_ports_become_zero() {
        let ws = PathBuf::from("/w");
        let mut input = PlanInput {
            lab: LabId::new(1, 1),
            project: "p",
            workspace: &ws,
            seed: 1,
            ephemeral_ports: false,
        };
        let plan = build(&stack(), &images(), &input, &|p| p != 9090).unwrap();
        assert_eq!(plan.containers[1].ports[0].host, 0);
        assert_eq!(plan.containers[0].ports[0].host, 9100);
        input.ephemeral_ports = true;
        let plan = build(&stack(), &images(), &input, &|_| true).unwrap();
        assert!(
            plan.containers
                .iter()
                .all(|c| c.ports.iter().all(|p| p.host == 0))
        );
    }

    #[test]
    fn unknown_image_and_cycles_are_reported() {
        let mut s = stack();
        s.services.get_mut("prometheus").unwrap().image = "nope".into();
        let ws = PathBuf::from("/w");
        let input = PlanInput {
            lab: LabId::new(1, 1),
            project: "p",
            workspace: &ws,
            seed: 1,
            ephemeral_ports: false,
        };
        assert!(
            build(&s, &images(), &input, &|_| true)
                .unwrap_err()
                .contains("image `nope`")
        );
        let mut s = stack();
        s.services.get_mut("node-exporter").unwrap().depends_on = vec!["prometheus".into()];
        assert!(start_order(&s).unwrap_err().contains("cycle"));
    }

    #[test]
    fn undeclared_named_volumes_are_refused() {
        // A lab's `services:` entry replaces the stack's service after the stack was checked:
        // its undeclared volume would be made by the engine, unlabelled, and outlive `down`.
        let mut s = stack();
        let lab_services: BTreeMap<String, crate::stack::Service> = [(
            "node-exporter".to_string(),
            crate::stack::Service {
                volumes: vec!["scratch:/tmp/scratch".into()],
                ..s.services["node-exporter"].clone()
            },
        )]
        .into_iter()
        .collect();
        s = s.merged(&lab_services);
        let ws = PathBuf::from("/w");
        let input = PlanInput {
            lab: LabId::new(1, 1),
            project: "p",
            workspace: &ws,
            seed: 1,
            ephemeral_ports: false,
        };
        let err = build(&s, &images(), &input, &|_| true).unwrap_err();
        assert!(err.contains("named volume `scratch`"), "{err}");
        assert!(
            err.contains("`scratch`") && err.contains("declares data"),
            "{err}"
        );
        // Every volume a plan mounts is one it creates (with labels) first.
        let plan = build(&stack(), &images(), &input, &|_| true).unwrap();
        for c in &plan.containers {
            for v in &c.volumes {
                assert!(
                    plan.volumes.contains(&v.name),
                    "{} is not created with labels",
                    v.name
                );
            }
        }
    }
}
