//! The Alertmanager webhook sink: records every notification posted to
//! `/hook/<name>` (bounded, newest kept) so graders can ask what arrived,
//! when, and how it was answered; each hook can be told to answer 200, 500
//! or slowly.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::net::TcpListener;

use super::exposition::Format;
use super::time::{rfc3339, unix_now};
use super::{ComponentError, StopSignal, serve_until};

/// How many notifications the sink keeps (oldest dropped first).
pub const STORE_CAPACITY: usize = 10_000;

/// How long a hook in `slow` mode waits before answering.
pub(crate) const SLOW_DELAY: Duration = Duration::from_secs(15);

/// Largest accepted notification body.
const BODY_LIMIT: usize = 8 * 1024 * 1024;

/// How a hook answers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HookMode {
    /// Answer 200 at once (the default).
    #[default]
    Ok,
    /// Answer 500 at once (Alertmanager will retry).
    Fail500,
    /// Wait 15 s, then answer 200.
    Slow,
}

impl HookMode {
    /// The HTTP status this mode answers with.
    pub fn status(self) -> u16 {
        match self {
            HookMode::Ok | HookMode::Slow => 200,
            HookMode::Fail500 => 500,
        }
    }
}

/// One received notification.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Notification {
    /// The `<name>` of `/hook/<name>`.
    pub hook: String,
    /// Arrival time, unix seconds.
    pub received_at: f64,
    /// `received_at` as RFC 3339.
    pub received_at_rfc3339: String,
    /// The HTTP status the sink answered (or will answer, for `slow`).
    pub answered: u16,
    /// The hook's mode when it arrived.
    pub mode: HookMode,
    /// The body as JSON, unknown fields and all; a body that is not JSON is
    /// kept as a JSON string.
    pub payload: Value,
}

impl Notification {
    /// The payload's `status` (`firing`/`resolved`), or `invalid`.
    pub fn status(&self) -> &'static str {
        match self.payload.get("status").and_then(Value::as_str) {
            Some("firing") => "firing",
            Some("resolved") => "resolved",
            _ => "invalid",
        }
    }

    /// How many alerts the payload carries.
    pub fn alert_count(&self) -> usize {
        self.payload
            .get("alerts")
            .and_then(Value::as_array)
            .map_or(0, Vec::len)
    }
}

/// Received notifications in arrival order, bounded.
#[derive(Debug)]
pub struct NotificationStore {
    items: VecDeque<Notification>,
    capacity: usize,
}

impl Default for NotificationStore {
    fn default() -> Self {
        Self::new(STORE_CAPACITY)
    }
}

impl NotificationStore {
    /// An empty store that keeps at most `capacity` notifications.
    pub fn new(capacity: usize) -> Self {
        Self {
            items: VecDeque::new(),
            capacity: capacity.max(1),
        }
    }

    /// Appends one, dropping the oldest when full.
    pub fn push(&mut self, n: Notification) {
        while self.items.len() >= self.capacity {
            self.items.pop_front();
        }
        self.items.push_back(n);
    }

    /// Notifications of `hook` (all hooks if `None`) received strictly after
    /// `since` (all if `None`), in arrival order.
    pub fn query(&self, hook: Option<&str>, since: Option<f64>) -> Vec<Notification> {
        self.items
            .iter()
            .filter(|n| hook.is_none_or(|h| n.hook == h))
            .filter(|n| since.is_none_or(|s| micros(n.received_at) > micros(s)))
            .cloned()
            .collect()
    }

    /// Forgets everything; returns how many were dropped.
    pub fn reset(&mut self) -> usize {
        let n = self.items.len();
        self.items.clear();
        n
    }

    /// How many are kept.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether none are kept.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

/// Unix seconds as whole microseconds (the resolution `since` works at).
fn micros(unix_seconds: f64) -> i64 {
    (unix_seconds * 1e6).round() as i64
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HookStatusLabels {
    hook: String,
    status: &'static str,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The sink's shared state.
#[derive(Debug)]
struct Sink {
    store: Mutex<NotificationStore>,
    modes: Mutex<BTreeMap<String, HookMode>>,
    registry: Registry,
    notifications: Family<HookStatusLabels, Counter>,
    slow_delay: Duration,
}

impl Sink {
    fn new(capacity: usize, slow_delay: Duration) -> Self {
        let notifications = Family::<HookStatusLabels, Counter>::default();
        let mut registry = Registry::default();
        registry.register(
            "sink_notifications",
            "Webhook notifications received, by hook and payload status",
            notifications.clone(),
        );
        Self {
            store: Mutex::new(NotificationStore::new(capacity)),
            modes: Mutex::new(BTreeMap::new()),
            registry,
            notifications,
            slow_delay,
        }
    }

    fn mode(&self, hook: &str) -> HookMode {
        lock(&self.modes).get(hook).copied().unwrap_or_default()
    }

    fn set_mode(&self, hook: &str, mode: HookMode) {
        lock(&self.modes).insert(hook.to_string(), mode);
    }

    /// Records one notification; returns the mode to answer with.
    fn receive(&self, hook: &str, body: &[u8]) -> HookMode {
        let mode = self.mode(hook);
        let payload = serde_json::from_slice::<Value>(body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()));
        // Whole microseconds, so a `since` that went through a float parser
        // that is off by one ulp still compares equal.
        let received_at = micros(unix_now()) as f64 / 1e6;
        let n = Notification {
            hook: hook.to_string(),
            received_at,
            received_at_rfc3339: rfc3339(received_at),
            answered: mode.status(),
            mode,
            payload,
        };
        let status = n.status();
        println!(
            "event=notification hook={hook} status={status} alerts={} mode={} answered={}",
            n.alert_count(),
            serde_json::to_string(&mode).unwrap_or_default().trim_matches('"'),
            n.answered
        );
        self.notifications
            .get_or_create(&HookStatusLabels {
                hook: hook.to_string(),
                status,
            })
            .inc();
        lock(&self.store).push(n);
        mode
    }
}

/// Runs the sink on `listener` until `stop`.
pub(crate) async fn serve(
    listener: TcpListener,
    stop: StopSignal,
    slow_delay: Duration,
) -> Result<(), ComponentError> {
    let local = listener
        .local_addr()
        .map_or_else(|_| "?".to_string(), |a| a.to_string());
    println!("event=started component=sink listen={local}");
    let sink = Arc::new(Sink::new(STORE_CAPACITY, slow_delay));
    serve_until("sink", listener, router(sink), stop).await
}

fn router(sink: Arc<Sink>) -> Router {
    Router::new()
        .route("/hook/{name}", post(hook))
        .route("/api/notifications", get(list).delete(reset))
        .route("/api/hooks", get(list_hooks))
        .route("/api/hooks/{name}", put(set_hook))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/metrics", get(metrics))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(sink)
}

fn json_error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, axum::Json(json!({ "error": message.into() }))).into_response()
}

async fn hook(State(sink): State<Arc<Sink>>, Path(name): Path<String>, body: Bytes) -> Response {
    let mode = sink.receive(&name, &body);
    if mode == HookMode::Slow {
        tokio::time::sleep(sink.slow_delay).await;
    }
    let status = StatusCode::from_u16(mode.status()).unwrap_or(StatusCode::OK);
    (
        status,
        axum::Json(json!({ "hook": name, "answered": mode.status() })),
    )
        .into_response()
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    hook: Option<String>,
    since: Option<String>,
}

/// Parses `since`: unix seconds (`1700000000.5`) or RFC 3339.
fn parse_since(text: &str) -> Option<f64> {
    if let Ok(v) = text.trim().parse::<f64>() {
        return v.is_finite().then_some(v);
    }
    super::time::parse_rfc3339(text)
}

async fn list(State(sink): State<Arc<Sink>>, Query(q): Query<ListQuery>) -> Response {
    let since = match q.since.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(text) => match parse_since(text) {
            Some(v) => Some(v),
            None => {
                return json_error(
                    StatusCode::BAD_REQUEST,
                    format!(
                        "since must be unix seconds such as 1700000000.5 or an RFC 3339 time (got {text:?})"
                    ),
                );
            }
        },
    };
    let hook = q.hook.as_deref().filter(|h| !h.is_empty());
    axum::Json(lock(&sink.store).query(hook, since)).into_response()
}

async fn reset(State(sink): State<Arc<Sink>>) -> Response {
    let deleted = lock(&sink.store).reset();
    println!("event=reset deleted={deleted}");
    axum::Json(json!({ "deleted": deleted })).into_response()
}

async fn list_hooks(State(sink): State<Arc<Sink>>) -> Response {
    axum::Json(lock(&sink.modes).clone()).into_response()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ModeBody {
    mode: HookMode,
}

async fn set_hook(State(sink): State<Arc<Sink>>, Path(name): Path<String>, body: Bytes) -> Response {
    match serde_json::from_slice::<ModeBody>(&body) {
        Ok(ModeBody { mode }) => {
            sink.set_mode(&name, mode);
            println!(
                "event=hook_mode hook={name} mode={}",
                serde_json::to_string(&mode).unwrap_or_default().trim_matches('"')
            );
            axum::Json(json!({ "hook": name, "mode": mode })).into_response()
        }
        Err(_) => json_error(
            StatusCode::BAD_REQUEST,
            "send {\"mode\": \"ok\"}, {\"mode\": \"fail500\"} or {\"mode\": \"slow\"}",
        ),
    }
}

async fn metrics(State(sink): State<Arc<Sink>>, headers: HeaderMap) -> Response {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let format = Format::negotiate(accept);
    let mut body = String::new();
    match prometheus_client::encoding::text::encode(&mut body, &sink.registry) {
        Ok(()) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static(format.content_type()),
            )],
            format.render(body),
        )
            .into_response(),
        Err(_) => json_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "encoding the metrics failed; this is a bug in the sink",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::component::exposition::{OPENMETRICS_CONTENT_TYPE, TEXT_CONTENT_TYPE};

    fn note(hook: &str, at: f64) -> Notification {
        Notification {
            hook: hook.to_string(),
            received_at: at,
            received_at_rfc3339: rfc3339(at),
            answered: 200,
            mode: HookMode::Ok,
            payload: json!({ "at": at }),
        }
    }

    fn alertmanager_payload(status: &str) -> String {
        json!({
            "version": "4",
            "groupKey": "{}:{alertname=\"HighErrorRate\"}",
            "truncatedAlerts": 0,
            "status": status,
            "receiver": "team-a",
            "groupLabels": {"alertname": "HighErrorRate"},
            "commonLabels": {"alertname": "HighErrorRate", "severity": "page"},
            "commonAnnotations": {"summary": "errors"},
            "externalURL": "http://alertmanager:9093",
            "alerts": [{
                "status": status,
                "labels": {"alertname": "HighErrorRate", "instance": "demo-1:8080"},
                "annotations": {"summary": "errors"},
                "startsAt": "2024-01-01T00:00:00Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus:9090/graph",
                "fingerprint": "c0ffee",
                "someFutureField": [1, 2, 3]
            }],
            "unknownTopLevel": {"kept": true}
        })
        .to_string()
    }

    #[test]
    fn store_is_bounded_keeping_the_newest() {
        let mut store = NotificationStore::new(3);
        for i in 0..5 {
            store.push(note("a", f64::from(i)));
        }
        assert_eq!(store.len(), 3);
        let at: Vec<f64> = store.query(None, None).iter().map(|n| n.received_at).collect();
        assert_eq!(at, vec![2.0, 3.0, 4.0]);
        assert_eq!(NotificationStore::default().capacity, STORE_CAPACITY);
    }

    #[test]
    fn store_filters_by_hook_and_since() {
        let mut store = NotificationStore::new(100);
        store.push(note("a", 1.0));
        store.push(note("b", 2.0));
        store.push(note("a", 3.0));
        store.push(note("a", 4.0));
        let at =
            |hook, since| -> Vec<f64> { store.query(hook, since).iter().map(|n| n.received_at).collect() };
        assert_eq!(at(None, None), vec![1.0, 2.0, 3.0, 4.0]);
        assert_eq!(at(Some("a"), None), vec![1.0, 3.0, 4.0]);
        assert_eq!(at(Some("b"), None), vec![2.0]);
        assert_eq!(at(Some("a"), Some(3.0)), vec![4.0], "since is exclusive");
        assert_eq!(at(None, Some(1.5)), vec![2.0, 3.0, 4.0]);
        // A `since` one ulp off (a lossy float parser) still excludes it.
        assert_eq!(at(Some("a"), Some(3.0 - f64::EPSILON * 2.0)), vec![4.0]);
        assert!(at(Some("c"), None).is_empty());
    }

    #[test]
    fn store_resets() {
        let mut store = NotificationStore::new(10);
        store.push(note("a", 1.0));
        store.push(note("b", 2.0));
        assert_eq!(store.reset(), 2);
        assert!(store.is_empty());
        assert_eq!(store.reset(), 0);
    }

    #[test]
    fn keeps_payload_verbatim_and_non_json_as_string() {
        let sink = Sink::new(10, Duration::ZERO);
        sink.receive("team-a", alertmanager_payload("firing").as_bytes());
        sink.receive("team-a", b"plain text, not json");
        let all = lock(&sink.store).query(None, None);
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].payload["unknownTopLevel"]["kept"], true);
        assert_eq!(all[0].payload["alerts"][0]["someFutureField"][2], 3);
        assert_eq!(all[0].status(), "firing");
        assert_eq!(all[0].alert_count(), 1);
        assert_eq!(all[1].payload, json!("plain text, not json"));
        assert_eq!(all[1].status(), "invalid");
    }

    #[test]
    fn modes_switch_per_hook() {
        let sink = Sink::new(10, Duration::ZERO);
        assert_eq!(sink.receive("a", b"{}"), HookMode::Ok);
        sink.set_mode("a", HookMode::Fail500);
        assert_eq!(sink.receive("a", b"{}"), HookMode::Fail500);
        assert_eq!(sink.receive("b", b"{}"), HookMode::Ok, "other hooks unaffected");
        sink.set_mode("a", HookMode::Slow);
        assert_eq!(sink.receive("a", b"{}"), HookMode::Slow);
        sink.set_mode("a", HookMode::Ok);
        assert_eq!(sink.receive("a", b"{}"), HookMode::Ok);
        let answered: Vec<u16> = lock(&sink.store)
            .query(Some("a"), None)
            .iter()
            .map(|n| n.answered)
            .collect();
        assert_eq!(answered, vec![200, 500, 200, 200]);
        assert_eq!(HookMode::Fail500.status(), 500);
        let parsed: Result<HookMode, _> = serde_json::from_str("\"fail500\"");
        assert_eq!(parsed.ok(), Some(HookMode::Fail500));
    }

    #[test]
    fn counts_notifications_by_hook_and_status() {
        let sink = Sink::new(10, Duration::ZERO);
        sink.receive("a", alertmanager_payload("firing").as_bytes());
        sink.receive("a", alertmanager_payload("firing").as_bytes());
        sink.receive("a", alertmanager_payload("resolved").as_bytes());
        sink.receive("b", b"junk");
        let mut text = String::new();
        let encoded = prometheus_client::encoding::text::encode(&mut text, &sink.registry);
        assert!(encoded.is_ok());
        for line in [
            r#"sink_notifications_total{hook="a",status="firing"} 2"#,
            r#"sink_notifications_total{hook="a",status="resolved"} 1"#,
            r#"sink_notifications_total{hook="b",status="invalid"} 1"#,
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing:\n{text}");
        }
    }

    #[test]
    fn since_accepts_unix_seconds_and_rfc3339() {
        assert_eq!(parse_since("1700000000.5"), Some(1_700_000_000.5));
        assert_eq!(parse_since("2023-11-14T22:13:20Z"), Some(1_700_000_000.0));
        assert_eq!(parse_since("yesterday"), None);
        assert_eq!(parse_since("NaN"), None);
    }

    /// The whole HTTP surface, on a real socket.
    #[tokio::test]
    async fn http_endpoints() {
        let listener = match TcpListener::bind("127.0.0.1:0").await {
            Ok(l) => l,
            Err(e) => panic!("{e}"),
        };
        let port = listener.local_addr().map(|a| a.port()).unwrap_or_default();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let stop = StopSignal::from_future(async move {
            let _ = rx.await;
        });
        let server = tokio::spawn(serve(listener, stop, Duration::from_millis(400)));
        let base = format!("http://127.0.0.1:{port}");
        let c = crate::http::default_client();
        let status = |r: Result<reqwest::Response, reqwest::Error>| match r {
            Ok(r) => r.status().as_u16(),
            Err(e) => panic!("{e}"),
        };
        let list = |query: String| {
            let c = c.clone();
            let url = format!("{base}/api/notifications{query}");
            async move {
                match c.get(url).send().await {
                    Ok(r) => r.json::<Value>().await.unwrap_or_default(),
                    Err(e) => panic!("{e}"),
                }
            }
        };

        assert_eq!(status(c.get(format!("{base}/healthz")).send().await), 200);
        let hook = |name: &str, body: String| c.post(format!("{base}/hook/{name}")).body(body).send();
        assert_eq!(status(hook("team-a", alertmanager_payload("firing")).await), 200);
        assert_eq!(status(hook("team-b", "not json".to_string()).await), 200);

        let all = list(String::new()).await;
        assert_eq!(all.as_array().map(Vec::len), Some(2), "{all}");
        assert_eq!(all[0]["hook"], "team-a");
        assert_eq!(all[0]["payload"]["receiver"], "team-a");
        assert_eq!(all[1]["payload"], "not json");
        let first_at = all[0]["received_at"].as_f64().unwrap_or_default();
        let only_b = list("?hook=team-b".to_string()).await;
        assert_eq!(only_b.as_array().map(Vec::len), Some(1));
        let later = list(format!("?since={first_at}")).await;
        assert_eq!(later.as_array().map(Vec::len), Some(1));
        assert_eq!(later[0]["hook"], "team-b");
        let r = c.get(format!("{base}/api/notifications?since=soon")).send().await;
        assert_eq!(status(r), 400);

        let set =
            |name: &str, body: &'static str| c.put(format!("{base}/api/hooks/{name}")).body(body).send();
        assert_eq!(status(set("team-a", r#"{"mode":"fail500"}"#).await), 200);
        assert_eq!(status(set("team-a", r#"{"mode":"explode"}"#).await), 400);
        assert_eq!(
            status(hook("team-a", alertmanager_payload("resolved")).await),
            500
        );
        assert_eq!(status(set("team-a", r#"{"mode":"slow"}"#).await), 200);
        let started = std::time::Instant::now();
        assert_eq!(status(hook("team-a", "{}".to_string()).await), 200);
        assert!(started.elapsed() >= Duration::from_millis(400));
        let a = list("?hook=team-a".to_string()).await;
        let answered: Vec<Value> = a
            .as_array()
            .map(|v| v.iter().map(|n| n["answered"].clone()).collect())
            .unwrap_or_default();
        assert_eq!(answered, vec![json!(200), json!(500), json!(200)]);

        let hooks: Value = match c.get(format!("{base}/api/hooks")).send().await {
            Ok(r) => r.json().await.unwrap_or_default(),
            Err(e) => panic!("{e}"),
        };
        assert_eq!(hooks, json!({"team-a": "slow"}));

        let r = c
            .get(format!("{base}/metrics"))
            .header("accept", "application/openmetrics-text")
            .send()
            .await;
        let r = match r {
            Ok(r) => r,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(
            r.headers().get("content-type").map(HeaderValue::as_bytes),
            Some(OPENMETRICS_CONTENT_TYPE.as_bytes())
        );
        let text = r.text().await.unwrap_or_default();
        assert!(text.contains(r#"sink_notifications_total{hook="team-a",status="firing"} 1"#));
        assert!(text.ends_with("# EOF\n"));
        let r = match c.get(format!("{base}/metrics")).send().await {
            Ok(r) => r,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(
            r.headers().get("content-type").map(HeaderValue::as_bytes),
            Some(TEXT_CONTENT_TYPE.as_bytes())
        );
        let text = r.text().await.unwrap_or_default();
        assert!(text.contains("# TYPE sink_notifications_total counter\n"));

        let deleted: Value = match c.delete(format!("{base}/api/notifications")).send().await {
            Ok(r) => r.json().await.unwrap_or_default(),
            Err(e) => panic!("{e}"),
        };
        assert_eq!(deleted, json!({"deleted": 4}));
        assert_eq!(list(String::new()).await, json!([]));

        let _ = tx.send(());
        let stopped = tokio::time::timeout(Duration::from_secs(5), server).await;
        assert!(matches!(stopped, Ok(Ok(Ok(())))), "{stopped:?}");
    }
}
