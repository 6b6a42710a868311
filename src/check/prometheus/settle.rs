//! Waiting for a fresh configuration to take effect: the targets a reload loaded in place
//! (what `check` waits for after it reloads Prometheus), every pool scraped once and the
//! series of removed targets gone (what live answers wait for after `solve` or `validate`).

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
    for server in ctx.services_with_role(crate::stack::Role::Prometheus) {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        crate::poll::holds_within(left, std::time::Duration::from_millis(500), || {
            caught_up(ctx, server)
        })
        .await;
    }
}

/// Waits, polling, until `server`'s targets follow the configuration it has just loaded, or
/// `within` has passed (the checks then poll on their own): Prometheus hands new target sets
/// to its scrape manager on a 5s timer, so right after a reload `/api/v1/targets` may still
/// list the jobs and addresses of the previous configuration, and their `up` series linger
/// until marked stale. Whether it caught up in time.
pub(crate) async fn await_reload(ctx: &Ctx, server: &str, within: std::time::Duration) -> bool {
    crate::poll::holds_within(within, std::time::Duration::from_millis(500), || async {
        let (Ok(config), Ok(pools), Ok(targets)) = (
            super::targets::loaded_config(ctx, server).await,
            ctx.get_json(server, "/api/v1/scrape_pools").await,
            ctx.get_json(server, "/api/v1/targets").await,
        ) else {
            return false;
        };
        targets_follow(&config, &pools, &targets).is_ok() && removed_targets_gone(ctx, server, &targets).await
    })
    .await
}

/// Whether a `/api/v1/targets` answer (active and dropped targets) follows a loaded
/// configuration: every listed target belongs to a current scrape pool
/// (`/api/v1/scrape_pools`, which also holds the jobs of `scrape_config_files`), every job of
/// the configuration has its pool, each active target has its job's interval and timeout,
/// and a job of `static_configs` only has exactly its listed addresses. Why not, otherwise.
fn targets_follow(config: &Value, pools: &Value, targets: &Value) -> Result<(), String> {
    let str_of = |v: &Value, p: &str| v.pointer(p).and_then(Value::as_str).map(str::to_string);
    let pools: Vec<String> = pools
        .pointer("/data/scrapePools")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|p| p.as_str().map(str::to_string))
        .collect();
    let list = |key: &str| -> Vec<&Value> {
        targets
            .pointer(&format!("/data/{key}"))
            .and_then(Value::as_array)
            .map(|a| a.iter().collect())
            .unwrap_or_default()
    };
    let (active, dropped) = (list("activeTargets"), list("droppedTargets"));
    let pool_of = |t: &Value| {
        str_of(t, "/scrapePool")
            .or_else(|| str_of(t, "/discoveredLabels/job"))
            .unwrap_or_default()
    };
    if let Some(t) = active.iter().find(|t| !pools.contains(&pool_of(t))) {
        return Err(format!("target of removed pool {}", pool_of(t)));
    }
    let jobs = config
        .get("scrape_configs")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    for job in jobs {
        let Some(name) = str_of(job, "/job_name") else {
            continue;
        };
        if !pools.contains(&name) {
            return Err(format!("no pool yet for job {name}"));
        }
        let of_job = |ts: &[&Value]| -> Vec<Value> {
            ts.iter()
                .filter(|t| pool_of(t) == name)
                .map(|t| (*t).clone())
                .collect()
        };
        let mine = of_job(&active);
        for (field, key) in [
            ("scrapeInterval", "scrape_interval"),
            ("scrapeTimeout", "scrape_timeout"),
        ] {
            if let Some(want) = str_of(job, &format!("/{key}"))
                && let Some(t) = mine
                    .iter()
                    .find(|t| str_of(t, &format!("/{field}")).is_some_and(|v| v != want))
            {
                return Err(format!(
                    "{name}: a target still has {field} {:?}, not {want}",
                    t.get(field)
                ));
            }
        }
        let only_static = job.as_object().is_some_and(|o| {
            o.keys()
                .filter(|k| {
                    k.ends_with("_configs") && *k != "relabel_configs" && *k != "metric_relabel_configs"
                })
                .all(|k| k == "static_configs")
        });
        if only_static {
            let mut want: Vec<String> = job
                .get("static_configs")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|c| c.get("targets").and_then(Value::as_array))
                .flatten()
                .filter_map(|t| t.as_str().map(str::to_string))
                .collect();
            let mut seen: Vec<String> = mine
                .iter()
                .chain(&of_job(&dropped))
                .filter_map(|t| str_of(t, "/discoveredLabels/__address__"))
                .collect();
            want.sort();
            want.dedup();
            seen.sort();
            seen.dedup();
            if want != seen {
                return Err(format!("{name}: targets {seen:?}, configured {want:?}"));
            }
        }
    }
    Ok(())
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
    fn a_reload_is_awaited_until_the_targets_follow_the_new_configuration() {
        let config: Value = crate::yaml::parse(
            "scrape_configs:\n- {job_name: demo, scrape_interval: 10s, scrape_timeout: 5s, static_configs: [{targets: ['demo-1:8080', 'demo-2:8080']}]}\n- {job_name: node, scrape_interval: 15s, scrape_timeout: 5s, file_sd_configs: [{files: [x.json]}]}\n",
        )
        .unwrap();
        let pools = |p: &[&str]| json!({"data": {"scrapePools": p}});
        let t = |pool: &str, addr: &str, every: &str| json!({"scrapePool": pool, "scrapeInterval": every, "scrapeTimeout": "5s", "discoveredLabels": {"__address__": addr, "job": pool}});
        let answer = |active: Vec<Value>, dropped: Vec<Value>| json!({"data": {"activeTargets": active, "droppedTargets": dropped}});
        let now = answer(
            vec![t("demo", "demo-1:8080", "10s"), t("node", "node:9100", "15s")],
            vec![json!({"discoveredLabels": {"__address__": "demo-2:8080", "job": "demo"}})],
        );
        assert_eq!(targets_follow(&config, &pools(&["demo", "node"]), &now), Ok(()));
        let e = targets_follow(&config, &pools(&["demo"]), &now).unwrap_err();
        assert!(e.contains("removed pool node"), "{e}");
        let e = targets_follow(
            &config,
            &pools(&["demo", "node", "old"]),
            &answer(vec![t("old", "x:1", "10s")], vec![]),
        )
        .unwrap_err();
        assert!(
            e.contains("demo: targets []"),
            "the new job's targets are not there yet: {e}"
        );
        let e = targets_follow(
            &config,
            &pools(&["demo", "node"]),
            &answer(
                vec![t("demo", "demo-1:8080", "1m"), t("demo", "demo-2:8080", "10s")],
                vec![],
            ),
        )
        .unwrap_err();
        assert!(e.contains("scrapeInterval") && e.contains("not 10s"), "{e}");
        let e = targets_follow(
            &config,
            &pools(&["demo", "node"]),
            &answer(
                vec![t("demo", "demo-1:8080", "10s"), t("demo", "demo-3:8080", "10s")],
                vec![],
            ),
        )
        .unwrap_err();
        assert!(
            e.contains("demo-3:8080"),
            "an address of the previous configuration: {e}"
        );
        let e = targets_follow(&config, &pools(&["node"]), &answer(vec![], vec![])).unwrap_err();
        assert!(e.contains("no pool yet for job demo"), "{e}");
    }

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
