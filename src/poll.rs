//! Polling with a deadline: the one loop behind every "try, wait a little, try again until
//! done or out of time" in promlab (readiness probes, checked removal, answers that settle,
//! reload logs). `until` is the loop; `until_ok` and `holds_within` are its two common shapes.

use std::future::Future;
use std::ops::ControlFlow;
use std::time::Duration;

use tokio::time::Instant;

/// Runs `attempt` until it breaks or `deadline` has passed, sleeping `interval` between
/// attempts. `attempt` runs at least once, and once more after the last sleep, so a deadline
/// never cuts a wait short of a last look.
///
/// `ControlFlow::Break(done)` ends the poll with `Ok(done)`; `ControlFlow::Continue(last)`
/// means "not yet", and the last such value is returned as `Err(last)` when time is up (it
/// says what was seen, for the error message).
pub(crate) async fn until<B, C>(
    deadline: Instant,
    interval: Duration,
    mut attempt: impl AsyncFnMut() -> ControlFlow<B, C>,
) -> Result<B, C> {
    loop {
        match attempt().await {
            ControlFlow::Break(done) => return Ok(done),
            ControlFlow::Continue(last) if Instant::now() >= deadline => return Err(last),
            ControlFlow::Continue(_) => tokio::time::sleep(interval).await,
        }
    }
}

/// The deadline `budget` after `started` (a `std` instant, as the callers keep them).
pub(crate) fn deadline_after(started: std::time::Instant, budget: Duration) -> Instant {
    Instant::from_std(started) + budget
}

/// Calls `attempt` until it returns `Ok`, or `within` has passed, sleeping `every` between
/// attempts. It always tries at least once; on timeout it returns the last attempt's result.
pub(crate) async fn until_ok<T, E, F, Fut>(within: Duration, every: Duration, mut attempt: F) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    until(Instant::now() + within, every, async || match attempt().await {
        Ok(v) => ControlFlow::Break(v),
        Err(e) => ControlFlow::Continue(e),
    })
    .await
}

/// Calls `holds` until it returns true, or `within` has passed, sleeping `every` between
/// attempts; whether it held.
pub(crate) async fn holds_within<F, Fut>(within: Duration, every: Duration, mut holds: F) -> bool
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

    const TICK: Duration = Duration::from_millis(5);

    #[tokio::test]
    async fn returns_what_the_attempt_breaks_with() {
        let mut n = 0;
        let got = until(Instant::now() + Duration::from_secs(10), TICK, async || {
            n += 1;
            if n == 3 {
                ControlFlow::Break(n)
            } else {
                ControlFlow::Continue("not yet")
            }
        })
        .await;
        assert_eq!(got, Ok(3));
    }

    #[tokio::test]
    async fn gives_the_last_observation_at_the_deadline() {
        let start = Instant::now();
        let budget = Duration::from_millis(50);
        let mut n = 0;
        let got: Result<(), u32> = until(start + budget, TICK, async || {
            n += 1;
            ControlFlow::Continue(n)
        })
        .await;
        assert!(start.elapsed() >= budget, "{:?}", start.elapsed());
        // Every attempt but the last was followed by a sleep of TICK within the budget.
        let last = got.unwrap_err();
        assert!((2..=11).contains(&last), "{last} attempts");
        assert_eq!(last, n);
    }

    #[tokio::test]
    async fn attempts_once_even_when_the_deadline_has_passed() {
        let start = Instant::now();
        let got: Result<(), &str> = until(start, Duration::from_secs(60), async || {
            ControlFlow::Continue("late")
        })
        .await;
        assert_eq!(got, Err("late"));
        assert!(start.elapsed() < Duration::from_secs(60));
    }

    #[test]
    fn a_deadline_is_the_budget_after_the_start() {
        let started = std::time::Instant::now();
        let d = deadline_after(started, Duration::from_secs(3));
        assert_eq!(d - Instant::from_std(started), Duration::from_secs(3));
    }

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
        assert!(!holds_within(Duration::ZERO, Duration::from_millis(1), || async { false }).await);
        assert!(holds_within(Duration::ZERO, Duration::from_millis(1), || async { true }).await);
    }
}
