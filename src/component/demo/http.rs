//! The demo's HTTP surface: `/metrics`, health, `/sd`, the API routes (real
//! requests take their drawn latency) and `/admin/fault`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use super::Demo;
use super::traffic::ApiRoute;
use crate::component::exposition::Format;
use crate::component::fault::FaultKind;

pub(crate) fn router(demo: Arc<Demo>) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/ready", get(ready))
        .route("/sd", get(sd))
        .route("/broken", get(broken).post(broken))
        .route("/api/orders", get(api_orders).post(api_orders))
        .route("/api/checkout", get(api_checkout).post(api_checkout))
        .route("/api/users", get(api_users).post(api_users))
        .route("/api/search", get(api_search).post(api_search))
        .route(
            "/admin/fault",
            get(list_faults).post(start_fault).delete(clear_faults),
        )
        .route("/admin/fault/{kind}", axum::routing::delete(clear_fault))
        .with_state(demo)
}

fn json_error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, axum::Json(json!({ "error": message.into() }))).into_response()
}

fn down_response() -> Response {
    (StatusCode::SERVICE_UNAVAILABLE, "demo is down (fault)\n").into_response()
}

pub(crate) async fn metrics(State(demo): State<Arc<Demo>>, headers: HeaderMap) -> Response {
    if demo.is_down() {
        return down_response();
    }
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let format = Format::negotiate(accept);
    match demo.render_metrics() {
        Ok(body) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static(format.content_type()),
            )],
            format.render(body),
        )
            .into_response(),
        Err(_) => json_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "encoding the metrics failed; this is a bug in the demo",
        ),
    }
}

pub(crate) async fn healthz(State(demo): State<Arc<Demo>>) -> Response {
    if demo.is_down() {
        return down_response();
    }
    "ok\n".into_response()
}

pub(crate) async fn ready(State(demo): State<Arc<Demo>>) -> Response {
    if demo.is_down() {
        return down_response();
    }
    "ready\n".into_response()
}

async fn sd(State(demo): State<Arc<Demo>>) -> Response {
    axum::Json(json!([{
        "targets": [format!("{}:{}", demo.instance, demo.port)],
        "labels": { "env": "lab" },
    }]))
    .into_response()
}

async fn broken() -> Response {
    json_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "this endpoint always fails (on purpose)",
    )
}

/// Decrements the in-flight gauge when a real request ends, even if the
/// client went away mid-request.
struct InflightGuard(prometheus_client::metrics::gauge::Gauge);

impl Drop for InflightGuard {
    fn drop(&mut self) {
        self.0.dec();
    }
}

async fn serve_api(demo: Arc<Demo>, route: ApiRoute, method: Method) -> Response {
    let method: &'static str = if method == Method::POST { "POST" } else { "GET" };
    let inflight = demo.metrics().gauges.inflight.clone();
    inflight.inc();
    let _guard = InflightGuard(inflight);
    let started = Instant::now();
    let t = demo.clock.now();
    let plan = demo.plan(route, t, &mut rand::rng());
    tokio::time::sleep(Duration::from_secs_f64(plan.base_s + plan.extra_s)).await;
    let duration_s = started.elapsed().as_secs_f64();
    demo.record(route, method, &plan, duration_s);
    super::log_request(&plan, route, method, duration_s);
    let trace = HeaderValue::from_str(&plan.trace_id).ok();
    let mut response = if plan.fail() {
        let status = StatusCode::from_u16(plan.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        json_error(status, "the request failed (a baseline error or an errors fault)")
    } else {
        let mut body = json!({
            "route": route.path(),
            "method": method,
            "status": 200,
            "trace_id": plan.trace_id,
            "duration_ms": (duration_s * 1000.0 * 10.0).round() / 10.0,
        });
        if route == ApiRoute::Checkout {
            body["plan"] = json!(plan.order.0);
            body["amount_cents"] = json!(plan.order.1);
        }
        axum::Json(body).into_response()
    };
    if let Some(trace) = trace {
        response.headers_mut().insert("x-trace-id", trace);
    }
    response
}

async fn api_orders(State(demo): State<Arc<Demo>>, method: Method) -> Response {
    serve_api(demo, ApiRoute::Orders, method).await
}

async fn api_checkout(State(demo): State<Arc<Demo>>, method: Method) -> Response {
    serve_api(demo, ApiRoute::Checkout, method).await
}

async fn api_users(State(demo): State<Arc<Demo>>, method: Method) -> Response {
    serve_api(demo, ApiRoute::Users, method).await
}

async fn api_search(State(demo): State<Arc<Demo>>, method: Method) -> Response {
    serve_api(demo, ApiRoute::Search, method).await
}

async fn list_faults(State(demo): State<Arc<Demo>>) -> Response {
    axum::Json(demo.faults_snapshot()).into_response()
}

async fn start_fault(State(demo): State<Arc<Demo>>, body: Bytes) -> Response {
    match demo.start_fault(&body) {
        Ok(snapshot) => axum::Json(snapshot).into_response(),
        Err(message) => json_error(StatusCode::BAD_REQUEST, message),
    }
}

async fn clear_faults(State(demo): State<Arc<Demo>>) -> Response {
    axum::Json(demo.stop_faults(None)).into_response()
}

async fn clear_fault(State(demo): State<Arc<Demo>>, Path(kind): Path<String>) -> Response {
    match FaultKind::parse(&kind) {
        Ok(kind) => axum::Json(demo.stop_faults(Some(kind))).into_response(),
        Err(e) => json_error(StatusCode::BAD_REQUEST, e.to_string()),
    }
}
