//! Polling with a deadline: try, and while the answer is not there yet and time is left, wait
//! a beat and try again. The one loop every "wait until …" in promlab is written with.

use std::future::Future;
use std::time::{Duration, Instant};

/// Calls `attempt` until it returns `Ok`, or `within` has passed, sleeping `every` between
/// attempts (never past the deadline). It always tries at least once; on timeout it returns
/// the last attempt's result.
pub async fn until_ok<T, E, F, Fut>(within: Duration, every: Duration, mut attempt: F) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let deadline = Instant::now() + within;
    loop {
        let result = attempt().await;
        let left = deadline.saturating_duration_since(Instant::now());
        if result.is_ok() || left.is_zero() {
            return result;
        }
        tokio::time::sleep(every.min(left)).await;
    }
}

/// Calls `holds` until it returns true, or `within` has passed, sleeping `every` between
/// attempts; whether it held.
pub async fn until<F, Fut>(within: Duration, every: Duration, mut holds: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    until_ok(within, every, || {
        let fut = holds();
        async move { if fut.await { Ok(()) } else { Err(()) } }
    })
    .await
    .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn stops_at_the_first_success() {
        let mut n = 0;
        let r: Result<u32, u32> = until_ok(Duration::from_secs(5), Duration::from_millis(1), || {
            n += 1;
            let k = n;
            async move { if k == 3 { Ok(k) } else { Err(k) } }
        })
        .await;
        assert_eq!(r, Ok(3));
    }

    #[tokio::test]
    async fn gives_the_last_failure_at_the_deadline() {
        let t = Instant::now();
        let mut n = 0;
        let r: Result<(), u32> = until_ok(Duration::from_millis(200), Duration::from_millis(50), || {
            n += 1;
            let k = n;
            async move { Err(k) }
        })
        .await;
        assert!(t.elapsed() >= Duration::from_millis(200), "{:?}", t.elapsed());
        assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
        assert!(matches!(r, Err(k) if k >= 3), "{r:?}");
        assert!(!until(Duration::ZERO, Duration::from_millis(1), || async { false }).await);
        assert!(until(Duration::ZERO, Duration::from_millis(1), || async { true }).await);
    }
}
