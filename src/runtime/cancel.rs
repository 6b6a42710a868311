//! Cancellation of a command that changes Docker: set once by the signal handler (or a
//! test), read by every step. Steps that only read (image checks, pulls, readiness waits)
//! are aborted at once; steps that create or remove objects run to their end and are
//! followed by a check, so no create request is ever in flight when the rollback lists
//! what to remove.

use std::future::Future;
use std::sync::{Arc, OnceLock};

use tokio_util::sync::CancellationToken;

use super::RuntimeError;

/// A cancellation flag shared by a command's steps, with the reason it was set.
#[derive(Debug, Clone, Default)]
pub struct Cancel {
    token: CancellationToken,
    reason: Arc<OnceLock<String>>,
}

impl Cancel {
    /// A flag that is not set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the flag; the first reason (`SIGINT`, `SIGTERM`) is kept.
    pub fn cancel(&self, reason: &str) {
        let _ = self.reason.set(reason.to_string());
        self.token.cancel();
    }

    /// Whether the flag is set.
    pub fn is_cancelled(&self) -> bool {
        self.token.is_cancelled()
    }

    /// Why the flag was set, once it is.
    pub fn reason(&self) -> Option<&str> {
        self.reason.get().map(String::as_str)
    }

    /// Resolves once the flag is set.
    pub async fn cancelled(&self) {
        self.token.cancelled().await;
    }

    /// `Err(Interrupted)` once the flag is set: the check after a step that changed Docker.
    pub fn check(&self) -> Result<(), RuntimeError> {
        if self.is_cancelled() {
            Err(RuntimeError::Interrupted)
        } else {
            Ok(())
        }
    }

    /// Runs a step that only reads (or whose effects need no rollback), abandoning it as soon
    /// as the flag is set: `None` then.
    pub async fn abortable<F: Future>(&self, step: F) -> Option<F::Output> {
        if self.is_cancelled() {
            return None;
        }
        tokio::select! {
            biased;
            () = self.token.cancelled() => None,
            out = step => Some(out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_set_flag_stops_reading_steps_and_fails_checks() {
        let c = Cancel::new();
        assert!(c.check().is_ok());
        assert_eq!(c.abortable(async { 7 }).await, Some(7));
        let waiting = c.clone();
        let pending = tokio::spawn(async move { waiting.abortable(std::future::pending::<()>()).await });
        c.cancel("SIGTERM");
        c.cancel("SIGINT");
        assert_eq!(pending.await.unwrap(), None);
        assert_eq!(c.reason(), Some("SIGTERM"));
        assert!(matches!(c.check(), Err(RuntimeError::Interrupted)));
        assert_eq!(c.abortable(async { 7 }).await, None);
    }
}
