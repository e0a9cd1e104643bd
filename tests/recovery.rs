//! Crash safety and history: `bman run` killed with SIGKILL mid-stream and
//! started again ends with the same stats as an uninterrupted replay of the
//! same journal; replaying a journal twice never counts twice; `bman rerate`
//! reproduces a fresh replay, also after a parameter change.

mod common;

use common::binary::{self, assert_same_stats, line_count, output, sigterm, wait_exit};

use bman::model::Mode;
use serde_json::Value;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The binary, quiet, on the SQLite file `db` in its directory.
fn bman(dir: &Path, db: &str) -> Command {
    let mut cmd = binary::bman(dir, &format!("sqlite://{db}"));
    cmd.env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd
}

/// The leaderboard in a stable order, without ranks.
fn leaderboard(dir: &Path, db: &str, mode: Mode) -> Vec<Value> {
    binary::stable_leaderboard(dir, &format!("sqlite://{db}"), mode)
}

fn wait_lines(path: &Path, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while line_count(path) < n {
        assert!(
            Instant::now() < deadline,
            "journal stuck at {} lines",
            line_count(path)
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn sigterm_and_wait(mut child: Child) {
    sigterm(&child);
    assert!(wait_exit(&mut child, Duration::from_secs(5)).success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_then_restart_equals_an_uninterrupted_replay() {
    let dir = tempfile::tempdir().unwrap();
    let opts = common::sim_opts(
        Mode::Ctf,
        &["--matches", "2", "--rate", "400", "--seed", "3"],
    );
    let scenario = common::scenario_events(&opts);
    let sim = bman::sim::serve(opts).await.unwrap();
    std::fs::write(
        dir.path().join("bmsettings.ini"),
        format!(
            "[bm]\nctf = {}\n[config]\npassword = pw\n",
            sim.local_addr().port()
        ),
    )
    .unwrap();
    let journal = dir.path().join("journal/ctf.jsonl");
    let path = dir.path().to_path_buf();

    let live = tokio::task::spawn_blocking(move || {
        // Kill it twice, at a third and at two thirds of the scenario.
        for fraction in [3, 2] {
            let mut child = bman(&path, "live.sqlite3").arg("run").spawn().unwrap();
            wait_lines(&journal, scenario.len() * (fraction - 1) / fraction + 50);
            child.kill().unwrap(); // SIGKILL: no shutdown, no flush
            child.wait().unwrap();
        }
        let child = bman(&path, "live.sqlite3").arg("run").spawn().unwrap();
        (child, journal, scenario.len())
    })
    .await
    .unwrap();
    let (child, journal, events) = live;
    assert!(
        sim.wait_until(|s| s.scenario_done, Duration::from_secs(60))
            .await,
        "scenario delivered"
    );
    common::wait_journaled(dir.path(), "ctf", events * 9 / 10).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let dir_path = dir.path().to_path_buf();
    tokio::task::spawn_blocking(move || sigterm_and_wait(child))
        .await
        .unwrap();

    let recovered = leaderboard(&dir_path, "live.sqlite3", Mode::Ctf);
    let mut replay = bman(&dir_path, "fresh.sqlite3");
    replay.args(["replay", journal.to_str().unwrap()]);
    output(replay);
    let fresh = leaderboard(&dir_path, "fresh.sqlite3", Mode::Ctf);
    assert_same_stats(&recovered, &fresh, "recovered vs uninterrupted");

    // The same journal again changes nothing, in either store.
    for db in ["live.sqlite3", "fresh.sqlite3"] {
        let mut again = bman(&dir_path, db);
        again.args(["replay", journal.to_str().unwrap()]);
        output(again);
        assert_same_stats(
            &leaderboard(&dir_path, db, Mode::Ctf),
            &fresh,
            "replayed twice",
        );
    }
}

#[test]
fn rerate_reproduces_a_fresh_replay_even_with_new_parameters() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("dm.jsonl");
    let opts = common::sim_opts(Mode::Dm, &["--matches", "2", "--seed", "4"]);
    let mut file = std::fs::File::create(&journal).unwrap();
    bman::sim::dump(&opts, &mut file).unwrap();
    let j = journal.to_str().unwrap();

    let mut replay = bman(dir.path(), "a.sqlite3");
    replay.args(["replay", j]);
    output(replay);
    let before = leaderboard(dir.path(), "a.sqlite3", Mode::Dm);
    let mut rerate = bman(dir.path(), "a.sqlite3");
    rerate.args(["rerate", "--mode", "dm"]);
    assert!(output(rerate).contains("re-rated"));
    assert_same_stats(
        &leaderboard(dir.path(), "a.sqlite3", Mode::Dm),
        &before,
        "rerate with the same parameters",
    );

    // New parameters: rerate the old store, and replay into a new one with them.
    std::fs::write(
        dir.path().join("bmsettings.ini"),
        "[config]\nbeta = 2.5\ndraw_probability = 0.05\n",
    )
    .unwrap();
    let mut rerate = bman(dir.path(), "a.sqlite3");
    rerate.args(["rerate"]);
    output(rerate);
    let rerated = leaderboard(dir.path(), "a.sqlite3", Mode::Dm);
    let mut replay = bman(dir.path(), "b.sqlite3");
    replay.args(["replay", j]);
    output(replay);
    assert_same_stats(
        &rerated,
        &leaderboard(dir.path(), "b.sqlite3", Mode::Dm),
        "rerate vs fresh replay",
    );
    let moved = rerated
        .iter()
        .zip(&before)
        .any(|(a, b)| (a["mu"].as_f64().unwrap() - b["mu"].as_f64().unwrap()).abs() > 1e-6);
    assert!(moved, "new parameters change the ratings");
}
