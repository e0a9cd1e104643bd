//! Survival waves. NPC kills and deaths are handled with every other death
//! (see `on_death`); what is special here is who a wave counts.

use super::identity::Identity;
use super::MatchState;
use crate::model::{Fact, WaveFact};

/// A new wave: every human connected to the match now takes part (dead
/// players come back at a new wave; spectators do not play). A player who
/// joins mid-match is only in the waves that start after they connected.
pub(crate) fn new_wave(
    game: &mut MatchState,
    identity: &Identity,
    wave: i64,
    enemies: Option<i64>,
    chests: Option<i64>,
    chest_price: Option<i64>,
) -> Fact {
    let players = identity.humans(|team| team != Some(3));
    for key in &players {
        game.took_part(key, None);
    }
    game.last_wave = Some(game.last_wave.map_or(wave, |w| w.max(wave)));
    Fact::Wave(WaveFact {
        wave,
        enemies,
        chests,
        chest_price,
        players,
    })
}
