//! bman: RCON ingest, ratings and Discord bot for Boring Man 2 communities.
//!
//! Module map, in the order data flows (README "Code map" says the same for
//! contributors). Lower layers never import higher ones: `model`, `rcon` and
//! `store` know nothing of journals, pipelines, configuration or Discord.
//!
//! - [`model`]: the domain every layer speaks: modes, player keys, facts,
//!   per-mode stats, servers, leaderboard requests, the audit record.
//! - [`secret`]: secrets that never print; [`config`] (with `ini`): `.env` and
//!   `bmsettings.ini`, validated at start.
//! - [`rcon`]: the wire codec, one supervised session per game server, request
//!   handles; a session hands every frame to a [`rcon::FrameSink`].
//! - [`event`]: typed events for every id the game sends, tolerant decoding.
//! - [`journal`]: the append-only raw event log per server, in segments
//!   (rotated, compressed, pruned), and reading it back in order.
//! - [`pipeline`]: the ingest path: the journaling frame sink, each server's
//!   stage (tracker → handlers → writer), recovery at start, replay.
//! - `game`: per-server identity cache and mode trackers: events in, facts out.
//! - [`ratings`]: pure TrueSkill/Elo maths; [`rater`]: facts applied to
//!   players' stats (live and `bman rerate`).
//! - [`writer`]: the single store writer (batches, checkpoints, exactly-once).
//! - [`store`]: the `Store` trait and its SQLite and MongoDB backends.
//! - [`migrate`] (`bman migrate`) and [`repair`] (bots earlier releases stored).
//! - [`evaluate`] (`bman evaluate`): how well each candidate rating system
//!   predicts the stored history.
//! - [`views`]: player lookup, leaderboards, profiles and stats lines, for the
//!   CLI, the bot and the game chat.
//! - [`bans`]: community bans as the bot and the CLI issue, lift, list and
//!   look them up (`/whois`); their enforcement is a handler.
//! - [`links`]: linked accounts: one-time codes from `/link`, redeemed by
//!   `!link CODE` in a game's chat (a handler), stored and audited.
//! - [`handlers`]: the extension point for code reacting to live events, and
//!   the built-in handlers (chat commands, announcements, the chat relay).
//! - [`discord`]: the Discord bot: slash commands, announcement posting,
//!   Discord-to-game relay, admin commands.
//! - [`metrics`]: the Prometheus registry every layer counts into, health,
//!   and the `/healthz` + `/metrics` server.
//! - [`check`]: `bman check`: the configuration, then each server, the
//!   store, Discord and the metrics address, for real, recording nothing.
//! - [`app`]: wiring for `bman run`: supervisors, pipelines, handlers, the bot,
//!   and shutdown in order.
//! - [`sim`]: the built-in simulated game server and its deterministic scenarios.

pub mod app;
pub mod bans;
pub mod check;
pub mod config;
pub mod discord;
pub mod evaluate;
pub mod event;
pub(crate) mod game;
pub mod handlers;
pub(crate) mod ini;
pub mod journal;
pub mod links;
pub mod metrics;
pub mod migrate;
pub mod model;
pub mod pipeline;
pub mod rater;
pub mod ratings;
pub mod rcon;
pub mod repair;
pub mod secret;
pub mod sim;
pub mod store;
pub mod views;
pub mod writer;
