//! `bman evaluate` end to end: stored history in a real SQLite file, the
//! real binary, and the simulator's hidden skills as the truth.
//!
//! - TrueSkill's scores equal what the Python `trueskill` package gives for
//!   the same contests (tests/data/win_probability_vectors.json, from
//!   tools/win_probability_vectors.py).
//! - On simulated history with a real skill spread every system beats a
//!   coin flip and the leaderboard ranks players nearly as their true
//!   skill; with no spread no system claims an edge.

mod common;

use bman::evaluate::{evaluate, Options};
use bman::model::{CaptureFact, Fact, FactRecord, KillFact, Mode, PlayerKey, StoredFact};
use bman::rater::RatingParams;
use bman::ratings::TrueSkillParams;
use bman::store::{Store, WriteBatch};
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

fn configured() -> RatingParams {
    RatingParams {
        trueskill: TrueSkillParams::default(),
        elo_k: 32.0,
        systems: bman::rater::RatingSystems::default(),
    }
}

fn key(i: &Value) -> PlayerKey {
    PlayerKey {
        store: 0,
        id: format!("p{}", i.as_u64().unwrap()),
    }
}

fn keys(v: &Value) -> Vec<PlayerKey> {
    v.as_array().unwrap().iter().map(key).collect()
}

/// The Python walks stored as facts; `bman evaluate`'s TrueSkill as
/// configured must score them exactly as Python did.
#[test]
fn trueskill_scores_match_python() {
    let vectors: Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/win_probability_vectors.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let walks = vectors["walks"].as_array().unwrap();
    assert_eq!(walks.len(), 2);
    let dir = tempfile::tempdir().unwrap();
    let store = bman::store::sqlite::SqliteStore::open(&dir.path().join("s.sqlite3")).unwrap();
    let mut seq = 0;
    for walk in walks {
        let mode: Mode = serde_json::from_value(walk["mode"].clone()).unwrap();
        let facts = walk["games"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| {
                seq += 1;
                let fact = match mode {
                    Mode::Dm => Fact::Kill(KillFact {
                        killer: key(&g["winner"]),
                        victim: key(&g["loser"]),
                        weapon: None,
                        headshot: false,
                        teamkill: false,
                        killer_at: None,
                        victim_at: None,
                    }),
                    _ => Fact::Capture(CaptureFact {
                        carrier: None,
                        scoring_team: 1,
                        scoring: keys(&g["scoring"]),
                        other: keys(&g["other"]),
                    }),
                };
                StoredFact {
                    seq,
                    record: FactRecord {
                        server: "s".into(),
                        mode,
                        time_ms: seq * 1000,
                        match_id: None,
                        fact,
                    },
                    changes: Vec::new(),
                }
            })
            .collect();
        store
            .apply(&WriteBatch {
                facts,
                ..WriteBatch::default()
            })
            .unwrap();
        let opts = Options {
            mode,
            since_ms: None,
            configured: configured(),
        };
        let report = evaluate(&store, &opts).unwrap().report;
        let ours = report
            .systems
            .iter()
            .find(|s| s.name == "trueskill" && !s.tuned)
            .unwrap();
        let want = &walk["trueskill"];
        assert_eq!(
            ours.summary.contests,
            want["contests"].as_u64().unwrap(),
            "{mode}"
        );
        for (name, got) in [
            ("log_loss", ours.summary.log_loss),
            ("accuracy", ours.summary.accuracy),
            ("brier", ours.summary.brier),
        ] {
            let want = want[name].as_f64().unwrap();
            assert!((got - want).abs() < 1e-9, "{mode} {name}: {got} vs {want}");
        }
    }
}

/// `bman simulate --dump` of a deathmatch with these extra options, replayed
/// into a fresh store; returns the directory, the store URL and the true skills.
fn simulated(extra: &[&str]) -> (tempfile::TempDir, String, HashMap<PlayerKey, f64>) {
    let dir = tempfile::tempdir().unwrap();
    let database = common::sqlite_url(dir.path());
    let mut sim = Command::new(env!("CARGO_BIN_EXE_bman"));
    sim.args(["simulate", "--dump", "--mode", "dm"]).args(extra);
    let dump = common::binary::output(sim);
    let last = dump.lines().last().unwrap();
    let skills: Value = serde_json::from_str(last).unwrap();
    let truth = skills["true_skills"]
        .as_array()
        .expect("--skill-spread lists the true skills last")
        .iter()
        .map(|s| {
            let key = PlayerKey {
                store: s["store"].as_i64().unwrap() as i32,
                id: s["profile"].as_str().unwrap().into(),
            };
            (key, s["skill"].as_f64().unwrap())
        })
        .collect();
    let journal = dir.path().join("sim.jsonl");
    std::fs::write(&journal, &dump).unwrap();
    let mut replay = common::binary::bman(dir.path(), &database);
    replay.arg("replay").arg(&journal);
    common::binary::output(replay);
    (dir, database, truth)
}

fn evaluate_json(dir: &Path, database: &str, extra: &[&str]) -> Value {
    let mut cmd = common::binary::bman(dir, database);
    cmd.args(["evaluate", "--mode", "dm", "--json"]).args(extra);
    serde_json::from_str(&common::binary::output(cmd)).unwrap()
}

/// Ranks with ties averaged, then Pearson's correlation of the ranks.
fn spearman(pairs: &[(f64, f64)]) -> f64 {
    fn ranks(xs: Vec<f64>) -> Vec<f64> {
        let mut order: Vec<usize> = (0..xs.len()).collect();
        order.sort_by(|&a, &b| xs[a].total_cmp(&xs[b]));
        let mut r = vec![0.0; xs.len()];
        let mut i = 0;
        while i < order.len() {
            let mut j = i;
            while j + 1 < order.len() && xs[order[j + 1]] == xs[order[i]] {
                j += 1;
            }
            for &k in &order[i..=j] {
                r[k] = (i + j) as f64 / 2.0;
            }
            i = j + 1;
        }
        r
    }
    let a = ranks(pairs.iter().map(|p| p.0).collect());
    let b = ranks(pairs.iter().map(|p| p.1).collect());
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let (ma, mb) = (mean(&a), mean(&b));
    let cov: f64 = a.iter().zip(&b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let var = |v: &[f64], m: f64| v.iter().map(|x| (x - m).powi(2)).sum::<f64>().sqrt();
    cov / (var(&a, ma) * var(&b, mb))
}

fn systems(report: &Value) -> &Vec<Value> {
    report["systems"].as_array().unwrap()
}

#[test]
fn with_real_skill_every_system_beats_a_coin_and_ranks_the_truth() {
    let (dir, database, truth) = simulated(&[
        "--skill-spread",
        "1.5",
        "--players",
        "12",
        "--matches",
        "150",
        "--seed",
        "3",
    ]);
    let chart = dir.path().join("calibration.png");
    let report = evaluate_json(dir.path(), &database, &["--chart", chart.to_str().unwrap()]);
    let contests = report["contests"].as_u64().unwrap();
    assert!(contests >= 2000, "{contests} kills");
    assert_eq!(systems(&report).len(), 8, "4 systems, configured and tuned");
    for s in systems(&report) {
        let (ll, acc) = (
            s["log_loss"].as_f64().unwrap(),
            s["accuracy"].as_f64().unwrap(),
        );
        assert!(ll < 0.6, "{s}: a coin scores 0.693");
        assert!(acc > 0.65, "{s}");
        assert_eq!(s["calibration"].as_array().unwrap().len(), 10, "{s}");
    }
    assert!(report["best"].is_string());
    let png = std::fs::read(&chart).unwrap();
    let info = png::Decoder::new(std::io::Cursor::new(png))
        .read_info()
        .unwrap()
        .info()
        .clone();
    assert_eq!((info.width, info.height), (640, 640));

    // The stored leaderboard (TrueSkill, mu - 3 sigma) against the truth.
    let rows = common::binary::leaderboard(dir.path(), &database, Mode::Dm);
    let pairs: Vec<(f64, f64)> = rows
        .iter()
        .map(|r| {
            let key = PlayerKey {
                store: r["store"].as_i64().unwrap() as i32,
                id: r["profile_id"].as_str().unwrap().into(),
            };
            (truth[&key], r["rating"].as_f64().unwrap())
        })
        .collect();
    assert!(pairs.len() >= 12, "{} ranked players", pairs.len());
    let rho = spearman(&pairs);
    eprintln!(
        "rank correlation of true skill and the leaderboard after {contests} kills: {rho:.3}"
    );
    assert!(rho > 0.8, "{rho}");
    // And every system's own ranking.
    let store = bman::store::open(&database).unwrap();
    let opts = Options {
        mode: Mode::Dm,
        since_ms: None,
        configured: configured(),
    };
    for (kind, board) in evaluate(store.as_ref(), &opts).unwrap().leaderboards {
        let pairs: Vec<(f64, f64)> = board.iter().map(|(k, r)| (truth[k], *r)).collect();
        let rho = spearman(&pairs);
        eprintln!(
            "{kind:?}: rank correlation {rho:.3} over {} players",
            pairs.len()
        );
        assert!(rho > 0.8, "{kind:?}: {rho}");
    }
}

#[test]
fn without_skill_no_system_claims_an_edge() {
    let (dir, database, truth) =
        simulated(&["--skill-spread", "0", "--players", "12", "--matches", "150"]);
    assert!(truth.values().all(|&s| s == 0.0));
    let report = evaluate_json(dir.path(), &database, &[]);
    assert!(report["contests"].as_u64().unwrap() >= 2000);
    for s in systems(&report) {
        let acc = s["accuracy"].as_f64().unwrap();
        assert!(acc < 0.56, "{s}");
        assert!(s["log_loss"].as_f64().unwrap() > 0.68, "{s}");
    }
}

#[test]
fn since_scores_only_later_contests_and_bad_dates_are_refused() {
    let (dir, database, _) = simulated(&["--skill-spread", "1", "--matches", "6"]);
    let all = evaluate_json(dir.path(), &database, &[]);
    assert!(all["contests"].as_u64().unwrap() > 0);
    // The simulator's clock starts on 2025-10-09.
    let same = evaluate_json(dir.path(), &database, &["--since", "2025-10-09"]);
    assert_eq!(same["contests"], all["contests"]);
    let none = evaluate_json(dir.path(), &database, &["--since", "2100-01-01"]);
    assert_eq!(none["contests"], 0);
    assert!(none["best"].is_null());
    for s in systems(&none) {
        assert_eq!(s["contests"], 0);
    }
    let mut bad = common::binary::bman(dir.path(), &database);
    bad.args(["evaluate", "--since", "last tuesday"]);
    let out = bad.output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--since"));
    // Text output ends with the config lines that would select the best.
    let mut text = common::binary::bman(dir.path(), &database);
    text.args(["evaluate", "--mode", "dm"]);
    let text = common::binary::output(text);
    assert!(text.contains("best: "), "{text}");
    assert!(
        text.contains("\n[config]\n") || text.contains("\n[ratings]\n"),
        "{text}"
    );
}

/// Team modes score rounds and captures; a mode without contests reports zeros.
#[test]
fn team_modes_and_modes_without_contests() {
    for (mode, unit) in [("tdm", "rounds"), ("ctf", "captures"), ("svl", "nothing")] {
        let dir = tempfile::tempdir().unwrap();
        let database = common::sqlite_url(dir.path());
        let mut sim = Command::new(env!("CARGO_BIN_EXE_bman"));
        sim.args([
            "simulate",
            "--dump",
            "--mode",
            mode,
            "--matches",
            "20",
            "--skill-spread",
            "1",
        ]);
        let journal = dir.path().join("sim.jsonl");
        std::fs::write(&journal, common::binary::output(sim)).unwrap();
        let mut replay = common::binary::bman(dir.path(), &database);
        replay.arg("replay").arg(&journal);
        common::binary::output(replay);
        let mut cmd = common::binary::bman(dir.path(), &database);
        cmd.args(["evaluate", "--mode", mode, "--json"]);
        let report: Value = serde_json::from_str(&common::binary::output(cmd)).unwrap();
        let contests = report["contests"].as_u64().unwrap();
        let draws = systems(&report)[0]["draws"].as_u64().unwrap();
        eprintln!("{mode}: {contests} {unit} scored, {draws} draws");
        if mode == "svl" {
            assert_eq!((contests, draws), (0, 0));
            assert!(report["best"].is_null());
        } else {
            assert!(contests > 20, "{mode}: {contests}");
            assert!(report["best"].is_string());
        }
    }
}

/// Rates the stored deathmatch kills through `rate` by hand (every rated
/// kill: the killer beat the victim), from `fresh` for new players.
fn kills_by_hand<R: Copy>(
    database: &str,
    fresh: R,
    rate: impl Fn(&R, &R) -> (R, R),
) -> HashMap<PlayerKey, R> {
    let store = bman::store::open(database).unwrap();
    let mut want: HashMap<PlayerKey, R> = HashMap::new();
    for f in store.facts(Mode::Dm).unwrap() {
        let Fact::Kill(k) = f.record.fact else {
            continue;
        };
        if k.teamkill || k.killer == k.victim {
            continue;
        }
        let (w, l) = (want.get(&k.killer).copied(), want.get(&k.victim).copied());
        let (w, l) = rate(&w.unwrap_or(fresh), &l.unwrap_or(fresh));
        want.insert(k.killer, w);
        want.insert(k.victim, l);
    }
    want
}

/// Every leaderboard row shows `want`'s (mu, sigma) for its player, ranked by mu − 3σ.
fn assert_rows_are(rows: &[Value], want: &HashMap<PlayerKey, (f64, f64)>) {
    assert_eq!(rows.len(), want.len());
    for row in rows {
        let key = PlayerKey {
            store: row["store"].as_i64().unwrap() as i32,
            id: row["profile_id"].as_str().unwrap().into(),
        };
        let (mu, sigma) = (row["mu"].as_f64().unwrap(), row["sigma"].as_f64().unwrap());
        assert!((mu - want[&key].0).abs() < 1e-9, "{row}");
        assert!((sigma - want[&key].1).abs() < 1e-9, "{row}");
        assert!((row["rating"].as_f64().unwrap() - (mu - 3.0 * sigma)).abs() < 1e-9);
    }
}

/// Writes `settings` as the config and reruns `bman rerate --mode dm`; the leaderboard after.
fn rerate_dm_with(dir: &Path, database: &str, settings: &str) -> Vec<Value> {
    let ini = dir.join("bmsettings.ini");
    std::fs::write(&ini, settings).unwrap();
    let mut cmd = common::binary::bman(dir, database);
    cmd.args(["--config", ini.to_str().unwrap(), "rerate", "--mode", "dm"]);
    common::binary::output(cmd);
    common::binary::leaderboard(dir, database, Mode::Dm)
}

/// `[ratings] dm = weng-lin` and `bman rerate`: the leaderboard shows
/// Weng-Lin's mu − 3σ, equal to `skillratings`' Weng-Lin applied to the
/// stored kills directly; back to the default, the TrueSkill leaderboard
/// returns exactly as it was.
#[test]
fn choosing_weng_lin_rerates_the_leaderboard_with_it() {
    let (dir, database, _) = simulated(&["--skill-spread", "1", "--matches", "30"]);
    let recorded = common::binary::leaderboard(dir.path(), &database, Mode::Dm);
    let rerated = rerate_dm_with(
        dir.path(),
        &database,
        "[ratings]\ndm = weng-lin\nweng_lin_beta = 5\n",
    );

    use skillratings::weng_lin::{weng_lin, WengLinConfig, WengLinRating};
    let config = WengLinConfig {
        beta: 5.0,
        ..WengLinConfig::new()
    };
    let fresh = WengLinRating {
        rating: 25.0,
        uncertainty: 25.0 / 3.0,
    };
    let want = kills_by_hand(&database, fresh, |w, l| {
        weng_lin(w, l, &skillratings::Outcomes::WIN, &config)
    });
    assert_rows_are(
        &rerated,
        &want
            .into_iter()
            .map(|(k, r)| (k, (r.rating, r.uncertainty)))
            .collect(),
    );
    assert_ne!(rerated, recorded);

    // Recording with the setting gives what the rerate gave.
    let live = format!("sqlite://{}", dir.path().join("live.sqlite3").display());
    let mut replay = common::binary::bman(dir.path(), &live);
    replay
        .args(["--config", "bmsettings.ini", "replay"])
        .arg(dir.path().join("sim.jsonl"));
    common::binary::output(replay);
    let recorded_live = common::binary::leaderboard(dir.path(), &live, Mode::Dm);
    let without_time = |rows: &[Value]| -> Vec<Value> {
        rows.iter()
            .map(|r| {
                let mut r = r.clone();
                r.as_object_mut().unwrap().remove("last_updated_ms");
                r
            })
            .collect()
    };
    assert_eq!(without_time(&recorded_live), without_time(&rerated));

    assert_eq!(
        rerate_dm_with(dir.path(), &database, ""),
        recorded,
        "the default is TrueSkill, as recorded"
    );
}

/// `[ratings] dm = glicko2`: the rerated leaderboard is `skillratings`'
/// Glicko-2 on the stored kills (1500 ± 350 shown as 25 ± 8.33: 42 Glicko
/// points a point). Recording the same history in two runs of bman, which
/// must carry every player's volatility across the restart, ends where the
/// rerate did.
#[test]
fn choosing_glicko2_rerates_and_records_across_restarts() {
    let (dir, database, _) = simulated(&["--skill-spread", "1", "--matches", "30"]);
    let settings = "[ratings]\ndm = glicko2\nglicko2_tau = 0.7\n";
    let rerated = rerate_dm_with(dir.path(), &database, settings);

    use skillratings::glicko2::{glicko2, Glicko2Config, Glicko2Rating};
    let config = Glicko2Config {
        tau: 0.7,
        ..Glicko2Config::new()
    };
    let want = kills_by_hand(&database, Glicko2Rating::new(), |w, l| {
        glicko2(w, l, &skillratings::Outcomes::WIN, &config)
    });
    let scale = 350.0 / (25.0 / 3.0);
    let shown = want
        .iter()
        .map(|(k, r)| {
            (
                k.clone(),
                (25.0 + (r.rating - 1500.0) / scale, r.deviation / scale),
            )
        })
        .collect();
    assert_rows_are(&rerated, &shown);
    assert!(
        want.values().any(|r| (r.volatility - 0.06).abs() > 1e-6),
        "Glicko-2 moved no volatility: the test would not see it lost"
    );

    // Half the journal, a restart, then the rest.
    let journal = std::fs::read_to_string(dir.path().join("sim.jsonl")).unwrap();
    let lines: Vec<&str> = journal.lines().collect();
    let (first, rest) = lines.split_at(lines.len() / 2);
    let live = format!("sqlite://{}", dir.path().join("live.sqlite3").display());
    for (i, part) in [first, rest].into_iter().enumerate() {
        let path = dir.path().join(format!("part{i}.jsonl"));
        std::fs::write(&path, part.join("\n") + "\n").unwrap();
        let mut replay = common::binary::bman(dir.path(), &live);
        replay
            .args(["--config", "bmsettings.ini", "replay"])
            .arg(&path);
        common::binary::output(replay);
    }
    let recorded = common::binary::leaderboard(dir.path(), &live, Mode::Dm);
    assert_rows_are(&recorded, &shown);
}
