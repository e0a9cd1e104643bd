//! The gateway websocket: HELLO, READY after IDENTIFY, ACK for every
//! heartbeat, RESUMED after RESUME, and dispatches sent on the live
//! connection; with the connection state tests wait on.

use super::payloads::bot_user_json;
use super::{FakeDiscord, Inner, APPLICATION_ID, GUILD_ID};
use axum::extract::ws::{Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::{RawQuery, State};
use axum::response::Response;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

#[derive(Default)]
pub(super) struct GatewayState {
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

impl FakeDiscord {
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
}

pub(super) async fn ws_handler(
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
