//! Checks on alerting: `alert` (at Prometheus or Alertmanager) and `silence`. What the
//! webhook sink received (`notification`) is judged in `notifications.rs`.

use serde_json::Value;

use crate::lab::compare::{Cmp, show};
use crate::lab::spec::{AlertCheck, SilenceCheck};
use futures::future::BoxFuture;

use super::context::Ctx;
use super::kinds::Judge;
use super::outcome::Eval;

pub(crate) fn labels_line(v: Option<&Value>) -> String {
    let Some(m) = v.and_then(Value::as_object) else {
        return "{}".into();
    };
    let inner: Vec<String> = m.iter().map(|(k, v)| format!("{k}={}", show(v))).collect();
    format!("{{{}}}", inner.join(", "))
}

/// `alert:`
pub(crate) async fn alert(ctx: &Ctx, c: &AlertCheck) -> Eval {
    let at_am = match c.at.as_str() {
        "prometheus" => false,
        "alertmanager" => true,
        other => return Eval::fail("at: prometheus or alertmanager", format!("at: {other}")).settled(),
    };
    let server = c.server.clone().unwrap_or_else(|| c.at.clone());
    let path = if at_am { "/api/v2/alerts" } else { "/api/v1/alerts" };
    let doc = match ctx.get_json(&server, path).await {
        Ok(d) => d,
        Err(e) => return Eval::fail(format!("the alerts at {server}"), e),
    };
    let list = if at_am {
        doc.as_array().cloned()
    } else {
        doc.pointer("/data/alerts").and_then(Value::as_array).cloned()
    };
    let mut all = list.unwrap_or_default();
    let mut left_over = 0;
    if at_am && let Some(live) = prometheus_alerts(ctx).await {
        let before = all.len();
        all.retain(|a| still_alive(a, &live));
        left_over = before - all.len();
    }
    // An alert Alertmanager holds from before the learner's change proves nothing about the
    // configuration now (it stays until it expires, 4 resend delays): for presence, only an
    // alert Prometheus sent again since then counts. Prometheus re-sends firing alerts every
    // resend delay (5s in the alerting stack), so a working pipeline shows one within seconds.
    let mut not_resent = 0;
    if at_am && Cmp::count_or_at_least_one(c.expect.count.as_ref()).needs_some() {
        let before = all.len();
        all.retain(|a| !generated(a) || updated_since(a, ctx.settled_since));
        not_resent = before - all.len();
    }
    let mut e = judge_alerts(&all, c, at_am, &server);
    if !e.pass && not_resent > 0 {
        e = e.with_detail(format!(
            "ignored {not_resent} alert(s) Prometheus has not sent again since your last change: only a delivery under your current configuration counts (Prometheus re-sends firing alerts every few seconds here)"
        ));
    }
    if !e.pass
        && !at_am
        && let Ok(rules) = ctx.get_json(&server, "/api/v1/rules?type=alert").await
    {
        e = match prospects(&rules, c, super::now_unix()) {
            Prospect::Never(why) => e.with_detail(why).settled(),
            Prospect::NotBefore(t, why) => e.not_before(t, why),
            Prospect::Open => e,
        };
    }
    if left_over > 0 {
        e = e.with_detail(format!(
            "ignored {left_over} alert(s) Prometheus no longer has (left over from an earlier version of a rule: Alertmanager keeps them until they expire)"
        ));
    }
    e
}

/// The label sets of the alerts the lab's Prometheus is firing now, when the lab runs exactly
/// one Prometheus (with several, an alert cannot be traced to its sender) and it does not
/// relabel its alerts.
async fn prometheus_alerts(ctx: &Ctx) -> Option<Vec<serde_json::Map<String, Value>>> {
    let mut proms = ctx.services_with_role(crate::stack::Role::Prometheus);
    let name = proms.next()?;
    if proms.next().is_some() {
        return None;
    }
    // Alert relabelling changes labels on the way out: then they cannot be matched.
    let config = ctx.get_json(name, "/api/v1/status/config").await.ok()?;
    if config
        .pointer("/data/yaml")
        .and_then(Value::as_str)
        .is_none_or(|y| y.contains("alert_relabel_configs"))
    {
        return None;
    }
    let doc = ctx.get_json(name, "/api/v1/alerts").await.ok()?;
    let alerts = doc.pointer("/data/alerts")?.as_array()?;
    Some(
        alerts
            .iter()
            .filter(|a| a.get("state").and_then(Value::as_str) == Some("firing"))
            .filter_map(|a| a.get("labels").and_then(Value::as_object).cloned())
            .collect(),
    )
}

/// Whether an Alertmanager alert is still sent: posted by hand (no generator URL), or
/// matching an alert Prometheus fires now (its labels plus, maybe, external labels).
fn still_alive(am_alert: &Value, live: &[serde_json::Map<String, Value>]) -> bool {
    if !generated(am_alert) {
        return true;
    }
    let Some(labels) = am_alert.get("labels").and_then(Value::as_object) else {
        return true;
    };
    live.iter()
        .any(|p| p.iter().all(|(k, v)| labels.get(k) == Some(v)))
}

/// Whether an alert at Alertmanager was sent by a Prometheus (it carries a generator URL;
/// alerts a scenario posts do not).
fn generated(am_alert: &Value) -> bool {
    am_alert
        .get("generatorURL")
        .and_then(Value::as_str)
        .is_some_and(|u| !u.is_empty())
}

/// Whether Alertmanager last received an alert at or after `since` (unix seconds).
fn updated_since(am_alert: &Value, since: f64) -> bool {
    crate::component::time::json_time(am_alert.get("updatedAt")).is_some_and(|t| t >= since)
}

/// What the loaded alerting rules allow a failing `alert` check at Prometheus to hope for.
#[derive(Debug, PartialEq)]
pub(crate) enum Prospect {
    /// No loaded rule can ever produce an alert that passes: waiting cannot help.
    Never(String),
    /// No alert can pass before this unix time (a rule's `for:` holds it pending).
    NotBefore(f64, String),
    /// It may pass at any moment.
    Open,
}

/// Alerts at Prometheus come only from its alerting rules: the name, the constant labels
/// (rule labels without a template override the expression's) and the `for:` of the rules
/// loaded now bound what can ever be selected and how soon it can fire. Only a check that
/// needs at least one alert is bounded.
pub(crate) fn prospects(rules_doc: &Value, c: &AlertCheck, now: f64) -> Prospect {
    let Some(name) = &c.alertname else {
        return Prospect::Open;
    };
    if !Cmp::count_or_at_least_one(c.expect.count.as_ref()).needs_some() {
        return Prospect::Open;
    }
    let Some(groups) = rules_doc.pointer("/data/groups").and_then(Value::as_array) else {
        return Prospect::Open;
    };
    let rules: Vec<&Value> = groups
        .iter()
        .filter_map(|g| g.get("rules").and_then(Value::as_array))
        .flatten()
        .filter(|r| r.get("type").and_then(Value::as_str) == Some("alerting"))
        .filter(|r| r.get("name").and_then(Value::as_str) == Some(name.as_str()))
        .collect();
    if rules.is_empty() {
        return Prospect::Never(format!(
            "Prometheus has no alerting rule named {name} loaded: no such alert can appear until a rule file defines it"
        ));
    }
    // A constant rule label the check rejects: the rule's alerts are never selected (a
    // selecting label) or always fail (an expected label).
    let conflict = |r: &Value| -> Option<String> {
        let labels = r.get("labels").and_then(Value::as_object)?;
        [&c.labels, &c.expect.labels].into_iter().find_map(|wanted| {
            wanted.iter().find_map(|(k, cmp)| {
                let v = labels.get(k)?;
                let constant = v.as_str().is_some_and(|t| !t.contains("{{"));
                (constant && cmp.check(Some(v)).is_err())
                    .then(|| format!("{k}={} where the check wants {k} {}", show(v), cmp.describe()))
            })
        })
    };
    let viable: Vec<&Value> = rules.iter().copied().filter(|r| conflict(r).is_none()).collect();
    if viable.is_empty() {
        let why = rules.iter().find_map(|r| conflict(r)).unwrap_or_default();
        return Prospect::Never(format!(
            "every loaded rule named {name} sets the label {why}: none of its alerts can pass until the rule changes"
        ));
    }
    // `for:` bounds how soon an alert that must fire can: a new one only after a full `for`,
    // a pending one `for` after it became active.
    let wants_firing = c.expect.state.as_ref().is_some_and(|s| {
        s.check(Some(&Value::from("firing"))).is_ok() && s.check(Some(&Value::from("pending"))).is_err()
    });
    if !wants_firing {
        return Prospect::Open;
    }
    let mut earliest = f64::INFINITY;
    let mut longest = 0.0_f64;
    for r in viable {
        // Until its first evaluation a rule may still restore pending alerts from before a
        // restart (ALERTS_FOR_STATE), with an earlier activeAt: no bound before that.
        if !crate::component::time::is_set(r.get("lastEvaluation")) {
            return Prospect::Open;
        }
        let hold = r.get("duration").and_then(Value::as_f64).unwrap_or(0.0);
        longest = longest.max(hold);
        earliest = earliest.min(now + hold);
        for a in r.get("alerts").and_then(Value::as_array).into_iter().flatten() {
            if !selects(c, a) {
                continue;
            }
            match a.get("state").and_then(Value::as_str) {
                Some("pending") => match crate::component::time::json_time(a.get("activeAt")) {
                    Some(t) => earliest = earliest.min(t + hold),
                    None => return Prospect::Open,
                },
                _ => return Prospect::Open,
            }
        }
    }
    if earliest <= now {
        return Prospect::Open;
    }
    Prospect::NotBefore(
        earliest,
        format!(
            "the rule holds a new {name} pending for `for: {}` before it fires",
            humantime::format_duration(std::time::Duration::from_secs_f64(longest))
        ),
    )
}

/// Whether a check selects an alert (an item of either API's list): its name and labels.
fn selects(c: &AlertCheck, a: &Value) -> bool {
    c.alertname
        .as_ref()
        .is_none_or(|n| a.pointer("/labels/alertname").and_then(Value::as_str) == Some(n))
        && c.labels
            .iter()
            .all(|(k, cmp)| cmp.check(a.get("labels").and_then(|l| l.get(k))).is_ok())
}

/// Judges a list of alerts (Prometheus `/api/v1/alerts` data or Alertmanager `/api/v2/alerts`).
pub(crate) fn judge_alerts(all: &[Value], c: &AlertCheck, at_am: bool, server: &str) -> Eval {
    let selected: Vec<&Value> = all.iter().filter(|a| selects(c, a)).collect();
    let what = match &c.alertname {
        Some(n) => format!("alert {n}"),
        None => "alerts".to_string(),
    };
    let x = &c.expect;
    let count = Cmp::count_or_at_least_one(x.count.as_ref());
    if let Err(why) = count.check(Some(&Value::from(selected.len()))) {
        let names: Vec<String> = all.iter().map(|a| labels_line(a.get("labels"))).take(5).collect();
        let seen = if names.is_empty() {
            "no alerts at all".to_string()
        } else {
            names.join("; ")
        };
        return Eval::fail(
            format!("{} {what} at {server}", count.describe()),
            format!("{} ({why})", selected.len()),
        )
        .with_detail(format!("{server} has: {seen}"));
    }
    for a in &selected {
        let state = if at_am {
            a.pointer("/status/state")
        } else {
            a.get("state")
        };
        let receivers: Option<Value> = a.get("receivers").and_then(Value::as_array).map(|r| {
            Value::from(
                r.iter()
                    .filter_map(|x| x.get("name").cloned())
                    .collect::<Vec<_>>(),
            )
        });
        let inhibited = a
            .pointer("/status/inhibitedBy")
            .and_then(Value::as_array)
            .map(|v| Value::Bool(!v.is_empty()));
        let silenced = a
            .pointer("/status/silencedBy")
            .and_then(Value::as_array)
            .map(|v| Value::Bool(!v.is_empty()));
        let facts: [(&str, Option<Cmp>, Option<Value>); 4] = [
            ("state", x.state.clone(), state.cloned()),
            ("receivers", x.receivers.clone(), receivers),
            (
                "inhibited",
                x.inhibited.map(|b| Cmp::eq(Value::Bool(b))),
                inhibited,
            ),
            ("silenced", x.silenced.map(|b| Cmp::eq(Value::Bool(b))), silenced),
        ];
        let line = labels_line(a.get("labels"));
        for (field, cmp, got) in facts {
            let Some(cmp) = cmp else { continue };
            if let Err(why) = cmp.check(got.as_ref()) {
                return Eval::fail(
                    format!("{what}: {field} {}", cmp.describe()),
                    format!(
                        "{line} has {field} {} ({why})",
                        got.as_ref().map_or_else(|| "unset".into(), show)
                    ),
                );
            }
        }
        for (kind, map) in [("labels", &x.labels), ("annotations", &x.annotations)] {
            for (k, cmp) in map {
                let got = a.get(kind).and_then(|m| m.get(k));
                if let Err(why) = cmp.check(got) {
                    return Eval::fail(
                        format!("{what}: {kind}.{k} {}", cmp.describe()),
                        format!(
                            "{line} has {kind}.{k} {} ({why})",
                            got.map_or_else(|| "unset".into(), show)
                        ),
                    );
                }
            }
        }
    }
    let shown: Vec<String> = selected
        .iter()
        .take(3)
        .map(|a| labels_line(a.get("labels")))
        .collect();
    Eval::pass(
        format!("{what} at {server}"),
        format!("{} alert(s): {}", selected.len(), shown.join("; ")),
    )
}

/// `silence:`
pub(crate) async fn silence(ctx: &Ctx, c: &SilenceCheck) -> Eval {
    let doc = match ctx.get_json(&c.server, "/api/v2/silences").await {
        Ok(d) => d,
        Err(e) => return Eval::fail("the silences of Alertmanager", e),
    };
    judge_silences(doc.as_array().map(Vec::as_slice).unwrap_or(&[]), c)
}

/// Judges Alertmanager silences.
pub(crate) fn judge_silences(all: &[Value], c: &SilenceCheck) -> Eval {
    let state = c.state.clone().unwrap_or_else(|| "active".to_string());
    let selected: Vec<&Value> = all
        .iter()
        .filter(|s| s.pointer("/status/state").and_then(Value::as_str) == Some(state.as_str()))
        .filter(|s| {
            c.matcher_name.as_ref().is_none_or(|name| {
                s.get("matchers").and_then(Value::as_array).is_some_and(|ms| {
                    ms.iter().any(|m| {
                        m.get("name").and_then(Value::as_str) == Some(name.as_str())
                            && c.matcher_value
                                .as_ref()
                                .is_none_or(|v| v.check(m.get("value")).is_ok())
                    })
                })
            })
        })
        .collect();
    let x = &c.expect;
    let count = Cmp::count_or_at_least_one(x.count.as_ref());
    let what = match &c.matcher_name {
        Some(n) => format!("{state} silences on {n}"),
        None => format!("{state} silences"),
    };
    if let Err(why) = count.check(Some(&Value::from(selected.len()))) {
        return Eval::fail(
            format!("{} {what}", count.describe()),
            format!("{} ({why})", selected.len()),
        );
    }
    for s in &selected {
        let id = s.get("id").and_then(Value::as_str).unwrap_or("?");
        let dur = match (
            s.get("startsAt").and_then(Value::as_str).and_then(|t| {
                humantime::parse_rfc3339_weak(t.trim_end_matches('Z').split('.').next().unwrap_or(t)).ok()
            }),
            s.get("endsAt").and_then(Value::as_str).and_then(|t| {
                humantime::parse_rfc3339_weak(t.trim_end_matches('Z').split('.').next().unwrap_or(t)).ok()
            }),
        ) {
            (Some(a), Some(b)) => b.duration_since(a).ok().map(|d| Value::from(d.as_secs_f64())),
            _ => None,
        };
        let facts: [(&str, &Option<Cmp>, Option<Value>); 3] = [
            ("comment", &x.comment, s.get("comment").cloned()),
            ("createdBy", &x.created_by, s.get("createdBy").cloned()),
            ("duration (s)", &x.duration, dur),
        ];
        for (field, cmp, got) in facts {
            let Some(cmp) = cmp else { continue };
            if let Err(why) = cmp.check(got.as_ref()) {
                return Eval::fail(
                    format!("silence {field} {}", cmp.describe()),
                    format!(
                        "silence {id} has {field} {} ({why})",
                        got.as_ref().map_or_else(|| "unset".into(), show)
                    ),
                );
            }
        }
        if x.no_broad_matchers {
            let broad = s.get("matchers").and_then(Value::as_array).is_some_and(|ms| {
                ms.iter().any(|m| {
                    m.get("isRegex").and_then(Value::as_bool) == Some(true)
                        && matches!(m.get("value").and_then(Value::as_str), Some(".*" | ".+" | ""))
                })
            });
            if broad {
                return Eval::fail(
                    "silences that target specific alerts",
                    format!("silence {id} has a matcher that matches everything"),
                );
            }
        }
    }
    Eval::pass(what, format!("{} silence(s)", selected.len()))
}

impl Judge for AlertCheck {
    fn judge<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, Eval> {
        Box::pin(alert(ctx, self))
    }
}

impl Judge for SilenceCheck {
    fn judge<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, Eval> {
        Box::pin(silence(ctx, self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(yaml: &str) -> AlertCheck {
        crate::yaml::parse(yaml).expect("an alert check")
    }

    fn rules(rules: Value) -> Value {
        serde_json::json!({"status": "success", "data": {"groups": [{"name": "g", "rules": rules}]}})
    }

    const EVALUATED: &str = "2026-11-30T04:00:00Z";

    const FIRING_CRITICAL: &str = "{alertname: DemoDown, labels: {instance: 'demo-3:8080'}, expect: {state: firing, labels: {severity: critical}}}";

    #[test]
    fn no_rule_of_that_name_is_never() {
        let doc =
            rules(serde_json::json!([{"type": "alerting", "name": "Other", "duration": 0, "labels": {}}]));
        let p = prospects(&doc, &check(FIRING_CRITICAL), 1000.0);
        assert!(
            matches!(p, Prospect::Never(ref w) if w.contains("no alerting rule named DemoDown")),
            "{p:?}"
        );
        let quiet = check("{alertname: DemoDown, expect: {count: 0}}");
        assert_eq!(
            prospects(&doc, &quiet, 1000.0),
            Prospect::Open,
            "a check that allows no alert is never bounded"
        );
    }

    #[test]
    fn a_constant_label_the_check_rejects_is_never_but_a_template_is_open() {
        let warning = rules(
            serde_json::json!([{"type": "alerting", "name": "DemoDown", "duration": 0, "labels": {"severity": "warning"}}]),
        );
        let p = prospects(&warning, &check(FIRING_CRITICAL), 1000.0);
        assert!(
            matches!(p, Prospect::Never(ref w) if w.contains("severity=\"warning\" where the check wants severity = \"critical\"")),
            "{p:?}"
        );
        let templated = rules(
            serde_json::json!([{"type": "alerting", "name": "DemoDown", "duration": 0, "labels": {"severity": "{{ $labels.sev }}"}}]),
        );
        assert_eq!(
            prospects(&templated, &check(FIRING_CRITICAL), 1000.0),
            Prospect::Open
        );
        let one_right = rules(serde_json::json!([
            {"type": "alerting", "name": "DemoDown", "duration": 0, "labels": {"severity": "warning"}},
            {"type": "alerting", "name": "DemoDown", "duration": 0, "labels": {"severity": "critical"}}
        ]));
        assert_eq!(
            prospects(&one_right, &check(FIRING_CRITICAL), 1000.0),
            Prospect::Open
        );
    }

    #[test]
    fn for_bounds_how_soon_it_can_fire() {
        let doc = rules(
            serde_json::json!([{"type": "alerting", "name": "DemoDown", "duration": 300, "labels": {"severity": "critical"}, "alerts": [], "lastEvaluation": EVALUATED}]),
        );
        let p = prospects(&doc, &check(FIRING_CRITICAL), 1000.0);
        assert!(
            matches!(p, Prospect::NotBefore(t, ref w) if t == 1300.0 && w.contains("for: 5m")),
            "{p:?}"
        );
        // A selected alert pending since 1_700_000_000 fires 300s later; another instance's does not count.
        let pending = rules(
            serde_json::json!([{"type": "alerting", "name": "DemoDown", "duration": 300, "labels": {}, "lastEvaluation": EVALUATED, "alerts": [
                {"labels": {"alertname": "DemoDown", "instance": "demo-3:8080"}, "state": "pending", "activeAt": "2023-11-14T22:13:20Z"},
                {"labels": {"alertname": "DemoDown", "instance": "demo-1:8080"}, "state": "pending", "activeAt": "2023-11-14T22:00:00Z"}
            ]}]),
        );
        let p = prospects(&pending, &check(FIRING_CRITICAL), 1_700_000_100.0);
        assert!(
            matches!(p, Prospect::NotBefore(t, _) if t == 1_700_000_300.0),
            "{p:?}"
        );
        assert_eq!(
            prospects(&pending, &check(FIRING_CRITICAL), 1_700_000_400.0),
            Prospect::Open,
            "past the bound"
        );
        let pending_ok = check("{alertname: DemoDown, expect: {state: {regex: 'pending|firing'}}}");
        assert_eq!(
            prospects(&doc, &pending_ok, 1000.0),
            Prospect::Open,
            "pending is enough: no bound"
        );
    }

    #[test]
    fn alerts_prometheus_no_longer_fires_are_left_over() {
        let live = vec![
            serde_json::json!({"alertname": "DemoDown", "severity": "critical", "instance": "demo-2:8080"})
                .as_object()
                .cloned()
                .unwrap(),
        ];
        let am = |sev: &str, url: &str| serde_json::json!({"labels": {"alertname": "DemoDown", "severity": sev, "instance": "demo-2:8080", "cluster": "lab"}, "generatorURL": url});
        assert!(
            still_alive(&am("critical", "http://prometheus:9090/graph"), &live),
            "external labels are extra"
        );
        assert!(
            !still_alive(&am("crtical", "http://prometheus:9090/graph"), &live),
            "the rule's old labels"
        );
        assert!(
            still_alive(&am("crtical", ""), &live),
            "posted by hand, not by Prometheus"
        );
        assert!(
            !still_alive(&am("critical", "http://p/graph"), &[]),
            "Prometheus fires nothing"
        );
    }
    use serde_json::json;

    #[test]
    fn alerts_at_prometheus_by_state() {
        let all =
            vec![json!({"labels": {"alertname": "DemoDown", "instance": "demo-2:8080"}, "state": "pending"})];
        let c: AlertCheck = crate::yaml::parse("{alertname: DemoDown, expect: {state: firing}}").unwrap();
        let e = judge_alerts(&all, &c, false, "prometheus");
        assert!(!e.pass && e.observed.contains("pending"), "{e:?}");
        let c: AlertCheck = crate::yaml::parse(
            "{alertname: DemoDown, labels: {instance: {regex: demo-2}}, expect: {state: pending}}",
        )
        .unwrap();
        assert!(judge_alerts(&all, &c, false, "prometheus").pass);
        let c: AlertCheck = crate::yaml::parse("{alertname: Nope}").unwrap();
        assert!(!judge_alerts(&all, &c, false, "prometheus").pass);
    }

    #[test]
    fn alerts_at_alertmanager_receivers_and_inhibition() {
        let all = vec![
            json!({"labels": {"alertname": "X"}, "status": {"state": "suppressed", "inhibitedBy": ["abc"], "silencedBy": []}, "receivers": [{"name": "db-pager"}]}),
        ];
        let c: AlertCheck = crate::yaml::parse("{at: alertmanager, alertname: X, expect: {receivers: {set_equal: [db-pager]}, inhibited: true, silenced: false}}").unwrap();
        assert!(judge_alerts(&all, &c, true, "alertmanager").pass);
        let c: AlertCheck = crate::yaml::parse(
            "{at: alertmanager, alertname: X, expect: {receivers: {set_equal: [default]}}}",
        )
        .unwrap();
        assert!(!judge_alerts(&all, &c, true, "alertmanager").pass);
    }

    #[test]
    fn silences_by_matcher_and_breadth() {
        let all = vec![
            json!({"id": "a1", "status": {"state": "active"}, "matchers": [{"name": "alertname", "value": ".*", "isRegex": true}], "comment": "maintenance", "createdBy": "me", "startsAt": "2026-01-01T00:00:00.000Z", "endsAt": "2026-01-01T01:00:00.000Z"}),
        ];
        let c: SilenceCheck =
            crate::yaml::parse("{matcher_name: alertname, expect: {duration: {le: 7200}}}").unwrap();
        assert!(judge_silences(&all, &c).pass);
        let c: SilenceCheck =
            crate::yaml::parse("{matcher_name: alertname, expect: {no_broad_matchers: true}}").unwrap();
        assert!(!judge_silences(&all, &c).pass);
    }

    #[test]
    fn an_alert_counts_as_resent_only_from_prometheus_and_after_the_change() {
        let sent = json!({"labels": {"alertname": "Watchdog"}, "generatorURL": "http://prometheus:9090/graph", "updatedAt": "2026-11-30T10:00:10.000Z"});
        let posted = json!({"labels": {"alertname": "LabDbDown"}, "updatedAt": "2026-11-30T10:00:00.000Z"});
        let t = crate::component::time::parse_rfc3339("2026-11-30T10:00:05Z").unwrap();
        assert!(generated(&sent) && !generated(&posted));
        assert!(updated_since(&sent, t));
        assert!(!updated_since(&sent, t + 10.0));
        assert!(
            !updated_since(&json!({"generatorURL": "x"}), t),
            "no updatedAt: not proven"
        );
    }
}
