//! Traffic shaped like a real server's (tests/data/real_shaped, written from
//! what real servers are known to send by tools/real_shaped_fixture.py),
//! served over TCP by the simulator and recorded by the `bman` binary: bots
//! with Steam-looking profiles never reach the store, humans are rated only
//! against humans, Zombrains keeps its co-op stats, levels are stored, and
//! nothing in it makes bman warn.

mod common;

use common::binary;

use bman::model::Mode;
use bman::sim::{self, SimHandle};
use serde_json::Value;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/real_shaped");
    std::fs::read_to_string(path.join(name)).unwrap()
}

/// A simulator that sends nothing of its own, only the fixture's events;
/// with how many of them are game events (not housekeeping).
async fn serve_fixture(mode: Mode, name: &str) -> (SimHandle, usize) {
    let sim = sim::serve(common::sim_opts(mode, &["--matches", "0", "--rate", "0"]))
        .await
        .unwrap();
    let mut game_events = 0;
    for line in fixture(name).lines() {
        let line: Value = serde_json::from_str(line).unwrap();
        let id = u16::try_from(line["id"].as_u64().unwrap()).unwrap();
        sim.inject(id, line["json"].as_str().unwrap().to_string());
        game_events += usize::from(!common::is_housekeeping(id));
    }
    (sim, game_events)
}

fn by_profile<'a>(rows: &'a [Value], profile_id: &str) -> &'a Value {
    rows.iter()
        .find(|r| r["profile_id"] == profile_id)
        .unwrap_or_else(|| panic!("{profile_id} missing from {rows:#?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_shaped_traffic_records_humans_only_and_warns_about_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (dm, dm_events) = serve_fixture(Mode::Dm, "dm.jsonl").await;
    let (zbr, zbr_events) = serve_fixture(Mode::Zbr, "zbr.jsonl").await;
    std::fs::write(
        dir.path().join("bmsettings.ini"),
        format!(
            "[config]\npassword = pw\n\
             [server.dm]\nhost = 127.0.0.1\nport = {}\nmode = dm\n\
             [server.zbr]\nhost = 127.0.0.1\nport = {}\nmode = zbr\n",
            dm.local_addr().port(),
            zbr.local_addr().port()
        ),
    )
    .unwrap();
    let database = common::sqlite_url(dir.path());
    let mut child = binary::bman(dir.path(), &database)
        .arg("run")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    for (server, events) in [("dm", dm_events), ("zbr", zbr_events)] {
        let journal = dir.path().join(format!("journal/{server}.jsonl"));
        let journaled = || match journal.exists() {
            true => common::journaled_game_events(dir.path(), server).len(),
            false => 0,
        };
        while journaled() < events {
            if Instant::now() > deadline || child.try_wait().unwrap().is_some() {
                child.kill().ok();
                panic!("{server}: {} of {events} events journaled", journaled());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    // The human's `!rank` gets an answer; the bot's (sent after it) gets none.
    let says = || -> Vec<String> {
        let commands = dm.stats().commands;
        commands
            .into_iter()
            .filter(|c| c.starts_with("say "))
            .collect()
    };
    while says().is_empty() {
        if Instant::now() > deadline {
            child.kill().ok();
            panic!("no answer to !rank");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let answers = says();
    let (status, log) = tokio::task::spawn_blocking(move || binary::stop_and_log(child))
        .await
        .unwrap();
    assert!(status.success(), "{log}");
    let warnings: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("WARN") || l.contains("ERROR"))
        .filter(|l| !l.contains("DISCORD_TOKEN is not set"))
        .collect();
    assert!(warnings.is_empty(), "no warnings expected:\n{log}");
    // The game's banner as it is ("wins" is not added to it), and a server
    // named after its mode is not "dm (dm)".
    for result in [
        "Results: dm on Fields: DEMONIC PUNCH WINS.",
        "Results: zbr on Zombrains Town: SHAIGRO WINS",
    ] {
        assert!(log.contains(result), "{result:?} in:\n{log}");
    }
    assert_eq!(answers.len(), 1, "{answers:?}");
    assert!(answers[0].contains("Shaigro"), "{answers:?}");

    let expected: Value = serde_json::from_str(&fixture("expected.json")).unwrap();
    let dm_rows = binary::leaderboard(dir.path(), &database, Mode::Dm);
    let want = expected["dm"].as_array().unwrap();
    assert_eq!(dm_rows.len(), want.len(), "humans only: {dm_rows:#?}");
    for w in want {
        let got = by_profile(&dm_rows, w["profile_id"].as_str().unwrap());
        assert_eq!((&got["store"], &got["name"]), (&w["store"], &w["name"]));
        for field in ["mu", "sigma"] {
            let (g, e) = (got[field].as_f64().unwrap(), w[field].as_f64().unwrap());
            assert!((g - e).abs() < 1e-9, "{field} of {}: {g} vs {e}", w["name"]);
        }
        for field in ["kills", "deaths", "games", "matches"] {
            assert_eq!(got[field], w[field], "{field} of {}", w["name"]);
        }
    }
    let zbr_rows = binary::leaderboard(dir.path(), &database, Mode::Zbr);
    let want = expected["zbr"].as_array().unwrap();
    assert_eq!(zbr_rows.len(), want.len(), "{zbr_rows:#?}");
    for w in want {
        let got = by_profile(&zbr_rows, w["profile_id"].as_str().unwrap());
        for field in [
            "npc_kills",
            "npc_deaths",
            "escapes",
            "wins",
            "losses",
            "matches",
        ] {
            assert_eq!(got[field], w[field], "{field} of {}", w["name"]);
        }
    }
    // Levels are stored and shown; bots are nobody.
    for (profile_id, level) in expected["levels"].as_object().unwrap() {
        let mut cmd = binary::bman(dir.path(), &database);
        cmd.args(["profile", profile_id, "--json"]);
        let profile: Value = serde_json::from_str(&binary::output(cmd)).unwrap();
        assert_eq!(&profile["level"], level, "{profile:#}");
    }
    for bot in expected["bots"].as_array().unwrap() {
        let out = binary::bman(dir.path(), &database)
            .args(["profile", bot.as_str().unwrap()])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(
            text.contains("no player") || text.contains("No player"),
            "{bot}: {text}"
        );
    }
}

/// A server that never answers requests (some real ones do not): recording
/// works from events alone, bots stay out, and a request says the server did
/// not answer once its timeout passes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_never_answers_is_recorded_from_events_alone() {
    let dir = tempfile::tempdir().unwrap();
    let opts = common::sim_opts(
        Mode::Dm,
        &[
            "--no-replies",
            "--bots",
            "4",
            "--matches",
            "1",
            "--rate",
            "0",
        ],
    );
    let events = common::scenario_events(&opts).len();
    let sim = sim::serve(opts).await.unwrap();
    let settings = common::settings(
        &[("dm", Mode::Dm, sim.local_addr().port(), "pw")],
        dir.path(),
    );
    let (ingest, recorder) = common::start(&settings).await;
    common::wait_journaled(dir.path(), "dm", events).await;
    let asked = ingest.handles[0]
        .with_timeout(Duration::from_millis(300))
        .match_info()
        .await;
    let store = recorder.store.clone();
    common::stop(ingest, recorder).await;
    let err = asked.expect_err("no reply");
    assert!(err.to_string().contains("did not answer"), "{err}");
    let rows = store
        .leaderboard(&bman::model::LeaderboardQuery::everyone(Mode::Dm, 100))
        .unwrap();
    assert!(rows.len() >= 4, "humans were rated: {rows:?}");
    assert!(
        rows.iter().all(|r| !r.player.key.is_bot()),
        "no bot on the leaderboard: {rows:?}"
    );
}
