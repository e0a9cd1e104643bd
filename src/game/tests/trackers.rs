//! Each tracker on hand-built events: identities, rosters, rounds, captures,
//! waves, matches and chat.

use super::*;

#[test]
fn record_time_prefers_a_plausible_event_time() {
    let ts = T0 * 1000 + 250;
    assert_eq!(record_time(Some(T0), ts), T0 * 1000);
    assert_eq!(record_time(None, ts), ts);
    assert_eq!(record_time(Some(5), ts), ts, "before 2015");
    assert_eq!(
        record_time(Some(T0 + 3 * 86_400), ts),
        ts,
        "days ahead of receive time"
    );
    assert_eq!(record_time(Some(i64::MAX), ts), ts, "overflow");
    let mut g = Game::new(Mode::Dm);
    g.run(vec![connect(1, "a"), connect(2, "b"), match_start("Fort")]);
    let out = g.feed(
        6,
        json!({ "KillerID": "1", "VictimID": "2", "Time": "not a time" }),
    );
    assert_eq!(
        out.facts[0].time_ms,
        g.clock * 1000 + 250,
        "receive time when Time is bad"
    );
}

#[test]
fn slot_reuse_after_disconnect() {
    let mut g = Game::new(Mode::Dm);
    let facts = g.run(vec![
        connect(1, "a"),
        connect(2, "b"),
        match_start("Fort"),
        death(1, 2),
        disconnect(1),
        death(1, 2), // slot 1 is empty now: not attributable
        connect(1, "c"),
        death(1, 2),
        death(2, 1),
    ]);
    assert_eq!(
        facts,
        vec![
            Fact::Kill(kill("a", "b")),
            Fact::Kill(kill("c", "b")),
            Fact::Kill(kill("b", "c")),
        ]
    );
}

#[test]
fn connect_and_spawn_report_what_was_learned() {
    let mut g = Game::new(Mode::Dm);
    let (id, ev) = connect(3, "a");
    let seen = g.feed(id, ev).players;
    assert_eq!(seen.len(), 1);
    assert_eq!(
        (seen[0].key.clone(), seen[0].ip.as_deref()),
        (key("a"), Some("203.0.113.5"))
    );
    assert_eq!(seen[0].seen_ms, g.clock * 1000);
    let (id, ev) = spawn(3, 0);
    let seen = g.feed(id, ev).players;
    assert_eq!(
        (seen[0].color.as_deref(), seen[0].hat.as_deref()),
        (Some("255"), Some("3"))
    );
    let (id, ev) = npc_spawn(4);
    assert!(g.feed(id, ev).players.is_empty(), "no PlayerSeen for NPCs");
}

#[test]
fn event_profiles_win_over_the_cache_and_bots_never_kill() {
    let mut g = Game::new(Mode::Dm);
    g.run(vec![connect(1, "a"), connect(2, "b"), match_start("Fort")]);
    // Slot 1 changed hands unseen: the event's profile wins.
    let facts = g.facts(
        6,
        json!({ "KillerID": "1", "VictimID": "2", "KillerProfile": "{\"ProfileID\":\"z\",\"Store\":\"0\"}" }),
    );
    assert!(matches!(&facts[..], [Fact::Kill(k)] if k.killer == key("z") && k.victim == key("b")));
    let bot = "{\"ProfileID\":\"0\",\"StoreID\":\"-1\"}";
    for ev in [
        json!({ "KillerID": "1", "VictimID": "2", "VictimProfile": bot }),
        json!({ "KillerID": "5", "VictimID": "2", "KillerProfile": bot }),
        json!({ "KillerID": "-1", "VictimID": "2" }),
        json!({ "VictimID": "2" }),
        json!({ "KillerID": "2", "VictimID": "2" }),
        json!({ "KillerID": "9", "VictimID": "2" }),
    ] {
        assert_eq!(g.facts(6, ev.clone()), vec![], "{ev}");
    }
}

#[test]
fn scoreboard_rebuilds_the_identity_map() {
    let mut g = Game::new(Mode::Tdm);
    g.run(vec![connect(1, "a"), connect(2, "b"), match_start("Fort")]);
    // bman reconnected: slot 1 left meanwhile, slot 2 changed hands, 3 is new.
    let (id, ev) = scoreboard(&[
        player_data(2, "c", 1, 0),
        player_data(3, "d", 2, 0),
        bot_data(4),
    ]);
    let out = g.feed(id, ev);
    let seen: Vec<&PlayerSeen> = out.players.iter().collect();
    assert_eq!(
        seen.iter().map(|s| s.key.clone()).collect::<Vec<_>>(),
        keys(&["c", "d"])
    );
    assert_eq!(seen[0].premium, Some(true));
    assert_eq!(
        (seen[0].clan_id.as_deref(), seen[0].clan_tag.as_deref()),
        (Some("77"), Some("BM"))
    );
    assert_eq!(
        g.run(vec![death(2, 3), death(1, 3), death(4, 3), death(2, 4)]),
        vec![Fact::Kill(kill("c", "d"))]
    );
}

#[test]
fn tdm_rosters_list_each_player_once_for_their_last_team() {
    let mut g = Game::new(Mode::Tdm);
    let mut events = vec![
        connect(1, "a"),
        connect(2, "b"),
        connect(3, "c"),
        connect(4, "spectator"),
        match_start("Fort"),
        team_change(1, 1),
        team_change(2, 1),
        team_change(3, 2),
        team_change(4, 3),
        (13, json!({ "Players1": "2", "Players2": "1" })),
    ];
    // The original tool listed a on team 1 five times.
    events.extend((0..5).flat_map(|_| [spawn(1, 1), death(3, 1)]));
    // b switches sides mid-round and ends up playing for team 2; its
    // spawns carry loadouts (a's carry none: no loadout is made up).
    let armed = |team: i32, weapon: &str| {
        (
            5,
            json!({ "PlayerID": "2", "Team": team.to_string(), "Weap1": weapon, "Weap2": "7",
                    "Equip": "2", "OffWeap": "-1", "OffWeap2": "4" }),
        )
    };
    events.extend([armed(1, "12"), team_change(2, 2), armed(2, "30")]);
    events.push((
        14,
        json!({ "Winner": "1", "Score1": "1", "Score2": "0", "RoundEndType": "1" }),
    ));
    let facts = g.run(events);
    let rounds: Vec<&RoundFact> = facts
        .iter()
        .filter_map(|f| match f {
            Fact::Round(r) => Some(r),
            _ => None,
        })
        .collect();
    assert_eq!(
        rounds,
        vec![&RoundFact {
            round: 1,
            team1: keys(&["a"]),
            team2: keys(&["b", "c"]),
            winner: 1,
            score1: Some(1),
            score2: Some(0),
            map: Some("Fort".into()),
            loadouts: ["12", "30"]
                .map(|weapon| RoundLoadout {
                    player: key("b"),
                    loadout: Loadout {
                        weap1: Some(weapon.into()),
                        weap2: Some("7".into()),
                        equip: Some("2".into()),
                        offweap: Some("-1".into()),
                        offweap2: Some("4".into()),
                    },
                })
                .to_vec(),
        }]
    );
    // c never spawned yet counts, being on team 2 at the start; a's kills
    // by c are not teamkills.
    assert!(facts
        .iter()
        .all(|f| !matches!(f, Fact::Kill(k) if k.teamkill)));
    // Next round: the roster starts over from the current teams; a kill of
    // a teammate is a teamkill even without the game's flag.
    // The game spawns everyone just before it starts a round: those spawns
    // are the next round's.
    let facts = g.run(vec![
        armed(2, "44"),
        (13, json!({})),
        death(2, 3),
        (14, json!({ "Winner": "2", "Score1": "1", "Score2": "1" })),
    ]);
    assert!(matches!(&facts[0], Fact::Kill(k) if k.teamkill));
    assert!(
        matches!(&facts[1], Fact::Round(r) if r.round == 2 && r.team1 == keys(&["a"])
        && r.team2 == keys(&["b", "c"]) && r.winner == 2)
    );
    let Fact::Round(second) = &facts[1] else {
        unreachable!()
    };
    let weapons: Vec<_> = second
        .loadouts
        .iter()
        .map(|l| (&l.player, l.loadout.weap1.as_deref()))
        .collect();
    assert_eq!(weapons, [(&key("b"), Some("44"))]);
}

#[test]
fn draw_rounds_rounds_without_start_and_bad_winners() {
    let mut g = Game::new(Mode::Tdm);
    g.run(vec![
        connect(1, "a"),
        connect(2, "b"),
        team_change(1, 1),
        team_change(2, 2),
    ]);
    // bman joined mid-round: no match_start, no round start.
    let facts = g.run(vec![(
        14,
        json!({ "Winner": "0", "Score1": "2", "Score2": "2" }),
    )]);
    assert_eq!(
        facts,
        vec![Fact::Round(RoundFact {
            round: 1,
            team1: keys(&["a"]),
            team2: keys(&["b"]),
            winner: 0,
            score1: Some(2),
            score2: Some(2),
            map: None,
            loadouts: Vec::new(),
        })]
    );
    for winner in [json!("abc"), json!("7"), Value::Null] {
        let facts = g.run(vec![(13, json!({})), (14, json!({ "Winner": winner }))]);
        assert_eq!(facts, vec![], "winner {winner}");
    }
    let facts = g.run(vec![(13, json!({})), (14, json!({ "Winner": 2 }))]);
    assert!(matches!(&facts[..], [Fact::Round(r)] if r.round == 2 && r.score1.is_none()));
}

#[test]
fn ctf_captures_list_both_teams_at_that_moment() {
    let mut g = Game::new(Mode::Ctf);
    let facts = g.run(vec![
        connect(1, "a"),
        connect(2, "b"),
        connect(3, "c"),
        connect(4, "d"),
        match_start("Flagpole"),
        spawn(1, 1),
        spawn(2, 1),
        spawn(3, 2),
        (17, json!({ "CarrierID": "4", "FlagTeam": "2" })),
        (18, json!({ "CarrierID": "4", "FlagTeam": "2" })),
        (17, json!({ "CarrierID": "4", "FlagTeam": "2" })),
        (19, json!({ "ReturnPlayerID": "3" })),
        // d's team is unknown: d still counts for the scoring team.
        (20, json!({ "CarrierID": "4", "ScoringTeam": "1", "Score1": "1", "Score2": "0" })),
        team_change(2, 2),
        (20, json!({ "CarrierID": "3", "ScoringTeam": "2" })),
        // A bot's capture rates the humans but credits nobody; an unknown slot makes no fact.
        (
            20,
            json!({ "CarrierID": "7", "ScoringTeam": "2", "CarrierProfile": "{\"ProfileID\":\"0\",\"StoreID\":\"-1\"}" }),
        ),
        (20, json!({ "CarrierID": "8", "ScoringTeam": "2" })),
        match_end(1, &[player_data(1, "a", 1, 3)]),
    ]);
    let captures: Vec<&CaptureFact> = facts
        .iter()
        .filter_map(|f| match f {
            Fact::Capture(c) => Some(c),
            _ => None,
        })
        .collect();
    assert_eq!(
        captures,
        vec![
            &CaptureFact {
                carrier: Some(key("d")),
                scoring_team: 1,
                scoring: keys(&["a", "b", "d"]),
                other: keys(&["c"]),
            },
            &CaptureFact {
                carrier: Some(key("c")),
                scoring_team: 2,
                scoring: keys(&["b", "c"]),
                other: keys(&["a"]),
            },
            &CaptureFact {
                carrier: None,
                scoring_team: 2,
                scoring: keys(&["b", "c"]),
                other: keys(&["a"]),
            },
        ]
    );
    let m = only_match(&facts);
    assert_eq!(m.winner_team, Some(1), "WinnerTeam is carried as sent");
    let teams: Vec<(PlayerKey, Option<i32>)> =
        m.players.iter().map(|p| (p.key.clone(), p.team)).collect();
    assert_eq!(
        teams,
        vec![
            (key("a"), Some(1)),
            (key("b"), Some(2)),
            (key("c"), Some(2)),
            (key("d"), Some(1))
        ]
    );
}

#[test]
fn survival_waves_count_who_is_connected_and_npc_fights() {
    let mut g = Game::new(Mode::Svl);
    let wave = |n: i64| {
        (
            30,
            json!({ "WaveNumber": n.to_string(), "Enemies": "5", "Chests": "1", "ChestPrice": 200 }),
        )
    };
    let facts = g.run(vec![
        connect(1, "a"),
        connect(2, "b"),
        match_start("Bunker"),
        spawn(1, 1),
        spawn(2, 1),
        wave(1),
        npc_spawn(100),
        npc_spawn(101),
        death(1, 100),
        death(101, 2),
        death(-1, 1),
        death(1, 1),
        death(100, 101),
        connect(3, "late"),
        wave(2),
        disconnect(2),
        wave(3),
        (30, json!({ "WaveNumber": "three" })),
        match_end(
            2,
            &[player_data(1, "a", 1, 1), player_data(3, "late", 1, 0)],
        ),
    ]);
    let waves: Vec<&WaveFact> = facts
        .iter()
        .filter_map(|f| match f {
            Fact::Wave(w) => Some(w),
            _ => None,
        })
        .collect();
    let players: Vec<(i64, Vec<PlayerKey>)> =
        waves.iter().map(|w| (w.wave, w.players.clone())).collect();
    assert_eq!(
        players,
        vec![
            (1, keys(&["a", "b"])),
            (2, keys(&["a", "b", "late"])),
            (3, keys(&["a", "late"])),
        ]
    );
    assert_eq!(
        (waves[0].enemies, waves[0].chests, waves[0].chest_price),
        (Some(5), Some(1), Some(200))
    );
    let npc: Vec<&Fact> = facts
        .iter()
        .filter(|f| matches!(f, Fact::NpcKill { .. } | Fact::NpcDeath { .. }))
        .collect();
    // The NPC's kind from its spawn; the world (slot -1) has none.
    let npc_of = |spawned: bool| NpcEncounter {
        enemy_type: spawned.then(|| "1".into()),
        enemy_rank: spawned.then(|| "0".into()),
        weapon: Some("12".into()),
    };
    assert_eq!(
        npc,
        vec![
            &Fact::NpcKill {
                player: key("a"),
                npc: Some(npc_of(true))
            },
            &Fact::NpcDeath {
                player: key("b"),
                npc: Some(npc_of(true))
            },
            &Fact::NpcDeath {
                player: key("a"),
                npc: Some(npc_of(false))
            },
        ]
    );
    let m = only_match(&facts);
    assert_eq!(m.last_wave, Some(3));
    let played: Vec<PlayerKey> = m.players.iter().map(|p| p.key.clone()).collect();
    assert_eq!(played, keys(&["a", "b", "late"]), "b left early but played");
    assert_eq!(m.players[0].kills, Some(1));
    assert_eq!(m.players[1].kills, None);
}

#[test]
fn bot_kills_outside_survival_are_not_npc_facts() {
    let mut g = Game::new(Mode::Dm);
    let bot = "{\"ProfileID\":\"0\",\"StoreID\":\"-1\"}";
    let facts = g.run(vec![
        connect(1, "a"),
        match_start("Fort"),
        (5, json!({ "PlayerID": "2", "Profile": bot, "Team": "0" })),
        death(1, 2),
        death(2, 1),
        death(-1, 1),
    ]);
    assert_eq!(facts, vec![]);
}

#[test]
fn a_match_opens_implicitly_when_bman_joins_mid_match() {
    let mut g = Game::new(Mode::Dm);
    g.run(vec![connect(1, "a"), connect(2, "b")]);
    let out = g.feed(6, json!({ "KillerID": "1", "VictimID": "2" }));
    let started = g.clock * 1000;
    assert_eq!(
        out.facts[0].match_id.as_deref(),
        Some(format!("srv:{started}").as_str())
    );
    let facts = g.run(vec![game_over(0)]);
    let m = only_match(&facts);
    assert_eq!(m.started_ms, Some(started));
    assert_eq!(
        m.map.as_deref(),
        Some("Late Map"),
        "game_over names the map"
    );
    assert_eq!(
        m.players.iter().map(|p| p.key.clone()).collect::<Vec<_>>(),
        keys(&["a", "b"])
    );

    // rcon_logged_in opens one with its map; a chat before any match has no match id.
    let mut g = Game::new(Mode::Dm);
    let out = g.feed(
        42,
        json!({ "PlayerID": "-1", "Name": "Server", "Profile": "", "Message": "hi" }),
    );
    assert_eq!(out.facts[0].match_id, None);
    g.run(vec![
        (36, json!({ "MapName": "Joined Map", "GameModeID": "0" })),
        connect(1, "a"),
    ]);
    let facts = g.run(vec![
        death(1, 1),
        match_end(0, &[player_data(1, "a", 0, 0)]),
    ]);
    assert_eq!(only_match(&facts).map.as_deref(), Some("Joined Map"));
}

#[test]
fn match_end_and_game_over_close_the_match_once() {
    for end_first in [true, false] {
        let mut g = Game::new(Mode::Tdm);
        let mut events = vec![
            connect(1, "a"),
            connect(2, "b"),
            match_start("Fort"),
            spawn(1, 1),
            spawn(2, 2),
            death(1, 2),
        ];
        let end = match_end(
            2,
            &[
                player_data(1, "a", 1, 1),
                player_data(2, "b", 2, 0),
                bot_data(3),
            ],
        );
        if end_first {
            events.extend([end, game_over(2)]);
        } else {
            events.extend([game_over(2), end]);
        }
        let facts = g.run(events);
        let m = only_match(&facts);
        assert_eq!((m.map.as_deref(), m.winner_team), (Some("Fort"), Some(2)));
        assert_eq!(m.winner_text.as_deref(), Some("The Man wins!"));
        let players: Vec<(PlayerKey, Option<i64>)> =
            m.players.iter().map(|p| (p.key.clone(), p.kills)).collect();
        let want_kills = if end_first {
            (Some(1), Some(0))
        } else {
            (None, None)
        };
        assert_eq!(
            players,
            vec![(key("a"), want_kills.0), (key("b"), want_kills.1)]
        );
        // The next match is a new one with its own id.
        let out = g.feed(29, json!({ "MapName": "Next" }));
        assert!(out.facts.is_empty());
        let kill_out = g.feed(6, json!({ "KillerID": "2", "VictimID": "1" }));
        assert_ne!(kill_out.facts[0].match_id, None);
        let next = g.run(vec![game_over(1)]);
        assert_eq!(only_match(&next).map.as_deref(), Some("Next"));
    }
}

#[test]
fn chat_is_kept_verbatim_with_or_without_a_player() {
    let mut g = Game::new(Mode::Ctf);
    g.run(vec![connect(1, "a"), match_start("Fort")]);
    let hostile = "@everyone \"; kick all └┐";
    let facts = g.run(vec![
        (
            42,
            json!({ "PlayerID": "1", "Name": "a", "Message": hostile, "Team": "1" }),
        ),
        (
            42,
            json!({ "PlayerID": "-1", "Name": "Server", "Profile": "", "Message": "restart" }),
        ),
        (
            42,
            json!({ "PlayerID": "9", "Name": "ghost", "Message": "who am i" }),
        ),
    ]);
    let chats: Vec<(Option<PlayerKey>, String, Option<i32>)> = facts
        .into_iter()
        .filter_map(|f| match f {
            Fact::Chat(c) => Some((c.player, c.message, c.team)),
            _ => None,
        })
        .collect();
    assert_eq!(
        chats,
        vec![
            (Some(key("a")), hostile.to_string(), Some(1)),
            (None, "restart".into(), None),
            (None, "who am i".into(), None),
        ]
    );
}
