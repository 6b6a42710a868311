//! The demo's traffic pattern: request rate, latency scale, baseline error
//! share, route mix and error-code mix of one instance, as pure functions of
//! (seed, instance, pattern time).
//!
//! Pattern time `t` is seconds since the instance (virtually) started: the
//! live generator uses `DEMO_AGE + seconds since the process started`, and
//! `DEMO_AGE` pre-accumulates `0..DEMO_AGE` along the same functions, so the
//! phase is the same whatever the age.
//!
//! ```text
//! rate(t)    = level * (1 + slow(t) + mid(t) + fast(t)) * burst(t)
//! wave(t)    = A * sin(2*pi*t/P + phase)
//!              slow: P in [30, 60) min, A = 0.15 · mid: P in [3, 7) min, A = 0.30
//!              fast: P in [35, 70) s,   A = 0.25
//! burst(t)   = 2..3 for 20..45 s in half of the 10-minute slots, else 1
//! latency(t) = scale * exp(0.25 * sin(2*pi*t/P + phase)) * (1.15 while bursting)
//!              P in [4, 10) min; a request to a route takes median_route * latency(t)
//!              * exp(sigma_route * N(0,1))
//! errors(t)  = share * (1 + 0.7 * sin(2*pi*t/P + phase)), P in [2, 5) min
//! ```
//!
//! `level` (0.75..1.25 times the mean rate asked for), `scale` (0.8..1.25),
//! `share` (0.4 %..1.6 %), every period and phase, the route weights and the
//! 500/502/503 mix are drawn from `seed` and the instance name, so every
//! instance differs from the others and is the same on every run.

use std::f64::consts::TAU;

/// Length of a burst slot: at most one burst per slot.
pub const BURST_SLOT_S: f64 = 600.0;

/// The 5xx codes an error gets, in the order of [`Pattern::code_weights`].
pub const ERROR_CODES: [&str; 3] = ["500", "502", "503"];

/// Base weights of the generated (route, method) mix, in the order of
/// `metrics::TRAFFIC_MIX`: orders GET, orders POST, checkout POST, users GET,
/// search GET.
const BASE_ROUTE_WEIGHTS: [f64; 5] = [25.0, 10.0, 10.0, 25.0, 30.0];

/// splitmix64: a stable mixer (unlike std's hasher) for the pattern's draws.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// FNV-1a of `text`, to mix the instance name into the seed.
pub fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// A uniform draw in [0, 1) from `key` and a salt naming what it is for.
fn unit(key: u64, salt: u64) -> f64 {
    // 53 bits: exactly representable.
    let v = (mix(key ^ mix(salt)) >> 11) as f64;
    v / (1u64 << 53) as f64
}

/// `lo + (hi - lo) * unit`.
fn between(key: u64, salt: u64, lo: f64, hi: f64) -> f64 {
    lo + (hi - lo) * unit(key, salt)
}

/// One sine component: `amplitude * sin(2*pi*t/period + phase)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Wave {
    /// Seconds.
    pub period_s: f64,
    /// Radians.
    pub phase: f64,
    /// Relative amplitude.
    pub amplitude: f64,
}

impl Wave {
    fn draw(key: u64, salt: u64, periods_s: (f64, f64), amplitude: f64) -> Self {
        Self {
            period_s: between(key, salt, periods_s.0, periods_s.1),
            phase: between(key, salt + 1, 0.0, TAU),
            amplitude,
        }
    }

    /// The wave's value at `t` seconds.
    pub fn at(&self, t: f64) -> f64 {
        self.amplitude * (TAU * t / self.period_s + self.phase).sin()
    }
}

/// One instance's pattern.
#[derive(Debug, Clone, PartialEq)]
pub struct Pattern {
    key: u64,
    /// Requests per second around which the rate varies.
    pub level_rps: f64,
    /// Periods of minutes to an hour (separates 5m from 1h windows).
    pub slow: Wave,
    /// Periods of a few minutes (separates 1m from 5m windows).
    pub mid: Wave,
    /// Periods under a minute (separates irate from a 1m rate).
    pub fast: Wave,
    /// Multiplies every route's median latency.
    pub latency_scale: f64,
    /// Varies the latency scale over time.
    pub latency_wave: Wave,
    /// Mean share of requests that fail without any fault.
    pub error_share: f64,
    /// Varies the error share over time.
    pub error_wave: Wave,
    /// Weights of the (route, method) mix, as `BASE_ROUTE_WEIGHTS`.
    pub route_weights: [f64; 5],
    /// Weights of 500, 502, 503 among failed requests.
    pub code_weights: [f64; 3],
}

/// A burst: the rate is multiplied by `factor` during `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Burst {
    /// Pattern time the burst starts.
    pub start: f64,
    /// Pattern time it ends.
    pub end: f64,
    /// Rate multiplier while it lasts.
    pub factor: f64,
}

impl Pattern {
    /// The pattern of `instance` started with `seed`, around `mean_rps`.
    pub fn new(seed: u64, instance: &str, mean_rps: f64) -> Self {
        let key = mix(seed) ^ fnv1a(instance);
        let mut route_weights = BASE_ROUTE_WEIGHTS;
        for (i, w) in (0u64..).zip(route_weights.iter_mut()) {
            *w *= between(key, 100 + i, 0.5, 1.5);
        }
        let w500 = between(key, 200, 0.45, 0.75);
        let w502 = (1.0 - w500) * between(key, 201, 0.3, 0.7);
        Self {
            key,
            level_rps: mean_rps * between(key, 1, 0.75, 1.25),
            slow: Wave::draw(key, 10, (1800.0, 3600.0), 0.15),
            mid: Wave::draw(key, 20, (180.0, 420.0), 0.30),
            fast: Wave::draw(key, 30, (35.0, 70.0), 0.25),
            latency_scale: between(key, 2, 0.8, 1.25),
            latency_wave: Wave::draw(key, 40, (240.0, 600.0), 0.25),
            error_share: between(key, 3, 0.004, 0.016),
            error_wave: Wave::draw(key, 50, (120.0, 300.0), 0.7),
            route_weights,
            code_weights: [w500, w502, 1.0 - w500 - w502],
        }
    }

    /// The burst of the slot holding `t`, if that slot has one.
    pub fn burst_near(&self, t: f64) -> Option<Burst> {
        let slot = (t / BURST_SLOT_S).floor();
        // Slots are whole numbers of 10 minutes; negative times have none.
        let n = if slot >= 0.0 { slot as u64 } else { return None };
        let salt = 1_000 + 4 * n;
        if unit(self.key, salt) >= 0.5 {
            return None;
        }
        let start = slot * BURST_SLOT_S + between(self.key, salt + 1, 30.0, BURST_SLOT_S - 60.0);
        let length = between(self.key, salt + 2, 20.0, 45.0);
        Some(Burst {
            start,
            end: start + length,
            factor: between(self.key, salt + 3, 2.0, 3.0),
        })
    }

    /// The burst under way at `t`, if any.
    pub fn burst_at(&self, t: f64) -> Option<Burst> {
        self.burst_near(t).filter(|b| (b.start..b.end).contains(&t))
    }

    /// Requests per second at `t`.
    pub fn rate(&self, t: f64) -> f64 {
        let waves = 1.0 + self.slow.at(t) + self.mid.at(t) + self.fast.at(t);
        self.level_rps * waves * self.burst_at(t).map_or(1.0, |b| b.factor)
    }

    /// What every route's median latency is multiplied by at `t`.
    pub fn latency_factor(&self, t: f64) -> f64 {
        let burst = if self.burst_at(t).is_some() { 1.15 } else { 1.0 };
        self.latency_scale * self.latency_wave.at(t).exp() * burst
    }

    /// Share of requests that fail at `t` without any fault.
    pub fn error_share_at(&self, t: f64) -> f64 {
        self.error_share * (1.0 + self.error_wave.at(t))
    }

    /// Index into `TRAFFIC_MIX` for a uniform draw `u` in [0, 1).
    pub fn pick_route(&self, u: f64) -> usize {
        let total: f64 = self.route_weights.iter().sum();
        let mut acc = 0.0;
        for (i, w) in self.route_weights.iter().enumerate() {
            acc += w / total;
            if u < acc {
                return i;
            }
        }
        self.route_weights.len() - 1
    }

    /// The 5xx code of a failed request, for a uniform draw `u` in [0, 1).
    pub fn pick_code(&self, u: f64) -> &'static str {
        let [w500, w502, _] = self.code_weights;
        if u < w500 {
            ERROR_CODES[0]
        } else if u < w500 + w502 {
            ERROR_CODES[1]
        } else {
            ERROR_CODES[2]
        }
    }

    /// Requests expected over `[t0, t1]` (the integral of [`Pattern::rate`],
    /// in 0.1 s steps): what `increase` reads over that window.
    #[cfg(test)]
    pub fn requests_between(&self, t0: f64, t1: f64) -> f64 {
        integrate(t0, t1, |t| self.rate(t))
    }
}

/// Midpoint integral of `f` over `[t0, t1]` in steps of at most 0.1 s.
#[cfg(test)]
pub fn integrate(t0: f64, t1: f64, f: impl Fn(f64) -> f64) -> f64 {
    if t1 <= t0 {
        return 0.0;
    }
    let mut n = 1.0_f64;
    while (t1 - t0) / n > 0.1 {
        n = ((t1 - t0) / 0.1).ceil();
    }
    let h = (t1 - t0) / n;
    let mut total = 0.0;
    let mut i = 0.0;
    while i < n {
        total += f(t0 + (i + 0.5) * h);
        i += 1.0;
    }
    total * h
}

/// The version and commit `demo_build_info` reports by default for
/// `instance`: instances whose number is a multiple of 3 (demo-3, demo-6…)
/// run the newer build, the others the older one.
pub fn default_build(instance: &str) -> (&'static str, &'static str) {
    let digits: String = instance
        .chars()
        .rev()
        .take_while(char::is_ascii_digit)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    match digits.parse::<u64>() {
        Ok(n) if n > 0 && n.is_multiple_of(3) => (NEW_BUILD.0, NEW_BUILD.1),
        _ => (OLD_BUILD.0, OLD_BUILD.1),
    }
}

/// The older build: version and commit.
pub const OLD_BUILD: (&str, &str) = ("1.4.2", "3f9c2e1");

/// The newer build: version and commit.
pub const NEW_BUILD: (&str, &str) = ("1.5.0", "8d41a7b");

/// The commit of `version` (the older build's commit for a version the demo
/// does not know, e.g. one given with `--app-version`).
pub fn commit_of(version: &str) -> &'static str {
    if version == NEW_BUILD.0 {
        NEW_BUILD.1
    } else {
        OLD_BUILD.1
    }
}

#[cfg(test)]
mod tests;
