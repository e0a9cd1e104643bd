//! The embedded SQLite backend: the zero-setup default and what every test runs on.
//!
//! # Schema (migration 1 unless noted)
//! - `players`: one row per (store, profile) with the latest name, colour, hat,
//!   clan and premium flag and first/last seen times. `UNIQUE(profile, store)`
//!   puts `profile` first so the same index serves exact id lookups across stores.
//! - `player_names` / `player_ips`: the sets of names and IPs a player used.
//!   Names keep a Rust-lowercased copy (`name_lower`) for case-insensitive search.
//! - `player_names_fts`: a contentless FTS5 trigram index over `name_lower`,
//!   kept in sync by a trigger, for substring search (see [`SqliteStore::find_players`]).
//! - `mode_stats`: absolute per-player, per-mode stats plus the stored
//!   leaderboard `rating` (mu - 3*sigma), with one index per leaderboard ordering.
//! - `facts`: every fact as JSON in `data` (replayed by rerate, shown in
//!   history), numbered by `seq`, with typed columns for the queries that filter.
//! - `rating_changes`: each entry of a fact's `changes`, keyed by
//!   (mode, seq, idx) so `facts(mode)` and rerate's delete are range scans, and
//!   indexed by (player_id, mode, seq) so a rating history is one as well.
//! - `checkpoints`: journal progress and tracker snapshot per (server, epoch).
//! - `audit` (migration 3): privileged bot commands in insertion order (`id`);
//!   `audit_time` on `time_ms` (plus the implicit rowid) walked backwards is
//!   exactly the newest-first order, so reading the latest N is a range scan.
//! - Migration 4: zombrains (`zbr`) ranks by best wave like survival; players
//!   get their game `level` (from player_level_up).
//!
//! Migrations are keyed by `PRAGMA user_version`: [`MIGRATIONS`]`[i]` brings a
//! database from version `i` to `i + 1`, inside one transaction. Later changes
//! append to that list; never edit an applied entry.

use super::*;
use crate::model::*;
use rusqlite::{params, Connection, OptionalExtension, Row, Transaction, TransactionBehavior};
use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// Schema migrations in order; see the module docs.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE players (
    id INTEGER PRIMARY KEY,
    store INTEGER NOT NULL,
    profile TEXT NOT NULL,
    name TEXT,
    color TEXT,
    premium INTEGER,
    hat TEXT,
    clan_id TEXT,
    clan_tag TEXT,
    first_seen_ms INTEGER NOT NULL,
    last_seen_ms INTEGER NOT NULL,
    UNIQUE (profile, store)
);
CREATE INDEX players_last_seen ON players (last_seen_ms);

CREATE TABLE player_names (
    id INTEGER PRIMARY KEY,
    player_id INTEGER NOT NULL REFERENCES players (id),
    name TEXT NOT NULL,
    name_lower TEXT NOT NULL,
    first_used_ms INTEGER NOT NULL,
    UNIQUE (player_id, name)
);
CREATE VIRTUAL TABLE player_names_fts USING fts5 (
    name_lower, content = '', tokenize = 'trigram case_sensitive 1'
);
CREATE TRIGGER player_names_fts_insert AFTER INSERT ON player_names BEGIN
    INSERT INTO player_names_fts (rowid, name_lower) VALUES (new.id, new.name_lower);
END;

CREATE TABLE player_ips (
    player_id INTEGER NOT NULL REFERENCES players (id),
    ip TEXT NOT NULL,
    first_used_ms INTEGER NOT NULL,
    PRIMARY KEY (player_id, ip)
) WITHOUT ROWID;

CREATE TABLE mode_stats (
    player_id INTEGER NOT NULL REFERENCES players (id),
    mode TEXT NOT NULL,
    mu REAL NOT NULL,
    sigma REAL NOT NULL,
    elo REAL NOT NULL,
    rating REAL NOT NULL,
    games INTEGER NOT NULL,
    kills INTEGER NOT NULL,
    deaths INTEGER NOT NULL,
    wins INTEGER NOT NULL,
    losses INTEGER NOT NULL,
    draws INTEGER NOT NULL,
    captures INTEGER NOT NULL,
    best_wave INTEGER NOT NULL,
    npc_kills INTEGER NOT NULL,
    npc_deaths INTEGER NOT NULL,
    matches INTEGER NOT NULL,
    last_updated_ms INTEGER NOT NULL,
    PRIMARY KEY (player_id, mode)
) WITHOUT ROWID;
CREATE INDEX mode_stats_rating ON mode_stats (mode, rating DESC, games DESC, player_id);
CREATE INDEX mode_stats_survival ON mode_stats (mode, best_wave DESC, npc_kills DESC, player_id);

CREATE TABLE facts (
    seq INTEGER PRIMARY KEY,
    server TEXT NOT NULL,
    mode TEXT NOT NULL,
    time_ms INTEGER NOT NULL,
    match_id TEXT,
    kind TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX facts_mode ON facts (mode, seq);

CREATE TABLE rating_changes (
    mode TEXT NOT NULL,
    seq INTEGER NOT NULL REFERENCES facts (seq),
    idx INTEGER NOT NULL,
    player_id INTEGER NOT NULL REFERENCES players (id),
    mu REAL NOT NULL,
    sigma REAL NOT NULL,
    elo REAL NOT NULL,
    delta_mu REAL NOT NULL,
    delta_sigma REAL NOT NULL,
    delta_elo REAL NOT NULL,
    PRIMARY KEY (mode, seq, idx)
) WITHOUT ROWID;
CREATE INDEX rating_changes_player ON rating_changes (player_id, mode, seq);

CREATE TABLE checkpoints (
    server TEXT NOT NULL,
    epoch INTEGER NOT NULL,
    applied_offset INTEGER NOT NULL,
    snapshot_offset INTEGER NOT NULL,
    snapshot TEXT,
    PRIMARY KEY (server, epoch)
) WITHOUT ROWID;
"#,
    r#"
CREATE TABLE rank_buckets (
    mode TEXT NOT NULL,
    bucket INTEGER NOT NULL,
    players INTEGER NOT NULL,
    PRIMARY KEY (mode, bucket)
) WITHOUT ROWID;
INSERT INTO rank_buckets (mode, bucket, players)
    SELECT mode, bucket, count(*) FROM (
        SELECT mode, CASE WHEN mode = 'svl' THEN best_wave
            ELSE CAST(rating * 4 AS INTEGER) - (rating * 4 < CAST(rating * 4 AS INTEGER)) END
            AS bucket
        FROM mode_stats)
    GROUP BY mode, bucket;
CREATE TRIGGER rank_buckets_insert AFTER INSERT ON mode_stats BEGIN
    INSERT INTO rank_buckets (mode, bucket, players) VALUES (new.mode,
        CASE WHEN new.mode = 'svl' THEN new.best_wave
        ELSE CAST(new.rating * 4 AS INTEGER) - (new.rating * 4 < CAST(new.rating * 4 AS INTEGER)) END,
        1)
    ON CONFLICT (mode, bucket) DO UPDATE SET players = players + 1;
END;
CREATE TRIGGER rank_buckets_delete AFTER DELETE ON mode_stats BEGIN
    UPDATE rank_buckets SET players = players - 1 WHERE mode = old.mode AND bucket =
        CASE WHEN old.mode = 'svl' THEN old.best_wave
        ELSE CAST(old.rating * 4 AS INTEGER) - (old.rating * 4 < CAST(old.rating * 4 AS INTEGER)) END;
END;
CREATE TRIGGER rank_buckets_update AFTER UPDATE OF mode, rating, best_wave ON mode_stats
WHEN old.mode IS NOT new.mode
    OR CASE WHEN old.mode = 'svl' THEN old.best_wave
        ELSE CAST(old.rating * 4 AS INTEGER) - (old.rating * 4 < CAST(old.rating * 4 AS INTEGER)) END
    IS NOT CASE WHEN new.mode = 'svl' THEN new.best_wave
        ELSE CAST(new.rating * 4 AS INTEGER) - (new.rating * 4 < CAST(new.rating * 4 AS INTEGER)) END
BEGIN
    UPDATE rank_buckets SET players = players - 1 WHERE mode = old.mode AND bucket =
        CASE WHEN old.mode = 'svl' THEN old.best_wave
        ELSE CAST(old.rating * 4 AS INTEGER) - (old.rating * 4 < CAST(old.rating * 4 AS INTEGER)) END;
    INSERT INTO rank_buckets (mode, bucket, players) VALUES (new.mode,
        CASE WHEN new.mode = 'svl' THEN new.best_wave
        ELSE CAST(new.rating * 4 AS INTEGER) - (new.rating * 4 < CAST(new.rating * 4 AS INTEGER)) END,
        1)
    ON CONFLICT (mode, bucket) DO UPDATE SET players = players + 1;
END;
"#,
    r#"
CREATE TABLE audit (
    id INTEGER PRIMARY KEY,
    time_ms INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    user_name TEXT NOT NULL,
    server TEXT NOT NULL,
    command TEXT NOT NULL,
    allowed INTEGER NOT NULL,
    result TEXT NOT NULL
);
CREATE INDEX audit_time ON audit (time_ms);
"#,
    r#"
DROP TRIGGER rank_buckets_insert;
DROP TRIGGER rank_buckets_delete;
DROP TRIGGER rank_buckets_update;
CREATE TRIGGER rank_buckets_insert AFTER INSERT ON mode_stats BEGIN
    INSERT INTO rank_buckets (mode, bucket, players) VALUES (new.mode,
        CASE WHEN new.mode IN ('svl', 'zbr') THEN new.best_wave
        ELSE CAST(new.rating * 4 AS INTEGER) - (new.rating * 4 < CAST(new.rating * 4 AS INTEGER)) END,
        1)
    ON CONFLICT (mode, bucket) DO UPDATE SET players = players + 1;
END;
CREATE TRIGGER rank_buckets_delete AFTER DELETE ON mode_stats BEGIN
    UPDATE rank_buckets SET players = players - 1 WHERE mode = old.mode AND bucket =
        CASE WHEN old.mode IN ('svl', 'zbr') THEN old.best_wave
        ELSE CAST(old.rating * 4 AS INTEGER) - (old.rating * 4 < CAST(old.rating * 4 AS INTEGER)) END;
END;
CREATE TRIGGER rank_buckets_update AFTER UPDATE OF mode, rating, best_wave ON mode_stats
WHEN old.mode IS NOT new.mode
    OR CASE WHEN old.mode IN ('svl', 'zbr') THEN old.best_wave
        ELSE CAST(old.rating * 4 AS INTEGER) - (old.rating * 4 < CAST(old.rating * 4 AS INTEGER)) END
    IS NOT CASE WHEN new.mode IN ('svl', 'zbr') THEN new.best_wave
        ELSE CAST(new.rating * 4 AS INTEGER) - (new.rating * 4 < CAST(new.rating * 4 AS INTEGER)) END
BEGIN
    UPDATE rank_buckets SET players = players - 1 WHERE mode = old.mode AND bucket =
        CASE WHEN old.mode IN ('svl', 'zbr') THEN old.best_wave
        ELSE CAST(old.rating * 4 AS INTEGER) - (old.rating * 4 < CAST(old.rating * 4 AS INTEGER)) END;
    INSERT INTO rank_buckets (mode, bucket, players) VALUES (new.mode,
        CASE WHEN new.mode IN ('svl', 'zbr') THEN new.best_wave
        ELSE CAST(new.rating * 4 AS INTEGER) - (new.rating * 4 < CAST(new.rating * 4 AS INTEGER)) END,
        1)
    ON CONFLICT (mode, bucket) DO UPDATE SET players = players + 1;
END;
ALTER TABLE players ADD COLUMN level INTEGER;
ALTER TABLE mode_stats ADD COLUMN escapes INTEGER NOT NULL DEFAULT 0;
"#,
];

/// Rated modes' `rank_buckets` bucket width is `1 / RATING_BUCKETS` rating
/// points: a rating's bucket is `floor(rating * RATING_BUCKETS)`, the
/// `CAST(...) - (... < CAST(...))` expression of migration 2 (exact, since
/// multiplying by a power of two is).
const RATING_BUCKETS: f64 = 4.0;

/// How long a statement waits for another process's lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Substring queries shorter than this (in characters) cannot use the trigram index.
const TRIGRAM: usize = 3;

/// `mode_stats` columns in [`ModeStats`] field order, as [`stats_from_row`] reads them.
const STATS_COLUMNS: &str = "s.mu, s.sigma, s.elo, s.games, s.kills, s.deaths, s.wins, \
     s.losses, s.draws, s.captures, s.best_wave, s.npc_kills, s.npc_deaths, s.matches, \
     s.escapes, s.last_updated_ms";

/// `audit` columns in [`AuditRecord`] field order, as [`audit_from_row`] reads them.
const AUDIT_COLUMNS: &str = "time_ms, user_id, user_name, server, command, allowed, result";

/// The latest ?1 audit records: `audit_time` walked backwards, no sort step
/// (a `plans_*` unit test pins that).
fn audit_log_sql() -> String {
    format!("SELECT {AUDIT_COLUMNS} FROM audit ORDER BY time_ms DESC, id DESC LIMIT ?1")
}

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
        match migrate(&mut writer)? {
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

/// Applies every migration the database has not seen yet, each in its own
/// transaction with the version bump, so a crash leaves a consistent version.
/// Returns the version it found and the one it migrated to, if any.
fn migrate(conn: &mut Connection) -> StoreResult<(usize, Option<usize>)> {
    let mut found = None;
    loop {
        // IMMEDIATE takes the write lock before reading the version, so two
        // processes opening a new file at once do not both run a migration.
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let version: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
        let version = usize::try_from(version)
            .map_err(|_| StoreError::Corrupt(format!("negative schema version {version}")))?;
        if version > MIGRATIONS.len() {
            return Err(StoreError::Backend(format!(
                "database schema version {version} is newer than this bman knows ({})",
                MIGRATIONS.len()
            )));
        }
        let first = *found.get_or_insert(version);
        let Some(sql) = MIGRATIONS.get(version) else {
            return Ok((first, (version > first).then_some(version)));
        };
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", version as i64 + 1)?;
        tx.commit()?;
    }
}

impl From<rusqlite::Error> for StoreError {
    /// Type mismatches mean rows bman did not write the way it reads them.
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::Error as E;
        match e {
            E::FromSqlConversionFailure(..)
            | E::InvalidColumnType(..)
            | E::IntegralValueOutOfRange(..) => StoreError::Corrupt(e.to_string()),
            _ => StoreError::Backend(e.to_string()),
        }
    }
}

fn parse_mode(s: &str) -> StoreResult<Mode> {
    s.parse().map_err(StoreError::Corrupt)
}

/// Reads [`STATS_COLUMNS`] starting at column `at`.
fn stats_from_row(row: &Row<'_>, at: usize) -> rusqlite::Result<ModeStats> {
    Ok(ModeStats {
        mu: row.get(at)?,
        sigma: row.get(at + 1)?,
        elo: row.get(at + 2)?,
        games: row.get(at + 3)?,
        kills: row.get(at + 4)?,
        deaths: row.get(at + 5)?,
        wins: row.get(at + 6)?,
        losses: row.get(at + 7)?,
        draws: row.get(at + 8)?,
        captures: row.get(at + 9)?,
        best_wave: row.get(at + 10)?,
        npc_kills: row.get(at + 11)?,
        npc_deaths: row.get(at + 12)?,
        matches: row.get(at + 13)?,
        escapes: row.get(at + 14)?,
        last_updated_ms: row.get(at + 15)?,
    })
}

/// Reads `store, profile, display name` starting at column `at`.
fn summary_from_row(row: &Row<'_>, at: usize) -> rusqlite::Result<PlayerSummary> {
    Ok(PlayerSummary {
        key: PlayerKey {
            store: row.get(at)?,
            id: row.get(at + 1)?,
        },
        name: row.get(at + 2)?,
    })
}

/// A player's display name: the latest name, or the profile id for a player
/// known only from facts (never seen with a name).
const SUMMARY_COLUMNS: &str = "p.store, p.profile, coalesce(p.name, p.profile)";

/// Reads [`AUDIT_COLUMNS`]; a negative `user_id` is out of range, so corrupt.
fn audit_from_row(row: &Row<'_>) -> rusqlite::Result<AuditRecord> {
    Ok(AuditRecord {
        time_ms: row.get(0)?,
        user_id: row.get(1)?,
        user_name: row.get(2)?,
        server: row.get(3)?,
        command: row.get(4)?,
        allowed: row.get(5)?,
        result: row.get(6)?,
    })
}

fn change_from_row(row: &Row<'_>, at: usize) -> rusqlite::Result<RatingChange> {
    Ok(RatingChange {
        mu: row.get(at)?,
        sigma: row.get(at + 1)?,
        elo: row.get(at + 2)?,
        delta_mu: row.get(at + 3)?,
        delta_sigma: row.get(at + 4)?,
        delta_elo: row.get(at + 5)?,
    })
}

fn to_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn offset_to_sql(offset: u64) -> StoreResult<i64> {
    i64::try_from(offset)
        .map_err(|_| StoreError::Backend(format!("journal offset {offset} is too large to store")))
}

fn offset_from_sql(offset: i64) -> StoreResult<u64> {
    u64::try_from(offset)
        .map_err(|_| StoreError::Corrupt(format!("negative journal offset {offset}")))
}

/// The `kind` column: the fact's variant, as its JSON `type` tag names it.
fn fact_kind(fact: &Fact) -> &'static str {
    match fact {
        Fact::Kill(_) => "kill",
        Fact::Round(_) => "round",
        Fact::Capture(_) => "capture",
        Fact::Match(_) => "match",
        Fact::Wave(_) => "wave",
        Fact::NpcKill { .. } => "npc_kill",
        Fact::NpcDeath { .. } => "npc_death",
        Fact::Escape { .. } => "escape",
        Fact::Chat(_) => "chat",
    }
}

/// Player ids resolved within one write transaction. Scoped to the
/// transaction so a rollback cannot leave ids of rows that no longer exist.
#[derive(Default)]
struct PlayerIds(HashMap<PlayerKey, i64>);

impl PlayerIds {
    /// Merges one sighting into `players`, `player_names` and `player_ips`.
    fn seen(&mut self, tx: &Transaction<'_>, seen: &PlayerSeen) -> StoreResult<()> {
        let id: i64 = tx
            .prepare_cached(
                "INSERT INTO players (store, profile, name, color, premium, hat, clan_id, clan_tag, \
                     level, first_seen_ms, last_seen_ms) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?10, ?9, ?9) \
                 ON CONFLICT (profile, store) DO UPDATE SET \
                     level = coalesce(excluded.level, level), \
                     name = coalesce(excluded.name, name), \
                     color = coalesce(excluded.color, color), \
                     premium = coalesce(excluded.premium, premium), \
                     hat = coalesce(excluded.hat, hat), \
                     clan_id = coalesce(excluded.clan_id, clan_id), \
                     clan_tag = coalesce(excluded.clan_tag, clan_tag), \
                     first_seen_ms = min(first_seen_ms, excluded.first_seen_ms), \
                     last_seen_ms = max(last_seen_ms, excluded.last_seen_ms) \
                 RETURNING id",
            )?
            .query_row(
                params![
                    seen.key.store,
                    seen.key.id,
                    seen.name,
                    seen.color,
                    seen.premium,
                    seen.hat,
                    seen.clan_id,
                    seen.clan_tag,
                    seen.seen_ms,
                    seen.level
                ],
                |r| r.get(0),
            )?;
        if let Some(name) = &seen.name {
            tx.prepare_cached(
                "INSERT INTO player_names (player_id, name, name_lower, first_used_ms) \
                 VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT (player_id, name) DO UPDATE SET first_used_ms = excluded.first_used_ms \
                 WHERE excluded.first_used_ms < first_used_ms",
            )?
            .execute(params![id, name, name.to_lowercase(), seen.seen_ms])?;
        }
        if let Some(ip) = &seen.ip {
            tx.prepare_cached(
                "INSERT INTO player_ips (player_id, ip, first_used_ms) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (player_id, ip) DO UPDATE SET first_used_ms = excluded.first_used_ms \
                 WHERE excluded.first_used_ms < first_used_ms",
            )?
            .execute(params![id, ip, seen.seen_ms])?;
        }
        if !self.0.contains_key(&seen.key) {
            self.0.insert(seen.key.clone(), id);
        }
        Ok(())
    }

    /// The id of `key`, creating a bare row (first and last seen at `seen_ms`)
    /// for a player the store has not seen yet.
    fn get(&mut self, tx: &Transaction<'_>, key: &PlayerKey, seen_ms: i64) -> StoreResult<i64> {
        if let Some(&id) = self.0.get(key) {
            return Ok(id);
        }
        let existing = tx
            .prepare_cached("SELECT id FROM players WHERE profile = ?1 AND store = ?2")?
            .query_row(params![key.id, key.store], |r| r.get(0))
            .optional()?;
        let id = match existing {
            Some(id) => id,
            None => tx
                .prepare_cached(
                    "INSERT INTO players (store, profile, first_seen_ms, last_seen_ms) \
                     VALUES (?1, ?2, ?3, ?3) RETURNING id",
                )?
                .query_row(params![key.store, key.id, seen_ms], |r| r.get(0))?,
        };
        self.0.insert(key.clone(), id);
        Ok(id)
    }
}

/// Inserts one fact's rating changes; `idx` keeps their order within the fact.
fn insert_changes(
    tx: &Transaction<'_>,
    ids: &mut PlayerIds,
    mode: Mode,
    fact: &StoredFact,
) -> StoreResult<()> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO rating_changes (mode, seq, idx, player_id, mu, sigma, elo, \
             delta_mu, delta_sigma, delta_elo) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?;
    for (idx, (key, c)) in fact.changes.iter().enumerate() {
        let player = ids.get(tx, key, fact.record.time_ms)?;
        stmt.execute(params![
            mode.as_str(),
            fact.seq,
            to_i64(idx),
            player,
            c.mu,
            c.sigma,
            c.elo,
            c.delta_mu,
            c.delta_sigma,
            c.delta_elo
        ])?;
    }
    Ok(())
}

/// Writes absolute stats, computing the stored leaderboard rating.
fn upsert_stats(tx: &Transaction<'_>, player: i64, mode: Mode, s: &ModeStats) -> StoreResult<()> {
    tx.prepare_cached(
        "INSERT INTO mode_stats (player_id, mode, mu, sigma, elo, rating, games, kills, deaths, \
             wins, losses, draws, captures, best_wave, npc_kills, npc_deaths, matches, escapes, \
             last_updated_ms) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19) \
         ON CONFLICT (player_id, mode) DO UPDATE SET \
             mu = excluded.mu, sigma = excluded.sigma, elo = excluded.elo, rating = excluded.rating, \
             games = excluded.games, kills = excluded.kills, deaths = excluded.deaths, \
             wins = excluded.wins, losses = excluded.losses, draws = excluded.draws, \
             captures = excluded.captures, best_wave = excluded.best_wave, \
             npc_kills = excluded.npc_kills, npc_deaths = excluded.npc_deaths, \
             matches = excluded.matches, escapes = excluded.escapes, \
             last_updated_ms = excluded.last_updated_ms",
    )?
    .execute(params![
        player,
        mode.as_str(),
        s.mu,
        s.sigma,
        s.elo,
        s.rating(),
        s.games,
        s.kills,
        s.deaths,
        s.wins,
        s.losses,
        s.draws,
        s.captures,
        s.best_wave,
        s.npc_kills,
        s.npc_deaths,
        s.matches,
        s.escapes,
        s.last_updated_ms
    ])?;
    Ok(())
}

/// A mode's leaderboard page. Each ordering matches one index column for
/// column (`mode_stats_rating`, `mode_stats_survival`), so a page is an index
/// range scan that stops after `offset + limit` matching rows, with no sort
/// step (the `min_games` filter is checked on the index entry itself); the
/// `plans_*` unit tests pin that.
fn leaderboard_sql(mode: Mode) -> String {
    let order = match mode {
        Mode::Svl | Mode::Zbr => "s.best_wave DESC, s.npc_kills DESC, s.player_id",
        Mode::Dm | Mode::Tdm | Mode::Ctf => "s.rating DESC, s.games DESC, s.player_id",
    };
    format!(
        "SELECT {SUMMARY_COLUMNS}, {STATS_COLUMNS} \
         FROM mode_stats s JOIN players p ON p.id = s.player_id \
         WHERE s.mode = ?1 AND s.games >= ?2 AND s.last_updated_ms >= ?3 \
         ORDER BY {order} LIMIT ?4 OFFSET ?5"
    )
}

/// The exact profile id filter of `find_players`, for [`find_sql`].
const BY_PROFILE: &str = "p.profile = ?1";

/// Name matches from the trigram index. `CROSS JOIN` fixes the join order:
/// the few matching names drive the lookup, and only they are sorted. Left to
/// itself the planner walks `players_last_seen` for the ORDER BY ... LIMIT and
/// probes each player, which reads every player when there are few matches.
fn trigram_sql() -> String {
    format!(
        "SELECT {SUMMARY_COLUMNS} \
         FROM (SELECT DISTINCT n.player_id AS id FROM player_names_fts \
             CROSS JOIN player_names n ON n.id = player_names_fts.rowid \
             WHERE player_names_fts MATCH ?1) m \
         CROSS JOIN players p ON p.id = m.id \
         ORDER BY p.last_seen_ms DESC, p.id DESC LIMIT ?2"
    )
}

/// Players matching `filter`, most recently seen first.
fn find_sql(filter: &str) -> String {
    format!(
        "SELECT {SUMMARY_COLUMNS} FROM players p WHERE {filter} \
         ORDER BY p.last_seen_ms DESC, p.id DESC LIMIT ?2"
    )
}

/// Like [`find_sql`] with a plain substring test, over only the ?3 most
/// recently seen players (-1: all of them), walked in that order.
fn scan_sql() -> String {
    format!(
        "SELECT {SUMMARY_COLUMNS} FROM ( \
             SELECT * FROM players ORDER BY last_seen_ms DESC, id DESC LIMIT ?3) p \
         WHERE EXISTS (SELECT 1 FROM player_names n \
             WHERE n.player_id = p.id AND instr(n.name_lower, ?1) > 0) \
         ORDER BY p.last_seen_ms DESC, p.id DESC LIMIT ?2"
    )
}

/// How many of the most recently seen players a name search checks directly
/// before it asks the trigram index.
const RECENT_WINDOW: i64 = 500;

/// The rank query of [`rank`]: ?1 mode, ?2 the player's bucket, ?3 the
/// first ordering key, ?4 the second, ?5 the player id, and for rated modes
/// ?6 the rating where the next bucket starts.
fn rank_sql(mode: Mode) -> &'static str {
    match mode {
        // The bucket is best_wave itself, so nothing in it is ahead on the first key.
        Mode::Svl | Mode::Zbr => {
            "SELECT (SELECT coalesce(sum(players), 0) FROM rank_buckets \
                     WHERE mode = ?1 AND bucket > ?2) \
                 + (SELECT count(*) FROM mode_stats \
                     WHERE mode = ?1 AND best_wave = ?3 AND npc_kills > ?4) \
                 + (SELECT count(*) FROM mode_stats \
                     WHERE mode = ?1 AND best_wave = ?3 AND npc_kills = ?4 AND player_id < ?5)"
        }
        Mode::Dm | Mode::Tdm | Mode::Ctf => {
            "SELECT (SELECT coalesce(sum(players), 0) FROM rank_buckets \
                     WHERE mode = ?1 AND bucket > ?2) \
                 + (SELECT count(*) FROM mode_stats \
                     WHERE mode = ?1 AND rating > ?3 AND rating < ?6) \
                 + (SELECT count(*) FROM mode_stats \
                     WHERE mode = ?1 AND rating = ?3 AND games > ?4) \
                 + (SELECT count(*) FROM mode_stats \
                     WHERE mode = ?1 AND rating = ?3 AND games = ?4 AND player_id < ?5)"
        }
    }
}

/// 1 + the number of players ahead of `player` in `mode`'s full leaderboard
/// ordering (tie-breaks included, so it equals the unfiltered leaderboard
/// rank). Players in better `rank_buckets` come from the trigger-maintained
/// counts; only the player's own bucket is counted row by row, as index
/// range scans (one per ordering step, since SQLite plans an OR as a scan).
fn rank(tx: &Transaction<'_>, mode: Mode, player: i64, s: &ModeStats) -> StoreResult<usize> {
    let mut stmt = tx.prepare_cached(rank_sql(mode))?;
    let ahead: i64 = match mode {
        Mode::Svl | Mode::Zbr => stmt.query_row(
            params![mode.as_str(), s.best_wave, s.best_wave, s.npc_kills, player],
            |r| r.get(0),
        )?,
        Mode::Dm | Mode::Tdm | Mode::Ctf => {
            let rating = s.rating();
            let bucket = (rating * RATING_BUCKETS).floor();
            let next = (bucket + 1.0) / RATING_BUCKETS;
            // `as` saturates; only a rating beyond ±2^61 could reach that.
            stmt.query_row(
                params![mode.as_str(), bucket as i64, rating, s.games, player, next],
                |r| r.get(0),
            )?
        }
    };
    Ok(usize::try_from(ahead).unwrap_or(usize::MAX - 1) + 1)
}

impl Store for SqliteStore {
    fn apply(&self, batch: &WriteBatch) -> StoreResult<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let mut conn = self.writer();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut ids = PlayerIds::default();
        for seen in &batch.players {
            ids.seen(&tx, seen)?;
        }
        for fact in &batch.facts {
            let record = &fact.record;
            let data = serde_json::to_string(&record.fact).map_err(|e| {
                StoreError::Backend(format!("cannot encode fact {}: {e}", fact.seq))
            })?;
            tx.prepare_cached(
                "INSERT INTO facts (seq, server, mode, time_ms, match_id, kind, data) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                fact.seq,
                record.server,
                record.mode.as_str(),
                record.time_ms,
                record.match_id,
                fact_kind(&record.fact),
                data
            ])?;
            for key in record.fact.players() {
                ids.get(&tx, key, record.time_ms)?;
            }
            insert_changes(&tx, &mut ids, record.mode, fact)?;
        }
        for (key, mode, stats) in &batch.stats {
            let player = ids.get(&tx, key, stats.last_updated_ms)?;
            upsert_stats(&tx, player, *mode, stats)?;
        }
        for c in &batch.checkpoints {
            tx.prepare_cached(
                "INSERT INTO checkpoints (server, epoch, applied_offset, snapshot_offset, snapshot) \
                 VALUES (?1, ?2, ?3, ?4, ?5) \
                 ON CONFLICT (server, epoch) DO UPDATE SET applied_offset = excluded.applied_offset, \
                     snapshot_offset = excluded.snapshot_offset, snapshot = excluded.snapshot",
            )?
            .execute(params![
                c.server,
                c.epoch,
                offset_to_sql(c.offset)?,
                offset_to_sql(c.snapshot_offset)?,
                c.snapshot
            ])?;
        }
        tx.commit()?;
        Ok(())
    }

    fn next_seq(&self) -> StoreResult<i64> {
        // max(rowid) is one step to the end of the table's b-tree.
        Ok(self
            .reader()
            .prepare_cached("SELECT coalesce(max(seq), 0) + 1 FROM facts")?
            .query_row([], |r| r.get(0))?)
    }

    fn load_stats(
        &self,
        mode: Mode,
        keys: &[PlayerKey],
    ) -> StoreResult<HashMap<PlayerKey, ModeStats>> {
        let mut conn = self.reader();
        let tx = conn.transaction()?;
        let mut out = HashMap::with_capacity(keys.len());
        {
            let mut stmt = tx.prepare_cached(&format!(
                "SELECT {STATS_COLUMNS} FROM players p JOIN mode_stats s ON s.player_id = p.id \
                 WHERE p.profile = ?1 AND p.store = ?2 AND s.mode = ?3"
            ))?;
            for key in keys {
                if let Some(stats) = stmt
                    .query_row(params![key.id, key.store, mode.as_str()], |r| {
                        stats_from_row(r, 0)
                    })
                    .optional()?
                {
                    out.insert(key.clone(), stats);
                }
            }
        }
        tx.commit()?;
        Ok(out)
    }

    fn checkpoint(&self, server: &str, epoch: i64) -> StoreResult<Option<Checkpoint>> {
        let row = self
            .reader()
            .prepare_cached(
                "SELECT applied_offset, snapshot_offset, snapshot FROM checkpoints \
                 WHERE server = ?1 AND epoch = ?2",
            )?
            .query_row(params![server, epoch], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, Option<String>>(2)?,
                ))
            })
            .optional()?;
        row.map(|(offset, snapshot_offset, snapshot)| {
            Ok(Checkpoint {
                server: server.to_string(),
                epoch,
                offset: offset_from_sql(offset)?,
                snapshot_offset: offset_from_sql(snapshot_offset)?,
                snapshot,
            })
        })
        .transpose()
    }

    fn leaderboard(&self, query: &LeaderboardQuery) -> StoreResult<Vec<LeaderboardRow>> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(&leaderboard_sql(query.mode))?;
        let rows = stmt.query_map(
            params![
                query.mode.as_str(),
                query.min_games.unwrap_or(i64::MIN),
                query.active_since_ms.unwrap_or(i64::MIN),
                to_i64(query.limit),
                to_i64(query.offset)
            ],
            |r| Ok((summary_from_row(r, 0)?, stats_from_row(r, 3)?)),
        )?;
        let mut out = Vec::new();
        for (i, row) in rows.enumerate() {
            let (player, stats) = row?;
            out.push(LeaderboardRow {
                rank: query.offset.saturating_add(i + 1),
                player,
                stats,
            });
        }
        Ok(out)
    }

    /// Case-insensitive means: both the stored names and the query are
    /// lowercased in Rust (`str::to_lowercase`, full Unicode), then compared as
    /// plain substrings. SQLite's own `lower()`/`LIKE` fold only ASCII, so they
    /// are not used, and no user input is ever a pattern: the substring test
    /// is `instr`, and the FTS5 query is one quoted phrase.
    ///
    /// The search first checks the [`RECENT_WINDOW`] most recently seen
    /// players directly: a common fragment fills `limit` there in a millisecond
    /// or two, and the result is exact because the walk is in result order.
    /// Otherwise the fragment is rare, and the trigram index finds it: a quoted
    /// FTS5 phrase of the query's trigrams is exactly a substring match (the
    /// tokenizer is case-sensitive over the already-lowercased text). Queries
    /// under 3 characters have no trigram and a NUL cannot appear in an FTS5
    /// query string (no real name has one); those walk every player instead.
    fn find_players(&self, query: &str, limit: usize) -> StoreResult<Vec<PlayerSummary>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let limit = to_i64(limit);
        let mut conn = self.reader();
        let tx = conn.transaction()?;
        let collect =
            |sql: &str, params: &[&dyn rusqlite::ToSql]| -> StoreResult<Vec<PlayerSummary>> {
                let mut stmt = tx.prepare_cached(sql)?;
                let rows = stmt.query_map(params, |r| summary_from_row(r, 0))?;
                Ok(rows.collect::<rusqlite::Result<_>>()?)
            };
        let exact = collect(&find_sql(BY_PROFILE), params![query, limit])?;
        if !exact.is_empty() {
            return Ok(exact);
        }
        let needle = query.to_lowercase();
        if needle.chars().count() < TRIGRAM || needle.contains('\0') {
            return collect(&scan_sql(), params![needle, limit, -1]);
        }
        let recent = collect(&scan_sql(), params![needle, limit, RECENT_WINDOW])?;
        if to_i64(recent.len()) == limit {
            return Ok(recent);
        }
        let phrase = format!("\"{}\"", needle.replace('"', "\"\""));
        collect(&trigram_sql(), params![phrase, limit])
    }

    fn profile(&self, key: &PlayerKey) -> StoreResult<Option<PlayerProfile>> {
        let mut conn = self.reader();
        let tx = conn.transaction()?;
        type PlayerRow = (
            i64,
            PlayerSummary,
            Option<String>,
            Option<bool>,
            Option<String>,
            Option<String>,
            Option<String>,
            i64,
            i64,
            Option<i64>,
        );
        let row: Option<PlayerRow> = tx
            .prepare_cached(&format!(
                "SELECT p.id, {SUMMARY_COLUMNS}, p.color, p.premium, p.hat, p.clan_id, p.clan_tag, \
                     p.first_seen_ms, p.last_seen_ms, p.level \
                 FROM players p WHERE p.profile = ?1 AND p.store = ?2"
            ))?
            .query_row(params![key.id, key.store], |r| {
                Ok((
                    r.get(0)?,
                    summary_from_row(r, 1)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                    r.get(8)?,
                    r.get(9)?,
                    r.get(10)?,
                    r.get(11)?,
                ))
            })
            .optional()?;
        let Some((
            id,
            player,
            color,
            premium,
            hat,
            clan_id,
            clan_tag,
            first_seen_ms,
            last_seen_ms,
            level,
        )) = row
        else {
            return Ok(None);
        };
        let names = tx
            .prepare_cached(
                "SELECT name FROM player_names WHERE player_id = ?1 ORDER BY first_used_ms, id",
            )?
            .query_map([id], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<String>>>()?;
        let stats = tx
            .prepare_cached(&format!(
                "SELECT s.mode, {STATS_COLUMNS} FROM mode_stats s WHERE s.player_id = ?1"
            ))?
            .query_map([id], |r| {
                Ok((r.get::<_, String>(0)?, stats_from_row(r, 1)?))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut modes = Vec::with_capacity(stats.len());
        for (mode, stats) in stats {
            let mode = parse_mode(&mode)?;
            modes.push((mode, stats, rank(&tx, mode, id, &stats)?));
        }
        modes.sort_by_key(|(mode, ..)| *mode);
        tx.commit()?;
        Ok(Some(PlayerProfile {
            player,
            names,
            color,
            premium: premium.unwrap_or(false),
            hat,
            clan_id,
            clan_tag,
            first_seen_ms,
            last_seen_ms,
            level,
            modes,
        }))
    }

    fn rating_history(&self, key: &PlayerKey, mode: Mode) -> StoreResult<Vec<RatingPoint>> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(
            "SELECT c.seq, f.time_ms, c.mu, c.sigma, c.elo, c.delta_mu, c.delta_sigma, c.delta_elo \
             FROM players p \
             JOIN rating_changes c ON c.player_id = p.id AND c.mode = ?3 \
             JOIN facts f ON f.seq = c.seq \
             WHERE p.profile = ?1 AND p.store = ?2 \
             ORDER BY c.seq, c.idx",
        )?;
        let rows = stmt.query_map(params![key.id, key.store, mode.as_str()], |r| {
            Ok(RatingPoint {
                seq: r.get(0)?,
                time_ms: r.get(1)?,
                change: change_from_row(r, 2)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn facts(&self, mode: Mode) -> StoreResult<Vec<StoredFact>> {
        let mut conn = self.reader();
        let tx = conn.transaction()?;
        let mut facts = Vec::new();
        {
            let mut stmt = tx.prepare_cached(
                "SELECT seq, server, time_ms, match_id, data FROM facts WHERE mode = ?1 ORDER BY seq",
            )?;
            let mut rows = stmt.query([mode.as_str()])?;
            while let Some(r) = rows.next()? {
                let seq: i64 = r.get(0)?;
                let data: String = r.get(4)?;
                let fact = serde_json::from_str(&data).map_err(|e| {
                    StoreError::Corrupt(format!("fact {seq} is not a valid fact: {e}"))
                })?;
                facts.push(StoredFact {
                    seq,
                    record: FactRecord {
                        server: r.get(1)?,
                        mode,
                        time_ms: r.get(2)?,
                        match_id: r.get(3)?,
                        fact,
                    },
                    changes: Vec::new(),
                });
            }
        }
        {
            // Both lists come in seq order, so a cursor into `facts` pairs them.
            let mut stmt = tx.prepare_cached(
                "SELECT c.seq, p.store, p.profile, c.mu, c.sigma, c.elo, c.delta_mu, c.delta_sigma, c.delta_elo \
                 FROM rating_changes c JOIN players p ON p.id = c.player_id \
                 WHERE c.mode = ?1 ORDER BY c.seq, c.idx",
            )?;
            let mut rows = stmt.query([mode.as_str()])?;
            let mut at = 0;
            while let Some(r) = rows.next()? {
                let seq: i64 = r.get(0)?;
                while facts.get(at).is_some_and(|f| f.seq < seq) {
                    at += 1;
                }
                let fact = facts.get_mut(at).filter(|f| f.seq == seq).ok_or_else(|| {
                    StoreError::Corrupt(format!(
                        "rating change of fact {seq}, which is not a {mode} fact"
                    ))
                })?;
                let key = PlayerKey {
                    store: r.get(1)?,
                    id: r.get(2)?,
                };
                fact.changes.push((key, change_from_row(r, 3)?));
            }
        }
        tx.commit()?;
        Ok(facts)
    }

    fn replace_ratings(
        &self,
        mode: Mode,
        facts: &[StoredFact],
        stats: &[(PlayerKey, ModeStats)],
    ) -> StoreResult<()> {
        let mut conn = self.writer();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut ids = PlayerIds::default();
        tx.prepare_cached("DELETE FROM rating_changes WHERE mode = ?1")?
            .execute([mode.as_str()])?;
        for fact in facts {
            insert_changes(&tx, &mut ids, mode, fact)?;
        }
        tx.prepare_cached("DELETE FROM mode_stats WHERE mode = ?1")?
            .execute([mode.as_str()])?;
        for (key, s) in stats {
            let player = ids.get(&tx, key, s.last_updated_ms)?;
            upsert_stats(&tx, player, mode, s)?;
        }
        tx.commit()?;
        Ok(())
    }

    fn export_players(&self) -> StoreResult<Vec<PlayerExport>> {
        let mut conn = self.reader();
        let tx = conn.transaction()?;
        let mut players: Vec<(i64, PlayerExport)> = tx
            .prepare(&format!(
                "SELECT p.id, {SUMMARY_COLUMNS}, p.color, p.premium, p.hat, p.clan_id, p.clan_tag, \
                     p.first_seen_ms, p.last_seen_ms, p.level FROM players p ORDER BY p.id"
            ))?
            .query_map([], |r| {
                let summary = summary_from_row(r, 1)?;
                Ok((
                    r.get(0)?,
                    PlayerExport {
                        key: summary.key,
                        display_name: summary.name,
                        names: Vec::new(),
                        ips: Vec::new(),
                        color: r.get(4)?,
                        premium: r.get::<_, Option<bool>>(5)?.unwrap_or(false),
                        hat: r.get(6)?,
                        clan_id: r.get(7)?,
                        clan_tag: r.get(8)?,
                        first_seen_ms: r.get(9)?,
                        last_seen_ms: r.get(10)?,
                        level: r.get(11)?,
                    },
                ))
            })?
            .collect::<rusqlite::Result<_>>()?;
        let at: HashMap<i64, usize> = players
            .iter()
            .enumerate()
            .map(|(i, (id, _))| (*id, i))
            .collect();
        for (sql, names) in [
            ("SELECT player_id, name, first_used_ms FROM player_names ORDER BY first_used_ms, id", true),
            ("SELECT player_id, ip, first_used_ms FROM player_ips ORDER BY first_used_ms, ip", false),
        ] {
            let mut stmt = tx.prepare(sql)?;
            let mut rows = stmt.query([])?;
            while let Some(r) = rows.next()? {
                let player = &mut players[at[&r.get::<_, i64>(0)?]].1;
                let list = if names { &mut player.names } else { &mut player.ips };
                list.push((r.get(1)?, r.get(2)?));
            }
        }
        Ok(players.into_iter().map(|(_, p)| p).collect())
    }

    fn bot_players(&self) -> StoreResult<Vec<PlayerKey>> {
        let conn = self.reader();
        let mut stmt = conn.prepare(
            "SELECT store, profile FROM players \
             WHERE store = ?1 OR profile = '' OR profile GLOB 'bot[0-9]*'",
        )?;
        let keys = stmt
            .query_map([PlayerKey::BOT_STORE], |r| {
                Ok(PlayerKey {
                    store: r.get(0)?,
                    id: r.get(1)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(keys.into_iter().filter(PlayerKey::is_bot).collect())
    }

    fn remove_players(&self, keys: &[PlayerKey]) -> StoreResult<usize> {
        let mut conn = self.writer();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut removed = 0;
        for key in keys {
            let Some(id) = tx
                .prepare_cached("SELECT id FROM players WHERE profile = ?1 AND store = ?2")?
                .query_row(params![key.id, key.store], |r| r.get::<_, i64>(0))
                .optional()?
            else {
                continue;
            };
            // The trigram index is contentless: its entries go by an explicit 'delete'.
            tx.prepare_cached(
                "INSERT INTO player_names_fts (player_names_fts, rowid, name_lower) \
                 SELECT 'delete', id, name_lower FROM player_names WHERE player_id = ?1",
            )?
            .execute([id])?;
            for table in ["rating_changes", "mode_stats", "player_names", "player_ips"] {
                tx.prepare_cached(&format!("DELETE FROM {table} WHERE player_id = ?1"))?
                    .execute([id])?;
            }
            removed += tx
                .prepare_cached("DELETE FROM players WHERE id = ?1")?
                .execute([id])?;
        }
        tx.commit()?;
        Ok(removed)
    }

    fn checkpoints(&self) -> StoreResult<Vec<Checkpoint>> {
        let conn = self.reader();
        let mut stmt = conn.prepare(
            "SELECT server, epoch, applied_offset, snapshot_offset, snapshot FROM checkpoints \
             ORDER BY server, epoch",
        )?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, Option<String>>(4)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter()
            .map(|(server, epoch, offset, snapshot_offset, snapshot)| {
                Ok(Checkpoint {
                    server,
                    epoch,
                    offset: offset_from_sql(offset)?,
                    snapshot_offset: offset_from_sql(snapshot_offset)?,
                    snapshot,
                })
            })
            .collect()
    }

    fn record_audit(&self, r: &AuditRecord) -> StoreResult<()> {
        self.writer()
            .prepare_cached(&format!(
                "INSERT INTO audit ({AUDIT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
            ))?
            .execute(params![
                r.time_ms,
                user_id_to_i64(r.user_id)?,
                r.user_name,
                r.server,
                r.command,
                r.allowed,
                r.result
            ])?;
        Ok(())
    }

    fn audit_log(&self, limit: usize) -> StoreResult<Vec<AuditRecord>> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(&audit_log_sql())?;
        let rows = stmt.query_map([to_i64(limit)], audit_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("t.sqlite3")).unwrap();
        (dir, store)
    }

    /// The `detail` column of `EXPLAIN QUERY PLAN`, one line per step.
    fn plan(store: &SqliteStore, sql: &str) -> String {
        let conn = store.reader();
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        // Unbound parameters are NULL, which is fine for planning.
        let mut rows = stmt.raw_query();
        let mut lines = Vec::new();
        while let Some(row) = rows.next().unwrap() {
            lines.push(row.get::<_, String>(3).unwrap());
        }
        lines.join("\n")
    }

    #[test]
    fn plans_leaderboard_walk_an_index_without_sorting() {
        let (_dir, store) = store();
        for (mode, index) in [
            (Mode::Dm, "mode_stats_rating"),
            (Mode::Svl, "mode_stats_survival"),
        ] {
            let plan = plan(&store, &leaderboard_sql(mode));
            assert!(
                plan.contains(&format!("USING INDEX {index} (mode=?)")),
                "{mode}: {plan}"
            );
            assert!(!plan.contains("TEMP B-TREE"), "{mode}: {plan}");
        }
    }

    #[test]
    fn plans_rank_counts_are_index_range_scans() {
        let (_dir, store) = store();
        let rated = plan(&store, rank_sql(Mode::Dm));
        for step in [
            "USING PRIMARY KEY (mode=? AND bucket>?)",
            "USING COVERING INDEX mode_stats_rating (mode=? AND rating>? AND rating<?)",
            "USING COVERING INDEX mode_stats_rating (mode=? AND rating=? AND games>?)",
            "USING COVERING INDEX mode_stats_rating (mode=? AND rating=? AND games=? AND player_id<?)",
        ] {
            assert!(rated.contains(step), "{step}: {rated}");
        }
        let survival = plan(&store, rank_sql(Mode::Svl));
        for step in [
            "USING PRIMARY KEY (mode=? AND bucket>?)",
            "USING COVERING INDEX mode_stats_survival (mode=? AND best_wave=? AND npc_kills>?)",
            "USING COVERING INDEX mode_stats_survival (mode=? AND best_wave=? AND npc_kills=? AND player_id<?)",
        ] {
            assert!(survival.contains(step), "{step}: {survival}");
        }
        for plan in [rated, survival] {
            assert!(!plan.contains("SCAN mode_stats"), "{plan}");
            assert!(!plan.contains("SCAN rank_buckets"), "{plan}");
        }
    }

    /// Stats with the given ordering keys (rating = mu - 3 * sigma).
    fn keyed(mu: f64, sigma: f64, games: i64, best_wave: i64, npc_kills: i64) -> ModeStats {
        ModeStats {
            mu,
            sigma,
            games,
            best_wave,
            npc_kills,
            ..ModeStats::initial(&crate::ratings::TrueSkillParams::default())
        }
    }

    /// Asserts `rank_buckets` holds exactly the per-bucket row counts of
    /// `mode_stats` (buckets computed here, in Rust), and that every rank
    /// equals the player's position in the full leaderboard ordering.
    fn check_buckets_and_ranks(store: &SqliteStore) {
        let mut conn = store.reader();
        let tx = conn.transaction().unwrap();
        let rows: Vec<(i64, String, ModeStats)> = tx
            .prepare(&format!(
                "SELECT s.player_id, s.mode, {STATS_COLUMNS} FROM mode_stats s"
            ))
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, stats_from_row(r, 2)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        let mut expected = std::collections::BTreeMap::<(String, i64), i64>::new();
        for (_, mode, s) in &rows {
            let bucket = if mode == "svl" || mode == "zbr" {
                s.best_wave
            } else {
                (s.rating() * RATING_BUCKETS).floor() as i64
            };
            *expected.entry((mode.clone(), bucket)).or_default() += 1;
        }
        let kept: std::collections::BTreeMap<(String, i64), i64> = tx
            .prepare("SELECT mode, bucket, players FROM rank_buckets")
            .unwrap()
            .query_map([], |r| Ok(((r.get(0)?, r.get(1)?), r.get(2)?)))
            .unwrap()
            .collect::<rusqlite::Result<Vec<_>>>()
            .unwrap()
            .into_iter()
            .filter(|(_, n)| {
                assert!(*n >= 0, "negative bucket count");
                *n != 0
            })
            .collect();
        assert_eq!(kept, expected);
        for mode in Mode::ALL {
            let mut board: Vec<&(i64, String, ModeStats)> =
                rows.iter().filter(|(_, m, _)| m == mode.as_str()).collect();
            board.sort_by(|(a, _, x), (b, _, y)| match mode {
                Mode::Svl => y
                    .best_wave
                    .cmp(&x.best_wave)
                    .then(y.npc_kills.cmp(&x.npc_kills))
                    .then(a.cmp(b)),
                _ => y
                    .rating()
                    .total_cmp(&x.rating())
                    .then(y.games.cmp(&x.games))
                    .then(a.cmp(b)),
            });
            for (at, (player, _, s)) in board.iter().enumerate() {
                assert_eq!(
                    rank(&tx, mode, *player, s).unwrap(),
                    at + 1,
                    "{mode} {player}"
                );
            }
        }
    }

    #[test]
    fn rank_buckets_follow_inserts_upserts_replacements_and_migration() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.sqlite3");
        let key = |i: i64| PlayerKey {
            store: 0,
            id: format!("p{i}"),
        };
        // Keys with exact bucket boundaries (rating 1.0, -0.25), negative
        // ratings, many exact ties, and repeated survival waves.
        let mut seed = 7u64;
        let mut next = |n: u64| {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            ((seed >> 33) % n) as i64
        };
        let mut stats = |i: i64| match i % 4 {
            0 => keyed(4.0, 1.0, next(3), 0, 0),
            1 => keyed(2.75, 1.0, next(3), next(4), next(3)),
            _ => keyed(
                next(40) as f64 / 2.0,
                1.0 + next(16) as f64 / 8.0,
                next(5),
                next(6),
                next(4),
            ),
        };
        // A database from before migration 2, with stats already in it.
        {
            let mut conn = Connection::open(&path).unwrap();
            conn.execute_batch(MIGRATIONS[0]).unwrap();
            conn.pragma_update(None, "user_version", 1).unwrap();
            let tx = conn.transaction().unwrap();
            let mut ids = PlayerIds::default();
            // Version 1's columns (later migrations added some).
            let insert_v1 = |player: i64, mode: Mode, s: &ModeStats| {
                tx.execute(
                    "INSERT INTO mode_stats (player_id, mode, mu, sigma, elo, rating, games, \
                         kills, deaths, wins, losses, draws, captures, best_wave, npc_kills, \
                         npc_deaths, matches, last_updated_ms) \
                     VALUES (?1, ?2, ?3, ?4, 1000, ?5, ?6, 0, 0, 0, 0, 0, 0, ?7, ?8, 0, 0, 0)",
                    params![
                        player,
                        mode.as_str(),
                        s.mu,
                        s.sigma,
                        s.rating(),
                        s.games,
                        s.best_wave,
                        s.npc_kills
                    ],
                )
                .unwrap();
            };
            for i in 0..40 {
                let player = ids.get(&tx, &key(i), 0).unwrap();
                insert_v1(player, Mode::Dm, &stats(i));
                if i % 3 == 0 {
                    insert_v1(player, Mode::Svl, &stats(i));
                }
            }
            tx.commit().unwrap();
        }
        let store = SqliteStore::open(&path).unwrap();
        check_buckets_and_ranks(&store);
        // New rows and upserts over existing ones, crossing buckets or not.
        {
            let mut conn = store.writer();
            let tx = conn.transaction().unwrap();
            let mut ids = PlayerIds::default();
            for round in 0..3 {
                for i in 20..60 {
                    let player = ids.get(&tx, &key(i), round).unwrap();
                    for mode in [Mode::Dm, Mode::Tdm, Mode::Svl] {
                        upsert_stats(&tx, player, mode, &stats(i + round)).unwrap();
                    }
                }
            }
            tx.commit().unwrap();
        }
        check_buckets_and_ranks(&store);
        // A rerate: the mode's stats deleted and written again.
        let rerated: Vec<_> = (10..50).map(|i| (key(i), stats(i))).collect();
        store.replace_ratings(Mode::Dm, &[], &rerated).unwrap();
        store.replace_ratings(Mode::Svl, &[], &rerated).unwrap();
        check_buckets_and_ranks(&store);
        store.replace_ratings(Mode::Tdm, &[], &[]).unwrap();
        check_buckets_and_ranks(&store);
    }

    #[test]
    fn plans_name_search_uses_the_trigram_index() {
        let (_dir, store) = store();
        let trigram = plan(&store, &trigram_sql());
        assert!(
            trigram.contains("SCAN player_names_fts VIRTUAL TABLE INDEX"),
            "{trigram}"
        );
        assert!(
            trigram.contains("SEARCH p USING INTEGER PRIMARY KEY"),
            "{trigram}"
        );
        let exact = plan(&store, &find_sql(BY_PROFILE));
        assert!(
            exact.contains("USING INDEX sqlite_autoindex_players_1 (profile=?)"),
            "{exact}"
        );
    }

    #[test]
    fn plans_audit_log_walks_the_time_index_without_sorting() {
        let (_dir, store) = store();
        let plan = plan(&store, &audit_log_sql());
        assert!(plan.contains("SCAN audit USING INDEX audit_time"), "{plan}");
        assert!(!plan.contains("TEMP B-TREE"), "{plan}");
    }

    #[test]
    fn audit_user_ids_beyond_i64_are_errors_not_panics() {
        let (_dir, store) = store();
        let record = AuditRecord {
            time_ms: 1,
            user_id: u64::MAX,
            user_name: "u".into(),
            server: "s".into(),
            command: "say hi".into(),
            allowed: true,
            result: "ok".into(),
        };
        assert!(matches!(
            store.record_audit(&record),
            Err(StoreError::Backend(_))
        ));
        store
            .writer()
            .execute_batch(
                "INSERT INTO audit (time_ms, user_id, user_name, server, command, allowed, result) \
                 VALUES (2, -5, 'u', 's', 'c', 1, 'r')",
            )
            .unwrap();
        assert!(matches!(store.audit_log(10), Err(StoreError::Corrupt(_))));
    }

    #[test]
    fn a_bad_fact_row_is_corrupt_not_a_panic() {
        let (_dir, store) = store();
        store
            .writer()
            .execute_batch(
                "INSERT INTO facts (seq, server, mode, time_ms, kind, data) \
                 VALUES (1, 's', 'dm', 0, 'kill', '{\"type\":\"nonsense\"}')",
            )
            .unwrap();
        assert!(matches!(store.facts(Mode::Dm), Err(StoreError::Corrupt(_))));
        store
            .writer()
            .execute_batch(
                "INSERT INTO players (id, store, profile, first_seen_ms, last_seen_ms) VALUES (1, 0, 'p', 0, 0); \
                 INSERT INTO mode_stats VALUES (1, 'xx', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)",
            )
            .unwrap();
        let key = PlayerKey {
            store: 0,
            id: "p".into(),
        };
        assert!(matches!(store.profile(&key), Err(StoreError::Corrupt(_))));
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.sqlite3");
        drop(SqliteStore::open(&path).unwrap());
        Connection::open(&path)
            .unwrap()
            .pragma_update(None, "user_version", 99)
            .unwrap();
        let err = SqliteStore::open(&path).unwrap_err();
        assert!(err.to_string().contains("newer"), "{err}");
    }
}
