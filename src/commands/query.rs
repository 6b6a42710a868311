//! `query`, `targets` and `alerts`: what Prometheus' web UI shows, in the terminal, from the
//! running lab's Prometheus at its real URL (whatever host port it got).

use serde_json::{Value, json};

use super::session::{Running, running};
use crate::error::Error;
use crate::exit;
use crate::lab::LabId;
use crate::render::prom;
use crate::runtime::docker::Docker;

/// What `query` is asked.
#[derive(Debug, Clone)]
pub struct QueryArgs {
    /// The PromQL expression.
    pub expr: String,
    /// The lab (default: the one whose workspace holds the current folder, else the only one).
    pub lab: Option<LabId>,
    /// A range query over this long, ending now.
    pub range: Option<String>,
    /// The step of a range query.
    pub step: Option<String>,
    /// Print JSON.
    pub json: bool,
}

/// The running lab and its Prometheus' base URL.
async fn prometheus(lab: Option<LabId>) -> Result<(Running, String), Error> {
    let docker = Docker::connect().await?;
    let run = running(&docker, lab).await?;
    let client = crate::http::client(std::time::Duration::from_secs(3));
    let c = run
        .containers
        .iter()
        .find(|c| c.label(crate::runtime::LABEL_ROLE) == "prometheus")
        .or_else(|| run.containers.iter().find(|c| c.service() == "prometheus"))
        .ok_or_else(|| Error::Usage(format!("lab {} runs no Prometheus to ask", run.lab)))?;
    let url = super::session::shown_url(&client, c)
        .await
        .ok_or_else(|| Error::NotRunning(format!("lab {}'s {} publishes no port", run.lab, c.service())))?;
    Ok((run, url))
}

/// GETs a Prometheus API path; returns `data`, or Prometheus' own error text.
async fn api(base: &str, path: &str, params: &[(&str, String)]) -> Result<Result<Value, String>, Error> {
    let client = crate::http::client(std::time::Duration::from_secs(30));
    let resp = client
        .get(format!("{base}{path}"))
        .query(params)
        .send()
        .await
        .map_err(|e| {
            Error::NotRunning(format!(
                "cannot reach Prometheus at {base}: {}",
                crate::http::describe(&e)
            ))
        })?;
    let status = resp.status();
    let body: Value = match resp.json().await {
        Ok(v) => v,
        Err(_) => {
            return Ok(Err(format!(
                "{base}{path} answered HTTP {status} with a body that is not the API's JSON"
            )));
        }
    };
    if body["status"] == "success" {
        return Ok(Ok(body["data"].clone()));
    }
    Ok(Err(body["error"]
        .as_str()
        .map_or_else(|| format!("HTTP {status}"), str::to_string)))
}

fn now() -> f64 {
    crate::check::now_unix()
}

fn duration(what: &str, s: &str) -> Result<f64, Error> {
    let d = crate::duration::Dur::parse(s).map_err(|e| Error::Usage(format!("--{what}: {e}")))?;
    if d.secs() <= 0.0 {
        return Err(Error::Usage(format!("--{what} must be longer than 0s")));
    }
    Ok(d.secs())
}

/// `promlab query EXPR [--lab ID] [--range 10m] [--step 15s] [--json]`.
pub async fn query(a: QueryArgs) -> Result<u8, Error> {
    let (run, base) = prometheus(a.lab).await?;
    let width = super::width();
    let end = now();
    let (answer, range) = match &a.range {
        None => {
            if a.step.is_some() {
                return Err(Error::Usage(
                    "--step needs --range (e.g. --range 10m --step 15s)".to_string(),
                ));
            }
            (
                api(
                    &base,
                    "/api/v1/query",
                    &[("query", a.expr.clone()), ("time", format!("{end:.3}"))],
                )
                .await?,
                None,
            )
        }
        Some(r) => {
            let span = duration("range", r)?;
            // Default: about one sample per braille dot across the chart, at least 1s apart.
            let step = match &a.step {
                Some(s) => duration("step", s)?,
                None => (span / (width.saturating_sub(11) * 2).max(32) as f64)
                    .ceil()
                    .max(1.0),
            };
            if span / step > 11_000.0 {
                return Err(Error::Usage(format!(
                    "--range {r} with --step {step}s asks for more than 11000 points, Prometheus' limit: use a longer --step"
                )));
            }
            let start = end - span;
            let params = [
                ("query", a.expr.clone()),
                ("start", format!("{start:.3}")),
                ("end", format!("{end:.3}")),
                ("step", format!("{step}")),
            ];
            (
                api(&base, "/api/v1/query_range", &params).await?,
                Some((start, step)),
            )
        }
    };
    let data = answer.map_err(|e| Error::Usage(prom::rejected(&a.expr, &e)))?;
    if a.json {
        let mut out = json!({
            "format_version": prom::FORMAT_VERSION,
            "lab": run.lab.to_string(),
            "prometheus": base,
            "query": a.expr,
            "result_type": data["resultType"],
            "result": data["result"],
        });
        if let Some((start, step)) = range {
            out["start"] = json!(start);
            out["end"] = json!(end);
            out["step"] = json!(step);
        }
        println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
        return Ok(exit::OK);
    }
    match range {
        None => print!("{}", super::styled(&prom::instant(&data))),
        Some((start, step)) => {
            println!(
                "{} over the last {} (step {step}s) from {base}\n",
                a.expr,
                a.range.as_deref().unwrap_or("")
            );
            print!("{}", super::styled(&prom::range(&data, start, end, width)));
        }
    }
    Ok(exit::OK)
}

/// `promlab targets [--lab ID] [--json]`.
pub async fn targets(lab: Option<LabId>, json: bool) -> Result<u8, Error> {
    let (run, base) = prometheus(lab).await?;
    let data = api(&base, "/api/v1/targets", &[]).await?.map_err(Error::Other)?;
    if json {
        let out = json!({
            "format_version": prom::FORMAT_VERSION,
            "lab": run.lab.to_string(),
            "prometheus": base,
            "active_targets": data["activeTargets"],
            "dropped_targets": data["droppedTargets"].as_array().map_or(0, Vec::len),
        });
        println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
        return Ok(exit::OK);
    }
    print!("{}", super::styled(&prom::targets(&data, now())));
    Ok(exit::OK)
}

/// `promlab alerts [--lab ID] [--json]`.
pub async fn alerts(lab: Option<LabId>, json: bool) -> Result<u8, Error> {
    let (run, base) = prometheus(lab).await?;
    let data = api(&base, "/api/v1/rules", &[("type", "alert".to_string())])
        .await?
        .map_err(Error::Other)?;
    if json {
        let out = json!({
            "format_version": prom::FORMAT_VERSION,
            "lab": run.lab.to_string(),
            "prometheus": base,
            "groups": data["groups"],
        });
        println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
        return Ok(exit::OK);
    }
    print!("{}", super::styled(&prom::alerts(&data)));
    Ok(exit::OK)
}
