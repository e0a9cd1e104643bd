//! Unit tests that need the backend's insides: query plans, the
//! trigger-kept rank buckets across a migration, the stats column list
//! against the table, and corrupt rows.

use super::queries::*;
use super::schema::*;
use super::write::*;
use super::*;
use rusqlite::types::ToSql;
use rusqlite::{params, params_from_iter};

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
fn plans_rating_history_is_the_players_index_range() {
    let (_dir, store) = store();
    let plan = plan(&store, &rating_history_sql());
    assert!(
        plan.contains("USING INDEX rating_changes_player (player_id=? AND mode=?)"),
        "{plan}"
    );
    assert!(!plan.contains("TEMP B-TREE"), "{plan}");
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
fn plans_head_to_head_is_an_index_range() {
    let (_dir, store) = store();
    let with = plan(&store, KILLS_BETWEEN_SQL);
    assert!(
        with.contains("USING INDEX facts_kill_pair (mode=? AND <expr>=? AND <expr>=?)"),
        "{with}"
    );
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
    let conn = store.writer();
    conn.execute_batch(
        "INSERT INTO players (id, store, profile, first_seen_ms, last_seen_ms) VALUES (1, 0, 'p', 0, 0)",
    )
    .unwrap();
    // Stats of a mode bman does not know.
    let zero = keyed(0.0, 0.0, 0, 0, 0);
    let first: [&dyn ToSql; 3] = [&1, &"xx", &0.0];
    conn.execute(
        UPSERT_STATS,
        params_from_iter(first.into_iter().chain(stats_params(&zero))),
    )
    .unwrap();
    drop(conn);
    let key = PlayerKey {
        store: 0,
        id: "p".into(),
    };
    assert!(matches!(store.profile(&key), Err(StoreError::Corrupt(_))));
}

/// Every stat has its column, and every `mode_stats` column but the key and
/// the derived `rating` is a stat: the migration adding a stat's column was
/// not forgotten.
#[test]
fn stats_columns_are_the_tables() {
    let (_dir, store) = store();
    let mut table: Vec<String> = store
        .reader()
        .prepare("SELECT name FROM pragma_table_info('mode_stats')")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    table.retain(|c| !["player_id", "mode", "rating"].contains(&c.as_str()));
    table.sort();
    let mut listed: Vec<&str> = STATS_COLUMNS
        .split(", ")
        .map(|c| c.strip_prefix("s.").unwrap())
        .collect();
    listed.sort();
    assert_eq!(listed, table);
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
