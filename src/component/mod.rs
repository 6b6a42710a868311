//! Built-in lab components (placeholder until the demo workload and sink land).

pub mod image;

/// Errors of the built-in components.
#[derive(Debug, thiserror::Error)]
pub enum ComponentError {
    /// Cannot listen.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// Address.
        addr: String,
        /// Cause.
        source: std::io::Error,
    },
}

/// Demo options.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Listen address.
    pub listen: std::net::SocketAddr,
    /// Instance name.
    pub instance: String,
    /// Seed.
    pub seed: u64,
    /// Requests per second.
    pub traffic_rps: f64,
    /// Version.
    pub version: String,
}

/// Sink options.
#[derive(Debug, Clone)]
pub struct SinkOptions {
    /// Listen address.
    pub listen: std::net::SocketAddr,
}

/// Runs the demo.
pub async fn run_demo(
    _opts: DemoOptions,
    _shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), ComponentError> {
    Ok(())
}

/// Runs the sink.
pub async fn run_sink(
    _opts: SinkOptions,
    _shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), ComponentError> {
    Ok(())
}
