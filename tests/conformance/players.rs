//! Players: merging sightings, keys across stores, name search, profiles,
//! and removing the bots earlier releases stored as players.

use super::support::*;
use bman::model::*;
use bman::store::*;

fn found(store: &dyn Store, query: &str) -> Vec<String> {
    let found = store.find_players(query, 10).unwrap();
    found.into_iter().map(|p| p.key.id).collect()
}

pub fn player_merge(store: &dyn Store) {
    let full = PlayerSeen {
        key: key("p1"),
        name: Some("First".into()),
        ip: Some("10.0.0.1".into()),
        color: Some("red".into()),
        premium: Some(true),
        hat: Some("cap".into()),
        clan_id: Some("c1".into()),
        clan_tag: Some("[C]".into()),
        level: Some(2656),
        seen_ms: 500,
    };
    apply(
        store,
        WriteBatch {
            players: vec![full.clone()],
            ..WriteBatch::default()
        },
    );
    apply(
        store,
        WriteBatch {
            players: vec![
                // Older sighting: moves first_seen back, adds a name and an IP.
                PlayerSeen {
                    name: Some("Zero".into()),
                    ip: Some("10.0.0.2".into()),
                    color: None,
                    premium: None,
                    hat: None,
                    seen_ms: 100,
                    ..full.clone()
                },
                // Nothing but a time: the latest non-None values stay.
                seen("p1", None, 900),
                // The same name and IP again: sets, not lists.
                PlayerSeen {
                    name: Some("First".into()),
                    ip: Some("10.0.0.1".into()),
                    color: Some("blue".into()),
                    hat: None,
                    level: Some(2657),
                    seen_ms: 700,
                    ..full.clone()
                },
                PlayerSeen {
                    name: Some("Latest".into()),
                    seen_ms: 800,
                    ..seen("p1", None, 0)
                },
            ],
            ..WriteBatch::default()
        },
    );
    let p = store.profile(&key("p1")).unwrap().expect("merged player");
    assert_eq!(
        p.player,
        PlayerSummary {
            key: key("p1"),
            name: "Latest".into()
        }
    );
    assert_eq!(
        p.names,
        ["Zero", "First", "Latest"],
        "every name once, oldest first"
    );
    assert_eq!(p.color.as_deref(), Some("blue"));
    assert!(p.premium);
    assert_eq!(p.hat.as_deref(), Some("cap"));
    assert_eq!(p.clan_id.as_deref(), Some("c1"));
    assert_eq!(p.clan_tag.as_deref(), Some("[C]"));
    assert_eq!((p.first_seen_ms, p.last_seen_ms), (100, 900));
    assert_eq!(p.level, Some(2657), "the latest level seen");
    assert!(p.modes.is_empty());
    assert_eq!(store.profile(&key("nobody")).unwrap(), None);

    // A player named only by a fact exists, displayed by profile id.
    apply(
        store,
        WriteBatch {
            facts: vec![kill(1, "p1", "ghost", 26.0, 24.0)],
            ..WriteBatch::default()
        },
    );
    let ghost = store
        .profile(&key("ghost"))
        .unwrap()
        .expect("player from a fact");
    assert_eq!(ghost.player.name, "ghost");
    assert!(ghost.names.is_empty());
    assert!(!ghost.premium);
    assert_eq!((ghost.first_seen_ms, ghost.last_seen_ms), (1000, 1000));
}

pub fn same_id_two_stores(store: &dyn Store) {
    let steam = key("123");
    let itch = PlayerKey {
        store: 2,
        id: "123".into(),
    };
    apply(
        store,
        WriteBatch {
            players: vec![
                seen("123", Some("OnSteam"), 1),
                PlayerSeen {
                    key: itch.clone(),
                    ..seen("", Some("OnItch"), 2)
                },
            ],
            stats: vec![(steam.clone(), Mode::Dm, stats(30.0, 1.0, 5, 1))],
            ..WriteBatch::default()
        },
    );
    assert_eq!(store.profile(&steam).unwrap().unwrap().names, ["OnSteam"]);
    let on_itch = store.profile(&itch).unwrap().unwrap();
    assert_eq!(on_itch.names, ["OnItch"]);
    assert!(
        on_itch.modes.is_empty(),
        "stats belong to the Steam player only"
    );
    let mut both = store.find_players("123", 10).unwrap();
    both.sort_by_key(|p| p.key.store);
    assert_eq!(
        both,
        [
            PlayerSummary {
                key: steam,
                name: "OnSteam".into()
            },
            PlayerSummary {
                key: itch,
                name: "OnItch".into()
            },
        ]
    );
}

pub fn find_players(store: &dyn Store) {
    apply(
        store,
        WriteBatch {
            players: vec![
                seen("76561198000000001", Some("Sniper_Wolf"), 10),
                seen("76561198000000001", Some("Wolfie"), 50),
                seen("2", Some("100% Legit"), 20),
                seen("3", Some("lone_wolf"), 30),
                seen("4", Some("a\\b"), 40),
                seen("5", Some("xyz"), 60),
                seen("wolf", Some("NotTheWolfYouWant"), 5),
            ],
            ..WriteBatch::default()
        },
    );
    // Exact profile id wins over name matches.
    assert_eq!(found(store, "76561198000000001"), ["76561198000000001"]);
    assert_eq!(found(store, "wolf"), ["wolf"]);
    // Substring over every name ever used, case-insensitive, most recently seen first.
    assert_eq!(found(store, "WOLF"), ["76561198000000001", "3", "wolf"]);
    assert_eq!(
        found(store, "iper_w"),
        ["76561198000000001"],
        "old names match too"
    );
    assert_eq!(
        found(store, "wo"),
        ["76561198000000001", "3", "wolf"],
        "short queries"
    );
    assert_eq!(store.find_players("WOLF", 2).unwrap().len(), 2);
    assert!(store.find_players("wolf", 0).unwrap().is_empty());
    let summary = &store.find_players("sniper", 10).unwrap()[0];
    assert_eq!(summary.name, "Wolfie", "summaries show the latest name");
    // Pattern characters are literals.
    assert_eq!(found(store, "%"), ["2"]);
    assert_eq!(found(store, "0% l"), ["2"]);
    assert_eq!(found(store, "_"), ["76561198000000001", "3"]);
    assert_eq!(found(store, "r_w"), ["76561198000000001"]);
    assert_eq!(found(store, "\\"), ["4"]);
    assert_eq!(found(store, "a\\b"), ["4"]);
    assert!(found(store, "w%f").is_empty());
    assert!(found(store, "s.*r").is_empty());
    assert!(found(store, "\"wolf").is_empty());
    assert!(found(store, "nobody at all").is_empty());
    assert!(found(store, HOSTILE).is_empty());
}

pub fn find_players_unicode(store: &dyn Store) {
    apply(
        store,
        WriteBatch {
            players: vec![
                seen("1", Some("└┐Élan┌┘"), 10),
                seen("2", Some("ÅSA"), 20),
                seen("3", Some("Straße"), 30),
                seen("4", Some("ΣΊΣΥΦΟΣ"), 40),
                seen("5", Some(HOSTILE), 50),
            ],
            ..WriteBatch::default()
        },
    );
    assert_eq!(found(store, "└┐"), ["5", "1"]);
    assert_eq!(found(store, "élan"), ["1"]);
    assert_eq!(found(store, "ÉLAN┌"), ["1"]);
    assert_eq!(found(store, "å"), ["2"]);
    assert_eq!(found(store, "åsa"), ["2"]);
    assert_eq!(
        found(store, "STRASSE"),
        Vec::<String>::new(),
        "no full case folding, only lowercase"
    );
    assert_eq!(found(store, "STRAßE"), ["3"]);
    assert_eq!(found(store, "σίσ"), ["4"]);
    assert_eq!(found(store, "drop table"), ["5"]);
    assert_eq!(found(store, HOSTILE), ["5"]);
    assert_eq!(found(store, "\"└┐ '"), ["5"]);
    assert_eq!(store.find_players("└┐élan", 1).unwrap()[0].name, "└┐Élan┌┘");
}

pub fn profile(store: &dyn Store) {
    dm_players(
        store,
        &[
            ("a", "A", 40.0, 5, 1),
            ("b", "B", 30.0, 5, 1),
            ("c", "C", 30.0, 7, 1),
        ],
    );
    apply(
        store,
        WriteBatch {
            stats: vec![
                (key("b"), Mode::Tdm, stats(10.0, 1.0, 1, 1)),
                (key("b"), Mode::Ctf, stats(10.0, 1.0, 1, 1)),
                (key("a"), Mode::Ctf, stats(5.0, 1.0, 1, 1)),
            ],
            ..WriteBatch::default()
        },
    );
    let b = store.profile(&key("b")).unwrap().unwrap();
    let modes: Vec<(Mode, usize)> = b.modes.iter().map(|(m, _, rank)| (*m, *rank)).collect();
    // dm: behind a, and behind c (same rating, more games).
    assert_eq!(modes, [(Mode::Dm, 3), (Mode::Tdm, 1), (Mode::Ctf, 1)]);
    assert_eq!(b.modes[0].1, stats(30.0, 1.0, 5, 1));
    let ranks: Vec<usize> = ["a", "c"]
        .iter()
        .map(|id| store.profile(&key(id)).unwrap().unwrap().modes[0].2)
        .collect();
    assert_eq!(ranks, [1, 2]);
    // Profile rank equals the unfiltered leaderboard rank.
    for row in store.leaderboard(&board(Mode::Dm, 10, 0)).unwrap() {
        let p = store.profile(&row.player.key).unwrap().unwrap();
        assert_eq!(p.modes[0].2, row.rank);
    }
}

/// What an earlier release stored for bots with Steam-looking profiles is
/// found and removed with everything of theirs; humans and facts stay.
pub fn bot_players_and_removal(store: &dyn Store) {
    let mut batch = sample_batch();
    batch.players.extend([
        PlayerSeen {
            ip: Some("10.9.9.9".into()),
            ..seen("bot2", Some("Bloody Nickel"), 30)
        },
        seen("bot13", Some("Selfish Kevin"), 30),
        seen("botany", Some("bot3"), 30),
    ]);
    batch.facts.push(kill(4, "alice", "bot2", 28.0, 20.0));
    batch
        .stats
        .push((key("bot2"), Mode::Dm, stats(20.0, 7.0, 1, 4000)));
    apply(store, batch);
    let mut found = store.bot_players().unwrap();
    found.sort();
    assert_eq!(found, [key("bot13"), key("bot2")]);

    assert_eq!(store.remove_players(&found).unwrap(), 2);
    assert_eq!(store.bot_players().unwrap(), []);
    assert_eq!(store.profile(&key("bot2")).unwrap(), None);
    assert!(store
        .rating_history(&key("bot2"), Mode::Dm)
        .unwrap()
        .is_empty());
    assert!(store.find_players("Nickel", 10).unwrap().is_empty());
    assert!(store.find_players("Kevin", 10).unwrap().is_empty());
    assert_eq!(
        ids(&store.leaderboard(&board(Mode::Dm, 10, 0)).unwrap()),
        ["alice", "bob"]
    );
    let exported: Vec<String> = store
        .export_players()
        .unwrap()
        .into_iter()
        .map(|p| p.key.id)
        .collect();
    assert_eq!(exported, ["alice", "bob", "botany"]);
    // Humans keep everything; the facts stay as recorded.
    assert_eq!(
        store.rating_history(&key("alice"), Mode::Dm).unwrap().len(),
        4
    );
    assert_eq!(store.facts(Mode::Dm).unwrap().len(), 4);
    assert_eq!(
        store.remove_players(&[key("bot2")]).unwrap(),
        0,
        "idempotent"
    );
}
