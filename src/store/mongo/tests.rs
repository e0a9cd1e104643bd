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

#[test]
fn collections_use_bman_data_names() {
    let f = |fact| fact_collection(Mode::Svl, &fact);
    assert_eq!(fact_collection(Mode::Dm, &kill(1).record.fact), "dm_kills");
    assert_eq!(f(Fact::NpcKill { player: key("a") }), "svl_kills");
    assert_eq!(f(Fact::NpcDeath { player: key("a") }), "svl_deaths");
    let wave = WaveFact {
        wave: 3,
        enemies: None,
        chests: None,
        chest_price: None,
        players: vec![],
    };
    assert_eq!(f(Fact::Wave(wave)), "svl_rounds");
    let capture = CaptureFact {
        carrier: None,
        scoring_team: 1,
        scoring: vec![],
        other: vec![],
    };
    assert_eq!(
        fact_collection(Mode::Ctf, &Fact::Capture(capture)),
        "ctf_scores"
    );
    assert_eq!(profiles_collection(Mode::Tdm), "tdm_profiles");
    assert_eq!(fact_collections(Mode::Tdm).count(), FACT_SUFFIXES.len());
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
        level: None,
        seen_ms: 500,
    };
    assert_eq!(
        player_filter(&seen.key),
        doc! { "profile.platform": 0, "profile.profile": "p1" }
    );
    assert_eq!(
        seen_update(&seen),
        doc! {
            "$min": { "first_seen": DateTime::from_millis(500) },
            "$max": { "last_seen": DateTime::from_millis(500) },
            "$set": { "display_name": "ÉLan", "color": "red", "clan_tag": "[C]", "premium": true },
            "$addToSet": { "name": "ÉLan", "name_lower": "élan", "ip": "10.0.0.1" },
        }
    );
    let bare = PlayerSeen {
        name: None,
        ip: None,
        color: None,
        premium: None,
        clan_tag: None,
        ..seen.clone()
    };
    assert_eq!(
        seen_update(&bare),
        doc! { "$min": { "first_seen": DateTime::from_millis(500) }, "$max": { "last_seen": DateTime::from_millis(500) } }
    );
    assert_eq!(
        name_upsert(&seen.key, "ÉLan", 500),
        doc! {
            "q": { "profile.platform": 0, "profile.profile": "p1", "name": "ÉLan" },
            "u": { "$min": { "first_used": DateTime::from_millis(500) } },
            "upsert": true,
        }
    );
    assert_eq!(
        bare_player_update(7),
        doc! { "$setOnInsert": { "first_seen": DateTime::from_millis(7), "last_seen": DateTime::from_millis(7) } }
    );
}

#[test]
fn fact_documents() {
    let fact = kill(3);
    let data = serde_json::to_string(&fact.record.fact).unwrap();
    let change = doc! {
        "platform": 0, "profile": "a", "mu": 26.0, "sigma": 8.0, "elo": 1000.0,
        "delta_mu": 1.0, "delta_sigma": -0.5, "delta_elo": 0.0,
    };
    let stored = doc! {
        "seq": 3_i64, "server": "s1", "mode": "dm", "time_ms": 1000_i64, "time": DateTime::from_millis(1000), "match_id": Bson::Null,
        "data": &data, "changes": [change],
        "killer": { "platform": 0, "profile": "a" }, "victim": { "platform": 0, "profile": "b" }, "weapon": "pistol",
    };
    assert_eq!(fact_doc(&fact).unwrap(), stored);
    assert_eq!(
        fact_upsert(&fact).unwrap(),
        doc! { "q": { "seq": 3_i64, "data": &data }, "u": { "$set": stored.clone() }, "upsert": true }
    );
    assert_eq!(fact_from_doc(Mode::Dm, &stored).unwrap(), fact);
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
    let id = ObjectId::parse_str("60a000000000000000000001").unwrap();
    let s = ModeStats {
        kills: 4,
        best_wave: 2,
        last_updated_ms: 9,
        ..ModeStats::initial(&Default::default())
    };
    let set = stats_set(id, &s);
    assert_eq!(
        set,
        doc! { "$set": {
            "player": id, "mu": s.mu, "sigma": s.sigma, "elo": 1000.0, "rating": s.rating(),
            "games": 0_i64, "kills": 4_i64, "deaths": 0_i64, "wins": 0_i64, "losses": 0_i64, "draws": 0_i64,
            "captures": 0_i64, "best_wave": 2_i64, "npc_kills": 0_i64, "npc_deaths": 0_i64, "matches": 0_i64, "escapes": 0_i64,
            "last_updated": DateTime::from_millis(9),
        } }
    );
    assert_eq!(
        stats_from_doc(set.get_document("$set").unwrap()).unwrap(),
        s
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
        doc! { "games": { "$gte": 3_i64 }, "last_updated": { "$gte": DateTime::from_millis(10) } }
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
            doc! { "rating": { "$gt": s.rating() } },
            doc! { "rating": s.rating(), "$or": [{ "games": { "$gt": 4_i64 } }, { "games": 4_i64, "player": { "$lt": id } }] },
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
        .map(|d| player_from_doc(d).unwrap())
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
