//! `scenario`: actions that make the stack do something (faults, restarts, posted alerts),
//! then nested checks; `cleanup` always runs, whatever happened.

use std::time::Duration;

use serde_json::{Value, json};

use crate::lab::spec::{FaultStep, ScenarioCheck, Step};
use futures::future::BoxFuture;

use super::context::{Ctx, now_unix};
use super::kinds::Judge;
use super::outcome::Eval;
use super::scheduler::eval_timed;

/// `scenario:`
pub(crate) async fn run(ctx: &Ctx, c: &ScenarioCheck) -> Eval {
    let mut log: Vec<String> = Vec::new();
    let t0 = now_unix();
    let mut result = Eval::pass("every step of the scenario", "");
    for (i, step) in c.steps.iter().enumerate() {
        if ctx.stopped() {
            result = Eval::interrupted();
            break;
        }
        match do_step(ctx, step).await {
            Ok(StepResult::Checked(e)) if e.interrupted => {
                result = e;
                break;
            }
            Ok(StepResult::Done(what)) => log.push(format!("+{:.1}s step {} {what}", now_unix() - t0, i + 1)),
            Ok(StepResult::Checked(e)) => {
                log.push(format!(
                    "+{:.1}s step {} check: {}",
                    now_unix() - t0,
                    i + 1,
                    if e.pass { "ok" } else { "failed" }
                ));
                if !e.pass {
                    let (title, hint) = c.steps[i]
                        .check
                        .as_ref()
                        .map(|n| (n.title.clone(), n.hint.clone()))
                        .unwrap_or_default();
                    result = Eval::fail(format!("step {} ({title}): {}", i + 1, e.expected), e.observed);
                    result.detail = e.detail;
                    if !hint.is_empty() {
                        result.detail.push(format!("step hint: {hint}"));
                    }
                    break;
                }
            }
            Err(why) => {
                result = Eval::fail(format!("step {} to run", i + 1), why);
                break;
            }
        }
    }
    for step in &c.cleanup {
        if let Err(why) = do_step(ctx, step).await {
            log.push(format!("cleanup failed: {why}"));
        }
    }
    if result.interrupted {
        return result;
    }
    if result.pass {
        result.observed = format!("{} steps ran", c.steps.len());
    } else {
        result
            .detail
            .extend(log.into_iter().map(|l| format!("scenario: {l}")));
    }
    result
}

enum StepResult {
    Done(String),
    Checked(Eval),
}

async fn do_step(ctx: &Ctx, s: &Step) -> Result<StepResult, String> {
    if let Some(name) = &s.mark {
        if let Ok(mut m) = ctx.marks.lock() {
            m.insert(name.clone(), now_unix());
        }
        return Ok(StepResult::Done(format!("mark {name}")));
    }
    if let Some(rec) = &s.record {
        let r = super::prometheus::client::query(ctx, &rec.server, &rec.promql, None).await?;
        let [one] = r.series.as_slice() else {
            return Err(format!(
                "record {}: `{}` returned {} series, not one",
                rec.name,
                rec.promql,
                r.series.len()
            ));
        };
        let value = crate::lab::compare::show(&serde_json::Value::from(one.value));
        if let Ok(mut st) = ctx.state.lock() {
            st.insert(rec.name.clone(), value.clone());
        }
        return Ok(StepResult::Done(format!("recorded {} = {value}", rec.name)));
    }
    if let Some(d) = s.wait {
        tokio::time::sleep(d.0).await;
        return Ok(StepResult::Done(format!("waited {d}")));
    }
    if let Some(f) = &s.fault {
        let base = ctx.url(&f.service)?;
        post_json(ctx, &format!("{base}/admin/fault"), &fault_body(f)).await?;
        if let Ok(mut m) = ctx.marks.lock() {
            m.insert("fault".to_string(), now_unix());
        }
        let on = f.route.as_deref().map(|r| format!(" {r}")).unwrap_or_default();
        return Ok(StepResult::Done(format!("fault {} on {}{on}", f.kind, f.service)));
    }
    if let Some(target) = &s.clear_fault {
        let names: Vec<String> = if target == "all" {
            ctx.services
                .iter()
                .filter(|(_, v)| v.role == Some(crate::stack::Role::Demo))
                .map(|(k, _)| k.clone())
                .collect()
        } else {
            vec![target.clone()]
        };
        for n in &names {
            let base = ctx.url(n)?;
            ctx.client
                .delete(format!("{base}/admin/fault"))
                .send()
                .await
                .map_err(|e| crate::http::describe(&e))?;
        }
        return Ok(StepResult::Done(format!(
            "cleared faults on {}",
            names.join(", ")
        )));
    }
    if let Some(p) = &s.post_alerts {
        let base = ctx.url(&p.server)?;
        // `{{ mark.X }}` in a value makes an alert (or its group) new on every run.
        let vars = ctx.state_vars();
        let render =
            |m: &std::collections::BTreeMap<String, String>| -> std::collections::BTreeMap<String, String> {
                m.iter()
                    .map(|(k, v)| (k.clone(), crate::lab::template::render(v, &vars)))
                    .collect()
            };
        let alerts: Vec<Value> = p
            .alerts
            .iter()
            .map(|a| json!({"labels": render(&a.labels), "annotations": render(&a.annotations)}))
            .collect();
        post_json(ctx, &format!("{base}/api/v2/alerts"), &Value::from(alerts)).await?;
        return Ok(StepResult::Done(format!("posted {} alerts", p.alerts.len())));
    }
    for (what, target) in [("stop", &s.stop), ("start", &s.start), ("restart", &s.restart)] {
        if let Some(service) = target {
            let id = ctx.container(service)?;
            let r = match what {
                "stop" => ctx.docker.stop(&id).await,
                "start" => ctx.docker.start(&id).await,
                _ => ctx.docker.restart(&id).await,
            };
            r.map_err(|e| e.to_string())?;
            if what != "stop" {
                // Docker may publish a started container on new ephemeral host ports.
                ctx.refresh(service).await;
            }
            return Ok(StepResult::Done(format!("{what} {service}")));
        }
    }
    if s.sink_reset == Some(true) {
        let base = ctx.url("sink")?;
        ctx.client
            .delete(format!("{base}/api/notifications"))
            .send()
            .await
            .map_err(|e| crate::http::describe(&e))?;
        return Ok(StepResult::Done("reset the sink".to_string()));
    }
    if let Some(inner) = &s.check {
        let inner = inner.with_state(&ctx.state_vars());
        let e = eval_timed(ctx, &inner, now_unix(), &|_, _| {}).await;
        return Ok(StepResult::Checked(e));
    }
    Err("an empty step: give it one action".to_string())
}

async fn post_json(ctx: &Ctx, url: &str, body: &Value) -> Result<(), String> {
    let r = ctx
        .client
        .post(url)
        .json(body)
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .map_err(|e| crate::http::describe(&e))?;
    if r.status().is_success() {
        Ok(())
    } else {
        let status = r.status();
        Err(format!(
            "{url} answered {status}: {}",
            super::trim(&r.text().await.unwrap_or_default(), 160)
        ))
    }
}

impl Judge for ScenarioCheck {
    fn judge<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, Eval> {
        Box::pin(run(ctx, self))
    }
}

/// The demo fault API's request body for a `fault:` step.
fn fault_body(f: &FaultStep) -> Value {
    let mut body = json!({"kind": f.kind});
    if let Some(r) = f.rate {
        body["rate"] = json!(r);
    }
    if let Some(l) = f.latency_ms {
        body["latency_ms"] = json!(l);
    }
    if let Some(d) = f.duration {
        body["duration_s"] = json!(d.secs());
    }
    if let Some(r) = &f.route {
        body["route"] = json!(r);
    }
    body
}

#[cfg(test)]
mod fault_tests {
    use super::*;
    use crate::lab::spec::KindSpec;

    #[test]
    fn a_fault_step_may_target_one_route() {
        let f: FaultStep =
            crate::yaml::parse("{service: demo-1, kind: errors, rate: 0.5, route: /api/checkout}").unwrap();
        let body = fault_body(&f);
        assert_eq!(
            body,
            json!({"kind": "errors", "rate": 0.5, "route": "/api/checkout"})
        );
        let f: FaultStep = crate::yaml::parse("{service: demo-1, kind: latency, latency_ms: 300}").unwrap();
        assert!(fault_body(&f).get("route").is_none(), "no route: every route");
    }

    #[test]
    fn a_route_the_demo_does_not_serve_is_refused_at_load() {
        let ok = |y: &str| {
            crate::yaml::parse::<ScenarioCheck>(y)
                .unwrap()
                .validate("c", &|_| Ok(()))
        };
        assert!(ok("{steps: [{fault: {service: d, kind: errors, rate: 1, route: /api/orders}}]}").is_ok());
        let e = ok("{steps: [{fault: {service: d, kind: errors, rate: 1, route: /api/nope}}]}").unwrap_err();
        assert!(
            e.contains("\"/api/nope\" is not a route") && e.contains("/api/checkout"),
            "{e}"
        );
        let e = ok("{steps: [{fault: {service: d, kind: down, route: /api/orders}}]}").unwrap_err();
        assert!(e.contains("`down` fault has no route"), "{e}");
    }
}
