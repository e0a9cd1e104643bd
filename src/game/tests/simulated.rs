//! Trackers on the simulator's scenarios and on mangled input: snapshots
//! resume exactly, the game's own scoreboard agrees, nothing panics.

use super::*;

/// Every output of a run, as comparable JSON lines.
fn outputs(out: &TrackerOutput) -> Vec<String> {
    let players = out
        .players
        .iter()
        .map(|p| serde_json::to_string(p).unwrap());
    let facts = out.facts.iter().map(|f| serde_json::to_string(f).unwrap());
    players.chain(facts).collect()
}

/// Runs `events` straight through, and again with a snapshot -> restore
/// before every event; both must produce the same output and final state.
fn assert_restore_resumes_exactly(info: &Arc<ServerInfo>, events: &[IngestEvent]) {
    let mut straight = Tracker::new(info);
    let mut restarted = Tracker::new(info);
    for ev in events {
        let (mut a, mut b) = (TrackerOutput::default(), TrackerOutput::default());
        straight.on_event(ev, &mut a);
        restarted = Tracker::restore(info, &restarted.snapshot()).expect("own snapshot");
        restarted.on_event(ev, &mut b);
        assert_eq!(outputs(&a), outputs(&b), "event {:?}", ev.event);
    }
    assert_eq!(straight.snapshot(), restarted.snapshot());
}

#[test]
fn snapshot_restore_continue_matches_an_uninterrupted_run() {
    let mut g = Game::new(Mode::Tdm);
    let events: Vec<IngestEvent> = [
        connect(1, "a"),
        connect(2, "b"),
        match_start("Fort"),
        team_change(1, 1),
        team_change(2, 2),
        (13, json!({})),
        spawn(1, 1),
        spawn(2, 2),
        (17, json!({ "CarrierID": "1", "FlagTeam": "2" })),
        death(1, 2),
        (14, json!({ "Winner": "1" })),
        match_end(1, &[player_data(1, "a", 1, 1)]),
        game_over(1),
    ]
    .into_iter()
    .map(|(id, fields)| g.ingest(id, fields))
    .collect();
    assert_restore_resumes_exactly(&g.info, &events);
    assert!(Tracker::restore(&g.info, "{not json").is_err());
}

fn sim_events(mode: Mode, seed: u64) -> (Arc<ServerInfo>, Vec<IngestEvent>) {
    let info = Arc::new(ServerInfo {
        name: format!("sim-{mode}"),
        mode,
    });
    let opts = SimOptions {
        mode,
        seed,
        matches: Some(3),
        ..SimOptions::default()
    };
    let events = scenario(&opts)
        .filter_map(|ev| {
            let ts_ms = ev.time().unwrap_or(T0) * 1000;
            let event = decode(ev.id, &ev.json).ok()?;
            Some(IngestEvent {
                server: info.clone(),
                ts_ms,
                pos: None,
                event,
            })
        })
        .collect();
    (info, events)
}

/// Per match of a simulator scenario: every kill is human-vs-human, and for
/// players who stayed connected the whole match, the game's own kill count
/// equals our human kills plus kills of bots/NPCs.
#[test]
fn simulated_matches_agree_with_the_game_scoreboard() {
    for mode in Mode::ALL {
        for seed in 1..=3 {
            let (info, events) = sim_events(mode, seed);
            let mut tracker = Tracker::new(&info);
            // Since the last match_start: players who came or went, kills of bots by player.
            let mut churn: BTreeSet<PlayerKey> = BTreeSet::new();
            let mut bot_kills: HashMap<PlayerKey, i64> = HashMap::new();
            // NPCs' empty profiles decode to none: their spawns say who they are.
            let mut npc_slots: BTreeSet<i32> = BTreeSet::new();
            let mut facts: Vec<FactRecord> = Vec::new();
            let mut checked = 0;
            for ev in &events {
                let mut out = TrackerOutput::default();
                tracker.on_event(ev, &mut out);
                match &ev.event.event {
                    Event::MatchStart { .. } => {
                        churn.clear();
                        bot_kills.clear();
                        facts.clear();
                    }
                    Event::PlayerConnect { profile, .. }
                    | Event::PlayerDisconnect { profile, .. } => {
                        churn.extend(profile.as_ref().map(Profile::key));
                    }
                    Event::PlayerSpawn {
                        slot: Some(slot),
                        enemy_type: Some(_),
                        ..
                    } => {
                        npc_slots.insert(*slot);
                    }
                    Event::PlayerDeath(d) => {
                        let victim_bot = d.victim_profile.as_ref().is_some_and(Profile::is_bot)
                            || d.victim.is_some_and(|v| npc_slots.contains(&v));
                        if let (Some(k), true, false) = (&d.killer_profile, victim_bot, d.teamkill)
                        {
                            *bot_kills.entry(k.key()).or_default() += 1;
                        }
                    }
                    _ => {}
                }
                for record in out.facts {
                    assert_eq!(
                        (record.server.as_str(), record.mode),
                        (info.name.as_str(), mode)
                    );
                    if let Fact::Kill(k) = &record.fact {
                        assert!(
                            !k.killer.is_bot() && !k.victim.is_bot() && k.killer != k.victim,
                            "{k:?}"
                        );
                    }
                    if let Fact::Round(r) = &record.fact {
                        let both: BTreeSet<&PlayerKey> = r.team1.iter().chain(&r.team2).collect();
                        assert_eq!(both.len(), r.team1.len() + r.team2.len(), "{mode} {r:?}");
                    }
                    let Fact::Match(m) = &record.fact else {
                        facts.push(record);
                        continue;
                    };
                    for p in m.players.iter().filter(|p| !churn.contains(&p.key)) {
                        let Some(game_kills) = p.kills else { continue };
                        let ours = facts
                            .iter()
                            .filter(|f| f.match_id == record.match_id)
                            .filter(|f| match &f.fact {
                                Fact::Kill(k) => k.killer == p.key && !k.teamkill,
                                _ => false,
                            })
                            .count() as i64;
                        let of_bots = bot_kills.get(&p.key).copied().unwrap_or(0);
                        assert_eq!(ours + of_bots, game_kills, "{mode} seed {seed} {:?}", p.key);
                        if mode == Mode::Svl {
                            let npc = facts
                                .iter()
                                .filter(|f| matches!(&f.fact, Fact::NpcKill { player, .. } if *player == p.key))
                                .count() as i64;
                            assert_eq!(npc, of_bots, "{mode} seed {seed} {:?}", p.key);
                        }
                        checked += 1;
                    }
                    assert!(!m.players.is_empty() && m.started_ms.is_some() && m.map.is_some());
                    assert_eq!(m.last_wave.is_some(), mode == Mode::Svl);
                }
            }
            // Zombrains ends with game_over alone: there is no scoreboard to compare.
            assert!(
                checked > 0 || mode == Mode::Zbr,
                "{mode} seed {seed}: no player to check"
            );
        }
    }
}

#[test]
fn simulated_runs_resume_exactly_from_any_snapshot() {
    for mode in Mode::ALL {
        let (info, events) = sim_events(mode, 4);
        assert_restore_resumes_exactly(&info, &events);
    }
}

/// Values a mangled field may take: wrong types, junk, extremes.
fn junk(n: u64) -> Value {
    match n % 12 {
        0 => json!("abc"),
        1 => json!(""),
        2 => Value::Null,
        3 => json!(-1),
        4 => json!("2147483648"),
        5 => json!(i64::MAX),
        6 => json!(1.5),
        7 => json!([1, 2]),
        8 => json!({ "ProfileID": "x" }),
        9 => json!("{\"ProfileID\":\"0\",\"StoreID\":\"-1\"}"),
        10 => json!(true),
        _ => json!((n % 5).to_string()),
    }
}

#[test]
fn mangled_simulator_events_never_panic() {
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    for mode in Mode::ALL {
        let info = Arc::new(ServerInfo {
            name: "mangled".into(),
            mode,
        });
        let mut tracker = Tracker::new(&info);
        let opts = SimOptions {
            mode,
            seed: 11,
            matches: Some(2),
            ..SimOptions::default()
        };
        for ev in scenario(&opts) {
            let Ok(Value::Object(mut obj)) = serde_json::from_str::<Value>(&ev.json) else {
                continue;
            };
            let fields: Vec<String> = obj.keys().cloned().collect();
            for field in fields {
                match next() % 8 {
                    0 => {
                        obj.remove(&field);
                    }
                    1 => {
                        obj.insert(field, junk(next()));
                    }
                    _ => {}
                }
            }
            let id = if next() % 20 == 0 {
                (next() % 80) as u16
            } else {
                ev.id
            };
            let Ok(event) = decode(id, &Value::Object(obj).to_string()) else {
                continue;
            };
            let ingest = IngestEvent {
                server: info.clone(),
                ts_ms: (next() % 3_000_000_000_000) as i64 - 1,
                pos: None,
                event,
            };
            tracker.on_event(&ingest, &mut TrackerOutput::default());
        }
        Tracker::restore(&info, &tracker.snapshot()).expect("snapshot of a mangled run");
    }
}

mod prop {
    use super::*;
    use proptest::prelude::*;

    const KEYS: &[&str] = &[
        "PlayerID",
        "VictimID",
        "KillerID",
        "CarrierID",
        "ReturnPlayerID",
        "Profile",
        "VictimProfile",
        "KillerProfile",
        "CarrierProfile",
        "Store",
        "Team",
        "NewTeam",
        "Winner",
        "ScoringTeam",
        "FlagTeam",
        "WaveNumber",
        "EnemyType",
        "Time",
        "CaseID",
        "Message",
        "PlayerData1",
        "PlayerData2",
        "Teamkill",
    ];

    fn value() -> impl Strategy<Value = Value> {
        prop_oneof![
            (-3i64..6).prop_map(|n| json!(n.to_string())),
            (-3i64..6).prop_map(|n| json!(n)),
            any::<u64>().prop_map(junk),
            (0i32..4, -1i32..3).prop_map(
                |(slot, store)| json!({ "ID": slot.to_string(), "Profile": "p",
                "Store": store.to_string(), "Team": "1", "Bot": if store < 0 { "1" } else { "0" } })
            ),
        ]
    }

    fn event() -> impl Strategy<Value = (u16, Value)> {
        let fields = proptest::collection::btree_map(proptest::sample::select(KEYS), value(), 0..8);
        (0u16..70, fields).prop_map(|(id, fields)| {
            let obj: serde_json::Map<String, Value> = fields
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect();
            (id, Value::Object(obj))
        })
    }

    proptest! {
        #[test]
        fn arbitrary_events_never_panic_and_snapshots_round_trip(
            events in proptest::collection::vec(event(), 1..40),
            mode in proptest::sample::select(Mode::ALL.to_vec()),
        ) {
            let mut g = Game::new(mode);
            for (id, fields) in events {
                g.feed(id, fields);
                let snapshot = g.tracker.snapshot();
                let restored = Tracker::restore(&g.info, &snapshot).expect("own snapshot");
                prop_assert_eq!(restored.snapshot(), snapshot);
            }
        }
    }
}
