//! The Discord renderers at their worst: the live board of a server whose
//! scoreboard lists 100,000 players (humans and bots, long and wide names),
//! and a result card. The board picks its top rows in linear time, so a
//! refresh stays cheap whatever the server reports.
//!
//! Criterion reports means; each bench also prints p50/p99 over 200 timed
//! calls, because the board is rendered on a timer and the tail is what
//! matters (each board is rendered at most every few seconds, so a few
//! milliseconds at this size leave the bot's task idle almost always).

mod support;

use bman::discord::board::{board_panel, ServerView};
use bman::discord::card::result_panel;
use bman::event::{MatchInfo, PlayerData, Profile, Scoreboard};
use bman::handlers::{Card, CardRow, Tone};
use bman::model::Mode;
use bman::rcon::ConnectionStatus;
use bman::sim::Rng;
use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use std::time::SystemTime;

const PLAYERS: usize = 100_000;
const NAMES: &[&str] = &[
    "Spas",
    "name with spaces",
    "漢字の名前",
    "@everyone",
    "└┐Frame┐└",
    "`x`",
];

fn view(players: usize) -> ServerView {
    let mut rng = Rng::new(7);
    let players = (0..players)
        .map(|i| {
            let bot = rng.below(10) == 0;
            PlayerData {
                name: Some(format!("{}{i}", NAMES[i % NAMES.len()])),
                kills: Some(rng.below(60) as i64),
                deaths: Some(rng.below(60) as i64),
                team: Some(1 + (i % 2) as i32),
                bot,
                profile: Some(Profile {
                    store: 0,
                    id: if bot {
                        format!("bot{i}")
                    } else {
                        format!("7656{i}")
                    },
                }),
                ..PlayerData::default()
            }
        })
        .collect();
    ServerView {
        server: "eu-tdm".into(),
        mode: Mode::Tdm,
        status: ConnectionStatus {
            connected_since: Some(SystemTime::now()),
            ..ConnectionStatus::default()
        },
        running: true,
        info: Some(Ok(MatchInfo {
            map: Some("Fields".into()),
            time_left: Some(12_345),
            max_players: Some(16),
            team1_score: Some(3),
            team2_score: Some(1),
            ..MatchInfo::default()
        })),
        scoreboard: Some(Ok(Scoreboard {
            players,
            ..Scoreboard::default()
        })),
    }
}

fn card() -> Card {
    Card {
        server: "eu-tdm".into(),
        mode: Mode::Tdm,
        map: Some("Fields".into()),
        banner: "USC WINS".into(),
        lines: vec!["USC 5 – 3 The Man · 8 rounds".into()],
        rows: (0..8)
            .map(|i| CardRow {
                name: NAMES[i % NAMES.len()].into(),
                team: Some(1 + (i % 2) as i32),
                kills: Some(20 - i as i64),
                deaths: Some(i as i64),
                rating: Some((20.0 + i as f64, 0.5 - i as f64 / 10.0)),
            })
            .collect(),
        more: 6,
        tone: Tone::Usc,
        duration_ms: Some(754_000),
        time_ms: 1_700_000_000_000,
    }
}

fn bench(c: &mut Criterion) {
    let big = view(PLAYERS);
    let card = card();
    support::percentiles(200, "board render, 100,000 players", || {
        black_box(board_panel(black_box(&big), 0));
    });
    support::percentiles(200, "result card render", || {
        black_box(result_panel(black_box(&card)));
    });
    c.bench_function("board render, 100,000 players", |b| {
        b.iter(|| board_panel(black_box(&big), 0))
    });
    c.bench_function("result card render", |b| {
        b.iter(|| result_panel(black_box(&card)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
