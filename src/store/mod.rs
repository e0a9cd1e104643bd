//! Storage: the domain-level [`Store`] trait and its backends.
//!
//! The trait is narrow and synchronous: one writer thread applies
//! [`WriteBatch`]es (each atomically), and readers (CLI, bot) call the query
//! methods from blocking tasks. A backend is chosen from `DATABASE_URL`.

pub mod model;
pub mod sqlite;

pub use model::*;

use crate::mode::Mode;
use std::collections::HashMap;

/// A storage failure, with enough words for a log line.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Backend(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("unsupported DATABASE_URL scheme {0:?} (expected sqlite://PATH)")]
    UnsupportedUrl(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Everything bman keeps, behind one interface for every backend.
pub trait Store: Send + Sync {
    /// Applies one batch atomically: all of it lands, or none of it.
    fn apply(&self, batch: &WriteBatch) -> StoreResult<()>;

    /// The next unused fact sequence number (1 for an empty store).
    fn next_seq(&self) -> StoreResult<i64>;

    /// Current stats of these players in `mode`; players without stats are absent.
    fn load_stats(&self, mode: Mode, keys: &[PlayerKey]) -> StoreResult<HashMap<PlayerKey, ModeStats>>;

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

    /// Every stored fact of `mode` in seq order (rerate's input).
    fn facts(&self, mode: Mode) -> StoreResult<Vec<StoredFact>>;

    /// Rerate's output: replaces every rating change of `mode`'s facts and
    /// every player's stats in `mode`, atomically.
    fn replace_ratings(&self, mode: Mode, facts: &[StoredFact], stats: &[(PlayerKey, ModeStats)]) -> StoreResult<()>;
}

/// Opens the store `url` names (`sqlite://PATH`; more backends later).
pub fn open(url: &str) -> StoreResult<Box<dyn Store>> {
    match url.strip_prefix("sqlite://") {
        Some(path) => Ok(Box::new(sqlite::SqliteStore::open(std::path::Path::new(path))?)),
        None => Err(StoreError::UnsupportedUrl(url.split("://").next().unwrap_or("").to_string())),
    }
}
