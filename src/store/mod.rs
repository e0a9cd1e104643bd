//! Storage: the domain-level [`Store`] trait and its backends.
//!
//! The trait is narrow and synchronous: one writer thread applies
//! [`WriteBatch`]es (each atomically), and readers (CLI, bot) call the query
//! methods from blocking tasks. A backend is chosen from `DATABASE_URL`.

mod batch;
pub mod mongo;
pub mod sqlite;

pub use batch::{Checkpoint, WriteBatch};

use crate::model::{
    AccountLink, AuditRecord, Ban, BanLift, BanQuery, FactRecord, HeadToHead, IpNeighbour,
    LeaderboardQuery, LeaderboardRow, Mode, ModeStats, PlayerExport, PlayerKey, PlayerProfile,
    PlayerSummary, RatingPoint, StoredFact,
};
use std::collections::HashMap;

/// A storage failure, with enough words for a log line.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A refusal bman itself detected (a value it cannot store, a document gone missing).
    #[error("database error: {0}")]
    Backend(String),
    #[error("database error: {0}")]
    Sqlite(#[source] rusqlite::Error),
    #[error("database error: MongoDB: {0}")]
    Mongo(#[source] Box<mongodb::error::Error>),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("{0} is not a store URL: use sqlite://PATH (e.g. sqlite://bman.sqlite3), mongodb://HOST/DATABASE or mongodb+srv://HOST/DATABASE")]
    UnsupportedUrl(String),
}

impl StoreError {
    /// Errors that retrying cannot fix: the stored data itself is wrong, or
    /// the store cannot be what bman was told to open.
    pub(crate) fn is_permanent(&self) -> bool {
        matches!(self, StoreError::Corrupt(_) | StoreError::UnsupportedUrl(_))
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Everything bman keeps, behind one interface for every backend.
pub trait Store: Send + Sync {
    /// Applies one batch atomically: all of it lands, or none of it.
    fn apply(&self, batch: &WriteBatch) -> StoreResult<()>;

    /// The next unused fact sequence number (1 for an empty store).
    fn next_seq(&self) -> StoreResult<i64>;

    /// Current stats of these players in `mode`; players without stats are absent.
    fn load_stats(
        &self,
        mode: Mode,
        keys: &[PlayerKey],
    ) -> StoreResult<HashMap<PlayerKey, ModeStats>>;

    /// How far `server`'s journal of this `epoch` has been applied.
    fn checkpoint(&self, server: &str, epoch: i64) -> StoreResult<Option<Checkpoint>>;

    /// Ranked by mu - 3*sigma (survival: best wave, then NPC kills), after filters.
    fn leaderboard(&self, query: &LeaderboardQuery) -> StoreResult<Vec<LeaderboardRow>>;

    /// Players whose profile id equals `query` exactly, else whose any used
    /// name contains it (case-insensitive), best known first, at most `limit`.
    fn find_players(&self, query: &str, limit: usize) -> StoreResult<Vec<PlayerSummary>>;

    fn profile(&self, key: &PlayerKey) -> StoreResult<Option<PlayerProfile>>;

    /// The player's rating after each rated fact in `mode`, oldest first.
    fn rating_history(&self, key: &PlayerKey, mode: Mode) -> StoreResult<Vec<RatingPoint>>;

    /// How often `a` killed `b` and `b` killed `a` in `mode` (teamkills
    /// included), from the stored kill records. bman-data keeps those for
    /// deathmatch and team deathmatch only ([`keeps_kill_pairs`]), so other
    /// modes answer `None` on every backend.
    fn head_to_head(
        &self,
        a: &PlayerKey,
        b: &PlayerKey,
        mode: Mode,
    ) -> StoreResult<Option<HeadToHead>> {
        if !keeps_kill_pairs(mode) {
            return Ok(None);
        }
        self.kills_between(a, b, mode).map(Some)
    }

    /// [`Store::head_to_head`] in a mode that [`keeps_kill_pairs`], one
    /// lookup per direction: on MongoDB in `<mode>_kills` by
    /// `{killer, victim}`; on SQLite by the `facts_kill_pair` index.
    fn kills_between(&self, a: &PlayerKey, b: &PlayerKey, mode: Mode) -> StoreResult<HeadToHead>;

    /// Every stored fact of `mode` in seq order (rerate's input).
    fn facts(&self, mode: Mode) -> StoreResult<Vec<StoredFact>>;

    /// At most `limit` facts of `mode` with seq above `after_seq`, in seq
    /// order and without their rating changes: a history too large to hold
    /// is read page by page (`bman evaluate`).
    fn fact_page(
        &self,
        mode: Mode,
        after_seq: i64,
        limit: usize,
    ) -> StoreResult<Vec<(i64, FactRecord)>>;

    /// Rerate's output: replaces every rating change of `mode`'s facts and
    /// every player's stats in `mode`, atomically.
    fn replace_ratings(
        &self,
        mode: Mode,
        facts: &[StoredFact],
        stats: &[(PlayerKey, ModeStats)],
    ) -> StoreResult<()>;

    /// Every player with everything known about them, oldest first (in
    /// creation order, which breaks leaderboard ties), for `bman migrate`.
    fn export_players(&self) -> StoreResult<Vec<PlayerExport>>;

    /// Players whose key marks a bot ([`PlayerKey::is_bot`]), as releases
    /// that took `bot<N>` profiles for Steam players stored them (`bman repair`).
    fn bot_players(&self) -> StoreResult<Vec<PlayerKey>>;

    /// Deletes these players and what is theirs alone: names, IPs, per-mode
    /// stats and rating changes. Facts naming them stay (they are history;
    /// the rater leaves bots out of them). Returns how many were deleted.
    fn remove_players(&self, keys: &[PlayerKey]) -> StoreResult<usize>;

    /// Every journal checkpoint, for `bman migrate`.
    fn checkpoints(&self) -> StoreResult<Vec<Checkpoint>>;

    /// Stores one privileged command attempt, right away (not through the
    /// writer's batches: the bot records it whether or not ingest runs).
    fn record_audit(&self, record: &AuditRecord) -> StoreResult<()>;

    /// The latest `limit` audit records, newest first; records with the same
    /// time come newest recorded first.
    fn audit_log(&self, limit: usize) -> StoreResult<Vec<AuditRecord>>;

    /// Stores one community ban right away (like audit records, not through
    /// the writer). A bot's or NPC's key is refused.
    fn add_ban(&self, ban: &Ban) -> StoreResult<()>;

    /// Lifts every ban of `player` that is active at `lift.at_ms`; returns how many.
    fn lift_bans(&self, player: &PlayerKey, lift: &BanLift) -> StoreResult<usize>;

    /// Bans matching `query`, newest first; bans issued in the same
    /// millisecond come newest stored first.
    fn bans(&self, query: &BanQuery) -> StoreResult<Vec<Ban>>;

    /// Other players who used an IP address `player` used and were last seen
    /// at or after `since_ms`, most recently seen first, at most `limit`.
    fn ip_neighbours(
        &self,
        player: &PlayerKey,
        since_ms: i64,
        limit: usize,
    ) -> StoreResult<Vec<IpNeighbour>>;

    /// Stores `link` right away (like bans, not through the writer),
    /// replacing the user's earlier link and any link of the same profile;
    /// returns the links it replaced. A bot's or NPC's key is refused.
    fn link_account(&self, _link: &AccountLink) -> StoreResult<Vec<AccountLink>> {
        Err(no_links())
    }

    /// Removes the user's link; returns it, or `None` when there was none.
    fn unlink_account(&self, _user_id: u64) -> StoreResult<Option<AccountLink>> {
        Err(no_links())
    }

    /// The user's link, if any.
    fn account_link(&self, _user_id: u64) -> StoreResult<Option<AccountLink>> {
        Err(no_links())
    }

    /// Every link, oldest first, for `bman migrate`.
    fn account_links(&self) -> StoreResult<Vec<AccountLink>> {
        Err(no_links())
    }

    /// `bman check`: writes, reads back and deletes a scratch value where
    /// bman keeps its own data, leaving nothing behind, and names the
    /// backend and its version (e.g. "SQLite 3.50.2").
    fn self_check(&self) -> StoreResult<String> {
        Err(StoreError::Backend("this store cannot check itself".into()))
    }
}

/// The modes whose kills both backends can count per pair of players.
pub fn keeps_kill_pairs(mode: Mode) -> bool {
    matches!(mode, Mode::Dm | Mode::Tdm)
}

/// The one check both backends make before storing a ban.
fn check_ban(ban: &Ban) -> StoreResult<()> {
    if ban.player.is_bot() {
        return Err(StoreError::Backend(format!(
            "{} {:?} is a bot or NPC and cannot be banned",
            ban.player.store_name(),
            ban.player.id
        )));
    }
    Ok(())
}

/// What a store without linked accounts (a test double) answers.
fn no_links() -> StoreError {
    StoreError::Backend("this store keeps no linked accounts".into())
}

/// The one check both backends make before storing a link.
fn check_link(link: &AccountLink) -> StoreResult<()> {
    if link.player.is_bot() {
        return Err(StoreError::Backend(format!(
            "{} {:?} is a bot or NPC and cannot be linked",
            link.player.store_name(),
            link.player.id
        )));
    }
    user_id_to_i64(link.user_id).map(|_| ())
}

/// Discord user ids as both backends store them: a signed 64-bit integer
/// (SQLite INTEGER, BSON int64). Snowflakes stay far below `i64::MAX`; a
/// larger id is refused rather than wrapped into a different user.
fn user_id_to_i64(id: u64) -> StoreResult<i64> {
    i64::try_from(id)
        .map_err(|_| StoreError::Backend(format!("user id {id} is too large to store")))
}

fn user_id_from_i64(id: i64) -> StoreResult<u64> {
    u64::try_from(id).map_err(|_| StoreError::Corrupt(format!("negative user id {id}")))
}

/// Opens the store `url` names: `sqlite://PATH`, or MongoDB for
/// `mongodb://` and `mongodb+srv://` (database from the path, default `bmdb`).
pub fn open(url: &str) -> StoreResult<Box<dyn Store>> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        return Ok(Box::new(sqlite::SqliteStore::open(std::path::Path::new(
            path,
        ))?));
    }
    if url.starts_with("mongodb://") || url.starts_with("mongodb+srv://") {
        return Ok(Box::new(mongo::MongoStore::open(url)?));
    }
    // Only the scheme of a URL is shown: the rest may hold credentials.
    Err(StoreError::UnsupportedUrl(match url.split_once("://") {
        Some((scheme, _)) => format!("a {scheme}:// URL"),
        None => format!("{url:?}"),
    }))
}
