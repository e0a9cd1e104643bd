//! bman's MongoDB store as bman-data's readers read it: every document in
//! bman-data's collections has exactly bman-data's fields and types, the
//! readers' own queries find what `bman leaderboard`/`bman profile` show,
//! and bman on a database bman-data wrote adds no second player. Runs when
//! `BMAN_TEST_MONGODB_URI` is set.

mod common;
#[path = "mongo/schema.rs"]
mod schema;

use bman::model::Mode;
use bman::model::*;
use bman::store::*;
use mongodb::bson::{doc, oid::ObjectId, Bson, DateTime, Document};
use schema::{dump, find, insert_raw, schema_violations, with_db};

const DAY_MS: i64 = 86_400_000;

fn uri(name: &str) -> Option<String> {
    let Some(base) = common::mongo_uri() else {
        eprintln!("skipped: set BMAN_TEST_MONGODB_URI to check bman-data's schema");
        return None;
    };
    Some(common::unique_mongo_url(&base, name))
}

fn key(id: &str) -> PlayerKey {
    PlayerKey {
        store: 0,
        id: id.into(),
    }
}

fn seen(id: &str, name: &str, seen_ms: i64) -> PlayerSeen {
    PlayerSeen {
        name: Some(name.into()),
        ..PlayerSeen::bare(key(id), seen_ms)
    }
}

fn change(mu: f64, sigma: f64, elo: f64) -> RatingChange {
    RatingChange {
        mu,
        sigma,
        elo,
        delta_mu: 0.5,
        delta_sigma: -0.25,
        delta_elo: 12.0,
    }
}

fn stats(mu: f64, sigma: f64, games: i64, last_updated_ms: i64) -> ModeStats {
    ModeStats {
        mu,
        sigma,
        games,
        kills: games,
        deaths: 1,
        wins: 2,
        losses: 3,
        draws: 1,
        captures: 1,
        best_wave: 6,
        npc_kills: 9,
        escapes: 1,
        last_updated_ms,
        ..ModeStats::initial(&Default::default())
    }
}

fn fact(
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
            match_id: Some(format!("s1:{}", time_ms - time_ms % 100_000)),
            fact,
        },
        changes,
    }
}

fn kill(killer: &str, victim: &str, weapon: &str) -> Fact {
    Fact::Kill(KillFact {
        killer: key(killer),
        victim: key(victim),
        weapon: Some(weapon.into()),
        headshot: false,
        teamkill: false,
        killer_at: None,
        victim_at: None,
    })
}

fn chat(player: Option<&str>, message: &str) -> Fact {
    Fact::Chat(ChatFact {
        player: player.map(key),
        name: player.map(str::to_uppercase),
        message: message.into(),
        team: None,
    })
}

/// Every kind of fact in every mode, as a recorder writes it.
fn scenario(now: i64) -> WriteBatch {
    let t = now - 2 * DAY_MS;
    let mut players = vec![
        PlayerSeen {
            ip: Some("10.0.0.1".into()),
            color: Some("16711680".into()),
            premium: Some(true),
            hat: Some("12".into()),
            clan_id: Some("77".into()),
            clan_tag: Some("[W]".into()),
            level: Some(30),
            ..seen("alice", "Alice", t)
        },
        seen("bob", "Bob", t),
        seen("carol", "Carol", t),
        seen("dave", "Dave", t - 40 * DAY_MS),
    ];
    players.push(seen("alice", "Alicia", t + 1));
    let long = "x".repeat(300);
    let facts = vec![
        fact(
            1,
            Mode::Dm,
            t + 10,
            kill("alice", "bob", "12"),
            vec![
                (key("alice"), change(27.0, 7.0, 1000.0)),
                (key("bob"), change(23.0, 7.5, 1000.0)),
            ],
        ),
        fact(
            2,
            Mode::Dm,
            t + 20,
            kill("alice", "carol", "rocket"),
            vec![
                (key("alice"), change(28.0, 6.5, 1000.0)),
                (key("carol"), change(22.0, 7.5, 1000.0)),
            ],
        ),
        fact(
            3,
            Mode::Dm,
            t + 30,
            kill("bob", "alice", "7"),
            vec![
                (key("bob"), change(24.0, 7.0, 1000.0)),
                (key("alice"), change(27.5, 6.4, 1000.0)),
            ],
        ),
        fact(4, Mode::Dm, t + 40, chat(Some("alice"), &long), vec![]),
        fact(5, Mode::Dm, t + 50, chat(None, "server restarts"), vec![]),
        fact(
            6,
            Mode::Dm,
            t + 60,
            Fact::Match(MatchFact {
                map: Some("dust".into()),
                started_ms: Some(t),
                winner_team: None,
                winner_text: None,
                players: vec![],
                last_wave: None,
                coop_won: None,
            }),
            vec![],
        ),
        fact(7, Mode::Tdm, t + 70, kill("carol", "bob", "3"), vec![]),
        fact(
            8,
            Mode::Tdm,
            t + 80,
            Fact::Round(RoundFact {
                round: 1,
                team1: vec![key("alice"), key("carol")],
                team2: vec![key("bob")],
                winner: 1,
                score1: Some(3),
                score2: Some(1),
                map: None,
                loadouts: Vec::new(),
            }),
            vec![
                (key("alice"), change(26.0, 8.0, 1016.0)),
                (key("carol"), change(26.0, 8.0, 1016.0)),
                (key("bob"), change(24.0, 8.0, 984.0)),
            ],
        ),
        fact(
            9,
            Mode::Tdm,
            t + 90,
            Fact::Round(RoundFact {
                round: 2,
                team1: vec![key("alice")],
                team2: vec![key("bob"), key("carol")],
                winner: 2,
                score1: None,
                score2: None,
                map: None,
                loadouts: Vec::new(),
            }),
            vec![],
        ),
        fact(10, Mode::Tdm, t + 95, chat(Some("bob"), "gg"), vec![]),
        fact(
            11,
            Mode::Ctf,
            t + 100,
            Fact::Capture(CaptureFact {
                carrier: Some(key("carol")),
                scoring_team: 2,
                scoring: vec![key("carol")],
                other: vec![key("alice")],
            }),
            vec![(key("carol"), change(26.0, 8.0, 1000.0))],
        ),
        fact(
            12,
            Mode::Ctf,
            t + 110,
            Fact::Capture(CaptureFact {
                carrier: None,
                scoring_team: 1,
                scoring: vec![key("alice")],
                other: vec![],
            }),
            vec![],
        ),
        fact(13, Mode::Ctf, t + 115, chat(Some("carol"), "flag!"), vec![]),
        fact(
            14,
            Mode::Svl,
            t + 120,
            Fact::Wave(WaveFact {
                wave: 6,
                enemies: Some(40),
                chests: Some(2),
                chest_price: None,
                players: vec![key("alice"), key("dave")],
            }),
            vec![],
        ),
        fact(
            15,
            Mode::Svl,
            t + 130,
            Fact::NpcKill {
                player: key("dave"),
                npc: None,
            },
            vec![],
        ),
        fact(
            16,
            Mode::Svl,
            t + 140,
            Fact::NpcDeath {
                player: key("dave"),
                npc: None,
            },
            vec![],
        ),
        fact(17, Mode::Svl, t + 145, chat(Some("dave"), "help"), vec![]),
        fact(
            18,
            Mode::Svl,
            t + 150,
            Fact::Match(MatchFact {
                map: Some("m".repeat(60)),
                started_ms: None,
                winner_team: None,
                winner_text: None,
                players: vec![],
                last_wave: Some(6),
                coop_won: Some(false),
            }),
            vec![],
        ),
        fact(
            19,
            Mode::Zbr,
            t + 160,
            Fact::Escape {
                player: key("alice"),
            },
            vec![],
        ),
        fact(
            20,
            Mode::Zbr,
            t + 170,
            chat(Some("alice"), "chopper"),
            vec![],
        ),
    ];
    let stats = vec![
        (key("alice"), Mode::Dm, stats(27.5, 6.4, 3, t + 30)),
        (key("bob"), Mode::Dm, stats(24.0, 7.0, 2, t + 30)),
        (key("carol"), Mode::Dm, stats(22.0, 7.5, 1, t + 20)),
        (key("dave"), Mode::Dm, stats(40.0, 1.0, 9, t - 40 * DAY_MS)),
        (key("alice"), Mode::Tdm, stats(26.0, 8.0, 2, t + 90)),
        (key("bob"), Mode::Tdm, stats(24.0, 8.0, 2, t + 90)),
        (key("carol"), Mode::Tdm, stats(26.0, 8.0, 2, t + 90)),
        (key("carol"), Mode::Ctf, stats(26.0, 8.0, 1, t + 100)),
        (key("dave"), Mode::Svl, stats(25.0, 8.0, 1, t + 150)),
        (key("alice"), Mode::Zbr, stats(25.0, 8.0, 1, t + 160)),
    ];
    WriteBatch {
        players,
        facts,
        stats,
        checkpoints: vec![],
    }
}

fn assert_schema(uri: &str) -> schema::Dump {
    let dump = dump(uri);
    let violations = schema_violations(&dump);
    assert!(violations.is_empty(), "{}", violations.join("\n"));
    dump
}

fn count(dump: &schema::Dump, collection: &str) -> usize {
    dump.get(collection).map_or(0, Vec::len)
}

#[test]
fn every_document_in_bman_data_collections_has_bman_data_fields_and_types() {
    let Some(uri) = uri("schema") else { return };
    let store = bman::store::open(&uri).unwrap();
    let now = bman::model::now_ms();
    let batch = scenario(now);
    store.apply(&batch).unwrap();
    let dump = assert_schema(&uri);
    for (collection, n) in [
        ("players", 4),
        ("dm_profiles", 4),
        ("tdm_profiles", 3),
        ("ctf_profiles", 1),
        ("dm_kills", 3),
        ("tdm_kills", 1),
        ("tdm_rounds", 2),
        ("ctf_scores", 1),
        ("dm_matches", 1),
        ("ctf_matches", 1),
        ("svl_matches", 1),
        ("svl_rounds", 1),
        ("dm_messages", 1),
        ("tdm_messages", 1),
        ("ctf_messages", 1),
        ("svl_messages", 1),
        // One per rated player: round 8 rated three, capture 11 one.
        ("tdm_rating_instances", 3),
        ("ctf_rating_instances", 1),
    ] {
        assert_eq!(count(&dump, collection), n, "{collection}");
    }
    let player_of = |id: &str| {
        dump["players"]
            .iter()
            .find(|p| p.get_document("profile").unwrap().get_str("profile").ok() == Some(id))
            .unwrap()
            .get_object_id("_id")
            .unwrap()
    };
    let round = dump["tdm_rounds"]
        .iter()
        .find(|r| r.get_str("result").ok() == Some("1"))
        .unwrap()
        .get_object_id("_id")
        .unwrap();
    let bob = dump["tdm_rating_instances"]
        .iter()
        .find(|i| i.get_object_id("player").ok() == Some(player_of("bob")))
        .unwrap();
    assert_eq!(bob.get_object_id("tdm_round").ok(), Some(round));
    assert_eq!(
        (bob.get_f64("mu").ok(), bob.get_f64("sigma").ok()),
        (Some(24.0), Some(8.0)),
        "the change the round made"
    );
    let carol = &dump["ctf_rating_instances"][0];
    assert_eq!(carol.get_object_id("player").ok(), Some(player_of("carol")));
    assert_eq!(
        carol.get_object_id("match").ok(),
        dump["ctf_matches"][0].get_object_id("_id").ok()
    );
    // bman.gg's message search needs a text index on every message collection.
    with_db(&uri, async |db| {
        for collection in [
            "dm_messages",
            "tdm_messages",
            "ctf_messages",
            "svl_messages",
        ] {
            let names = db
                .collection::<Document>(collection)
                .list_index_names()
                .await;
            assert!(
                names.unwrap().contains(&"message_text".to_string()),
                "{collection}"
            );
        }
    });
    let own: Vec<&String> = dump
        .keys()
        .filter(|c| !schema::bman_data_schema().iter().any(|(s, _)| s == c))
        .collect();
    assert!(
        own.iter().all(|c| c.starts_with("bman_")),
        "every other collection is bman's own: {own:?}"
    );

    // Writing the same batch again (a retry, a crash recovery) adds nothing.
    store.apply(&batch).unwrap();
    let again = assert_schema(&uri);
    for (collection, docs) in &dump {
        assert_eq!(again[collection].len(), docs.len(), "{collection}");
    }
    // Rerate rewrites kills' ratings and profiles in place, still in shape.
    let facts = store.facts(Mode::Dm).unwrap();
    let rerated: Vec<StoredFact> = facts
        .iter()
        .map(|f| StoredFact {
            changes: f
                .changes
                .iter()
                .map(|(k, c)| {
                    (
                        k.clone(),
                        RatingChange {
                            mu: c.mu + 1.0,
                            ..*c
                        },
                    )
                })
                .collect(),
            ..f.clone()
        })
        .collect();
    let dm_stats: Vec<(PlayerKey, ModeStats)> = batch
        .stats
        .iter()
        .filter(|(_, m, _)| *m == Mode::Dm)
        .map(|(k, _, s)| (k.clone(), *s))
        .collect();
    store
        .replace_ratings(Mode::Dm, &rerated, &dm_stats)
        .unwrap();
    let after = assert_schema(&uri);
    let first_kill = &after["dm_kills"][0];
    assert_eq!(
        first_kill
            .get_document("killer_rating")
            .unwrap()
            .get_f64("mu")
            .unwrap(),
        28.0
    );
    assert_eq!(store.facts(Mode::Dm).unwrap(), rerated);
    // A TDM rerate rewrites the rating instances in place too.
    let tdm: Vec<StoredFact> = store
        .facts(Mode::Tdm)
        .unwrap()
        .into_iter()
        .map(|f| StoredFact {
            changes: f
                .changes
                .iter()
                .map(|(k, c)| (k.clone(), RatingChange { sigma: 7.5, ..*c }))
                .collect(),
            ..f
        })
        .collect();
    let tdm_stats: Vec<(PlayerKey, ModeStats)> = batch
        .stats
        .iter()
        .filter(|(_, m, _)| *m == Mode::Tdm)
        .map(|(k, _, s)| (k.clone(), *s))
        .collect();
    store.replace_ratings(Mode::Tdm, &tdm, &tdm_stats).unwrap();
    let after = assert_schema(&uri);
    assert_eq!(count(&after, "tdm_rating_instances"), 3);
    assert!(after["tdm_rating_instances"]
        .iter()
        .all(|i| i.get_f64("sigma").ok() == Some(7.5)));

    // Bots that an earlier release stored are removed from both kinds.
    store.remove_players(&[key("dave")]).unwrap();
    let removed = assert_schema(&uri);
    assert_eq!(count(&removed, "players"), 3);
    assert_eq!(count(&removed, "dm_profiles"), 3);
}

#[test]
fn the_checker_reports_what_bman_data_would_refuse() {
    let Some(uri) = uri("checker") else { return };
    let player = ObjectId::new();
    insert_raw(
        &uri,
        &[
            (
                "players",
                vec![doc! {
                    "_id": player, "profile": { "platform": 0, "profile": "x" }, "name": ["X"],
                    "ip": [], "color": "0", "premium": false, "hat": "0", "clan_id": "",
                    "rating": 3.0,
                }],
            ),
            (
                "dm_profiles",
                vec![doc! {
                    "player": ObjectId::new(), "mu": "25", "sigma": 8.0, "kills": 0,
                    "deaths": 0, "last_updated": DateTime::now(),
                }],
            ),
        ],
    );
    let violations = schema_violations(&dump(&uri)).join("\n");
    for expected in [
        "profile.platform: 0 has the wrong type",
        "premium: false has the wrong type",
        "missing clan_tag",
        "extra field rating",
        ".player: ",
        "is not in players",
        ".mu: \"25\" has the wrong type",
    ] {
        assert!(violations.contains(expected), "{expected}:\n{violations}");
    }
}

/// The readers' queries (coybot, dyson-api, bman-data's scripts) on a
/// store bman wrote find the players and numbers bman shows.
#[test]
fn readers_queries_match_bman_leaderboard_and_profile() {
    let Some(uri) = uri("readers") else { return };
    let store = bman::store::open(&uri).unwrap();
    let now = bman::model::now_ms();
    store.apply(&scenario(now)).unwrap();

    let board = store
        .leaderboard(&LeaderboardQuery {
            mode: Mode::Dm,
            limit: 100,
            offset: 0,
            min_games: None,
            active_since_ms: Some(now - 14 * DAY_MS),
        })
        .unwrap();
    let expected: Vec<(String, f64)> = board
        .iter()
        .map(|r| (r.player.name.clone(), r.stats.rating()))
        .collect();
    assert_eq!(expected.len(), 3, "dave is inactive: {expected:?}");
    let alice = store.profile(&key("alice")).unwrap().unwrap();

    let (coybot, lookup, kills, rounds) = with_db(&uri, async |db| {
        // coybot: name regex, Steam platform "0", then the profile by player.
        let found = find(
            db,
            "players",
            doc! { "name": { "$regex": "alic", "$options": "i" }, "profile.platform": "0" },
        )
        .await;
        assert_eq!(found.len(), 1, "{found:?}");
        let id = found[0].get_object_id("_id").unwrap();
        let profile = find(db, "dm_profiles", doc! { "player": id }).await;
        let lookup = (
            found[0].get_array("name").unwrap()[0].clone(),
            profile[0].get_f64("mu").unwrap(),
            profile[0].get_f64("sigma").unwrap(),
            profile[0].get_i64("kills").unwrap(),
        );
        // coybot's leaderboard: mu - 3*sigma over the last 14 days, joined to players.
        let since = DateTime::from_millis(now - 14 * DAY_MS);
        let pipeline = vec![
            doc! { "$match": { "last_updated": { "$gt": since } } },
            doc! { "$lookup": { "from": "players", "localField": "player", "foreignField": "_id", "as": "p" } },
            doc! { "$unwind": "$p" },
            doc! { "$project": {
                "names": "$p.name",
                "rating": { "$subtract": ["$mu", { "$multiply": [3, "$sigma"] }] },
            } },
            doc! { "$sort": { "rating": -1 } },
        ];
        use futures::TryStreamExt;
        let rows: Vec<Document> = db
            .collection::<Document>("dm_profiles")
            .aggregate(pipeline)
            .await
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        let coybot: Vec<(String, f64)> = rows
            .iter()
            .map(|r| {
                let names = r.get_array("names").unwrap();
                let latest = names.last().and_then(Bson::as_str).unwrap().to_string();
                (latest, r.get_f64("rating").unwrap())
            })
            .collect();
        // dyson-api: a player's kills by killer ObjectId with killer_rating.
        let kills: Vec<(f64, f64)> = find(db, "dm_kills", doc! { "killer": id })
            .await
            .iter()
            .map(|k| {
                let r = k.get_document("killer_rating").unwrap();
                (r.get_f64("mu").unwrap(), r.get_f64("mu_delta").unwrap())
            })
            .collect();
        let rounds = (
            find(db, "tdm_rounds", doc! { "result": "1" }).await.len(),
            find(db, "tdm_rounds", doc! { "result": "2" }).await.len(),
        );
        (coybot, lookup, kills, rounds)
    });
    assert_eq!(coybot, expected, "coybot's leaderboard is bman's");
    let dm = alice.modes.iter().find(|(m, ..)| *m == Mode::Dm).unwrap().1;
    assert_eq!(
        lookup,
        (Bson::String("Alice".into()), dm.mu, dm.sigma, dm.kills),
        "coybot's /profile is bman's"
    );
    let history: Vec<(f64, f64)> = store
        .rating_history(&key("alice"), Mode::Dm)
        .unwrap()
        .iter()
        .map(|p| (p.change.mu, p.change.delta_mu))
        .collect();
    assert_eq!(kills, history[..2], "her two kills, in the order made");
    assert_eq!(rounds, (1, 1));
}

/// bman on a database bman-data wrote: a returning player is matched by
/// bman-data's string platform (no second document), and counters and
/// ratings continue from bman-data's values.
#[test]
fn a_returning_bman_data_player_gets_no_second_document() {
    let Some(uri) = uri("returning") else { return };
    let wolf = ObjectId::new();
    let profile = ObjectId::new();
    let updated = DateTime::from_millis(bman::model::now_ms() - DAY_MS);
    insert_raw(
        &uri,
        &[
            (
                "players",
                vec![doc! {
                    "_id": wolf, "profile": { "platform": "0", "profile": "76561198000000001" },
                    "name": ["Sniper_Wolf"], "ip": ["10.0.0.1"], "color": "255", "premium": "1",
                    "hat": "7", "clan_id": "", "clan_tag": "",
                }],
            ),
            (
                "dm_profiles",
                vec![doc! {
                    "_id": profile, "player": wolf, "mu": 30.0, "sigma": 2.0, "kills": 40_i64,
                    "deaths": 10_i64, "last_updated": updated,
                }],
            ),
        ],
    );
    let store = bman::store::open(&uri).unwrap();
    let returning = PlayerKey {
        store: 0,
        id: "76561198000000001".into(),
    };
    let known = store
        .load_stats(Mode::Dm, std::slice::from_ref(&returning))
        .unwrap();
    let before = known[&returning];
    assert_eq!(
        (before.mu, before.sigma, before.kills, before.deaths),
        (30.0, 2.0, 40, 10)
    );
    assert_eq!(store.find_players("wolf", 5).unwrap()[0].key, returning);

    let now = bman::model::now_ms();
    let batch = WriteBatch {
        players: vec![PlayerSeen {
            ip: Some("10.0.0.2".into()),
            ..seen("76561198000000001", "Wolfie", now)
        }],
        facts: vec![fact(
            1,
            Mode::Dm,
            now,
            kill("76561198000000001", "newbie", "5"),
            vec![(returning.clone(), change(30.5, 1.9, 1000.0))],
        )],
        stats: vec![(
            returning.clone(),
            Mode::Dm,
            ModeStats {
                mu: 30.5,
                sigma: 1.9,
                kills: before.kills + 1,
                last_updated_ms: now,
                ..before
            },
        )],
        checkpoints: vec![],
    };
    store.apply(&batch).unwrap();
    let dump = assert_schema(&uri);
    let wolves: Vec<&Document> = dump["players"]
        .iter()
        .filter(|p| {
            p.get_document("profile")
                .unwrap()
                .get_str("profile")
                .unwrap()
                == "76561198000000001"
        })
        .collect();
    assert_eq!(wolves.len(), 1, "no second document: {wolves:?}");
    assert_eq!(wolves[0].get_object_id("_id").unwrap(), wolf);
    assert_eq!(
        wolves[0].get_array("name").unwrap(),
        &vec![
            Bson::String("Sniper_Wolf".into()),
            Bson::String("Wolfie".into())
        ]
    );
    assert_eq!(
        wolves[0].get_str("color").unwrap(),
        "255",
        "bman-data's value kept"
    );
    let profiles = &dump["dm_profiles"];
    let wolf_profile = profiles
        .iter()
        .find(|p| p.get_object_id("player").unwrap() == wolf)
        .unwrap();
    assert_eq!(
        wolf_profile.get_object_id("_id").unwrap(),
        profile,
        "the same profile"
    );
    assert_eq!(wolf_profile.get_i64("kills").unwrap(), 41);
    let kill = &dump["dm_kills"][0];
    assert_eq!(kill.get_object_id("killer").unwrap(), wolf);
    assert_eq!(kill.get_object_id("killer_profile").unwrap(), profile);
    let shown = store.profile(&returning).unwrap().unwrap();
    assert_eq!(shown.names, ["Sniper_Wolf", "Wolfie"]);
    assert_eq!((shown.color.as_deref(), shown.premium), (Some("255"), true));
    assert_eq!(shown.modes[0].1.kills, 41);
}

/// `bman migrate` into MongoDB writes bman-data's shapes, and back out
/// answers the same.
#[test]
fn migrate_into_mongodb_keeps_bman_data_shapes() {
    let Some(uri) = uri("migrate") else { return };
    let dir = tempfile::tempdir().unwrap();
    let sqlite = |name: &str| {
        bman::store::open(&format!("sqlite://{}", dir.path().join(name).display())).unwrap()
    };
    let source = sqlite("source.sqlite3");
    source.apply(&scenario(bman::model::now_ms())).unwrap();
    let mongo = bman::store::open(&uri).unwrap();
    let counts = bman::migrate::migrate(source.as_ref(), mongo.as_ref(), &|_, _| {}).unwrap();
    assert_eq!((counts.players, counts.facts), (4, 20), "{counts}");
    let dump = assert_schema(&uri);
    assert_eq!(count(&dump, "dm_kills"), 3);
    let back = sqlite("back.sqlite3");
    bman::migrate::migrate(mongo.as_ref(), back.as_ref(), &|_, _| {}).unwrap();
    for mode in Mode::ALL {
        let all = LeaderboardQuery::everyone(mode, 100);
        assert_eq!(
            back.leaderboard(&all).unwrap(),
            source.leaderboard(&all).unwrap()
        );
        assert_eq!(back.facts(mode).unwrap(), source.facts(mode).unwrap());
    }
    assert_eq!(
        back.profile(&key("alice")).unwrap(),
        source.profile(&key("alice")).unwrap()
    );
}

/// A player who only chatted gets the profile bman-data's message refers
/// to, but no stats: not on the leaderboard, also after a restart.
#[test]
fn a_chat_only_player_has_a_profile_document_but_no_stats() {
    let Some(uri) = uri("chat_only") else { return };
    let store = bman::store::open(&uri).unwrap();
    let batch = WriteBatch {
        players: vec![seen("erin", "Erin", 5)],
        facts: vec![fact(1, Mode::Ctf, 10, chat(Some("erin"), "hi"), vec![])],
        ..WriteBatch::default()
    };
    store.apply(&batch).unwrap();
    let dump = assert_schema(&uri);
    assert_eq!(count(&dump, "ctf_profiles"), 1);
    drop(store);
    let reopened = bman::store::open(&uri).unwrap();
    let all = LeaderboardQuery::everyone(Mode::Ctf, 10);
    assert_eq!(reopened.leaderboard(&all).unwrap(), []);
    assert_eq!(reopened.profile(&key("erin")).unwrap().unwrap().modes, []);
    assert!(reopened
        .load_stats(Mode::Ctf, &[key("erin")])
        .unwrap()
        .is_empty());
}
