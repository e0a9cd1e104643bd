//! Column lists and the row mappers that read them, kept side by side so a
//! list and its reader cannot drift apart; plus the conversions between
//! SQLite's signed integers and bman's types.

use super::*;
use rusqlite::types::ToSql;
use rusqlite::Row;

impl From<rusqlite::Error> for StoreError {
    /// Type mismatches mean rows bman did not write the way it reads them.
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::Error as E;
        match e {
            E::FromSqlConversionFailure(..)
            | E::InvalidColumnType(..)
            | E::IntegralValueOutOfRange(..) => StoreError::Corrupt(e.to_string()),
            _ => StoreError::Sqlite(e),
        }
    }
}

pub(super) fn parse_mode(s: &str) -> StoreResult<Mode> {
    s.parse().map_err(StoreError::Corrupt)
}

pub(super) fn to_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

pub(super) fn offset_to_sql(offset: u64) -> StoreResult<i64> {
    i64::try_from(offset)
        .map_err(|_| StoreError::Backend(format!("journal offset {offset} is too large to store")))
}

pub(super) fn offset_from_sql(offset: i64) -> StoreResult<u64> {
    u64::try_from(offset)
        .map_err(|_| StoreError::Corrupt(format!("negative journal offset {offset}")))
}

/// Builds everything that names the stored [`ModeStats`] fields from one
/// list of them: [`STATS_COLUMNS`], [`UPSERT_STATS`], [`stats_from_row`] and
/// [`stats_params`]. Each `mode_stats` column is named like its field. The
/// reader is a struct literal without `..`, so a field missing from the list
/// does not compile.
macro_rules! stats_columns {
    ($first:ident $(, $field:ident)* $(,)?) => {
        /// `mode_stats` columns in [`ModeStats`] field order, as [`stats_from_row`] reads them.
        pub(super) const STATS_COLUMNS: &str =
            concat!("s.", stringify!($first) $(, ", s.", stringify!($field))*);

        /// Writes absolute stats: ?1 player id, ?2 mode, ?3 the stored
        /// leaderboard `rating`, then [`stats_params`].
        pub(super) const UPSERT_STATS: &str = concat!(
            "INSERT INTO mode_stats (player_id, mode, rating, ",
            stringify!($first) $(, ", ", stringify!($field))*,
            ") VALUES (?, ?, ?, ?", $(stats_columns!(@placeholder $field),)*
            ") ON CONFLICT (player_id, mode) DO UPDATE SET rating = excluded.rating",
            ", ", stringify!($first), " = excluded.", stringify!($first)
            $(, ", ", stringify!($field), " = excluded.", stringify!($field))*
        );

        /// Reads [`STATS_COLUMNS`] starting at column `at`.
        pub(super) fn stats_from_row(row: &Row<'_>, at: usize) -> rusqlite::Result<ModeStats> {
            let mut column = at;
            let mut next = || {
                column += 1;
                column - 1
            };
            Ok(ModeStats {
                $first: row.get(next())?,
                $($field: row.get(next())?,)*
            })
        }

        /// The values [`UPSERT_STATS`] binds after its first three, in list order.
        pub(super) fn stats_params(s: &ModeStats) -> impl Iterator<Item = &dyn ToSql> {
            [&s.$first as &dyn ToSql $(, &s.$field)*].into_iter()
        }
    };
    (@placeholder $field:ident) => {
        ", ?"
    };
}

// A new stat is its `ModeStats` field (src/model/stats.rs), its name in this
// list, and a migration appended to `schema::MIGRATIONS` that adds the column
// (the `stats_columns_are_the_tables` unit test catches a missing one).
stats_columns!(
    mu,
    sigma,
    volatility,
    elo,
    games,
    kills,
    deaths,
    wins,
    losses,
    draws,
    captures,
    best_wave,
    npc_kills,
    npc_deaths,
    matches,
    escapes,
    last_updated_ms,
);

/// A player's display name: the latest name, or the profile id for a player
/// known only from facts (never seen with a name).
pub(super) const SUMMARY_COLUMNS: &str = "p.store, p.profile, coalesce(p.name, p.profile)";

/// Reads `store, profile, display name` starting at column `at`.
pub(super) fn summary_from_row(row: &Row<'_>, at: usize) -> rusqlite::Result<PlayerSummary> {
    Ok(PlayerSummary {
        key: PlayerKey {
            store: row.get(at)?,
            id: row.get(at + 1)?,
        },
        name: row.get(at + 2)?,
    })
}

/// `SELECT`s the row id, the summary and the attributes the profile and the
/// export both show, in the order [`player_from_row`] reads them, from
/// `players p` and then `rest` (a `WHERE` and/or `ORDER BY`).
pub(super) fn players_sql(rest: &str) -> String {
    format!(
        "SELECT p.id, {SUMMARY_COLUMNS}, p.color, p.premium, p.hat, p.clan_id, p.clan_tag, \
             p.first_seen_ms, p.last_seen_ms, p.level FROM players p {rest}"
    )
}

/// Reads a [`players_sql`] row: the row id and the player without names and IPs.
pub(super) fn player_from_row(r: &Row<'_>) -> rusqlite::Result<(i64, PlayerExport)> {
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
}

/// `audit` columns in [`AuditRecord`] field order, as [`audit_from_row`] reads them.
pub(super) const AUDIT_COLUMNS: &str =
    "time_ms, user_id, user_name, server, command, allowed, result";

/// Reads [`AUDIT_COLUMNS`]; a negative `user_id` is out of range, so corrupt.
pub(super) fn audit_from_row(row: &Row<'_>) -> rusqlite::Result<AuditRecord> {
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

/// `rating_changes` value columns in [`RatingChange`] field order, as
/// [`change_from_row`] reads them (the table's alias is `c`).
pub(super) const CHANGE_COLUMNS: &str =
    "c.mu, c.sigma, c.elo, c.delta_mu, c.delta_sigma, c.delta_elo";

/// Reads [`CHANGE_COLUMNS`] starting at column `at`.
pub(super) fn change_from_row(row: &Row<'_>, at: usize) -> rusqlite::Result<RatingChange> {
    Ok(RatingChange {
        mu: row.get(at)?,
        sigma: row.get(at + 1)?,
        elo: row.get(at + 2)?,
        delta_mu: row.get(at + 3)?,
        delta_sigma: row.get(at + 4)?,
        delta_elo: row.get(at + 5)?,
    })
}
