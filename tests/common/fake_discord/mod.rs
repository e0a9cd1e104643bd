//! A local fake Discord for end-to-end bot tests: the REST API and a
//! gateway websocket on one 127.0.0.1 port, driven by the real serenity
//! client (no internet).
//!
//! Point serenity at it with
//! `HttpBuilder::new(token).proxy(fake.url()).ratelimiter_disabled(true)`.
//! The ratelimiter MUST be disabled: serenity 0.12's `Ratelimiter::perform`
//! builds every request with proxy `None`, so with the ratelimiter on, every
//! REST call (and `GET /gateway`) goes to the real `https://discord.com`
//! whatever `.proxy()` says.
//!
//! REST ([`rest`]): every request is recorded ([`Recorded`]) and answered
//! with a reply serenity can deserialize ([`responses`]); scripted failures
//! ([`FakeDiscord::rate_limit_next`], [`FakeDiscord::respond_next_where`])
//! come first. Gateway ([`gateway`]): HELLO, READY after IDENTIFY, ACK for
//! every heartbeat, plain JSON text frames (serenity asks for no transport
//! compression: its URL is `{url}?v=10`, and the identify's
//! `"compress": true` only allows per-payload zlib, which a server may
//! ignore), and helpers ([`events`]) that send complete
//! `INTERACTION_CREATE`/`MESSAGE_CREATE` dispatches. Every dispatch the
//! helpers build is first deserialized with serenity's own model types, so a
//! payload serenity would drop as an unknown event panics here instead.

mod events;
mod gateway;
mod multipart;
mod payloads;
mod responses;
mod rest;

// One path for the whole test API; each test binary uses a different subset.
#[allow(unused_imports)]
pub use events::{focused, opt, opt_typed, subcommand, subcommand_group, Actor, SentInteraction};
#[allow(unused_imports)]
pub use payloads::msg_id;
#[allow(unused_imports)]
pub use rest::{Recorded, RecordedFile};

use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use axum::Router;
use gateway::GatewayState;
use poise::serenity_prelude as serenity;
use rest::Responder;
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

/// The application id the fake reports (READY, `/oauth2/applications/@me`).
pub const APPLICATION_ID: u64 = 900_000_000_000_000_001;
/// The bot user's id (as on Discord, the same as the application id).
pub const BOT_USER_ID: u64 = APPLICATION_ID;
/// The bot's user name.
pub const BOT_USERNAME: &str = "bman-test-bot";
/// The guild READY lists, and the default guild of [`Actor`].
pub const GUILD_ID: u64 = 900_000_000_000_000_100;
/// The name `GET /guilds/{GUILD_ID}` answers.
pub const GUILD_NAME: &str = "bman test guild";
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
            .route("/gateway-ws", get(gateway::ws_handler))
            .fallback(rest::rest_handler)
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
}
