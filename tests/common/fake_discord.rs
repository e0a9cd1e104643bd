//! A local fake Discord for end-to-end bot tests: the REST API and a
//! gateway websocket on one 127.0.0.1 port, driven by the real serenity
//! client (no internet).
//!
//! Point serenity at it with
//! `HttpBuilder::new(token).proxy(fake.url()).ratelimiter_disabled(true)`.
//! The ratelimiter MUST be disabled: serenity 0.12's `Ratelimiter::perform`
//! (src/http/ratelimiting.rs:199) builds every request with proxy `None`, so
//! with the ratelimiter on, every REST call (and `GET /gateway`) goes to the
//! real `https://discord.com` whatever `.proxy()` says.
//!
//! REST: every request is recorded ([`Recorded`]) and answered with a reply
//! serenity can deserialize (see [`FakeDiscord`]); scripted failures
//! ([`FakeDiscord::rate_limit_next`], [`FakeDiscord::respond_next_where`])
//! come first. Gateway: HELLO, READY after IDENTIFY, ACK for every heartbeat,
//! plain JSON text frames (serenity asks for no transport compression: its URL
//! is `{url}?v=10`, and the identify's `"compress": true` only allows
//! per-payload zlib, which a server may ignore), and helpers that send
//! complete `INTERACTION_CREATE`/`MESSAGE_CREATE` dispatches. Every dispatch
//! the helpers build is first deserialized with serenity's own model types,
//! so a payload serenity would drop as an unknown event panics here instead.

use axum::body::Bytes;
use axum::extract::ws::{Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::{DefaultBodyLimit, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use poise::serenity_prelude as serenity;
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

/// The application id the fake reports (READY, `/oauth2/applications/@me`).
pub const APPLICATION_ID: u64 = 900_000_000_000_000_001;
/// The bot user's id (as on Discord, the same as the application id).
pub const BOT_USER_ID: u64 = APPLICATION_ID;
/// The bot's user name.
pub const BOT_USERNAME: &str = "bman-test-bot";
/// The guild READY lists, and the default guild of [`Actor`].
pub const GUILD_ID: u64 = 900_000_000_000_000_100;
/// The default channel of [`Actor`].
pub const CHANNEL_ID: u64 = 900_000_000_000_000_200;
/// The application owner's user id (`/oauth2/applications/@me` `owner`).
pub const OWNER_ID: u64 = 900_000_000_000_000_300;
/// The fake's `heartbeat_interval` unless [`FakeOptions`] says otherwise (Discord's usual value).
pub const DEFAULT_HEARTBEAT_INTERVAL: Duration = Duration::from_millis(41_250);

/// Start-up options for [`FakeDiscord::start_with`].
#[derive(Clone, Debug)]
pub struct FakeOptions {
    /// Sent in HELLO; serenity heartbeats at this interval.
    pub heartbeat_interval: Duration,
}

impl Default for FakeOptions {
    fn default() -> Self {
        Self {
            heartbeat_interval: DEFAULT_HEARTBEAT_INTERVAL,
        }
    }
}

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

/// Who does something in a `send_*` helper: a guild member (default) or a DM user.
#[derive(Clone, Debug)]
pub struct Actor {
    /// The user's id.
    pub user_id: u64,
    /// The user's `username`.
    pub username: String,
    /// Role ids of the member (ignored in DMs).
    pub roles: Vec<u64>,
    /// The member's resolved permissions (interaction `member.permissions`).
    pub permissions: u64,
    /// Where it happens.
    pub channel_id: u64,
    /// `Some(guild)` for a guild, `None` for a DM.
    pub guild_id: Option<u64>,
}

impl Actor {
    /// A member of [`GUILD_ID`] in [`CHANNEL_ID`], no roles, basic permissions.
    pub fn user(user_id: u64) -> Self {
        Self {
            user_id,
            username: format!("user{user_id}"),
            roles: Vec::new(),
            // VIEW_CHANNEL | SEND_MESSAGES | READ_MESSAGE_HISTORY | USE_APPLICATION_COMMANDS
            permissions: (1 << 10) | (1 << 11) | (1 << 16) | (1 << 31),
            channel_id: CHANNEL_ID,
            guild_id: Some(GUILD_ID),
        }
    }

    /// With these member roles.
    pub fn roles(mut self, roles: &[u64]) -> Self {
        self.roles = roles.to_vec();
        self
    }

    /// With these member permission bits.
    pub fn permissions(mut self, bits: u64) -> Self {
        self.permissions = bits;
        self
    }

    /// In this channel.
    pub fn in_channel(mut self, channel_id: u64) -> Self {
        self.channel_id = channel_id;
        self
    }

    /// In a DM (no guild, no member).
    pub fn dm(mut self) -> Self {
        self.guild_id = None;
        self
    }

    /// With this user name.
    pub fn named(mut self, username: &str) -> Self {
        self.username = username.to_string();
        self
    }

    fn user_json(&self) -> Value {
        user_json(self.user_id, &self.username, false)
    }

    fn member_json(&self, with_user: bool, with_permissions: bool) -> Value {
        let mut m = json!({
            "roles": self.roles.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
            "nick": null,
            "avatar": null,
            "joined_at": "2024-01-01T00:00:00.000000+00:00",
            "premium_since": null,
            "deaf": false,
            "mute": false,
            "flags": 0,
            "pending": false,
            "communication_disabled_until": null,
        });
        if with_user {
            m["user"] = self.user_json();
        }
        if with_permissions {
            m["permissions"] = Value::String(self.permissions.to_string());
        }
        m
    }
}

/// An interaction the fake sent, to find the bot's reply by.
#[derive(Clone, Debug)]
pub struct SentInteraction {
    /// The interaction id.
    pub id: u64,
    /// The interaction token.
    pub token: String,
    /// The full `INTERACTION_CREATE` `d` payload sent.
    pub payload: Value,
}

impl SentInteraction {
    /// `/api/v10/interactions/{id}/{token}/callback`: the initial response.
    pub fn callback_path(&self) -> String {
        format!("/api/v10/interactions/{}/{}/callback", self.id, self.token)
    }

    /// `/api/v10/webhooks/{app}/{token}`: follow-ups (POST) and, below it,
    /// `/messages/@original` (PATCH after a defer).
    pub fn webhook_path(&self) -> String {
        format!("/api/v10/webhooks/{APPLICATION_ID}/{}", self.token)
    }

    /// Whether `r` is any REST call answering this interaction (callback or webhook).
    pub fn is_reply(&self, r: &Recorded) -> bool {
        r.path == self.callback_path() || r.path.starts_with(&self.webhook_path())
    }
}

/// `{"name", "type", "value"}` for a slash-command option, the type taken from
/// the JSON value: string 3, integer 4, boolean 5, float 10.
pub fn opt(name: &str, value: impl Into<Value>) -> Value {
    let value = value.into();
    let kind = match &value {
        Value::String(_) => 3,
        Value::Bool(_) => 5,
        Value::Number(n) if n.is_i64() || n.is_u64() => 4,
        Value::Number(_) => 10,
        other => panic!("opt({name}): use opt_typed for {other}"),
    };
    json!({"name": name, "type": kind, "value": value})
}

/// An option with an explicit type (6 user, 7 channel, 8 role, 9 mentionable,
/// 11 attachment take snowflake strings). A user option's user is added to
/// `resolved.users` (and `members` in a guild) automatically.
pub fn opt_typed(name: &str, kind: u8, value: impl Into<Value>) -> Value {
    json!({"name": name, "type": kind, "value": value.into()})
}

/// A subcommand (type 1) with its options.
pub fn subcommand(name: &str, options: Value) -> Value {
    json!({"name": name, "type": 1, "options": options})
}

/// A subcommand group (type 2) with its subcommands.
pub fn subcommand_group(name: &str, subcommands: Value) -> Value {
    json!({"name": name, "type": 2, "options": subcommands})
}

/// The fake server. Dropping it stops the server task.
pub struct FakeDiscord {
    addr: std::net::SocketAddr,
    inner: Arc<Inner>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for FakeDiscord {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// `(method, path)` → whether a scripted reply applies.
type Matcher = Box<dyn Fn(&str, &str) -> bool + Send + Sync>;
/// A scripted reply: status, extra headers, JSON body.
type Reply = (u16, Vec<(String, String)>, Value);

struct Responder {
    remaining: usize,
    matches: Matcher,
    respond: Box<dyn Fn() -> Reply + Send + Sync>,
    rate_limit: bool,
}

#[derive(Default)]
struct GatewayState {
    /// Sender of the live connection, if any.
    tx: Option<mpsc::UnboundedSender<WsMessage>>,
    /// Connections accepted so far.
    connections: u32,
    /// Query of each connection URL (serenity: `v=10`).
    connect_queries: Vec<Option<String>>,
    /// Last dispatch sequence number sent on the live connection.
    seq: u64,
    /// Every frame the client sent, parsed.
    received: Vec<Value>,
    /// The last IDENTIFY `d`.
    identify: Option<Value>,
    /// Whether READY went out on the live connection.
    ready: bool,
    /// Heartbeats received (op 1).
    heartbeats: u32,
}

struct State_ {
    requests: Vec<Recorded>,
    responders: Vec<Responder>,
    gateway: GatewayState,
    /// Channel of each interaction the fake sent, by token.
    interaction_channels: HashMap<String, u64>,
    /// Messages the fake created (REST), by id.
    messages: HashMap<u64, Value>,
    /// Original interaction responses, by token.
    originals: HashMap<String, Value>,
    /// Tokens whose original is a deferred placeholder not yet followed up.
    deferred: HashSet<String>,
    /// Last registered commands: key `None` global, `Some(guild)` per guild.
    commands: HashMap<Option<u64>, Vec<Value>>,
}

struct Inner {
    state: Mutex<State_>,
    next_id: AtomicU64,
    changed: watch::Sender<u64>,
    base: String,
    heartbeat_interval: Duration,
}

impl Inner {
    fn lock(&self) -> std::sync::MutexGuard<'_, State_> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn bump(&self) {
        self.changed.send_modify(|v| *v += 1);
    }

    fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }
}

impl FakeDiscord {
    /// Starts the fake on 127.0.0.1 with a free port and default options.
    pub async fn start() -> Self {
        Self::start_with(FakeOptions::default()).await
    }

    /// Starts the fake with `options`.
    pub async fn start_with(options: FakeOptions) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let (changed, _) = watch::channel(0);
        let inner = Arc::new(Inner {
            state: Mutex::new(State_ {
                requests: Vec::new(),
                responders: Vec::new(),
                gateway: GatewayState::default(),
                interaction_channels: HashMap::new(),
                deferred: HashSet::new(),
                messages: HashMap::new(),
                originals: HashMap::new(),
                commands: HashMap::new(),
            }),
            next_id: AtomicU64::new(1_100_000_000_000_000_000),
            changed,
            base: format!("http://{addr}"),
            heartbeat_interval: options.heartbeat_interval,
        });
        let app = Router::new()
            .route("/gateway-ws", get(ws_handler))
            .fallback(rest_handler)
            .layer(DefaultBodyLimit::disable())
            .with_state(inner.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            addr,
            inner,
            server,
        }
    }

    /// `http://127.0.0.1:PORT`: the value for `HttpBuilder::proxy` / `DISCORD_API_PROXY`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `ws://127.0.0.1:PORT/gateway-ws`: what `GET /gateway(/bot)` returns.
    pub fn gateway_url(&self) -> String {
        format!("ws://{}/gateway-ws", self.addr)
    }

    /// A serenity `Http` that talks only to this fake (proxy set, ratelimiter off).
    pub fn http(&self, token: &str) -> serenity::Http {
        serenity::HttpBuilder::new(token)
            .proxy(self.url())
            .ratelimiter_disabled(true)
            .build()
    }

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

    async fn wait_until<T>(
        &self,
        timeout: Duration,
        check: impl Fn(&State_) -> Option<T>,
    ) -> Option<T> {
        let mut rx = self.inner.changed.subscribe();
        let deadline = Instant::now() + timeout;
        loop {
            rx.borrow_and_update();
            if let Some(found) = check(&self.inner.lock()) {
                return Some(found);
            }
            match tokio::time::timeout_at(deadline, rx.changed()).await {
                Ok(Ok(())) => {}
                _ => return None,
            }
        }
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

    /// The messages the fake created through REST (`POST /channels/{id}/messages`
    /// and interaction webhooks), by id, as returned to the bot.
    pub fn message(&self, id: u64) -> Option<Value> {
        self.inner.lock().messages.get(&id).cloned()
    }

    /// The current original response of an interaction (after callback / PATCH @original).
    pub fn original_response(&self, sent: &SentInteraction) -> Option<Value> {
        self.inner.lock().originals.get(&sent.token).cloned()
    }

    /// The last registered commands (as echoed, with ids): `None` global, `Some(guild)`.
    pub fn commands(&self, guild: Option<u64>) -> Option<Vec<Value>> {
        self.inner.lock().commands.get(&guild).cloned()
    }

    // ---- gateway ----

    /// Waits until a gateway websocket is open; false after `timeout`.
    pub async fn connected(&self, timeout: Duration) -> bool {
        self.wait_until(timeout, |s| s.gateway.tx.is_some().then_some(()))
            .await
            .is_some()
    }

    /// Waits until READY went out on the live connection; false after `timeout`.
    pub async fn ready(&self, timeout: Duration) -> bool {
        self.wait_until(timeout, |s| {
            (s.gateway.tx.is_some() && s.gateway.ready).then_some(())
        })
        .await
        .is_some()
    }

    /// Waits until the live gateway connection is gone (after a client
    /// shutdown); false after `timeout`.
    pub async fn disconnected(&self, timeout: Duration) -> bool {
        self.wait_until(timeout, |s| s.gateway.tx.is_none().then_some(()))
            .await
            .is_some()
    }

    /// The last IDENTIFY `d` (token, intents, shard, properties, compress…).
    pub fn identify(&self) -> Option<Value> {
        self.inner.lock().gateway.identify.clone()
    }

    /// Every gateway frame the client sent, parsed, in order.
    pub fn gateway_received(&self) -> Vec<Value> {
        self.inner.lock().gateway.received.clone()
    }

    /// Heartbeats (op 1) received so far; each was ACKed.
    pub fn heartbeats(&self) -> u32 {
        self.inner.lock().gateway.heartbeats
    }

    /// Waits until at least `n` heartbeats arrived; false after `timeout`.
    pub async fn wait_heartbeats(&self, n: u32, timeout: Duration) -> bool {
        self.wait_until(timeout, |s| (s.gateway.heartbeats >= n).then_some(()))
            .await
            .is_some()
    }

    /// Gateway connections accepted so far.
    pub fn connections(&self) -> u32 {
        self.inner.lock().gateway.connections
    }

    /// The query string of each gateway connection (serenity: `v=10`).
    pub fn connect_queries(&self) -> Vec<Option<String>> {
        self.inner.lock().gateway.connect_queries.clone()
    }

    /// Sends a raw dispatch (op 0) `t` with `d` on the live connection, after
    /// waiting up to 10 s for READY. Panics if there is none.
    pub async fn send_dispatch(&self, t: &str, d: Value) {
        assert!(
            self.ready(Duration::from_secs(10)).await,
            "fake discord: no READY gateway connection to send {t} on"
        );
        let mut s = self.inner.lock();
        s.gateway.seq += 1;
        let frame = json!({"op": 0, "s": s.gateway.seq, "t": t, "d": d});
        let tx = s.gateway.tx.clone().expect("live connection");
        drop(s);
        tx.send(WsMessage::Text(frame.to_string().into()))
            .expect("gateway connection open");
    }

    /// Sends a slash-command `INTERACTION_CREATE` (type 2) for `/name` with
    /// `options` (a JSON array, see [`opt`], [`subcommand`]).
    pub async fn send_command(&self, name: &str, options: Value, actor: &Actor) -> SentInteraction {
        self.send_command_interaction(2, name, options, actor).await
    }

    /// Sends an autocomplete `INTERACTION_CREATE` (type 4) for `/name`; mark the
    /// option being typed with `"focused": true` (see [`focused`]).
    pub async fn send_autocomplete(
        &self,
        name: &str,
        options: Value,
        actor: &Actor,
    ) -> SentInteraction {
        self.send_command_interaction(4, name, options, actor).await
    }

    async fn send_command_interaction(
        &self,
        kind: u8,
        name: &str,
        options: Value,
        actor: &Actor,
    ) -> SentInteraction {
        let (command_id, command_guild) = self.command_id(name, actor.guild_id);
        let mut resolved = json!({});
        collect_resolved_users(&options, actor, &mut resolved);
        let mut data = json!({
            "id": command_id.to_string(),
            "name": name,
            "type": 1,
            "options": options,
            "resolved": resolved,
        });
        if let Some(g) = command_guild {
            data["guild_id"] = Value::String(g.to_string());
        }
        self.send_interaction(kind, data, None, actor).await
    }

    /// Sends a button click (`MESSAGE_COMPONENT`, type 3, component_type 2) on
    /// message `message_id` with `custom_id`. The message is the one the bot
    /// created through the fake if known, else a minimal bot message.
    pub async fn send_button_click(
        &self,
        custom_id: &str,
        message_id: u64,
        actor: &Actor,
    ) -> SentInteraction {
        self.send_component(
            json!({"custom_id": custom_id, "component_type": 2}),
            message_id,
            actor,
        )
        .await
    }

    /// Sends a string-select choice (`MESSAGE_COMPONENT`, component_type 3).
    pub async fn send_select(
        &self,
        custom_id: &str,
        values: &[&str],
        message_id: u64,
        actor: &Actor,
    ) -> SentInteraction {
        self.send_component(
            json!({"custom_id": custom_id, "component_type": 3, "values": values}),
            message_id,
            actor,
        )
        .await
    }

    async fn send_component(&self, data: Value, message_id: u64, actor: &Actor) -> SentInteraction {
        let message = self.message(message_id).unwrap_or_else(|| {
            message_json(
                message_id,
                actor.channel_id,
                bot_user_json(),
                "",
                Vec::new(),
                None,
            )
        });
        self.send_interaction(3, data, Some(message), actor).await
    }

    /// Sends an `INTERACTION_CREATE` of `kind` with this `data` (and `message`
    /// for components): the general form of the helpers above.
    pub async fn send_interaction(
        &self,
        kind: u8,
        data: Value,
        message: Option<Value>,
        actor: &Actor,
    ) -> SentInteraction {
        let id = self.inner.next_id();
        let token = format!("fake-interaction-token-{id}");
        let mut d = json!({
            "id": id.to_string(),
            "application_id": APPLICATION_ID.to_string(),
            "type": kind,
            "data": data,
            "channel_id": actor.channel_id.to_string(),
            "channel": {"id": actor.channel_id.to_string(), "type": if actor.guild_id.is_some() { 0 } else { 1 }},
            "token": token,
            "version": 1,
            "app_permissions": "2251799813685247",
            "locale": "en-US",
            "entitlements": [],
            "attachment_size_limit": 10_485_760,
        });
        match actor.guild_id {
            Some(g) => {
                d["guild_id"] = Value::String(g.to_string());
                d["guild_locale"] = Value::String("en-US".into());
                d["member"] = actor.member_json(true, true);
                d["authorizing_integration_owners"] = json!({"0": g.to_string()});
                d["context"] = json!(0);
            }
            None => {
                d["user"] = actor.user_json();
                d["authorizing_integration_owners"] = json!({"0": "0"});
                d["context"] = json!(1);
            }
        }
        if let Some(m) = message {
            d["message"] = m;
        }
        if let Err(e) = serde_json::from_value::<serenity::Interaction>(d.clone()) {
            panic!("fake discord built an interaction serenity rejects: {e}\n{d:#}");
        }
        self.inner
            .lock()
            .interaction_channels
            .insert(token.clone(), actor.channel_id);
        self.send_dispatch("INTERACTION_CREATE", d.clone()).await;
        SentInteraction {
            id,
            token,
            payload: d,
        }
    }

    /// Sends `MESSAGE_CREATE` for a user message in a guild channel of
    /// [`GUILD_ID`]; returns the message id.
    pub async fn send_message_create(
        &self,
        channel_id: u64,
        author_id: u64,
        roles: &[u64],
        content: &str,
    ) -> u64 {
        let actor = Actor::user(author_id).roles(roles).in_channel(channel_id);
        self.send_message_create_as(&actor, content).await
    }

    /// Sends `MESSAGE_CREATE` from `actor` (guild message with `member`, or a DM).
    pub async fn send_message_create_as(&self, actor: &Actor, content: &str) -> u64 {
        let id = self.inner.next_id();
        let mut m = message_json(
            id,
            actor.channel_id,
            actor.user_json(),
            content,
            Vec::new(),
            actor.guild_id,
        );
        if actor.guild_id.is_some() {
            m["member"] = actor.member_json(false, false);
        }
        if let Err(e) = serde_json::from_value::<serenity::Message>(m.clone()) {
            panic!("fake discord built a message serenity rejects: {e}\n{m:#}");
        }
        self.send_dispatch("MESSAGE_CREATE", m).await;
        id
    }

    /// Closes the live gateway connection with `code` (e.g. 4000 to make
    /// serenity reconnect/resume).
    pub fn close_gateway(&self, code: u16) {
        if let Some(tx) = self.inner.lock().gateway.tx.clone() {
            let _ = tx.send(WsMessage::Close(Some(axum::extract::ws::CloseFrame {
                code,
                reason: "fake close".into(),
            })));
        }
    }

    fn command_id(&self, name: &str, guild: Option<u64>) -> (u64, Option<u64>) {
        let s = self.inner.lock();
        let find = |key: Option<u64>| {
            s.commands.get(&key).and_then(|cmds| {
                cmds.iter()
                    .find(|c| c["name"] == name)
                    .and_then(|c| c["id"].as_str()?.parse().ok())
            })
        };
        if let Some(id) = guild.and_then(|g| find(Some(g))) {
            return (id, guild);
        }
        if let Some(id) = find(None) {
            return (id, None);
        }
        (1_000_000_000_000_000_000 + name.len() as u64, None)
    }
}

/// Marks an option as the one being typed (autocomplete): `"focused": true`.
pub fn focused(mut option: Value) -> Value {
    option["focused"] = Value::Bool(true);
    option
}

fn collect_resolved_users(options: &Value, actor: &Actor, resolved: &mut Value) {
    let Some(options) = options.as_array() else {
        return;
    };
    for o in options {
        if o["type"] == 6 || o["type"] == 9 {
            if let Some(id) = o["value"].as_str() {
                let other = Actor {
                    user_id: id.parse().unwrap_or(0),
                    username: format!("user{id}"),
                    roles: Vec::new(),
                    ..actor.clone()
                };
                resolved["users"][id] = other.user_json();
                if actor.guild_id.is_some() {
                    resolved["members"][id] = other.member_json(false, true);
                }
            }
        }
        if o.get("options").is_some() {
            collect_resolved_users(&o["options"], actor, resolved);
        }
    }
}

fn user_json(id: u64, username: &str, bot: bool) -> Value {
    json!({
        "id": id.to_string(),
        "username": username,
        "discriminator": "0",
        "global_name": null,
        "avatar": null,
        "bot": bot,
        "public_flags": 0,
    })
}

fn bot_user_json() -> Value {
    let mut u = user_json(BOT_USER_ID, BOT_USERNAME, true);
    u["verified"] = Value::Bool(true);
    u["mfa_enabled"] = Value::Bool(false);
    u["flags"] = json!(0);
    u
}

fn message_json(
    id: u64,
    channel_id: u64,
    author: Value,
    content: &str,
    attachments: Vec<Value>,
    guild_id: Option<u64>,
) -> Value {
    let mut m = json!({
        "id": id.to_string(),
        "channel_id": channel_id.to_string(),
        "author": author,
        "content": content,
        "timestamp": serenity::Timestamp::now().to_string(),
        "edited_timestamp": null,
        "tts": false,
        "mention_everyone": false,
        "mentions": [],
        "mention_roles": [],
        "attachments": attachments,
        "embeds": [],
        "components": [],
        "pinned": false,
        "type": 0,
        "flags": 0,
    });
    if let Some(g) = guild_id {
        m["guild_id"] = Value::String(g.to_string());
    }
    m
}

// ---- gateway ----

async fn ws_handler(
    State(inner): State<Arc<Inner>>,
    RawQuery(query): RawQuery,
    ws: WebSocketUpgrade,
) -> Response {
    ws.on_upgrade(move |socket| gateway_session(inner, socket, query))
}

async fn gateway_session(inner: Arc<Inner>, mut socket: WebSocket, query: Option<String>) {
    let (tx, mut rx) = mpsc::unbounded_channel::<WsMessage>();
    let session = {
        let mut s = inner.lock();
        let g = &mut s.gateway;
        g.tx = Some(tx.clone());
        g.connections += 1;
        g.connect_queries.push(query);
        g.seq = 0;
        g.ready = false;
        g.connections
    };
    inner.bump();
    let hello = json!({
        "op": 10, "s": null, "t": null,
        "d": {"heartbeat_interval": inner.heartbeat_interval.as_millis() as u64},
    });
    let mut open = socket
        .send(WsMessage::Text(hello.to_string().into()))
        .await
        .is_ok();
    while open {
        tokio::select! {
            out = rx.recv() => match out {
                Some(msg) => {
                    let closing = matches!(msg, WsMessage::Close(_));
                    open = socket.send(msg).await.is_ok() && !closing;
                }
                None => open = false,
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(WsMessage::Text(text))) => {
                    if let Ok(v) = serde_json::from_str::<Value>(text.as_str()) {
                        open = handle_client_frame(&inner, &tx, session, v);
                    }
                }
                Some(Ok(WsMessage::Binary(_) | WsMessage::Ping(_) | WsMessage::Pong(_))) => {}
                // The client closed; the close reply goes out as we drain the socket.
                Some(Ok(WsMessage::Close(_))) | Some(Err(_)) | None => open = false,
            },
        }
    }
    {
        let mut s = inner.lock();
        if s.gateway.connections == session {
            s.gateway.tx = None;
            s.gateway.ready = false;
        }
    }
    inner.bump();
    // Answer a client Close (tungstenite queues the reply) and let the socket end.
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        while let Some(Ok(_)) = socket.recv().await {}
    })
    .await;
}

/// Handles one client frame; false to end the session.
fn handle_client_frame(
    inner: &Arc<Inner>,
    tx: &mpsc::UnboundedSender<WsMessage>,
    session: u32,
    v: Value,
) -> bool {
    let op = v["op"].as_u64().unwrap_or(u64::MAX);
    let mut s = inner.lock();
    s.gateway.received.push(v.clone());
    let out = match op {
        1 => {
            s.gateway.heartbeats += 1;
            Some(json!({"op": 11, "s": null, "t": null, "d": null}))
        }
        2 => {
            let d = v["d"].clone();
            s.gateway.identify = Some(d.clone());
            s.gateway.seq += 1;
            s.gateway.ready = true;
            let shard = d.get("shard").cloned().unwrap_or(json!([0, 1]));
            let ready = json!({
                "v": 10,
                "user": bot_user_json(),
                "guilds": [{"id": GUILD_ID.to_string(), "unavailable": true}],
                "session_id": format!("fake-session-{session}"),
                "resume_gateway_url": format!("ws{}/gateway-ws", inner.base.trim_start_matches("http")),
                "shard": shard,
                "application": {"id": APPLICATION_ID.to_string(), "flags": 0},
                "private_channels": [],
                "relationships": [],
            });
            Some(json!({"op": 0, "s": s.gateway.seq, "t": "READY", "d": ready}))
        }
        6 => {
            // RESUME: replay nothing, just RESUMED.
            s.gateway.seq += 1;
            s.gateway.ready = true;
            Some(json!({"op": 0, "s": s.gateway.seq, "t": "RESUMED", "d": {}}))
        }
        _ => None,
    };
    drop(s);
    if let Some(frame) = out {
        let _ = tx.send(WsMessage::Text(frame.to_string().into()));
    }
    inner.bump();
    true
}

// ---- REST ----

async fn rest_handler(
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

/// The default answer for a request: (status, JSON body or none for 204).
fn default_reply(inner: &Arc<Inner>, rec: &Recorded) -> (u16, Option<Value>) {
    let Some(rest) = rec.path.strip_prefix("/api/v10/") else {
        return not_found();
    };
    let parts: Vec<&str> = rest.split('/').collect();
    let body = rec.json.clone().unwrap_or(Value::Null);
    let ws_url = format!("ws{}/gateway-ws", inner.base.trim_start_matches("http"));
    match (rec.method.as_str(), parts.as_slice()) {
        ("GET", ["gateway"]) => (200, Some(json!({"url": ws_url}))),
        ("GET", ["gateway", "bot"]) => (
            200,
            Some(json!({
                "url": ws_url,
                "shards": 1,
                "session_start_limit": {"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1},
            })),
        ),
        ("GET", ["oauth2", "applications", "@me"]) => (
            200,
            Some(json!({
                "id": APPLICATION_ID.to_string(),
                "name": BOT_USERNAME,
                "icon": null,
                "description": "",
                "rpc_origins": [],
                "bot_public": false,
                "bot_require_code_grant": false,
                "owner": user_json(OWNER_ID, "owner", false),
                "verify_key": "0000",
                "team": null,
                "flags": 0,
                "bot": bot_user_json(),
            })),
        ),
        ("GET", ["users", "@me"]) => (200, Some(bot_user_json())),
        ("POST", ["channels", channel, "messages"]) => {
            let channel: u64 = channel.parse().unwrap_or(0);
            let m = echo_message(inner, channel, &body, rec, None);
            inner.lock().messages.insert(msg_id(&m), m.clone());
            (200, Some(m))
        }
        // A channel message edit, or a webhook (interaction follow-up) edit;
        // `@original` is handled below.
        ("PATCH", ["channels", _, "messages", id] | ["webhooks", _, _, "messages", id])
            if *id != "@original" =>
        {
            let id: u64 = id.parse().unwrap_or(0);
            let mut s = inner.lock();
            match s.messages.get_mut(&id) {
                Some(m) => {
                    merge_edit(inner, m, &body, rec);
                    (200, Some(m.clone()))
                }
                None => not_found(),
            }
        }
        ("DELETE", ["channels", _, "messages", _]) => (204, None),
        ("POST", ["channels", _, "typing"]) => (204, None),
        ("POST", ["interactions", _, token, "callback"]) => {
            let kind = body["type"].as_u64().unwrap_or(0);
            // 4: message, 5: deferred message; 7 update / 6 deferred update
            // edit the component's message, which is not tracked here.
            if kind == 4 || kind == 5 {
                let channel = interaction_channel(inner, token);
                let data = if kind == 4 {
                    body["data"].clone()
                } else {
                    json!({})
                };
                let m = echo_message(inner, channel, &data, rec, Some(APPLICATION_ID));
                let mut s = inner.lock();
                s.messages.insert(msg_id(&m), m.clone());
                s.originals.insert(token.to_string(), m);
                if kind == 5 {
                    s.deferred.insert(token.to_string());
                } else {
                    s.deferred.remove(*token);
                }
            }
            (204, None)
        }
        ("GET", ["webhooks", _, token, "messages", "@original"]) => {
            match inner.lock().originals.get(*token) {
                Some(m) => (200, Some(m.clone())),
                None => not_found(),
            }
        }
        ("PATCH", ["webhooks", _, token, "messages", "@original"]) => {
            let channel = interaction_channel(inner, token);
            let fresh = echo_message(inner, channel, &json!({}), rec, Some(APPLICATION_ID));
            let mut s = inner.lock();
            let m = s.originals.entry(token.to_string()).or_insert(fresh);
            merge_edit(inner, m, &body, rec);
            let m = m.clone();
            s.messages.insert(msg_id(&m), m.clone());
            (200, Some(m))
        }
        ("DELETE", ["webhooks", ..]) => (204, None),
        ("POST", ["webhooks", _, token]) => {
            // As on Discord, the first follow-up after a deferred response
            // (callback type 5) fills in the "thinking…" original.
            let mut s = inner.lock();
            if s.deferred.remove(*token) {
                if let Some(m) = s.originals.get_mut(*token) {
                    merge_edit(inner, m, &body, rec);
                    let m = m.clone();
                    s.messages.insert(msg_id(&m), m.clone());
                    return (200, Some(m));
                }
            }
            drop(s);
            let channel = interaction_channel(inner, token);
            let m = echo_message(inner, channel, &body, rec, Some(APPLICATION_ID));
            inner.lock().messages.insert(msg_id(&m), m.clone());
            (200, Some(m))
        }
        ("PUT", ["applications", _, "commands"]) => {
            (200, Some(Value::Array(register(inner, None, &body))))
        }
        ("PUT", ["applications", _, "guilds", guild, "commands"]) => {
            let guild = guild.parse().ok();
            (200, Some(Value::Array(register(inner, guild, &body))))
        }
        ("GET", ["applications", _, "commands"]) => (
            200,
            Some(Value::Array(
                inner
                    .lock()
                    .commands
                    .get(&None)
                    .cloned()
                    .unwrap_or_default(),
            )),
        ),
        ("GET", ["applications", _, "guilds", guild, "commands"]) => {
            let guild: Option<u64> = guild.parse().ok();
            (
                200,
                Some(Value::Array(
                    inner
                        .lock()
                        .commands
                        .get(&guild)
                        .cloned()
                        .unwrap_or_default(),
                )),
            )
        }
        _ => not_found(),
    }
}

/// A message JSON's id.
pub fn msg_id(m: &Value) -> u64 {
    m["id"].as_str().and_then(|i| i.parse().ok()).unwrap_or(0)
}

fn not_found() -> (u16, Option<Value>) {
    (404, Some(json!({"message": "404: Not Found", "code": 0})))
}

/// The channel of the interaction with this token, else [`CHANNEL_ID`].
fn interaction_channel(inner: &Arc<Inner>, token: &str) -> u64 {
    inner
        .lock()
        .interaction_channels
        .get(token)
        .copied()
        .unwrap_or(CHANNEL_ID)
}

/// A Message as Discord would return it for a create request `body`.
fn echo_message(
    inner: &Inner,
    channel_id: u64,
    body: &Value,
    rec: &Recorded,
    webhook: Option<u64>,
) -> Value {
    let content = body["content"].as_str().unwrap_or("");
    let mut m = message_json(
        inner.next_id(),
        channel_id,
        bot_user_json(),
        content,
        echo_attachments(inner, body, rec),
        None,
    );
    for key in ["embeds", "components", "tts", "flags"] {
        if let Some(v) = body.get(key).filter(|v| !v.is_null()) {
            m[key] = v.clone();
        }
    }
    if let Some(w) = webhook {
        m["webhook_id"] = Value::String(w.to_string());
        m["application_id"] = Value::String(w.to_string());
    }
    m
}

fn merge_edit(inner: &Inner, m: &mut Value, body: &Value, rec: &Recorded) {
    for key in ["content", "embeds", "components", "flags"] {
        if let Some(v) = body.get(key).filter(|v| !v.is_null()) {
            m[key] = v.clone();
        }
    }
    if body.get("attachments").is_some() || !rec.files.is_empty() {
        m["attachments"] = Value::Array(echo_attachments(inner, body, rec));
    }
    m["edited_timestamp"] = Value::String(serenity::Timestamp::now().to_string());
}

/// Attachments of a create/edit: new uploads (`files[n]` parts) and kept ones.
fn echo_attachments(inner: &Inner, body: &Value, rec: &Recorded) -> Vec<Value> {
    let mut out = Vec::new();
    for f in &rec.files {
        let id = inner.next_id();
        out.push(json!({
            "id": id.to_string(),
            "filename": f.filename,
            "size": f.bytes.len(),
            "url": format!("https://cdn.discordapp.com/attachments/0/{id}/{}", f.filename),
            "proxy_url": format!("https://media.discordapp.net/attachments/0/{id}/{}", f.filename),
            "content_type": f.content_type,
        }));
    }
    if let Some(kept) = body["attachments"].as_array() {
        for a in kept {
            // Existing attachments are referenced by real (string/large) ids.
            if a.get("filename").is_none() && a["id"].as_str().is_some() {
                out.push(json!({
                    "id": a["id"],
                    "filename": "kept",
                    "size": 0,
                    "url": "https://cdn.discordapp.com/attachments/kept",
                    "proxy_url": "https://media.discordapp.net/attachments/kept",
                }));
            }
        }
    }
    out
}

/// Stores and echoes registered commands with ids, as Discord does.
fn register(inner: &Arc<Inner>, guild: Option<u64>, body: &Value) -> Vec<Value> {
    let cmds: Vec<Value> = body
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|mut c| {
            let id = inner.next_id();
            c["id"] = Value::String(id.to_string());
            c["application_id"] = Value::String(APPLICATION_ID.to_string());
            c["version"] = Value::String(id.to_string());
            if c.get("type").is_none() {
                c["type"] = json!(1);
            }
            if c.get("description").is_none() {
                c["description"] = Value::String(String::new());
            }
            if let Some(g) = guild {
                c["guild_id"] = Value::String(g.to_string());
            }
            c
        })
        .collect();
    inner.lock().commands.insert(guild, cmds.clone());
    cmds
}

struct Part {
    name: String,
    filename: Option<String>,
    content_type: Option<String>,
    data: Vec<u8>,
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// A minimal `multipart/form-data` parser (what reqwest sends).
fn parse_multipart(body: &[u8], boundary: &str) -> Vec<Part> {
    let delim = format!("--{boundary}");
    let mut parts = Vec::new();
    let Some(mut pos) = find(body, delim.as_bytes(), 0) else {
        return parts;
    };
    loop {
        pos += delim.len();
        if body.get(pos..pos + 2) == Some(b"--") {
            break;
        }
        pos += 2; // CRLF after the delimiter
        let Some(header_end) = find(body, b"\r\n\r\n", pos) else {
            break;
        };
        let head = String::from_utf8_lossy(&body[pos..header_end]).into_owned();
        let data_start = header_end + 4;
        let Some(next) = find(body, format!("\r\n{delim}").as_bytes(), data_start) else {
            break;
        };
        let mut part = Part {
            name: String::new(),
            filename: None,
            content_type: None,
            data: body[data_start..next].to_vec(),
        };
        for line in head.split("\r\n") {
            let lower = line.to_ascii_lowercase();
            if lower.starts_with("content-disposition:") {
                part.name = disposition_param(line, "name").unwrap_or_default();
                part.filename = disposition_param(line, "filename");
            } else if lower.starts_with("content-type:") {
                part.content_type = Some(line["content-type:".len()..].trim().to_string());
            }
        }
        parts.push(part);
        pos = next + 2;
    }
    parts
}

fn disposition_param(line: &str, key: &str) -> Option<String> {
    line.split(';').skip(1).find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        (k == key).then(|| v.trim_matches('"').to_string())
    })
}
