//! Tracker tests: hand-built events for each rule, the simulator's scenarios
//! for every mode, and mangled input for robustness.

use super::*;
use crate::event::{decode, Profile};
use crate::model::{CaptureFact, Loadout, RoundFact, RoundLoadout, WaveFact};
use crate::sim::{scenario, SimOptions};
use serde_json::{json, Value};
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

const T0: i64 = 1_760_000_000;

fn key(id: &str) -> PlayerKey {
    PlayerKey::new(0, id)
}

fn keys(ids: &[&str]) -> Vec<PlayerKey> {
    ids.iter().map(|id| key(id)).collect()
}

/// A tracker fed with events built from JSON; `Time` advances a second per
/// event and the receive time trails it by 250 ms.
struct Game {
    tracker: Tracker,
    info: Arc<ServerInfo>,
    clock: i64,
}

impl Game {
    fn new(mode: Mode) -> Game {
        let info = Arc::new(ServerInfo {
            name: "srv".into(),
            mode,
        });
        Game {
            tracker: Tracker::new(&info),
            info,
            clock: T0,
        }
    }

    fn ingest(&mut self, id: u16, mut fields: Value) -> IngestEvent {
        self.clock += 1;
        if fields.get("Time").is_none() {
            fields["Time"] = json!(self.clock.to_string());
        }
        IngestEvent {
            server: self.info.clone(),
            ts_ms: self.clock * 1000 + 250,
            pos: None,
            event: decode(id, &fields.to_string()).expect("test events are JSON objects"),
        }
    }

    fn feed(&mut self, id: u16, fields: Value) -> TrackerOutput {
        let ev = self.ingest(id, fields);
        let mut out = TrackerOutput::default();
        self.tracker.on_event(&ev, &mut out);
        out
    }

    fn facts(&mut self, id: u16, fields: Value) -> Vec<Fact> {
        self.feed(id, fields)
            .facts
            .into_iter()
            .map(|r| r.fact)
            .collect()
    }

    fn run(&mut self, events: Vec<(u16, Value)>) -> Vec<Fact> {
        events
            .into_iter()
            .flat_map(|(id, fields)| self.facts(id, fields))
            .collect()
    }
}

fn connect(slot: i32, profile: &str) -> (u16, Value) {
    (
        4,
        json!({ "PlayerID": slot.to_string(), "PlayerName": format!("name-{profile}"),
                "IP": "203.0.113.5", "Profile": profile, "Store": "0" }),
    )
}

fn disconnect(slot: i32) -> (u16, Value) {
    (7, json!({ "PlayerID": slot.to_string(), "Profile": "" }))
}

fn spawn(slot: i32, team: i32) -> (u16, Value) {
    (
        5,
        json!({ "PlayerID": slot.to_string(), "Team": team.to_string(), "Name": "x", "Hat": "3", "Color": "255" }),
    )
}

fn team_change(slot: i32, team: i32) -> (u16, Value) {
    (8, json!({ "PlayerID": slot, "NewTeam": team.to_string() }))
}

fn npc_spawn(slot: i32) -> (u16, Value) {
    (
        5,
        json!({ "PlayerID": slot, "Team": "2", "Name": "Grunt", "EnemyType": "1", "EnemyRank": "0",
                "Profile": "{\"ProfileID\":\"0\",\"StoreID\":\"-1\"}" }),
    )
}

/// A death named by slots only, so the identity cache decides who is who.
fn death(killer: i32, victim: i32) -> (u16, Value) {
    (
        6,
        json!({ "KillerID": killer.to_string(), "VictimID": victim.to_string(), "KillerWeapon": "12",
                "Headshot": "0", "Teamkill": "0" }),
    )
}

fn match_start(map: &str) -> (u16, Value) {
    (
        29,
        json!({ "MapName": map, "MapFile": "m.bmm", "GameModeID": "1" }),
    )
}

fn player_data(slot: i32, profile: &str, team: i32, kills: i64) -> Value {
    json!({ "ID": slot.to_string(), "Name": format!("pd-{profile}"), "Team": team.to_string(),
            "Kills": kills.to_string(), "Deaths": "1", "Score": "10", "Profile": profile, "Store": "0",
            "Bot": "0", "Premium": "1", "ClanID": "77", "ClanTag": "BM", "Color": "1", "Hat": "2" })
}

fn bot_data(slot: i32) -> Value {
    json!({ "ID": slot.to_string(), "Name": "[BOT] Carl", "Team": "1", "Kills": "4", "Profile": "0",
            "Store": "-1", "Bot": "1" })
}

fn match_end(winner: i32, players: &[Value]) -> (u16, Value) {
    let mut ev = json!({ "WinnerTeam": winner.to_string(), "WinnerText": "The Man wins!", "WinnerID": "-1" });
    for pd in players {
        ev[format!("PlayerData{}", pd["ID"].as_str().unwrap_or("0"))] = pd.clone();
    }
    (27, ev)
}

fn game_over(winner: i32) -> (u16, Value) {
    (
        57,
        json!({ "WinnerTeam": winner.to_string(), "WinnerText": "The Man wins!", "CurrentMapName": "Late Map" }),
    )
}

fn scoreboard(players: &[Value]) -> (u16, Value) {
    let mut ev = json!({ "CaseID": "7", "RequestID": "1", "Map": "Board Map" });
    for pd in players {
        ev[format!("PlayerData{}", pd["ID"].as_str().unwrap_or("0"))] = pd.clone();
    }
    (34, ev)
}

fn kill(killer: &str, victim: &str) -> KillFact {
    KillFact {
        killer: key(killer),
        victim: key(victim),
        weapon: Some("12".into()),
        headshot: false,
        teamkill: false,
        killer_at: None,
        victim_at: None,
    }
}

fn only_match(facts: &[Fact]) -> &MatchFact {
    let matches: Vec<&MatchFact> = facts
        .iter()
        .filter_map(|f| match f {
            Fact::Match(m) => Some(m),
            _ => None,
        })
        .collect();
    assert_eq!(matches.len(), 1, "{facts:?}");
    matches[0]
}

mod real_server;
mod simulated;
mod trackers;
