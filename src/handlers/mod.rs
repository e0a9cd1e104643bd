//! The extension point: code that observes every server's events (with the
//! facts the tracker made of them) and acts on them — replies in game through
//! the server's handle, posts to the announcement bus, reads the store.
//!
//! Built-in behaviours (in-game chat commands, match announcements) are
//! handlers too. Each handler runs in a task of its own with a bounded queue,
//! off the ingest's hot path: a slow handler only falls behind (its queue
//! fills and events for it are dropped with a warning), and a panicking one is
//! logged with its name and keeps getting later events. Neither ever delays
//! recording.

pub mod announce;
pub mod bans;
pub mod board;
pub mod card;
pub mod chat_commands;
pub mod link;
pub mod relay;

pub use card::{Card, CardRow, Tone};

/// A `!word argument` chat line: the word as typed and the trimmed argument
/// (empty when none). The chat commands and `!link` read chat this way.
pub(crate) fn bang_command(message: &str) -> Option<(&str, &str)> {
    let rest = message.trim().strip_prefix('!')?;
    let (word, arg) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    Some((word, arg.trim()))
}

/// The console line that says `text` in the game chat: quoted (a `"` in a
/// name cannot inject a command) and cut to `max_chars`.
pub(crate) fn say_line(text: &str, max_chars: usize) -> String {
    format!(
        "say {}",
        crate::rcon::console_quote(&crate::views::clip(text, max_chars))
    )
}

use crate::event::Event;
use crate::metrics::Metrics;
use crate::model::{ChatFact, Fact, FactRecord, KillFact, PlayerSeen, ServerInfo, StoredFact};
use crate::pipeline::IngestEvent;
use crate::rcon::ServerHandle;
use crate::store::Store;
use futures::FutureExt;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::{broadcast, mpsc, watch};
use tracing::{error, info, warn};

/// How many deliveries may wait for one handler before it starts missing some.
pub(crate) const HANDLER_QUEUE: usize = 1024;

/// One live event and what the server's tracker made of it.
#[derive(Debug)]
pub struct Delivery {
    event: IngestEvent,
    facts: Vec<FactRecord>,
    players: Vec<PlayerSeen>,
}

impl Delivery {
    pub(crate) fn new(
        event: IngestEvent,
        facts: Vec<FactRecord>,
        players: Vec<PlayerSeen>,
    ) -> Delivery {
        Delivery {
            event,
            facts,
            players,
        }
    }

    /// The humans this event identified (a connect, a spawn, a scoreboard…),
    /// as the tracker decided (bots and NPCs never appear here).
    pub fn players(&self) -> &[PlayerSeen] {
        &self.players
    }

    /// The server it came from (name and mode).
    pub fn server(&self) -> &ServerInfo {
        &self.event.server
    }

    /// The typed game event.
    pub fn event(&self) -> &Event {
        &self.event.event.event
    }

    /// When bman received it, unix ms.
    pub fn received_ms(&self) -> i64 {
        self.event.ts_ms
    }

    /// The facts this event produced (a chat line's speaker, a kill, a match result…).
    pub fn facts(&self) -> &[FactRecord] {
        &self.facts
    }

    /// The chat line, with its speaker resolved, if the event was one.
    pub fn chat(&self) -> Option<&ChatFact> {
        self.facts.iter().find_map(|f| match &f.fact {
            Fact::Chat(chat) => Some(chat),
            _ => None,
        })
    }

    /// The human-vs-human kill, with both players resolved, if the event was one.
    pub fn kill(&self) -> Option<&KillFact> {
        self.facts.iter().find_map(|f| match &f.fact {
            Fact::Kill(kill) => Some(kill),
            _ => None,
        })
    }
}

/// Which kind of channel an announcement belongs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Topic {
    /// Match results, wave milestones, records: the announcement channel.
    Results,
    /// Relayed game chat: the chat channel.
    Chat,
}

/// A message for the community (the Discord bot posts these; without it they are logged).
#[derive(Debug, Clone, PartialEq)]
pub struct Announcement {
    /// The server it is about, if any (selects the server's channel).
    pub server: Option<String>,
    pub topic: Topic,
    /// Plain text from game data; the bot escapes it before posting. With a
    /// card, it is the one-line summary the log shows.
    pub text: String,
    /// The result card the bot posts instead of `text` (as an embed).
    pub card: Option<Card>,
}

/// How many announcements may wait for a slow listener (a chat burst fits).
const ANNOUNCEMENT_CAPACITY: usize = 4_096;
/// Match starts and ends a slow listener may miss before it lags (it then
/// refreshes everything anyway).
const MATCH_CHANGES: usize = 64;

/// What handlers can use.
pub struct Context {
    servers: Vec<ServerHandle>,
    pub store: Arc<dyn Store>,
    announcements: broadcast::Sender<Announcement>,
    committed: broadcast::Sender<Arc<StoredFact>>,
    /// Bumped whenever a community ban is issued or lifted in this process.
    bans: watch::Sender<u64>,
    /// Matches that just started or ended.
    matches: broadcast::Sender<board::MatchChange>,
    /// What handlers and the bot count (chat commands answered, Discord posts).
    pub metrics: Arc<Metrics>,
    /// Pending link codes: the bot issues them, the `!link` handler redeems them.
    pub links: Arc<crate::links::LinkCodes>,
}

impl Context {
    /// `committed` is the writer's feed of durable match and wave facts.
    pub fn new(
        servers: &[ServerHandle],
        store: Arc<dyn Store>,
        committed: broadcast::Sender<Arc<StoredFact>>,
        metrics: Arc<Metrics>,
    ) -> Context {
        let (announcements, _) = broadcast::channel(ANNOUNCEMENT_CAPACITY);
        Context {
            servers: servers.to_vec(),
            store,
            announcements,
            committed,
            bans: watch::channel(0).0,
            matches: broadcast::channel(MATCH_CHANGES).0,
            metrics,
            links: Arc::default(),
        }
    }

    /// The handle of a configured server (to reply in game).
    pub fn server(&self, name: &str) -> Option<&ServerHandle> {
        self.servers.iter().find(|h| h.name() == name)
    }

    /// Every configured server, in configuration order.
    pub fn servers(&self) -> &[ServerHandle] {
        &self.servers
    }

    /// Runs a store job off the async workers (the store is synchronous); a
    /// store error or a panicked job comes back as its text.
    pub async fn with_store<T: Send + 'static>(
        &self,
        job: impl FnOnce(&dyn Store) -> crate::store::StoreResult<T> + Send + 'static,
    ) -> Result<T, String> {
        let store = self.store.clone();
        match tokio::task::spawn_blocking(move || job(store.as_ref())).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(e.to_string()),
            Err(e) => Err(e.to_string()),
        }
    }

    /// A receiver of every match and wave fact from the moment it is committed.
    pub fn committed(&self) -> broadcast::Receiver<Arc<StoredFact>> {
        self.committed.subscribe()
    }

    /// Posts to the announcement bus; never blocks (slow listeners miss old ones).
    pub fn announce(&self, announcement: Announcement) {
        let _ = self.announcements.send(announcement);
    }

    /// A receiver of every announcement from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Announcement> {
        self.announcements.subscribe()
    }

    /// Says that a community ban was issued or lifted, so enforcement
    /// re-reads the ban list now (bans from another process wait for its
    /// periodic refresh).
    pub fn bans_changed(&self) {
        self.bans.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Says that a match started or ended (the built-in
    /// `board::MatchWatch` handler calls it).
    pub fn match_changed(&self, change: board::MatchChange) {
        let _ = self.matches.send(change);
    }

    /// A receiver of every [`Context::match_changed`] from now on.
    pub fn watch_matches(&self) -> broadcast::Receiver<board::MatchChange> {
        self.matches.subscribe()
    }

    /// Changes whenever [`Context::bans_changed`] is called.
    pub fn watch_bans(&self) -> watch::Receiver<u64> {
        self.bans.subscribe()
    }
}

/// Something that reacts to game events. Implement it with `#[async_trait]`.
#[async_trait::async_trait]
pub trait Handler: Send + Sync + 'static {
    /// A short name for logs.
    fn name(&self) -> &str;

    /// Whether this handler wants a delivery. It runs on the ingest path, so
    /// keep it to a cheap look at the event; only wanted deliveries are queued.
    fn wants(&self, _delivery: &Delivery) -> bool {
        true
    }

    /// Acts on one delivery. Runs in the handler's own task, one at a time.
    async fn handle(&self, ctx: &Context, delivery: &Delivery);

    /// Called once as the handler starts, for work of its own beside the
    /// deliveries (a timer, a feed): spawn it here; do not block.
    fn started(&self, _ctx: &Arc<Context>) {}
}

struct Slot {
    handler: Arc<dyn Handler>,
    queue: mpsc::Sender<Arc<Delivery>>,
    dropped: AtomicU64,
}

/// Hands deliveries to every interested handler without ever waiting.
#[derive(Clone)]
pub(crate) struct Dispatcher {
    slots: Arc<Vec<Slot>>,
}

impl Dispatcher {
    /// Starts one task per handler.
    pub fn start(handlers: Vec<Arc<dyn Handler>>, ctx: Arc<Context>) -> Dispatcher {
        let slots = handlers
            .into_iter()
            .map(|handler| {
                let (queue, rx) = mpsc::channel(HANDLER_QUEUE);
                handler.started(&ctx);
                tokio::spawn(run_handler(handler.clone(), ctx.clone(), rx));
                info!(handler = handler.name(), "handler started");
                Slot {
                    handler,
                    queue,
                    dropped: AtomicU64::new(0),
                }
            })
            .collect();
        Dispatcher {
            slots: Arc::new(slots),
        }
    }

    /// Queues `delivery` for each handler that wants it.
    pub fn dispatch(&self, delivery: Delivery) {
        let delivery = Arc::new(delivery);
        for slot in self.slots.iter() {
            let name = slot.handler.name();
            match std::panic::catch_unwind(AssertUnwindSafe(|| slot.handler.wants(&delivery))) {
                Ok(true) => {}
                Ok(false) => continue,
                Err(_) => {
                    error!(
                        handler = name,
                        "handler panicked in wants(); event skipped for it"
                    );
                    continue;
                }
            }
            if slot.queue.try_send(delivery.clone()).is_err() {
                let dropped = slot.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                if dropped == 1 || dropped.is_power_of_two() {
                    warn!(handler = name, dropped, "handler is not keeping up (or stopped); events for it are dropped, recording is not affected");
                }
            }
        }
    }
}

async fn run_handler(
    handler: Arc<dyn Handler>,
    ctx: Arc<Context>,
    mut queue: mpsc::Receiver<Arc<Delivery>>,
) {
    while let Some(delivery) = queue.recv().await {
        let outcome = AssertUnwindSafe(handler.handle(&ctx, &delivery))
            .catch_unwind()
            .await;
        if let Err(panic) = outcome {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            error!(handler = handler.name(), server = %delivery.server().name, "handler panicked: {message}; it keeps receiving later events");
        }
    }
}
