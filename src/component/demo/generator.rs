//! The demo's internal loop (generated traffic along the instance's pattern,
//! heartbeat, slow gauges, fault expiry) and its pre-accumulation for
//! `DEMO_AGE`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::Demo;
use super::pattern::fnv1a;
use crate::component::time::unix_now;

/// Period of the internal loop (traffic, heartbeat, fault expiry).
pub(super) const TICK: Duration = Duration::from_millis(100);

/// Ticks between slow changes (queue depth, jobs, sessions): one second.
pub(super) const SLOW_EVERY: u64 = 10;

/// Step of the pre-accumulation, seconds (one slow change per step).
const AGE_STEP_S: f64 = 1.0;

/// The generator's random numbers: a pure function of seed and instance.
pub(super) fn rng(seed: u64, instance: &str) -> StdRng {
    StdRng::seed_from_u64(seed ^ fnv1a(instance))
}

/// Makes `demo` look as if it had run for `age_s` seconds: replays the
/// pattern from pattern time 0 to `age_s` in steps of one second (requests,
/// jobs, slow gauges), without logging. Returns the requests replayed.
pub(super) fn preaccumulate(demo: &Demo, age_s: f64, rng: &mut StdRng) -> u64 {
    demo.metrics().gauges.queue_depth.set(rng.random_range(5..=15));
    let mut budget = 0.0;
    let mut replayed = 0;
    let mut t = 0.0;
    while t < age_s {
        let dt = AGE_STEP_S.min(age_s - t);
        let mid = t + dt / 2.0;
        budget += demo.pattern.rate(mid) * dt;
        while budget >= 1.0 {
            budget -= 1.0;
            demo.simulate_one(mid, rng, false);
            replayed += 1;
        }
        demo.slow_tick(rng);
        t += dt;
    }
    replayed
}

/// The internal loop: generated traffic, heartbeat, slow gauges, expiry.
pub(super) async fn run(demo: Arc<Demo>, mut rng: StdRng) {
    let mut ticker = tokio::time::interval(TICK);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut budget = 0.0;
    let mut running: Vec<Instant> = Vec::new();
    let mut shown: i64 = 0;
    let mut ticks: u64 = 0;
    let mut last = Instant::now();
    loop {
        ticker.tick().await;
        let now = Instant::now();
        let t = demo.clock.at(now);
        demo.reconcile(unix_now());
        // The time since the last tick, not TICK: on a busy host ticks are skipped, and the
        // rate must stay the pattern's (at most a second, so a paused container does not
        // catch up in one burst).
        let elapsed = now.saturating_duration_since(last).as_secs_f64().min(1.0);
        last = now;
        budget += demo.pattern.rate(t) * elapsed;
        while budget >= 1.0 {
            budget -= 1.0;
            let d = demo.simulate_one(t, &mut rng, true);
            running.push(now + Duration::from_secs_f64(d));
        }
        // Generated requests are "in flight" until their drawn duration ends.
        running.retain(|end| *end > now);
        let inflight = i64::try_from(running.len()).unwrap_or(i64::MAX);
        let m = demo.metrics();
        m.gauges.inflight.inc_by(inflight - shown);
        shown = inflight;
        if ticks.is_multiple_of(SLOW_EVERY) {
            demo.slow_tick(&mut rng);
        }
        m.gauges.heartbeat.set(unix_now());
        ticks += 1;
    }
}
