//! The schema, built by [`MIGRATIONS`] and upgraded in place by [`migrate`].
//!
//! # Tables (migration 1 unless noted)
//! - `players`: one row per (store, profile) with the latest name, colour, hat,
//!   clan and premium flag and first/last seen times. `UNIQUE(profile, store)`
//!   puts `profile` first so the same index serves exact id lookups across stores.
//! - `player_names` / `player_ips`: the sets of names and IPs a player used.
//!   Names keep a Rust-lowercased copy (`name_lower`) for case-insensitive search.
//! - `player_names_fts`: a contentless FTS5 trigram index over `name_lower`,
//!   kept in sync by a trigger, for substring search (see [`super::queries::find_players`]).
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
//! - `bans` (migration 5): community bans, keyed by (store, profile) rather
//!   than `players.id` so a ban outlives whatever happens to the player row;
//!   `servers` is a JSON list (empty: every server); the `lifted_*` columns
//!   are NULL until lifted. `player_ips_ip` serves `/whois`'s shared-IP query.
//! - Migration 6: `mode_stats.volatility`, Glicko-2's third number.
//! - `account_links` (migration 7): Discord users linked to game profiles,
//!   one row per user and at most one per (profile, store), keyed like bans.
//! - `facts_kill_pair` (migration 8): kills by (mode, killer id, victim id),
//!   an expression index over the fact JSON, for `/matchup`'s head-to-head.
//!
//! Migrations are keyed by `PRAGMA user_version`: [`MIGRATIONS`]`[i]` brings a
//! database from version `i` to `i + 1`, inside one transaction. Later changes
//! append to that list; never edit an applied entry: files written by earlier
//! releases (tests/data/previous_release/) must keep opening.

use super::*;
use rusqlite::TransactionBehavior;

/// Schema migrations in order; see the module docs.
pub(super) const MIGRATIONS: &[&str] = &[
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
    r#"
CREATE TABLE bans (
    id INTEGER PRIMARY KEY,
    store INTEGER NOT NULL,
    profile TEXT NOT NULL,
    name TEXT NOT NULL,
    reason TEXT NOT NULL,
    by_user_id INTEGER,
    by_name TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    until_ms INTEGER,
    servers TEXT NOT NULL,
    lifted_by_user_id INTEGER,
    lifted_by_name TEXT,
    lifted_ms INTEGER
);
CREATE INDEX bans_player ON bans (profile, store, created_ms);
CREATE INDEX bans_created ON bans (created_ms);
CREATE INDEX player_ips_ip ON player_ips (ip);
"#,
    "ALTER TABLE mode_stats ADD COLUMN volatility REAL NOT NULL DEFAULT 0.06;",
    r#"
CREATE TABLE account_links (
    user_id INTEGER PRIMARY KEY,
    user_name TEXT NOT NULL,
    store INTEGER NOT NULL,
    profile TEXT NOT NULL,
    player_name TEXT NOT NULL,
    linked_ms INTEGER NOT NULL,
    UNIQUE (profile, store)
);
"#,
    "CREATE INDEX facts_kill_pair ON facts \
     (mode, json_extract(data, '$.killer.id'), json_extract(data, '$.victim.id')) \
     WHERE kind = 'kill';",
];

/// Rated modes' `rank_buckets` bucket width is `1 / RATING_BUCKETS` rating
/// points: a rating's bucket is `floor(rating * RATING_BUCKETS)`, the
/// `CAST(...) - (... < CAST(...))` expression of migration 2 (exact, since
/// multiplying by a power of two is).
pub(super) const RATING_BUCKETS: f64 = 4.0;

/// Applies every migration the database has not seen yet, each in its own
/// transaction with the version bump, so a crash leaves a consistent version.
/// Returns the version it found and the one it migrated to, if any.
pub(super) fn migrate(conn: &mut Connection) -> StoreResult<(usize, Option<usize>)> {
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
