//! The Discord bot (poise on serenity), in the same process as the ingest.
//!
//! - [`commands`]: player commands' logic (`/leaderboard`, `/rating`, `/profile`, `/servers`).
//! - [`admin`]: privileged commands, permissions (deny by default) and the audit trail.
//! - [`bans`]: the community ban commands (`/ban`, `/unban`, `/bans`, `/whois`).
//! - [`link`]: linked accounts: `/link`, `/unlink`, the caller's own profile, the DM.
//! - [`board`]: the live server board, one message per server edited in place.
//! - [`relay`]: two-way chat between game servers and a channel.
//! - [`routes`]: which channel each server's announcements and chat go to.
//! - [`card`]: result cards as embeds (and as text where embeds are refused), aligned tables.
//! - [`outbox`]: the single rate-limited, coalescing queue of outgoing messages.
//! - [`chart`]: the rating-history PNG.
//! - [`reply`]: the Discord-independent reply model and markdown escaping.
//! - [`slash`]: the slash command declarations (poise) and their replies in Discord's types.
//! - [`bot`]: the client's life: framework, gateway events, start, intent fallback and stop.
//!
//! The logic modules never touch Discord types, so they are tested directly;
//! `slash` and `bot` are tested end to end against a local fake Discord.

pub mod admin;
pub mod bans;
pub mod board;
pub mod bot;
pub mod card;
pub mod chart;
pub mod commands;
pub mod link;
pub mod outbox;
pub mod relay;
pub mod reply;
pub mod routes;
pub mod slash;
