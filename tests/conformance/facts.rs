//! Facts: every variant stored and read back exactly, rating histories,
//! sequence numbers, and batches that land whole or not at all.

use super::support::*;
use bman::model::*;
use bman::store::*;

/// Every fact variant, with hostile strings, in every mode, comes back exactly.
pub fn facts_round_trip(store: &dyn Store) {
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
                map: None,
                loadouts: Vec::new(),
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
            Fact::NpcKill {
                player: key("a"),
                npc: None,
            },
            vec![],
        ),
        fact(
            7,
            Mode::Svl,
            7000,
            Fact::NpcDeath {
                player: evil.clone(),
                npc: None,
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

pub fn rating_history(store: &dyn Store) {
    let mut batch = sample_batch();
    batch.facts.push(fact(
        4,
        Mode::Tdm,
        4000,
        Fact::NpcKill {
            player: key("alice"),
            npc: None,
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

pub fn next_seq(store: &dyn Store) {
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

/// A batch whose last fact reuses a stored seq fails and leaves nothing behind.
pub fn apply_is_atomic(store: &dyn Store) {
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

/// `fact_page` walks a mode's facts in seq order, page by page, without
/// their rating changes and without the other modes' facts in between.
pub fn fact_pages(store: &dyn Store) {
    let mut all = sample_batch().facts;
    let chat = Fact::Chat(ChatFact {
        player: Some(key("alice")),
        name: Some("Alice".into()),
        message: "gg".into(),
        team: None,
    });
    all.push(fact(4, Mode::Tdm, 3500, chat, vec![]));
    all.push(kill(5, "bob", "alice", 26.0, 25.5));
    apply(
        store,
        WriteBatch {
            facts: all.clone(),
            ..WriteBatch::default()
        },
    );
    for mode in Mode::ALL {
        let expected: Vec<(i64, FactRecord)> = all
            .iter()
            .filter(|f| f.record.mode == mode)
            .map(|f| (f.seq, f.record.clone()))
            .collect();
        for limit in [1, 2, 1000] {
            let (mut walked, mut after) = (Vec::new(), i64::MIN);
            loop {
                let page = store.fact_page(mode, after, limit).unwrap();
                assert!(page.len() <= limit, "{mode}: a page holds at most {limit}");
                let Some(last) = page.last() else { break };
                after = last.0;
                walked.extend(page);
            }
            assert_eq!(walked, expected, "{mode} pages of {limit}");
        }
    }
    let dm = store.facts(Mode::Dm).unwrap();
    let last = dm.last().expect("the sample has deathmatch facts").seq;
    assert!(store.fact_page(Mode::Dm, last, 10).unwrap().is_empty());
}

/// Kills between two players per mode, each way, teamkills included; other
/// players' kills, other modes and unknown players do not count.
pub fn head_to_head(store: &dyn Store) {
    let mut batch = sample_batch();
    batch.players.push(seen("carol", Some("Carol"), 30));
    let tdm_kill = |seq: i64, killer: &str, victim: &str, teamkill: bool| {
        let mut f = kill(seq, killer, victim, 25.0, 25.0);
        f.record.mode = Mode::Tdm;
        if let Fact::Kill(k) = &mut f.record.fact {
            k.teamkill = teamkill;
        }
        if teamkill {
            f.changes.clear();
        }
        f
    };
    batch.facts.extend([
        kill(4, "alice", "carol", 27.5, 20.0),
        kill(5, "carol", "bob", 21.0, 22.0),
        tdm_kill(6, "bob", "alice", false),
        tdm_kill(7, "bob", "alice", true),
        tdm_kill(8, "alice", "carol", false),
    ]);
    apply(store, batch);
    let (alice, bob) = (key("alice"), key("bob"));
    let pair = |kills, deaths| Some(HeadToHead { kills, deaths });
    assert_eq!(
        store.head_to_head(&alice, &bob, Mode::Dm).unwrap(),
        pair(2, 1)
    );
    assert_eq!(
        store.head_to_head(&bob, &alice, Mode::Dm).unwrap(),
        pair(1, 2)
    );
    assert_eq!(
        store.head_to_head(&alice, &bob, Mode::Tdm).unwrap(),
        pair(0, 2)
    );
    assert_eq!(
        store
            .head_to_head(&alice, &key("nobody"), Mode::Dm)
            .unwrap(),
        pair(0, 0)
    );
    assert_eq!(store.head_to_head(&alice, &bob, Mode::Ctf).unwrap(), None);
    assert_eq!(store.head_to_head(&alice, &bob, Mode::Svl).unwrap(), None);
}
