//! Reads, all on the reader connection: the leaderboard and rank, player
//! search and profile, rating history, facts for rerate, and what `bman
//! migrate` and `bman repair` read. The SQL builders are separate functions
//! so the `plans_*` unit tests can check their query plans.

use super::schema::RATING_BUCKETS;
use super::*;
use rusqlite::{params, OptionalExtension, Transaction};

/// Substring queries shorter than this (in characters) cannot use the trigram index.
const TRIGRAM: usize = 3;

/// The latest ?1 audit records: `audit_time` walked backwards, no sort step
/// (a `plans_*` unit test pins that).
pub(super) fn audit_log_sql() -> String {
    format!("SELECT {AUDIT_COLUMNS} FROM audit ORDER BY time_ms DESC, id DESC LIMIT ?1")
}

/// A mode's leaderboard page. Each ordering matches one index column for
/// column (`mode_stats_rating`, `mode_stats_survival`), so a page is an index
/// range scan that stops after `offset + limit` matching rows, with no sort
/// step (the `min_games` filter is checked on the index entry itself); the
/// `plans_*` unit tests pin that.
pub(super) fn leaderboard_sql(mode: Mode) -> String {
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
pub(super) const BY_PROFILE: &str = "p.profile = ?1";

/// Name matches from the trigram index. `CROSS JOIN` fixes the join order:
/// the few matching names drive the lookup, and only they are sorted. Left to
/// itself the planner walks `players_last_seen` for the ORDER BY ... LIMIT and
/// probes each player, which reads every player when there are few matches.
pub(super) fn trigram_sql() -> String {
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
pub(super) fn find_sql(filter: &str) -> String {
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
pub(super) fn rank_sql(mode: Mode) -> &'static str {
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
pub(super) fn rank(
    tx: &Transaction<'_>,
    mode: Mode,
    player: i64,
    s: &ModeStats,
) -> StoreResult<usize> {
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

pub(super) fn next_seq(conn: &Connection) -> StoreResult<i64> {
    // max(rowid) is one step to the end of the table's b-tree.
    Ok(conn
        .prepare_cached("SELECT coalesce(max(seq), 0) + 1 FROM facts")?
        .query_row([], |r| r.get(0))?)
}

pub(super) fn load_stats(
    conn: &mut Connection,
    mode: Mode,
    keys: &[PlayerKey],
) -> StoreResult<HashMap<PlayerKey, ModeStats>> {
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

pub(super) fn checkpoint(
    conn: &Connection,
    server: &str,
    epoch: i64,
) -> StoreResult<Option<Checkpoint>> {
    let row = conn
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

pub(super) fn leaderboard(
    conn: &Connection,
    query: &LeaderboardQuery,
) -> StoreResult<Vec<LeaderboardRow>> {
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
pub(super) fn find_players(
    conn: &mut Connection,
    query: &str,
    limit: usize,
) -> StoreResult<Vec<PlayerSummary>> {
    if limit == 0 {
        return Ok(Vec::new());
    }
    let limit = to_i64(limit);
    let tx = conn.transaction()?;
    let collect = |sql: &str, params: &[&dyn rusqlite::ToSql]| -> StoreResult<Vec<PlayerSummary>> {
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

pub(super) fn profile(
    conn: &mut Connection,
    key: &PlayerKey,
) -> StoreResult<Option<PlayerProfile>> {
    let tx = conn.transaction()?;
    let Some((id, p)) = tx
        .prepare_cached(&players_sql("WHERE p.profile = ?1 AND p.store = ?2"))?
        .query_row(params![key.id, key.store], player_from_row)
        .optional()?
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
        player: PlayerSummary {
            key: p.key,
            name: p.display_name,
        },
        names,
        color: p.color,
        premium: p.premium,
        hat: p.hat,
        clan_id: p.clan_id,
        clan_tag: p.clan_tag,
        first_seen_ms: p.first_seen_ms,
        last_seen_ms: p.last_seen_ms,
        level: p.level,
        modes,
    }))
}

/// A player's (?1 profile, ?2 store) rating changes in mode ?3, oldest first.
/// `INDEXED BY`: without statistics SQLite walks the whole mode's changes
/// in primary-key order to skip a sort (tens of ms on a big store); the
/// player index already yields (seq, idx) order.
pub(super) fn rating_history_sql() -> String {
    format!(
        "SELECT c.seq, f.time_ms, {CHANGE_COLUMNS} \
         FROM players p \
         JOIN rating_changes c INDEXED BY rating_changes_player \
             ON c.player_id = p.id AND c.mode = ?3 \
         JOIN facts f ON f.seq = c.seq \
         WHERE p.profile = ?1 AND p.store = ?2 \
         ORDER BY c.seq, c.idx"
    )
}

pub(super) fn rating_history(
    conn: &Connection,
    key: &PlayerKey,
    mode: Mode,
) -> StoreResult<Vec<RatingPoint>> {
    let mut stmt = conn.prepare_cached(&rating_history_sql())?;
    let rows = stmt.query_map(params![key.id, key.store, mode.as_str()], |r| {
        Ok(RatingPoint {
            seq: r.get(0)?,
            time_ms: r.get(1)?,
            change: change_from_row(r, 2)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The kills by ?2/?4 (profile, store) of ?3/?5 in mode ?1. The expressions
/// are those of the `facts_kill_pair` index (schema migration 8), so the
/// count is an index range of exactly those kills.
pub(super) const KILLS_BETWEEN_SQL: &str = "SELECT count(*) FROM facts \
     WHERE kind = 'kill' AND mode = ?1 \
     AND json_extract(data, '$.killer.id') = ?2 AND json_extract(data, '$.victim.id') = ?3 \
     AND json_extract(data, '$.killer.store') = ?4 AND json_extract(data, '$.victim.store') = ?5";

pub(super) fn kills_between(
    conn: &mut Connection,
    a: &PlayerKey,
    b: &PlayerKey,
    mode: Mode,
) -> StoreResult<HeadToHead> {
    // One read transaction: both directions see the same facts.
    let tx = conn.transaction()?;
    let pair = {
        let mut stmt = tx.prepare_cached(KILLS_BETWEEN_SQL)?;
        let mut count = |killer: &PlayerKey, victim: &PlayerKey| {
            stmt.query_row(
                params![
                    mode.as_str(),
                    killer.id,
                    victim.id,
                    killer.store,
                    victim.store
                ],
                |r| r.get::<_, i64>(0),
            )
        };
        HeadToHead {
            kills: count(a, b)?,
            deaths: count(b, a)?,
        }
    };
    tx.commit()?;
    Ok(pair)
}

pub(super) fn fact_page(
    conn: &Connection,
    mode: Mode,
    after_seq: i64,
    limit: usize,
) -> StoreResult<Vec<(i64, FactRecord)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT seq, server, time_ms, match_id, data FROM facts \
         WHERE mode = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
    )?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let mut rows = stmt.query(params![mode.as_str(), after_seq, limit])?;
    let mut page = Vec::new();
    while let Some(r) = rows.next()? {
        page.push(fact_row(r, mode)?);
    }
    Ok(page)
}

/// A `SELECT seq, server, time_ms, match_id, data FROM facts` row.
fn fact_row(r: &rusqlite::Row<'_>, mode: Mode) -> StoreResult<(i64, FactRecord)> {
    let seq: i64 = r.get(0)?;
    let data: String = r.get(4)?;
    let fact = serde_json::from_str(&data)
        .map_err(|e| StoreError::Corrupt(format!("fact {seq} is not a valid fact: {e}")))?;
    let record = FactRecord {
        server: r.get(1)?,
        mode,
        time_ms: r.get(2)?,
        match_id: r.get(3)?,
        fact,
    };
    Ok((seq, record))
}

pub(super) fn facts(conn: &mut Connection, mode: Mode) -> StoreResult<Vec<StoredFact>> {
    let tx = conn.transaction()?;
    let mut facts = Vec::new();
    {
        let mut stmt = tx.prepare_cached(
            "SELECT seq, server, time_ms, match_id, data FROM facts WHERE mode = ?1 ORDER BY seq",
        )?;
        let mut rows = stmt.query([mode.as_str()])?;
        while let Some(r) = rows.next()? {
            let (seq, record) = fact_row(r, mode)?;
            facts.push(StoredFact {
                seq,
                record,
                changes: Vec::new(),
            });
        }
    }
    {
        // Both lists come in seq order, so a cursor into `facts` pairs them.
        let mut stmt = tx.prepare_cached(&format!(
            "SELECT c.seq, p.store, p.profile, {CHANGE_COLUMNS} \
             FROM rating_changes c JOIN players p ON p.id = c.player_id \
             WHERE c.mode = ?1 ORDER BY c.seq, c.idx"
        ))?;
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

pub(super) fn export_players(conn: &mut Connection) -> StoreResult<Vec<PlayerExport>> {
    let tx = conn.transaction()?;
    let mut players: Vec<(i64, PlayerExport)> = tx
        .prepare(&players_sql("ORDER BY p.id"))?
        .query_map([], player_from_row)?
        .collect::<rusqlite::Result<_>>()?;
    let at: HashMap<i64, usize> = players
        .iter()
        .enumerate()
        .map(|(i, (id, _))| (*id, i))
        .collect();
    for (sql, names) in [
        (
            "SELECT player_id, name, first_used_ms FROM player_names ORDER BY first_used_ms, id",
            true,
        ),
        (
            "SELECT player_id, ip, first_used_ms FROM player_ips ORDER BY first_used_ms, ip",
            false,
        ),
    ] {
        let mut stmt = tx.prepare(sql)?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let player = &mut players[at[&r.get::<_, i64>(0)?]].1;
            let list = if names {
                &mut player.names
            } else {
                &mut player.ips
            };
            list.push((r.get(1)?, r.get(2)?));
        }
    }
    Ok(players.into_iter().map(|(_, p)| p).collect())
}

pub(super) fn bot_players(conn: &Connection) -> StoreResult<Vec<PlayerKey>> {
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

pub(super) fn checkpoints(conn: &Connection) -> StoreResult<Vec<Checkpoint>> {
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

pub(super) fn audit_log(conn: &Connection, limit: usize) -> StoreResult<Vec<AuditRecord>> {
    let mut stmt = conn.prepare_cached(&audit_log_sql())?;
    let rows = stmt.query_map([to_i64(limit)], audit_from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
