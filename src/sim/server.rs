//! The simulated RCON server: one TCP listener on 127.0.0.1 that behaves like
//! a Boring Man 2 game server towards bman.
//!
//! Behaviour a client can rely on (and tests assert):
//! - The first packet must be a login with the right password (any password
//!   when `--password ""`). Otherwise the server closes the connection without
//!   sending a single byte (the real server just stops talking to such a
//!   client; closing makes the refusal observable instead of a silent hang).
//! - After login: rcon_logged_in, an rcon_ping every `--ping-secs`,
//!   and the scenario, throttled to 6 events/s until the client confirms
//!   (kind 6), then at `--rate`.
//! - The scenario is delivered exactly once across connections: it pauses
//!   while nobody is logged in, and an event cut off by `--drop-every` (or by
//!   a failed write) is sent again, whole, after the next login.
//! - One session at a time: a new login replaces the previous one, which is
//!   closed. `max_concurrent` still counts both, honestly, so a client that
//!   opens a second connection while its first one lives is caught.
//! - Requests are answered from the roster rebuilt from the events delivered
//!   so far; request_player for an unknown player gets no reply at all, and
//!   with `--no-replies` no request is ever answered.
//! - Every frame's keys come in a shuffled order, as real servers send them.

use super::scenario::{scenario, shuffled, Rng, Scenario, SimEvent};
use super::state::{mode_info, Roster};
use super::{dump, SimOptions};
use crate::event::ids;
use crate::rcon::codec::{
    encode_frame, frame_bytes, ClientPacket, PacketKind, ServerCodec, END_MARK, START_MARK,
};
use bytes::BytesMut;
use futures::StreamExt;
use serde_json::{json, Map, Value};
use std::collections::VecDeque;
use std::future::Future;
use std::io::{self, Write as _};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::time::{sleep, sleep_until, timeout, Instant};
use tokio_util::codec::FramedRead;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// A connection that has not logged in by then is closed.
const LOGIN_TIMEOUT: Duration = Duration::from_secs(10);
/// A client that stops reading for this long is dropped.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// A new login first waits this long for the previous session's close to be
/// noticed, so a client that closed and reconnected is not counted twice.
const CLOSE_GRACE: Duration = Duration::from_millis(100);
/// The real server's throttle before confirm: one event per 10 ticks.
const UNCONFIRMED_RATE: f64 = 6.0;
/// Match length the simulator reports, in game ticks (60 per second).
const MAX_TIME_TICKS: i64 = 10 * 60 * 60;
const MAX_PLAYERS: usize = 16;

/// A snapshot of what the simulator has seen and done.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SimStats {
    /// TCP connections accepted.
    pub connections: u64,
    /// Most logged-in connections alive at the same time.
    pub max_concurrent: u64,
    pub logins_ok: u64,
    pub logins_failed: u64,
    pub pings_sent: u64,
    pub ping_replies: u64,
    pub confirms: u64,
    /// Text of every command packet, in order.
    pub commands: Vec<String>,
    /// Scenario events written whole to a client.
    pub events_sent: u64,
    /// The (finite) scenario has been delivered completely.
    pub scenario_done: bool,
}

/// The scenario's delivery state, shared by successive sessions.
struct Delivery {
    events: Scenario,
    /// The next event, taken from the scenario but not yet delivered whole.
    pending: Option<SimEvent>,
    /// Extra events queued by [`SimHandle::inject`], sent before the scenario goes on.
    injected: VecDeque<SimEvent>,
    /// The match as the delivered events describe it (for request replies).
    roster: Roster,
    /// Events delivered since the last deliberate cut.
    since_drop: u64,
}

impl Delivery {
    fn next(&mut self) -> Option<SimEvent> {
        if self.pending.is_none() {
            self.pending = self.injected.pop_front().or_else(|| self.events.next());
        }
        self.pending.clone()
    }

    fn delivered(&mut self) {
        if let Some(ev) = self.pending.take() {
            if let Ok(Value::Object(o)) = serde_json::from_str(&ev.json) {
                self.roster.apply(ev.id, &o);
            }
            self.since_drop += 1;
        }
    }
}

struct Shared {
    opts: SimOptions,
    stats: watch::Sender<SimStats>,
    delivery: Mutex<Delivery>,
    /// Generation of the session allowed to run; every login bumps it.
    active: watch::Sender<u64>,
    /// Logged-in connections right now.
    logged_in: watch::Sender<u64>,
    stop: CancellationToken,
    tasks: TaskTracker,
}

impl Shared {
    fn delivery(&self) -> MutexGuard<'_, Delivery> {
        // Nothing panics while holding the lock; recover the data regardless.
        self.delivery.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn count(&self, f: impl FnOnce(&mut SimStats)) {
        self.stats.send_modify(f);
    }
}

/// A running simulator. Dropping it stops the server too, without waiting
/// for the connections to wind down as [`SimHandle::shutdown`] does.
pub struct SimHandle {
    addr: SocketAddr,
    stats: watch::Receiver<SimStats>,
    shared: Arc<Shared>,
}

impl SimHandle {
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn stats(&self) -> SimStats {
        self.stats.borrow().clone()
    }

    /// Queues one extra event (a test's chat command at a known moment, say),
    /// delivered like a scenario event as soon as a client is logged in.
    pub fn inject(&self, id: u16, json: String) {
        self.shared
            .delivery()
            .injected
            .push_back(SimEvent { id, json });
        self.shared.count(|s| s.scenario_done = false);
    }

    /// A receiver that sees every change of the stats.
    pub fn watch(&self) -> watch::Receiver<SimStats> {
        self.stats.clone()
    }

    /// Waits until `cond` holds for the stats; false when `within` ran out first.
    pub async fn wait_until(
        &self,
        mut cond: impl FnMut(&SimStats) -> bool,
        within: Duration,
    ) -> bool {
        let mut rx = self.stats.clone();
        let met = async move { rx.wait_for(|s| cond(s)).await.is_ok() };
        timeout(within, met).await.unwrap_or(false)
    }

    /// Sends server_shutdown to the connected client, closes every
    /// connection and the listener, and waits for all of it to finish.
    pub async fn shutdown(&self) {
        self.shared.stop.cancel();
        self.shared.tasks.close();
        self.shared.tasks.wait().await;
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        self.shared.stop.cancel();
    }
}

/// Binds 127.0.0.1:`opts.port` and serves the scenario in background tasks.
pub async fn serve(opts: SimOptions) -> io::Result<SimHandle> {
    let listener = TcpListener::bind(("127.0.0.1", opts.port))
        .await
        .map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot listen on 127.0.0.1:{}: {e}", opts.port),
            )
        })?;
    let addr = listener.local_addr()?;
    let (stats, stats_rx) = watch::channel(SimStats::default());
    let delivery = Delivery {
        events: scenario(&opts),
        pending: None,
        injected: VecDeque::new(),
        roster: Roster::new(opts.mode, super::EPOCH),
        since_drop: 0,
    };
    let shared = Arc::new(Shared {
        opts,
        stats,
        delivery: Mutex::new(delivery),
        active: watch::channel(0).0,
        logged_in: watch::channel(0).0,
        stop: CancellationToken::new(),
        tasks: TaskTracker::new(),
    });
    shared.tasks.spawn(accept_loop(shared.clone(), listener));
    Ok(SimHandle {
        addr,
        stats: stats_rx,
        shared,
    })
}

/// `bman simulate`: dumps the scenario (`--dump`) or serves until `shutdown`
/// resolves. The "listening" line also goes to stdout so that scripts which
/// spawn the binary with `--port 0` can read the port.
pub async fn run(opts: SimOptions, shutdown: impl Future<Output = ()>) -> io::Result<()> {
    if opts.dump {
        return dump(&opts, &mut io::BufWriter::new(io::stdout().lock()));
    }
    let mode = opts.mode;
    let sim = serve(opts).await?;
    {
        let mut out = io::stdout().lock();
        writeln!(
            out,
            "simulate: listening on {} (mode {mode})",
            sim.local_addr()
        )?;
        out.flush()?;
    }
    shutdown.await;
    sim.shutdown().await;
    let stats = sim.stats();
    println!(
        "simulate: stopped after sending {} events over {} connections",
        stats.events_sent, stats.connections
    );
    Ok(())
}

async fn accept_loop(shared: Arc<Shared>, listener: TcpListener) {
    loop {
        tokio::select! {
            _ = shared.stop.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok((socket, peer)) => {
                    shared.tasks.spawn(connection(shared.clone(), socket, peer));
                }
                Err(e) => {
                    tracing::warn!("simulate: accept failed: {e}");
                    sleep(Duration::from_millis(50)).await;
                }
            },
        }
    }
}

async fn connection(shared: Arc<Shared>, socket: TcpStream, peer: SocketAddr) {
    shared.count(|s| s.connections += 1);
    // Small writes must leave as they are, or --split would be undone.
    let _ = socket.set_nodelay(true);
    let (rd, writer) = socket.into_split();
    let mut reader = FramedRead::new(rd, ServerCodec);
    let first = tokio::select! {
        _ = shared.stop.cancelled() => return,
        first = timeout(LOGIN_TIMEOUT, reader.next()) => first,
    };
    let Ok(Some(Ok(first))) = first else {
        tracing::debug!(%peer, "simulate: connection closed before a login");
        return;
    };
    let password_ok = match &first {
        ClientPacket::Known(p) if p.kind == PacketKind::Login => {
            shared.opts.password.is_empty() || p.text == shared.opts.password
        }
        _ => false,
    };
    if !password_ok {
        tracing::debug!(%peer, "simulate: login refused; closing");
        shared.count(|s| s.logins_failed += 1);
        return;
    }
    shared.count(|s| s.logins_ok += 1);

    let _ = timeout(
        CLOSE_GRACE,
        shared.logged_in.subscribe().wait_for(|n| *n == 0),
    )
    .await;
    let mut concurrent = 0;
    shared.logged_in.send_modify(|n| {
        *n += 1;
        concurrent = *n;
    });
    shared.count(|s| s.max_concurrent = s.max_concurrent.max(concurrent));
    let mut generation = 0;
    shared.active.send_modify(|g| {
        *g += 1;
        generation = *g;
    });
    tracing::debug!(%peer, generation, "simulate: client logged in");

    let mut session = Session {
        rng: Rng::new(shared.opts.seed ^ generation.wrapping_mul(0x2545_f491_4f6c_dd1d)),
        shared: shared.clone(),
        reader,
        writer,
        peer,
        generation,
        confirmed: false,
    };
    if let Err(e) = session.run().await {
        tracing::debug!(%peer, "simulate: session ended: {e}");
    }
    // Count the session out before the socket closes, so a client that
    // reconnects at once is never seen as a second concurrent connection.
    shared.logged_in.send_modify(|n| *n -= 1);
    drop(session);
}

/// One logged-in client.
struct Session {
    shared: Arc<Shared>,
    reader: FramedRead<OwnedReadHalf, ServerCodec>,
    writer: OwnedWriteHalf,
    peer: SocketAddr,
    generation: u64,
    confirmed: bool,
    /// Drives --garbage and --split.
    rng: Rng,
}

impl Session {
    /// Serves the client until it leaves, is replaced, is cut by
    /// --drop-every, or the simulator stops.
    async fn run(&mut self) -> io::Result<()> {
        let roster_map = self.shared.delivery().roster.map.0.clone();
        let info = mode_info(self.shared.opts.mode);
        // The game listens on IPv6 too, so IPv4 clients show up mapped.
        let rcon_ip = match self.peer.ip() {
            IpAddr::V4(v4) => v4.to_ipv6_mapped().to_string(),
            v6 => v6.to_string(),
        };
        let hello = json!({
            "RconIP": rcon_ip, "RconPort": self.peer.port().to_string(),
            "RconSocket": self.generation.to_string(), "GameModeID": info.id.to_string(), "MapName": roster_map,
        });
        self.send(ids::RCON_LOGGED_IN, hello).await?;

        let ping_every =
            (self.shared.opts.ping_secs > 0.0).then(|| secs(self.shared.opts.ping_secs));
        let mut next_ping = ping_every.map(|d| Instant::now() + d);
        let mut next_event = Instant::now();
        let mut active = self.shared.active.subscribe();
        let generation = self.generation;
        loop {
            let done = self.shared.stats.borrow().scenario_done;
            tokio::select! {
                biased;
                _ = self.shared.stop.cancelled() => {
                    return self.send(ids::SERVER_SHUTDOWN, json!({})).await;
                }
                _ = async { active.wait_for(|g| *g != generation).await.map(|_| ()) } => {
                    tracing::debug!(peer = %self.peer, "simulate: replaced by a newer login");
                    return Ok(());
                }
                packet = self.reader.next() => match packet {
                    Some(packet) => self.handle(packet?).await?,
                    None => return Ok(()),
                },
                _ = sleep_until(next_ping.unwrap_or_else(Instant::now)), if next_ping.is_some() => {
                    self.send(ids::RCON_PING, json!({})).await?;
                    self.shared.count(|s| s.pings_sent += 1);
                    next_ping = ping_every.map(|d| Instant::now() + d);
                }
                _ = async { if next_event > Instant::now() { sleep_until(next_event).await } }, if !done => {
                    if !self.deliver().await? {
                        return Ok(());
                    }
                    next_event = Instant::now() + self.event_interval();
                }
            }
        }
    }

    fn event_interval(&self) -> Duration {
        let rate = self.shared.opts.rate;
        let rate = if rate > 0.0 { rate } else { f64::INFINITY };
        let rate = if self.confirmed {
            rate
        } else {
            rate.min(UNCONFIRMED_RATE)
        };
        secs(1.0 / rate)
    }

    /// Sends the next scenario event. Returns false when the connection is
    /// to be cut (--drop-every): then only half of the frame went out and the
    /// event stays pending for the next session.
    async fn deliver(&mut self) -> io::Result<bool> {
        let (next, cut) = {
            let mut d = self.shared.delivery();
            let cut = matches!(self.shared.opts.drop_every, Some(n) if n > 0 && d.since_drop >= n);
            if cut {
                d.since_drop = 0;
            }
            (d.next(), cut)
        };
        let Some(ev) = next else {
            self.shared.count(|s| s.scenario_done = true);
            return Ok(true);
        };
        if cut {
            let frame = frame_bytes(ev.id, &ev.json);
            self.write(&frame[..frame.len() / 2]).await?;
            tracing::debug!(peer = %self.peer, "simulate: cutting the connection mid-frame (--drop-every)");
            return Ok(false);
        }
        self.write_frame(ev.id, &ev.json).await?;
        self.shared.delivery().delivered();
        self.shared.count(|s| s.events_sent += 1);
        Ok(true)
    }

    async fn handle(&mut self, packet: ClientPacket) -> io::Result<()> {
        let packet = match packet {
            ClientPacket::Known(p) => p,
            ClientPacket::Unknown { kind, text } => {
                tracing::debug!(kind, text, "simulate: unknown packet kind ignored");
                return Ok(());
            }
        };
        match packet.kind {
            PacketKind::Ping => self.shared.count(|s| s.ping_replies += 1),
            PacketKind::Confirm => {
                self.confirmed = true;
                self.shared.count(|s| s.confirms += 1);
            }
            PacketKind::Command => {
                self.shared.count(|s| s.commands.push(packet.text.clone()));
                let reply = command_reply(&self.shared.delivery().roster, &packet.text);
                self.send(ids::COMMAND_ENTERED, reply).await?;
            }
            PacketKind::RequestPlayer
            | PacketKind::RequestMatch
            | PacketKind::RequestScoreboard
                if self.shared.opts.no_replies =>
            {
                tracing::debug!(?packet, "simulate: request ignored (--no-replies)");
            }
            PacketKind::RequestPlayer
            | PacketKind::RequestMatch
            | PacketKind::RequestScoreboard => {
                let reply =
                    request_reply(&self.shared.delivery().roster, packet.kind, &packet.text);
                match reply {
                    Some(reply) => self.send(ids::REQUEST_DATA, reply).await?,
                    None => tracing::debug!(?packet, "simulate: request not answered"),
                }
            }
            PacketKind::Login | PacketKind::RequestBounce => {
                tracing::debug!(kind = ?packet.kind, "simulate: packet ignored after login");
            }
        }
        Ok(())
    }

    /// Sends a non-scenario event (`fields` plus Time and EventID).
    async fn send(&mut self, id: u16, mut fields: Value) -> io::Result<()> {
        fields["Time"] = json!(self.shared.delivery().roster.clock.to_string());
        fields["EventID"] = json!(id.to_string());
        let json = match fields {
            Value::Object(o) => shuffled(o, &mut self.rng),
            other => other.to_string(),
        };
        self.write_frame(id, &json).await
    }

    /// Writes one frame, with --garbage before it and --split applied.
    async fn write_frame(&mut self, id: u16, json: &str) -> io::Result<()> {
        if self.shared.opts.garbage {
            let junk = self.garbage();
            self.write(&junk).await?;
        }
        let frame = frame_bytes(id, json);
        if !self.shared.opts.split {
            return self.write(&frame).await;
        }
        // Cut inside the header once (start mark, size or id), then at a
        // couple of random places.
        let mut cuts = vec![self.rng.range(1, 6) as usize];
        for _ in 0..self.rng.range(0, 2) {
            cuts.push(self.rng.range(1, frame.len() as i64 - 1) as usize);
        }
        cuts.push(frame.len());
        cuts.sort_unstable();
        cuts.dedup();
        let mut from = 0;
        for to in cuts {
            self.write(&frame[from..to]).await?;
            from = to;
            if to < frame.len() {
                sleep(Duration::from_millis(1)).await;
            }
        }
        Ok(())
    }

    /// Bytes to put between two frames: usually nothing, sometimes junk
    /// without a start mark, sometimes a frame that does not check out (bad
    /// end mark, invalid JSON or invalid UTF-8). Never a valid event.
    fn garbage(&mut self) -> Vec<u8> {
        let roll = self.rng.range(0, 99);
        if roll < 25 {
            (0..self.rng.range(1, 24))
                .map(|_| match self.rng.next_u64() as u8 {
                    b if b == START_MARK[0] => b'?',
                    b => b,
                })
                .collect()
        } else if roll < 30 {
            let mut frame = BytesMut::new();
            let result = match self.rng.range(0, 2) {
                0 => encode_frame(
                    ids::LOG_MESSAGE,
                    br#"{"Message":"end mark missing","Color":"0"}"#,
                    &mut frame,
                )
                .map(|()| {
                    let at = frame.len() - END_MARK.len();
                    frame[at..].copy_from_slice(b"XYZ");
                }),
                1 => encode_frame(ids::LOG_MESSAGE, br#"{"Message":"trunc"#, &mut frame),
                _ => encode_frame(ids::LOG_MESSAGE, b"{\"Message\":\"\xff\xfe\"}", &mut frame),
            };
            result.map(|()| frame.to_vec()).unwrap_or_default()
        } else {
            Vec::new()
        }
    }

    async fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        match timeout(WRITE_TIMEOUT, self.writer.write_all(bytes)).await {
            Ok(result) => result,
            Err(_) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "client stopped reading",
            )),
        }
    }
}

/// A positive number of seconds as a Duration, capped at a day (so that
/// absurd `--rate`/`--ping-secs` values cannot overflow the clock).
fn secs(s: f64) -> Duration {
    const DAY: Duration = Duration::from_secs(86_400);
    Duration::try_from_secs_f64(s).map_or(DAY, |d| d.min(DAY))
}

/// Splits console text into parameters: bare words, or double-quoted strings
/// in which `\"` and `\\` are escapes (how clients quote names and request
/// ids). `None` when a quote is not closed.
pub(crate) fn parse_params(text: &str) -> Option<Vec<String>> {
    let mut params = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let Some(first) = chars.next() else {
            return Some(params);
        };
        let mut param = String::new();
        if first == '"' {
            loop {
                match chars.next()? {
                    '"' => break,
                    '\\' => match chars.next()? {
                        c @ ('"' | '\\') => param.push(c),
                        c => param.extend(['\\', c]),
                    },
                    c => param.push(c),
                }
            }
        } else {
            param.push(first);
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                param.push(c);
            }
        }
        params.push(param);
    }
}

/// command_entered for an RCON command (Source 1), with the game's text
/// where it is known. Commands change nothing: the scenario is fixed, so a
/// kick is acknowledged but the player stays, and addbot adds nobody.
fn command_reply(roster: &Roster, text: &str) -> Value {
    let params = parse_params(text).unwrap_or_default();
    let verb = params.first().map(|v| v.to_ascii_lowercase());
    let target = || {
        params
            .get(1)
            .and_then(|who| roster.find(who))
            .map(|slot| roster.players[&slot].name.clone())
    };
    let return_text = match verb.as_deref() {
        Some("say" | "rawsay") => String::new(),
        Some("kick") => target().map_or("Player not found".into(), |name| {
            format!("KICK: Kicking player {name}...")
        }),
        Some("addbot") => {
            let team = params.get(1).map_or("0", String::as_str);
            format!("ADDBOT: Added bot to team {team}")
        }
        Some("ban") => target().map_or("Player not found".into(), |name| format!("Banned {name}")),
        _ => "Unknown command".into(),
    };
    json!({ "Command": text, "Source": "1", "ReturnText": return_text })
}

/// request_data for a request packet; `None` means no reply (a
/// malformed request, or request_player for a player who is not there).
fn request_reply(roster: &Roster, kind: PacketKind, text: &str) -> Option<Value> {
    let params = parse_params(text)?;
    let mut o = Map::new();
    let mut put = |k: &str, v: String| {
        o.insert(k.to_owned(), Value::String(v));
    };
    let info = mode_info(roster.mode);
    put("CaseID", (kind as i16).to_string());
    put("RequestID", params.first()?.clone());
    if kind == PacketKind::RequestPlayer {
        // Flat, as real servers answer: the PlayerData fields at the top level.
        let slot = roster.find(params.get(1)?)?;
        o.extend(roster.player_data(slot)?);
        o.insert("GamemodeID".into(), Value::String(info.id.to_string()));
        return Some(Value::Object(o));
    }
    let elapsed = (roster.clock - roster.match_started).max(0);
    put("ServerName", format!("bman simulator ({})", roster.mode));
    put("GamemodeName", info.name.into());
    put("GamemodeID", info.id.to_string());
    put("Map", roster.map.0.clone());
    put(
        "TimeStr",
        format!("{:02}:{:02}", elapsed / 60, elapsed % 60),
    );
    put("Team1Score", roster.team_scores[0].to_string());
    put("Team2Score", roster.team_scores[1].to_string());
    if kind == PacketKind::RequestMatch {
        put("Players", roster.listed().count().to_string());
        put("MaxPlayers", MAX_PLAYERS.to_string());
        put(
            "TimeLeft",
            (MAX_TIME_TICKS - elapsed * 60).max(0).to_string(),
        );
        put("MaxTime", MAX_TIME_TICKS.to_string());
        put("Overtime", "0".into());
        put("Version", env!("CARGO_PKG_VERSION").into());
        put("MaxScore", info.max_score.to_string());
    } else {
        roster.put_player_data(&mut o);
    }
    Some(Value::Object(o))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Mode;
    use crate::rcon::codec::{ClientCodec, Frame, Packet};
    use futures::SinkExt;
    use tokio_util::codec::Framed;

    const WAIT: Duration = Duration::from_secs(10);

    type Client = Framed<TcpStream, ClientCodec>;

    async fn login(sim: &SimHandle, password: &str) -> Client {
        let stream = TcpStream::connect(sim.local_addr()).await.unwrap();
        let mut client = Framed::new(stream, ClientCodec::default());
        client
            .send(Packet::new(PacketKind::Login, password))
            .await
            .unwrap();
        client
    }

    /// A logged-in, confirmed client that has been sent the whole scenario.
    async fn confirmed_client(sim: &SimHandle) -> Client {
        let mut client = login(sim, "admin").await;
        client
            .send(Packet::new(PacketKind::Confirm, "1"))
            .await
            .unwrap();
        assert!(sim.wait_until(|s| s.scenario_done, WAIT).await);
        client
    }

    /// The next well-formed frame (skipping garbage reports); None at EOF.
    async fn next_frame(client: &mut Client) -> Option<Frame> {
        loop {
            match timeout(WAIT, client.next())
                .await
                .expect("no frame in time")?
            {
                Ok(Ok(frame)) => return Some(frame),
                Ok(Err(_)) => continue,
                Err(e) => panic!("read failed: {e}"),
            }
        }
    }

    /// Reads frames until one with `id` arrives.
    async fn frame_with_id(client: &mut Client, id: u16) -> Value {
        loop {
            let f = next_frame(client).await.expect("connection closed");
            if f.id == id {
                return serde_json::from_str(&f.json).unwrap();
            }
        }
    }

    /// Reads frames until the command_entered that answers an RCON command
    /// (Source 1; the scenario's console echoes have Source 0). Returns it and
    /// the ids of the frames read on the way.
    async fn command_answer(client: &mut Client) -> (Value, Vec<u16>) {
        let mut skipped = Vec::new();
        loop {
            let f = next_frame(client).await.expect("connection closed");
            let v: Value = serde_json::from_str(&f.json).unwrap();
            if f.id == ids::COMMAND_ENTERED && v["Source"] == "1" {
                return (v, skipped);
            }
            skipped.push(f.id);
        }
    }

    fn opts(f: impl FnOnce(&mut SimOptions)) -> SimOptions {
        let mut o = SimOptions {
            port: 0,
            ..SimOptions::default()
        };
        f(&mut o);
        o
    }

    #[test]
    fn odd_durations_do_not_panic() {
        assert_eq!(secs(0.25), Duration::from_millis(250));
        assert_eq!(secs(1e300), Duration::from_secs(86_400));
        assert_eq!(secs(f64::INFINITY), Duration::from_secs(86_400));
        assert_eq!(secs(0.0), Duration::ZERO);
    }

    #[test]
    fn params_handle_quotes_and_escapes() {
        assert_eq!(parse_params(r#""12" "1""#).unwrap(), ["12", "1"]);
        assert_eq!(
            parse_params(r#"kick "Quote\"Man" "bye \\ now""#).unwrap(),
            ["kick", "Quote\"Man", "bye \\ now"]
        );
        assert_eq!(parse_params(r#"  say   "a b"  "#).unwrap(), ["say", "a b"]);
        assert_eq!(parse_params(r#""C:\path""#).unwrap(), ["C:\\path"]);
        assert_eq!(parse_params(r#""""#).unwrap(), [""]);
        assert_eq!(parse_params(""), Some(vec![]));
        assert_eq!(parse_params(r#""open"#), None);
        assert_eq!(parse_params(r#""trailing \"#), None);
    }

    #[tokio::test]
    async fn login_ping_confirm_and_scoreboard_over_tcp() {
        let sim = serve(opts(|o| {
            o.ping_secs = 0.2;
            o.rate = 200.0;
        }))
        .await
        .unwrap();
        let mut client = login(&sim, "admin").await;
        let hello = next_frame(&mut client).await.unwrap();
        assert_eq!(hello.id, ids::RCON_LOGGED_IN);
        let hello: Value = serde_json::from_str(&hello.json).unwrap();
        assert_eq!(hello["MapName"], "Cargo");
        assert_eq!(hello["RconIP"], "::ffff:127.0.0.1");
        assert_eq!(hello["GameModeID"], "0");

        frame_with_id(&mut client, ids::RCON_PING).await;
        client
            .send(Packet::new(PacketKind::Ping, "1"))
            .await
            .unwrap();
        assert!(sim.wait_until(|s| s.ping_replies >= 1, WAIT).await);
        client
            .send(Packet::new(PacketKind::Confirm, "1"))
            .await
            .unwrap();
        assert!(
            sim.wait_until(|s| s.confirms == 1 && s.events_sent >= 30, WAIT)
                .await
        );

        client
            .send(Packet::new(
                PacketKind::RequestScoreboard,
                r#""req \"7\" \\" "x""#,
            ))
            .await
            .unwrap();
        let board = frame_with_id(&mut client, ids::REQUEST_DATA).await;
        assert_eq!(board["CaseID"], "7");
        assert_eq!(board["RequestID"], "req \"7\" \\");
        assert_eq!(board["GamemodeName"], "Deathmatch");
        let players: Vec<_> = board
            .as_object()
            .unwrap()
            .keys()
            .filter(|k| k.starts_with("PlayerData"))
            .collect();
        assert!(players.len() >= 6, "{board}");

        let stats = sim.stats();
        assert_eq!(
            (stats.connections, stats.logins_ok, stats.max_concurrent),
            (1, 1, 1)
        );
        assert!(stats.pings_sent >= 1);
        sim.shutdown().await;
        assert_eq!(
            frame_with_id(&mut client, ids::SERVER_SHUTDOWN).await["EventID"],
            "1"
        );
        assert!(next_frame(&mut client).await.is_none());
    }

    #[tokio::test]
    async fn wrong_password_gets_nothing_and_empty_password_accepts_any() {
        let sim = serve(opts(|_| {})).await.unwrap();
        let mut client = login(&sim, "nope").await;
        assert!(
            next_frame(&mut client).await.is_none(),
            "refused client must see EOF"
        );
        assert!(sim.wait_until(|s| s.logins_failed == 1, WAIT).await);
        assert_eq!(sim.stats().logins_ok, 0);

        let open = serve(opts(|o| o.password.clear())).await.unwrap();
        let mut client = login(&open, "whatever").await;
        assert_eq!(
            next_frame(&mut client).await.unwrap().id,
            ids::RCON_LOGGED_IN
        );
    }

    #[tokio::test]
    async fn commands_and_requests_are_answered_from_delivered_events() {
        let sim = serve(opts(|o| {
            o.rate = 0.0;
            o.matches = Some(1);
            o.ping_secs = 0.0;
        }))
        .await
        .unwrap();
        let mut client = confirmed_client(&sim).await;

        client
            .send(Packet::new(
                PacketKind::Command,
                r#"kick "Quote\"Man" "bye""#,
            ))
            .await
            .unwrap();
        let reply = command_answer(&mut client).await.0;
        assert_eq!(reply["Command"], r#"kick "Quote\"Man" "bye""#);
        assert_eq!(reply["ReturnText"], "KICK: Kicking player Quote\"Man...");
        let answers = [
            (r#"kick "Nobody" "x""#, "Player not found"),
            (r#"addbot "2" "0""#, "ADDBOT: Added bot to team 2"),
            (r#"say "hi""#, ""),
            ("frobnicate", "Unknown command"),
        ];
        for (command, text) in answers {
            client
                .send(Packet::new(PacketKind::Command, command))
                .await
                .unwrap();
            let reply = command_answer(&mut client).await.0;
            assert_eq!(
                (reply["Command"].as_str(), reply["ReturnText"].as_str()),
                (Some(command), Some(text))
            );
        }

        client
            .send(Packet::new(
                PacketKind::RequestPlayer,
                r#""p1" "nobody here""#,
            ))
            .await
            .unwrap();
        client
            .send(Packet::new(PacketKind::RequestPlayer, r#""p2" "1""#))
            .await
            .unwrap();
        client
            .send(Packet::new(PacketKind::RequestMatch, r#""m1" "1""#))
            .await
            .unwrap();
        let player = frame_with_id(&mut client, ids::REQUEST_DATA).await;
        assert_eq!(
            (player["CaseID"].as_str(), player["RequestID"].as_str()),
            (Some("3"), Some("p2"))
        );
        // Flat, with GamemodeID, as real servers answer.
        assert_eq!(
            (player["ID"].as_str(), player["GamemodeID"].as_str()),
            (Some("1"), Some("0"))
        );
        assert!(player["Name"].is_string() && player["Hat2"].is_string());
        let keys = player.as_object().unwrap().keys();
        assert!(
            !keys.clone().any(|k| k.starts_with("PlayerData")),
            "{keys:?}"
        );
        let status = frame_with_id(&mut client, ids::REQUEST_DATA).await;
        assert_eq!(
            (status["CaseID"].as_str(), status["RequestID"].as_str()),
            (Some("5"), Some("m1"))
        );
        assert_eq!(status["MaxScore"], "30");

        assert_eq!(
            sim.stats().commands,
            [
                r#"kick "Quote\"Man" "bye""#,
                r#"kick "Nobody" "x""#,
                r#"addbot "2" "0""#,
                r#"say "hi""#,
                "frobnicate"
            ]
        );
    }

    /// `--no-replies`: requests are read and ignored; commands still answer.
    #[tokio::test]
    async fn no_replies_leaves_requests_unanswered() {
        let o = opts(|o| {
            o.rate = 0.0;
            o.matches = Some(1);
            o.ping_secs = 0.0;
            o.no_replies = true;
        });
        let events = scenario(&o).count();
        let sim = serve(o).await.unwrap();
        let mut client = confirmed_client(&sim).await;
        for (kind, text) in [
            (PacketKind::RequestScoreboard, r#""s1" "1""#),
            (PacketKind::RequestMatch, r#""m1" "1""#),
            (PacketKind::RequestPlayer, r#""p1" "1""#),
        ] {
            client.send(Packet::new(kind, text)).await.unwrap();
        }
        // Packets are handled in order: an answer would come before this one.
        client
            .send(Packet::new(PacketKind::Command, r#"say "hi""#))
            .await
            .unwrap();
        let (reply, before) = command_answer(&mut client).await;
        assert_eq!(reply["Command"], r#"say "hi""#);
        assert!(
            !before.contains(&ids::REQUEST_DATA),
            "request answered: {before:?}"
        );
        assert_eq!(before.len(), 1 + events, "rcon_logged_in and the scenario");
    }

    /// With cuts, garbage and split frames, a client that reconnects after
    /// every cut receives every scenario event exactly once, whole.
    #[tokio::test]
    async fn scenario_is_delivered_exactly_once_across_drops() {
        let o = opts(|o| {
            o.mode = Mode::Ctf;
            o.rate = 0.0;
            o.matches = Some(1);
            o.drop_every = Some(7);
            o.garbage = true;
            o.split = true;
        });
        let expected: Vec<(u16, String)> = scenario(&o).map(|e| (e.id, e.json)).collect();
        let sim = serve(o).await.unwrap();
        let mut got = Vec::new();
        let mut sessions = 0;
        while got.len() < expected.len() {
            sessions += 1;
            assert!(sessions < 1000, "no progress");
            let mut client = login(&sim, "admin").await;
            client
                .send(Packet::new(PacketKind::Confirm, "1"))
                .await
                .unwrap();
            while got.len() < expected.len() {
                let Some(f) = next_frame(&mut client).await else {
                    break;
                };
                if f.id != ids::RCON_LOGGED_IN && serde_json::from_str::<Value>(&f.json).is_ok() {
                    got.push((f.id, f.json));
                }
            }
        }
        assert_eq!(got, expected);
        assert_eq!(
            sessions,
            expected.len().div_ceil(7),
            "one session per 7 events"
        );
        assert!(sim.wait_until(|s| s.scenario_done, WAIT).await);
        let stats = sim.stats();
        assert_eq!(stats.events_sent, expected.len() as u64);
        assert_eq!(stats.max_concurrent, 1);
    }

    #[tokio::test]
    async fn a_new_login_replaces_the_old_session() {
        let sim = serve(opts(|o| o.ping_secs = 0.0)).await.unwrap();
        let mut first = login(&sim, "admin").await;
        assert_eq!(
            next_frame(&mut first).await.unwrap().id,
            ids::RCON_LOGGED_IN
        );
        let mut second = login(&sim, "admin").await;
        assert_eq!(
            frame_with_id(&mut second, ids::RCON_LOGGED_IN).await["RconSocket"],
            "2"
        );
        while next_frame(&mut first).await.is_some() {}
        let stats = sim.stats();
        assert_eq!((stats.logins_ok, stats.max_concurrent), (2, 2));
        // Still served: scenario events keep coming on the new session.
        let before = sim.stats().events_sent;
        assert!(sim.wait_until(|s| s.events_sent > before, WAIT).await);
    }
}
