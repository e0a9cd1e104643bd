//! Announcements end to end without Discord: a simulated team deathmatch
//! over TCP, through the ingest and the writer, to the announcement bus. The
//! match result must come once, after the match is committed, with the round
//! score the game reported and the rating changes the store holds, in its
//! text and in its card.

mod common;

use bman::handlers::{Announcement, Tone, Topic};
use bman::model::LeaderboardQuery;
use bman::model::Mode;
use serde_json::Value;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_team_deathmatch_result_is_announced_once_with_score_and_ratings() {
    let dir = tempfile::tempdir().unwrap();
    let opts = common::sim_opts(Mode::Tdm, &["--matches", "1", "--rate", "0", "--seed", "3"]);
    let events = common::scenario_events(&opts);
    // What the game said: the last round's running score and the number of rounds.
    let round_ends: Vec<Value> = events
        .iter()
        .filter(|e| e.id == 14)
        .map(|e| serde_json::from_str(&e.json).unwrap())
        .collect();
    let number = |v: &Value, k: &str| -> i64 {
        match &v[k] {
            Value::String(s) => s.parse().unwrap(),
            other => other.as_i64().unwrap(),
        }
    };
    let last = round_ends.last().expect("the scenario has rounds");
    let score = format!(
        "USC {} – {} The Man after {} rounds",
        number(last, "Score1"),
        number(last, "Score2"),
        round_ends.len()
    );

    let sim = bman::sim::serve(opts).await.unwrap();
    let settings = common::settings(
        &[("eu-tdm", Mode::Tdm, sim.local_addr().port(), "pw")],
        dir.path(),
    );
    let (ingest, recorder) = common::start(&settings).await;
    let mut bus = ingest.context.subscribe();
    let mut results: Vec<Announcement> = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while results.is_empty() {
        let a = tokio::time::timeout_at(deadline, bus.recv())
            .await
            .expect("a match result within 30 s")
            .unwrap();
        if a.topic == Topic::Results {
            results.push(a);
        }
    }
    // Nothing else follows for this one match.
    while let Ok(Ok(a)) = tokio::time::timeout(Duration::from_millis(800), bus.recv()).await {
        if a.topic == Topic::Results {
            results.push(a);
        }
    }
    assert_eq!(results.len(), 1, "{results:?}");
    let text = &results[0].text;
    assert_eq!(results[0].server.as_deref(), Some("eu-tdm"));
    assert!(text.starts_with("eu-tdm (tdm) on "), "{text}");
    assert!(text.contains(&score), "{text} should contain {score}");
    assert!(text.contains(". Top: "), "{text}");

    // Every listed rating is the player's stored rating now (the match was last).
    let store = ingest.context.store.clone();
    let rows = store
        .leaderboard(&LeaderboardQuery::everyone(Mode::Tdm, 100))
        .unwrap();
    let ratings = text
        .split(". Rating: ")
        .nth(1)
        .expect("rating changes listed");
    let mut checked = 0;
    for row in &rows {
        let listed = format!("{} {:.1} (", row.player.name, row.stats.rating());
        if ratings.contains(&listed) {
            checked += 1;
        }
    }
    assert!(checked >= 2, "stored ratings appear in {ratings:?}");

    // The card: the game's banner once, the score, the top players with
    // their stored ratings, the rest counted, the winner's colour.
    let card = results[0].card.as_ref().expect("a result card");
    let banner = events
        .iter()
        .filter(|e| e.id == 27)
        .map(|e| serde_json::from_str::<Value>(&e.json).unwrap())
        .find_map(|v| v["WinnerText"].as_str().map(str::to_string))
        .expect("the game's banner");
    assert_eq!(card.banner, banner);
    assert!(!card.banner.to_lowercase().contains("wins wins"));
    assert_eq!((card.server.as_str(), card.mode), ("eu-tdm", Mode::Tdm));
    assert!(card.map.is_some());
    let score_line = score.replace(" after ", " · ");
    assert_eq!(card.lines, [score_line]);
    // The stored match's length (under a second is not shown).
    let stored = store.facts(Mode::Tdm).unwrap();
    let ran = stored
        .iter()
        .find_map(|f| match &f.record.fact {
            bman::model::Fact::Match(m) => Some(f.record.time_ms - m.started_ms.unwrap()),
            _ => None,
        })
        .expect("the match is stored");
    assert_eq!(card.duration_ms, (ran >= 1000).then_some(ran));
    assert!(!card.rows.is_empty() && card.rows.len() <= 8);
    assert_eq!(
        card.rows.len() + card.more,
        rows.len(),
        "every player shown or counted"
    );
    let mut rated = 0;
    for r in &card.rows {
        assert!(matches!(r.team, Some(1 | 2)), "{r:?}");
        if let Some((after, _)) = r.rating {
            let stored = rows.iter().find(|row| row.player.name == r.name).unwrap();
            assert!((after - stored.stats.rating()).abs() < 1e-9, "{r:?}");
            rated += 1;
        }
    }
    assert!(rated >= 2, "{:?}", card.rows);
    assert!(
        card.rows.windows(2).all(|w| w[0].team <= w[1].team),
        "USC first"
    );

    common::stop(ingest, recorder).await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_capture_the_flag_card_shows_the_captures_and_the_winners_colour() {
    let dir = tempfile::tempdir().unwrap();
    let opts = common::sim_opts(Mode::Ctf, &["--matches", "1", "--rate", "0", "--seed", "2"]);
    let events = common::scenario_events(&opts);
    let json = |id: u16| -> Vec<Value> {
        events
            .iter()
            .filter(|e| e.id == id)
            .map(|e| serde_json::from_str(&e.json).unwrap())
            .collect()
    };
    let team = |v: &Value, k: &str| v[k].as_str().unwrap_or_default().to_string();
    let captures = json(20);
    let by = |t: &str| {
        captures
            .iter()
            .filter(|c| team(c, "ScoringTeam") == t)
            .count()
    };
    assert!(!captures.is_empty(), "the scenario has captures");
    let winner = team(&json(27)[0], "WinnerTeam");

    let sim = bman::sim::serve(opts).await.unwrap();
    let settings = common::settings(
        &[("eu-ctf", Mode::Ctf, sim.local_addr().port(), "pw")],
        dir.path(),
    );
    let (ingest, recorder) = common::start(&settings).await;
    let mut bus = ingest.context.subscribe();
    let card = loop {
        let a = tokio::time::timeout(Duration::from_secs(30), bus.recv())
            .await
            .expect("a match result within 30 s")
            .unwrap();
        if let Some(card) = a.card.filter(|_| a.topic == Topic::Results) {
            break card;
        }
    };
    assert_eq!(
        card.lines[0],
        format!("Captures: USC {} – {} The Man", by("1"), by("2"))
    );
    assert!(card
        .lines
        .get(1)
        .is_none_or(|l| l.starts_with("Most captures: ")));
    let expected = match winner.as_str() {
        "1" => Tone::Usc,
        "2" => Tone::TheMan,
        _ => Tone::Draw,
    };
    assert_eq!(card.tone, expected);
    common::stop(ingest, recorder).await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn survival_milestones_records_and_results_are_announced() {
    let dir = tempfile::tempdir().unwrap();
    let opts = common::sim_opts(Mode::Svl, &["--matches", "2", "--rate", "0", "--seed", "1"]);
    let events = common::scenario_events(&opts);
    // (match number, wave) of every wave, matches counted by their end.
    let mut match_no = 0;
    let mut waves: Vec<(usize, i64)> = Vec::new();
    for e in &events {
        match e.id {
            27 => match_no += 1,
            30 => {
                let v: Value = serde_json::from_str(&e.json).unwrap();
                let wave = match &v["WaveNumber"] {
                    Value::String(s) => s.parse().unwrap(),
                    other => other.as_i64().unwrap(),
                };
                waves.push((match_no, wave));
            }
            _ => {}
        }
    }
    let matches = match_no;
    // Expected from the game's own events: a milestone every 5 waves, and a
    // record for each wave above the best before it, except in the match
    // that set the store's first record (the first game ever is quiet).
    let mut expected: Vec<String> = Vec::new();
    let (mut best, mut first_record_match) = (0, None);
    for &(match_no, wave) in &waves {
        if wave % 5 == 0 {
            expected.push(format!("svl: wave {wave} reached"));
        }
        if wave > best {
            first_record_match = first_record_match.or(Some(match_no));
            if first_record_match != Some(match_no) {
                expected.push(format!("svl: new survival record, wave {wave}!"));
            }
            best = wave;
        }
    }
    assert!(
        expected.iter().any(|e| e.contains("reached")),
        "the scenario reaches wave 5"
    );

    let sim = bman::sim::serve(opts).await.unwrap();
    let settings = common::settings(
        &[("svl", Mode::Svl, sim.local_addr().port(), "pw")],
        dir.path(),
    );
    let (ingest, recorder) = common::start(&settings).await;
    let mut bus = ingest.context.subscribe();
    let mut texts: Vec<String> = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while texts.iter().filter(|t| t.contains("reached wave")).count() < matches {
        let a = tokio::time::timeout_at(deadline, bus.recv())
            .await
            .unwrap_or_else(|_| panic!("{matches} results within 30 s; have {texts:?}"))
            .unwrap();
        if a.topic == Topic::Results {
            let card = a.card.as_ref().expect("every result has a card");
            assert_eq!((card.server.as_str(), card.tone), ("svl", Tone::Coop));
            texts.push(a.text);
        }
    }
    let waves_announced: Vec<String> = texts
        .iter()
        .filter(|t| !t.contains("reached wave"))
        .map(|t| t.split(" with ").next().unwrap().to_string())
        .collect();
    assert_eq!(waves_announced, expected);
    common::stop(ingest, recorder).await;
    sim.shutdown().await;
}
