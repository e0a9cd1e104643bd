//! What real servers send (README, "Bots are never players"): bots with
//! Steam-looking profiles, NPCs, addbot, level-ups, Zombrains, and a server
//! whose events belong to another mode than its configuration.

use super::*;

fn profile_json(id: &str, store: &str) -> String {
    json!({ "ProfileID": id, "StoreID": store }).to_string()
}

/// A player_connect as a real server sends it (JSON-string profile, `StoreID`).
fn real_connect(slot: i32, id: &str) -> (u16, Value) {
    (
        4,
        json!({ "PlayerID": slot.to_string(), "PlayerName": format!("name-{id}"),
                "IP": "203.0.113.5", "Profile": profile_json(id, "0") }),
    )
}

fn real_spawn(slot: i32, id: &str, team: i32) -> (u16, Value) {
    (
        5,
        json!({ "PlayerID": slot.to_string(), "Team": team.to_string(), "Name": format!("name-{id}"),
                "Hat": "3", "Hat2": "0", "Profile": profile_json(id, "0") }),
    )
}

/// A death as real servers send it: profiles in the event, no assister.
fn real_death(killer: (i32, &str), victim: (i32, &str)) -> (u16, Value) {
    (
        6,
        json!({ "KillerID": killer.0.to_string(), "KillerProfile": profile_json(killer.1, "0"),
                "VictimID": victim.0.to_string(), "VictimProfile": profile_json(victim.1, "0"),
                "AssisterID": "-1", "AssisterProfile": profile_json("", "-1"),
                "KillerWeapon": "12", "Headshot": "0", "Teamkill": "0" }),
    )
}

fn npc(slot: i32) -> (u16, Value) {
    (
        5,
        json!({ "PlayerID": slot.to_string(), "Team": "2", "Name": "Zombie", "EnemyType": "1",
                "EnemyRank": "0", "Profile": profile_json("", "-1") }),
    )
}

fn npc_death(killer: i32, victim: i32) -> (u16, Value) {
    (
        6,
        json!({ "KillerID": killer.to_string(), "VictimID": victim.to_string(),
                "AssisterID": "-1", "KillerWeapon": "-1", "Teamkill": "0" }),
    )
}

/// What [`npc`] spawns, killing or killed without a weapon ("-1").
fn zombie() -> NpcEncounter {
    NpcEncounter {
        enemy_type: Some("1".into()),
        enemy_rank: Some("0".into()),
        weapon: None,
    }
}

fn facts_of(outs: &[TrackerOutput]) -> Vec<&Fact> {
    outs.iter()
        .flat_map(|o| o.facts.iter().map(|r| &r.fact))
        .collect()
}

fn seen_keys(outs: &[TrackerOutput]) -> BTreeSet<PlayerKey> {
    outs.iter()
        .flat_map(|o| o.players.iter().map(|p| p.key.clone()))
        .collect()
}

#[test]
fn steam_looking_bots_are_never_players_or_rated() {
    let mut g = Game::new(Mode::Dm);
    let events = vec![
        real_connect(0, "76561198000000001"),
        real_connect(1, "76561198000000002"),
        real_connect(2, "bot2"),
        real_spawn(0, "76561198000000001", 0),
        real_spawn(1, "76561198000000002", 0),
        real_spawn(2, "bot2", 0),
        real_spawn(3, "bot13", 0),
        real_death((0, "76561198000000001"), (2, "bot2")),
        real_death((3, "bot13"), (1, "76561198000000002")),
        real_death((2, "bot2"), (3, "bot13")),
        real_death((0, "76561198000000001"), (1, "76561198000000002")),
        // By slot only: the cache knows slot 2 is a bot.
        death(2, 0),
    ];
    let outs: Vec<TrackerOutput> = events.into_iter().map(|(id, f)| g.feed(id, f)).collect();
    let facts = facts_of(&outs);
    assert_eq!(
        facts,
        [&Fact::Kill(kill("76561198000000001", "76561198000000002"))]
    );
    assert_eq!(
        seen_keys(&outs),
        keys(&["76561198000000001", "76561198000000002"])
            .into_iter()
            .collect()
    );
}

#[test]
fn the_bot_flag_marks_a_bot_whatever_its_profile_says() {
    let mut g = Game::new(Mode::Dm);
    let bot = json!({ "ID": "4", "Name": "Selfish Kevin", "Team": "0", "Profile": "1234",
                      "Store": "0", "Bot": "1", "ClanID": "" });
    let (id, board) = scoreboard(&[bot, player_data(1, "h1", 0, 0)]);
    let out = g.feed(id, board);
    assert_eq!(
        out.players.iter().map(|p| &p.key).collect::<Vec<_>>(),
        [&key("h1")]
    );
    assert_eq!(out.players[0].clan_id, Some("77".into()));
    // Its later events carry the same profile, which alone looks human.
    let facts = g.run(vec![
        real_death((4, "1234"), (1, "h1")),
        real_death((1, "h1"), (4, "1234")),
    ]);
    assert!(facts.is_empty(), "{facts:?}");
}

#[test]
fn a_bot_added_mid_match_is_a_bot_from_its_first_team_change() {
    let mut g = Game::new(Mode::Dm);
    let facts = g.run(vec![
        match_start("Fields"),
        real_connect(0, "h0"),
        real_spawn(0, "h0", 0),
        // `addbot`: first a team change, then the spawn; in no scoreboard.
        (
            8,
            json!({ "PlayerID": "5", "Profile": profile_json("bot5", "0"), "OldTeam": "-1", "NewTeam": "0" }),
        ),
        real_spawn(5, "bot5", 0),
        death(5, 0),
        death(0, 5),
        (
            42,
            json!({ "PlayerID": "5", "Name": "Grumpy Gus", "NameColor": "255",
                    "Profile": profile_json("bot5", "0"), "Message": "!rank", "Team": "0" }),
        ),
    ]);
    let [Fact::Chat(chat)] = facts.as_slice() else {
        panic!("only the chat line: {facts:?}");
    };
    assert_eq!(chat.player, None, "a bot's chat has no player");
}

#[test]
fn npcs_with_empty_profiles_are_never_keys() {
    let mut g = Game::new(Mode::Svl);
    let outs: Vec<TrackerOutput> = vec![
        real_connect(0, "h0"),
        real_spawn(0, "h0", 1),
        npc(100),
        npc_death(0, 100),
        npc_death(100, 0),
        npc_death(100, 100),
    ]
    .into_iter()
    .map(|(id, f)| g.feed(id, f))
    .collect();
    let facts = facts_of(&outs);
    assert_eq!(
        facts,
        [
            &Fact::NpcKill {
                player: key("h0"),
                npc: Some(zombie())
            },
            &Fact::NpcDeath {
                player: key("h0"),
                npc: Some(zombie())
            }
        ]
    );
    assert_eq!(seen_keys(&outs), BTreeSet::from([key("h0")]));
}

#[test]
fn level_ups_name_the_slot_id() {
    let mut g = Game::new(Mode::Dm);
    g.run(vec![real_connect(3, "h3")]);
    // By slot (`ID`, as real servers send it) and without a profile.
    let out = g.feed(
        9,
        json!({ "ID": "3", "Level": "2656", "SkinWeapon": "43", "SkinType": "34" }),
    );
    let [seen] = out.players.as_slice() else {
        panic!("{:?}", out.players)
    };
    assert_eq!((&seen.key, seen.level), (&key("h3"), Some(2656)));
    // A bot's level-up is nobody's.
    let out = g.feed(
        9,
        json!({ "ID": "7", "Level": "3", "Profile": profile_json("bot7", "0") }),
    );
    assert!(out.players.is_empty());
}

fn zbr_round(alive: &str, winner_slot: &str) -> Vec<(u16, Value)> {
    vec![
        (
            29,
            json!({ "MapName": "Town", "MapFile": "maps\\zombrains\\town\\", "GameModeID": "3" }),
        ),
        (52, json!({})),
        real_spawn(0, "h0", 1),
        real_spawn(1, "h1", 1),
        npc(100),
        npc_death(0, 100),
        npc_death(100, 1),
        (
            50,
            json!({ "PlayerID": "1", "Profile": profile_json("h1", "0") }),
        ),
        (53, json!({ "LandingX": "10", "LandingY": "20" })),
        (54, json!({ "X": "10", "Y": "20" })),
        (
            55,
            json!({ "PlayerID": "0", "Profile": profile_json("h0", "0") }),
        ),
        (56, json!({ "Alive": alive, "Dead": "1" })),
        (
            57,
            json!({ "WinnerText": "SHAIGRO WINS", "WinnerTeam": "-1", "WinnerID": winner_slot,
                    "GameModeID": "3", "CurrentMapName": "Town" }),
        ),
    ]
}

#[test]
fn zombrains_counts_kills_deaths_escapes_and_the_outcome() {
    let mut g = Game::new(Mode::Zbr);
    g.run(vec![real_connect(0, "h0"), real_connect(1, "h1")]);
    let facts = g.run(zbr_round("1", "0"));
    assert_eq!(
        facts[..3],
        [
            Fact::NpcKill {
                player: key("h0"),
                npc: Some(zombie())
            },
            Fact::NpcDeath {
                player: key("h1"),
                npc: Some(zombie())
            },
            Fact::Escape { player: key("h0") },
        ]
    );
    let m = only_match(&facts);
    assert_eq!(m.coop_won, Some(true));
    assert_eq!(m.winner_text.as_deref(), Some("SHAIGRO WINS"));
    let players: Vec<&PlayerKey> = m.players.iter().map(|p| &p.key).collect();
    assert_eq!(players, [&key("h0"), &key("h1")]);
    // Survivors alone win it too; nobody alive and no human winner loses it.
    assert_eq!(
        only_match(&g.run(zbr_round("2", "-1"))).coop_won,
        Some(true)
    );
    assert_eq!(
        only_match(&g.run(zbr_round("0", "-1"))).coop_won,
        Some(false)
    );
}

#[test]
fn another_modes_match_is_journaled_but_makes_no_facts() {
    let mut g = Game::new(Mode::Dm);
    g.run(vec![
        connect(1, "a"),
        connect(2, "b"),
        spawn(1, 0),
        spawn(2, 0),
    ]);
    // Team rounds on a deathmatch server: the match makes no facts but chat.
    let facts = g.run(vec![
        match_start("Bunker"),
        (13, json!({ "Players1": "1", "Players2": "1" })),
        death(1, 2),
        (
            42,
            json!({ "PlayerID": "1", "Name": "a", "Message": "hi", "Team": "0" }),
        ),
        (14, json!({ "Winner": "1", "Score1": "1", "Score2": "0" })),
        match_end(1, &[]),
    ]);
    assert!(
        matches!(facts.as_slice(), [Fact::Chat(_)]),
        "only chat: {facts:?}"
    );
    // The next match is a deathmatch again and counts.
    let facts = g.run(vec![match_start("Fields"), death(1, 2)]);
    assert_eq!(facts, [Fact::Kill(kill("a", "b"))]);
    // A GameModeID of another mode flags the match from its start.
    let facts = g.run(vec![
        (29, json!({ "MapName": "Town", "GameModeID": "3" })),
        death(2, 1),
    ]);
    assert!(facts.is_empty(), "{facts:?}");
}

#[test]
fn snapshots_of_earlier_releases_restore_without_their_bots() {
    // An earlier release's tracker state: a real bot taken for a human in
    // slot 1, a flagged bot in slot 3, a human in slot 0.
    let old = r#"{"identity":{"slots":{
        "0":{"who":{"Human":{"store":0,"id":"h0"}},"name":"Shaigro","team":0},
        "1":{"who":{"Human":{"store":0,"id":"bot2"}},"name":"Bloody Nickel","team":0},
        "3":{"who":"Bot","name":"Selfish Kevin","team":0}}},
        "matches":{"current":null,"just_closed":false}}"#;
    let mut g = Game::new(Mode::Dm);
    g.tracker = Tracker::restore(&g.info, old).expect("an earlier release's snapshot");
    let facts = g.run(vec![death(1, 0), death(0, 3), death(3, 0)]);
    assert!(facts.is_empty(), "{facts:?}");
    g.run(vec![connect(2, "h2")]);
    assert_eq!(g.run(vec![death(0, 2)]), [Fact::Kill(kill("h0", "h2"))]);
}
