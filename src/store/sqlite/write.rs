//! Writes: a batch, rerate's replacement, player removal and audit records,
//! on the writer connection, each atomic (one IMMEDIATE transaction, or one
//! statement).

use super::*;
use rusqlite::types::ToSql;
use rusqlite::{params, params_from_iter, OptionalExtension, Transaction, TransactionBehavior};

pub(super) fn apply(conn: &mut Connection, batch: &WriteBatch) -> StoreResult<()> {
    if batch.is_empty() {
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut ids = PlayerIds::default();
    for seen in &batch.players {
        ids.seen(&tx, seen)?;
    }
    for fact in &batch.facts {
        let record = &fact.record;
        let data = serde_json::to_string(&record.fact)
            .map_err(|e| StoreError::Backend(format!("cannot encode fact {}: {e}", fact.seq)))?;
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
            record.fact.kind(),
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

pub(super) fn replace_ratings(
    conn: &mut Connection,
    mode: Mode,
    facts: &[StoredFact],
    stats: &[(PlayerKey, ModeStats)],
) -> StoreResult<()> {
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

pub(super) fn remove_players(conn: &mut Connection, keys: &[PlayerKey]) -> StoreResult<usize> {
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

pub(super) fn record_audit(conn: &Connection, r: &AuditRecord) -> StoreResult<()> {
    conn.prepare_cached(&format!(
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

/// Player ids resolved within one write transaction. Scoped to the
/// transaction so a rollback cannot leave ids of rows that no longer exist.
#[derive(Default)]
pub(super) struct PlayerIds(HashMap<PlayerKey, i64>);

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
    pub(super) fn get(
        &mut self,
        tx: &Transaction<'_>,
        key: &PlayerKey,
        seen_ms: i64,
    ) -> StoreResult<i64> {
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
pub(super) fn upsert_stats(
    tx: &Transaction<'_>,
    player: i64,
    mode: Mode,
    s: &ModeStats,
) -> StoreResult<()> {
    let rating = s.rating();
    let first: [&dyn ToSql; 3] = [&player, &mode.as_str(), &rating];
    tx.prepare_cached(UPSERT_STATS)?
        .execute(params_from_iter(first.into_iter().chain(stats_params(s))))?;
    Ok(())
}
