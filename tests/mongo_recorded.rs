//! End to end into MongoDB: the `bman` binary records simulated DM, TDM,
//! CTF and survival servers over TCP, and every document it wrote into
//! bman-data's collections has exactly bman-data's fields and types, with
//! what bman-data's readers use filled in from the game (kill positions, a
//! round's map, rating instances, loadouts, survival NPC kills and deaths). Runs when `BMAN_TEST_MONGODB_URI` is set.

mod common;
#[path = "mongo/schema.rs"]
mod schema;

use bman::model::Mode;
use common::binary;
use mongodb::bson::Document;
use schema::{dump, schema_violations, with_db, Dump};
use std::process::Stdio;
use std::time::{Duration, Instant};

const MODES: [Mode; 4] = [Mode::Dm, Mode::Tdm, Mode::Ctf, Mode::Svl];

fn sim_args() -> [&'static str; 8] {
    [
        "--matches",
        "1",
        "--players",
        "4",
        "--rate",
        "0",
        "--seed",
        "3",
    ]
}

fn strs<'a>(docs: &'a [Document], field: &str) -> Vec<&'a str> {
    docs.iter().map(|d| d.get_str(field).unwrap()).collect()
}

/// Runs the `bman` binary against simulators of `modes` (one match each)
/// until it has journaled every event, then stops it (it commits on stop).
async fn record(database: &str, modes: &[Mode]) {
    let dir = tempfile::tempdir().unwrap();
    let mut ini = String::from("[config]\npassword = pw\n");
    let mut sims = Vec::new();
    for &mode in modes {
        let opts = common::sim_opts(mode, &sim_args());
        let events = common::scenario_events(&opts).len();
        let sim = bman::sim::serve(opts).await.unwrap();
        ini.push_str(&format!(
            "[server.{mode}]\nhost = 127.0.0.1\nport = {}\nmode = {mode}\n",
            sim.local_addr().port()
        ));
        sims.push((mode, sim, events));
    }
    std::fs::write(dir.path().join("bmsettings.ini"), ini).unwrap();
    let mut child = binary::bman(dir.path(), database)
        .arg("run")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    for (mode, _, events) in &sims {
        let server = mode.as_str();
        let journaled = || match dir.path().join(format!("journal/{server}.jsonl")).exists() {
            true => common::journaled_game_events(dir.path(), server).len(),
            false => 0,
        };
        while journaled() < *events {
            if Instant::now() > deadline || child.try_wait().unwrap().is_some() {
                child.kill().ok();
                panic!("{server}: {} of {events} events journaled", journaled());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let (status, log) = tokio::task::spawn_blocking(move || binary::stop_and_log(child))
        .await
        .unwrap();
    assert!(status.success(), "{log}");
}

/// A fresh database on the test server, if one is set.
fn database(label: &str) -> Option<String> {
    let Some(base) = common::mongo_uri() else {
        eprintln!("skipped: set BMAN_TEST_MONGODB_URI to record into MongoDB");
        return None;
    };
    Some(common::unique_mongo_url(&base, label))
}

/// Every document of `database`, after checking bman-data's collections
/// against the schema.
async fn checked_dump(database: &str) -> Dump {
    let uri = database.to_string();
    let all = tokio::task::spawn_blocking(move || dump(&uri))
        .await
        .unwrap();
    let violations = schema_violations(&all);
    assert!(violations.is_empty(), "{}", violations.join("\n"));
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bman_run_writes_bman_data_shapes_readers_can_use() {
    let Some(database) = database("recorded") else {
        return;
    };
    record(&database, &MODES).await;
    let all = checked_dump(&database).await;
    for collection in [
        "players",
        "dm_kills",
        "tdm_kills",
        "tdm_rounds",
        "tdm_rating_instances",
        "ctf_scores",
        "ctf_rating_instances",
        "svl_rounds",
        "svl_kills",
        "svl_deaths",
        "tdm_loadouts",
    ] {
        assert!(
            all.get(collection).is_some_and(|d| !d.is_empty()),
            "{collection} is written"
        );
    }
    // Positions as "X,Y" of two numbers wherever the game sent them (it
    // drops them at times), and on most kills.
    for collection in ["dm_kills", "tdm_kills"] {
        let kills = &all[collection];
        let mut placed = 0;
        for at in strs(kills, "killer_location")
            .into_iter()
            .chain(strs(kills, "victim_location"))
            .filter(|at| !at.is_empty())
        {
            let numbers: Vec<f64> = at.split(',').map(|n| n.parse().unwrap()).collect();
            assert_eq!(numbers.len(), 2, "{at}");
            placed += 1;
        }
        assert!(placed > kills.len(), "{collection}: {placed} positions");
    }
    // Survival NPCs by their kind, as they spawned.
    for collection in ["svl_kills", "svl_deaths"] {
        let kinds = strs(&all[collection], "enemy_type");
        assert!(
            kinds.iter().all(|k| !k.is_empty()),
            "{collection}: {kinds:?}"
        );
    }
    let weapons = strs(&all["tdm_loadouts"], "weap1");
    assert!(weapons.iter().all(|w| !w.is_empty()), "{weapons:?}");
    let maps = strs(&all["tdm_rounds"], "map_name");
    assert!(maps.iter().all(|m| !m.is_empty()), "{maps:?}");
    // One rating instance per player of each rated round.
    let rostered: usize = all["tdm_rounds"]
        .iter()
        .map(|r| {
            r.get_array("usc_players").unwrap().len() + r.get_array("man_players").unwrap().len()
        })
        .sum();
    assert_eq!(all["tdm_rating_instances"].len(), rostered);
    let names = tokio::task::spawn_blocking(move || {
        with_db(&database, async |db| {
            let messages = db.collection::<Document>("dm_messages");
            messages.list_index_names().await.unwrap()
        })
    })
    .await
    .unwrap();
    assert!(names.contains(&"message_text".to_string()), "{names:?}");
}

/// The first human the DM scenario connects: (profile id, name).
fn first_dm_player() -> (String, String) {
    let opts = common::sim_opts(Mode::Dm, &sim_args());
    for event in common::scenario_events(&opts) {
        let bman::event::Event::PlayerConnect {
            profile: Some(p),
            name: Some(name),
            ..
        } = bman::event::decode(event.id, &event.json).unwrap().event
        else {
            continue;
        };
        if !p.is_bot() {
            return (p.id, name);
        }
    }
    panic!("the scenario connects no human");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bman_run_on_a_bman_data_database_keeps_one_document_per_player() {
    let Some(database) = database("returning") else {
        return;
    };
    let (profile, name) = first_dm_player();
    // What bman-data wrote about this player before bman ran.
    let player = mongodb::bson::oid::ObjectId::new();
    let old = mongodb::bson::doc! {
        "_id": player, "profile": { "platform": "0", "profile": &profile },
        "name": ["Old Name"], "ip": ["10.0.0.1"], "color": "255", "premium": "0",
        "hat": "7", "clan_id": "", "clan_tag": "",
    };
    let dm = mongodb::bson::doc! {
        "player": player, "mu": 30.0, "sigma": 2.0, "kills": 400_i64, "deaths": 100_i64,
        "last_updated": mongodb::bson::DateTime::from_millis(1_600_000_000_000),
    };
    let uri = database.clone();
    tokio::task::spawn_blocking(move || {
        schema::insert_raw(&uri, &[("players", vec![old]), ("dm_profiles", vec![dm])])
    })
    .await
    .unwrap();

    record(&database, &[Mode::Dm]).await;
    let all = checked_dump(&database).await;
    let theirs: Vec<&Document> = all["players"]
        .iter()
        .filter(|p| {
            p.get_document("profile").unwrap().get_str("profile").ok() == Some(profile.as_str())
        })
        .collect();
    assert_eq!(theirs.len(), 1, "one document: {theirs:?}");
    assert_eq!(
        theirs[0].get_object_id("_id").unwrap(),
        player,
        "bman-data's own"
    );
    let names: Vec<&str> = theirs[0]
        .get_array("name")
        .unwrap()
        .iter()
        .filter_map(|n| n.as_str())
        .collect();
    assert_eq!(
        names,
        ["Old Name", name.as_str()],
        "bman-data's first name first"
    );
    let profiles: Vec<&Document> = all["dm_profiles"]
        .iter()
        .filter(|p| p.get_object_id("player").ok() == Some(player))
        .collect();
    assert_eq!(profiles.len(), 1);
    let kills = profiles[0].get_i64("kills").unwrap();
    assert!(kills >= 400, "counters continue from bman-data's: {kills}");
}
