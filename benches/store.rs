//! SQLite store benchmarks on a community-sized database: 100,000 players
//! with dm stats and a few names each; and, when `BMAN_BENCH_MONGODB_URI` is
//! set, the MongoDB store's leaderboard, profile and replay rate (see
//! `mongodb`).
//!
//! Criterion reports means; each query bench also prints p50/p99 over 1,000
//! timed calls, because the targets (find_players p99 <= 5 ms, apply >= 50,000
//! facts/s; the bot's `/leaderboard` and `/profile` replies p99 <= 50 ms with
//! the chart render <= 30 ms) are about the tail and the throughput. The
//! `/matchup` reply is timed after 200,000 more kills.

mod support;

use bman::model::Mode;
use bman::model::*;
use bman::sim::Rng;
use bman::store::sqlite::SqliteStore;
use bman::store::*;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use std::cell::Cell;
use std::hint::black_box;
use std::time::Instant;

const PLAYERS: u64 = 100_000;
const SYLLABLES: &[&str] = &[
    "ka", "zu", "mo", "ri", "xe", "lo", "vin", "tor", "ba", "qui", "nel", "sha", "dra", "gon", "é",
    "ße", "wolf", "└┐",
];

/// A player name of two to four syllables, sometimes with a number.
fn name(rng: &mut Rng) -> String {
    let mut name = String::new();
    for _ in 0..2 + rng.below(3) {
        name.push_str(SYLLABLES[rng.below(SYLLABLES.len() as u64) as usize]);
    }
    if rng.below(2) == 0 {
        name.push_str(&rng.below(100).to_string());
    }
    name
}

fn key(i: u64) -> PlayerKey {
    PlayerKey {
        store: 0,
        id: format!("7656119{i:010}"),
    }
}

fn seen(i: u64, name: String, seen_ms: i64) -> PlayerSeen {
    PlayerSeen {
        key: key(i),
        name: Some(name),
        ip: Some(format!("10.{}.{}.{}", i >> 16, (i >> 8) & 255, i & 255)),
        color: Some("red".into()),
        premium: Some(i.is_multiple_of(7)),
        hat: None,
        clan_id: None,
        clan_tag: None,
        level: None,
        seen_ms,
    }
}

fn stats(rng: &mut Rng, last_updated_ms: i64) -> ModeStats {
    let games = rng.below(2_000) as i64;
    ModeStats {
        mu: 10.0 + rng.below(30_000) as f64 / 1_000.0,
        sigma: 1.0 + rng.below(7_000) as f64 / 1_000.0,
        volatility: 0.06,
        elo: 1000.0,
        games,
        kills: games / 2,
        deaths: games - games / 2,
        last_updated_ms,
        ..ModeStats::initial(&Default::default())
    }
}

/// One transaction: every player seen with 1-3 names, and their dm stats.
fn populate(store: &SqliteStore, rng: &mut Rng) {
    let mut batch = WriteBatch::default();
    for i in 0..PLAYERS {
        for n in 0..1 + rng.below(3) {
            batch.players.push(seen(i, name(rng), (i * 10 + n) as i64));
        }
        batch.stats.push((key(i), Mode::Dm, stats(rng, i as i64)));
    }
    store.apply(&batch).unwrap();
}

/// 1,000 dm kills among 20 random players, each with both rating changes, plus their stats.
fn kill_batch(rng: &mut Rng, first_seq: i64) -> WriteBatch {
    let pool: Vec<u64> = (0..20).map(|_| rng.below(PLAYERS)).collect();
    kills_among(rng, &pool, 1_000, first_seq)
}

/// `kills` dm kills among `pool`, each with both rating changes, plus their stats.
fn kills_among(rng: &mut Rng, pool: &[u64], kills: usize, first_seq: i64) -> WriteBatch {
    let change = RatingChange {
        mu: 25.0,
        sigma: 8.0,
        elo: 1000.0,
        delta_mu: 0.5,
        delta_sigma: -0.1,
        delta_elo: 0.0,
    };
    let mut batch = WriteBatch::default();
    let size = pool.len();
    for n in 0..kills {
        let (a, b) = (pool[n % size], pool[(n * 7 + 3) % size]);
        let seq = first_seq + n as i64;
        batch.facts.push(StoredFact {
            seq,
            record: FactRecord {
                server: "bench".into(),
                mode: Mode::Dm,
                time_ms: seq,
                match_id: Some("bench:1".into()),
                fact: Fact::Kill(KillFact {
                    killer: key(a),
                    victim: key(b),
                    weapon: Some("shotgun".into()),
                    headshot: n % 3 == 0,
                    teamkill: false,
                    killer_at: None,
                    victim_at: None,
                }),
            },
            changes: vec![
                (
                    key(a),
                    RatingChange {
                        mu: change.mu + (n % 40) as f64 * 0.1,
                        ..change
                    },
                ),
                (key(b), change),
            ],
        });
    }
    batch.stats = pool
        .iter()
        .map(|&i| (key(i), Mode::Dm, stats(rng, first_seq)))
        .collect();
    batch.checkpoints.push(Checkpoint {
        server: "bench".into(),
        epoch: 1,
        offset: first_seq as u64,
        snapshot_offset: 0,
        snapshot: None,
    });
    batch
}

/// Times 1,000 calls and prints the median and 99th percentile.
fn percentiles(name: &str, call: impl FnMut()) {
    support::percentiles(1_000, name, call);
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("bench.sqlite3")).unwrap();
    let mut rng = Rng::new(42);
    let start = Instant::now();
    populate(&store, &mut rng);
    println!("populated {PLAYERS} players in {:?}", start.elapsed());

    let top = LeaderboardQuery::everyone(Mode::Dm, 20);
    let active = LeaderboardQuery {
        min_games: Some(1_000),
        ..top.clone()
    };
    percentiles("leaderboard top 20", || {
        black_box(store.leaderboard(&top).unwrap());
    });
    c.bench_function("leaderboard top 20", |b| {
        b.iter(|| store.leaderboard(&top).unwrap())
    });
    c.bench_function("leaderboard top 20, min_games", |b| {
        b.iter(|| store.leaderboard(&active).unwrap())
    });

    let mut pick = Rng::new(7);
    percentiles("profile", || {
        black_box(store.profile(&key(pick.below(PLAYERS))).unwrap());
    });
    c.bench_function("profile", |b| {
        b.iter(|| store.profile(&key(pick.below(PLAYERS))).unwrap())
    });

    // Fragments: rare (trigram index), common (trigram index, many hits), short (scan).
    for fragment in ["gonqui", "wolf", "ka", "└┐é"] {
        percentiles(&format!("find_players {fragment:?}"), || {
            black_box(store.find_players(fragment, 25).unwrap());
        });
        c.bench_function(&format!("find_players {fragment:?}"), |b| {
            b.iter(|| store.find_players(fragment, 25).unwrap())
        });
    }

    let next = Cell::new(store.next_seq().unwrap());
    let mut group = c.benchmark_group("apply");
    group.throughput(Throughput::Elements(1_000));
    group.bench_function("1000 kill facts", |b| {
        b.iter_batched(
            || {
                let batch = kill_batch(&mut rng, next.get());
                next.set(next.get() + 1_000);
                batch
            },
            |batch| store.apply(&batch).unwrap(),
            BatchSize::PerIteration,
        )
    });
    group.finish();
    bot_replies(c, &store, &mut rng, next.get());
    matchup_replies(&store, &mut rng);
}

/// Deathmatch kills `/matchup` is measured over: besides the regulars'
/// 12,000, a busy community's history among 5,000 of the players.
const MATCHUP_KILLS: usize = 200_000;

/// `/matchup` replies (two lookups and profiles, the duel chance, the
/// head-to-head counts over the `facts_kill_pair` index) between random
/// players of the pool.
fn matchup_replies(store: &SqliteStore, rng: &mut Rng) {
    let pool: Vec<u64> = (0..5_000).map(|_| rng.below(PLAYERS)).collect();
    let start = Instant::now();
    for _ in 0..MATCHUP_KILLS / 10_000 {
        let first_seq = store.next_seq().unwrap();
        store
            .apply(&kills_among(rng, &pool, 10_000, first_seq))
            .unwrap();
    }
    println!(
        "added {MATCHUP_KILLS} dm kills among {} players in {:?}",
        pool.len(),
        start.elapsed()
    );
    let mut pick = Rng::new(13);
    percentiles("/matchup reply", || matchup_reply(store, &pool, &mut pick));
}

/// One `/matchup` reply in dm between two random players of `pool`.
fn matchup_reply(store: &dyn Store, pool: &[u64], pick: &mut Rng) {
    let params = bman::rater::RatingParams {
        trueskill: Default::default(),
        elo_k: 32.0,
        systems: Default::default(),
    };
    let mut player = || key(pool[pick.below(pool.len() as u64) as usize]).id;
    let (a, b) = (player(), player());
    let reply = bman::discord::commands::matchup(store, &a, &b, Some(Mode::Dm), &params);
    black_box(reply.unwrap());
}

/// The Discord bot's `/leaderboard` and `/profile` replies (reply model, and
/// for the profile the chart) on the same 100,000-player store, for a
/// regular with a 6,000-point rating history.
fn bot_replies(c: &mut Criterion, store: &SqliteStore, rng: &mut Rng, first_seq: i64) {
    use bman::discord::{chart, commands};
    store
        .apply(&kills_among(rng, &[1, 2, 3, 4], 12_000, first_seq))
        .unwrap();
    let regular = key(1).id;
    let history = store.rating_history(&key(1), Mode::Dm).unwrap();
    assert!(history.len() >= 6_000, "{}", history.len());
    let reply = commands::profile(store, &regular).unwrap();
    assert!(reply.image.is_some(), "the profile has a chart");

    let mut page = Rng::new(11);
    percentiles("/leaderboard reply", || {
        black_box(commands::leaderboard(store, Mode::Dm, 1 + page.below(100) as usize).unwrap());
    });
    percentiles("/profile reply with chart", || {
        black_box(commands::profile(store, &regular).unwrap());
    });
    let histories = [(Mode::Dm, history)];
    percentiles("chart render (6,000 points)", || {
        black_box(chart::rating_chart("bench", &histories).unwrap());
    });
    c.bench_function("/leaderboard reply", |b| {
        b.iter(|| commands::leaderboard(store, Mode::Dm, 1).unwrap())
    });
    c.bench_function("/profile reply with chart", |b| {
        b.iter(|| commands::profile(store, &regular).unwrap())
    });
    c.bench_function("chart render (6,000 points)", |b| {
        b.iter(|| chart::rating_chart("bench", &histories).unwrap())
    });
}

/// Players in the MongoDB data set: the emulator CI runs on is an
/// in-memory Python server, far slower to fill than a real one.
const MONGO_PLAYERS: u64 = 2_000;

/// The same queries on MongoDB when `BMAN_BENCH_MONGODB_URI` names a server
/// (a fresh database each run): leaderboard and profile p50/p99 over 200
/// calls on `MONGO_PLAYERS` players with dm stats, then the replay rate
/// (facts applied per second, 10 batches of 1,000 kills). Batches of 250
/// players keep each command short for the emulator, which answers one
/// command at a time (the driver's monitor gives up after the connect
/// timeout, so give the URI a long `connectTimeoutMS`).
fn mongodb(_: &mut Criterion) {
    let Ok(base) = std::env::var("BMAN_BENCH_MONGODB_URI") else {
        println!("MongoDB part skipped: set BMAN_BENCH_MONGODB_URI");
        return;
    };
    let (prefix, query) = base.split_once('?').unwrap_or((&base, ""));
    let (server, _) = prefix.rsplit_once('/').unwrap_or((prefix, ""));
    let nanos = std::time::UNIX_EPOCH.elapsed().unwrap().as_nanos();
    let url = format!("{server}/bmdb_bench_{nanos}?{query}");
    let store = bman::store::open(&url).unwrap();
    let mut rng = Rng::new(42);
    let start = Instant::now();
    for chunk in (0..MONGO_PLAYERS).collect::<Vec<_>>().chunks(250) {
        let mut batch = WriteBatch::default();
        for &i in chunk {
            for n in 0..1 + rng.below(3) {
                batch
                    .players
                    .push(seen(i, name(&mut rng), (i * 10 + n) as i64));
            }
            batch
                .stats
                .push((key(i), Mode::Dm, stats(&mut rng, i as i64)));
        }
        store.apply(&batch).unwrap();
    }
    println!(
        "MongoDB: populated {MONGO_PLAYERS} players in {:?}",
        start.elapsed()
    );
    let top = LeaderboardQuery::everyone(Mode::Dm, 20);
    support::percentiles(200, "MongoDB leaderboard top 20", || {
        black_box(store.leaderboard(&top).unwrap());
    });
    let mut pick = Rng::new(7);
    support::percentiles(200, "MongoDB profile", || {
        black_box(store.profile(&key(pick.below(MONGO_PLAYERS))).unwrap());
    });
    // Before the replay, which the emulator may not survive: two lookups,
    // two profiles and two head-to-head counts in `dm_kills`.
    let everyone: Vec<u64> = (0..MONGO_PLAYERS).collect();
    support::percentiles(200, "MongoDB /matchup reply", || {
        matchup_reply(store.as_ref(), &everyone, &mut pick)
    });
    let mut seq = store.next_seq().unwrap();
    let start = Instant::now();
    for _ in 0..10 {
        let pool: Vec<u64> = (0..20).map(|_| rng.below(MONGO_PLAYERS)).collect();
        store
            .apply(&kills_among(&mut rng, &pool, 1_000, seq))
            .unwrap();
        seq += 1_000;
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "MongoDB replay: 10,000 kill facts in {secs:.2} s = {:.0} facts/s",
        10_000.0 / secs
    );
}

criterion_group!(benches, bench, mongodb);
criterion_main!(benches);
