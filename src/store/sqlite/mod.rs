//! The embedded SQLite backend: the zero-setup default and what every test runs on.
//!
//! - `schema`: the tables (documented there) and their migrations.
//! - `rows`: column lists and the row mappers that read them.
//! - `queries`: the reads, on the reader connection.
//! - `write`: batches, rerate's replacement, removals and audit records,
//!   on the writer connection.
//! - `bans`: community bans and the shared-IP query.
//! - `links`: linked accounts (Discord user ↔ game profile).
//! - `backup`: `bman backup`, an online copy with SQLite's backup API.

mod backup;
mod bans;
mod links;
mod queries;
mod rows;
mod schema;
mod write;

pub use backup::backup;

use super::*;
use crate::model::*;
use rows::*;
use rusqlite::Connection;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// How long a statement waits for another process's lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The SQLite store.
///
/// Two connections: the writer (every `apply` and `replace_ratings`) and one
/// reader for the queries. In WAL mode a reader sees the last committed state
/// while the writer holds its transaction open, so a `/leaderboard` never
/// waits behind a large batch or a whole-history `rerate`. One reader is
/// enough: every query is a few index range scans (well under a millisecond
/// to a few ms), and the bot serves a handful of commands per second.
pub struct SqliteStore {
    writer: Mutex<Connection>,
    reader: Mutex<Connection>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `path` and migrates it.
    pub fn open(path: &Path) -> StoreResult<SqliteStore> {
        let mut writer = connect(path)?;
        writer.pragma_update(None, "journal_mode", "WAL")?;
        match schema::migrate(&mut writer)? {
            (_, None) => {}
            (0, Some(_)) => tracing::info!("created a new store at {}", path.display()),
            (from, Some(to)) => tracing::info!(
                "upgraded the store at {} from schema version {from} to {to}",
                path.display()
            ),
        }
        let reader = connect(path)?;
        // The reader never writes; this turns a mistake into an error, not a lock.
        reader.pragma_update(None, "query_only", true)?;
        Ok(SqliteStore {
            writer: Mutex::new(writer),
            reader: Mutex::new(reader),
        })
    }

    /// A poisoned lock only means a panic unwound through a holder; the
    /// connection itself is fine (an open transaction was rolled back on drop).
    fn writer(&self) -> MutexGuard<'_, Connection> {
        self.writer.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn reader(&self) -> MutexGuard<'_, Connection> {
        self.reader.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Opens one connection with the per-connection settings.
fn connect(path: &Path) -> StoreResult<Connection> {
    let conn = Connection::open(path)
        .map_err(|e| StoreError::Backend(format!("cannot open {}: {e}", path.display())))?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // NORMAL is durable across application crashes in WAL mode; only a power
    // loss can drop the last transactions, which the raw journal can replay.
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", true)?;
    // 32 MiB of page cache (default 2 MiB) keeps the indexes of a
    // community-sized database in memory.
    conn.pragma_update(None, "cache_size", -32_768)?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

impl Store for SqliteStore {
    fn apply(&self, batch: &WriteBatch) -> StoreResult<()> {
        write::apply(&mut self.writer(), batch)
    }

    fn next_seq(&self) -> StoreResult<i64> {
        queries::next_seq(&self.reader())
    }

    fn load_stats(
        &self,
        mode: Mode,
        keys: &[PlayerKey],
    ) -> StoreResult<HashMap<PlayerKey, ModeStats>> {
        queries::load_stats(&mut self.reader(), mode, keys)
    }

    fn checkpoint(&self, server: &str, epoch: i64) -> StoreResult<Option<Checkpoint>> {
        queries::checkpoint(&self.reader(), server, epoch)
    }

    fn leaderboard(&self, query: &LeaderboardQuery) -> StoreResult<Vec<LeaderboardRow>> {
        queries::leaderboard(&self.reader(), query)
    }

    fn find_players(&self, query: &str, limit: usize) -> StoreResult<Vec<PlayerSummary>> {
        queries::find_players(&mut self.reader(), query, limit)
    }

    fn profile(&self, key: &PlayerKey) -> StoreResult<Option<PlayerProfile>> {
        queries::profile(&mut self.reader(), key)
    }

    fn rating_history(&self, key: &PlayerKey, mode: Mode) -> StoreResult<Vec<RatingPoint>> {
        queries::rating_history(&self.reader(), key, mode)
    }

    fn kills_between(&self, a: &PlayerKey, b: &PlayerKey, mode: Mode) -> StoreResult<HeadToHead> {
        queries::kills_between(&mut self.reader(), a, b, mode)
    }

    fn facts(&self, mode: Mode) -> StoreResult<Vec<StoredFact>> {
        queries::facts(&mut self.reader(), mode)
    }

    fn fact_page(
        &self,
        mode: Mode,
        after_seq: i64,
        limit: usize,
    ) -> StoreResult<Vec<(i64, FactRecord)>> {
        queries::fact_page(&self.reader(), mode, after_seq, limit)
    }

    fn replace_ratings(
        &self,
        mode: Mode,
        facts: &[StoredFact],
        stats: &[(PlayerKey, ModeStats)],
    ) -> StoreResult<()> {
        write::replace_ratings(&mut self.writer(), mode, facts, stats)
    }

    fn export_players(&self) -> StoreResult<Vec<PlayerExport>> {
        queries::export_players(&mut self.reader())
    }

    fn bot_players(&self) -> StoreResult<Vec<PlayerKey>> {
        queries::bot_players(&self.reader())
    }

    fn remove_players(&self, keys: &[PlayerKey]) -> StoreResult<usize> {
        write::remove_players(&mut self.writer(), keys)
    }

    fn checkpoints(&self) -> StoreResult<Vec<Checkpoint>> {
        queries::checkpoints(&self.reader())
    }

    fn record_audit(&self, record: &AuditRecord) -> StoreResult<()> {
        write::record_audit(&self.writer(), record)
    }

    fn audit_log(&self, limit: usize) -> StoreResult<Vec<AuditRecord>> {
        queries::audit_log(&self.reader(), limit)
    }

    fn add_ban(&self, ban: &Ban) -> StoreResult<()> {
        bans::add_ban(&self.writer(), ban)
    }

    fn lift_bans(&self, player: &PlayerKey, lift: &BanLift) -> StoreResult<usize> {
        bans::lift_bans(&self.writer(), player, lift)
    }

    fn bans(&self, query: &BanQuery) -> StoreResult<Vec<Ban>> {
        bans::bans(&self.reader(), query)
    }

    fn ip_neighbours(
        &self,
        player: &PlayerKey,
        since_ms: i64,
        limit: usize,
    ) -> StoreResult<Vec<IpNeighbour>> {
        bans::ip_neighbours(&self.reader(), player, since_ms, limit)
    }

    fn link_account(&self, link: &AccountLink) -> StoreResult<Vec<AccountLink>> {
        links::link_account(&mut self.writer(), link)
    }

    fn unlink_account(&self, user_id: u64) -> StoreResult<Option<AccountLink>> {
        links::unlink_account(&mut self.writer(), user_id)
    }

    fn account_link(&self, user_id: u64) -> StoreResult<Option<AccountLink>> {
        links::account_link(&self.reader(), user_id)
    }

    fn account_links(&self) -> StoreResult<Vec<AccountLink>> {
        links::account_links(&self.reader())
    }

    /// The scratch value lives in a table created inside a transaction that
    /// is rolled back: the write proves the file is writable and not locked,
    /// and nothing lands.
    fn self_check(&self) -> StoreResult<String> {
        let mut writer = self.writer();
        let tx = writer.transaction()?;
        tx.execute_batch(
            "CREATE TABLE bman_check (v TEXT); INSERT INTO bman_check VALUES ('scratch');",
        )?;
        let read: String = tx.query_row("SELECT v FROM bman_check", [], |r| r.get(0))?;
        let version: String = tx.query_row("SELECT sqlite_version()", [], |r| r.get(0))?;
        tx.rollback()?;
        if read != "scratch" {
            return Err(StoreError::Backend(format!(
                "wrote \"scratch\" and read back {read:?}"
            )));
        }
        Ok(format!("SQLite {version}"))
    }
}

#[cfg(test)]
mod tests;
