//! One client: the login that opens a session, then the loop that delivers
//! the scenario, pings, and handles the client's packets until it leaves.

use super::replies::{command_reply, kick_disconnect, request_reply};
use super::Shared;
use crate::event::ids;
use crate::rcon::codec::{frame_bytes, ClientPacket, PacketKind, ServerCodec};
use crate::sim::rng::Rng;
use crate::sim::state::mode_info;
use futures::StreamExt;
use serde_json::json;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::time::{sleep_until, timeout, Instant};
use tokio_util::codec::FramedRead;

/// A connection that has not logged in by then is closed.
const LOGIN_TIMEOUT: Duration = Duration::from_secs(10);
/// A new login first waits this long for the previous session's close to be
/// noticed, so a client that closed and reconnected is not counted twice.
const CLOSE_GRACE: Duration = Duration::from_millis(100);
/// The real server's throttle before confirm: one event per 10 ticks.
const UNCONFIRMED_RATE: f64 = 6.0;
/// How long a closed session waits for the client to close its side.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(2);

/// Serves one accepted connection: a login first (anything else closes it
/// at once), then a [`Session`] until the client leaves or is replaced.
pub(super) async fn connection(shared: Arc<Shared>, socket: TcpStream, peer: SocketAddr) {
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
    session.close().await;
}

/// One logged-in client.
pub(super) struct Session {
    pub(super) shared: Arc<Shared>,
    pub(super) reader: FramedRead<OwnedReadHalf, ServerCodec>,
    pub(super) writer: OwnedWriteHalf,
    pub(super) peer: SocketAddr,
    pub(super) generation: u64,
    pub(super) confirmed: bool,
    /// Drives --garbage and --split.
    pub(super) rng: Rng,
}

impl Session {
    /// Ends the connection as a process that exits cleanly does: FIN after
    /// the bytes already written, then the client's remaining packets read
    /// and ignored until it closes too (or [`DRAIN_TIMEOUT`]). Dropping a
    /// socket with unread input sends a reset instead, and the client's
    /// kernel then discards frames it had received but not yet handed over:
    /// events counted here as delivered would be lost.
    async fn close(mut self) {
        let _ = self.writer.shutdown().await;
        let drained = timeout(DRAIN_TIMEOUT, async {
            while let Some(Ok(packet)) = self.reader.next().await {
                tracing::debug!(peer = %self.peer, ?packet, "simulate: packet after the close ignored");
            }
        });
        if drained.await.is_err() {
            tracing::debug!(peer = %self.peer, "simulate: client kept the connection open after the close");
        }
    }

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
        // An injected event (SimHandle::inject) after the scenario ended goes
        // out at once, as a real server sends a chat line.
        let mut stats = self.shared.stats.subscribe();
        let generation = self.generation;
        loop {
            let done = stats.borrow_and_update().scenario_done;
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
                _ = async { stats.wait_for(|s| !s.scenario_done).await.map(|_| ()) }, if done => {}
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
                let (reply, kicked) = {
                    let mut d = self.shared.delivery();
                    let reply = command_reply(&d.roster, &packet.text);
                    let kicked = kick_disconnect(&d.roster, &packet.text);
                    if let Some((slot, leaves)) = kicked.clone() {
                        d.kicked.insert(slot);
                        d.injected.push_front(leaves);
                    }
                    (reply, kicked.is_some())
                };
                self.send(ids::COMMAND_ENTERED, reply).await?;
                if kicked {
                    self.shared.count(|s| s.scenario_done = false);
                }
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
}

/// A positive number of seconds as a Duration, capped at a day (so that
/// absurd `--rate`/`--ping-secs` values cannot overflow the clock).
fn secs(s: f64) -> Duration {
    const DAY: Duration = Duration::from_secs(86_400);
    Duration::try_from_secs_f64(s).map_or(DAY, |d| d.min(DAY))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_durations_do_not_panic() {
        assert_eq!(secs(0.25), Duration::from_millis(250));
        assert_eq!(secs(1e300), Duration::from_secs(86_400));
        assert_eq!(secs(f64::INFINITY), Duration::from_secs(86_400));
        assert_eq!(secs(0.0), Duration::ZERO);
    }
}
