//! Answers to a client's commands and requests, from the roster of the
//! events delivered so far.

use crate::event::ids;
use crate::rcon::codec::PacketKind;
use crate::sim::scenario::SimEvent;
use crate::sim::state::{mode_info, Roster};
use serde_json::{json, Map, Value};

/// Match length the simulator reports, in game ticks (60 per second).
const MAX_TIME_TICKS: i64 = 10 * 60 * 60;
const MAX_PLAYERS: usize = 16;

/// Splits console text into parameters: bare words, or double-quoted strings
/// in which `\"` and `\\` are escapes (how clients quote names and request
/// ids). `None` when a quote is not closed.
pub(crate) fn parse_params(text: &str) -> Option<Vec<String>> {
    let mut params = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let Some(first) = chars.next() else {
            return Some(params);
        };
        let mut param = String::new();
        if first == '"' {
            loop {
                match chars.next()? {
                    '"' => break,
                    '\\' => match chars.next()? {
                        c @ ('"' | '\\') => param.push(c),
                        c => param.extend(['\\', c]),
                    },
                    c => param.push(c),
                }
            }
        } else {
            param.push(first);
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                param.push(c);
            }
        }
        params.push(param);
    }
}

/// command_entered for an RCON command (Source 1), with the game's text
/// where it is known. The scenario is fixed, so addbot adds nobody; a kick's
/// effect is [`kick_disconnect`].
pub(super) fn command_reply(roster: &Roster, text: &str) -> Value {
    let params = parse_params(text).unwrap_or_default();
    let verb = params.first().map(|v| v.to_ascii_lowercase());
    let target = || {
        params
            .get(1)
            .and_then(|who| roster.find(who))
            .map(|slot| roster.players[&slot].name.clone())
    };
    let return_text = match verb.as_deref() {
        Some("say" | "rawsay") => String::new(),
        Some("kick") => target().map_or("Player not found".into(), |name| {
            format!("KICK: Kicking player {name}...")
        }),
        Some("addbot") => {
            let team = params.get(1).map_or("0", String::as_str);
            format!("ADDBOT: Added bot to team {team}")
        }
        Some("ban") => target().map_or("Player not found".into(), |name| format!("Banned {name}")),
        _ => "Unknown command".into(),
    };
    json!({ "Command": text, "Source": "1", "ReturnText": return_text })
}

/// The player_disconnect (Kicked 1) a kick command causes, as the game sends
/// it right after the command's echo, with the slot it frees; `None` when
/// the command is not a kick of a player who is there.
pub(super) fn kick_disconnect(roster: &Roster, text: &str) -> Option<(i64, SimEvent)> {
    let params = parse_params(text)?;
    if !params.first()?.eq_ignore_ascii_case("kick") {
        return None;
    }
    let slot = roster.find(params.get(1)?)?;
    let player = roster.players.get(&slot)?;
    let profile = json!({ "ProfileID": player.profile, "StoreID": player.store.to_string() });
    let event = json!({
        "PlayerID": slot.to_string(), "Profile": profile.to_string(), "IsAdmin": "0",
        "Kicked": "1", "KickReason": params.get(2).cloned().unwrap_or_default(),
        "Time": roster.clock.to_string(), "EventID": ids::PLAYER_DISCONNECT.to_string(),
    });
    Some((
        slot,
        SimEvent {
            id: ids::PLAYER_DISCONNECT,
            json: event.to_string(),
        },
    ))
}

/// request_data for a request packet; `None` means no reply (a
/// malformed request, or request_player for a player who is not there).
pub(super) fn request_reply(roster: &Roster, kind: PacketKind, text: &str) -> Option<Value> {
    let params = parse_params(text)?;
    let mut o = Map::new();
    let mut put = |k: &str, v: String| {
        o.insert(k.to_owned(), Value::String(v));
    };
    let info = mode_info(roster.mode);
    put("CaseID", (kind as i16).to_string());
    put("RequestID", params.first()?.clone());
    if kind == PacketKind::RequestPlayer {
        // Flat, as real servers answer: the PlayerData fields at the top level.
        let slot = roster.find(params.get(1)?)?;
        o.extend(roster.player_data(slot)?);
        o.insert("GamemodeID".into(), Value::String(info.id.to_string()));
        return Some(Value::Object(o));
    }
    let elapsed = (roster.clock - roster.match_started).max(0);
    put("ServerName", format!("bman simulator ({})", roster.mode));
    put("GamemodeName", info.name.into());
    put("GamemodeID", info.id.to_string());
    put("Map", roster.map.0.clone());
    put(
        "TimeStr",
        format!("{:02}:{:02}", elapsed / 60, elapsed % 60),
    );
    put("Team1Score", roster.team_scores[0].to_string());
    put("Team2Score", roster.team_scores[1].to_string());
    if kind == PacketKind::RequestMatch {
        put("Players", roster.listed().count().to_string());
        put("MaxPlayers", MAX_PLAYERS.to_string());
        put(
            "TimeLeft",
            (MAX_TIME_TICKS - elapsed * 60).max(0).to_string(),
        );
        put("MaxTime", MAX_TIME_TICKS.to_string());
        put("Overtime", "0".into());
        put("Version", env!("CARGO_PKG_VERSION").into());
        put("MaxScore", info.max_score.to_string());
    } else {
        roster.put_player_data(&mut o);
    }
    Some(Value::Object(o))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_handle_quotes_and_escapes() {
        assert_eq!(parse_params(r#""12" "1""#).unwrap(), ["12", "1"]);
        assert_eq!(
            parse_params(r#"kick "Quote\"Man" "bye \\ now""#).unwrap(),
            ["kick", "Quote\"Man", "bye \\ now"]
        );
        assert_eq!(parse_params(r#"  say   "a b"  "#).unwrap(), ["say", "a b"]);
        assert_eq!(parse_params(r#""C:\path""#).unwrap(), ["C:\\path"]);
        assert_eq!(parse_params(r#""""#).unwrap(), [""]);
        assert_eq!(parse_params(""), Some(vec![]));
        assert_eq!(parse_params(r#""open"#), None);
        assert_eq!(parse_params(r#""trailing \"#), None);
    }
}
