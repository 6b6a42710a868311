//! `status:` — server status endpoints (config, flags, runtimeinfo, buildinfo, tsdb, …).

use super::targets::{discovery_pending, loaded_config, premature_pass};
use crate::check::context::Ctx;
use crate::check::kinds::Judge;
use crate::check::outcome::Eval;
use crate::check::paths::judge_paths;
use crate::lab::spec::{Endpoint, StatusCheck};
use futures::future::BoxFuture;
use serde_json::Value;

/// `status:`
pub(crate) async fn status(ctx: &Ctx, c: &StatusCheck) -> Eval {
    let (path, yaml_field) = c.endpoint.path();
    let v = match ctx.get_json(&c.server, path).await {
        Ok(v) => v,
        Err(e) => return Eval::fail(format!("{} {}", c.server, c.endpoint), e),
    };
    let doc = match yaml_field {
        Some(ptr) => {
            let text = v.pointer(ptr).and_then(Value::as_str).unwrap_or("");
            match crate::yaml::parse::<Value>(text) {
                Ok(d) => d,
                Err(e) => return Eval::fail("a YAML document", format!("cannot parse {}: {e}", c.endpoint)),
            }
        }
        None if c.endpoint.is_alertmanager() => v,
        None => v.get("data").cloned().unwrap_or(Value::Null),
    };
    let doc = if c.endpoint == Endpoint::AmConfig {
        with_routes_flat(doc)
    } else {
        doc
    };
    let mut e = judge_paths(&doc, &c.expect, &format!("{} {}", c.server, c.endpoint));
    // The loaded configuration, the flags and the build change only with a reload or a
    // restart: waiting cannot change the verdict.
    e.settled = c.endpoint.is_static();
    if c.endpoint == Endpoint::Alertmanagers {
        // Like targets, the Alertmanager list is applied on a timer after a reload: not
        // final before that, then final when every Alertmanager is listed statically.
        match discovery_pending(ctx) {
            Some(since) if e.pass => return premature_pass(e, "a new Alertmanager list", since),
            Some(_) => {}
            None => e.settled = alertmanagers_static(ctx, &c.server).await,
        }
    }
    e
}

/// Whether the loaded configuration lists every Alertmanager with `static_configs` only (no
/// service discovery that could change the list without a reload).
async fn alertmanagers_static(ctx: &Ctx, server: &str) -> bool {
    let Ok(doc) = loaded_config(ctx, server).await else {
        return false;
    };
    match doc.pointer("/alerting/alertmanagers") {
        // No Alertmanager at all: the empty list changes only with a reload too.
        None | Some(Value::Null) => true,
        Some(list) => list.as_array().is_some_and(|ams| {
            ams.iter().all(|am| {
                am.as_object().is_some_and(|o| {
                    o.keys()
                        .all(|k| k == "static_configs" || !k.ends_with("_sd_configs"))
                })
            })
        }),
    }
}

/// An Alertmanager configuration with `routes_flat` added: the root route, then every child
/// route at any depth, depth first (what a path reads instead of spelling out levels:
/// `routes_flat[1:].repeat_interval` is every child's own repeat_interval).
fn with_routes_flat(mut doc: Value) -> Value {
    fn collect(route: &Value, into: &mut Vec<Value>) {
        let mut own = route.clone();
        if let Some(o) = own.as_object_mut() {
            o.remove("routes");
        }
        into.push(own);
        for child in route
            .get("routes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            collect(child, into);
        }
    }
    let mut flat = Vec::new();
    if let Some(root) = doc.get("route") {
        collect(root, &mut flat);
    }
    if let Some(o) = doc.as_object_mut() {
        o.insert("routes_flat".to_string(), Value::Array(flat));
    }
    doc
}

impl Judge for StatusCheck {
    fn judge<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, Eval> {
        Box::pin(status(ctx, self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_flat_lists_every_route_at_any_depth() {
        let doc: Value = crate::yaml::parse(
            "route:\n  receiver: r\n  repeat_interval: 10s\n  routes:\n  - {receiver: a, routes: [{receiver: a1, routes: [{receiver: a11, repeat_interval: 4h}]}]}\n  - {receiver: b}\n",
        )
        .unwrap();
        let doc = with_routes_flat(doc);
        let recv: Vec<&str> = doc["routes_flat"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["receiver"].as_str().unwrap())
            .collect();
        assert_eq!(recv, ["r", "a", "a1", "a11", "b"]);
        let got = crate::check::paths::jmes(&doc, "routes_flat[1:].repeat_interval").unwrap();
        assert_eq!(
            got,
            Some(serde_json::json!(["4h"])),
            "a level-4 route is read too"
        );
        assert!(
            doc["routes_flat"][0].get("routes").is_none(),
            "each route without its children"
        );
        assert_eq!(with_routes_flat(Value::Null), Value::Null);
    }
}
