//! Stores across versions and backends: a SQLite file reopened (its schema
//! migrations run once), and `bman migrate` between SQLite and MongoDB in
//! both directions and from an old bman-data database. The MongoDB tests
//! run when `BMAN_TEST_MONGODB_URI` is set and pass with a note otherwise.

mod common;
#[path = "conformance/support.rs"]
mod support;

use bman::model::*;
use bman::store::*;
use support::*;

/// Reopening the file keeps everything, and migrations run only once.
#[test]
fn sqlite_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bman.sqlite3");
    let url = format!("sqlite://{}", path.display());
    let batch = sample_batch();
    bman::store::open(&url).unwrap().apply(&batch).unwrap();
    for _ in 0..2 {
        let store = bman::store::open(&url).unwrap();
        assert_eq!(store.next_seq().unwrap(), 4);
        assert_eq!(store.facts(Mode::Dm).unwrap(), batch.facts);
        let profile = store.profile(&key("alice")).unwrap().unwrap();
        assert_eq!(profile.names, ["Alice"]);
        assert_eq!(
            store.checkpoint("s1", 1).unwrap(),
            Some(batch.checkpoints[0].clone())
        );
    }
}

/// A file of an earlier schema (the previous release's, before bans) opens,
/// gains the ban and link tables and keeps its players.
#[test]
fn sqlite_upgrade_adds_bans_and_links() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.sqlite3");
    let old = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/previous_release/bots.sqlite3");
    std::fs::copy(old, &path).unwrap();
    let version = |path: &std::path::Path| -> i64 {
        rusqlite::Connection::open(path)
            .unwrap()
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap()
    };
    assert!(version(&path) < 5);
    let store = bman::store::open(&format!("sqlite://{}", path.display())).unwrap();
    assert_eq!(version(&path), 8);
    let humans: Vec<PlayerKey> = store
        .export_players()
        .unwrap()
        .into_iter()
        .map(|p| p.key)
        .filter(|k| !k.is_bot())
        .collect();
    assert!(!humans.is_empty());
    let ban = Ban {
        player: humans[0].clone(),
        name: "x".into(),
        reason: String::new(),
        by: BanActor::cli(),
        created_ms: 1,
        until_ms: None,
        servers: vec![],
        lifted: None,
    };
    store.add_ban(&ban).unwrap();
    assert_eq!(store.bans(&BanQuery::active(2)).unwrap(), [ban]);
    let link = AccountLink {
        user_id: 7,
        user_name: "someone".into(),
        player: humans[0].clone(),
        player_name: "x".into(),
        linked_ms: 1,
    };
    store.link_account(&link).unwrap();
    assert_eq!(store.account_links().unwrap(), [link]);
}

/// A store with a bit of everything: players with names and IPs, facts of
/// every mode, stats of every mode, checkpoints.
fn populate(store: &dyn Store) {
    let mut batch = sample_batch();
    batch.players.push(PlayerSeen {
        ip: Some("10.0.0.9".into()),
        color: Some("red".into()),
        premium: Some(true),
        clan_tag: Some("[C]".into()),
        ..seen("alice", Some("Ålice"), 5)
    });
    batch.facts.push(fact(
        4,
        Mode::Svl,
        4000,
        Fact::NpcKill {
            player: key("carol"),
            npc: None,
        },
        vec![],
    ));
    batch.stats.push((
        key("carol"),
        Mode::Svl,
        ModeStats {
            best_wave: 4,
            ..stats(25.0, 8.0, 1, 4000)
        },
    ));
    batch
        .stats
        .push((key("alice"), Mode::Tdm, stats(25.0, 8.0, 1, 4000)));
    apply(store, batch);
    dm_players(
        store,
        &[("tie1", "Tie", 26.0, 3, 1), ("tie2", "Tie", 26.0, 3, 1)],
    );
    for r in audit_records() {
        store.record_audit(&r).unwrap();
    }
    let by = BanActor {
        user_id: Some(333),
        name: "admin".into(),
    };
    let ban = Ban {
        player: key("alice"),
        name: "Ålice".into(),
        reason: HOSTILE.into(),
        by: by.clone(),
        created_ms: 7_000,
        until_ms: None,
        servers: vec![],
        lifted: None,
    };
    let lifted = Ban {
        player: key("bob"),
        until_ms: Some(90_000),
        servers: vec!["eu-dm".into()],
        lifted: Some(BanLift {
            by: BanActor::cli(),
            at_ms: 8_000,
        }),
        ..ban.clone()
    };
    store.add_ban(&lifted).unwrap();
    store.add_ban(&ban).unwrap();
    for (user_id, id, linked_ms) in [(1, "alice", 9_000), (2, "bob", 9_000), (1, "carol", 9_500)] {
        let link = AccountLink {
            user_id,
            user_name: HOSTILE.into(),
            player: key(id),
            player_name: format!("{id} in game"),
            linked_ms,
        };
        store.link_account(&link).unwrap();
    }
}

/// Everything the store answers, as text, for comparing two stores.
fn answers(store: &dyn Store) -> String {
    let mut out = Vec::new();
    let mut players = store.export_players().unwrap();
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
        out.push(format!(
            "{:?}",
            store.leaderboard(&board(mode, 100, 0)).unwrap()
        ));
        for p in &players {
            out.push(format!("{:?}", store.rating_history(&p.key, mode).unwrap()));
        }
    }
    for p in &players {
        out.push(format!("{:?}", store.profile(&p.key).unwrap()));
    }
    for query in ["ali", "tie", "Å", "carol", "nobody"] {
        out.push(format!("{:?}", store.find_players(query, 10).unwrap()));
    }
    out.push(format!("{:?}", store.audit_log(usize::MAX).unwrap()));
    out.push(format!("{:?}", store.bans(&BanQuery::all()).unwrap()));
    out.push(format!(
        "{:?}",
        store.ip_neighbours(&key("alice"), 0, 10).unwrap()
    ));
    out.push(format!("{:?}", store.account_links().unwrap()));
    out.join("\n")
}

fn check_migration(from: &dyn Store, to: &dyn Store) {
    populate(from);
    let calls = std::sync::Mutex::new(Vec::new());
    let counts = bman::migrate::migrate(from, to, &|done, total| {
        calls.lock().unwrap().push((done, total))
    })
    .unwrap();
    // Progress never goes back, and ends complete.
    let calls = calls.into_inner().unwrap();
    assert!(
        calls
            .windows(2)
            .all(|w| w[0].0 <= w[1].0 && w[0].1 <= w[1].1),
        "{calls:?}"
    );
    let &(done, total) = calls.last().unwrap();
    assert_eq!(done, total, "{calls:?}");
    assert_eq!(
        (
            counts.players,
            counts.facts,
            counts.checkpoints,
            counts.audit,
            counts.bans,
            counts.links
        ),
        (5, 4, 1, 5, 2, 2),
        "{counts}"
    );
    assert_eq!(answers(to), answers(from));
    assert_eq!(to.audit_log(usize::MAX).unwrap().len(), 5);
    let again = bman::migrate::migrate(from, to, &|_, _| {});
    assert!(again.is_err(), "a non-empty target is refused");
}

fn sqlite_store(dir: &tempfile::TempDir, name: &str) -> Box<dyn Store> {
    let url = format!("sqlite://{}", dir.path().join(name).display());
    bman::store::open(&url).unwrap()
}

#[test]
fn migrate_sqlite_to_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    check_migration(
        sqlite_store(&dir, "a.sqlite3").as_ref(),
        sqlite_store(&dir, "b.sqlite3").as_ref(),
    );
}

#[test]
fn migrate_sqlite_to_mongodb() {
    let Some(base) = common::mongo_uri() else {
        eprintln!("skipped the MongoDB migrations: BMAN_TEST_MONGODB_URI is not set");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    check_migration(
        sqlite_store(&dir, "c.sqlite3").as_ref(),
        open_mongo(&base, "from_sqlite").as_ref(),
    );
}

#[test]
fn migrate_mongodb_to_sqlite() {
    let Some(base) = common::mongo_uri() else {
        eprintln!("skipped the MongoDB migrations: BMAN_TEST_MONGODB_URI is not set");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    check_migration(
        open_mongo(&base, "to_sqlite").as_ref(),
        sqlite_store(&dir, "d.sqlite3").as_ref(),
    );
}

/// An old bman-data database (tests/data/bman_data_fixture.json: string
/// numbers, missing fields, events without bman's fields) imports into SQLite.
#[test]
fn migrate_imports_a_bman_data_database() {
    let Some(base) = common::mongo_uri() else {
        eprintln!("skipped: set BMAN_TEST_MONGODB_URI to import a bman-data database");
        return;
    };
    let uri = common::unique_mongo_url(&base, "bman_data");
    let fixture: serde_json::Value =
        serde_json::from_str(include_str!("data/bman_data_fixture.json")).unwrap();
    let collections = fixture
        .as_object()
        .unwrap()
        .iter()
        .map(|(collection, docs)| {
            let docs = docs.as_array().unwrap().iter().map(|d| {
                match bman::store::mongo::bson_from_extended_json(d).unwrap() {
                    mongodb::bson::Bson::Document(d) => d,
                    other => panic!("not a document: {other}"),
                }
            });
            (collection.as_str(), docs.collect())
        })
        .collect::<Vec<_>>();
    insert_raw(&uri, &collections);
    let legacy = bman::store::open(&uri).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let sqlite = sqlite_store(&dir, "imported.sqlite3");
    let counts = bman::migrate::migrate(legacy.as_ref(), sqlite.as_ref(), &|_, _| {}).unwrap();
    assert_eq!(
        (
            counts.players,
            counts.names,
            counts.ips,
            counts.stats,
            counts.facts
        ),
        (3, 3, 2, 4, 0),
        "{counts}"
    );
    let wolf = sqlite.profile(&key("76561198000000001")).unwrap().unwrap();
    assert_eq!(wolf.names, ["Sniper_Wolf", "Wolfie"]);
    assert_eq!(wolf.player.name, "Wolfie");
    let modes: Vec<(Mode, f64, i64)> = wolf
        .modes
        .iter()
        .map(|(m, s, _)| (*m, s.mu, s.kills))
        .collect();
    assert_eq!(modes, [(Mode::Dm, 27.5, 12), (Mode::Tdm, 25.0, 10)]);
    let exported = sqlite.export_players().unwrap();
    let ips: Vec<&str> = exported[0].ips.iter().map(|(ip, _)| ip.as_str()).collect();
    assert_eq!(ips, ["10.0.0.1", "10.0.0.2"]);
    let itch = PlayerKey {
        store: 2,
        id: "itch-7".into(),
    };
    assert_eq!(
        sqlite.find_players("élan", 5).unwrap()[0].key,
        itch,
        "legacy names are searchable"
    );
    assert_eq!(
        legacy.find_players("élan", 5).unwrap()[0].key,
        itch,
        "also in place on MongoDB"
    );
    let ctf = sqlite.leaderboard(&board(Mode::Ctf, 10, 0)).unwrap();
    assert_eq!(
        (ctf[0].player.key.id.as_str(), ctf[0].stats.captures),
        ("3", 2)
    );
}
