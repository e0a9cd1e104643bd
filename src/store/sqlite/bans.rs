//! Community bans (the `bans` table of migration 5) and the shared-IP
//! query behind `/whois`.

use super::*;
use rusqlite::{params, Row};

const BAN_COLUMNS: &str = "store, profile, name, reason, by_user_id, by_name, created_ms, \
     until_ms, servers, lifted_by_user_id, lifted_by_name, lifted_ms";

/// Active at ?1: not lifted, and permanent or not yet over.
const ACTIVE_AT: &str = "lifted_ms IS NULL AND (until_ms IS NULL OR until_ms > ?1)";

fn user_id_param(id: Option<u64>) -> StoreResult<Option<i64>> {
    id.map(user_id_to_i64).transpose()
}

fn user_id_column(row: &Row<'_>, at: usize) -> StoreResult<Option<u64>> {
    row.get::<_, Option<i64>>(at)?
        .map(user_id_from_i64)
        .transpose()
}

pub(super) fn add_ban(conn: &Connection, ban: &Ban) -> StoreResult<()> {
    check_ban(ban)?;
    let servers = serde_json::to_string(&ban.servers)
        .map_err(|e| StoreError::Backend(format!("ban scope: {e}")))?;
    let lifted = ban.lifted.as_ref();
    conn.prepare_cached(&format!(
        "INSERT INTO bans ({BAN_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
    ))?
    .execute(params![
        ban.player.store,
        ban.player.id,
        ban.name,
        ban.reason,
        user_id_param(ban.by.user_id)?,
        ban.by.name,
        ban.created_ms,
        ban.until_ms,
        servers,
        user_id_param(lifted.and_then(|l| l.by.user_id))?,
        lifted.map(|l| &l.by.name),
        lifted.map(|l| l.at_ms),
    ])?;
    Ok(())
}

pub(super) fn lift_bans(
    conn: &Connection,
    player: &PlayerKey,
    lift: &BanLift,
) -> StoreResult<usize> {
    let changed = conn
        .prepare_cached(&format!(
            "UPDATE bans SET lifted_by_user_id = ?4, lifted_by_name = ?5, lifted_ms = ?1 \
             WHERE profile = ?2 AND store = ?3 AND {ACTIVE_AT}"
        ))?
        .execute(params![
            lift.at_ms,
            player.id,
            player.store,
            user_id_param(lift.by.user_id)?,
            lift.by.name,
        ])?;
    Ok(changed)
}

fn ban_from_row(row: &Row<'_>) -> StoreResult<Ban> {
    let servers: String = row.get(8)?;
    let lifted = match row.get::<_, Option<i64>>(11)? {
        Some(at_ms) => Some(BanLift {
            by: BanActor {
                user_id: user_id_column(row, 9)?,
                name: row.get::<_, Option<String>>(10)?.unwrap_or_default(),
            },
            at_ms,
        }),
        None => None,
    };
    Ok(Ban {
        player: PlayerKey {
            store: row.get(0)?,
            id: row.get(1)?,
        },
        name: row.get(2)?,
        reason: row.get(3)?,
        by: BanActor {
            user_id: user_id_column(row, 4)?,
            name: row.get(5)?,
        },
        created_ms: row.get(6)?,
        until_ms: row.get(7)?,
        servers: serde_json::from_str(&servers)
            .map_err(|e| StoreError::Corrupt(format!("ban scope {servers:?}: {e}")))?,
        lifted,
    })
}

pub(super) fn bans(conn: &Connection, query: &BanQuery) -> StoreResult<Vec<Ban>> {
    // ?1 is always bound (ACTIVE_AT reads it); a filter left out is `?n IS NULL`.
    let sql = format!(
        "SELECT {BAN_COLUMNS} FROM bans \
         WHERE (?2 IS NULL OR (profile = ?2 AND store = ?3)) \
           AND (?4 = 0 OR ({ACTIVE_AT})) \
         ORDER BY created_ms DESC, id DESC LIMIT ?5 OFFSET ?6"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params![
        query.active_at_ms.unwrap_or(0),
        query.player.as_ref().map(|k| &k.id),
        query.player.as_ref().map(|k| k.store),
        query.active_at_ms.is_some(),
        to_i64(query.limit),
        to_i64(query.offset),
    ])?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(ban_from_row(row)?);
    }
    Ok(out)
}

pub(super) fn ip_neighbours(
    conn: &Connection,
    player: &PlayerKey,
    since_ms: i64,
    limit: usize,
) -> StoreResult<Vec<IpNeighbour>> {
    let sql = format!(
        "SELECT {SUMMARY_COLUMNS}, p.last_seen_ms, theirs.ip \
         FROM players me \
         JOIN player_ips mine ON mine.player_id = me.id \
         JOIN player_ips theirs ON theirs.ip = mine.ip AND theirs.player_id != me.id \
         JOIN players p ON p.id = theirs.player_id \
         WHERE me.profile = ?1 AND me.store = ?2 AND p.last_seen_ms >= ?3 \
         ORDER BY p.last_seen_ms DESC, p.id DESC, theirs.ip"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![player.id, player.store, since_ms], |row| {
        Ok((
            summary_from_row(row, 0)?,
            row.get::<_, i64>(3)?,
            row.get::<_, String>(4)?,
        ))
    })?;
    let mut out: Vec<IpNeighbour> = Vec::new();
    for row in rows {
        let (summary, last_seen_ms, ip) = row?;
        if let Some(last) = out.last_mut().filter(|l| l.player.key == summary.key) {
            last.shared_ips.push(ip);
        } else if out.len() == limit {
            break;
        } else {
            out.push(IpNeighbour {
                player: summary,
                shared_ips: vec![ip],
                last_seen_ms,
            });
        }
    }
    Ok(out)
}
