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
//!   (kind 6), then at `--rate`. An event injected after the scenario
//!   ended (a test's chat line) goes out at once, as a real server's would.
//! - The scenario is delivered exactly once across connections: it pauses
//!   while nobody is logged in, and an event cut off by `--drop-every` (or by
//!   a failed write) is sent again, whole, after the next login. A session
//!   ends cleanly (FIN after every byte already written, then the client's
//!   last packets read and ignored), so a cut never takes back a frame the
//!   simulator counted as delivered.
//! - One session at a time: a new login replaces the previous one, which is
//!   closed. `max_concurrent` still counts both, honestly, so a client that
//!   opens a second connection while its first one lives is caught.
//! - A console `kick` of a player who is there is echoed, then the player
//!   leaves (player_disconnect with Kicked 1, as the game sends it); the
//!   scenario's later events about that slot are left out until someone
//!   connects to it again.
//! - Requests are answered from the roster rebuilt from the events delivered
//!   so far; request_player for an unknown player gets no reply at all, and
//!   with `--no-replies` no request is ever answered.
//! - Every frame's keys come in a shuffled order, as real servers send them.
//!
//! `session` serves one logged-in client (login, the delivery loop, packets),
//! `frames` writes its frames (stamped, shuffled, with `--garbage` and
//! `--split`), and `replies` answers its commands and requests.

mod frames;
pub(super) mod replies;
mod session;
#[cfg(test)]
mod tests;

use super::scenario::{scenario, Scenario, SimEvent};
use super::state::Roster;
use super::{dump, SimOptions};
use crate::event::ids;
use serde_json::Value;
use std::collections::{BTreeSet, VecDeque};
use std::future::Future;
use std::io::{self, Write as _};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::time::{sleep, timeout};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

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
    /// Slots emptied by an RCON kick (see [`Delivery::without_kicked`]).
    kicked: BTreeSet<i64>,
}

/// Keys that name the slot an event is about.
const SLOT_KEYS: [&str; 6] = [
    "PlayerID",
    "KillerID",
    "VictimID",
    "CarrierID",
    "ReturnPlayerID",
    "RepairerID",
];

impl Delivery {
    fn next(&mut self) -> Option<SimEvent> {
        while self.pending.is_none() {
            let (event, scripted) = match self.injected.pop_front() {
                Some(event) => (event, false),
                None => (self.events.next()?, true),
            };
            self.pending = self.without_kicked(event, scripted);
        }
        self.pending.clone()
    }

    /// The fixed scenario does not know that a kicked player left: its events
    /// about a kicked slot are dropped (match_end loses their PlayerData)
    /// until a player connects to that slot again.
    fn without_kicked(&mut self, event: SimEvent, scripted: bool) -> Option<SimEvent> {
        if self.kicked.is_empty() {
            return Some(event);
        }
        let Ok(Value::Object(mut o)) = serde_json::from_str::<Value>(&event.json) else {
            return Some(event);
        };
        let slot = |o: &serde_json::Map<String, Value>, key: &str| {
            crate::sim::state::int(o.get(key)).filter(|s| self.kicked.contains(s))
        };
        if event.id == ids::PLAYER_CONNECT {
            if let Some(s) = slot(&o, "PlayerID") {
                self.kicked.remove(&s);
            }
            return Some(event);
        }
        if !scripted {
            return Some(event);
        }
        if event.id == ids::PLAYER_DISCONNECT {
            if let Some(s) = slot(&o, "PlayerID") {
                // The scenario's own leave of a kicked player: already gone.
                self.kicked.remove(&s);
                return None;
            }
        }
        let level_up = (event.id == ids::PLAYER_LEVEL_UP).then_some("ID");
        if SLOT_KEYS
            .into_iter()
            .chain(level_up)
            .any(|key| slot(&o, key).is_some())
        {
            return None;
        }
        if event.id != ids::MATCH_END {
            return Some(event);
        }
        let before = o.len();
        o.retain(|k, _| {
            k.strip_prefix("PlayerData")
                .and_then(|s| s.parse::<i64>().ok())
                .is_none_or(|s| !self.kicked.contains(&s))
        });
        if o.len() == before {
            return Some(event);
        }
        Some(SimEvent {
            id: event.id,
            json: Value::Object(o).to_string(),
        })
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
        kicked: BTreeSet::new(),
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
                    shared.tasks.spawn(session::connection(shared.clone(), socket, peer));
                }
                Err(e) => {
                    tracing::warn!("simulate: accept failed: {e}");
                    sleep(Duration::from_millis(50)).await;
                }
            },
        }
    }
}
