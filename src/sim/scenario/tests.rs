//! The scenario's promises, checked on whole generated streams: determinism,
//! consistency with the roster, and every shape the ingest must cope with.

use super::cast::{ENEMY_NAMES, NPC_PROFILE, ZOMBIE_NAMES};
use super::*;
use crate::event::ids;
use crate::sim::state::{int, parse_profile};
use serde_json::Map;
use std::collections::HashMap;

pub(super) fn opts(mode: Mode, seed: u64) -> SimOptions {
    SimOptions {
        mode,
        seed,
        matches: Some(3),
        ..SimOptions::default()
    }
}

pub(super) fn events(mode: Mode, seed: u64) -> Vec<(u16, Map<String, Value>)> {
    scenario(&opts(mode, seed))
        .map(|e| match serde_json::from_str(&e.json) {
            Ok(Value::Object(o)) => (e.id, o),
            other => panic!("event {} is not a JSON object: {other:?}", e.json),
        })
        .collect()
}

pub(super) fn s(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(v) => v.to_string(),
        None => String::new(),
    }
}

#[test]
fn same_seed_same_events_other_seed_differs() {
    for mode in Mode::ALL {
        let a: Vec<SimEvent> = scenario(&opts(mode, 7)).collect();
        let b: Vec<SimEvent> = scenario(&opts(mode, 7)).collect();
        let c: Vec<SimEvent> = scenario(&opts(mode, 8)).collect();
        assert_eq!(a, b, "{mode}");
        assert_ne!(a, c, "{mode}");
    }
}

#[test]
fn endless_scenario_keeps_going_and_matches_bound_it() {
    let unlimited = SimOptions {
        matches: None,
        ..opts(Mode::Tdm, 1)
    };
    let ends = scenario(&unlimited)
        .take(20_000)
        .filter(|e| e.id == ids::MATCH_END)
        .count();
    assert!(ends > 3, "only {ends} matches in 20000 events");
    assert_eq!(
        scenario(&opts(Mode::Tdm, 1))
            .filter(|e| e.id == ids::MATCH_END)
            .count(),
        3
    );
}

#[test]
fn every_event_has_time_and_event_id_and_time_advances() {
    for mode in Mode::ALL {
        let mut last = EPOCH;
        for (id, ev) in events(mode, 3) {
            assert_eq!(int(ev.get("EventID")), Some(id as i64), "{mode} {ev:?}");
            let t = int(ev.get("Time")).expect("Time");
            assert!(t >= last, "{mode}: time went back");
            last = t;
        }
    }
}

#[test]
fn player_data_agrees_with_death_events() {
    for mode in [Mode::Dm, Mode::Tdm, Mode::Ctf, Mode::Svl] {
        for seed in 1..4 {
            let mut tally: HashMap<i64, (i64, i64)> = HashMap::new();
            let mut ends = 0;
            for (id, ev) in events(mode, seed) {
                let slot = |k: &str| int(ev.get(k)).unwrap_or(-1);
                match id {
                    ids::MATCH_START => tally.clear(),
                    ids::PLAYER_CONNECT | ids::PLAYER_DISCONNECT => {
                        tally.remove(&slot("PlayerID"));
                    }
                    ids::PLAYER_DEATH => {
                        tally.entry(slot("VictimID")).or_default().1 += 1;
                        let killer = slot("KillerID");
                        if killer >= 0 && killer != slot("VictimID") && slot("Teamkill") != 1 {
                            tally.entry(killer).or_default().0 += 1;
                        }
                    }
                    ids::MATCH_END => {
                        ends += 1;
                        let data: Vec<_> = ev
                            .iter()
                            .filter(|(k, _)| k.starts_with("PlayerData"))
                            .collect();
                        assert!(!data.is_empty(), "{mode}: match_end without PlayerData");
                        for (key, pd) in data {
                            let slot = int(pd.get("ID")).unwrap();
                            assert_eq!(key, &format!("PlayerData{slot}"));
                            let want = tally.get(&slot).copied().unwrap_or_default();
                            let got = (
                                int(pd.get("Kills")).unwrap(),
                                int(pd.get("Deaths")).unwrap(),
                            );
                            assert_eq!(got, want, "{mode} seed {seed} slot {slot}");
                            // Bots as real servers list them: `bot<N>` on store 0.
                            let bot = s(pd.get("Bot")) == "1";
                            let profile = s(pd.get("Profile"));
                            assert_eq!(bot, profile.starts_with("bot"), "{profile}");
                            if bot {
                                assert_eq!(profile, format!("bot{slot}"));
                                assert_eq!(s(pd.get("Store")), "0");
                                assert_eq!(s(pd.get("ClanID")), "");
                            } else {
                                assert_ne!(s(pd.get("ClanID")), "");
                            }
                            assert!(pd.get("Hat2").is_some());
                            assert_eq!(pd.get("X").is_some(), s(pd.get("Alive")) == "1");
                        }
                    }
                    _ => {}
                }
            }
            assert_eq!(ends, 3);
        }
    }
    assert!(!events(Mode::Zbr, 1)
        .iter()
        .any(|(id, _)| *id == ids::MATCH_END));
}

#[test]
fn profile_forms_stores_and_shared_numbers_all_appear() {
    let evs = events(Mode::Dm, 1);
    let profiles: Vec<String> = evs
        .iter()
        .flat_map(|(_, e)| {
            e.iter()
                .filter(|(k, _)| k.ends_with("Profile"))
                .map(|(_, v)| s(Some(v)))
        })
        .collect();
    assert!(profiles
        .iter()
        .any(|p| p.contains("\"StoreID\":\"0\"") && p.contains("7656119")));
    // `StoreID` is what real servers send; the older `Store` stays a minority.
    let count = |key: &str| profiles.iter().filter(|p| p.contains(key)).count();
    let (store_id, store) = (count("\"StoreID\":\""), count("\"Store\":\""));
    assert!(store > 0 && store_id > 4 * store, "{store_id} vs {store}");
    assert!(
        profiles
            .iter()
            .any(|p| p.starts_with("{\"ProfileID\":\"bot") && p.ends_with("\"StoreID\":\"0\"}")),
        "bots"
    );
    assert!(profiles.iter().any(|p| p == NPC_PROFILE), "no assister");
    assert!(profiles.iter().any(|p| p.is_empty()), "server chat");
    let plain = evs.iter().any(|(id, e)| {
        *id == ids::PLAYER_CONNECT
            && e.contains_key("Store")
            && !s(e.get("Profile")).starts_with('{')
    });
    assert!(
        plain,
        "plain profile with a separate Store in player_connect"
    );
    let mut by_number: HashMap<String, Vec<i64>> = HashMap::new();
    for (id, e) in &evs {
        if *id == ids::PLAYER_CONNECT {
            let (p, store) = parse_profile(e.get("Profile"), e.get("Store"));
            by_number.entry(p).or_default().push(store);
        }
    }
    let stores: Vec<i64> = by_number.values().flatten().copied().collect();
    for store in 0..=3 {
        assert!(stores.contains(&store), "store {store} never connects");
    }
    assert!(
        by_number.values().any(|s| s.iter().any(|&x| x != s[0])),
        "a number on two stores"
    );
}

#[test]
fn hostile_text_and_chat_commands_appear() {
    let evs = events(Mode::Tdm, 2);
    let chat: Vec<String> = evs
        .iter()
        .filter(|(id, _)| *id == ids::CHAT_MESSAGE)
        .map(|(_, e)| s(e.get("Message")))
        .collect();
    for needle in [
        "@everyone",
        "@here",
        "\"",
        "└",
        "┐",
        "\\",
        "**",
        "<@",
        "\n",
        "\"; kick all",
        "!rank",
        "!top",
    ] {
        assert!(
            chat.iter().any(|m| m.contains(needle)),
            "no chat with {needle:?}"
        );
    }
    assert!(chat.iter().any(|m| m.starts_with("!stats ") && m.len() > 7));
    assert!(evs.iter().any(|(id, e)| *id == ids::CHAT_MESSAGE
        && s(e.get("PlayerID")) == "-1"
        && s(e.get("Profile")).is_empty()));
    let names: Vec<String> = evs
        .iter()
        .filter(|(id, _)| *id == ids::PLAYER_CONNECT)
        .map(|(_, e)| s(e.get("PlayerName")))
        .collect();
    for needle in ["\"", "└", "@everyone"] {
        assert!(
            names.iter().any(|n| n.contains(needle)),
            "no player named with {needle:?}"
        );
    }
}

#[test]
fn deaths_cover_every_kind() {
    for mode in [Mode::Dm, Mode::Tdm, Mode::Ctf] {
        let evs: Vec<_> = (5..8).flat_map(|seed| events(mode, seed)).collect();
        let bots: Vec<String> = evs
            .iter()
            .filter(|(id, e)| *id == ids::PLAYER_SPAWN && s(e.get("Profile")).contains("\"bot"))
            .map(|(_, e)| s(e.get("PlayerID")))
            .collect();
        let deaths: Vec<&Map<String, Value>> = evs
            .iter()
            .filter(|(id, _)| *id == ids::PLAYER_DEATH)
            .map(|(_, e)| e)
            .collect();
        let has = |f: &dyn Fn(&Map<String, Value>) -> bool| deaths.iter().any(|e| f(e));
        assert!(
            has(&|e| s(e.get("KillerID")) == s(e.get("VictimID"))),
            "{mode} suicide"
        );
        assert!(
            has(&|e| s(e.get("KillerID")) == "-1" && s(e.get("KillerWeapon")) == "-1"),
            "{mode} world"
        );
        // No assister: -1 with an NPC-style profile and no position.
        for e in &deaths {
            if s(e.get("AssisterID")) == "-1" {
                assert_eq!(s(e.get("AssisterProfile")), NPC_PROFILE);
                assert!(!e.contains_key("AssistX") && !e.contains_key("AssistY"));
            }
        }
        assert!(has(&|e| s(e.get("Headshot")) == "1"), "{mode} headshot");
        assert!(has(&|e| s(e.get("AssisterID")) != "-1"), "{mode} assist");
        assert!(
            has(&|e| !e.contains_key("VictimX")),
            "{mode} missing position"
        );
        assert!(
            has(&|e| bots.contains(&s(e.get("KillerID")))),
            "{mode} bot kills"
        );
        assert!(
            has(&|e| bots.contains(&s(e.get("VictimID")))),
            "{mode} bot dies"
        );
        assert_eq!(
            has(&|e| s(e.get("Teamkill")) == "1"),
            mode.is_team_mode(),
            "{mode} teamkill"
        );
        assert!(
            evs.iter().any(|(id, _)| *id == MYSTERY_ID),
            "{mode} unknown id"
        );
    }
}

#[test]
fn disconnected_slots_are_reused_by_new_players() {
    for mode in Mode::ALL {
        let evs = events(mode, 1);
        let mut left: Vec<(String, String)> = Vec::new();
        let mut reused = false;
        for (id, e) in &evs {
            match *id {
                ids::PLAYER_DISCONNECT => left.push((s(e.get("PlayerID")), s(e.get("IP")))),
                ids::PLAYER_CONNECT => {
                    reused |= left
                        .iter()
                        .any(|(slot, ip)| *slot == s(e.get("PlayerID")) && *ip != s(e.get("IP")))
                }
                _ => {}
            }
        }
        assert!(reused, "{mode}: no slot reused by another player");
    }
}

/// Co-op lobbies refill between matches instead of draining to one
/// player after a few early wipes.
#[test]
fn coop_lobbies_stay_populated() {
    for mode in [Mode::Svl, Mode::Zbr] {
        let o = SimOptions {
            matches: Some(30),
            ..opts(mode, 1)
        };
        let mut online: i64 = 0;
        let mut fewest = i64::MAX;
        for e in scenario(&o) {
            match e.id {
                ids::PLAYER_CONNECT => online += 1,
                ids::PLAYER_DISCONNECT => online -= 1,
                ids::MATCH_END | ids::GAME_OVER => fewest = fewest.min(online),
                _ => {}
            }
        }
        assert!(
            fewest * 2 >= i64::from(o.players),
            "{mode}: down to {fewest}"
        );
    }
}

#[test]
fn tdm_rounds_ctf_flags_and_survival_waves() {
    let tdm = events(Mode::Tdm, 1);
    let ends: Vec<String> = tdm
        .iter()
        .filter(|(id, _)| *id == ids::TDM_ROUND_END)
        .map(|(_, e)| s(e.get("Winner")))
        .collect();
    assert!(ends.contains(&"1".into()) && ends.contains(&"2".into()));
    assert!(
        tdm.iter().any(|(id, _)| *id == ids::TDM_SWITCH_SIDES)
            && tdm.iter().any(|(id, _)| *id == ids::TDM_ROUND_START)
    );
    assert!(tdm
        .iter()
        .any(|(id, e)| *id == ids::PLAYER_TEAM_CHANGE && s(e.get("Autobalanced")) == "1"));
    let draws = (1..6)
        .flat_map(|seed| events(Mode::Tdm, seed))
        .filter(|(id, e)| *id == ids::TDM_ROUND_END && s(e.get("Winner")) == "0");
    assert!(draws.count() > 0, "no drawn round in five seeds");

    let ctf = events(Mode::Ctf, 1);
    for id in ids::CTF_TAKEN..=ids::CTF_GENERATOR_DESTROYED {
        assert!(ctf.iter().any(|(i, _)| *i == id), "ctf event {id}");
    }
    let mut team = HashMap::new();
    for (id, e) in &ctf {
        match *id {
            ids::PLAYER_SPAWN | ids::PLAYER_TEAM_CHANGE => {
                let t = e.get(if *id == ids::PLAYER_SPAWN {
                    "Team"
                } else {
                    "NewTeam"
                });
                team.insert(s(e.get("PlayerID")), s(t));
            }
            ids::CTF_SCORED => {
                assert_eq!(team[&s(e.get("CarrierID"))], s(e.get("ScoringTeam")))
            }
            _ => {}
        }
    }

    let svl = events(Mode::Svl, 1);
    let humans: Vec<String> = svl
        .iter()
        .filter(|(id, _)| *id == ids::PLAYER_CONNECT)
        .map(|(_, e)| s(e.get("PlayerID")))
        .collect();
    let npcs: Vec<String> = svl
        .iter()
        .filter(|(id, e)| {
            *id == ids::PLAYER_SPAWN && e.contains_key("EnemyType") && e.contains_key("EnemyRank")
        })
        .map(|(_, e)| s(e.get("PlayerID")))
        .collect();
    assert!(!npcs.is_empty() && npcs.iter().all(|n| !humans.contains(n)));
    for (id, e) in &svl {
        if *id == ids::PLAYER_SPAWN && e.contains_key("EnemyType") {
            assert_eq!(s(e.get("Profile")), NPC_PROFILE);
        }
    }
    // Missions carry Mission/Reward or Type/Amount.
    let missions: Vec<_> = svl
        .iter()
        .filter(|(id, _)| {
            (ids::SURVIVAL_COMPLETE_MISSION..=ids::SURVIVAL_FAIL_MISSION).contains(id)
        })
        .collect();
    assert!(missions
        .iter()
        .any(|(id, _)| *id == ids::SURVIVAL_COMPLETE_MISSION));
    for (_, e) in missions {
        assert!(e.contains_key("Mission") || e.contains_key("Type"), "{e:?}");
        assert!(
            e.contains_key("Reward") || e.contains_key("Amount"),
            "{e:?}"
        );
    }
    for id in [
        ids::SURVIVAL_NEW_WAVE,
        ids::SURVIVAL_WAVE_BEGINS,
        ids::SURVIVAL_BUY_CHEST,
    ] {
        assert!(svl.iter().any(|(i, _)| *i == id), "svl event {id}");
    }
    let mut wave = 0;
    let mut late = false;
    for (id, e) in &svl {
        match *id {
            ids::SURVIVAL_NEW_WAVE => wave = int(e.get("WaveNumber")).unwrap(),
            ids::PLAYER_CONNECT => late |= wave > 3,
            _ => {}
        }
    }
    assert!(late, "nobody joined after wave 3");
    assert!(!svl.iter().any(|(id, e)| *id == ids::PLAYER_SPAWN
        && s(e.get("Team")) != "2"
        && s(e.get("Profile")).contains("-1")));
}

#[test]
fn small_and_empty_servers_do_not_panic() {
    for mode in Mode::ALL {
        for players in [0, 1, 2, 40] {
            let o = SimOptions {
                players,
                ..opts(mode, 9)
            };
            assert!(
                scenario(&o).filter(|e| e.id == ids::GAME_OVER).count() == 3,
                "{mode} {players}"
            );
        }
    }
}

#[test]
fn dump_writes_journal_lines() {
    let mut out = Vec::new();
    dump(
        &SimOptions {
            matches: None,
            ..opts(Mode::Ctf, 4)
        },
        &mut out,
    )
    .unwrap();
    let lines: Vec<JournalLine> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let events: Vec<SimEvent> = scenario(&opts(Mode::Ctf, 4)).collect();
    assert_eq!(lines.len(), events.len());
    for (line, ev) in lines.iter().zip(&events) {
        assert_eq!(
            (line.id, &line.json, line.mode, line.server.as_str()),
            (ev.id, &ev.json, Mode::Ctf, "sim")
        );
        assert_eq!(line.ts_ms, ev.time().unwrap() * 1000);
    }
}

#[test]
fn npcs_have_empty_profiles_and_repeating_names() {
    for (mode, names) in [(Mode::Svl, ENEMY_NAMES), (Mode::Zbr, ZOMBIE_NAMES)] {
        let evs = events(mode, 2);
        let spawned: Vec<String> = evs
            .iter()
            .filter(|(id, e)| {
                *id == ids::PLAYER_SPAWN
                    && e.contains_key("EnemyType")
                    && e.contains_key("EnemyRank")
            })
            .map(|(_, e)| {
                assert_eq!(s(e.get("Profile")), NPC_PROFILE);
                s(e.get("Name"))
            })
            .collect();
        assert!(
            spawned.iter().all(|n| names.contains(&n.as_str())),
            "{mode}"
        );
        let distinct: std::collections::BTreeSet<&String> = spawned.iter().collect();
        assert!(
            distinct.len() > 1 && spawned.len() > 2 * distinct.len(),
            "{mode}: {distinct:?}"
        );
    }
}

#[test]
fn game_mode_ids_and_events_match_the_mode() {
    for (mode, gid) in [
        (Mode::Dm, "0"),
        (Mode::Tdm, "1"),
        (Mode::Ctf, "2"),
        (Mode::Svl, "4"),
        (Mode::Zbr, "3"),
    ] {
        for (id, e) in events(mode, 4) {
            if matches!(id, ids::MATCH_END | ids::MATCH_START | ids::GAME_OVER) {
                assert_eq!(s(e.get("GameModeID")), gid, "{mode} event {id}");
                let file = s(e
                    .get("MapFile")
                    .or(e.get("CurrentMapFile"))
                    .or(e.get("NextMapFile")));
                assert!(file.starts_with("maps\\") && file.ends_with('\\'), "{file}");
            }
            if mode != Mode::Zbr {
                assert!(
                    !(ids::ZOMBRAINS_REVIVE..=ids::ZOMBRAINS_END).contains(&id),
                    "{mode}: zombrains event {id}"
                );
            }
            if mode != Mode::Svl {
                assert!(
                    !(ids::SURVIVAL_NEW_WAVE..=ids::SURVIVAL_BUY_CHEST).contains(&id)
                        && !(ids::SURVIVAL_COMPLETE_MISSION..=ids::SURVIVAL_FAIL_MISSION)
                            .contains(&id),
                    "{mode}: survival event {id}"
                );
            }
        }
    }
}

#[test]
fn keys_are_shuffled_the_same_way_for_the_same_seed() {
    for mode in Mode::ALL {
        let a: Vec<SimEvent> = scenario(&opts(mode, 5)).collect();
        assert_eq!(a, scenario(&opts(mode, 5)).collect::<Vec<_>>());
        let first_keys: std::collections::BTreeSet<String> = a
            .iter()
            .filter(|e| e.id == ids::PLAYER_DEATH)
            .map(|e| e.json[2..].split('"').next().unwrap().to_owned())
            .collect();
        assert!(first_keys.len() > 5, "{mode}: {first_keys:?}");
        assert!(first_keys.contains("Time") && first_keys.contains("EventID"));
    }
}

#[test]
fn level_ups_name_the_slot_id_and_raise_the_level() {
    let evs = events(Mode::Dm, 1);
    let mut levels: HashMap<String, i64> = HashMap::new();
    let mut seen = 0;
    for (id, e) in &evs {
        if *id != ids::PLAYER_LEVEL_UP {
            continue;
        }
        seen += 1;
        assert!(
            !e.contains_key("PlayerID")
                && e.contains_key("SkinWeapon")
                && e.contains_key("SkinType")
        );
        let level = int(e.get("Level")).unwrap();
        let who = s(e.get("Profile"));
        assert!(who.contains("ProfileID") && int(e.get("ID")).is_some());
        if let Some(before) = levels.insert(who, level) {
            assert!(level > before);
        }
    }
    assert!(seen > 2, "{seen} level-ups");
}

#[test]
fn real_keys_and_console_kicks_appear() {
    let evs = events(Mode::Dm, 1);
    assert!(evs
        .iter()
        .filter(|(id, _)| *id == ids::PLAYER_SPAWN)
        .all(|(_, e)| e.contains_key("Hat2")));
    assert!(evs
        .iter()
        .filter(|(id, _)| *id == ids::CHAT_MESSAGE)
        .all(|(_, e)| e.contains_key("NameColor")));
    let kicks: Vec<Mode> = Mode::ALL
        .into_iter()
        .filter(|&mode| {
            let evs = events(mode, 3);
            evs.windows(2).any(|w| {
                let ((a, cmd), (b, gone)) = (&w[0], &w[1]);
                if (*a, *b) != (ids::COMMAND_ENTERED, ids::PLAYER_DISCONNECT) {
                    return false;
                }
                let name = evs
                    .iter()
                    .find(|(id, e)| {
                        *id == ids::PLAYER_CONNECT
                            && s(e.get("PlayerID")) == s(gone.get("PlayerID"))
                    })
                    .map(|(_, e)| s(e.get("PlayerName")))
                    .unwrap();
                assert_eq!(s(cmd.get("Source")), "0");
                assert_eq!(
                    s(cmd.get("ReturnText")),
                    format!("KICK: Kicking player {name}...")
                );
                let params =
                    crate::sim::server::replies::parse_params(&s(cmd.get("Command"))).unwrap();
                assert_eq!(params, ["kick", name.as_str(), "AFK"]);
                assert_eq!(s(gone.get("Kicked")), "1");
                true
            })
        })
        .collect();
    assert!(!kicks.is_empty(), "no console kick in any mode");
}
