//! bman: RCON ingest, ratings and Discord bot for Boring Man 2 communities.
//!
//! Module map (data flows top to bottom):
//! - [`config`]: `.env` secrets and `bmsettings.ini`, validated at start.
//! - [`rcon`]: the wire codec, one supervised client per game server, request handles.
//! - [`event`]: typed events for every id in protocol.md, tolerant decoding.
//! - [`journal`]: the append-only raw event log per server; replay reads it back.
//! - [`sim`]: the built-in simulated game server and its deterministic scenarios.
//! - [`mode`]: the four game modes.

pub mod app;
pub mod config;
pub mod event;
pub mod game;
pub mod ini;
pub mod journal;
pub mod mode;
pub mod pipeline;
pub mod rater;
pub mod ratings;
pub mod rcon;
pub mod sim;
pub mod store;
pub mod views;
pub mod writer;
