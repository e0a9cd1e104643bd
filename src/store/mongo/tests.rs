//! Pins the exact documents the MongoDB store sends, and that documents in
//! bman-data's shapes (string numbers, missing fields) decode.
use super::*;

fn key(id: &str) -> PlayerKey {
    PlayerKey {
        store: 0,
        id: id.into(),
    }
}

fn change() -> RatingChange {
    RatingChange {
        mu: 26.0,
        sigma: 8.0,
        elo: 1000.0,
        delta_mu: 1.0,
        delta_sigma: -0.5,
        delta_elo: 0.0,
    }
}

fn kill(seq: i64) -> StoredFact {
    StoredFact {
        seq,
        record: FactRecord {
            server: "s1".into(),
            mode: Mode::Dm,
            time_ms: 1_000,
            match_id: None,
            fact: Fact::Kill(KillFact {
                killer: key("a"),
                victim: key("b"),
                weapon: Some("pistol".into()),
                headshot: false,
                teamkill: false,
                killer_at: None,
                victim_at: None,
            }),
        },
        changes: vec![(key("a"), change())],
    }
}

/// Documents of one collection in the bman-data fixture, extended JSON decoded.
fn fixture(collection: &str) -> Vec<Document> {
    let all: serde_json::Value =
        serde_json::from_str(include_str!("../../../tests/data/bman_data_fixture.json")).unwrap();
    all[collection]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| match bson_from_extended_json(d).unwrap() {
            Bson::Document(d) => d,
            other => panic!("not a document: {other}"),
        })
        .collect()
}

fn oid(n: u8) -> ObjectId {
    ObjectId::parse_str(format!("60a0000000000000000000{n:02x}")).unwrap()
}

#[test]
fn facts_go_to_bman_data_collections_where_bman_data_has_one() {
    let c = |mode, fact: Fact| bman_data_collection(mode, &fact);
    assert_eq!(c(Mode::Dm, kill(1).record.fact), Some("dm_kills".into()));
    assert_eq!(c(Mode::Tdm, kill(1).record.fact), Some("tdm_kills".into()));
    assert_eq!(
        c(Mode::Zbr, kill(1).record.fact),
        None,
        "zombrains is bman's own"
    );
    assert_eq!(
        c(
            Mode::Svl,
            Fact::NpcKill {
                player: key("a"),
                npc: None
            }
        ),
        Some("svl_kills".into())
    );
    let npc_death = Fact::NpcDeath {
        player: key("a"),
        npc: None,
    };
    assert_eq!(c(Mode::Zbr, npc_death), None, "zombrains is bman's own");
    assert_eq!(c(Mode::Zbr, Fact::Escape { player: key("a") }), None);
    let wave = WaveFact {
        wave: 3,
        enemies: None,
        chests: None,
        chest_price: None,
        players: vec![],
    };
    assert_eq!(c(Mode::Svl, Fact::Wave(wave)), Some("svl_rounds".into()));
    let capture = |carrier| CaptureFact {
        carrier,
        scoring_team: 1,
        scoring: vec![],
        other: vec![],
    };
    assert_eq!(
        c(Mode::Ctf, Fact::Capture(capture(Some(key("a"))))),
        Some("ctf_scores".into())
    );
    assert_eq!(
        c(Mode::Ctf, Fact::Capture(capture(None))),
        None,
        "a bot's capture"
    );
    let chat = |player| ChatFact {
        player,
        name: None,
        message: "gg".into(),
        team: None,
    };
    assert_eq!(
        c(Mode::Svl, Fact::Chat(chat(Some(key("a"))))),
        Some("svl_messages".into())
    );
    assert_eq!(
        c(Mode::Dm, Fact::Chat(chat(None))),
        None,
        "the server's own line"
    );
    assert_eq!(profiles_collection(Mode::Tdm), "tdm_profiles");
}

#[test]
fn player_sighting_documents() {
    let seen = PlayerSeen {
        key: key("p1"),
        name: Some("ÉLan".into()),
        ip: Some("10.0.0.1".into()),
        color: Some("red".into()),
        premium: Some(true),
        hat: None,
        clan_id: None,
        clan_tag: Some("[C]".into()),
        level: Some(12),
        seen_ms: 500,
    };
    assert_eq!(
        player_filter(&seen.key),
        doc! { "profile.platform": "0", "profile.profile": "p1" },
        "bman-data's string platform"
    );
    assert_eq!(
        seen_update(&seen),
        doc! {
            "$setOnInsert": { "hat": "0", "clan_id": "" },
            "$set": { "color": "red", "clan_tag": "[C]", "premium": "1" },
            "$addToSet": { "name": "ÉLan", "ip": "10.0.0.1" },
        }
    );
    assert_eq!(
        bare_player_update(),
        doc! { "$setOnInsert": {
            "name": [], "ip": [], "color": "0", "premium": "0", "hat": "0", "clan_id": "", "clan_tag": "",
        } }
    );
    let id = oid(1);
    assert_eq!(
        bman_seen_updates(id, &seen),
        vec![
            doc! {
                "q": { "_id": id },
                "u": {
                    "$setOnInsert": {
                        "platform": 0, "profile": "p1",
                        "unknown": ["color", "hat", "clan_id", "clan_tag"],
                    },
                    "$min": { "first_seen": DateTime::from_millis(500) },
                    "$max": { "last_seen": DateTime::from_millis(500) },
                    "$addToSet": { "name_lower": "élan" },
                    "$set": { "display_name": "ÉLan", "level": 12_i64 },
                },
                "upsert": true,
            },
            doc! { "q": { "_id": id }, "u": { "$pull": { "unknown": { "$in": ["color", "clan_tag"] } } } },
        ]
    );
    assert_eq!(
        name_upsert(id, "ÉLan", 500),
        doc! {
            "q": { "player": id, "name": "ÉLan" },
            "u": { "$min": { "first_used": DateTime::from_millis(500) } },
            "upsert": true,
        }
    );
}

#[test]
fn fact_documents() {
    let fact = StoredFact {
        record: FactRecord {
            match_id: Some("s1:900".into()),
            ..kill(3).record
        },
        ..kill(3)
    };
    let data = serde_json::to_string(&fact.record.fact).unwrap();
    let change = doc! {
        "platform": 0, "profile": "a", "mu": 26.0, "sigma": 8.0, "elo": 1000.0,
        "delta_mu": 1.0, "delta_sigma": -0.5, "delta_elo": 0.0,
    };
    let stored = doc! {
        "seq": 3_i64, "mode": "dm", "server": "s1", "time_ms": 1000_i64,
        "time": DateTime::from_millis(1000), "match_id": "s1:900",
        "data": &data, "changes": [change], "doc": "dm_kills",
    };
    assert_eq!(bman_fact_doc(&fact, data.clone()), stored);
    assert_eq!(fact_from_doc(Mode::Dm, &stored).unwrap(), fact);
    let upserted = bman_fact_upsert(&fact).unwrap();
    assert_eq!(
        upserted.get_document("q").unwrap(),
        &doc! { "seq": 3_i64, "data": &data }
    );
    assert!(upserted
        .get_document("u")
        .unwrap()
        .get_document("$setOnInsert")
        .unwrap()
        .get_object_id("_id")
        .is_ok());
    assert_eq!(
        (match_key(&fact.record), match_start_ms(&fact.record)),
        ("dm|s1:900".into(), 900)
    );

    let b_stats = ModeStats {
        mu: 24.0,
        sigma: 7.0,
        ..ModeStats::initial(&Default::default())
    };
    let refs = write::Refs {
        players: [(key("a"), oid(1)), (key("b"), oid(2))].into(),
        profiles: [((Mode::Dm, oid(1)), oid(11)), ((Mode::Dm, oid(2)), oid(12))].into(),
        matches: [("dm|s1:900".to_string(), oid(20))].into(),
        stats: [((key("b"), Mode::Dm), b_stats)].into(),
        waves: [(7, oid(30))].into(),
    };
    assert_eq!(
        write::bman_data_doc(&fact, &refs).unwrap().unwrap(),
        doc! {
            "killer": oid(1), "victim": oid(2), "killer_profile": oid(11), "victim_profile": oid(12),
            "killer_rating": { "mu": 26.0, "sigma": 8.0, "mu_delta": 1.0, "sigma_delta": -0.5 },
            "victim_rating": { "mu": 24.0, "sigma": 7.0, "mu_delta": 0.0, "sigma_delta": 0.0 },
            "weapon": "pist", "killer_location": "", "victim_location": "",
            "date_created": DateTime::from_millis(1000), "match": oid(20),
        }
    );

    // Survival: an NPC kill in a wave bman saw, and one before any.
    let npc_kill = |seq| StoredFact {
        seq,
        record: FactRecord {
            mode: Mode::Svl,
            fact: Fact::NpcKill {
                player: key("a"),
                npc: Some(NpcEncounter {
                    enemy_type: Some("Zombie".into()),
                    enemy_rank: Some("2".into()),
                    weapon: None,
                }),
            },
            ..fact.record.clone()
        },
        changes: Vec::new(),
    };
    assert_eq!(
        write::bman_data_doc(&npc_kill(7), &refs).unwrap().unwrap(),
        doc! {
            "killer": oid(1), "enemy_rank": "2", "enemy_type": "Zombie", "weapon": "",
            "date_created": DateTime::from_millis(1000), "current_round": oid(30),
        }
    );
    assert_eq!(write::bman_data_doc(&npc_kill(8), &refs).unwrap(), None);

    let loadout = Loadout {
        weap1: Some("12".into()),
        offweap: Some("3".into()),
        ..Loadout::default()
    };
    assert_eq!(
        loadout_doc(oid(11), oid(40), &loadout),
        doc! {
            "tdm_player": oid(11), "tdm_round": oid(40), "weap1": "12", "weap2": "",
            "dual": "", "equip": "", "offweap": "3", "offweap2": "",
        }
    );
    assert_ne!(loadout_id(oid(40), 0), loadout_id(oid(40), 1));
    assert_eq!(loadout_id(oid(40), 1), loadout_id(oid(40), 1));
}

#[test]
fn audit_documents() {
    let record = AuditRecord {
        time_ms: 1_000,
        user_id: 80_351_110_224_678_912,
        user_name: "Admin".into(),
        server: "eu-tdm".into(),
        command: "kick Bob (afk)".into(),
        allowed: true,
        result: "kicked".into(),
    };
    let stored = doc! {
        "time_ms": 1000_i64, "time": DateTime::from_millis(1000),
        "user_id": 80_351_110_224_678_912_i64, "user_name": "Admin", "server": "eu-tdm",
        "command": "kick Bob (afk)", "allowed": true, "result": "kicked",
    };
    assert_eq!(audit_doc(&record).unwrap(), stored);
    assert_eq!(audit_from_doc(&stored).unwrap(), record);
    let too_large = AuditRecord {
        user_id: u64::MAX,
        ..record
    };
    assert!(matches!(audit_doc(&too_large), Err(StoreError::Backend(_))));
    let mut negative = stored.clone();
    negative.insert("user_id", -1_i64);
    assert!(matches!(
        audit_from_doc(&negative),
        Err(StoreError::Corrupt(_))
    ));
    let mut unflagged = stored;
    unflagged.remove("allowed");
    assert!(matches!(
        audit_from_doc(&unflagged),
        Err(StoreError::Corrupt(_))
    ));
}

#[test]
fn stats_and_checkpoint_documents() {
    let id = oid(1);
    let s = ModeStats {
        kills: 4,
        best_wave: 2,
        escapes: 1,
        last_updated_ms: 9,
        ..ModeStats::initial(&Default::default())
    };
    let set = bman_stats_set(Mode::Zbr, id, &s);
    assert_eq!(
        set,
        doc! { "$set": {
            "mode": "zbr", "player": id, "mu": s.mu, "sigma": s.sigma, "volatility": 0.06, "elo": 1000.0,
            "rating": s.rating(),
            "games": 0_i64, "kills": 4_i64, "deaths": 0_i64, "wins": 0_i64, "losses": 0_i64, "draws": 0_i64,
            "captures": 0_i64, "best_wave": 2_i64, "npc_kills": 0_i64, "npc_deaths": 0_i64, "matches": 0_i64,
            "escapes": 1_i64, "last_updated": DateTime::from_millis(9),
        } }
    );
    assert_eq!(
        stats_from_doc(set.get_document("$set").unwrap()).unwrap(),
        s
    );
    let date = DateTime::from_millis(9);
    assert_eq!(
        profile_fields(Mode::Dm, &s),
        doc! { "mu": s.mu, "sigma": s.sigma, "kills": 4_i64, "deaths": 0_i64, "last_updated": date }
    );
    assert_eq!(
        profile_fields(Mode::Tdm, &s),
        doc! { "mu": s.mu, "sigma": s.sigma, "kills": 4_i64, "deaths": 0_i64, "last_updated": date,
        "elo": 1000.0, "wins": 0_i64, "losses": 0_i64 }
    );
    assert_eq!(
        profile_fields(Mode::Ctf, &s),
        doc! { "mu": s.mu, "sigma": s.sigma, "kills": 4_i64, "deaths": 0_i64, "last_updated": date,
        "wins": 0_i64, "losses": 0_i64, "captures": 0_i64, "games": 0_i64 }
    );
    let cp = Checkpoint {
        server: "s".into(),
        epoch: 2,
        offset: 30,
        snapshot_offset: 20,
        snapshot: None,
    };
    let up = checkpoint_upsert(&cp).unwrap();
    assert_eq!(
        up,
        doc! {
            "q": { "server": "s", "epoch": 2_i64 },
            "u": { "$set": { "offset": 30_i64, "snapshot_offset": 20_i64, "snapshot": Bson::Null } },
            "upsert": true,
        }
    );
    let mut stored = up.get_document("q").unwrap().clone();
    stored.extend(
        up.get_document("u")
            .unwrap()
            .get_document("$set")
            .unwrap()
            .clone(),
    );
    assert_eq!(checkpoint_from_doc(&stored).unwrap(), cp);
}

#[test]
fn query_documents() {
    let query = LeaderboardQuery {
        mode: Mode::Dm,
        limit: 5,
        offset: 0,
        min_games: Some(3),
        active_since_ms: Some(10),
    };
    assert_eq!(
        leaderboard_filter(&query),
        doc! { "mode": "dm", "games": { "$gte": 3_i64 }, "last_updated": { "$gte": DateTime::from_millis(10) } }
    );
    assert_eq!(
        leaderboard_sort(Mode::Ctf),
        doc! { "rating": -1, "games": -1, "player": 1 }
    );
    assert_eq!(
        leaderboard_sort(Mode::Svl),
        doc! { "best_wave": -1, "npc_kills": -1, "player": 1 }
    );
    let id = ObjectId::parse_str("60a000000000000000000001").unwrap();
    let s = ModeStats {
        games: 4,
        ..ModeStats::initial(&Default::default())
    };
    assert_eq!(
        rank_filters(Mode::Dm, id, &s),
        [
            doc! { "mode": "dm", "rating": { "$gt": s.rating() } },
            doc! { "mode": "dm", "rating": s.rating(), "$or": [{ "games": { "$gt": 4_i64 } }, { "games": 4_i64, "player": { "$lt": id } }] },
        ]
    );
    // User input is a $literal separator, never a pattern or a field path.
    assert_eq!(
        name_search_filter("$name.*"),
        doc! { "$expr": { "$gt": [
            { "$size": { "$filter": {
                "input": { "$ifNull": ["$name_lower", []] },
                "cond": { "$gt": [{ "$size": { "$split": ["$$this", { "$literal": "$name.*" }] } }, 1] },
            } } },
            0,
        ] } }
    );
    assert_eq!(recent_first(), doc! { "last_seen": -1, "_id": -1 });
}

#[test]
fn legacy_players_decode() {
    let docs: Vec<PlayerDoc> = fixture("players")
        .iter()
        .map(|d| player_from_docs(d, None).unwrap())
        .collect();
    assert_eq!(docs[0].legacy_names, ["Sniper_Wolf", "Wolfie"]);
    let players: Vec<&PlayerExport> = docs.iter().map(|d| &d.player).collect();
    assert_eq!(players[0].key, key("76561198000000001"));
    assert_eq!(
        players[0].display_name, "Wolfie",
        "the last of name[] without display_name"
    );
    let ips: Vec<&str> = players[0].ips.iter().map(|(ip, _)| ip.as_str()).collect();
    assert_eq!(ips, ["10.0.0.1", "10.0.0.2"]);
    assert_eq!(
        players[1].key,
        PlayerKey {
            store: 2,
            id: "itch-7".into()
        },
        "string platform"
    );
    assert_eq!(
        (players[2].display_name.as_str(), docs[2].legacy_names.len()),
        ("3", 0)
    );
    assert_eq!((players[2].first_seen_ms, players[2].premium), (0, false));
}

#[test]
fn legacy_profiles_decode() {
    let initial = ModeStats::initial(&Default::default());
    let dm: Vec<ModeStats> = fixture("dm_profiles")
        .iter()
        .map(|d| stats_from_doc(d).unwrap())
        .collect();
    assert_eq!(
        dm[0],
        ModeStats {
            mu: 27.5,
            sigma: 6.25,
            kills: 12,
            deaths: 3,
            last_updated_ms: 1_619_827_200_000,
            ..initial
        }
    );
    assert_eq!(
        dm[1],
        ModeStats {
            mu: 20.0,
            ..initial
        },
        "missing fields are a new player's"
    );
    let tdm = stats_from_doc(&fixture("tdm_profiles")[0]).unwrap();
    assert_eq!(
        (tdm.elo, tdm.wins, tdm.losses, tdm.kills, tdm.sigma),
        (1032.5, 4, 2, 10, 8.0)
    );
    assert_eq!(
        stats_from_doc(&fixture("ctf_profiles")[0])
            .unwrap()
            .captures,
        2
    );
    let bad = doc! { "kills": "twelve" };
    assert!(matches!(stats_from_doc(&bad), Err(StoreError::Corrupt(_))));
    assert!(matches!(
        stats_from_doc(&doc! { "kills": 1.5 }),
        Err(StoreError::Corrupt(_))
    ));
}

#[test]
fn open_errors_never_show_credentials() {
    let uri = "mongodb://bm:p%40ss@db.example:27017/bmdb";
    assert_eq!(
        without_credentials(
            uri,
            "auth failed for bm:p%40ss at db.example, password p%40ss"
        ),
        "auth failed for *** at db.example, password ***"
    );
    assert_eq!(without_credentials("mongodb://h/db", "text"), "text");
}

#[test]
fn kill_locations_fit_bman_data_twenty_characters() {
    let at = |x, y| Some(Position { x, y });
    assert_eq!(location(None), "");
    assert_eq!(location(at(1234.5, -88.0)), "1234.5,-88");
    // Too long as sent: fewer decimals, never a cut number.
    assert_eq!(location(at(1234.56789123, -88.987654321)), "1234.57,-88.99");
    assert_eq!(
        location(at(123456789.25, -987654321.75)),
        "123456789,-987654322"
    );
    assert_eq!(location(at(1e30, 1.0)), "", "no decimals make it fit");
    for x in [0.1, -1e6 / 3.0, 99_999.999_99, 1e17] {
        assert!(location(at(x, x)).chars().count() <= 20, "{x}");
    }
}

#[test]
fn rating_instance_ids_are_stable_dated_like_their_fact_and_distinct() {
    let fact = ObjectId::parse_str("65f0a1b2c3d4e5f601020304").unwrap();
    let (a, b) = (oid(1), oid(2));
    let id = instance_id(fact, a);
    assert_eq!(id, instance_id(fact, a), "the same document every time");
    // Pinned (FNV-1a computed independently): the id of a stored instance
    // must never change between releases.
    assert_eq!(id.to_hex(), "65f0a1b21c75556a211492c4");
    assert_ne!(id, instance_id(fact, b));
    assert_ne!(id, instance_id(oid(9), a));
    assert_ne!(id, fact);
    assert_eq!(id.timestamp(), fact.timestamp());
}
