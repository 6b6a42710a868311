//! `tls` checks: a real TLS session (rustls) with a service's published port, and what the
//! served certificate says (x509-parser): the chain verified against a CA file from the
//! workspace, its names, expiry and issuer, the protocol versions accepted, and whether a
//! client without a certificate is refused.
//!
//! The first session accepts any certificate on purpose, so that the report can say what was
//! served; verification against the learner's CA is a separate, explicit step.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::lab::spec::{ClientCert, Handshake, TlsCheck, TlsVersion};
use futures::future::BoxFuture;

use super::context::Ctx;
use super::kinds::Judge;
use super::outcome::Eval;

/// How long one connection attempt may take.
const STEP: Duration = Duration::from_secs(4);

/// What one session attempt found.
#[derive(Debug, Default)]
struct Session {
    /// A TCP connection was made (something listens).
    connected: bool,
    /// The negotiated version, when the handshake completed.
    version: Option<String>,
    /// The served chain, leaf first (also when the session failed after the handshake).
    certs: Vec<CertificateDer<'static>>,
    /// Why the session could not be opened or used.
    error: Option<String>,
}

impl Session {
    fn ok(&self) -> bool {
        self.error.is_none()
    }
}

/// A verifier that accepts every certificate (signatures still checked), so the session
/// completes and the grader can read what was served.
#[derive(Debug)]
struct AcceptAny(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAny {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A client certificate loaded from the workspace.
type Identity = (Vec<CertificateDer<'static>>, Arc<PrivateKeyDer<'static>>);

fn load_identity(ws: &Path, c: &ClientCert) -> Result<Identity, String> {
    let certs = load_certs(ws, &c.cert)?;
    let key = PrivateKeyDer::from_pem_file(ws.join(&c.key))
        .map_err(|e| format!("cannot read the private key {}: {e}", c.key))?;
    Ok((certs, Arc::new(key)))
}

fn load_certs(ws: &Path, rel: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs: Vec<_> = CertificateDer::pem_file_iter(ws.join(rel))
        .map_err(|e| format!("cannot read {rel}: {e}"))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{rel} is not a PEM certificate file: {e}"))?;
    if certs.is_empty() {
        return Err(format!("{rel} holds no certificate"));
    }
    Ok(certs)
}

fn rustls_version(v: TlsVersion) -> &'static rustls::SupportedProtocolVersion {
    match v {
        TlsVersion::Tls12 => &rustls::version::TLS12,
        TlsVersion::Tls13 => &rustls::version::TLS13,
    }
}

/// Opens a session offering `versions`, sends one HTTP request and reads the first bytes
/// of the answer (a server requiring a client certificate refuses only then, in TLS 1.3).
async fn attempt(addr: &str, name: &str, versions: &[TlsVersion], identity: Option<&Identity>) -> Session {
    let mut s = Session::default();
    let p = provider();
    let vs: Vec<_> = versions.iter().map(|v| rustls_version(*v)).collect();
    let builder = match rustls::ClientConfig::builder_with_provider(p.clone()).with_protocol_versions(&vs) {
        Ok(b) => b,
        Err(e) => {
            s.error = Some(e.to_string());
            return s;
        }
    };
    let builder = builder
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AcceptAny(p)));
    let config = match identity {
        None => builder.with_no_client_auth(),
        Some((chain, key)) => match builder.with_client_auth_cert(chain.clone(), key.clone_key()) {
            Ok(c) => c,
            Err(e) => {
                s.error = Some(format!("the client certificate cannot be used: {e}"));
                return s;
            }
        },
    };
    let Ok(server_name) = ServerName::try_from(name.to_string()) else {
        s.error = Some(format!("`{name}` is not a valid server name"));
        return s;
    };
    let tcp = match tokio::time::timeout(STEP, tokio::net::TcpStream::connect(addr)).await {
        Ok(Ok(t)) => t,
        Ok(Err(e)) => {
            s.error = Some(format!("nothing accepts connections on {addr} ({e})"));
            return s;
        }
        Err(_) => {
            s.error = Some(format!("connecting to {addr} timed out"));
            return s;
        }
    };
    s.connected = true;
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let mut stream = match tokio::time::timeout(STEP, connector.connect(server_name, tcp)).await {
        Ok(Ok(st)) => st,
        Ok(Err(e)) => {
            s.error = Some(explain(&e.to_string()));
            return s;
        }
        Err(_) => {
            s.error = Some("the TLS handshake timed out".to_string());
            return s;
        }
    };
    {
        let conn = stream.get_ref().1;
        s.certs = conn.peer_certificates().map(<[_]>::to_vec).unwrap_or_default();
        s.version = conn.protocol_version().map(|v| match v {
            rustls::ProtocolVersion::TLSv1_3 => "TLS1.3".to_string(),
            rustls::ProtocolVersion::TLSv1_2 => "TLS1.2".to_string(),
            other => format!("{other:?}"),
        });
    }
    let request = format!("GET / HTTP/1.1\r\nHost: {name}\r\nConnection: close\r\n\r\n");
    let used = async {
        stream.write_all(request.as_bytes()).await?;
        let mut buf = [0u8; 64];
        stream.read(&mut buf).await
    };
    match tokio::time::timeout(STEP, used).await {
        Ok(Ok(n)) if n > 0 => {}
        Ok(Ok(_)) => s.error = Some("the server closed the session without answering".to_string()),
        Ok(Err(e)) => s.error = Some(explain(&e.to_string())),
        Err(_) => s.error = Some("the server did not answer within 4s".to_string()),
    }
    s
}

/// A rustls error as something a learner can act on.
fn explain(e: &str) -> String {
    if e.contains("InvalidContentType") || e.contains("corrupt message") {
        return "the port answers plain HTTP, not TLS (is tls_server_config set in the web config file, and was the server restarted since?)".to_string();
    }
    if e.contains("InternalError") {
        return format!(
            "the server failed its side of the handshake ({e}): it often cannot read its certificate or key file; `promlab logs SERVICE` says which"
        );
    }
    if e.contains("CertificateRequired") {
        return format!("the server requires a client certificate ({e})");
    }
    if e.contains("ProtocolVersion") || e.contains("protocol version") {
        return format!("no protocol version in common ({e})");
    }
    e.to_string()
}

/// What a certificate says, for reports and comparisons.
#[derive(Debug, Default)]
struct CertFacts {
    subject: String,
    issuer: String,
    names: Vec<String>,
    days_left: f64,
}

fn facts(der: &CertificateDer<'_>) -> Result<CertFacts, String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref())
        .map_err(|e| format!("the served certificate cannot be parsed: {e}"))?;
    let mut names = Vec::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for n in &san.value.general_names {
            match n {
                x509_parser::extensions::GeneralName::DNSName(d) => names.push((*d).to_string()),
                x509_parser::extensions::GeneralName::IPAddress(b) => {
                    if let Ok(a) = <[u8; 4]>::try_from(*b) {
                        names.push(std::net::Ipv4Addr::from(a).to_string());
                    } else if let Ok(a) = <[u8; 16]>::try_from(*b) {
                        names.push(std::net::Ipv6Addr::from(a).to_string());
                    }
                }
                _ => {}
            }
        }
    }
    let now = super::now_unix();
    Ok(CertFacts {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        names,
        #[expect(clippy::cast_precision_loss, reason = "seconds since 1970 fit in f64")]
        days_left: (cert.validity().not_after.timestamp() as f64 - now) / 86_400.0,
    })
}

/// Verifies the served chain against a CA file for a name.
fn verify(
    ws: &Path,
    ca_file: &str,
    certs: &[CertificateDer<'static>],
    name: &str,
    f: &CertFacts,
) -> Result<(), String> {
    let mut roots = rustls::RootCertStore::empty();
    for c in load_certs(ws, ca_file)? {
        roots
            .add(c)
            .map_err(|e| format!("{ca_file} holds a certificate that cannot be a trust anchor: {e}"))?;
    }
    let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider())
        .build()
        .map_err(|e| format!("cannot use {ca_file} as a CA: {e}"))?;
    let Some((leaf, rest)) = certs.split_first() else {
        return Err("the server sent no certificate".to_string());
    };
    let server_name =
        ServerName::try_from(name.to_string()).map_err(|_| format!("`{name}` is not a valid server name"))?;
    verifier
        .verify_server_cert(leaf, rest, &server_name, &[], UnixTime::now())
        .map(|_| ())
        .map_err(|e| {
            use rustls::CertificateError as C;
            match e {
                rustls::Error::InvalidCertificate(C::UnknownIssuer) => {
                    format!(
                        "the chain does not lead to the CA in {ca_file} (issuer {})",
                        f.issuer
                    )
                }
                rustls::Error::InvalidCertificate(C::NotValidForName | C::NotValidForNameContext { .. }) => {
                    format!(
                        "the certificate is not valid for `{name}` (its names: {})",
                        f.names.join(", ")
                    )
                }
                rustls::Error::InvalidCertificate(C::Expired | C::ExpiredContext { .. }) => {
                    "the certificate has expired".to_string()
                }
                other => other.to_string(),
            }
        })
}

/// `tls:`
pub(crate) async fn tls(ctx: &Ctx, c: &TlsCheck) -> Eval {
    let name = c.server_name.clone().unwrap_or_else(|| c.service.clone());
    let what = format!("TLS on {}", c.service);
    let host_port = match ctx.host_port(&c.service, c.port) {
        Ok(p) => p,
        Err(e) => return Eval::fail(what, e).settled(),
    };
    let addr = format!("127.0.0.1:{host_port}");
    let identity = match &c.client_cert {
        Some(cc) => match load_identity(&ctx.workspace, cc) {
            Ok(i) => Some(i),
            Err(e) => return Eval::fail(what, e).settled(),
        },
        None => None,
    };
    let all = [TlsVersion::Tls12, TlsVersion::Tls13];
    let main = attempt(&addr, &name, &all, identity.as_ref()).await;
    if !main.connected {
        return Eval::fail(what, main.error.unwrap_or_default());
    }
    let e = &c.expect;
    let want_ok = e.handshake != Some(Handshake::Fails);
    let cert = main.certs.first().map(facts).transpose();
    let cert = match cert {
        Ok(f) => f,
        Err(err) => return Eval::fail(what, err).settled(),
    };
    let mut seen = Vec::new();
    if let Some(v) = &main.version {
        seen.push(v.clone());
    }
    if let Some(f) = &cert {
        seen.push(format!(
            "certificate {} issued by {}, names [{}], expires in {:.0} days",
            f.subject,
            f.issuer,
            f.names.join(", "),
            f.days_left
        ));
    }
    let observed = |extra: &str| {
        let mut s = seen.clone();
        if !extra.is_empty() {
            s.insert(0, extra.to_string());
        }
        if s.is_empty() {
            "no session".to_string()
        } else {
            s.join("; ")
        }
    };
    let fail = |expected: String, obs: String| Eval::fail(expected, obs).settled();
    match (want_ok, &main.error) {
        (true, Some(err)) => {
            return fail(
                format!("a TLS session with {} ({name})", c.service),
                observed(err),
            );
        }
        (false, None) => {
            let how = if identity.is_some() {
                "with this client certificate"
            } else {
                "without a client certificate"
            };
            return fail(
                format!("no TLS session {how}"),
                observed("the session opened and the server answered"),
            );
        }
        _ => {}
    }
    let need_cert =
        e.verifies_with.is_some() || e.san.is_some() || e.expires_in_days.is_some() || e.issuer.is_some();
    if need_cert && cert.is_none() {
        return fail(
            "a certificate served".to_string(),
            observed(main.error.as_deref().unwrap_or("no certificate")),
        );
    }
    if let (Some(ca), Some(f)) = (&e.verifies_with, &cert)
        && let Err(why) = verify(&ctx.workspace, ca, &main.certs, &name, f)
    {
        return fail(
            format!("a chain that verifies with {ca} for `{name}`"),
            observed(&why),
        );
    }
    if let Some(f) = &cert {
        let names = Value::from(f.names.clone());
        if let Some(cmp) = &e.san
            && let Err(why) = cmp.check(Some(&names))
        {
            return fail(format!("certificate names {}", cmp.describe()), observed(&why));
        }
        if let Some(cmp) = &e.expires_in_days
            && let Err(why) = cmp.check(Some(&Value::from(f.days_left.floor())))
        {
            return fail(
                format!("days until expiry {}", cmp.describe()),
                observed(&format!("{} days left ({why})", f.days_left.floor())),
            );
        }
        if let Some(cmp) = &e.issuer
            && let Err(why) = cmp.check(Some(&Value::from(f.issuer.clone())))
        {
            return fail(format!("issuer {}", cmp.describe()), observed(&why));
        }
    }
    for v in &e.accepts {
        let s = attempt(&addr, &name, &[*v], identity.as_ref()).await;
        if let Some(err) = s.error {
            return fail(format!("{v} accepted"), observed(&format!("{v} refused: {err}")));
        }
    }
    for v in &e.rejects {
        let s = attempt(&addr, &name, &[*v], identity.as_ref()).await;
        if s.ok() {
            return fail(format!("{v} refused"), observed(&format!("{v} accepted")));
        }
    }
    if let Some(required) = e.client_auth_required {
        let anon = attempt(&addr, &name, &all, None).await;
        let refused = !anon.ok()
            && (anon.version.is_some() || anon.error.as_deref().is_some_and(|t| t.contains("certificate")));
        if refused != required {
            let expected = if required {
                "a client without a certificate refused"
            } else {
                "a client without a certificate served"
            };
            let got = if refused {
                format!("refused: {}", anon.error.unwrap_or_default())
            } else if anon.ok() {
                "served: client_auth_type does not require a certificate".to_string()
            } else {
                anon.error.unwrap_or_default()
            };
            return fail(expected.to_string(), observed(&got));
        }
    }
    let expected = if want_ok {
        format!("a TLS session with {} ({name})", c.service)
    } else {
        "no TLS session".to_string()
    };
    Eval::pass(expected, observed(main.error.as_deref().unwrap_or("")))
}

impl Judge for TlsCheck {
    fn judge<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, Eval> {
        Box::pin(tls(ctx, self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_is_named() {
        assert!(explain("received corrupt message of type InvalidContentType").contains("plain HTTP"));
        assert!(explain("received fatal alert: CertificateRequired").contains("client certificate"));
        assert!(explain("received fatal alert: InternalError").contains("certificate or key file"));
        assert_eq!(explain("other"), "other");
    }
}
