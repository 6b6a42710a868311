//! The `tls:` kind as written in `lab.yaml`: handshake facts of a service's port.

use serde::Deserialize;

use super::KindSpec;
use crate::lab::compare::Cmp;

/// `tls:` — a TLS handshake with a service's port, and what its certificate says.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsCheck {
    /// The service.
    pub service: String,
    /// The container port (default: the service's main port).
    #[serde(default)]
    pub port: Option<u16>,
    /// The name sent as SNI and verified against the certificate (default: the service).
    #[serde(default)]
    pub server_name: Option<String>,
    /// A client certificate to present (workspace-relative PEM files).
    #[serde(default)]
    pub client_cert: Option<ClientCert>,
    /// What must hold.
    pub expect: TlsExpect,
}

/// A client certificate and its key, workspace-relative PEM files.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientCert {
    /// The certificate (chain).
    pub cert: String,
    /// Its private key.
    pub key: String,
}

/// `tls.expect`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsExpect {
    /// `ok` (default) or `fails`: whether a TLS session can be opened and used.
    #[serde(default)]
    pub handshake: Option<Handshake>,
    /// A workspace CA file the served chain must verify against, for `server_name`.
    #[serde(default)]
    pub verifies_with: Option<String>,
    /// The certificate's subject alternative names (DNS names and IP addresses).
    #[serde(default)]
    pub san: Option<Cmp>,
    /// Days until the certificate expires.
    #[serde(default)]
    pub expires_in_days: Option<Cmp>,
    /// The issuer's distinguished name (`CN=promlab lab CA`).
    #[serde(default)]
    pub issuer: Option<Cmp>,
    /// Protocol versions the server must accept (`TLS1.2`, `TLS1.3`).
    #[serde(default)]
    pub accepts: Vec<TlsVersion>,
    /// Protocol versions the server must refuse.
    #[serde(default)]
    pub rejects: Vec<TlsVersion>,
    /// Whether a client without a certificate is refused.
    #[serde(default)]
    pub client_auth_required: Option<bool>,
}

/// `handshake:` outcomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Handshake {
    /// A session opens and answers.
    Ok,
    /// No session can be opened (or the server drops it at once).
    Fails,
}

/// A TLS protocol version a client can offer (rustls speaks 1.2 and 1.3 only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum TlsVersion {
    /// TLS 1.2.
    #[serde(rename = "TLS1.2")]
    Tls12,
    /// TLS 1.3.
    #[serde(rename = "TLS1.3")]
    Tls13,
}

impl std::fmt::Display for TlsVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TlsVersion::Tls12 => "TLS1.2",
            TlsVersion::Tls13 => "TLS1.3",
        })
    }
}

impl KindSpec for TlsCheck {}
