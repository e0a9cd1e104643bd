//! End to end: the simulator's scenarios go over real TCP into `bman`'s
//! ingest and store (SQLite; MongoDB too when `BMAN_TEST_MONGODB_URI` is set), and the leaderboard that `bman leaderboard --json`
//! prints must equal what an independent Python implementation of the rating
//! rules (tools/reference.py, with the `trueskill` package) computed from the
//! same events: every mu/sigma within 1e-6, every counter exact.

mod common;

use bman::model::Mode;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

const COUNTERS: [&str; 12] = [
    "kills",
    "deaths",
    "wins",
    "losses",
    "draws",
    "captures",
    "best_wave",
    "npc_kills",
    "npc_deaths",
    "matches",
    "games",
    "escapes",
];

fn expected_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/expected"))
}

/// Players keyed by (store, profile id).
fn by_player(players: &[Value]) -> BTreeMap<(i64, String), Value> {
    players
        .iter()
        .map(|p| {
            let key = (
                p["store"].as_i64().unwrap(),
                p["profile_id"].as_str().unwrap().to_string(),
            );
            (key, p.clone())
        })
        .collect()
}

/// Runs the scenario into the store `database` picks for the test directory.
async fn check(mode: Mode, seed: u64, database: fn(&Path) -> Option<String>) {
    let name = format!("{mode}-{seed}");
    let opts = common::sim_opts(
        mode,
        &[
            "--seed",
            &seed.to_string(),
            "--matches",
            "2",
            "--players",
            "6",
            "--rate",
            "0",
        ],
    );
    // The committed reference was computed from exactly these events.
    let mut dump = Vec::new();
    bman::sim::dump(&opts, &mut dump).unwrap();
    let committed = std::fs::read_to_string(expected_dir().join(format!("{name}.jsonl"))).unwrap();
    assert!(
        String::from_utf8(dump).unwrap() == committed,
        "{name}: the simulator changed; regenerate with tools/make_expected.sh"
    );
    let expected: Value = serde_json::from_str(
        &std::fs::read_to_string(expected_dir().join(format!("{name}.json"))).unwrap(),
    )
    .unwrap();
    let expected = by_player(expected["players"].as_array().unwrap());
    assert!(!expected.is_empty());

    // The scenario's console echoes (command_entered) are housekeeping to
    // the journal reader, like every other command_entered.
    let events = common::scenario_events(&opts)
        .iter()
        .filter(|e| !common::is_housekeeping(e.id))
        .count();
    let dir = tempfile::tempdir().unwrap();
    let Some(database) = database(dir.path()) else {
        eprintln!("skipped {name} on MongoDB: BMAN_TEST_MONGODB_URI is not set");
        return;
    };
    let sim = bman::sim::serve(opts).await.unwrap();
    let settings = common::settings_with_store(
        &[(mode.as_str(), mode, sim.local_addr().port(), "pw")],
        dir.path(),
        &database,
    );
    let (ingest, recorder) = common::start(&settings).await;
    common::wait_journaled(dir.path(), mode.as_str(), events).await;
    common::stop(ingest, recorder).await;

    let rows = common::binary::leaderboard(dir.path(), &database, mode);
    let actual = by_player(&rows);
    assert_eq!(
        actual.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>(),
        "{name}: same players"
    );
    for (key, want) in &expected {
        let got = &actual[key];
        for field in ["mu", "sigma", "elo"] {
            let (g, w) = (got[field].as_f64().unwrap(), want[field].as_f64().unwrap());
            assert!(
                (g - w).abs() <= 1e-6,
                "{name} {key:?} {field}: got {g}, want {w}"
            );
        }
        for field in COUNTERS {
            assert_eq!(got[field], want[field], "{name} {key:?} {field}");
        }
        let rating = got["rating"].as_f64().unwrap();
        assert!(
            (rating - (got["mu"].as_f64().unwrap() - 3.0 * got["sigma"].as_f64().unwrap())).abs()
                < 1e-12
        );
    }
}

fn sqlite(dir: &Path) -> Option<String> {
    Some(common::sqlite_url(dir))
}

/// A fresh MongoDB database, or `None` (skip) without `BMAN_TEST_MONGODB_URI`.
fn mongodb(_: &Path) -> Option<String> {
    common::mongo_uri().map(|base| common::unique_mongo_url(&base, "e2e"))
}

/// One SQLite test and one MongoDB test per scenario.
macro_rules! e2e {
    ($($test:ident, $mongo_test:ident: $mode:expr, $seed:expr;)*) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $test() {
            check($mode, $seed, sqlite).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $mongo_test() {
            check($mode, $seed, mongodb).await;
        }
    )*};
}

e2e! {
    dm_seed_1, mongodb_dm_seed_1: Mode::Dm, 1;
    dm_seed_2, mongodb_dm_seed_2: Mode::Dm, 2;
    tdm_seed_1, mongodb_tdm_seed_1: Mode::Tdm, 1;
    tdm_seed_2, mongodb_tdm_seed_2: Mode::Tdm, 2;
    ctf_seed_1, mongodb_ctf_seed_1: Mode::Ctf, 1;
    ctf_seed_2, mongodb_ctf_seed_2: Mode::Ctf, 2;
    svl_seed_1, mongodb_svl_seed_1: Mode::Svl, 1;
    svl_seed_2, mongodb_svl_seed_2: Mode::Svl, 2;
    zbr_seed_1, mongodb_zbr_seed_1: Mode::Zbr, 1;
    zbr_seed_2, mongodb_zbr_seed_2: Mode::Zbr, 2;
}
