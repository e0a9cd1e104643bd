//! Linked accounts (the `account_links` table of migration 7).

use super::*;
use rusqlite::{params, Row};

const LINK_COLUMNS: &str = "user_id, user_name, store, profile, player_name, linked_ms";

fn link_from_row(row: &Row<'_>) -> StoreResult<AccountLink> {
    Ok(AccountLink {
        user_id: user_id_from_i64(row.get(0)?)?,
        user_name: row.get(1)?,
        player: PlayerKey {
            store: row.get(2)?,
            id: row.get(3)?,
        },
        player_name: row.get(4)?,
        linked_ms: row.get(5)?,
    })
}

fn select(
    conn: &Connection,
    filter: &str,
    args: impl rusqlite::Params,
) -> StoreResult<Vec<AccountLink>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {LINK_COLUMNS} FROM account_links {filter} ORDER BY linked_ms, rowid"
    ))?;
    let mut rows = stmt.query(args)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(link_from_row(row)?);
    }
    Ok(out)
}

/// The user's and the profile's earlier links go in the same transaction
/// as the new one lands, so both sides stay in one link each.
pub(super) fn link_account(
    conn: &mut Connection,
    link: &AccountLink,
) -> StoreResult<Vec<AccountLink>> {
    check_link(link)?;
    let user_id = user_id_to_i64(link.user_id)?;
    let tx = conn.transaction()?;
    let mine = "WHERE user_id = ?1 OR (profile = ?2 AND store = ?3)";
    let replaced = select(
        &tx,
        mine,
        params![user_id, link.player.id, link.player.store],
    )?;
    tx.prepare_cached(&format!("DELETE FROM account_links {mine}"))?
        .execute(params![user_id, link.player.id, link.player.store])?;
    tx.prepare_cached(&format!(
        "INSERT INTO account_links ({LINK_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
    ))?
    .execute(params![
        user_id,
        link.user_name,
        link.player.store,
        link.player.id,
        link.player_name,
        link.linked_ms,
    ])?;
    tx.commit()?;
    Ok(replaced)
}

pub(super) fn unlink_account(
    conn: &mut Connection,
    user_id: u64,
) -> StoreResult<Option<AccountLink>> {
    let user_id = user_id_to_i64(user_id)?;
    let tx = conn.transaction()?;
    let old = select(&tx, "WHERE user_id = ?1", params![user_id])?.pop();
    tx.prepare_cached("DELETE FROM account_links WHERE user_id = ?1")?
        .execute(params![user_id])?;
    tx.commit()?;
    Ok(old)
}

pub(super) fn account_link(conn: &Connection, user_id: u64) -> StoreResult<Option<AccountLink>> {
    Ok(select(
        conn,
        "WHERE user_id = ?1",
        params![user_id_to_i64(user_id)?],
    )?
    .pop())
}

pub(super) fn account_links(conn: &Connection) -> StoreResult<Vec<AccountLink>> {
    select(conn, "", [])
}
