//! `notification:` — what the built-in webhook sink received: statuses, grouping, counts
//! since the check run or the learner's last change, and whether resolved ones can come.

use futures::future::BoxFuture;
use serde_json::Value;

use super::alertmanager::labels_line;
use super::context::Ctx;
use super::kinds::Judge;
use super::outcome::Eval;
use crate::lab::compare::{Cmp, show};
use crate::lab::spec::{CountedFrom, NotificationCheck};

/// `notification:`
pub(crate) async fn notification(ctx: &Ctx, c: &NotificationCheck) -> Eval {
    let path = format!("/api/notifications?hook={}", c.hook);
    let doc = match ctx.get_json(&c.server, &path).await {
        Ok(d) => d,
        Err(e) => return Eval::fail(format!("notifications at hook {}", c.hook), e),
    };
    let others = ctx.get_json(&c.server, "/api/notifications").await.ok();
    let since = match c.counted_from() {
        CountedFrom::CheckStart => ctx.started_unix,
        CountedFrom::Change => ctx.settled_since,
        CountedFrom::Mark(name) => match ctx.marks.lock().ok().and_then(|m| m.get(name).copied()) {
            Some(t) => t,
            None => {
                return Eval::fail(
                    format!("a scenario step `mark: {name}` before this check"),
                    format!("no mark `{name}` was recorded: add `- mark: {name}` to the scenario before the check that counts from it"),
                )
                .settled();
            }
        },
        CountedFrom::Always => 0.0,
    };
    let e = judge_notifications(
        doc.as_array().map(Vec::as_slice).unwrap_or(&[]),
        others.as_ref(),
        c,
        since,
    );
    if !e.pass
        && c.status.as_deref() == Some("resolved")
        && Cmp::count_or_at_least_one(c.expect.count.as_ref()).needs_some()
        && !doc
            .as_array()
            .into_iter()
            .flatten()
            .any(|r| r.pointer("/payload/status").and_then(Value::as_str) == Some("resolved"))
        && !resolved_ever_sent(ctx).await
    {
        return e
            .with_detail(
                "no webhook receiver of the lab's Alertmanager has `send_resolved: true`: a resolved notification is never sent",
            )
            .settled();
    }
    e
}

/// Whether any webhook receiver of the lab's Alertmanagers sends resolved notifications
/// (true when that cannot be read: only a known "never" may settle a check).
async fn resolved_ever_sent(ctx: &Ctx) -> bool {
    let ams: Vec<&String> = ctx.services_with_role(crate::stack::Role::Alertmanager).collect();
    if ams.is_empty() {
        return true;
    }
    for am in ams {
        let Ok(status) = ctx.get_json(am, "/api/v2/status").await else {
            return true;
        };
        let text = status
            .pointer("/config/original")
            .and_then(Value::as_str)
            .unwrap_or("");
        let Ok(config) = crate::yaml::parse::<Value>(text) else {
            return true;
        };
        if sends_resolved(&config) {
            return true;
        }
    }
    false
}

/// Whether an Alertmanager configuration has a webhook receiver that sends resolved
/// notifications (`send_resolved` defaults to true for webhooks).
pub(crate) fn sends_resolved(config: &Value) -> bool {
    config
        .get("receivers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| r.get("webhook_configs").and_then(Value::as_array))
        .flatten()
        .any(|w| w.get("send_resolved").and_then(Value::as_bool) != Some(false))
}

/// Judges the sink's records for one hook.
pub(crate) fn judge_notifications(
    records: &[Value],
    all: Option<&Value>,
    c: &NotificationCheck,
    since: f64,
) -> Eval {
    let (recent, earlier): (Vec<&Value>, Vec<&Value>) = records
        .iter()
        .partition(|r| r.get("received_at").and_then(Value::as_f64).unwrap_or(0.0) >= since);
    let matches = |r: &Value| -> bool {
        c.status
            .as_ref()
            .is_none_or(|s| r.pointer("/payload/status").and_then(Value::as_str) == Some(s.as_str()))
            && c.alertname.as_ref().is_none_or(|n| {
                r.pointer("/payload/alerts")
                    .and_then(Value::as_array)
                    .is_some_and(|a| {
                        a.iter().any(|al| {
                            al.pointer("/labels/alertname").and_then(Value::as_str) == Some(n.as_str())
                        })
                    })
            })
    };
    let selected: Vec<&Value> = recent.into_iter().filter(|r| matches(r)).collect();
    let x = &c.expect;
    let count = Cmp::count_or_at_least_one(x.count.as_ref());
    let window = match c.counted_from() {
        CountedFrom::CheckStart => " since this check started",
        CountedFrom::Change => " since your last change",
        CountedFrom::Mark(_) => " since the scenario's action",
        CountedFrom::Always => "",
    };
    let what = format!("notifications at hook {}{window}", c.hook);
    if let Err(why) = count.check(Some(&Value::from(selected.len()))) {
        let mut e = Eval::fail(
            format!("{} {what}", count.describe()),
            format!("{} ({why})", selected.len()),
        );
        let before = earlier.iter().filter(|r| matches(r)).count();
        if before > 0 {
            e = e.with_detail(format!(
                "{before} such notification(s) arrived earlier{}: Alertmanager sends a group again only after its repeat_interval",
                if window.is_empty() { "" } else { ", before that" }
            ));
        }
        if let Some(all) = all.and_then(Value::as_array) {
            let mut hooks: Vec<String> = all
                .iter()
                .filter_map(|r| r.get("hook").and_then(Value::as_str).map(str::to_string))
                .collect();
            hooks.sort();
            let mut counted: Vec<String> = Vec::new();
            for h in &hooks {
                if !counted.iter().any(|c| c.starts_with(&format!("{h}×"))) {
                    counted.push(format!("{h}×{}", hooks.iter().filter(|x| *x == h).count()));
                }
            }
            if !counted.is_empty() {
                e = e.with_detail(format!("the sink received: {}", counted.join(", ")));
            }
        }
        return e;
    }
    for r in &selected {
        let p = r.get("payload").cloned().unwrap_or(Value::Null);
        let n_alerts = p.get("alerts").and_then(Value::as_array).map_or(0, Vec::len);
        if let Some(cmp) = &x.alerts
            && let Err(why) = cmp.check(Some(&Value::from(n_alerts)))
        {
            return Eval::fail(
                format!("{} alerts per notification", cmp.describe()),
                format!("a notification with {n_alerts} alerts ({why}) — check group_by"),
            );
        }
        if let Some(cmp) = &x.receiver
            && let Err(why) = cmp.check(p.get("receiver"))
        {
            return Eval::fail(
                format!("receiver {}", cmp.describe()),
                format!(
                    "receiver {} ({why})",
                    p.get("receiver").map_or_else(|| "unset".into(), show)
                ),
            );
        }
        for (kind, field, map) in [
            ("groupLabels", "group_labels", &x.group_labels),
            ("commonLabels", "common_labels", &x.common_labels),
        ] {
            for (k, cmp) in map {
                let got = p.get(kind).and_then(|m| m.get(k));
                if let Err(why) = cmp.check(got) {
                    return Eval::fail(
                        format!("{field}.{k} {}", cmp.describe()),
                        format!("{kind} {} ({why})", labels_line(p.get(kind))),
                    );
                }
            }
        }
    }
    Eval::pass(what, format!("{} notification(s)", selected.len()))
}

impl Judge for NotificationCheck {
    fn judge<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, Eval> {
        Box::pin(notification(ctx, self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn resolved_notifications_need_a_webhook_that_sends_them() {
        let config = |yaml: &str| -> Value { crate::yaml::parse(yaml).unwrap() };
        let off = config(
            "receivers: [{name: a, webhook_configs: [{url: '<secret>', send_resolved: false}]}, {name: b}]",
        );
        assert!(!sends_resolved(&off));
        let one_on = config(
            "receivers: [{name: a, webhook_configs: [{send_resolved: false}, {send_resolved: true}]}]",
        );
        assert!(sends_resolved(&one_on));
        let default_on = config("receivers: [{name: a, webhook_configs: [{url: '<secret>'}]}]");
        assert!(
            sends_resolved(&default_on),
            "webhooks send resolved notifications unless told not to"
        );
    }

    #[test]
    fn notifications_by_status_and_grouping() {
        let recs = vec![
            json!({"hook": "team", "received_at": 10.0, "payload": {"status": "firing", "receiver": "team", "groupLabels": {"alertname": "A"}, "alerts": [{"labels": {"alertname": "A"}}, {"labels": {"alertname": "A"}}]}}),
        ];
        let c: NotificationCheck = crate::yaml::parse(
            "{hook: team, status: firing, expect: {count: 1, alerts: 2, group_labels: {alertname: A}}}",
        )
        .unwrap();
        assert!(judge_notifications(&recs, None, &c, 0.0).pass);
        assert!(!judge_notifications(&recs, None, &c, 11.0).pass, "since filters");
        let c: NotificationCheck = crate::yaml::parse("{hook: team, expect: {alerts: 1}}").unwrap();
        assert!(!judge_notifications(&recs, None, &c, 0.0).pass);
    }

    #[test]
    fn notifications_since_the_change_say_when_older_ones_exist() {
        let recs = vec![
            json!({"hook": "default", "received_at": 10.0, "payload": {"status": "firing", "alerts": [{"labels": {"alertname": "Watchdog"}}]}}),
        ];
        let c: NotificationCheck =
            crate::yaml::parse("{hook: default, alertname: Watchdog, since_change: true}").unwrap();
        assert!(judge_notifications(&recs, None, &c, 5.0).pass);
        let e = judge_notifications(&recs, None, &c, 20.0);
        assert!(!e.pass, "a delivery before the change does not count");
        assert!(e.expected.contains("since your last change"), "{}", e.expected);
        assert!(
            e.detail
                .iter()
                .any(|d| d.starts_with("1 such notification(s) arrived earlier, before that")),
            "{:?}",
            e.detail
        );
    }

    #[test]
    fn since_mark_counts_only_deliveries_after_the_mark() {
        let records = vec![
            json!({"hook": "oncall", "received_at": 10.0, "payload": {"status": "resolved", "receiver": "oncall", "alerts": [{"labels": {"alertname": "A"}}]}}),
            json!({"hook": "oncall", "received_at": 30.0, "payload": {"status": "firing", "receiver": "oncall", "alerts": [{"labels": {"alertname": "A"}}]}}),
        ];
        let c: NotificationCheck =
            crate::yaml::parse("{hook: oncall, status: resolved, since_mark: recover}").unwrap();
        assert_eq!(c.counted_from(), CountedFrom::Mark("recover"));
        let e = judge_notifications(&records, None, &c, 20.0);
        assert!(
            !e.pass && e.expected.contains("since the scenario's action"),
            "{e:?}"
        );
        assert!(judge_notifications(&records, None, &c, 5.0).pass);
        use crate::lab::spec::KindSpec;
        let both: NotificationCheck =
            crate::yaml::parse("{hook: oncall, since_change: true, since_mark: recover}").unwrap();
        let err = both.validate("c", &|_| Ok(())).unwrap_err();
        assert!(err.contains("write one of"), "{err}");
    }
}
