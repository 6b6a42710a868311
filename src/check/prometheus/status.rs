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
            match serde_yaml::from_str::<Value>(text) {
                Ok(d) => d,
                Err(e) => return Eval::fail("a YAML document", format!("cannot parse {}: {e}", c.endpoint)),
            }
        }
        None if c.endpoint.is_alertmanager() => v,
        None => v.get("data").cloned().unwrap_or(Value::Null),
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

impl Judge for StatusCheck {
    fn judge<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, Eval> {
        Box::pin(status(ctx, self))
    }
}
