//! Waiting for a fresh configuration to take effect: every pool scraped once, the series of
//! removed targets gone (what live answers wait for after `solve` or `validate` apply files).

use super::client::query;
use super::targets::loaded_jobs;
use crate::check::context::Ctx;
use serde_json::Value;

/// Waits, polling, until every Prometheus of the lab has caught up with its loaded
/// configuration (`caught_up`: every pool scraped, the series of removed targets gone), or `within`
/// has passed: what live answers computed from a fresh configuration wait for (`solve`,
/// `validate`).
pub(crate) async fn await_first_scrapes(ctx: &Ctx, within: std::time::Duration) {
    let deadline = std::time::Instant::now() + within;
    for server in ctx.services_with_role("prometheus") {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        crate::poll::holds_within(left, std::time::Duration::from_millis(500), || {
            caught_up(ctx, server)
        })
        .await;
    }
}

/// Whether the series of targets a reload removed are gone: Prometheus marks them stale only
/// an interval or two later, and until then they still count (`count({job="node"})` counts
/// an old target's series beside the new one's).
async fn removed_targets_gone(ctx: &Ctx, server: &str, targets: &Value) -> bool {
    let Ok(up) = query(ctx, server, "group by (job, instance) (up)", None).await else {
        return false;
    };
    let active: Vec<(String, String)> = targets
        .pointer("/data/activeTargets")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|t| {
            let l = |k: &str| {
                t.pointer(&format!("/labels/{k}"))
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string()
            };
            (l("job"), l("instance"))
        })
        .collect();
    up.series.iter().all(|s| {
        let l = |k: &str| s.labels.get(k).cloned().unwrap_or_default();
        active.contains(&(l("job"), l("instance")))
    })
}

/// Whether `server` has caught up with its loaded configuration: every scrape pool has its
/// targets and each of them has been scraped at least once (a reload applies targets on a
/// timer, and a new target's first scrape comes up to an interval later), and the series of
/// targets the reload removed are gone. The targets are read once for both.
async fn caught_up(ctx: &Ctx, server: &str) -> bool {
    // The jobs of the loaded configuration, not /api/v1/scrape_pools: that list follows the
    // scrape manager, which takes the new pools on its own timer (empty just after a start).
    match (
        loaded_jobs(ctx, server).await,
        ctx.get_json(server, "/api/v1/targets?state=active").await,
    ) {
        (Ok(jobs), Ok(targets)) => {
            every_job_scraped(&jobs, &targets) && removed_targets_gone(ctx, server, &targets).await
        }
        _ => false,
    }
}

/// Whether each of `jobs` has active targets in a `/api/v1/targets` answer, and every active
/// target has been scraped at least once (`lastScrape` is Go's zero time before that).
fn every_job_scraped(jobs: &[String], targets: &Value) -> bool {
    let active = targets
        .pointer("/data/activeTargets")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    let pool_of = |t: &Value| t.get("scrapePool").and_then(Value::as_str).map(str::to_string);
    jobs.iter()
        .all(|j| active.iter().any(|t| pool_of(t).as_deref() == Some(j.as_str())))
        && active
            .iter()
            .all(|t| crate::component::time::is_set(t.get("lastScrape")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn answers_wait_for_every_job_to_be_scraped_once() {
        let jobs = vec!["demo".to_string(), "pushgateway".to_string()];
        let target = |pool: &str, last: &str| json!({"scrapePool": pool, "lastScrape": last});
        let answer = |ts: Vec<Value>| json!({"status": "success", "data": {"activeTargets": ts}});
        let now = "2026-11-30T07:54:08.123456789Z";
        let never = "0001-01-01T00:00:00Z";
        assert!(
            !every_job_scraped(&jobs, &answer(vec![])),
            "no targets yet (just started)"
        );
        assert!(
            !every_job_scraped(&jobs, &answer(vec![target("demo", now)])),
            "the new job's targets are not discovered yet"
        );
        assert!(
            !every_job_scraped(
                &jobs,
                &answer(vec![target("demo", now), target("pushgateway", never)])
            ),
            "a target not scraped yet"
        );
        assert!(every_job_scraped(
            &jobs,
            &answer(vec![target("demo", now), target("pushgateway", now)])
        ));
    }
}
