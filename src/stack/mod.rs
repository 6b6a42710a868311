//! Stacks: the subset of the Compose file format promlab runs (`compose/stacks/*.yaml`),
//! plus promlab's own per-service facts in `x-promlab:` extension fields.
//!
//! Supported service keys: image, command, entrypoint, ports, volumes, environment,
//! depends_on, healthcheck, user, x-promlab. Anything else is rejected with file:line.
//! `image:` holds a logical image name resolved through `compose/images*.yaml`.
//!
//! One set of rules holds for every service definition, wherever it is written (a stack
//! file or a lab's `services:`): [`check_service`] (ports on 127.0.0.1 only, workspace binds
//! only, never the Docker socket, root only with a declared reason) and [`check_references`]
//! (named volumes declared, dependencies defined).

pub mod images;

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::yaml::{self, LabError, read_text};

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
    /// What the service is (see [`Role`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    /// Workspace files read only at start (`prometheus/web.yml`: whether to serve TLS):
    /// when one changes, `check` restarts the service instead of reloading it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub restart_on: Vec<String>,
    /// The service may serve HTTPS on its main port: promlab detects the scheme.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub tls: bool,
    /// Why the service runs as root (`user: "0"`, or an image whose default user is root):
    /// required then, refused otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_reason: Option<String>,
}

/// Logical images whose default user is root: nginx (its master process, in the local and
/// the upstream image), and, upstream, victoriametrics (no `USER`) and redis (its entrypoint
/// starts as root). A service of one of them sets a non-root `user:` or declares
/// `x-promlab: {root_reason: …}`.
pub const ROOT_BY_DEFAULT: &[&str] = &["nginx", "redis", "victoriametrics"];

/// Where a service definition is written: the file and its text (for line numbers).
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    /// The file (a stack file or a lab's `lab.yaml`).
    pub path: &'a Path,
    /// Its text.
    pub text: &'a str,
}

impl Source<'_> {
    /// An error located at the first line holding `needle` inside service `service`'s block
    /// (else the service's own line).
    fn error(&self, service: &str, needle: &str, message: String) -> LabError {
        LabError::Invalid {
            file: self.path.to_path_buf(),
            line: service_line(self.text, service, needle),
            message,
        }
    }
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

    /// Checks every service by the common rules ([`check_service`], [`check_references`]).
    pub fn validate(&self, path: &Path, text: &str) -> Result<(), LabError> {
        let src = Source { path, text };
        for (name, svc) in &self.services {
            check_service(name, svc, src)?;
            check_references(name, svc, self, src, path)?;
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

/// Parses `127.0.0.1:HOST:CONTAINER` or `127.0.0.1::CONTAINER` (any free host port). A
/// mapping without an IP or on another one is refused: Compose tools would publish it on
/// every network interface.
pub fn parse_port(s: &str) -> Result<PortSpec, String> {
    let parts: Vec<&str> = s.split(':').collect();
    let num = |p: &str| {
        p.parse::<u16>().map_err(|_| {
            format!("port mapping `{s}`: `{p}` is not a port number; write `127.0.0.1:HOST:CONTAINER`")
        })
    };
    match parts.as_slice() {
        ["127.0.0.1", "", c] => Ok(PortSpec {
            host: 0,
            container: num(c)?,
        }),
        ["127.0.0.1", host, c] => Ok(PortSpec {
            host: num(host)?,
            container: num(c)?,
        }),
        [ip, host, c] => Err(format!(
            "port mapping `{s}` publishes on {ip}, reachable from other machines; write `127.0.0.1:{host}:{c}` (promlab publishes on 127.0.0.1 only)"
        )),
        [host, c] => Err(format!(
            "port mapping `{s}` has no IP, so Compose tools publish it on every network interface; write `127.0.0.1:{host}:{c}`"
        )),
        [c] => Err(format!(
            "port mapping `{s}` has no IP, so Compose tools publish it on every network interface; write `127.0.0.1::{c}` (any free host port) or `127.0.0.1:{c}:{c}`"
        )),
        _ => Err(format!(
            "port mapping `{s}` is not HOST_IP:HOST:CONTAINER; write `127.0.0.1:HOST:CONTAINER`"
        )),
    }
}

/// The rules of one service that need nothing but the service: ports, volume syntax
/// (workspace binds only, never the Docker socket), and root only with a declared reason.
pub fn check_service(name: &str, svc: &Service, src: Source<'_>) -> Result<(), LabError> {
    for p in &svc.ports {
        parse_port(p).map_err(|m| src.error(name, p, format!("service `{name}`: {m}")))?;
    }
    for v in &svc.volumes {
        parse_volume(v).map_err(|m| src.error(name, v, format!("service `{name}`: {m}")))?;
    }
    if let Some(m) = &svc.promlab
        && m.ready.is_some()
        && m.port.is_none()
    {
        return Err(src.error(
            name,
            "ready",
            format!("service `{name}` has x-promlab.ready but no port to probe it on; add `port: N` (the container port) to its x-promlab"),
        ));
    }
    let reason = svc
        .promlab
        .as_ref()
        .and_then(|m| m.root_reason.as_deref())
        .map(str::trim);
    let root = match svc.user.as_deref().map(str::trim) {
        Some(u) if !u.is_empty() => is_root_user(u).then(|| format!("`user: \"{u}\"` is root")),
        _ => ROOT_BY_DEFAULT
            .contains(&svc.image.as_str())
            .then(|| format!("image `{}` runs as root by default", svc.image)),
    };
    match (root, reason) {
        (Some(why), None | Some("")) => {
            let needle = if svc.user.is_some() { "user:" } else { "image:" };
            Err(src.error(
                name,
                needle,
                format!(
                    "service `{name}` runs as root ({why}); set an unprivileged `user: \"65534\"`, or declare why it needs root with `x-promlab: {{root_reason: \"...\"}}`"
                ),
            ))
        }
        (None, Some(_)) => Err(src.error(
            name,
            "root_reason",
            format!("service `{name}` declares a root_reason but does not run as root; remove `root_reason`"),
        )),
        _ => Ok(()),
    }
}

/// The rules of one service that need the whole stack it runs in (for a lab's service: the
/// stack merged with the lab's `services:`): named volumes declared, dependencies defined.
/// `stack_file` is where the volumes are declared.
pub fn check_references(
    name: &str,
    svc: &Service,
    stack: &Stack,
    src: Source<'_>,
    stack_file: &Path,
) -> Result<(), LabError> {
    for v in &svc.volumes {
        if let Ok(VolumeSpec::Named { name: vol, .. }) = parse_volume(v)
            && !stack.volumes.contains_key(&vol)
        {
            let declared: Vec<String> = stack.volumes.keys().map(|k| format!("`{k}`")).collect();
            let known = if declared.is_empty() {
                String::new()
            } else {
                format!(" (declared: {})", declared.join(", "))
            };
            return Err(src.error(
                name,
                v,
                format!(
                    "service `{name}` mounts volume `{vol}`, which is not declared, so promlab could neither label nor remove it; add `{vol}: {{}}` under the top-level `volumes:` of {}{known}",
                    stack_file.display()
                ),
            ));
        }
    }
    for d in &svc.depends_on {
        if !stack.services.contains_key(d) {
            return Err(src.error(
                name,
                d,
                format!("service `{name}` depends on `{d}`, which this stack does not define; name one of its services"),
            ));
        }
    }
    Ok(())
}

/// `root`, `0`, `0:0`, `root:…`, `0:…`.
fn is_root_user(user: &str) -> bool {
    let u = user.split(':').next().unwrap_or(user).trim();
    u == "root" || u == "0"
}

/// What a service is (`x-promlab: {role: …}`): the grader finds servers by role, and the
/// role is written on the container (`io.promlab.role`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// A Prometheus server.
    Prometheus,
    /// An Alertmanager.
    Alertmanager,
    /// Grafana.
    Grafana,
    /// An instance of promlab's demo workload.
    Demo,
    /// promlab's webhook sink (receives Alertmanager's notifications).
    Sink,
    /// An exporter (node exporter, blackbox, …).
    Exporter,
    /// Another application the lab scrapes.
    App,
}

impl Role {
    /// Every role, in declaration order.
    pub const ALL: [Role; 7] = [
        Role::Prometheus,
        Role::Alertmanager,
        Role::Grafana,
        Role::Demo,
        Role::Sink,
        Role::Exporter,
        Role::App,
    ];

    /// The role a container label names (`io.promlab.role`); None for no or another label.
    pub fn from_label(label: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == label)
    }

    /// The name written in stack files and on container labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Prometheus => "prometheus",
            Role::Alertmanager => "alertmanager",
            Role::Grafana => "grafana",
            Role::Demo => "demo",
            Role::Sink => "sink",
            Role::Exporter => "exporter",
            Role::App => "app",
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// The 1-based line of the first line holding `needle` inside service `service`'s block of a
/// stack file or lab.yaml (`services:` → `  NAME:`), else the service's own line.
pub fn service_line(text: &str, service: &str, needle: &str) -> Option<usize> {
    let lines: Vec<&str> = text.lines().collect();
    let indent = |l: &str| l.len() - l.trim_start().len();
    let services = lines.iter().position(|l| l.trim_end() == "services:")?;
    let head = format!("{service}:");
    let start = (services + 1..lines.len()).find(|&i| {
        let t = lines[i].trim_start();
        indent(lines[i]) > 0 && (t == head || t.starts_with(&format!("{head} ")))
    })?;
    let own = indent(lines[start]);
    let end = (start + 1..lines.len())
        .find(|&i| {
            let t = lines[i].trim_start();
            !t.is_empty() && !t.starts_with('#') && indent(lines[i]) <= own
        })
        .unwrap_or(lines.len());
    let at = (start..end).find(|&i| lines[i].contains(needle)).unwrap_or(start);
    Some(at + 1)
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
    if src.contains("docker.sock") || target.contains("docker.sock") {
        return Err(format!(
            "volume `{s}` mounts the Docker socket, which gives the container root on this machine; remove it (promlab talks to Docker itself, labs never do)"
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

    #[test]
    fn a_role_is_read_back_from_the_label_it_writes() {
        for r in Role::ALL {
            assert_eq!(Role::from_label(r.as_str()), Some(r));
        }
        assert_eq!(
            Role::from_label(""),
            None,
            "a container without the label has no role"
        );
        assert_eq!(
            Role::from_label("Prometheus"),
            None,
            "labels are written in lower case"
        );
    }

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

    #[test]
    fn ports_need_the_loopback_ip() {
        assert_eq!(
            parse_port("127.0.0.1::9090").unwrap(),
            PortSpec {
                host: 0,
                container: 9090
            }
        );
        let err = parse("services:\n  p:\n    image: x\n    ports: [\"9090:9090\"]\n").unwrap_err();
        assert_eq!(
            err,
            "stack.yaml:4: service `p`: port mapping `9090:9090` has no IP, so Compose tools publish it on every network interface; write `127.0.0.1:9090:9090`"
        );
        let err = parse("services:\n  p:\n    image: x\n    ports: [\"9090\"]\n").unwrap_err();
        assert!(err.contains("write `127.0.0.1::9090`"), "{err}");
    }

    #[test]
    fn the_docker_socket_is_never_mounted() {
        for v in [
            "/var/run/docker.sock:/var/run/docker.sock",
            "/run/docker.sock:/s:ro",
        ] {
            let err = parse(&format!(
                "services:\n  p:\n    image: x\n    volumes: [\"{v}\"]\n"
            ))
            .unwrap_err();
            assert!(err.starts_with("stack.yaml:4: service `p`: volume"), "{err}");
            assert!(err.contains("mounts the Docker socket"), "{err}");
        }
    }

    #[test]
    fn root_only_with_a_declared_reason() {
        for user in ["0", "0:0", "root", "root:root", "0:65534"] {
            let err = parse(&format!("services:\n  p:\n    image: x\n    user: \"{user}\"\n")).unwrap_err();
            assert_eq!(
                err,
                format!(
                    "stack.yaml:4: service `p` runs as root (`user: \"{user}\"` is root); set an unprivileged `user: \"65534\"`, or declare why it needs root with `x-promlab: {{root_reason: \"...\"}}`"
                )
            );
        }
        let err = parse("services:\n  web:\n    image: nginx\n").unwrap_err();
        assert!(
            err.starts_with("stack.yaml:3: service `web` runs as root (image `nginx`"),
            "{err}"
        );
        parse("services:\n  web:\n    image: nginx\n    user: \"65534\"\n").unwrap();
        parse(
            "services:\n  web:\n    image: nginx\n    x-promlab: {root_reason: the master binds port 80}\n",
        )
        .unwrap();
        parse("services:\n  p:\n    image: x\n    user: \"0\"\n    x-promlab: {root_reason: reads /proc of the host}\n").unwrap();
        let err =
            parse("services:\n  p:\n    image: x\n    user: \"0\"\n    x-promlab: {root_reason: \" \"}\n")
                .unwrap_err();
        assert!(err.contains("runs as root"), "{err}");
        let err = parse("services:\n  p:\n    image: x\n    x-promlab: {root_reason: why}\n").unwrap_err();
        assert_eq!(
            err,
            "stack.yaml:4: service `p` declares a root_reason but does not run as root; remove `root_reason`"
        );
    }

    #[test]
    fn privileged_keys_say_why_they_are_refused() {
        let err = parse("services:\n  p:\n    image: x\n    privileged: true\n").unwrap_err();
        assert_eq!(
            err,
            "stack.yaml:4: services.p: unknown field `privileged`; promlab runs no privileged containers and adds no capabilities or devices: remove it (a lab cannot need it)"
        );
        let err = parse("services:\n  p:\n    image: x\n    network_mode: host\n").unwrap_err();
        assert!(err.contains("the lab's own network"), "{err}");
    }

    #[test]
    fn a_readiness_path_needs_a_port() {
        let err = parse("services:\n  p:\n    image: x\n    x-promlab: {ready: /metrics}\n").unwrap_err();
        assert!(
            err.starts_with("stack.yaml:4: service `p` has x-promlab.ready but no port"),
            "{err}"
        );
    }

    #[test]
    fn lines_are_found_inside_the_service_block() {
        let text = "services:\n  a:\n    image: x\n    user: \"1\"\n  b:\n    image: x\n\n    # c\n    user: \"0\"\nvolumes: {}\n";
        assert_eq!(service_line(text, "a", "user:"), Some(4));
        assert_eq!(service_line(text, "b", "user:"), Some(9));
        assert_eq!(service_line(text, "b", "ports:"), Some(5));
        assert_eq!(service_line(text, "c", "user:"), None);
    }
}
