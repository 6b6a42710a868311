//! The reference solution's live answers: after `solve` or `validate` overlay the solution
//! files, the answers `answers.yaml` must hold are computed from the running stack (never
//! written in the lab) and written there.

use std::collections::BTreeMap;
use std::time::Duration;

use super::context::{Ctx, now_unix};
use super::files::truth;
use super::learner::read_learner;
use super::prometheus::settle::await_first_scrapes;
use super::prometheus::targets::TARGET_UPDATE_SECS;
use super::reload;
use crate::error::Error;
use crate::lab::spec::Truth;
use crate::poll;

/// Applies the learner-side reload, waits for the new jobs' first scrapes, then computes each
/// of `answers` live and writes them into the workspace's `answers.yaml` (dotted keys nested).
pub async fn write_answers(ctx: &Ctx, answers: &BTreeMap<String, Truth>) -> Result<(), Error> {
    let (_, applied_at) = reload::apply(ctx, false).await;
    // Computed like a learner who waits for the new jobs' first scrapes: an answer taken
    // from `up` right after the reload would miss the pools not scraped yet, and stay wrong.
    // The targets API shows the new targets only once Prometheus applied them (on a timer
    // after the reload); before that, the previous targets look current.
    let settle = applied_at + TARGET_UPDATE_SECS - now_unix();
    if settle > 0.0 {
        tokio::time::sleep(Duration::from_secs_f64(settle)).await;
    }
    await_first_scrapes(ctx, Duration::from_secs(30)).await;
    let path = ctx.workspace.join("answers.yaml");
    let mut doc: crate::yaml::Mapping = read_learner(&ctx.workspace, "answers.yaml")
        .ok()
        .and_then(|t| crate::yaml::parse(&t).ok())
        .unwrap_or_default();
    for (key, t) in answers {
        // A fresh stack may not answer every query yet: retried for 30s.
        let value = poll::until_ok(Duration::from_secs(30), Duration::from_secs(1), || truth(ctx, t)).await;
        let v = value.map_err(|e| Error::Other(format!("the solution cannot compute `{key}`: {e}")))?;
        let yv: crate::yaml::Value = crate::yaml::to_value(&v).map_err(|e| Error::Other(e.to_string()))?;
        insert_dotted(&mut doc, key, yv);
    }
    let text = crate::yaml::try_to_string(&doc).map_err(|e| Error::Other(e.to_string()))?;
    std::fs::write(&path, text).map_err(Error::io("write", &path))?;
    Ok(())
}

/// Inserts `a.b.c: value` as nested maps (answers are read back by dotted keys).
pub(crate) fn insert_dotted(doc: &mut crate::yaml::Mapping, key: &str, value: crate::yaml::Value) {
    match key.split_once('.') {
        None => {
            doc.insert(crate::yaml::Value::String(key.to_string()), value);
        }
        Some((head, rest)) => {
            let k = crate::yaml::Value::String(head.to_string());
            let entry = doc
                .entry(k)
                .or_insert_with(|| crate::yaml::Value::Mapping(crate::yaml::Mapping::new()));
            if !entry.is_mapping() {
                *entry = crate::yaml::Value::Mapping(crate::yaml::Mapping::new());
            }
            if let crate::yaml::Value::Mapping(m) = entry {
                insert_dotted(m, rest, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotted_answer_keys_nest() {
        let mut doc = crate::yaml::Mapping::new();
        insert_dotted(&mut doc, "versions.node", crate::yaml::Value::from("1.9.1"));
        insert_dotted(&mut doc, "versions.prom", crate::yaml::Value::from("3.5.3"));
        insert_dotted(&mut doc, "n", crate::yaml::Value::from(3));
        let text = crate::yaml::try_to_string(&doc).unwrap();
        let v = crate::check::files::read_answer(&text, "versions.node").unwrap();
        assert_eq!(v, Some(serde_json::json!("1.9.1")));
        assert_eq!(
            crate::check::files::read_answer(&text, "n").unwrap(),
            Some(serde_json::json!(3))
        );
    }
}
