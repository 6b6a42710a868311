//! The pattern's promises, proved on the stock instances (demo-1..3 with
//! seeds 1..3, as `compose/stacks/app.yaml` starts them) over six hours of
//! pattern time, at one-second resolution.

use super::*;
use crate::component::demo::traffic::ROUTE_MIX;

const HOURS: usize = 6;
const SPAN: usize = HOURS * 3600;

fn stock() -> Vec<Pattern> {
    [(1, "demo-1"), (2, "demo-2"), (3, "demo-3")]
        .into_iter()
        .map(|(seed, name)| Pattern::new(seed, name, 5.0))
        .collect()
}

/// `c[s]` = the integral of `f` over `[0, s]`, for every second `s`.
fn cumulative(f: impl Fn(f64) -> f64) -> Vec<f64> {
    let mut c = vec![0.0; SPAN + 1];
    for s in 1..=SPAN {
        let t = s as f64;
        c[s] = c[s - 1] + integrate(t - 1.0, t, &f);
    }
    c
}

/// Per-second rate over the `w` seconds before `s`.
fn per_s(c: &[f64], s: usize, w: usize) -> f64 {
    (c[s] - c[s - w]) / w as f64
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / a.abs().max(b.abs()).max(1e-12)
}

/// Standard normal CDF (Abramowitz-Stegun 7.1.26 for erf, |error| < 2e-7).
fn phi(x: f64) -> f64 {
    let z = x.abs() / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * z);
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736 + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erf = 1.0 - poly * (-z * z).exp();
    if x >= 0.0 {
        0.5 * (1.0 + erf)
    } else {
        0.5 * (1.0 - erf)
    }
}

/// Share of `p`'s requests at `t` that take at most `bound` seconds.
fn share_under(p: &Pattern, t: f64, bound: f64) -> f64 {
    let total: f64 = p.route_weights.iter().sum();
    let factor = p.latency_factor(t);
    ROUTE_MIX
        .iter()
        .zip(p.route_weights)
        .map(|((route, _), w)| {
            let (median, sigma) = route.latency_profile();
            w / total * phi(((bound).ln() - (median * factor).ln()) / sigma)
        })
        .sum()
}

#[test]
fn the_pattern_is_a_pure_function_of_seed_and_instance() {
    assert_eq!(Pattern::new(1, "demo-1", 5.0), Pattern::new(1, "demo-1", 5.0));
    assert_ne!(Pattern::new(1, "demo-1", 5.0), Pattern::new(2, "demo-1", 5.0));
    assert_ne!(Pattern::new(1, "demo-1", 5.0), Pattern::new(1, "demo-2", 5.0));
    let p = Pattern::new(7, "demo-9", 5.0);
    for t in [0.0, 59.9, 3600.0, 86_400.5] {
        assert_eq!(p.rate(t).to_bits(), p.rate(t).to_bits());
        assert!(p.rate(t) > 0.0);
    }
    assert!(Pattern::new(1, "demo-1", 0.0).rate(10.0).abs() < f64::EPSILON);
}

#[test]
fn stock_instances_differ_in_level_latency_route_mix_and_version() {
    let p = stock();
    for (i, a) in p.iter().enumerate() {
        for b in &p[i + 1..] {
            assert!(
                rel(a.level_rps, b.level_rps) > 0.08,
                "{} {}",
                a.level_rps,
                b.level_rps
            );
            assert!(
                rel(a.latency_scale, b.latency_scale) > 0.04,
                "{} {}",
                a.latency_scale,
                b.latency_scale
            );
            assert!(
                rel(a.error_share, b.error_share) > 0.1,
                "{} {}",
                a.error_share,
                b.error_share
            );
            let mix_gap = a
                .route_weights
                .iter()
                .zip(b.route_weights)
                .map(|(x, y)| rel(*x, y))
                .fold(0.0, f64::max);
            assert!(mix_gap > 0.15, "{:?} {:?}", a.route_weights, b.route_weights);
        }
    }
    assert_eq!(default_build("demo-1"), OLD_BUILD);
    assert_eq!(default_build("demo-2"), OLD_BUILD);
    assert_eq!(default_build("demo-3"), NEW_BUILD);
    assert_eq!(default_build("demo"), OLD_BUILD);
    assert_eq!(commit_of("1.5.0"), "8d41a7b");
    assert_eq!(commit_of("9.9.9"), "3f9c2e1");
}

#[test]
fn the_mean_rate_stays_near_the_rate_asked_for() {
    let means: Vec<f64> = stock()
        .iter()
        .map(|p| p.requests_between(0.0, SPAN as f64) / SPAN as f64)
        .collect();
    for m in &means {
        assert!((3.5..6.5).contains(m), "{means:?}");
    }
    let all = means.iter().sum::<f64>() / 3.0;
    assert!((4.25..5.75).contains(&all), "{means:?}");
}

#[test]
fn irate_differs_from_rate_1m_and_rate_1m_from_rate_5m_in_every_window() {
    for p in stock() {
        let c = cumulative(|t| p.rate(t));
        let mut worst_irate = f64::MAX;
        let mut worst_5m = f64::MAX;
        // Every minute of the span, instants 5 s apart (a 5 s scrape interval for irate).
        for start in (300..SPAN - 60).step_by(60) {
            let gap = (start..start + 60)
                .step_by(5)
                .map(|s| rel(per_s(&c, s, 5), per_s(&c, s, 60)))
                .fold(0.0, f64::max);
            worst_irate = worst_irate.min(gap);
        }
        // Every 5 minutes, instants 15 s apart.
        for start in (300..SPAN - 300).step_by(300) {
            let gap = (start..start + 300)
                .step_by(15)
                .map(|s| rel(per_s(&c, s, 60), per_s(&c, s, 300)))
                .fold(0.0, f64::max);
            worst_5m = worst_5m.min(gap);
        }
        assert!(worst_irate > 0.10, "irate vs rate[1m]: {worst_irate}");
        assert!(worst_5m > 0.10, "rate[1m] vs rate[5m]: {worst_5m}");
    }
}

#[test]
fn a_raw_counter_ratio_differs_from_a_rate_ratio_at_any_age() {
    for p in stock() {
        let all = cumulative(|t| p.rate(t));
        let fast = cumulative(|t| p.rate(t) * share_under(&p, t, 0.05));
        let mut worst = f64::MAX;
        for start in (120..SPAN - 300).step_by(300) {
            let gap = (start..start + 300)
                .step_by(15)
                .map(|s| rel(fast[s] / all[s], per_s(&fast, s, 60) / per_s(&all, s, 60)))
                .fold(0.0, f64::max);
            worst = worst.min(gap);
        }
        assert!(worst > 0.05, "since start vs rate[1m], le=0.05: {worst}");
    }
}

#[test]
fn an_average_of_ratios_differs_from_a_ratio_of_sums() {
    let p = stock();
    let req: Vec<Vec<f64>> = p.iter().map(|p| cumulative(|t| p.rate(t))).collect();
    let err: Vec<Vec<f64>> = p
        .iter()
        .map(|p| cumulative(|t| p.rate(t) * p.error_share_at(t)))
        .collect();
    let mut worst = f64::MAX;
    let mut minutes = 0;
    let mut separated = 0;
    for start in (120..SPAN - 60).step_by(60) {
        let gap = (start..start + 60)
            .step_by(5)
            .map(|s| {
                let ratios: Vec<f64> = (0..3)
                    .map(|i| per_s(&err[i], s, 60) / per_s(&req[i], s, 60))
                    .collect();
                let avg = ratios.iter().sum::<f64>() / 3.0;
                let sums = (0..3).map(|i| per_s(&err[i], s, 60)).sum::<f64>()
                    / (0..3).map(|i| per_s(&req[i], s, 60)).sum::<f64>();
                rel(avg, sums)
            })
            .fold(0.0, f64::max);
        worst = worst.min(gap);
        minutes += 1;
        if gap > 0.05 {
            separated += 1;
        }
    }
    // Without a fault the gap comes from the instances' different levels and error shares:
    // always there, above a 5 % tolerance in about 80 % of the minutes (a fault on one instance makes it
    // far larger).
    let share = f64::from(separated) / f64::from(minutes);
    assert!(
        worst > 0.01 && share > 0.75,
        "avg of ratios vs ratio of sums: worst {worst}, minutes over 5 %: {share}"
    );
}

#[test]
fn bursts_come_in_about_half_the_slots_and_repeat_exactly() {
    for p in stock() {
        let bursts: Vec<Burst> = (0..SPAN / 600)
            .filter_map(|slot| p.burst_near(slot as f64 * BURST_SLOT_S + 1.0))
            .collect();
        assert!((8..=28).contains(&bursts.len()), "{}", bursts.len());
        for b in &bursts {
            assert!((2.0..3.0).contains(&b.factor) && (20.0..45.0).contains(&(b.end - b.start)));
            let mid = (b.start + b.end) / 2.0;
            assert_eq!(p.burst_at(mid), Some(*b));
            let waves = 1.0 + p.slow.at(mid) + p.mid.at(mid) + p.fast.at(mid);
            assert!((p.rate(mid) - p.level_rps * waves * b.factor).abs() < 1e-9);
            assert_eq!(p.burst_at(b.end + 0.01), None);
        }
    }
    assert_eq!(Pattern::new(1, "demo-1", 5.0).burst_near(-5.0), None);
}

#[test]
fn latencies_and_error_shares_vary_but_stay_in_bounds() {
    for p in stock() {
        let factors: Vec<f64> = (0..3600).map(|s| p.latency_factor(f64::from(s))).collect();
        let (lo, hi) = factors
            .iter()
            .fold((f64::MAX, 0.0_f64), |(l, h), f| (l.min(*f), h.max(*f)));
        assert!(hi / lo > 1.4, "latency varies over an hour: {lo}..{hi}");
        let shares: Vec<f64> = (0..SPAN).map(|s| p.error_share_at(s as f64)).collect();
        assert!(shares.iter().all(|e| (0.0..0.03).contains(e)));
        let (lo, hi) = shares
            .iter()
            .fold((f64::MAX, 0.0_f64), |(l, h), e| (l.min(*e), h.max(*e)));
        assert!(hi / lo > 3.0, "{lo}..{hi}");
        assert!((p.code_weights.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        assert!(p.code_weights.iter().all(|w| *w > 0.1), "{:?}", p.code_weights);
        // Labs alert on a p95 above 0.5 s: never reached without a fault.
        let worst = hi_factor_p95(&p);
        assert!(worst < 0.45, "worst p95 {worst}");
    }
}

/// The p95 of `p`'s request mix at its slowest instant of six hours.
fn hi_factor_p95(p: &Pattern) -> f64 {
    let t = (0..SPAN)
        .map(|s| s as f64)
        .max_by(|a, b| p.latency_factor(*a).total_cmp(&p.latency_factor(*b)))
        .unwrap_or(0.0);
    let (mut lo, mut hi) = (0.001, 10.0);
    for _ in 0..60 {
        let mid = f64::midpoint(lo, hi);
        if share_under(p, t, mid) < 0.95 {
            lo = mid
        } else {
            hi = mid
        }
    }
    hi
}

#[test]
fn picks_follow_the_weights() {
    let p = Pattern::new(1, "demo-1", 5.0);
    assert_eq!(p.pick_route(0.0), 0);
    assert_eq!(p.pick_route(0.999_999), 4);
    assert_eq!(p.pick_code(0.0), "500");
    assert_eq!(p.pick_code(0.999_999), "503");
    let mid = p.code_weights[0] + p.code_weights[1] / 2.0;
    assert_eq!(p.pick_code(mid), "502");
}
