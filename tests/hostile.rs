//! Hostile and broken input through `bman replay` and the CLI views: what can
//! be used is recorded, the rest is skipped, and nothing crashes.

mod common;

use serde_json::{json, Value};
use std::path::Path;

fn bman(dir: &Path, args: &[&str]) -> std::process::Output {
    common::binary::bman(dir, "sqlite://h.sqlite3")
        .args(args)
        .output()
        .unwrap()
}

fn line(id: u16, event: Value) -> String {
    let line = json!({"ts_ms": 1_760_000_000_000i64, "server": "dm1", "mode": "dm", "id": id, "json": event.to_string()});
    format!("{line}\n")
}

fn profile(id: &str) -> String {
    json!({"ProfileID": id, "StoreID": "0"}).to_string()
}

#[test]
fn broken_events_are_skipped_and_the_rest_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let mut journal = String::new();
    // A kill before any match, identified by the profiles in the event: recorded.
    journal += &line(
        6,
        json!({"Time": "1760000001", "VictimID": "3", "KillerID": "2",
        "KillerProfile": profile("111"), "VictimProfile": profile("222")}),
    );
    // Players connect; one with a hostile name, one without a profile.
    journal += &line(
        4,
        json!({"Time": "1760000002", "PlayerID": "2", "PlayerName": "Bob\"; kick all └┐ @everyone", "Profile": "111", "Store": "0"}),
    );
    journal += &line(
        4,
        json!({"Time": "1760000002", "PlayerID": "3", "PlayerName": "Alice", "Profile": "222", "Store": "0"}),
    );
    journal += &line(
        4,
        json!({"Time": "1760000002", "PlayerID": "4", "PlayerName": "Nobody", "Profile": ""}),
    );
    // Kills by slot only: recorded for known slots, skipped for unknown ones.
    journal += &line(
        6,
        json!({"Time": "1760000003", "VictimID": "3", "KillerID": "2"}),
    );
    journal += &line(
        6,
        json!({"Time": "1760000004", "VictimID": "9", "KillerID": "2"}),
    );
    journal += &line(
        6,
        json!({"Time": "1760000005", "VictimID": "4", "KillerID": "2"}),
    );
    // Strings where numbers belong, missing fields, wrong shapes.
    journal += &line(
        6,
        json!({"Time": "soon", "VictimID": "three", "KillerID": "two"}),
    );
    journal += &line(6, json!({}));
    journal += &line(
        27,
        json!({"WinnerTeam": "x", "PlayerData2": "not an object"}),
    );
    journal += &line(99, json!({"Mystery": true}));
    journal += "{\"ts_ms\":1,\"server\":\"dm1\",\"mode\":\"dm\",\"id\":6,\"json\":\"{not json\"}\n";
    journal += "this is not a journal line\n";
    journal += &line(
        42,
        json!({"PlayerID": "2", "Message": "@everyone <@1> **x** \"; quit", "Profile": "111", "Store": "0"}),
    );
    // A last good kill after all that.
    journal += &line(
        6,
        json!({"Time": "1760000009", "VictimID": "2", "KillerID": "3"}),
    );
    std::fs::write(dir.path().join("dm1.jsonl"), journal).unwrap();

    let out = bman(dir.path(), &["replay", "dm1.jsonl"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        log.contains("dm1") && log.contains("unreadable journal line"),
        "{log}"
    );

    let out = bman(
        dir.path(),
        &["leaderboard", "--mode", "dm", "--all", "--json"],
    );
    let rows: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 2, "{rows:?}");
    let bob = rows.iter().find(|r| r["profile_id"] == "111").unwrap();
    let alice = rows.iter().find(|r| r["profile_id"] == "222").unwrap();
    assert_eq!(
        (bob["kills"].as_i64(), bob["deaths"].as_i64()),
        (Some(2), Some(1))
    );
    assert_eq!(
        (alice["kills"].as_i64(), alice["deaths"].as_i64()),
        (Some(1), Some(2))
    );
    assert_eq!(bob["name"], "Bob\"; kick all └┐ @everyone");

    // Lookups: by name part (case-insensitive), by id, and user input is not a pattern.
    let out = bman(dir.path(), &["profile", "KICK ALL", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let profile: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(profile["profile_id"], "111");
    assert_eq!(profile["modes"][0]["kills"], 2);
    assert!(bman(dir.path(), &["profile", "222"]).status.success());
    let none = bman(dir.path(), &["profile", "%"]);
    assert!(
        none.status.code() == Some(2)
            && String::from_utf8_lossy(&none.stdout).contains("no player matches")
    );
    let table = bman(dir.path(), &["leaderboard", "--mode", "dm", "--all"]);
    assert!(String::from_utf8_lossy(&table.stdout).contains("Alice"));
}

#[test]
fn ambiguous_names_list_the_candidates() {
    let dir = tempfile::tempdir().unwrap();
    let mut journal = String::new();
    for (slot, name, id) in [("1", "Sniper One", "501"), ("2", "Sniper Two", "502")] {
        journal += &line(
            4,
            json!({"Time": "1760000001", "PlayerID": slot, "PlayerName": name, "Profile": id, "Store": "0"}),
        );
    }
    journal += &line(
        6,
        json!({"Time": "1760000002", "VictimID": "2", "KillerID": "1"}),
    );
    std::fs::write(dir.path().join("dm1.jsonl"), journal).unwrap();
    assert!(bman(dir.path(), &["replay", "dm1.jsonl"]).status.success());
    let out = bman(dir.path(), &["profile", "sniper"]);
    assert_eq!(out.status.code(), Some(3), "several match");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("Sniper One") && said.contains("Sniper Two"),
        "{said}"
    );
    let out = bman(dir.path(), &["profile", "sniper two"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("502"));
}
