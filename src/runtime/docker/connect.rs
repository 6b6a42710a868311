//! Which engine the client talks to (as the docker CLI chooses it) and the connected client.

use bollard::errors::Error as BollardError;

use super::{Docker, api};
use crate::runtime::RuntimeError;

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
    let id = crate::hash::sha256_hex(&context);
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
            let id = crate::hash::sha256_hex(name);
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
