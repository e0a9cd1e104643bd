//! The backend-agnostic conformance suite for [`Store`].
//!
//! Every check takes a fresh, empty `&dyn Store`; each backend's `#[test]`
//! runs all of [`CHECKS`] on its own fresh stores. SQLite always runs;
//! MongoDB runs when `BMAN_TEST_MONGODB_URI` is set.

mod common;

use bman::model::Mode;
use bman::model::*;
use bman::store::*;
use std::collections::HashMap;

type Check = fn(&dyn Store);

const CHECKS: &[(&str, Check)] = &[
    ("player_merge", check_player_merge),
    ("same_id_two_stores", check_same_id_two_stores),
    ("facts_round_trip", check_facts_round_trip),
    ("rating_history", check_rating_history),
    (
        "leaderboard_order_and_paging",
        check_leaderboard_order_and_paging,
    ),
    ("leaderboard_filters", check_leaderboard_filters),
    ("leaderboard_survival", check_leaderboard_survival),
    ("find_players", check_find_players),
    ("find_players_unicode", check_find_players_unicode),
    ("profile", check_profile),
    ("next_seq", check_next_seq),
    ("checkpoints", check_checkpoints),
    ("load_stats", check_load_stats),
    ("apply_is_atomic", check_apply_is_atomic),
    ("replace_ratings", check_replace_ratings),
    ("audit_log", check_audit_log),
    ("bot_players_and_removal", check_bot_players_and_removal),
];

/// A string that breaks naive SQL, JSON, LIKE patterns and Discord mentions.
const HOSTILE: &str = "@everyone \"└┐ '; DROP TABLE players; -- %_\\ \u{0}é";

#[test]
fn sqlite() {
    for (name, check) in CHECKS {
        let dir = tempfile::tempdir().unwrap();
        let store =
            bman::store::sqlite::SqliteStore::open(&dir.path().join("bman.sqlite3")).unwrap();
        eprintln!("sqlite: {name}");
        check(&store);
    }
}

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

#[test]
fn mongodb() {
    let Some(base) = common::mongo_uri() else {
        eprintln!(
            "skipped: set BMAN_TEST_MONGODB_URI to run the conformance suite against MongoDB"
        );
        return;
    };
    for (name, check) in CHECKS {
        let store = open_mongo(&base, name);
        eprintln!("mongodb: {name}");
        check(store.as_ref());
    }
}

/// A fresh, empty MongoDB store: the URI's database with `suffix` and a
/// per-run stamp appended, so checks and reruns never share data.
fn open_mongo(base: &str, suffix: &str) -> Box<dyn Store> {
    let uri = common::unique_mongo_url(base, suffix);
    match bman::store::open(&uri) {
        Ok(store) => store,
        Err(e) => {
            panic!("BMAN_TEST_MONGODB_URI is set but the MongoDB store cannot be opened: {e}")
        }
    }
}

// ---- builders ----

fn key(id: &str) -> PlayerKey {
    PlayerKey {
        store: 0,
        id: id.to_string(),
    }
}

fn seen(id: &str, name: Option<&str>, seen_ms: i64) -> PlayerSeen {
    PlayerSeen {
        name: name.map(str::to_string),
        ..PlayerSeen::bare(key(id), seen_ms)
    }
}

fn stats(mu: f64, sigma: f64, games: i64, last_updated_ms: i64) -> ModeStats {
    ModeStats {
        mu,
        sigma,
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

fn change(mu: f64) -> RatingChange {
    RatingChange {
        mu,
        sigma: 8.0,
        elo: 1000.5,
        delta_mu: 0.25,
        delta_sigma: -0.125,
        delta_elo: 16.0,
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
            match_id: Some(format!("s1:{}", time_ms / 1000)),
            fact,
        },
        changes,
    }
}

fn kill(seq: i64, killer: &str, victim: &str, killer_mu: f64, victim_mu: f64) -> StoredFact {
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
        }),
        vec![
            (key(killer), change(killer_mu)),
            (key(victim), change(victim_mu)),
        ],
    )
}

/// Two players, three dm kills with changes, stats and a checkpoint.
fn sample_batch() -> WriteBatch {
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

fn apply(store: &dyn Store, batch: WriteBatch) {
    store.apply(&batch).unwrap();
}

/// Players with dm stats, applied in one batch: (id, name, mu, games, last_updated_ms).
fn dm_players(store: &dyn Store, players: &[(&str, &str, f64, i64, i64)]) {
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

fn ids(rows: &[LeaderboardRow]) -> Vec<&str> {
    rows.iter().map(|r| r.player.key.id.as_str()).collect()
}

fn board(mode: Mode, limit: usize, offset: usize) -> LeaderboardQuery {
    LeaderboardQuery {
        mode,
        limit,
        offset,
        min_games: None,
        active_since_ms: None,
    }
}

fn found(store: &dyn Store, query: &str) -> Vec<String> {
    let found = store.find_players(query, 10).unwrap();
    found.into_iter().map(|p| p.key.id).collect()
}

// ---- checks ----

fn check_player_merge(store: &dyn Store) {
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

fn check_same_id_two_stores(store: &dyn Store) {
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

/// Every fact variant, with hostile strings, in every mode, comes back exactly.
fn check_facts_round_trip(store: &dyn Store) {
    let hostile = || Some(HOSTILE.to_string());
    let evil = PlayerKey {
        store: 1,
        id: HOSTILE.into(),
    };
    let all = vec![
        kill(1, "a", "b", 26.0, 24.0),
        fact(
            2,
            Mode::Tdm,
            2000,
            Fact::Round(RoundFact {
                round: 3,
                team1: vec![key("a"), evil.clone()],
                team2: vec![key("b")],
                winner: 0,
                score1: Some(10),
                score2: None,
            }),
            vec![
                (evil.clone(), change(20.0)),
                (key("a"), change(21.0)),
                (key("b"), change(22.0)),
            ],
        ),
        fact(
            3,
            Mode::Ctf,
            3000,
            Fact::Capture(CaptureFact {
                carrier: Some(key("a")),
                scoring_team: 2,
                scoring: vec![key("a")],
                other: vec![],
            }),
            vec![],
        ),
        fact(
            4,
            Mode::Ctf,
            4000,
            Fact::Match(MatchFact {
                map: hostile(),
                started_ms: Some(-5),
                winner_team: Some(1),
                winner_text: hostile(),
                players: vec![MatchPlayer {
                    key: key("a"),
                    team: Some(1),
                    kills: Some(3),
                    deaths: None,
                    score: Some(-1),
                }],
                coop_won: Some(false),
                last_wave: None,
            }),
            vec![],
        ),
        fact(
            5,
            Mode::Svl,
            5000,
            Fact::Wave(WaveFact {
                wave: 7,
                enemies: Some(30),
                chests: None,
                chest_price: Some(i64::MAX),
                players: vec![key("a")],
            }),
            vec![],
        ),
        fact(
            6,
            Mode::Svl,
            6000,
            Fact::NpcKill { player: key("a") },
            vec![],
        ),
        fact(
            7,
            Mode::Svl,
            7000,
            Fact::NpcDeath {
                player: evil.clone(),
            },
            vec![],
        ),
        fact(
            8,
            Mode::Dm,
            8000,
            Fact::Chat(ChatFact {
                player: Some(evil.clone()),
                name: hostile(),
                message: HOSTILE.into(),
                team: None,
            }),
            vec![],
        ),
        StoredFact {
            seq: 9,
            record: FactRecord {
                server: HOSTILE.into(),
                mode: Mode::Dm,
                time_ms: i64::MIN,
                match_id: None,
                fact: Fact::Chat(ChatFact {
                    player: None,
                    name: None,
                    message: String::new(),
                    team: Some(2),
                }),
            },
            changes: vec![],
        },
    ];
    // Two batches, so order across batches counts too.
    apply(
        store,
        WriteBatch {
            facts: all[..4].to_vec(),
            ..WriteBatch::default()
        },
    );
    apply(
        store,
        WriteBatch {
            facts: all[4..].to_vec(),
            ..WriteBatch::default()
        },
    );
    for mode in Mode::ALL {
        let expected: Vec<StoredFact> = all
            .iter()
            .filter(|f| f.record.mode == mode)
            .cloned()
            .collect();
        assert_eq!(store.facts(mode).unwrap(), expected, "{mode} facts");
    }
    assert!(
        store.profile(&evil).unwrap().is_some(),
        "players named by facts exist"
    );
    assert_eq!(store.rating_history(&evil, Mode::Tdm).unwrap().len(), 1);
}

fn check_rating_history(store: &dyn Store) {
    let mut batch = sample_batch();
    batch.facts.push(fact(
        4,
        Mode::Tdm,
        4000,
        Fact::NpcKill {
            player: key("alice"),
        },
        vec![(key("alice"), change(99.0))],
    ));
    // Facts arrive in seq order in practice; apply them reversed to prove the query sorts.
    batch.facts.reverse();
    apply(store, batch);
    let history = store.rating_history(&key("alice"), Mode::Dm).unwrap();
    assert_eq!(
        history,
        [
            RatingPoint {
                seq: 1,
                time_ms: 1000,
                change: change(26.0)
            },
            RatingPoint {
                seq: 2,
                time_ms: 2000,
                change: change(27.0)
            },
            RatingPoint {
                seq: 3,
                time_ms: 3000,
                change: change(26.5)
            },
        ]
    );
    let bob: Vec<f64> = store
        .rating_history(&key("bob"), Mode::Dm)
        .unwrap()
        .iter()
        .map(|p| p.change.mu)
        .collect();
    assert_eq!(bob, [24.0, 23.0, 25.0]);
    assert_eq!(
        store.rating_history(&key("alice"), Mode::Tdm).unwrap()[0]
            .change
            .mu,
        99.0
    );
    assert!(store
        .rating_history(&key("alice"), Mode::Ctf)
        .unwrap()
        .is_empty());
    assert!(store
        .rating_history(&key("nobody"), Mode::Dm)
        .unwrap()
        .is_empty());
}

fn check_leaderboard_order_and_paging(store: &dyn Store) {
    dm_players(
        store,
        &[
            ("low", "Low", 10.0, 5, 1),
            ("top", "Top", 40.0, 5, 1),
            // Same rating as "top": more games first.
            ("tie_more", "TieMore", 40.0, 9, 1),
            ("mid", "Mid", 30.0, 5, 1),
        ],
    );
    // Another mode must not leak in.
    apply(
        store,
        WriteBatch {
            stats: vec![(key("top"), Mode::Tdm, stats(99.0, 1.0, 1, 1))],
            ..WriteBatch::default()
        },
    );
    let all = store.leaderboard(&board(Mode::Dm, 10, 0)).unwrap();
    assert_eq!(ids(&all), ["tie_more", "top", "mid", "low"]);
    assert_eq!(all.iter().map(|r| r.rank).collect::<Vec<_>>(), [1, 2, 3, 4]);
    assert_eq!(all[0].player.name, "TieMore");
    assert_eq!(all[0].stats, stats(40.0, 1.0, 9, 1));
    let page = store.leaderboard(&board(Mode::Dm, 2, 1)).unwrap();
    assert_eq!(ids(&page), ["top", "mid"]);
    assert_eq!(page.iter().map(|r| r.rank).collect::<Vec<_>>(), [2, 3]);
    assert!(store
        .leaderboard(&board(Mode::Dm, 10, 4))
        .unwrap()
        .is_empty());
    assert!(store
        .leaderboard(&board(Mode::Dm, 0, 0))
        .unwrap()
        .is_empty());
    assert!(store
        .leaderboard(&board(Mode::Ctf, 10, 0))
        .unwrap()
        .is_empty());
    // Rank is mu - 3*sigma, not mu.
    apply(
        store,
        WriteBatch {
            stats: vec![(key("low"), Mode::Dm, stats(60.0, 10.0, 5, 1))],
            ..WriteBatch::default()
        },
    );
    assert_eq!(
        ids(&store.leaderboard(&board(Mode::Dm, 10, 0)).unwrap()),
        ["tie_more", "top", "low", "mid"]
    );
}

fn check_leaderboard_filters(store: &dyn Store) {
    dm_players(
        store,
        &[
            ("a", "A", 40.0, 1, 500),
            ("b", "B", 30.0, 10, 100),
            ("c", "C", 20.0, 10, 500),
            ("d", "D", 10.0, 3, 900),
        ],
    );
    let q = |min_games, active_since_ms, offset| LeaderboardQuery {
        mode: Mode::Dm,
        limit: 10,
        offset,
        min_games,
        active_since_ms,
    };
    assert_eq!(
        ids(&store.leaderboard(&q(Some(3), None, 0)).unwrap()),
        ["b", "c", "d"]
    );
    assert_eq!(
        ids(&store.leaderboard(&q(None, Some(500), 0)).unwrap()),
        ["a", "c", "d"]
    );
    let both = store.leaderboard(&q(Some(3), Some(500), 0)).unwrap();
    assert_eq!(ids(&both), ["c", "d"]);
    assert_eq!(
        both.iter().map(|r| r.rank).collect::<Vec<_>>(),
        [1, 2],
        "ranks count filtered rows"
    );
    let paged = store.leaderboard(&q(Some(3), Some(500), 1)).unwrap();
    assert_eq!((ids(&paged), paged[0].rank), (vec!["d"], 2));
}

fn check_leaderboard_survival(store: &dyn Store) {
    let svl = |wave, npc_kills| ModeStats {
        best_wave: wave,
        npc_kills,
        ..stats(50.0 - wave as f64, 1.0, 1, 1)
    };
    apply(
        store,
        WriteBatch {
            players: vec![seen("w5", Some("W5"), 1)],
            stats: vec![
                (key("w5"), Mode::Svl, svl(5, 10)),
                (key("w9"), Mode::Svl, svl(9, 1)),
                (key("w9_more"), Mode::Svl, svl(9, 50)),
                (key("w1"), Mode::Svl, svl(1, 500)),
            ],
            ..WriteBatch::default()
        },
    );
    let rows = store.leaderboard(&board(Mode::Svl, 10, 0)).unwrap();
    assert_eq!(ids(&rows), ["w9_more", "w9", "w5", "w1"]);
    assert_eq!(rows[2].player.name, "W5");
    let ranks: Vec<usize> = ["w9_more", "w9", "w5", "w1"]
        .iter()
        .map(|id| store.profile(&key(id)).unwrap().unwrap().modes[0].2)
        .collect();
    assert_eq!(
        ranks,
        [1, 2, 3, 4],
        "profile ranks follow the survival ordering"
    );
}

fn check_find_players(store: &dyn Store) {
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

fn check_find_players_unicode(store: &dyn Store) {
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

fn check_profile(store: &dyn Store) {
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

fn check_next_seq(store: &dyn Store) {
    assert_eq!(store.next_seq().unwrap(), 1);
    apply(
        store,
        WriteBatch {
            players: vec![seen("a", None, 1)],
            ..WriteBatch::default()
        },
    );
    assert_eq!(store.next_seq().unwrap(), 1, "only facts take numbers");
    apply(
        store,
        WriteBatch {
            facts: vec![kill(1, "a", "b", 1.0, 2.0), kill(7, "a", "b", 1.0, 2.0)],
            ..WriteBatch::default()
        },
    );
    assert_eq!(store.next_seq().unwrap(), 8);
    store.apply(&WriteBatch::default()).unwrap();
    assert_eq!(store.next_seq().unwrap(), 8);
}

fn check_checkpoints(store: &dyn Store) {
    assert_eq!(store.checkpoint("s1", 1).unwrap(), None);
    let cp = |server: &str, epoch, offset, snapshot: Option<&str>| Checkpoint {
        server: server.into(),
        epoch,
        offset,
        snapshot_offset: offset / 2,
        snapshot: snapshot.map(str::to_string),
    };
    apply(
        store,
        WriteBatch {
            checkpoints: vec![
                cp("s1", 1, 100, Some("{}")),
                cp("s1", 2, 5, None),
                cp(HOSTILE, 1, 7, Some(HOSTILE)),
            ],
            ..WriteBatch::default()
        },
    );
    apply(
        store,
        WriteBatch {
            checkpoints: vec![cp("s1", 1, 250, None)],
            ..WriteBatch::default()
        },
    );
    assert_eq!(
        store.checkpoint("s1", 1).unwrap(),
        Some(cp("s1", 1, 250, None)),
        "upserted"
    );
    assert_eq!(
        store.checkpoint("s1", 2).unwrap(),
        Some(cp("s1", 2, 5, None))
    );
    assert_eq!(
        store.checkpoint(HOSTILE, 1).unwrap(),
        Some(cp(HOSTILE, 1, 7, Some(HOSTILE)))
    );
    assert_eq!(store.checkpoint("s2", 1).unwrap(), None);
    let big = cp("s1", 3, u64::from(u32::MAX) * 4, None);
    apply(
        store,
        WriteBatch {
            checkpoints: vec![big.clone()],
            ..WriteBatch::default()
        },
    );
    assert_eq!(store.checkpoint("s1", 3).unwrap(), Some(big));
}

fn check_load_stats(store: &dyn Store) {
    let a = stats(30.0, 2.0, 4, 100);
    let b_tdm = ModeStats {
        elo: 1032.0,
        ..stats(20.0, 3.0, 1, 200)
    };
    apply(
        store,
        WriteBatch {
            players: vec![seen("c", Some("NoStats"), 1)],
            stats: vec![(key("a"), Mode::Dm, a), (key("b"), Mode::Tdm, b_tdm)],
            ..WriteBatch::default()
        },
    );
    let keys = [key("a"), key("b"), key("c"), key("nobody")];
    assert_eq!(
        store.load_stats(Mode::Dm, &keys).unwrap(),
        HashMap::from([(key("a"), a)])
    );
    assert_eq!(
        store.load_stats(Mode::Tdm, &keys).unwrap(),
        HashMap::from([(key("b"), b_tdm)])
    );
    assert!(store.load_stats(Mode::Svl, &keys).unwrap().is_empty());
    assert!(store.load_stats(Mode::Dm, &[]).unwrap().is_empty());
    // Stats are absolute: a later batch replaces them.
    let a2 = stats(31.0, 1.5, 5, 300);
    apply(
        store,
        WriteBatch {
            stats: vec![(key("a"), Mode::Dm, a2)],
            ..WriteBatch::default()
        },
    );
    assert_eq!(
        store.load_stats(Mode::Dm, &keys[..1]).unwrap()[&key("a")],
        a2
    );
}

/// A batch whose last fact reuses a stored seq fails and leaves nothing behind.
fn check_apply_is_atomic(store: &dyn Store) {
    apply(
        store,
        WriteBatch {
            facts: vec![kill(5, "a", "b", 1.0, 2.0)],
            ..WriteBatch::default()
        },
    );
    let before_facts = store.facts(Mode::Dm).unwrap();
    let bad = WriteBatch {
        players: vec![
            seen("new", Some("Newcomer"), 1),
            seen("a", Some("Renamed"), 2),
        ],
        facts: vec![kill(6, "new", "a", 3.0, 4.0), kill(5, "new", "a", 5.0, 6.0)],
        stats: vec![(key("new"), Mode::Dm, stats(30.0, 1.0, 1, 1))],
        checkpoints: vec![Checkpoint {
            server: "s1".into(),
            epoch: 1,
            offset: 9,
            snapshot_offset: 9,
            snapshot: None,
        }],
    };
    assert!(
        store.apply(&bad).is_err(),
        "a duplicate seq must fail the batch"
    );
    assert_eq!(store.facts(Mode::Dm).unwrap(), before_facts);
    assert_eq!(store.next_seq().unwrap(), 6);
    assert_eq!(store.profile(&key("new")).unwrap(), None);
    assert_eq!(
        store.profile(&key("a")).unwrap().unwrap().names,
        Vec::<String>::new()
    );
    assert!(store.find_players("newcomer", 5).unwrap().is_empty());
    assert!(store
        .load_stats(Mode::Dm, &[key("new")])
        .unwrap()
        .is_empty());
    assert!(store
        .leaderboard(&board(Mode::Dm, 10, 0))
        .unwrap()
        .is_empty());
    assert_eq!(store.rating_history(&key("a"), Mode::Dm).unwrap().len(), 1);
    assert_eq!(store.checkpoint("s1", 1).unwrap(), None);
    // The store still works afterwards.
    let good = WriteBatch {
        facts: bad.facts[..1].to_vec(),
        ..bad.clone()
    };
    store.apply(&good).unwrap();
    assert_eq!(store.next_seq().unwrap(), 7);
    assert_eq!(
        store.profile(&key("a")).unwrap().unwrap().player.name,
        "Renamed"
    );
}

fn check_replace_ratings(store: &dyn Store) {
    let mut batch = sample_batch();
    batch.facts.push(fact(
        4,
        Mode::Tdm,
        4000,
        Fact::NpcKill {
            player: key("alice"),
        },
        vec![(key("alice"), change(99.0))],
    ));
    batch
        .stats
        .push((key("alice"), Mode::Tdm, stats(99.0, 1.0, 1, 1)));
    apply(store, batch);

    let mut rerated = store.facts(Mode::Dm).unwrap();
    rerated[0].changes = vec![
        (key("bob"), change(1.0)),
        (key("alice"), change(2.0)),
        (key("carol"), change(3.0)),
    ];
    rerated[1].changes.clear();
    rerated[2].changes.truncate(1);
    let new_stats = vec![
        (key("bob"), stats(33.0, 1.0, 3, 9)),
        (key("carol"), stats(3.0, 1.0, 1, 9)),
    ];
    store
        .replace_ratings(Mode::Dm, &rerated, &new_stats)
        .unwrap();

    assert_eq!(store.facts(Mode::Dm).unwrap(), rerated);
    let alice: Vec<(i64, f64)> = store
        .rating_history(&key("alice"), Mode::Dm)
        .unwrap()
        .iter()
        .map(|p| (p.seq, p.change.mu))
        .collect();
    assert_eq!(alice, [(1, 2.0)]);
    let board_ids = ids(&store.leaderboard(&board(Mode::Dm, 10, 0)).unwrap()).join(",");
    assert_eq!(board_ids, "bob,carol", "alice lost her dm row");
    let keys = [key("alice"), key("bob"), key("carol")];
    assert_eq!(store.load_stats(Mode::Dm, &keys).unwrap().len(), 2);
    // Other modes are untouched.
    assert_eq!(
        store.rating_history(&key("alice"), Mode::Tdm).unwrap()[0]
            .change
            .mu,
        99.0
    );
    assert_eq!(store.load_stats(Mode::Tdm, &keys).unwrap().len(), 1);
}

// ---- audit ----

fn audit(time_ms: i64, user_id: u64, command: &str, allowed: bool, result: &str) -> AuditRecord {
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
fn audit_records() -> Vec<AuditRecord> {
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

fn check_audit_log(store: &dyn Store) {
    assert!(store.audit_log(10).unwrap().is_empty());
    let records = audit_records();
    assert!(records[2].command.chars().count() > 2_000);
    for r in &records {
        store.record_audit(r).unwrap();
    }
    let newest_first: Vec<AuditRecord> = [3, 1, 2, 0, 4]
        .iter()
        .map(|&i| records[i].clone())
        .collect();
    assert_eq!(store.audit_log(usize::MAX).unwrap(), newest_first);
    assert_eq!(store.audit_log(2).unwrap(), newest_first[..2]);
    assert!(store.audit_log(0).unwrap().is_empty());

    let too_large = audit(4_000, i64::MAX as u64 + 1, "say hi", true, "");
    assert!(store.record_audit(&too_large).is_err());
    assert_eq!(
        store.audit_log(usize::MAX).unwrap(),
        newest_first,
        "a refused record leaves nothing behind"
    );
}

// ---- migration ----

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
    out.join("\n")
}

/// What an earlier release stored for bots with Steam-looking profiles is
/// found and removed with everything of theirs; humans and facts stay.
fn check_bot_players_and_removal(store: &dyn Store) {
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

fn check_migration(from: &dyn Store, to: &dyn Store) {
    populate(from);
    let counts = bman::migrate::migrate(from, to, &|_, _| {}).unwrap();
    assert_eq!(
        (
            counts.players,
            counts.facts,
            counts.checkpoints,
            counts.audit
        ),
        (5, 4, 1, 5),
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
fn migrate_between_backends() {
    let dir = tempfile::tempdir().unwrap();
    check_migration(
        sqlite_store(&dir, "a.sqlite3").as_ref(),
        sqlite_store(&dir, "b.sqlite3").as_ref(),
    );
    let Some(base) = common::mongo_uri() else {
        eprintln!("skipped the MongoDB migrations: BMAN_TEST_MONGODB_URI is not set");
        return;
    };
    check_migration(
        sqlite_store(&dir, "c.sqlite3").as_ref(),
        open_mongo(&base, "from_sqlite").as_ref(),
    );
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

/// A batch that a killed `bman` recorded in `bman_pending_batches` but did not
/// finish is completed when the store is next opened, exactly once: also
/// when all of it had in fact landed (killed just before forgetting it).
#[test]
fn mongodb_completes_a_half_written_batch() {
    let Some(base) = common::mongo_uri() else {
        eprintln!("skipped: set BMAN_TEST_MONGODB_URI to check MongoDB crash recovery");
        return;
    };
    let uri = common::unique_mongo_url(&base, "pending");
    let batch = sample_batch();
    let (first, second) = batch.facts.split_at(1);
    let landed = WriteBatch {
        facts: first.to_vec(),
        ..WriteBatch::default()
    };
    bman::store::open(&uri).unwrap().apply(&landed).unwrap();
    let pending = |b: &WriteBatch| {
        let json =
            serde_json::to_string(&(&b.players, &b.facts, &b.stats, &b.checkpoints)).unwrap();
        mongodb::bson::doc! { "batch": json }
    };
    let rest = WriteBatch {
        facts: second.to_vec(),
        ..batch.clone()
    };
    // Killed after recording the first batch (which had fully landed) and
    // after recording the second (of which nothing had landed).
    insert_raw(
        &uri,
        &[(
            "bman_pending_batches",
            vec![pending(&landed), pending(&rest)],
        )],
    );
    let store = bman::store::open(&uri).unwrap();
    assert_eq!(
        store.facts(Mode::Dm).unwrap(),
        batch.facts,
        "each fact once"
    );
    assert_eq!(store.next_seq().unwrap(), 4);
    assert_eq!(
        store.checkpoint("s1", 1).unwrap(),
        Some(batch.checkpoints[0].clone())
    );
    let stats = store
        .load_stats(Mode::Dm, &[key("alice"), key("bob")])
        .unwrap();
    assert_eq!(stats[&key("alice")], batch.stats[0].2);
    drop(store);
    let reopened = bman::store::open(&uri).unwrap();
    assert_eq!(
        reopened.facts(Mode::Dm).unwrap(),
        batch.facts,
        "completed only once"
    );
}

/// Inserts documents as they are, past the store, into `uri`'s database.
fn insert_raw(uri: &str, collections: &[(&str, Vec<mongodb::bson::Document>)]) {
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
