//! `{{ params.NAME }}`, `{{ service.NAME.url }}` and `{{ seed }}` in lab manifests.
//! Other `{{ … }}` (Go templates in alert annotations) are left alone.

use std::collections::BTreeMap;

use rand::{Rng, SeedableRng};

use crate::lab::LabId;
use crate::lab::manifest::ParamSpec;

/// Draws a lab's parameters from the learner's seed (stable per seed, lab and name).
pub fn draw_params(lab: LabId, seed: u64, specs: &BTreeMap<String, ParamSpec>) -> BTreeMap<String, String> {
    specs
        .iter()
        .map(|(name, spec)| {
            let mut h: u64 = seed ^ 0x9E37_79B9_7F4A_7C15;
            for b in format!("{lab}/{name}").bytes() {
                h = h.rotate_left(5) ^ u64::from(b);
                h = h.wrapping_mul(0x0100_0000_01B3);
            }
            let mut rng = rand::rngs::StdRng::seed_from_u64(h);
            let value = match (&spec.choice, spec.int) {
                (Some(c), _) if !c.is_empty() => c[rng.random_range(0..c.len())].clone(),
                (_, Some([lo, hi])) => rng.random_range(lo..=hi).to_string(),
                _ => String::new(),
            };
            (name.clone(), value)
        })
        .collect()
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

    #[test]
    fn params_are_stable_per_seed() {
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
        let a = draw_params(LabId::new(1, 1), 1, &specs);
        assert_eq!(a, draw_params(LabId::new(1, 1), 1, &specs));
        let n: i64 = a["n"].parse().unwrap();
        assert!((10..=20).contains(&n));
        let differs = (2..40).any(|s| draw_params(LabId::new(1, 1), s, &specs) != a);
        assert!(differs, "different seeds give different params");
    }
}
