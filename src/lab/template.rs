//! `{{ params.NAME }}`, `{{ service.NAME.url }}` and `{{ seed }}` in lab manifests.
//! Other `{{ … }}` (Go templates in alert annotations) are left alone.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::id::LabId;

/// A per-learner parameter.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParamSpec {
    /// Pick one of these.
    #[serde(default)]
    pub choice: Option<Vec<String>>,
    /// Pick an integer in `[low, high]`.
    #[serde(default)]
    pub int: Option<[i64; 2]>,
}

/// Draws a lab's parameters from the learner's seed: a fixed, documented function of
/// (seed, lab id, param name), so no dependency upgrade changes what a workspace is graded
/// against (see [`draw_index`]). A `choice` picks one of its values, an `int: [low, high]` an
/// integer in that closed range, each value equally likely.
pub fn draw_params(lab: LabId, seed: u64, specs: &BTreeMap<String, ParamSpec>) -> BTreeMap<String, String> {
    specs
        .iter()
        .map(|(name, spec)| {
            let key = format!("{lab}/{name}");
            let value = match (&spec.choice, spec.int) {
                (Some(c), _) if !c.is_empty() => {
                    let i = draw_index(seed, &key, c.len() as u128);
                    c[usize::try_from(i).unwrap_or(0)].clone()
                }
                (_, Some([lo, hi])) if lo <= hi => {
                    let span = (i128::from(hi) - i128::from(lo) + 1) as u128;
                    (i128::from(lo) + draw_index(seed, &key, span) as i128).to_string()
                }
                _ => String::new(),
            };
            (name.clone(), value)
        })
        .collect()
}

/// A uniform draw in `0..n` (`1 <= n <= 2^64`) fixed by `seed` and `key` (`LAB/NAME`).
///
/// The function (version 1), stable across releases: for `counter = 0, 1, 2, …` take
/// `x` = the first 8 bytes, big-endian, of SHA-256 of
/// `"promlab-param-v1\0" || seed as 8 bytes big-endian || key || "\0" || counter as 4 bytes
/// big-endian`; the first `x` below the largest multiple of `n` not above 2^64 gives `x mod n`
/// (rejection sampling: no modulo bias; one retry is needed with probability below `n / 2^64`).
pub fn draw_index(seed: u64, key: &str, n: u128) -> u128 {
    const WORDS: u128 = 1 << 64;
    let n = n.clamp(1, WORDS);
    let limit = WORDS - WORDS % n;
    (0u32..)
        .map(|counter| {
            let digest = crate::hash::sha256(&[
                b"promlab-param-v1\0",
                &seed.to_be_bytes(),
                key.as_bytes(),
                b"\0",
                &counter.to_be_bytes(),
            ]);
            let mut first = [0u8; 8];
            first.copy_from_slice(&digest[..8]);
            u128::from(u64::from_be_bytes(first))
        })
        .find(|&x| x < limit)
        .map_or(0, |x| x % n)
}

/// Replaces known template expressions; unknown ones stay as written.
pub fn render(text: &str, vars: &BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find("}}") {
            Some(end) => {
                let key = after[..end].trim();
                match vars.get(key) {
                    Some(v) => out.push_str(v),
                    None => out.push_str(&rest[start..start + 2 + end + 2]),
                }
                rest = &after[end + 2..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_known_and_keeps_go_templates() {
        let mut v = BTreeMap::new();
        v.insert("params.team".to_string(), "db".to_string());
        assert_eq!(
            render("team={{ params.team }} {{ $labels.instance }}", &v),
            "team=db {{ $labels.instance }}"
        );
        assert_eq!(render("{{ unclosed", &v), "{{ unclosed");
    }

    fn team_and_n() -> BTreeMap<String, ParamSpec> {
        let mut specs = BTreeMap::new();
        specs.insert(
            "team".to_string(),
            ParamSpec {
                choice: Some(vec!["a".into(), "b".into(), "c".into(), "d".into()]),
                int: None,
            },
        );
        specs.insert(
            "n".to_string(),
            ParamSpec {
                choice: None,
                int: Some([10, 20]),
            },
        );
        specs
    }

    /// Literal values of the documented function (computed independently, with Python's
    /// hashlib): a change here changes what existing workspaces are graded against.
    #[test]
    fn drawn_params_are_pinned() {
        let specs = team_and_n();
        for (seed, team, n) in [
            (1, "b", "16"),
            (2, "a", "14"),
            (42, "d", "10"),
            (0xDEAD_BEEF, "c", "15"),
        ] {
            let p = draw_params(LabId::new(1, 1), seed, &specs);
            assert_eq!((p["team"].as_str(), p["n"].as_str()), (team, n), "seed {seed}");
        }
        assert_eq!(draw_index(1, "4.2/threshold", 1 << 64), 5_246_442_690_942_668_999);
        assert_eq!(
            draw_index(42, "4.2/threshold", 1 << 64),
            4_964_246_713_102_636_763
        );
        let mut wide = BTreeMap::new();
        wide.insert(
            "wide".to_string(),
            ParamSpec {
                choice: None,
                int: Some([i64::MIN, i64::MAX]),
            },
        );
        assert_eq!(
            draw_params(LabId::new(1, 1), 7, &wide)["wide"],
            "6458791177022022714"
        );
    }

    #[test]
    fn every_value_of_a_range_is_drawn_and_none_outside() {
        let mut seen = [0u32; 3];
        for seed in 0..3000 {
            seen[usize::try_from(draw_index(seed, "1.1/x", 3)).unwrap()] += 1;
        }
        assert!(seen.iter().all(|&c| (850..1150).contains(&c)), "{seen:?}");
    }

    #[test]
    fn params_are_stable_per_seed() {
        let specs = team_and_n();
        let a = draw_params(LabId::new(1, 1), 1, &specs);
        assert_eq!(a, draw_params(LabId::new(1, 1), 1, &specs));
        let n: i64 = a["n"].parse().unwrap();
        assert!((10..=20).contains(&n));
        let differs = (2..40).any(|s| draw_params(LabId::new(1, 1), s, &specs) != a);
        assert!(differs, "different seeds give different params");
    }
}
