//! Stats: leaderboard order, filters and paging, loading stats for the
//! rater, and rerate's replacement of a mode's ratings.

use super::support::*;
use bman::model::*;
use bman::store::*;
use std::collections::HashMap;

pub fn leaderboard_order_and_paging(store: &dyn Store) {
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

pub fn leaderboard_filters(store: &dyn Store) {
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

pub fn leaderboard_survival(store: &dyn Store) {
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

pub fn load_stats(store: &dyn Store) {
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

pub fn replace_ratings(store: &dyn Store) {
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
