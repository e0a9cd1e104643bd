//! A MongoDB store that the releases before the bman-data layout wrote
//! (int platforms, bman's fields inside bman-data's documents, facts as
//! `{seq, data, changes}` documents, `player_names`, `checkpoints`,
//! `audit`, `pending_batches`) is converted when opened: every query answers
//! as a SQLite store given the same data, every document in bman-data's
//! collections then has bman-data's shape, and opening again changes
//! nothing. Runs when `BMAN_TEST_MONGODB_URI` is set.

mod common;
#[path = "mongo/schema.rs"]
mod schema;

use bman::model::Mode;
use bman::model::*;
use bman::store::*;
use mongodb::bson::{doc, oid::ObjectId, DateTime, Document};
use schema::{dump, insert_raw, schema_violations};

fn key(id: &str) -> PlayerKey {
    PlayerKey {
        store: 0,
        id: id.into(),
    }
}

fn date(ms: i64) -> DateTime {
    DateTime::from_millis(ms)
}

fn change(mu: f64) -> RatingChange {
    RatingChange {
        mu,
        sigma: 7.0,
        elo: 1000.0,
        delta_mu: 0.5,
        delta_sigma: -0.25,
        delta_elo: 0.0,
    }
}

fn stats(mu: f64, games: i64, best_wave: i64, last_updated_ms: i64) -> ModeStats {
    ModeStats {
        mu,
        sigma: 7.0,
        games,
        kills: games,
        deaths: 1,
        draws: 2,
        best_wave,
        npc_kills: best_wave,
        matches: 1,
        last_updated_ms,
        ..ModeStats::initial(&Default::default())
    }
}

fn kill_fact() -> StoredFact {
    StoredFact {
        seq: 1,
        record: FactRecord {
            server: "s1".into(),
            mode: Mode::Dm,
            time_ms: 1_000,
            match_id: Some("s1:900".into()),
            fact: Fact::Kill(KillFact {
                killer: key("alice"),
                victim: key("bob"),
                weapon: Some("pistol".into()),
                headshot: true,
                teamkill: false,
                killer_at: None,
                victim_at: None,
            }),
        },
        changes: vec![(key("alice"), change(26.0)), (key("bob"), change(24.0))],
    }
}

fn checkpoint() -> Checkpoint {
    Checkpoint {
        server: "s1".into(),
        epoch: 1,
        offset: 300,
        snapshot_offset: 200,
        snapshot: Some("{}".into()),
    }
}

fn audit() -> AuditRecord {
    AuditRecord {
        time_ms: 2_000,
        user_id: 42,
        user_name: "admin".into(),
        server: "eu".into(),
        command: "kick Bob".into(),
        allowed: true,
        result: "kicked".into(),
    }
}

/// What the old documents below hold, as a batch for any store.
fn same_data() -> WriteBatch {
    let seen = |id: &str, name: &str, ms| PlayerSeen {
        name: Some(name.into()),
        ..PlayerSeen::bare(key(id), ms)
    };
    WriteBatch {
        players: vec![
            PlayerSeen {
                ip: Some("10.0.0.9".into()),
                ..seen("alice", "Ålice", 5)
            },
            PlayerSeen {
                color: Some("red".into()),
                premium: Some(true),
                clan_tag: Some("[C]".into()),
                level: Some(7),
                ..seen("alice", "Alice", 10)
            },
            seen("bob", "Bob", 20),
        ],
        facts: vec![kill_fact()],
        stats: vec![
            (key("alice"), Mode::Dm, stats(26.0, 3, 0, 1_000)),
            (key("bob"), Mode::Dm, stats(24.0, 2, 0, 1_000)),
            (key("bob"), Mode::Svl, stats(25.0, 1, 4, 1_500)),
        ],
        checkpoints: vec![checkpoint()],
    }
}

fn old_stats(player: ObjectId, s: &ModeStats) -> Document {
    doc! {
        "player": player,
        "mu": s.mu, "sigma": s.sigma, "elo": s.elo, "rating": s.rating(),
        "games": s.games, "kills": s.kills, "deaths": s.deaths, "wins": s.wins,
        "losses": s.losses, "draws": s.draws, "captures": s.captures,
        "best_wave": s.best_wave, "npc_kills": s.npc_kills, "npc_deaths": s.npc_deaths,
        "matches": s.matches, "escapes": s.escapes, "last_updated": date(s.last_updated_ms),
    }
}

/// The same data as the release before wrote it, plus a player it created
/// beside bman-data's own (`dave`: int platform beside the string one).
fn old_documents() -> Vec<(&'static str, Vec<Document>)> {
    let (alice, bob, dave_old, dave) = (
        ObjectId::new(),
        ObjectId::new(),
        ObjectId::new(),
        ObjectId::new(),
    );
    let batch = same_data();
    let s = |i: usize| batch.stats[i].2;
    let fact = kill_fact();
    let change = |k: &PlayerKey, c: &RatingChange| {
        doc! {
            "platform": k.store, "profile": &k.id, "mu": c.mu, "sigma": c.sigma, "elo": c.elo,
            "delta_mu": c.delta_mu, "delta_sigma": c.delta_sigma, "delta_elo": c.delta_elo,
        }
    };
    let names = |platform: i32, profile: &str, name: &str, ms: i64| {
        doc! { "profile": { "platform": platform, "profile": profile }, "name": name, "first_used": date(ms) }
    };
    vec![
        (
            "players",
            vec![
                doc! {
                    "_id": dave, "profile": { "platform": "0", "profile": "dave" }, "name": ["Dave"],
                    "ip": ["10.0.0.4"], "color": "5", "premium": "0", "hat": "1", "clan_id": "", "clan_tag": "",
                },
                doc! {
                    "_id": alice, "profile": { "platform": 0, "profile": "alice" },
                    "name": ["Ålice", "Alice"], "name_lower": ["ålice", "alice"], "display_name": "Alice",
                    "ip": ["10.0.0.9"], "color": "red", "premium": true, "clan_tag": "[C]", "level": 7_i64,
                    "first_seen": date(5), "last_seen": date(10),
                },
                doc! {
                    "_id": bob, "profile": { "platform": 0, "profile": "bob" },
                    "name": ["Bob"], "name_lower": ["bob"], "display_name": "Bob",
                    "first_seen": date(20), "last_seen": date(20),
                },
                doc! {
                    "_id": dave_old, "profile": { "platform": 0, "profile": "dave" },
                    "name": ["Davey"], "name_lower": ["davey"], "display_name": "Davey",
                    "first_seen": date(30), "last_seen": date(40),
                },
            ],
        ),
        (
            "player_names",
            vec![
                names(0, "alice", "Ålice", 5),
                names(0, "alice", "Alice", 10),
                names(0, "bob", "Bob", 20),
                names(0, "dave", "Davey", 30),
            ],
        ),
        (
            "dm_profiles",
            vec![
                old_stats(alice, &s(0)),
                old_stats(bob, &s(1)),
                old_stats(dave_old, &stats(10.0, 1, 0, 40)),
                doc! { "player": dave, "mu": 33.0, "sigma": 3.0, "kills": 8_i64, "deaths": 2_i64, "last_updated": date(50) },
            ],
        ),
        ("svl_profiles", vec![old_stats(bob, &s(2))]),
        (
            "dm_kills",
            vec![doc! {
                "seq": 1_i64, "server": "s1", "mode": "dm", "time_ms": 1_000_i64, "time": date(1_000),
                "match_id": "s1:900", "data": serde_json::to_string(&fact.record.fact).unwrap(),
                "changes": fact.changes.iter().map(|(k, c)| change(k, c)).collect::<Vec<_>>(),
                "killer": { "platform": 0, "profile": "alice" }, "victim": { "platform": 0, "profile": "bob" },
                "weapon": "pistol",
            }],
        ),
        (
            "checkpoints",
            vec![
                doc! { "server": "s1", "epoch": 1_i64, "offset": 300_i64, "snapshot_offset": 200_i64, "snapshot": "{}" },
            ],
        ),
        (
            "pending_batches",
            vec![doc! {
                // Killed after this batch had fully landed: completing it
                // again changes nothing.
                "batch": serde_json::to_string(&(
                    Vec::<PlayerSeen>::new(),
                    vec![kill_fact()],
                    vec![batch.stats[0].clone()],
                    vec![checkpoint()],
                ))
                .unwrap(),
            }],
        ),
        (
            "audit",
            vec![doc! {
                "time_ms": 2_000_i64, "time": date(2_000), "user_id": 42_i64, "user_name": "admin",
                "server": "eu", "command": "kick Bob", "allowed": true, "result": "kicked",
            }],
        ),
    ]
}

/// Everything the store answers about alice and bob, as text.
fn answers(store: &dyn Store) -> String {
    let mut out = Vec::new();
    let mut players = store.export_players().unwrap();
    players.retain(|p| p.key.id != "dave");
    for p in &mut players {
        // MongoDB keeps IPs as a set without times.
        p.ips.iter_mut().for_each(|ip| ip.1 = 0);
    }
    out.push(format!("{players:?}"));
    out.push(format!(
        "{:?} {:?}",
        store.next_seq().unwrap(),
        store.checkpoints().unwrap()
    ));
    for mode in Mode::ALL {
        out.push(format!("{:?}", store.facts(mode).unwrap()));
        let mut board = store
            .leaderboard(&LeaderboardQuery::everyone(mode, 100))
            .unwrap();
        board.retain(|r| r.player.key.id != "dave");
        out.push(format!(
            "{:?}",
            board
                .iter()
                .map(|r| (&r.player, r.stats))
                .collect::<Vec<_>>()
        ));
        for p in &players {
            out.push(format!("{:?}", store.rating_history(&p.key, mode).unwrap()));
            out.push(format!(
                "{:?}",
                store
                    .load_stats(mode, std::slice::from_ref(&p.key))
                    .unwrap()
            ));
        }
    }
    for p in &players {
        let mut profile = store.profile(&p.key).unwrap().unwrap();
        // dave is ahead of everyone in DM on MongoDB only.
        profile.modes.iter_mut().for_each(|m| m.2 = 0);
        out.push(format!("{profile:?}"));
    }
    for query in ["ali", "Å", "bob", "nobody"] {
        out.push(format!("{:?}", store.find_players(query, 10).unwrap()));
    }
    out.push(format!("{:?}", store.audit_log(10).unwrap()));
    out.join("\n")
}

#[test]
fn a_store_of_the_previous_release_is_converted_on_open() {
    let Some(base) = common::mongo_uri() else {
        eprintln!("skipped: set BMAN_TEST_MONGODB_URI to check the conversion");
        return;
    };
    let uri = common::unique_mongo_url(&base, "convert");
    insert_raw(&uri, &old_documents());
    let dir = tempfile::tempdir().unwrap();
    let sqlite = bman::store::open(&format!(
        "sqlite://{}",
        dir.path().join("s.sqlite3").display()
    ))
    .unwrap();
    sqlite.apply(&same_data()).unwrap();
    sqlite.record_audit(&audit()).unwrap();

    let expected = answers(sqlite.as_ref());
    for part in [
        "Ålice",
        "headshot: true",
        "RatingPoint",
        "best_wave: 4",
        "kick Bob",
        "offset: 300",
    ] {
        assert!(expected.contains(part), "{part} in\n{expected}");
    }
    let converted = bman::store::open(&uri).unwrap();
    assert_eq!(answers(converted.as_ref()), expected);

    let after = dump(&uri);
    let violations = schema_violations(&after);
    assert!(violations.is_empty(), "{}", violations.join("\n"));
    for old in [
        "player_names",
        "svl_profiles",
        "checkpoints",
        "audit",
        "pending_batches",
    ] {
        assert!(after.get(old).is_none_or(Vec::is_empty), "{old} is emptied");
    }
    assert!(
        after["dm_kills"].iter().all(|k| !k.contains_key("seq")),
        "old fact documents are gone"
    );

    // bman-data's dave absorbed the duplicate the previous release made.
    let daves: Vec<&Document> = after["players"]
        .iter()
        .filter(|p| {
            p.get_document("profile")
                .unwrap()
                .get_str("profile")
                .unwrap()
                == "dave"
        })
        .collect();
    assert_eq!(daves.len(), 1);
    let dave = converted.profile(&key("dave")).unwrap().unwrap();
    assert_eq!(dave.names, ["Dave", "Davey"]);
    assert_eq!((dave.first_seen_ms, dave.last_seen_ms), (30, 40));
    let dm = dave.modes[0].1;
    assert_eq!((dm.mu, dm.kills), (33.0, 8), "bman-data's profile wins");
    drop(converted);

    // Opening again converts nothing more and answers the same.
    let reopened = bman::store::open(&uri).unwrap();
    assert_eq!(answers(reopened.as_ref()), answers(sqlite.as_ref()));
    let again = dump(&uri);
    for (collection, docs) in &after {
        assert_eq!(&again[collection], docs, "{collection} unchanged");
    }
}

/// A TDM round and a CTF capture, each rating alice and bob.
fn team_contests() -> WriteBatch {
    let record = |mode, time_ms, fact| FactRecord {
        server: "s1".into(),
        mode,
        time_ms,
        match_id: Some(format!("s1:{mode}")),
        fact,
    };
    let rated = vec![(key("alice"), change(26.0)), (key("bob"), change(24.0))];
    WriteBatch {
        facts: vec![
            StoredFact {
                seq: 1,
                record: record(
                    Mode::Tdm,
                    1_000,
                    Fact::Round(RoundFact {
                        round: 1,
                        team1: vec![key("alice")],
                        team2: vec![key("bob")],
                        winner: 1,
                        score1: None,
                        score2: None,
                        map: Some("Fields".into()),
                        loadouts: Vec::new(),
                    }),
                ),
                changes: rated.clone(),
            },
            StoredFact {
                seq: 2,
                record: record(
                    Mode::Ctf,
                    2_000,
                    Fact::Capture(CaptureFact {
                        carrier: Some(key("alice")),
                        scoring_team: 1,
                        scoring: vec![key("alice")],
                        other: vec![key("bob")],
                    }),
                ),
                changes: rated,
            },
        ],
        ..WriteBatch::default()
    }
}

#[test]
fn a_store_written_before_rating_instances_gets_them_on_open() {
    let Some(base) = common::mongo_uri() else {
        eprintln!("skipped: set BMAN_TEST_MONGODB_URI to check the conversion");
        return;
    };
    let uri = common::unique_mongo_url(&base, "instances");
    bman::store::open(&uri)
        .unwrap()
        .apply(&team_contests())
        .unwrap();
    let written = dump(&uri);
    for collection in ["tdm_rating_instances", "ctf_rating_instances"] {
        assert_eq!(written[collection].len(), 2, "{collection}");
    }
    assert_eq!(
        written["tdm_rounds"][0].get_str("map_name").ok(),
        Some("Fields")
    );

    // What the previous release left: layout 2, no rating instances.
    schema::with_db(&uri, async |db| {
        for collection in ["tdm_rating_instances", "ctf_rating_instances"] {
            let c = db.collection::<Document>(collection);
            c.delete_many(doc! {}).await.unwrap();
        }
        db.collection::<Document>("bman_meta")
            .update_one(doc! { "_id": "layout" }, doc! { "$set": { "version": 2 } })
            .await
            .unwrap();
    });
    drop(bman::store::open(&uri).unwrap());
    let filled = dump(&uri);
    let violations = schema_violations(&filled);
    assert!(violations.is_empty(), "{}", violations.join("\n"));
    for (collection, docs) in &written {
        assert_eq!(
            &filled[collection], docs,
            "{collection}: the same documents again"
        );
    }
}
