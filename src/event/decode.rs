//! Decoding: a frame's id and JSON text into a [`GameEvent`].
//!
//! Dispatch is a `match` on the [`ids`](super::ids) constants; a field the
//! event lacks, or sends in an odd form, becomes `None` (see [`Fields`]).

use super::fields::{flag_of, i32_of, i64_of, profile_of, raw_text, str_of, Fields, ObjectError};
use super::ids;
use super::types::{
    Death, DecodeError, Event, GameEvent, MatchEnd, MatchInfo, PlayerData, ReplyBody, Scoreboard,
};
use crate::model::Loadout;

impl PlayerData {
    /// One pass over the fields (scoreboards and match ends carry many
    /// players; later keys win, as with lookups).
    fn decode(f: &Fields) -> PlayerData {
        let mut p = PlayerData::default();
        let (mut profile, mut store) = (None, None);
        for (key, raw) in f.iter() {
            match key {
                "ID" => p.slot = i32_of(raw),
                "Name" => p.name = str_of(raw),
                "Color" => p.color = str_of(raw),
                "Team" => p.team = i32_of(raw),
                "Kills" => p.kills = i64_of(raw),
                "Deaths" => p.deaths = i64_of(raw),
                "Assists" => p.assists = i64_of(raw),
                "Score" => p.score = i64_of(raw),
                "Profile" => profile = Some(raw),
                "Store" => store = i32_of(raw),
                "Alive" => p.alive = flag_of(raw),
                "Bot" => p.bot = flag_of(raw),
                "Hat" => p.hat = str_of(raw),
                "Money" => p.money = i64_of(raw),
                "Premium" => p.premium = flag_of(raw),
                "ClanID" => p.clan_id = str_of(raw).filter(|c| c != "0" && c != "-1"),
                "ClanTag" => p.clan_tag = str_of(raw),
                _ => {}
            }
        }
        p.profile = profile.and_then(|raw| profile_of(raw, || store));
        p
    }

    /// Every `PlayerData<slot>` object of a reply or match_end, in slot order.
    /// An object may also arrive JSON-encoded in a string.
    fn all_in(obj: &Fields) -> Vec<PlayerData> {
        let mut players: Vec<(i64, PlayerData)> = obj
            .iter()
            .filter_map(|(key, value)| {
                let slot_text = key.strip_prefix("PlayerData")?;
                let text = raw_text(value).filter(|t| t.starts_with('{'));
                let json = text.as_deref().unwrap_or(value);
                let mut data = PlayerData::decode(&Fields::parse(json).ok()?);
                if data.slot.is_none() {
                    data.slot = slot_text.parse().ok();
                }
                Some((slot_text.parse().unwrap_or(i64::MAX), data))
            })
            .collect();
        players.sort_by_key(|(slot, _)| *slot);
        players.into_iter().map(|(_, p)| p).collect()
    }
}

/// Ids whose only interesting content is the player who caused them.
fn is_player_action(id: u16) -> bool {
    matches!(
        id,
        ids::PLAYER_GET_POWERUP
            | ids::PLAYER_DAMAGE
            | ids::CTF_GENERATOR_REPAIRED..=ids::CTF_RESUPPLY_DESTROYED
            | ids::SURVIVAL_GET_VICE..=ids::ZOMBRAINS_BUY_WEAPON
            | ids::WEAPONSDEAL_RANKCHANGE..=ids::PLAYER_LOADOUT
    )
}

/// Decodes one frame's JSON text.
pub fn decode(id: u16, json: &str) -> Result<GameEvent, DecodeError> {
    let f = Fields::parse(json).map_err(|e| match e {
        ObjectError::NotJson(e) => DecodeError::NotJson {
            id,
            reason: e.to_string(),
        },
        ObjectError::NotObject => DecodeError::NotObject { id },
    })?;
    let event = match id {
        ids::SERVER_STARTUP => Event::ServerStartup,
        ids::SERVER_SHUTDOWN => Event::ServerShutdown,
        ids::LOBBY_CONNECT => Event::LobbyConnect,
        ids::LOBBY_DISCONNECT => Event::LobbyDisconnect,
        ids::PLAYER_CONNECT => Event::PlayerConnect {
            slot: f.i32("PlayerID"),
            name: f.str("PlayerName").or_else(|| f.str("Name")),
            ip: f.str("IP"),
            profile: f.profile("Profile", "Store"),
            is_admin: f.flag("IsAdmin"),
        },
        ids::PLAYER_SPAWN => Event::PlayerSpawn {
            slot: f.i32("PlayerID"),
            profile: f.profile("Profile", "Store"),
            name: f.str("Name"),
            team: f.i32("Team"),
            hat: f.str("Hat"),
            color: f.str("Color"),
            enemy_type: f.str("EnemyType"),
            enemy_rank: f.str("EnemyRank"),
            loadout: Loadout {
                weap1: f.str("Weap1"),
                weap2: f.str("Weap2"),
                equip: f.str("Equip"),
                offweap: f.str("OffWeap"),
                offweap2: f.str("OffWeap2"),
            },
        },
        ids::PLAYER_DEATH => Event::PlayerDeath(Death {
            victim: f.i32("VictimID"),
            killer: f.i32("KillerID"),
            assister: f.i32("AssisterID").filter(|a| *a >= 0),
            victim_profile: f.profile("VictimProfile", "VictimStore"),
            killer_profile: f.profile("KillerProfile", "KillerStore"),
            assister_profile: f.profile("AssisterProfile", "AssisterStore"),
            // "-1": no weapon (the world, NPC attacks).
            weapon: f.str("KillerWeapon").filter(|w| w != "-1"),
            headshot: f.flag("Headshot"),
            death_type: f.i64("DeathType"),
            teamkill: f.flag("Teamkill"),
            killer_at: f.position("KillerX", "KillerY"),
            victim_at: f.position("VictimX", "VictimY"),
        }),
        ids::PLAYER_DISCONNECT => Event::PlayerDisconnect {
            slot: f.i32("PlayerID"),
            profile: f.profile("Profile", "Store"),
            kicked: f.flag("Kicked"),
            kick_reason: f.str("KickReason"),
        },
        ids::PLAYER_TEAM_CHANGE => Event::PlayerTeamChange {
            slot: f.i32("PlayerID"),
            profile: f.profile("Profile", "Store"),
            old_team: f.i32("OldTeam"),
            new_team: f.i32("NewTeam"),
            autobalanced: f.flag("Autobalanced"),
        },
        ids::PLAYER_LEVEL_UP => Event::PlayerLevelUp {
            slot: f.i32("ID").or_else(|| f.i32("PlayerID")),
            profile: f.profile("Profile", "Store"),
            level: f.i64("Level"),
        },
        ids::PLAYER_LOADED => Event::PlayerLoaded {
            slot: f.i32("PlayerID"),
            profile: f.profile("Profile", "Store"),
        },
        ids::TDM_ROUND_START => Event::TdmRoundStart {
            players1: f.i64("Players1"),
            players2: f.i64("Players2"),
        },
        ids::TDM_ROUND_END => Event::TdmRoundEnd {
            winner: f.i32("Winner"),
            score1: f.i64("Score1"),
            score2: f.i64("Score2"),
            end_type: f.i32("RoundEndType"),
            flawless: f.flag("Flawless"),
        },
        ids::TDM_SWITCH_SIDES => Event::TdmSwitchSides {
            score1: f.i64("Score1"),
            score2: f.i64("Score2"),
        },
        ids::CTF_TAKEN | ids::CTF_DROPPED => Event::CtfFlag {
            taken: id == ids::CTF_TAKEN,
            carrier: f.i32("CarrierID"),
            carrier_profile: f.profile("CarrierProfile", "CarrierStore"),
            flag_team: f.i32("FlagTeam"),
        },
        ids::CTF_RETURNED => Event::CtfReturned {
            player: f.i32("ReturnPlayerID"),
            profile: f.profile("ReturnProfile", "ReturnStore"),
        },
        ids::CTF_SCORED => Event::CtfScored {
            carrier: f.i32("CarrierID"),
            carrier_profile: f.profile("CarrierProfile", "CarrierStore"),
            scoring_team: f.i32("ScoringTeam"),
            score1: f.i64("Score1"),
            score2: f.i64("Score2"),
        },
        ids::MATCH_END | ids::GAME_OVER => Event::MatchEnd(MatchEnd {
            winner_text: f.str("WinnerText"),
            winner_team: f.i32("WinnerTeam"),
            winner_id: f.i32("WinnerID"),
            gamemode_id: f.i32("GameModeID"),
            map: f.str("CurrentMapName").or_else(|| f.str("MapName")),
            next_map: f.str("NextMap"),
            players: PlayerData::all_in(&f),
        }),
        ids::MATCH_START => Event::MatchStart {
            map_name: f.str("MapName"),
            map_file: f.str("MapFile"),
            gamemode_id: f.i32("GameModeID"),
        },
        ids::SURVIVAL_NEW_WAVE => Event::SurvivalNewWave {
            wave: f.i64("WaveNumber"),
            enemies: f.i64("Enemies"),
            chests: f.i64("Chests"),
            chest_price: f.i64("ChestPrice"),
            chest_crash: f.i64("ChestCrash"),
        },
        ids::SURVIVAL_WAVE_BEGINS => Event::SurvivalWaveBegins {
            wave: f.i64("WaveNumber"),
            objective: f.str("WaveObjective"),
        },
        ids::SURVIVAL_BUY_CHEST => Event::SurvivalBuyChest {
            slot: f.i32("PlayerID"),
            profile: f.profile("Profile", "Store"),
            cost: f.i64("ChestCost"),
        },
        ids::LOG_MESSAGE => Event::LogMessage {
            message: f.str("Message"),
        },
        ids::REQUEST_DATA => {
            let case_id = f.i32("CaseID");
            let body = match case_id {
                Some(7) => ReplyBody::Scoreboard(Scoreboard {
                    server_name: f.str("ServerName"),
                    gamemode_name: f.str("GamemodeName"),
                    gamemode_id: f.i32("GamemodeID"),
                    map: f.str("Map"),
                    time_str: f.str("TimeStr"),
                    team1_score: f.i64("Team1Score"),
                    team2_score: f.i64("Team2Score"),
                    players: PlayerData::all_in(&f),
                }),
                Some(5) => ReplyBody::Match(MatchInfo {
                    server_name: f.str("ServerName"),
                    gamemode_name: f.str("GamemodeName"),
                    gamemode_id: f.i32("GamemodeID"),
                    map: f.str("Map"),
                    players: f.i64("Players"),
                    max_players: f.i64("MaxPlayers"),
                    time_left: f.i64("TimeLeft"),
                    max_time: f.i64("MaxTime"),
                    time_str: f.str("TimeStr"),
                    overtime: f.flag("Overtime"),
                    version: f.str("Version"),
                    max_score: f.i64("MaxScore"),
                    team1_score: f.i64("Team1Score"),
                    team2_score: f.i64("Team2Score"),
                }),
                Some(3) => ReplyBody::Player(
                    PlayerData::all_in(&f)
                        .into_iter()
                        .next()
                        .unwrap_or_else(|| PlayerData::decode(&f)),
                ),
                _ => ReplyBody::Other,
            };
            Event::RequestData {
                case_id,
                request_id: f.str("RequestID"),
                body,
            }
        }
        ids::COMMAND_ENTERED => Event::CommandEntered {
            command: f.str("Command"),
            source: f.i32("Source"),
            return_text: f.str("ReturnText"),
        },
        ids::RCON_LOGGED_IN => Event::RconLoggedIn {
            gamemode_id: f.i32("GameModeID"),
            map_name: f.str("MapName"),
        },
        ids::WARMUP_START => Event::WarmupStart,
        ids::RCON_PING => Event::RconPing,
        ids::CHAT_MESSAGE => Event::ChatMessage {
            slot: f.i32("PlayerID"),
            name: f.str("Name"),
            profile: f.profile("Profile", "Store"),
            message: f.str("Message").unwrap_or_default(),
            team: f.i32("Team"),
        },
        ids::ZOMBRAINS_HELICOPTER_PLAYER_BOARDED => Event::ZombrainsBoarded {
            slot: f.i32("PlayerID"),
            profile: f.profile("Profile", "Store"),
        },
        ids::ZOMBRAINS_END => Event::ZombrainsEnd {
            alive: f.i64("Alive"),
            dead: f.i64("Dead"),
        },
        id if is_player_action(id) => Event::PlayerAction {
            id,
            slot: f
                .i32("PlayerID")
                .or_else(|| f.i32("RepairerID"))
                .or_else(|| f.i32("KillerID")),
            profile: f
                .profile("Profile", "Store")
                .or_else(|| f.profile("RepairerProfile", "RepairerStore"))
                .or_else(|| f.profile("KillerProfile", "KillerStore")),
        },
        ids::TDM_FLAG_UNLOCKED
        | ids::MATCH_OVERTIME
        | ids::MATCH_PAUSED
        | ids::MATCH_UNPAUSED
        | ids::RCON_DISCONNECT
        | ids::ZOMBRAINS_BEGIN..=ids::ZOMBRAINS_HELICOPTER_BOARDING
        | ids::SERVER_EMPTY
        | ids::SURVIVAL_BOMB_DEFUSED..=ids::SERVER_WAKE => Event::Notice { id },
        id => Event::Unknown { id },
    };
    Ok(GameEvent {
        id,
        time: f.i64("Time"),
        event,
    })
}

#[cfg(test)]
mod tests {
    use super::super::scan::tests::{mutated, sim_event};
    use super::*;
    use crate::event::Profile;
    use crate::model::Position;
    use proptest::prelude::*;

    fn ev(id: u16, json: &str) -> Event {
        decode(id, json).unwrap().event
    }

    #[test]
    fn death_with_strings_and_missing_fields() {
        let Event::PlayerDeath(d) = ev(
            ids::PLAYER_DEATH,
            r#"{"Time":"1700000000","EventID":"6","VictimID":"3","KillerID":"-1","Headshot":"1","Teamkill":"0","AssisterID":"-1"}"#,
        ) else {
            panic!()
        };
        assert_eq!((d.victim, d.killer, d.assister), (Some(3), Some(-1), None));
        assert!(d.headshot && !d.teamkill);
        assert_eq!(
            decode(ids::PLAYER_DEATH, r#"{"Time":"1700000000"}"#)
                .unwrap()
                .time,
            Some(1_700_000_000)
        );
    }

    #[test]
    fn death_locations_need_both_coordinates_as_numbers() {
        let death = |json: &str| match ev(ids::PLAYER_DEATH, json) {
            Event::PlayerDeath(d) => (d.killer_at, d.victim_at),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            death(r#"{"KillerX":"1234.5","KillerY":"-88","VictimX":640,"VictimY":"12.25"}"#),
            (
                Some(Position {
                    x: 1234.5,
                    y: -88.0
                }),
                Some(Position { x: 640.0, y: 12.25 })
            )
        );
        // A missing, empty or non-numeric coordinate: no location at all.
        assert_eq!(
            death(r#"{"KillerX":"1","VictimX":"abc","VictimY":"2"}"#),
            (None, None)
        );
        assert_eq!(death(r#"{"KillerX":"","KillerY":"3"}"#), (None, None));
    }

    #[test]
    fn match_end_player_data() {
        let Event::MatchEnd(m) = ev(
            ids::MATCH_END,
            r#"{"WinnerTeam":"2","PlayerData10":{"ID":"10","Name":"b","Kills":"3","Profile":"9","Store":"1","Bot":"0"},
                "PlayerData2":{"ID":"2","Name":"a","Kills":5,"Bot":"1","Profile":"-1","Store":"-1"}}"#,
        ) else {
            panic!()
        };
        assert_eq!(m.winner_team, Some(2));
        assert_eq!(m.players.len(), 2);
        assert_eq!(m.players[0].slot, Some(2));
        assert!(m.players[0].bot);
        assert_eq!(
            m.players[1].profile,
            Some(Profile {
                store: 1,
                id: "9".into()
            })
        );
        assert_eq!(m.players[1].kills, Some(3));
    }

    #[test]
    fn forms_real_servers_send() {
        let profile = |id: &str, store: i32| Profile {
            store,
            id: id.into(),
        };
        // player_level_up names the slot `ID`.
        assert_eq!(
            ev(
                ids::PLAYER_LEVEL_UP,
                r#"{"SkinType":"34","Profile":"{\"ProfileID\":\"7656\",\"StoreID\":\"0\"}","ID":"0","SkinWeapon":"43","Level":"2656","Time":"1","EventID":"9"}"#
            ),
            Event::PlayerLevelUp {
                slot: Some(0),
                profile: Some(profile("7656", 0)),
                level: Some(2656),
            }
        );
        // No assister, no weapon.
        let Event::PlayerDeath(d) = ev(
            ids::PLAYER_DEATH,
            r#"{"KillerID":"-1","VictimID":"3","AssisterID":"-1","AssisterProfile":"{\"ProfileID\":\"\",\"StoreID\":\"-1\"}","KillerWeapon":"-1"}"#,
        ) else {
            panic!()
        };
        // An NPC's empty profile is no profile: never a key.
        assert_eq!(
            (d.assister, d.weapon, d.assister_profile),
            (None, None, None)
        );
        // Zombrains.
        assert_eq!(
            ev(
                ids::ZOMBRAINS_HELICOPTER_PLAYER_BOARDED,
                r#"{"PlayerID":"2","Profile":"{\"ProfileID\":\"7656\",\"StoreID\":\"0\"}"}"#
            ),
            Event::ZombrainsBoarded {
                slot: Some(2),
                profile: Some(profile("7656", 0))
            }
        );
        assert_eq!(
            ev(ids::ZOMBRAINS_END, r#"{"Alive":"1","Dead":"3"}"#),
            Event::ZombrainsEnd {
                alive: Some(1),
                dead: Some(3)
            }
        );
        for id in ids::ZOMBRAINS_BEGIN..=ids::ZOMBRAINS_HELICOPTER_BOARDING {
            assert_eq!(ev(id, "{}"), Event::Notice { id });
        }
        assert!(matches!(
            ev(
                ids::ZOMBRAINS_BUY_WEAPON,
                r#"{"Weapon":"7","Cost":"500","PlayerID":"1","Profile":"{}"}"#
            ),
            Event::PlayerAction {
                id: ids::ZOMBRAINS_BUY_WEAPON,
                slot: Some(1),
                ..
            }
        ));
        // The flat request_player reply, with `GamemodeID` beside the player.
        let Event::RequestData {
            body: ReplyBody::Player(pd),
            ..
        } = ev(
            ids::REQUEST_DATA,
            r#"{"CaseID":"3","RequestID":"9","GamemodeID":"0","ID":"4","Name":"Nyx","Profile":"284","Store":"1","Bot":"0","ClanID":"-1","Hat2":"0"}"#,
        )
        else {
            panic!()
        };
        assert_eq!(
            (pd.slot, pd.name.as_deref(), pd.profile, pd.clan_id),
            (Some(4), Some("Nyx"), Some(profile("284", 1)), None)
        );
    }

    #[test]
    fn replies_by_case_id() {
        let Event::RequestData {
            request_id, body, ..
        } = ev(
            ids::REQUEST_DATA,
            r#"{"CaseID":"7","RequestID":"5","Map":"Fort","Team1Score":"2","PlayerData0":{"ID":"0","Name":"x"}}"#,
        )
        else {
            panic!()
        };
        assert_eq!(request_id.as_deref(), Some("5"));
        let ReplyBody::Scoreboard(s) = body else {
            panic!()
        };
        assert_eq!(
            (s.map.as_deref(), s.team1_score, s.players.len()),
            (Some("Fort"), Some(2), 1)
        );
    }

    #[test]
    fn unknown_and_bad_payloads() {
        assert_eq!(ev(99, r#"{"Time":"1"}"#), Event::Unknown { id: 99 });
        assert_eq!(
            ev(ids::SERVER_SLEEP, "{}"),
            Event::Notice {
                id: ids::SERVER_SLEEP
            }
        );
        assert!(matches!(
            decode(ids::PLAYER_DEATH, "[1]"),
            Err(DecodeError::NotObject {
                id: ids::PLAYER_DEATH
            })
        ));
        assert!(matches!(
            decode(ids::PLAYER_DEATH, "{\"a\":"),
            Err(DecodeError::NotJson {
                id: ids::PLAYER_DEATH,
                ..
            })
        ));
    }

    #[test]
    fn hostile_chat_is_kept_verbatim() {
        let Event::ChatMessage { message, slot, .. } = ev(
            ids::CHAT_MESSAGE,
            r#"{"PlayerID":"-1","Name":"","Profile":"","Message":"@everyone \"└┐ **x**\n"}"#,
        ) else {
            panic!()
        };
        assert_eq!(slot, Some(-1));
        assert_eq!(message, "@everyone \"└┐ **x**\n");
    }

    proptest! {
        #[test]
        fn any_text_decodes_without_panic(id in 0u16..70, json in any::<String>()) {
            let _ = decode(id, &json);
        }

        #[test]
        fn mutated_events_decode_without_panic(id in 0u16..70, json in mutated(sim_event())) {
            let _ = decode(id, &json);
        }
    }
}
