//! REST requests: each one recorded as the bot sent it (multipart bodies
//! parsed), scripted answers (429s, errors) ahead of the default ones, and
//! the queries tests wait on.

use super::events::SentInteraction;
use super::multipart::parse_multipart;
use super::responses::default_reply;
use super::{FakeDiscord, Inner};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// One file part of a multipart request.
#[derive(Clone, Debug)]
pub struct RecordedFile {
    /// The form field, e.g. `files[0]`.
    pub field: String,
    /// The part's `filename`.
    pub filename: String,
    /// The part's `Content-Type`, if any.
    pub content_type: Option<String>,
    /// The file's bytes.
    pub bytes: Vec<u8>,
}

/// One REST request the fake received.
#[derive(Clone, Debug)]
pub struct Recorded {
    /// 0, 1, 2… in arrival order.
    pub seq: usize,
    /// `GET`, `POST`, `PATCH`, `PUT`, `DELETE`…
    pub method: String,
    /// The path as sent, e.g. `/api/v10/channels/42/messages`.
    pub path: String,
    /// The raw query string (serenity writes `?&a=1&b=2`), if any.
    pub query: Option<String>,
    /// Request headers, names lower-case.
    pub headers: Vec<(String, String)>,
    /// The JSON body, or for multipart the parsed `payload_json` part.
    pub json: Option<Value>,
    /// Multipart non-file text parts other than `payload_json`.
    pub form_fields: Vec<(String, String)>,
    /// Multipart file parts.
    pub files: Vec<RecordedFile>,
    /// Whether the body was `multipart/form-data`.
    pub multipart: bool,
    /// When the fake received it.
    pub at: Instant,
    /// The status the fake answered with.
    pub status: u16,
    /// Whether the fake answered 429.
    pub rate_limited: bool,
}

impl Recorded {
    /// `method` is `m` and `path` is `p`.
    pub fn is(&self, m: &str, p: &str) -> bool {
        self.method == m && self.path == p
    }

    /// A header's value, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    /// `json` at a JSON pointer (`/data/content`), if present.
    pub fn pointer(&self, pointer: &str) -> Option<&Value> {
        self.json.as_ref()?.pointer(pointer)
    }
}

/// `(method, path)` → whether a scripted reply applies.
type Matcher = Box<dyn Fn(&str, &str) -> bool + Send + Sync>;
/// A scripted reply: status, extra headers, JSON body.
type Reply = (u16, Vec<(String, String)>, Value);

pub(super) struct Responder {
    remaining: usize,
    matches: Matcher,
    respond: Box<dyn Fn() -> Reply + Send + Sync>,
    rate_limit: bool,
}

impl FakeDiscord {
    /// Every REST request so far, in arrival order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.inner.lock().requests.clone()
    }

    /// The requests with this method and path.
    pub fn requests_to(&self, method: &str, path: &str) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.is(method, path))
            .collect()
    }

    /// Forgets the recorded REST requests (not the gateway state).
    pub fn clear_requests(&self) {
        self.inner.lock().requests.clear();
    }

    /// Waits (woken on each change, no polling) for the first recorded request
    /// matching `pred`; `None` after `timeout`.
    pub async fn wait_for(
        &self,
        pred: impl Fn(&Recorded) -> bool,
        timeout: Duration,
    ) -> Option<Recorded> {
        self.wait_until(timeout, |s| s.requests.iter().find(|r| pred(r)).cloned())
            .await
    }

    /// Waits until at least `n` requests match `pred`; returns them (all that
    /// match, ≥ n) or `None` after `timeout`.
    pub async fn wait_count(
        &self,
        n: usize,
        pred: impl Fn(&Recorded) -> bool,
        timeout: Duration,
    ) -> Option<Vec<Recorded>> {
        self.wait_until(timeout, |s| {
            let v: Vec<Recorded> = s.requests.iter().filter(|r| pred(r)).cloned().collect();
            (v.len() >= n).then_some(v)
        })
        .await
    }

    /// Waits for the first REST call answering `sent` (its callback or a webhook call).
    pub async fn wait_reply(&self, sent: &SentInteraction, timeout: Duration) -> Option<Recorded> {
        self.wait_for(|r| sent.is_reply(r), timeout).await
    }

    /// Waits for the follow-up message (a webhook POST) that answers `sent`
    /// after a defer.
    pub async fn wait_follow_up(
        &self,
        sent: &SentInteraction,
        timeout: Duration,
    ) -> Option<Recorded> {
        self.wait_for(
            |r| r.method == "POST" && r.path == sent.webhook_path(),
            timeout,
        )
        .await
    }

    /// The next `n` `POST /channels/{id}/messages` get a 429 with
    /// `retry_after_secs` (headers `Retry-After`, `X-RateLimit-*`, body
    /// `{"message","retry_after","global":false,"code":0}`), recorded with
    /// `rate_limited`.
    pub fn rate_limit_next(&self, n: usize, retry_after_secs: f64) {
        self.rate_limit_next_where(n, retry_after_secs, |m, p| {
            m == "POST" && p.starts_with("/api/v10/channels/") && p.ends_with("/messages")
        });
    }

    /// Like [`Self::rate_limit_next`] for requests where `matches(method, path)`.
    pub fn rate_limit_next_where(
        &self,
        n: usize,
        retry_after_secs: f64,
        matches: impl Fn(&str, &str) -> bool + Send + Sync + 'static,
    ) {
        let respond = move || {
            let reset = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                .as_secs_f64()
                + retry_after_secs;
            let headers = vec![
                ("retry-after".into(), format!("{retry_after_secs}")),
                ("x-ratelimit-limit".into(), "5".into()),
                ("x-ratelimit-remaining".into(), "0".into()),
                ("x-ratelimit-reset".into(), format!("{reset:.3}")),
                (
                    "x-ratelimit-reset-after".into(),
                    format!("{retry_after_secs}"),
                ),
                ("x-ratelimit-bucket".into(), "fake-bucket".into()),
                ("x-ratelimit-scope".into(), "user".into()),
            ];
            let body = json!({
                "message": "You are being rate limited.",
                "retry_after": retry_after_secs,
                "global": false,
                "code": 0,
            });
            (429, headers, body)
        };
        self.inner.lock().responders.push(Responder {
            remaining: n,
            matches: Box::new(matches),
            respond: Box::new(respond),
            rate_limit: true,
        });
    }

    /// The next `n` requests where `matches(method, path)` get `status` with
    /// JSON `body` (e.g. 403 `{"message":"Missing Permissions","code":50013}`).
    pub fn respond_next_where(
        &self,
        n: usize,
        status: u16,
        body: Value,
        matches: impl Fn(&str, &str) -> bool + Send + Sync + 'static,
    ) {
        self.inner.lock().responders.push(Responder {
            remaining: n,
            matches: Box::new(matches),
            respond: Box::new(move || (status, Vec::new(), body.clone())),
            rate_limit: false,
        });
    }

    /// The next message posted to `channel` is refused as Discord refuses an
    /// embed where the bot lacks *Embed Links* (403, code 50013).
    pub fn refuse_next_post_for_permissions(&self, channel: u64) {
        let path = format!("/api/v10/channels/{channel}/messages");
        self.respond_next_where(
            1,
            403,
            serde_json::json!({"message": "Missing Permissions", "code": 50013}),
            move |m, p| m == "POST" && p == path,
        );
    }
}

pub(super) async fn rest_handler(
    State(inner): State<Arc<Inner>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let mut rec = Recorded {
        seq: 0,
        method: method.to_string(),
        path: path.clone(),
        query: uri.query().map(str::to_string),
        headers: headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        json: None,
        form_fields: Vec::new(),
        files: Vec::new(),
        multipart: false,
        at: Instant::now(),
        status: 0,
        rate_limited: false,
    };
    if let Some(boundary) = content_type
        .strip_prefix("multipart/form-data")
        .and_then(|rest| rest.split("boundary=").nth(1))
    {
        rec.multipart = true;
        for part in parse_multipart(&body, boundary.trim_matches('"')) {
            match part.filename {
                Some(filename) => rec.files.push(RecordedFile {
                    field: part.name,
                    filename,
                    content_type: part.content_type,
                    bytes: part.data,
                }),
                None if part.name == "payload_json" => {
                    rec.json = serde_json::from_slice(&part.data).ok();
                }
                None => rec
                    .form_fields
                    .push((part.name, String::from_utf8_lossy(&part.data).into_owned())),
            }
        }
    } else if !body.is_empty() {
        rec.json = serde_json::from_slice(&body).ok();
    }

    let scripted = {
        let mut s = inner.lock();
        let hit = s
            .responders
            .iter_mut()
            .find(|r| r.remaining > 0 && (r.matches)(&rec.method, &rec.path));
        hit.map(|r| {
            r.remaining -= 1;
            (r.rate_limit, (r.respond)())
        })
    };
    let (status, extra_headers, reply) = match scripted {
        Some((rate_limit, (status, headers, body))) => {
            rec.rate_limited = rate_limit;
            (status, headers, Some(body))
        }
        None => {
            let (status, body) = default_reply(&inner, &rec);
            (status, Vec::new(), body)
        }
    };
    rec.status = status;
    {
        let mut s = inner.lock();
        rec.seq = s.requests.len();
        s.requests.push(rec);
    }
    inner.bump();

    let mut response = match reply {
        Some(body) => (
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            axum::Json(body),
        )
            .into_response(),
        None => StatusCode::from_u16(status)
            .unwrap_or(StatusCode::NO_CONTENT)
            .into_response(),
    };
    for (k, v) in extra_headers {
        if let (Ok(name), Ok(value)) = (
            axum::http::HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(&v),
        ) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}
