//! What the conformance checks and tests/store_migrations.rs share:
//! builders for players, stats, facts and audit records, and openers for
//! fresh stores.
#![allow(dead_code)] // each test binary uses a different subset

use bman::model::*;
use bman::store::*;

/// A string that breaks naive SQL, JSON, LIKE patterns and Discord mentions.
pub const HOSTILE: &str = "@everyone \"└┐ '; DROP TABLE players; -- %_\\ \u{0}é";

/// A fresh, empty MongoDB store: the URI's database with `suffix` and a
/// per-run stamp appended, so checks and reruns never share data.
pub fn open_mongo(base: &str, suffix: &str) -> Box<dyn Store> {
    let uri = crate::common::unique_mongo_url(base, suffix);
    match bman::store::open(&uri) {
        Ok(store) => store,
        Err(e) => {
            panic!("BMAN_TEST_MONGODB_URI is set but the MongoDB store cannot be opened: {e}")
        }
    }
}

/// Inserts documents as they are, past the store, into `uri`'s database.
pub fn insert_raw(uri: &str, collections: &[(&str, Vec<mongodb::bson::Document>)]) {
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let client = mongodb::Client::with_uri_str(uri).await.unwrap();
        let db = client.default_database().unwrap();
        for (collection, docs) in collections {
            let collection = db.collection::<mongodb::bson::Document>(collection);
            collection.insert_many(docs).await.unwrap();
        }
        client.shutdown().await;
    });
}

pub fn key(id: &str) -> PlayerKey {
    PlayerKey {
        store: 0,
        id: id.to_string(),
    }
}

pub fn seen(id: &str, name: Option<&str>, seen_ms: i64) -> PlayerSeen {
    PlayerSeen {
        name: name.map(str::to_string),
        ..PlayerSeen::bare(key(id), seen_ms)
    }
}

pub fn stats(mu: f64, sigma: f64, games: i64, last_updated_ms: i64) -> ModeStats {
    ModeStats {
        mu,
        sigma,
        // Not the start value, so a store that drops it fails the round trip.
        volatility: 0.05 + games as f64 * 1e-4,
        elo: 1000.0,
        games,
        kills: games / 2,
        deaths: games - games / 2,
        wins: 1,
        losses: 2,
        draws: 3,
        captures: 4,
        best_wave: 0,
        npc_kills: 0,
        npc_deaths: 0,
        matches: 5,
        escapes: 6,
        last_updated_ms,
    }
}

pub fn change(mu: f64) -> RatingChange {
    RatingChange {
        mu,
        sigma: 8.0,
        elo: 1000.5,
        delta_mu: 0.25,
        delta_sigma: -0.125,
        delta_elo: 16.0,
    }
}

pub fn fact(
    seq: i64,
    mode: Mode,
    time_ms: i64,
    fact: Fact,
    changes: Vec<(PlayerKey, RatingChange)>,
) -> StoredFact {
    StoredFact {
        seq,
        record: FactRecord {
            server: "s1".into(),
            mode,
            time_ms,
            match_id: Some(format!("s1:{}", time_ms / 1000)),
            fact,
        },
        changes,
    }
}

pub fn kill(seq: i64, killer: &str, victim: &str, killer_mu: f64, victim_mu: f64) -> StoredFact {
    fact(
        seq,
        Mode::Dm,
        1000 * seq,
        Fact::Kill(KillFact {
            killer: key(killer),
            victim: key(victim),
            weapon: Some("pistol".into()),
            headshot: seq % 2 == 0,
            teamkill: false,
            killer_at: None,
            victim_at: None,
        }),
        vec![
            (key(killer), change(killer_mu)),
            (key(victim), change(victim_mu)),
        ],
    )
}

/// Two players, three dm kills with changes, stats and a checkpoint.
pub fn sample_batch() -> WriteBatch {
    WriteBatch {
        players: vec![
            seen("alice", Some("Alice"), 10),
            seen("bob", Some("Bob"), 20),
        ],
        facts: vec![
            kill(1, "alice", "bob", 26.0, 24.0),
            kill(2, "alice", "bob", 27.0, 23.0),
            kill(3, "bob", "alice", 25.0, 26.5),
        ],
        stats: vec![
            (key("alice"), Mode::Dm, stats(26.5, 7.0, 3, 3000)),
            (key("bob"), Mode::Dm, stats(25.0, 7.0, 3, 3000)),
        ],
        checkpoints: vec![Checkpoint {
            server: "s1".into(),
            epoch: 1,
            offset: 300,
            snapshot_offset: 200,
            snapshot: Some("{\"match\":null}".into()),
        }],
    }
}

pub fn apply(store: &dyn Store, batch: WriteBatch) {
    store.apply(&batch).unwrap();
}

/// Players with dm stats, applied in one batch: (id, name, mu, games, last_updated_ms).
pub fn dm_players(store: &dyn Store, players: &[(&str, &str, f64, i64, i64)]) {
    apply(
        store,
        WriteBatch {
            players: players
                .iter()
                .map(|&(id, name, ..)| seen(id, Some(name), 1))
                .collect(),
            stats: players
                .iter()
                .map(|&(id, _, mu, games, t)| (key(id), Mode::Dm, stats(mu, 1.0, games, t)))
                .collect(),
            ..WriteBatch::default()
        },
    );
}

pub fn ids(rows: &[LeaderboardRow]) -> Vec<&str> {
    rows.iter().map(|r| r.player.key.id.as_str()).collect()
}

pub fn board(mode: Mode, limit: usize, offset: usize) -> LeaderboardQuery {
    LeaderboardQuery {
        mode,
        limit,
        offset,
        min_games: None,
        active_since_ms: None,
    }
}

pub fn audit(
    time_ms: i64,
    user_id: u64,
    command: &str,
    allowed: bool,
    result: &str,
) -> AuditRecord {
    AuditRecord {
        time_ms,
        user_id,
        user_name: format!("user {user_id}"),
        server: "eu-tdm".into(),
        command: command.into(),
        allowed,
        result: result.into(),
    }
}

/// A few attempts, hostile strings and a denied one included, recorded out
/// of time order, with a time tie; `audit_log` order: [3, 1, 2, 0, 4].
pub fn audit_records() -> Vec<AuditRecord> {
    vec![
        audit(1_000, 1, "rcon map dust", true, "Map changed."),
        AuditRecord {
            user_name: HOSTILE.into(),
            server: HOSTILE.into(),
            ..audit(
                3_000,
                80_351_110_224_678_912,
                &format!("say {HOSTILE}\n100% \"done\"\r\n\u{1b}[31m"),
                false,
                "denied: not an admin",
            )
        },
        audit(
            2_000,
            i64::MAX as u64,
            &format!("rcon {}", "ж🎮'\"%_".repeat(333)),
            true,
            "timed out\n\t↯",
        ),
        // Same time as the denied one, recorded after it: listed before it.
        audit(3_000, 2, "kick Bob (afk)", true, "Kicked Bob"),
        audit(-5, 3, "ban Eve", true, ""),
    ]
}
