//! Health and Prometheus metrics (README "Health and metrics"): one registry
//! for the process, the counters each layer bumps, and the HTTP server for
//! `/healthz` and `/metrics`.
//!
//! Every label comes from the configuration (server names) or from a fixed
//! set bman owns (event kinds from `event::ids`, fact kinds, chat commands),
//! never from game input, so the number of series is bounded. The hot path
//! pays one atomic add per frame: counters are resolved once per server.
//!
//! - `sampled`: what is read at scrape time: each server's connection state
//!   (from its supervisor's status) and the writer's queue depth.
//! - `sink`: [`Counted`], the frame sink that counts frames by kind.
//! - `health`: what `/healthz` answers.
//! - `http`: the listener and its two routes.

mod health;
mod http;
mod sampled;
mod sink;

pub use health::{Health, HealthReport};
pub use http::{bind, serve, MetricsError};
pub use sink::Counted;

use crate::event::ids;
use crate::model::Fact;
use crate::rcon::ServerHandle;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use sampled::Sampled;
use std::sync::Arc;
use std::time::Duration;

/// The content type of [`Metrics::render`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ServerKind {
    server: String,
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Kind {
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CommandLabel {
    command: &'static str,
}

/// What the store writer reports.
#[derive(Clone, Debug)]
pub struct WriterMetrics {
    batches: Counter,
    commit_seconds: Histogram,
    /// Indexed like [`Fact::KINDS`], each a member of `facts_family`.
    facts: Vec<Counter>,
    facts_family: Family<Kind, Counter>,
}

impl Default for WriterMetrics {
    fn default() -> Self {
        let facts_family = Family::<Kind, Counter>::default();
        WriterMetrics {
            batches: Counter::default(),
            // 0.5 ms .. 8 s.
            commit_seconds: Histogram::new(exponential_buckets(0.0005, 2.0, 15)),
            facts: Fact::KINDS
                .iter()
                .map(|kind| facts_family.get_or_create(&Kind { kind }).clone())
                .collect(),
            facts_family,
        }
    }
}

impl WriterMetrics {
    /// One committed batch: how long its commit took and its facts.
    pub fn committed<'a>(&self, took: Duration, facts: impl Iterator<Item = &'a Fact>) {
        self.batches.inc();
        self.commit_seconds.observe(took.as_secs_f64());
        for fact in facts {
            let i = Fact::KINDS.iter().position(|k| *k == fact.kind());
            if let Some(counter) = i.and_then(|i| self.facts.get(i)) {
                counter.inc();
            }
        }
    }
}

/// What the Discord outbox reports.
#[derive(Clone, Debug, Default)]
pub struct DiscordMetrics {
    outbox_depth: Gauge,
    rate_limited: Counter,
    posts: Counter,
}

impl DiscordMetrics {
    pub fn queued(&self, lines: usize) {
        self.outbox_depth
            .set(i64::try_from(lines).unwrap_or(i64::MAX));
    }

    pub fn rate_limited(&self) {
        self.rate_limited.inc();
    }

    pub fn posted(&self) {
        self.posts.inc();
    }
}

/// The chat commands, as counted (`!rating` is `rank`).
pub const CHAT_COMMANDS: [&str; 4] = ["rank", "top", "stats", "help"];

/// The process's metrics. Cheap to share (`Arc`); counting never blocks.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    events: Family<ServerKind, Counter>,
    sampled: Arc<Sampled>,
    pub writer: WriterMetrics,
    pub discord: DiscordMetrics,
    chat_commands: Vec<Counter>,
}

impl Metrics {
    /// Registers every metric, with a series per configured server name.
    pub fn new(server_names: &[String]) -> Metrics {
        let mut registry = Registry::with_prefix("bman");
        let events = Family::<ServerKind, Counter>::default();
        // Every series exists from the start (at 0), so rates work from the first scrape.
        for server in server_names {
            for kind in event_kinds() {
                drop(events.get_or_create(&ServerKind {
                    server: server.clone(),
                    kind,
                }));
            }
        }
        registry.register(
            "events_received",
            "Frames received per server and event kind (the event id table's names; \"unknown\" for ids outside it)",
            events.clone(),
        );
        let sampled = Arc::new(Sampled::default());
        registry.register_collector(Box::new(sampled.clone()));

        let writer = WriterMetrics::default();
        registry.register(
            "writer_batches",
            "Batches the store writer committed",
            writer.batches.clone(),
        );
        registry.register(
            "writer_commit_seconds",
            "How long each batch commit took, retries included",
            writer.commit_seconds.clone(),
        );
        registry.register(
            "writer_facts",
            "Facts committed to the store, by kind",
            writer.facts_family.clone(),
        );

        let discord = DiscordMetrics::default();
        registry.register(
            "discord_outbox_depth",
            "Lines waiting in the Discord outbox",
            discord.outbox_depth.clone(),
        );
        registry.register(
            "discord_rate_limited",
            "Discord answers 429 (rate limited) to the outbox",
            discord.rate_limited.clone(),
        );
        registry.register(
            "discord_posts",
            "Messages the outbox posted to Discord",
            discord.posts.clone(),
        );

        let commands = Family::<CommandLabel, Counter>::default();
        let chat_commands = CHAT_COMMANDS
            .iter()
            .map(|command| commands.get_or_create(&CommandLabel { command }).clone())
            .collect();
        registry.register(
            "chat_commands_answered",
            "In-game chat commands answered in the game",
            commands,
        );
        Metrics {
            registry,
            events,
            sampled,
            writer,
            discord,
            chat_commands,
        }
    }

    /// The counting sink for one server's frames, in front of `sink`.
    pub fn count_frames<S>(&self, server: &str, sink: S) -> Counted<S> {
        let by_id = ids::ALL
            .iter()
            .map(|&(_, kind)| self.event_counter(server, kind))
            .collect();
        Counted::new(by_id, self.event_counter(server, "unknown"), sink)
    }

    fn event_counter(&self, server: &str, kind: &'static str) -> Counter {
        self.events
            .get_or_create(&ServerKind {
                server: server.to_string(),
                kind,
            })
            .clone()
    }

    /// Reports these servers' connection state (at scrape time, and in health).
    pub fn watch_servers(&self, handles: &[ServerHandle]) {
        self.sampled.watch(handles);
    }

    /// The health of the servers watched and of the writer `writer_stopped` tracks.
    pub fn health(&self, writer_stopped: tokio_util::sync::CancellationToken) -> Health {
        Health::new(self.sampled.clone(), writer_stopped)
    }

    /// One answered chat command (see [`CHAT_COMMANDS`]).
    pub fn chat_command_answered(&self, command: &str) {
        if let Some(i) = CHAT_COMMANDS.iter().position(|c| *c == command) {
            self.chat_commands[i].inc();
        }
    }

    /// The writer's queue depth, read at scrape time from `depth` (`None`
    /// once the writer is gone).
    pub fn watch_writer_queue(&self, depth: impl Fn() -> Option<usize> + Send + Sync + 'static) {
        self.sampled.set_writer_queue(Box::new(depth));
    }

    /// Everything, in the OpenMetrics text format ([`CONTENT_TYPE`]).
    pub fn render(&self) -> String {
        let mut text = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut text, &self.registry) {
            tracing::warn!("encoding the metrics failed: {e}");
        }
        text
    }
}

/// The event kinds, each once, then "unknown".
fn event_kinds() -> Vec<&'static str> {
    let mut kinds: Vec<&'static str> = Vec::new();
    for &(_, kind) in ids::ALL {
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    kinds.push("unknown");
    kinds
}
