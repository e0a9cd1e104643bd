//! A store written by the previous release, which took real servers' bots
//! (`{"ProfileID":"bot2","StoreID":"0"}`) for Steam players, is repaired: no
//! bot is left, and every human's numbers equal those of a fresh replay of
//! the same events. See tests/data/previous_release/README.md for how the
//! store was made.

mod common;

use common::binary;

use bman::model::Mode;
use serde_json::Value;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

fn data(path: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(path)
}

/// The previous release's store in `dir`, as `bman.sqlite3`.
fn previous_release_store(dir: &Path) -> String {
    std::fs::copy(
        data("previous_release/bots.sqlite3"),
        dir.join("bman.sqlite3"),
    )
    .unwrap();
    common::sqlite_url(dir)
}

/// The real-shaped deathmatch fixture as a journal `bman replay` reads.
fn write_journal(dir: &Path) -> std::path::PathBuf {
    let text = std::fs::read_to_string(data("real_shaped/dm.jsonl")).unwrap();
    let mut journal = String::new();
    for line in text.lines() {
        let line: Value = serde_json::from_str(line).unwrap();
        let json = line["json"].as_str().unwrap();
        let time: Value = serde_json::from_str(json).unwrap();
        let ts_ms = time["Time"].as_str().unwrap().parse::<i64>().unwrap() * 1000 + 250;
        let entry = serde_json::json!({
            "ts_ms": ts_ms, "server": "dm", "mode": "dm", "id": line["id"], "json": json,
        });
        journal.push_str(&entry.to_string());
        journal.push('\n');
    }
    let path = dir.join("dm.jsonl");
    std::fs::write(&path, journal).unwrap();
    path
}

fn settings(dir: &Path, port: u16) {
    std::fs::write(
        dir.join("bmsettings.ini"),
        format!("[bm]\nip = 127.0.0.1\ndm = {port}\n[config]\npassword = pw\n"),
    )
    .unwrap();
}

fn profile_ids(rows: &[Value]) -> Vec<&str> {
    let mut ids: Vec<&str> = rows
        .iter()
        .map(|r| r["profile_id"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    ids
}

/// Leaderboard rows without what depends on when they were written.
fn comparable(mut rows: Vec<Value>) -> Vec<Value> {
    rows.sort_by_key(|r| r["profile_id"].as_str().unwrap().to_string());
    for row in &mut rows {
        row.as_object_mut().unwrap().remove("last_updated_ms");
    }
    rows
}

#[test]
fn bman_repair_removes_the_bots_and_rerates_the_humans() {
    let dir = tempfile::tempdir().unwrap();
    settings(dir.path(), 1);
    let database = previous_release_store(dir.path());
    let before = binary::leaderboard(dir.path(), &database, Mode::Dm);
    assert!(
        profile_ids(&before).iter().any(|id| id.starts_with("bot")),
        "the previous release stored bots: {before:#?}"
    );

    let mut repair = binary::bman(dir.path(), &database);
    repair.arg("repair");
    let said = binary::output(repair);
    assert!(
        said.contains("removed 3 bots") && said.contains("bot2"),
        "{said}"
    );

    // A fresh replay of the same events by this release is the reference.
    let journal = write_journal(dir.path());
    let fresh = common::sqlite_url(&dir.path().join("fresh"));
    std::fs::create_dir(dir.path().join("fresh")).unwrap();
    let mut replay = binary::bman(dir.path(), &fresh);
    replay.arg("replay").arg(&journal);
    binary::output(replay);
    let repaired = comparable(binary::leaderboard(dir.path(), &database, Mode::Dm));
    let reference = comparable(binary::leaderboard(dir.path(), &fresh, Mode::Dm));
    assert_eq!(
        profile_ids(&repaired),
        [
            "284375839201928374",
            "76561198000000001",
            "76561198000000002"
        ]
    );
    assert_eq!(repaired, reference);
    for bot in ["Bloody Nickel", "bot2", "Grumpy Gus"] {
        let out = binary::bman(dir.path(), &database)
            .args(["profile", bot])
            .output()
            .unwrap();
        assert!(!out.status.success(), "{bot} is nobody");
    }

    // Idempotent: a second repair finds nothing and changes nothing.
    let mut again = binary::bman(dir.path(), &database);
    again.arg("repair");
    assert!(binary::output(again).contains("nothing to repair"));
    let after = comparable(binary::leaderboard(dir.path(), &database, Mode::Dm));
    assert_eq!(after, repaired);
}

#[test]
fn bman_run_repairs_at_start_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    // Nothing listens on the server's port: the repair does not need it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    settings(dir.path(), port);
    let database = previous_release_store(dir.path());
    let mut child = binary::bman(dir.path(), &database)
        .arg("run")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while binary::leaderboard(dir.path(), &database, Mode::Dm).len() != 3 {
        if Instant::now() > deadline {
            child.kill().ok();
            panic!("no repair within 30 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let (status, log) = binary::stop_and_log(child);
    assert!(status.success(), "{log}");
    assert!(
        log.contains("repaired the store: removed 3 bots"),
        "says what it did:\n{log}"
    );
    // The next start has nothing to repair and says nothing of it.
    let mut again = binary::bman(dir.path(), &database);
    again.arg("repair");
    assert!(binary::output(again).contains("nothing to repair"));
}
