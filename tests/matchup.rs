//! `/matchup` on a real SQLite store: the duel chance against values
//! computed independently (Python's `math.erfc`, not the `skillratings` cdf
//! bman uses), the configured β, the default mode, the head-to-head record
//! from stored kills, and the refusals.

use bman::discord::commands;
use bman::model::*;
use bman::rater::{RatingParams, RatingSystems};
use bman::ratings::{SkillSystem, TrueSkillParams};
use bman::store::sqlite::SqliteStore;
use bman::store::{Store, WriteBatch};

fn key(id: &str) -> PlayerKey {
    PlayerKey::new(0, id)
}

fn stats(mu: f64, sigma: f64, games: i64) -> ModeStats {
    ModeStats {
        mu,
        sigma,
        games,
        kills: games / 2,
        deaths: games - games / 2,
        ..ModeStats::initial(&TrueSkillParams::default())
    }
}

fn kill(seq: i64, mode: Mode, killer: &str, victim: &str) -> StoredFact {
    StoredFact {
        seq,
        record: FactRecord {
            server: "eu".into(),
            mode,
            time_ms: 1_760_000_000_000 + seq * 1000,
            match_id: None,
            fact: Fact::Kill(KillFact {
                killer: key(killer),
                victim: key(victim),
                weapon: None,
                headshot: false,
                teamkill: false,
                killer_at: None,
                victim_at: None,
            }),
        },
        changes: Vec::new(),
    }
}

/// Alice (30 ± 2.5) and Bob (26 ± 4) in dm, Bob also in tdm, Carol unrated
/// in dm; Alice killed Bob 3 times in dm and Bob her once, plus a tdm kill.
fn community() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("m.sqlite3")).unwrap();
    let players = [
        ("alice", "Alice"),
        ("bob", "Bob ｗｅｉｒｄ"),
        ("carol", "Carol"),
    ];
    let mut facts = vec![
        kill(1, Mode::Dm, "alice", "bob"),
        kill(2, Mode::Dm, "alice", "bob"),
        kill(3, Mode::Dm, "bob", "alice"),
        kill(4, Mode::Dm, "alice", "bob"),
        kill(5, Mode::Tdm, "bob", "alice"),
        kill(6, Mode::Dm, "carol", "alice"),
    ];
    facts.sort_by_key(|f| f.seq);
    store
        .apply(&WriteBatch {
            players: players
                .iter()
                .map(|(id, name)| PlayerSeen {
                    name: Some(name.to_string()),
                    ..PlayerSeen::bare(key(id), 1_760_000_000_000)
                })
                .collect(),
            facts,
            stats: vec![
                (key("alice"), Mode::Dm, stats(30.0, 2.5, 120)),
                (key("bob"), Mode::Dm, stats(26.0, 4.0, 40)),
                (key("alice"), Mode::Tdm, stats(25.0, 8.0, 2)),
                (key("bob"), Mode::Tdm, stats(27.0, 6.0, 3)),
                (key("carol"), Mode::Svl, stats(25.0, 8.0, 9)),
            ],
            checkpoints: Vec::new(),
        })
        .unwrap();
    (dir, store)
}

/// The percentage in a reply's description, e.g. `**70.2%**` -> 70.2.
fn shown_percent(reply: &bman::discord::reply::Reply) -> f64 {
    let description = &reply.embed.as_ref().expect("an embed").description;
    let start = description.find("chance of **").expect(description) + "chance of **".len();
    let end = description[start..].find('%').unwrap() + start;
    description[start..end].parse().unwrap()
}

#[test]
fn duel_chance_matches_an_independent_computation() {
    let (_dir, store) = community();
    let defaults = RatingParams {
        trueskill: TrueSkillParams::default(),
        elo_k: 32.0,
        systems: RatingSystems::default(),
    };
    // Golden values from Python 3: 0.5 * math.erfc(-x / math.sqrt(2)) with
    // x = (mu1 - mu2) / math.sqrt(2 * beta**2 + sigma1**2 + sigma2**2).
    // Alice 30 ± 2.5 against Bob 26 ± 4, beta 25/6:
    let golden = 0.701_923_957_642_818_3;
    let alice = bman::views::lookup(&store, "alice").unwrap();
    let bob = bman::views::lookup(&store, "bob").unwrap();
    let (bman::views::Lookup::Found(alice), bman::views::Lookup::Found(bob)) = (alice, bob) else {
        panic!("both players exist");
    };
    let (alice, bob) = (
        store.profile(&alice.key).unwrap().unwrap(),
        store.profile(&bob.key).unwrap().unwrap(),
    );
    let m = bman::views::matchup(&store, &alice, &bob, Mode::Dm, &defaults).unwrap();
    assert!((m.a_wins - golden).abs() < 1e-7, "{}", m.a_wins);
    let reversed = bman::views::matchup(&store, &bob, &alice, Mode::Dm, &defaults).unwrap();
    assert!((reversed.a_wins - (1.0 - golden)).abs() < 1e-7);
    assert_eq!(
        m.head_to_head,
        Some(HeadToHead {
            kills: 3,
            deaths: 1
        })
    );

    // The reply: the same chance, both lines, the record, names escaped.
    let reply = commands::matchup(&store, "alice", "bob", None, &defaults).unwrap();
    assert!(!reply.ephemeral);
    assert_eq!(shown_percent(&reply), 70.2);
    let embed = reply.embed.as_ref().unwrap();
    assert_eq!(
        embed.title, "Alice vs Bob ｗｅｉｒｄ · DM",
        "dm: most shared games"
    );
    assert!(
        embed.fields[0].1.starts_with("#1 · rating **22.50**"),
        "{:?}",
        embed.fields
    );
    assert!(
        embed.fields[1].1.contains("K/D 20/20 · games 40"),
        "{:?}",
        embed.fields
    );
    assert_eq!(
        embed.fields[2],
        (
            "Head-to-head".to_string(),
            "Alice killed Bob ｗｅｉｒｄ 3 times · Bob ｗｅｉｒｄ killed Alice once".to_string(),
            false
        )
    );

    // A configured beta changes the chance: beta 6 gives 0.6598379705482738.
    let wide = RatingParams {
        trueskill: TrueSkillParams {
            beta: 6.0,
            ..TrueSkillParams::default()
        },
        ..defaults
    };
    let reply = commands::matchup(&store, "alice", "bob", Some(Mode::Dm), &wide).unwrap();
    assert_eq!(shown_percent(&reply), 66.0);

    // With `[ratings] dm = glicko2` the chance is Glicko-2's expected score,
    // and the reply names it. Python 3, on Glicko's scale (1500 + 42·(mu − 25),
    // RD 42·sigma): 1 / (1 + exp(−g(hypot(φ1, φ2))·(μ1 − μ2))) = 0.6939609030982478.
    assert!(reply
        .embed
        .as_ref()
        .unwrap()
        .description
        .contains("(TrueSkill, from both ratings)"));
    let glicko = RatingParams {
        systems: RatingSystems {
            dm: SkillSystem::Glicko2,
            ..RatingSystems::default()
        },
        ..defaults
    };
    let m = bman::views::matchup(&store, &alice, &bob, Mode::Dm, &glicko).unwrap();
    assert!(
        (m.a_wins - 0.693_960_903_098_247_8).abs() < 1e-9,
        "{}",
        m.a_wins
    );
    let reply = commands::matchup(&store, "alice", "bob", Some(Mode::Dm), &glicko).unwrap();
    assert_eq!(shown_percent(&reply), 69.4);
    let description = &reply.embed.as_ref().unwrap().description;
    assert!(
        description.contains("(Glicko-2, from both ratings)"),
        "{description}"
    );

    // Carol has no dm rating: she counts as a new player (25 ± 25/3); her
    // chance against Alice is 0.3170974086647411.
    let reply = commands::matchup(&store, "carol", "alice", Some(Mode::Dm), &defaults).unwrap();
    assert_eq!(shown_percent(&reply), 31.7);
    let embed = reply.embed.as_ref().unwrap();
    assert!(
        embed.fields[0].1.starts_with("no rated dm games yet"),
        "{:?}",
        embed.fields
    );
    assert_eq!(
        embed.fields[2].1,
        "Carol killed Alice once · Alice killed Carol 0 times"
    );

    // Team deathmatch has its own record; ctf records no kills per pair.
    let tdm = commands::matchup(&store, "alice", "bob", Some(Mode::Tdm), &defaults).unwrap();
    assert_eq!(
        tdm.embed.as_ref().unwrap().fields[2].1,
        "Alice killed Bob ｗｅｉｒｄ 0 times · Bob ｗｅｉｒｄ killed Alice once"
    );
    let ctf = commands::matchup(&store, "alice", "bob", Some(Mode::Ctf), &defaults).unwrap();
    assert_eq!(
        ctf.embed.as_ref().unwrap().fields[2].1,
        "kills between two players are not recorded in ctf"
    );
    assert_eq!(shown_percent(&ctf), 50.0, "two new players are even");

    // Refusals are ephemeral: the same player twice, a co-op mode, nobody.
    for (a, b, mode, says) in [
        ("alice", "Alice", None, "two different players"),
        ("alice", "bob", Some(Mode::Svl), "no duel"),
        ("alice", "nobody here", None, "No player matches"),
    ] {
        let reply = commands::matchup(&store, a, b, mode, &defaults).unwrap();
        assert!(
            reply.ephemeral && reply.content.contains(says),
            "{}",
            reply.content
        );
    }
}
