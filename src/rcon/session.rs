//! One logged-in RCON connection: login, the read loop, ping replies,
//! `confirm`, request/reply matching, and the dead-link deadline. It ends on
//! EOF, reset, server_shutdown, silence, or shutdown; the supervisor decides
//! what happens next.

use super::codec::{ClientCodec, FrameError, Packet, PacketKind};
use super::handle::{ConnectionStatus, Reply, Request, RequestError, RequestKind};
use super::sink::FrameSink;
use crate::event::{self, Event, ReplyBody};
use crate::model::{now_ms, ServerInfo};
use crate::secret::Secret;
use futures::{SinkExt, StreamExt};
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;
use tokio_util::codec::Framed;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

/// A connection that has received nothing for this long is dead (pings come every 5 s).
pub(crate) const DEAD_LINK_AFTER: Duration = Duration::from_secs(20);
/// How long the server has to answer a login with its first frame.
pub(crate) const LOGIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a session ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SessionEnd {
    /// bman is shutting down.
    Shutdown,
    /// The server closed or never acknowledged the login: most likely a wrong password.
    LoginRejected(String),
    /// The link broke after login; reconnect.
    Lost(String),
}

/// What a session shares with its supervisor across reconnects.
pub(crate) struct SessionContext<S> {
    pub info: Arc<ServerInfo>,
    pub password: Secret,
    /// Gets every frame first (the journal), then its decoded event.
    pub sink: S,
    pub status: watch::Sender<ConnectionStatus>,
    pub shutdown: CancellationToken,
    /// Request ids are unique for the life of the process, across sessions.
    pub next_request_id: u64,
}

type ReplySender = oneshot::Sender<Result<Reply, RequestError>>;

/// Requests sent on this connection and waiting for their reply.
#[derive(Default)]
struct Pending {
    by_id: HashMap<String, (RequestKind, ReplySender)>,
    commands: VecDeque<(String, ReplySender)>,
}

impl Pending {
    /// Drops waiters whose caller gave up (timed out), so the maps stay small.
    fn prune(&mut self) {
        self.by_id.retain(|_, (_, tx)| !tx.is_closed());
        self.commands.retain(|(_, tx)| !tx.is_closed());
    }

    fn resolve_reply(&mut self, request_id: &str, body: &ReplyBody) {
        let Some((kind, tx)) = self.by_id.remove(request_id) else {
            return;
        };
        let reply = match (kind, body) {
            (RequestKind::Scoreboard, ReplyBody::Scoreboard(s)) => Ok(Reply::Scoreboard(s.clone())),
            (RequestKind::Match, ReplyBody::Match(m)) => Ok(Reply::Match(m.clone())),
            (RequestKind::Player(_), ReplyBody::Player(p)) => Ok(Reply::Player(p.clone())),
            _ => Err(RequestError::UnexpectedReply(String::new())),
        };
        let _ = tx.send(reply);
    }

    /// The game echoes RCON commands as command_entered with Source 1; the
    /// reply goes to the oldest waiter for that exact command, else the oldest.
    fn resolve_command(&mut self, command: Option<&str>, return_text: Option<&str>) {
        let index = command
            .and_then(|c| self.commands.iter().position(|(sent, _)| sent == c.trim()))
            .or(if self.commands.is_empty() {
                None
            } else {
                Some(0)
            });
        if let Some((_, tx)) = index.and_then(|i| self.commands.remove(i)) {
            let _ = tx.send(Ok(Reply::Command(
                return_text.unwrap_or_default().to_string(),
            )));
        }
    }
}

type Conn = Framed<TcpStream, ClientCodec>;

impl<S: FrameSink> SessionContext<S> {
    fn name(&self) -> &str {
        &self.info.name
    }

    fn request_id(&mut self) -> String {
        self.next_request_id += 1;
        self.next_request_id.to_string()
    }

    /// Logs in and runs the connection until it ends.
    pub async fn run(
        &mut self,
        stream: TcpStream,
        requests: &mut mpsc::Receiver<Request>,
    ) -> SessionEnd {
        let _ = stream.set_nodelay(true);
        let mut conn = Framed::new(stream, ClientCodec::default());
        if let Err(e) = conn
            .send(Packet::new(PacketKind::Login, self.password.expose()))
            .await
        {
            return SessionEnd::Lost(format!("sending login failed: {e}"));
        }
        let first = tokio::select! {
            _ = self.shutdown.cancelled() => return SessionEnd::Shutdown,
            first = tokio::time::timeout(LOGIN_TIMEOUT, conn.next()) => first,
        };
        let first = match first {
            Err(_) => {
                return SessionEnd::LoginRejected(format!(
                    "no answer to the login within {}s",
                    LOGIN_TIMEOUT.as_secs()
                ))
            }
            Ok(None) => {
                return SessionEnd::LoginRejected(
                    "the server closed the connection after the login".into(),
                )
            }
            Ok(Some(Err(e))) => {
                return SessionEnd::LoginRejected(format!(
                    "the connection failed after the login: {e}"
                ))
            }
            Ok(Some(Ok(first))) => first,
        };
        let now = SystemTime::now();
        let first_login = self.status.borrow().connected_since.is_none()
            && self.status.borrow().events_received == 0;
        self.status.send_modify(|s| {
            s.connected_since = Some(now);
            s.failed_attempts = 0;
            s.down_since = None;
            s.retry_at = None;
            if !first_login {
                s.reconnects += 1;
            }
        });
        info!(server = self.name(), "logged in");
        let end = self.logged_in(&mut conn, first, requests).await;
        self.status.send_modify(|s| {
            s.connected_since = None;
            s.down_since = Some(SystemTime::now());
            if let SessionEnd::Lost(reason) = &end {
                s.last_error = Some(reason.clone());
            }
        });
        end
    }

    async fn logged_in(
        &mut self,
        conn: &mut Conn,
        first: Result<crate::rcon::codec::Frame, FrameError>,
        requests: &mut mpsc::Receiver<Request>,
    ) -> SessionEnd {
        let mut pending = Pending::default();
        // Without `confirm` the server throttles us to one event per 10 ticks.
        let confirm = Packet::new(PacketKind::Confirm, "1");
        let sync_id = self.request_id();
        // A scoreboard after every (re)connect rebuilds who is in which slot.
        let sync = Packet::new(
            PacketKind::RequestScoreboard,
            format!("\"{sync_id}\" \"1\""),
        );
        if let Err(e) = send_all(conn, [confirm, sync]).await {
            return SessionEnd::Lost(format!("write failed: {e}"));
        }
        let mut item = Some(first);
        let mut deadline = Instant::now() + DEAD_LINK_AFTER;
        loop {
            if let Some(frame) = item.take() {
                deadline = Instant::now() + DEAD_LINK_AFTER;
                let frame = match frame {
                    Ok(frame) => frame,
                    Err(e) => {
                        warn!(server = self.name(), "bad frame: {e}");
                        self.status.send_modify(|s| s.decode_errors += 1);
                        continue;
                    }
                };
                match self.on_frame(conn, frame, &mut pending).await {
                    Ok(true) => {}
                    Ok(false) => {
                        return SessionEnd::Lost("the server announced server_shutdown".into())
                    }
                    Err(end) => return end,
                }
                continue;
            }
            tokio::select! {
                _ = self.shutdown.cancelled() => return SessionEnd::Shutdown,
                _ = tokio::time::sleep_until(deadline) => {
                    return SessionEnd::Lost(format!("nothing received for {}s", DEAD_LINK_AFTER.as_secs()));
                }
                next = conn.next() => match next {
                    None => return SessionEnd::Lost("connection closed by the server".into()),
                    Some(Err(e)) => return SessionEnd::Lost(format!("read failed: {e}")),
                    Some(Ok(frame)) => item = Some(frame),
                },
                Some(request) = requests.recv() => {
                    pending.prune();
                    if let Err(e) = self.send_request(conn, request, &mut pending).await {
                        return SessionEnd::Lost(format!("write failed: {e}"));
                    }
                }
            }
        }
    }

    /// Handles one frame; `Ok(false)` when the server said it is shutting down.
    async fn on_frame(
        &mut self,
        conn: &mut Conn,
        frame: crate::rcon::codec::Frame,
        pending: &mut Pending,
    ) -> Result<bool, SessionEnd> {
        let ts_ms = now_ms();
        self.status.send_modify(|s| {
            s.last_event = Some(SystemTime::now());
            s.events_received += 1;
        });
        self.sink.keep(ts_ms, frame.id, &frame.json);
        let event = match event::decode(frame.id, &frame.json) {
            Ok(event) => event,
            Err(e) => {
                warn!(
                    server = self.name(),
                    "undecodable event skipped (kept in the journal): {e}"
                );
                self.status.send_modify(|s| s.decode_errors += 1);
                return Ok(true);
            }
        };
        match &event.event {
            Event::RconPing => {
                if let Err(e) = conn.send(Packet::new(PacketKind::Ping, "1")).await {
                    return Err(SessionEnd::Lost(format!("write failed: {e}")));
                }
            }
            Event::RequestData {
                request_id: Some(id),
                body,
                ..
            } => pending.resolve_reply(id, body),
            Event::CommandEntered {
                command,
                source: Some(1),
                return_text,
            } => pending.resolve_command(command.as_deref(), return_text.as_deref()),
            Event::Unknown { id } => debug!(
                server = self.name(),
                id, "unknown event id; kept raw in the journal"
            ),
            _ => {}
        }
        let running = event.event != Event::ServerShutdown;
        // Passed on even while shutting down: the pipeline drains its queue
        // before it stops, so a journaled event is never left unapplied by a
        // clean stop.
        if !self.sink.pass_on(ts_ms, event).await {
            return Err(SessionEnd::Shutdown);
        }
        Ok(running)
    }

    async fn send_request(
        &mut self,
        conn: &mut Conn,
        request: Request,
        pending: &mut Pending,
    ) -> std::io::Result<()> {
        let id = self.request_id();
        let packet = match &request.kind {
            RequestKind::Scoreboard => {
                Packet::new(PacketKind::RequestScoreboard, format!("\"{id}\" \"1\""))
            }
            RequestKind::Match => Packet::new(PacketKind::RequestMatch, format!("\"{id}\" \"1\"")),
            RequestKind::Player(who) => Packet::new(
                PacketKind::RequestPlayer,
                format!("\"{id}\" {}", super::console_quote(who)),
            ),
            RequestKind::Command(text) => {
                pending.commands.push_back((text.clone(), request.reply));
                return conn
                    .send(Packet::new(PacketKind::Command, text.clone()))
                    .await;
            }
        };
        pending.by_id.insert(id, (request.kind, request.reply));
        conn.send(packet).await
    }
}

async fn send_all(
    conn: &mut Conn,
    packets: impl IntoIterator<Item = Packet>,
) -> std::io::Result<()> {
    for packet in packets {
        conn.feed(packet).await?;
    }
    conn.flush().await
}
