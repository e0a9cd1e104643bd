//! bman: RCON ingest, ratings and Discord bot for Boring Man 2 communities.
//!
//! Module map, in the order data flows:
//! - [`model`]: the domain every layer speaks: modes, player keys, facts, stats, servers.
//! - [`config`] (with [`ini`]): `.env` secrets and `bmsettings.ini`, validated at start.
//! - [`rcon`]: the wire codec, one supervised session per game server, request handles.
//! - [`event`]: typed events for every id in protocol.md, tolerant decoding.
//! - [`journal`]: the append-only raw event log per server; replay and recovery read it.
//! - [`pipeline`]: what travels from a session (or a replay) to a server's tracker.
//! - [`game`]: per-server identity cache and mode trackers: events in, facts out.
//! - [`ratings`]: pure TrueSkill/Elo updates; [`rater`]: facts applied to players' stats.
//! - [`writer`]: the single store writer (batches, checkpoints, exactly-once).
//! - [`store`]: the `Store` trait and its SQLite and MongoDB backends.
//! - [`migrate`]: `bman migrate`, a whole store copied between backends.
//! - [`repair`]: removes bots that earlier releases stored as players (run at start).
//! - [`views`]: player lookup, leaderboard and profile output (CLI and bot).
//! - [`handler`]: the extension point for code reacting to live events; [`chat_commands`]
//!   and [`announce`] (match results, wave milestones) are built on it and the writer's feed.
//! - [`discord`]: the Discord bot: slash commands, announcements, chat relay, admin commands.
//! - [`app`]: wiring for `bman run` and `bman replay`, recovery and shutdown.
//! - [`sim`]: the built-in simulated game server and its deterministic scenarios.

pub mod app;
pub mod config;
pub mod discord;
pub mod event;
pub mod game;
pub mod handlers;
pub mod ini;
pub mod journal;
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
