//! The one HTTP client factory (timeouts, user agent), the one place a URL's scheme is
//! switched to HTTPS, and error-chain → one-line text.

use std::time::Duration;

/// A client for talking to lab services on 127.0.0.1.
pub fn client(timeout: Duration) -> reqwest::Client {
    #[expect(
        clippy::disallowed_methods,
        reason = "this is the one place clients are built"
    )]
    let builder = reqwest::Client::builder();
    builder
        .timeout(timeout)
        .connect_timeout(Duration::from_secs(2))
        .user_agent(concat!("promlab/", env!("CARGO_PKG_VERSION")))
        .no_proxy()
        // promlab's own API calls go to the lab's services on 127.0.0.1; whether a
        // certificate is right is for the `tls` check kind to judge, against the learner's CA.
        .danger_accept_invalid_certs(true)
        .pool_max_idle_per_host(4)
        .build()
        .unwrap_or_default()
}

/// The scheme a lab service speaks: plain HTTP unless its web config turns TLS on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scheme {
    /// `http://`
    Http,
    /// `https://`
    Https,
}

impl Scheme {
    /// The URL prefix (`http://`, `https://`).
    pub(crate) fn prefix(self) -> &'static str {
        match self {
            Scheme::Http => "http://",
            Scheme::Https => "https://",
        }
    }

    /// `url` (`http://…` or `https://…`) with this scheme; any other text is returned as is.
    pub(crate) fn rebase(self, url: &str) -> String {
        let rest = url
            .strip_prefix(Scheme::Http.prefix())
            .or_else(|| url.strip_prefix(Scheme::Https.prefix()));
        match rest {
            Some(rest) => format!("{}{rest}", self.prefix()),
            None => url.to_string(),
        }
    }
}

/// Whether an answer to a plain-HTTP request says the port speaks HTTPS: Go's servers
/// answer 400 "Client sent an HTTP request to an HTTPS server".
pub fn is_https_refusal(status: u16, body: &str) -> bool {
    status == 400 && body.contains("HTTPS server")
}

/// Whether a server on `base` (`http://127.0.0.1:PORT`) speaks HTTPS (see
/// `is_https_refusal`; a server that drops plain requests is asked over HTTPS).
pub async fn serves_https(client: &reqwest::Client, base: &str) -> bool {
    let plain = client
        .get(format!("{base}/"))
        .timeout(Duration::from_secs(3))
        .send()
        .await;
    match plain {
        Ok(r) if r.status().as_u16() == 400 => r.text().await.is_ok_and(|b| is_https_refusal(400, &b)),
        Ok(_) => false,
        Err(_) => {
            let tls = Scheme::Https.rebase(base);
            client
                .get(format!("{tls}/"))
                .timeout(Duration::from_secs(3))
                .send()
                .await
                .is_ok()
        }
    }
}

/// The default client for checks (10 s timeout).
pub fn default_client() -> reqwest::Client {
    client(Duration::from_secs(10))
}

/// A reqwest error as one line: the innermost cause, which is what users can act on.
pub fn describe(e: &reqwest::Error) -> String {
    let mut msg = e.to_string();
    let mut src: Option<&dyn std::error::Error> = std::error::Error::source(e);
    while let Some(s) = src {
        msg = s.to_string();
        src = s.source();
    }
    if e.is_timeout() {
        return "timed out".to_string();
    }
    if e.is_connect() {
        return format!("connection failed ({msg})");
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scheme_replaces_the_other_one() {
        assert_eq!(
            Scheme::Https.rebase("http://127.0.0.1:9090/x"),
            "https://127.0.0.1:9090/x"
        );
        assert_eq!(
            Scheme::Http.rebase("https://127.0.0.1:9090"),
            "http://127.0.0.1:9090"
        );
        assert_eq!(Scheme::Https.rebase("https://h"), "https://h");
        assert_eq!(Scheme::Https.rebase("unix:///x"), "unix:///x");
        assert_eq!(Scheme::Https.prefix(), "https://");
    }
}
