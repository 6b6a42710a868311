//! Stacks: the subset of the Compose file format promlab runs (`compose/stacks/*.yaml`),
//! plus promlab's own per-service facts in `x-promlab:` extension fields.
//!
//! Supported service keys: image, command, entrypoint, ports, volumes, environment,
//! depends_on, healthcheck, user, x-promlab. Anything else is rejected with file:line.
//! `image:` holds a logical image name resolved through `compose/images*.yaml`.

pub mod images;

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::lab::{LabError, read_text, yaml};

/// A stack file.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Stack {
    /// Ignored (Compose v1 files carry it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Services by name; the name is also the DNS name on the lab network.
    pub services: BTreeMap<String, Service>,
    /// Named volumes (declared; options are not supported).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub volumes: BTreeMap<String, Option<EmptyMap>>,
}

/// An empty map (`{}`), the only volume declaration promlab accepts.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EmptyMap {}

/// One service.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    /// Logical image name (`prometheus`, `demo`, …).
    pub image: String,
    /// Arguments passed to the image's entrypoint.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub command: Vec<String>,
    /// Overrides the image's entrypoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<Vec<String>>,
    /// `127.0.0.1:HOST:CONTAINER` (the host port is a preference; promlab picks another
    /// when it is taken).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<String>,
    /// `./workspace/dir:/container/dir:ro` binds or `name:/path` named volumes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<String>,
    /// Environment variables.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub environment: BTreeMap<String, String>,
    /// Services started before this one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
    /// A Compose healthcheck, passed to Docker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<Healthcheck>,
    /// The user to run as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// promlab's own facts about the service.
    #[serde(default, rename = "x-promlab", skip_serializing_if = "Option::is_none")]
    pub promlab: Option<ServiceMeta>,
}

/// A Compose healthcheck.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Healthcheck {
    /// `["CMD", …]` or `["CMD-SHELL", …]`.
    pub test: Vec<String>,
    /// e.g. `5s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
    /// e.g. `3s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    /// Failures before unhealthy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<u32>,
}

/// promlab's per-service facts (`x-promlab:`), ignored by Compose tools.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceMeta {
    /// The main container port (for URLs and checks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// HTTP path answering 200 when the service is ready.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready: Option<String>,
    /// HTTP path to POST to reload configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reload: Option<String>,
    /// What the service is: prometheus, alertmanager, demo, sink, exporter, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Workspace files read only at start (`prometheus/web.yml`: whether to serve TLS):
    /// when one changes, `check` restarts the service instead of reloading it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub restart_on: Vec<String>,
    /// The service may serve HTTPS on its main port: promlab detects the scheme.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub tls: bool,
}

/// A parsed `HOST_IP:HOST:CONTAINER` port mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortSpec {
    /// Preferred host port (0 = any).
    pub host: u16,
    /// Container port.
    pub container: u16,
}

/// A parsed volume entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VolumeSpec {
    /// A workspace-relative path bound into the container.
    Bind {
        /// Path relative to the workspace (no `..`).
        source: String,
        /// Container path.
        target: String,
        /// Mounted read-only.
        read_only: bool,
    },
    /// A named volume.
    Named {
        /// The volume name declared under top-level `volumes:`.
        name: String,
        /// Container path.
        target: String,
    },
}

impl Stack {
    /// Reads and checks a stack file.
    pub fn load(path: &Path) -> Result<Self, LabError> {
        let text = read_text(path)?;
        let stack: Stack = yaml::from_str(path, &text)?;
        stack.validate(path, &text)?;
        Ok(stack)
    }

    /// Checks ports, volumes and dependencies of every service.
    pub fn validate(&self, path: &Path, text: &str) -> Result<(), LabError> {
        for (name, svc) in &self.services {
            for p in &svc.ports {
                parse_port(p).map_err(|m| LabError::invalid(path, text, p, m))?;
            }
            for v in &svc.volumes {
                match parse_volume(v).map_err(|m| LabError::invalid(path, text, v, m))? {
                    VolumeSpec::Named { name: vol, .. } if !self.volumes.contains_key(&vol) => {
                        return Err(LabError::invalid(
                            path,
                            text,
                            v,
                            format!(
                                "service `{name}` mounts volume `{vol}`, which is not declared: add `{vol}: {{}}` under the top-level `volumes:`"
                            ),
                        ));
                    }
                    _ => {}
                }
            }
            for d in &svc.depends_on {
                if !self.services.contains_key(d) {
                    return Err(LabError::invalid(
                        path,
                        text,
                        d,
                        format!("service `{name}` depends on `{d}`, which this stack does not define"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Adds or replaces services (a lab's `services:`), returning the merged stack.
    pub fn merged(&self, extra: &BTreeMap<String, Service>) -> Stack {
        let mut out = self.clone();
        for (k, v) in extra {
            out.services.insert(k.clone(), v.clone());
        }
        out
    }
}

/// Parses `127.0.0.1:9090:9090`, `9090:9090` or `9090`.
pub fn parse_port(s: &str) -> Result<PortSpec, String> {
    let parts: Vec<&str> = s.split(':').collect();
    let num = |p: &str| {
        p.parse::<u16>()
            .map_err(|_| format!("port mapping `{s}`: `{p}` is not a port number"))
    };
    match parts.as_slice() {
        [ip, host, c] => {
            if *ip != "127.0.0.1" {
                return Err(format!(
                    "port mapping `{s}` binds {ip}: promlab publishes on 127.0.0.1 only; write `127.0.0.1:{host}:{c}`"
                ));
            }
            Ok(PortSpec {
                host: num(host)?,
                container: num(c)?,
            })
        }
        [host, c] => Ok(PortSpec {
            host: num(host)?,
            container: num(c)?,
        }),
        [c] => Ok(PortSpec {
            host: 0,
            container: num(c)?,
        }),
        _ => Err(format!("port mapping `{s}` is not HOST_IP:HOST:CONTAINER")),
    }
}

/// Parses `./dir:/target[:ro]` or `name:/target`.
pub fn parse_volume(s: &str) -> Result<VolumeSpec, String> {
    let parts: Vec<&str> = s.split(':').collect();
    let (src, target, mode) = match parts.as_slice() {
        [a, b] => (*a, *b, None),
        [a, b, m] => (*a, *b, Some(*m)),
        _ => return Err(format!("volume `{s}` is not SOURCE:TARGET[:ro]")),
    };
    if !target.starts_with('/') {
        return Err(format!(
            "volume `{s}`: the container path `{target}` must be absolute"
        ));
    }
    let read_only = match mode {
        None | Some("rw") => false,
        Some("ro") => true,
        Some(m) => return Err(format!("volume `{s}`: mode `{m}` is not `ro` or `rw`")),
    };
    if let Some(rel) = src.strip_prefix("./") {
        let rel = rel.trim_end_matches('/');
        if rel.split('/').any(|c| c == "..") {
            return Err(format!("volume `{s}` escapes the workspace with `..`"));
        }
        Ok(VolumeSpec::Bind {
            source: rel.to_string(),
            target: target.to_string(),
            read_only,
        })
    } else if src.starts_with('/') || src.starts_with('~') || src.contains('/') {
        Err(format!(
            "volume `{s}`: bind only workspace paths, written `./dir:{target}`; a host path would make the lab depend on this machine"
        ))
    } else {
        if read_only {
            return Err(format!("volume `{s}`: named volumes are mounted read-write"));
        }
        Ok(VolumeSpec::Named {
            name: src.to_string(),
            target: target.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Stack, String> {
        let p = Path::new("stack.yaml");
        let s: Stack = yaml::from_str(p, text).map_err(|e| e.to_string())?;
        s.validate(p, text).map_err(|e| e.to_string())?;
        Ok(s)
    }

    #[test]
    fn parses_the_supported_subset() {
        let s = parse(
            "services:\n  prometheus:\n    image: prometheus\n    command: [--config.file=/etc/prometheus/prometheus.yml]\n    ports: [\"127.0.0.1:9090:9090\"]\n    volumes: [\"./prometheus:/etc/prometheus:ro\", \"data:/prometheus\"]\n    environment: {A: b}\n    x-promlab: {port: 9090, ready: /-/ready, reload: /-/reload, role: prometheus}\nvolumes:\n  data: {}\n",
        )
        .unwrap();
        let p = &s.services["prometheus"];
        assert_eq!(p.promlab.as_ref().unwrap().port, Some(9090));
        assert_eq!(
            parse_volume(&p.volumes[0]).unwrap(),
            VolumeSpec::Bind {
                source: "prometheus".into(),
                target: "/etc/prometheus".into(),
                read_only: true
            }
        );
    }

    #[test]
    fn rejects_unsupported_keys_with_line() {
        let err = parse("services:\n  p:\n    image: x\n    restart: always\n").unwrap_err();
        assert!(err.starts_with("stack.yaml:4"), "{err}");
        assert!(err.contains("unknown field `restart`"), "{err}");
    }

    #[test]
    fn rejects_public_ports_and_host_paths() {
        let err = parse("services:\n  p:\n    image: x\n    ports: [\"0.0.0.0:9090:9090\"]\n").unwrap_err();
        assert!(err.contains("127.0.0.1 only"), "{err}");
        assert!(err.starts_with("stack.yaml:4"), "{err}");
        let err = parse("services:\n  p:\n    image: x\n    volumes: [\"/etc:/etc\"]\n").unwrap_err();
        assert!(err.contains("bind only workspace paths"), "{err}");
        let err = parse("services:\n  p:\n    image: x\n    volumes: [\"./../x:/etc\"]\n").unwrap_err();
        assert!(err.contains("escapes the workspace"), "{err}");
    }

    #[test]
    fn rejects_undeclared_volume_and_unknown_dependency() {
        let err = parse("services:\n  p:\n    image: x\n    volumes: [\"data:/d\"]\n").unwrap_err();
        assert!(err.contains("not declared"), "{err}");
        let err = parse("services:\n  p:\n    image: x\n    depends_on: [q]\n").unwrap_err();
        assert!(err.contains("does not define"), "{err}");
    }
}
