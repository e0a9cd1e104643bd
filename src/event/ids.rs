//! Event ids: the one place their numbers are written.
//!
//! Each entry gives the id a constant, named after the event, and the name
//! bman prints for it in logs and `bman replay`. The decoder,
//! [`event_name`] and the simulator all use these constants; a `match` on
//! them compiles exactly as one on the literal numbers.

/// Declares one constant per id and [`ALL`] from the same list, so the two
/// cannot disagree.
macro_rules! event_ids {
    ($($id:literal $konst:ident $name:literal,)*) => {
        $(pub const $konst: u16 = $id;)*

        /// Every id the game sends, with the name bman prints for it, in id
        /// order (`ALL[id]` is the entry of `id`). Ids bman treats alike
        /// share a name (`ctf_structure`, `survival_vice_or_mission`,
        /// `takeover`).
        pub const ALL: &[(u16, &str)] = &[$(($konst, $name),)*];
    };
}

event_ids! {
    0 SERVER_STARTUP "server_startup",
    1 SERVER_SHUTDOWN "server_shutdown",
    2 LOBBY_CONNECT "lobby_connect",
    3 LOBBY_DISCONNECT "lobby_disconnect",
    4 PLAYER_CONNECT "player_connect",
    5 PLAYER_SPAWN "player_spawn",
    6 PLAYER_DEATH "player_death",
    7 PLAYER_DISCONNECT "player_disconnect",
    8 PLAYER_TEAM_CHANGE "player_team_change",
    9 PLAYER_LEVEL_UP "player_level_up",
    10 PLAYER_GET_POWERUP "player_get_powerup",
    11 PLAYER_DAMAGE "player_damage",
    12 PLAYER_LOADED "player_loaded",
    13 TDM_ROUND_START "tdm_round_start",
    14 TDM_ROUND_END "tdm_round_end",
    15 TDM_FLAG_UNLOCKED "tdm_flag_unlocked",
    16 TDM_SWITCH_SIDES "tdm_switch_sides",
    17 CTF_TAKEN "ctf_taken",
    18 CTF_DROPPED "ctf_dropped",
    19 CTF_RETURNED "ctf_returned",
    20 CTF_SCORED "ctf_scored",
    21 CTF_GENERATOR_REPAIRED "ctf_structure",
    22 CTF_GENERATOR_DESTROYED "ctf_structure",
    23 CTF_TURRET_REPAIRED "ctf_structure",
    24 CTF_TURRET_DESTROYED "ctf_structure",
    25 CTF_RESUPPLY_REPAIRED "ctf_structure",
    26 CTF_RESUPPLY_DESTROYED "ctf_structure",
    27 MATCH_END "match_end",
    28 MATCH_OVERTIME "match_overtime",
    29 MATCH_START "match_start",
    30 SURVIVAL_NEW_WAVE "survival_new_wave",
    31 SURVIVAL_WAVE_BEGINS "survival_flag_unlocked",
    32 SURVIVAL_BUY_CHEST "survival_buy_chest",
    33 LOG_MESSAGE "log_message",
    34 REQUEST_DATA "request_data",
    35 COMMAND_ENTERED "command_entered",
    36 RCON_LOGGED_IN "rcon_logged_in",
    37 MATCH_PAUSED "match_paused",
    38 MATCH_UNPAUSED "match_unpaused",
    39 WARMUP_START "warmup_start",
    40 RCON_DISCONNECT "rcon_disconnect",
    41 RCON_PING "rcon_ping",
    42 CHAT_MESSAGE "chat_message",
    43 SURVIVAL_GET_VICE "survival_vice_or_mission",
    44 SURVIVAL_USE_VICE "survival_vice_or_mission",
    45 SURVIVAL_PLAYER_REVIVE "survival_vice_or_mission",
    46 PLAYER_TAUNT "player_taunt",
    47 SURVIVAL_COMPLETE_MISSION "survival_vice_or_mission",
    48 SURVIVAL_TAKE_MISSION "survival_vice_or_mission",
    49 SURVIVAL_FAIL_MISSION "survival_vice_or_mission",
    50 ZOMBRAINS_REVIVE "zombrains_revive",
    51 ZOMBRAINS_BUY_WEAPON "zombrains_buy_weapon",
    52 ZOMBRAINS_BEGIN "zombrains_begin",
    53 ZOMBRAINS_HELICOPTER_ARRIVING "zombrains_helicopter_arriving",
    54 ZOMBRAINS_HELICOPTER_BOARDING "zombrains_helicopter_boarding",
    55 ZOMBRAINS_HELICOPTER_PLAYER_BOARDED "zombrains_helicopter_player_boarded",
    56 ZOMBRAINS_END "zombrains_end",
    57 GAME_OVER "game_over",
    58 SERVER_EMPTY "server_empty",
    59 WEAPONSDEAL_RANKCHANGE "weaponsdeal_rankchange",
    60 TAKEOVER_FLAGCAPTURE "takeover",
    61 TAKEOVER_FLAGSCREATED "takeover",
    62 PLAYER_LOADOUT "player_loadout",
    63 SURVIVAL_BOMB_DEFUSED "survival_bomb_defused",
    64 SURVIVAL_BOMB_EXPLODED "survival_bomb_exploded",
    65 SURVIVAL_BOMB_REARMED "survival_bomb_rearmed",
    66 SERVER_SLEEP "server_sleep",
    67 SERVER_WAKE "server_wake",
}

// `event_name` indexes the table by id: a gap or a misplaced entry fails the build.
const _: () = {
    let mut i = 0;
    while i < ALL.len() {
        assert!(
            ALL[i].0 as usize == i,
            "ids::ALL must be in id order, without gaps"
        );
        i += 1;
    }
};

/// The name of an event for logs and the bot ("player_death", …);
/// "unknown" for an id the game is not known to send.
pub fn event_name(id: u16) -> &'static str {
    ALL.get(usize::from(id))
        .map_or("unknown", |&(_, name)| name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_as_before_and_unknown_past_the_table() {
        assert_eq!(event_name(0), "server_startup");
        assert_eq!(event_name(41), "rcon_ping");
        assert_eq!(event_name(46), "player_taunt");
        assert_eq!(event_name(21), "ctf_structure");
        assert_eq!(event_name(67), "server_wake");
        assert_eq!(event_name(68), "unknown");
        assert_eq!(event_name(200), "unknown");
        assert_eq!(event_name(u16::MAX), "unknown");
    }
}
