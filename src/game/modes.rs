//! Which mode an event belongs to, so a tracker notices a server whose events
//! are another mode's than its configuration says (a TDM server configured as
//! `dm`, a survival server on a zombrains port…). Such a match is journaled as
//! usual but makes no facts: rating TDM rounds as deathmatch kills would be
//! worse than recording nothing.

use crate::event::Event;
use crate::model::Mode;

/// The mode `event` implies by its kind or its `GameModeID`; `None` for
/// events every mode sends (kills, chat, connects…).
///
/// Only the GameModeIDs seen on real servers are trusted (README, "A server
/// that sends another mode's events"): 0 deathmatch, 3 zombrains, 4 survival.
pub(crate) fn implied_mode(event: &Event, id: u16) -> Option<Mode> {
    match event {
        Event::MatchStart { gamemode_id, .. } | Event::RconLoggedIn { gamemode_id, .. } => {
            mode_of_id((*gamemode_id)?)
        }
        Event::MatchEnd(end) => mode_of_id(end.gamemode_id?),
        _ => match id {
            13..=16 => Some(Mode::Tdm),
            17..=26 => Some(Mode::Ctf),
            30..=32 | 43..=45 | 47..=49 | 63..=65 => Some(Mode::Svl),
            50..=56 => Some(Mode::Zbr),
            _ => None,
        },
    }
}

/// The mode of a GameModeID seen on real servers; `None` for any other.
pub(crate) fn mode_of_id(gamemode_id: i32) -> Option<Mode> {
    match gamemode_id {
        0 => Some(Mode::Dm),
        3 => Some(Mode::Zbr),
        4 => Some(Mode::Svl),
        _ => None,
    }
}
