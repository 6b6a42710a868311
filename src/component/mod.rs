//! The programs promlab runs inside lab containers: the `demo` workload (an
//! HTTP service that generates its own traffic, exposes rich metrics and can
//! be told to misbehave) and the Alertmanager webhook `sink` (records every
//! notification for the graders to inspect).
//!
//! Both run until the given shutdown future resolves or the process receives
//! SIGTERM (what `docker stop` sends to PID 1), and log one line per event to
//! stdout.

mod demo;
pub mod exposition;
pub mod fault;
pub mod image;
mod metrics;
mod sink;
pub mod time;

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpListener;

pub use demo::pattern;

/// How long in-flight requests may run on after shutdown is asked for.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// Why the demo or the sink could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ComponentError {
    /// The listen address could not be bound.
    #[error(
        "could not listen on {addr}: {source}; check that no other process uses that port, or pass another --listen address"
    )]
    Bind {
        /// The address asked for.
        addr: String,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// The HTTP server failed while running.
    #[error("the {component} server on {addr} failed: {source}; restart it")]
    Serve {
        /// `demo` or `sink`.
        component: &'static str,
        /// The address it listened on.
        addr: String,
        /// What went wrong.
        #[source]
        source: std::io::Error,
    },
    /// An option has a value the component cannot work with.
    #[error("invalid {option} {value:?}: {reason}")]
    InvalidOption {
        /// The option, e.g. `traffic_rps`.
        option: &'static str,
        /// The rejected value, as text.
        value: String,
        /// What a valid value looks like.
        reason: &'static str,
    },
    /// The server task ended abnormally (it panicked or was cancelled).
    #[error("the {component} server stopped unexpectedly: {detail}; restart it")]
    Crashed {
        /// `demo` or `sink`.
        component: &'static str,
        /// What the runtime reported.
        detail: String,
    },
}

/// Options of the demo workload.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoOptions {
    /// Address to serve HTTP on, e.g. `0.0.0.0:8080`.
    pub listen: SocketAddr,
    /// This instance's name, e.g. `demo-1`; also its host name in `/sd`.
    pub instance: String,
    /// Seeds the generated traffic (together with `instance`).
    pub seed: u64,
    /// Requests per second the internal traffic generator sends (0..=1000).
    pub traffic_rps: f64,
    /// The `version` label of `demo_build_info` (by default the instance's
    /// build: see [`pattern::default_build`]).
    pub version: String,
    /// Seconds the demo behaves as if it had already run (`DEMO_AGE`): its
    /// counters start pre-accumulated along the pattern, whose phase goes on
    /// from there.
    pub age_s: f64,
}

impl Default for DemoOptions {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([0, 0, 0, 0], 8080)),
            instance: "demo-1".to_string(),
            seed: 1,
            traffic_rps: 5.0,
            version: "1.4.2".to_string(),
            age_s: 0.0,
        }
    }
}

/// Options of the webhook sink.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SinkOptions {
    /// Address to serve HTTP on, e.g. `0.0.0.0:9099`.
    pub listen: SocketAddr,
}

impl Default for SinkOptions {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([0, 0, 0, 0], 9099)),
        }
    }
}

/// Reads `DEMO_AGE` (`None` when unset): seconds, optionally with an `s`,
/// `m` or `h` suffix (`600`, `600s`, `10m`, `2h`).
pub fn parse_age(value: Option<&str>) -> Result<f64, ComponentError> {
    let Some(raw) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(0.0);
    };
    let (number, unit) = match raw.char_indices().last() {
        Some((i, 's')) => (&raw[..i], 1.0),
        Some((i, 'm')) => (&raw[..i], 60.0),
        Some((i, 'h')) => (&raw[..i], 3600.0),
        _ => (raw, 1.0),
    };
    let invalid = || ComponentError::InvalidOption {
        option: "DEMO_AGE",
        value: raw.to_string(),
        reason: "give the age in seconds (e.g. DEMO_AGE=600, or 10m, 2h), at most one week",
    };
    let seconds = number.trim().parse::<f64>().map_err(|_| invalid())? * unit;
    if seconds.is_finite() && (0.0..=demo::MAX_AGE_S).contains(&seconds) {
        Ok(seconds)
    } else {
        Err(invalid())
    }
}

/// Runs the demo workload until `shutdown` resolves or SIGTERM arrives.
pub async fn run_demo(
    opts: DemoOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ComponentError> {
    demo::validate(&opts)?;
    let stop = StopSignal::install(shutdown);
    let listener = bind(opts.listen).await?;
    demo::serve(listener, opts, stop).await
}

/// Runs the webhook sink until `shutdown` resolves or SIGTERM arrives.
pub async fn run_sink(
    opts: SinkOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ComponentError> {
    let stop = StopSignal::install(shutdown);
    let listener = bind(opts.listen).await?;
    sink::serve(listener, stop, sink::SLOW_DELAY).await
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, ComponentError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| ComponentError::Bind {
            addr: addr.to_string(),
            source,
        })
}

/// The caller's shutdown future, or SIGTERM, whichever comes first.
struct StopSignal {
    inner: std::pin::Pin<Box<dyn Future<Output = &'static str> + Send>>,
}

impl std::fmt::Debug for StopSignal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StopSignal")
    }
}

impl StopSignal {
    /// Registers the SIGTERM handler now, so a SIGTERM that arrives while
    /// the server is still starting is not lost.
    fn install(shutdown: impl Future<Output = ()> + Send + 'static) -> Self {
        let sigterm = sigterm_stream();
        let inner = Box::pin(async move {
            tokio::select! {
                () = shutdown => "shutdown requested",
                () = wait_sigterm(sigterm) => "SIGTERM received",
            }
        });
        Self { inner }
    }

    #[cfg(test)]
    fn from_future(shutdown: impl Future<Output = ()> + Send + 'static) -> Self {
        Self {
            inner: Box::pin(async move {
                shutdown.await;
                "shutdown requested"
            }),
        }
    }

    async fn wait(self) -> &'static str {
        self.inner.await
    }
}

#[cfg(unix)]
type Sigterm = tokio::signal::unix::Signal;

#[cfg(unix)]
fn sigterm_stream() -> Option<Sigterm> {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(s) => Some(s),
        Err(e) => {
            println!(
                "event=warning msg=\"cannot handle SIGTERM: {e}; stop with the shutdown signal instead\""
            );
            None
        }
    }
}

#[cfg(unix)]
async fn wait_sigterm(sigterm: Option<Sigterm>) {
    match sigterm {
        Some(mut s) => {
            s.recv().await;
        }
        None => std::future::pending::<()>().await,
    }
}

#[cfg(not(unix))]
type Sigterm = ();

#[cfg(not(unix))]
fn sigterm_stream() -> Option<Sigterm> {
    None
}

#[cfg(not(unix))]
async fn wait_sigterm(_sigterm: Option<Sigterm>) {
    std::future::pending::<()>().await
}

/// Serves `router` on `listener` until `stop`; then lets in-flight requests
/// finish for up to [`SHUTDOWN_GRACE`] and drops the rest.
async fn serve_until(
    component: &'static str,
    listener: TcpListener,
    router: axum::Router,
    stop: StopSignal,
) -> Result<(), ComponentError> {
    let addr = listener
        .local_addr()
        .map_or_else(|_| "?".to_string(), |a| a.to_string());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = axum::serve(listener, router).with_graceful_shutdown(async move {
        let _ = rx.await;
    });
    let mut task = tokio::spawn(async move { server.await });
    let joined = tokio::select! {
        joined = &mut task => joined,
        why = stop.wait() => {
            println!("event=stopping component={component} reason=\"{why}\"");
            let _ = tx.send(());
            match tokio::time::timeout(SHUTDOWN_GRACE, &mut task).await {
                Ok(joined) => joined,
                Err(_) => {
                    task.abort();
                    println!(
                        "event=stopping component={component} msg=\"in-flight requests did not finish within {}s; closed them\"",
                        SHUTDOWN_GRACE.as_secs()
                    );
                    Ok(Ok(()))
                }
            }
        }
    };
    match joined {
        Ok(Ok(())) => {
            println!("event=stopped component={component}");
            Ok(())
        }
        Ok(Err(source)) => Err(ComponentError::Serve {
            component,
            addr,
            source,
        }),
        Err(e) => Err(ComponentError::Crashed {
            component,
            detail: e.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bind_error_says_what_to_do() {
        let taken = match TcpListener::bind("127.0.0.1:0").await {
            Ok(l) => l,
            Err(e) => panic!("{e}"),
        };
        let addr = match taken.local_addr() {
            Ok(a) => a,
            Err(e) => panic!("{e}"),
        };
        let opts = SinkOptions { listen: addr };
        let err = run_sink(opts, std::future::ready(())).await;
        let msg = match err {
            Err(e @ ComponentError::Bind { .. }) => e.to_string(),
            other => panic!("expected a bind error, got {other:?}"),
        };
        assert!(msg.starts_with(&format!("could not listen on {addr}")), "{msg}");
        assert!(msg.contains("--listen"), "{msg}");
    }

    #[test]
    fn demo_age_is_read_in_seconds_or_with_a_unit() {
        for (raw, want) in [
            (None, 0.0),
            (Some(""), 0.0),
            (Some("600"), 600.0),
            (Some("600s"), 600.0),
            (Some("10m"), 600.0),
            (Some(" 2h "), 7200.0),
            (Some("1.5"), 1.5),
        ] {
            assert_eq!(parse_age(raw).ok(), Some(want), "{raw:?}");
        }
        for raw in ["abc", "-5", "10d", "8h5", "700000", "inf"] {
            let e = parse_age(Some(raw))
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(
                e.starts_with(&format!("invalid DEMO_AGE {raw:?}: give the age in seconds")),
                "{e}"
            );
        }
    }

    #[tokio::test]
    async fn demo_rejects_bad_options() {
        let opts = DemoOptions {
            traffic_rps: -1.0,
            ..DemoOptions::default()
        };
        let err = run_demo(opts, std::future::ready(())).await;
        assert!(
            matches!(
                err,
                Err(ComponentError::InvalidOption {
                    option: "traffic_rps",
                    ..
                })
            ),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn both_stop_when_shutdown_resolves() {
        let demo = DemoOptions {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            ..DemoOptions::default()
        };
        let sink = SinkOptions {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        };
        let done = tokio::time::timeout(Duration::from_secs(5), async {
            let d = run_demo(demo, tokio::time::sleep(Duration::from_millis(300))).await;
            let s = run_sink(sink, tokio::time::sleep(Duration::from_millis(100))).await;
            (d, s)
        })
        .await;
        match done {
            Ok((Ok(()), Ok(()))) => {}
            other => panic!("{other:?}"),
        }
    }
}
