//! Capture the flag: who carries which flag, and captures with both rosters.
//!
//! Wins and losses per match come from match_end's WinnerTeam, carried
//! faithfully in the match fact (the original tool swapped them); the rater
//! decides what they mean.

use super::identity::{Actor, Identity};
use super::{Cx, MatchState};
use crate::model::{CaptureFact, Fact};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Flag team -> slot of the player carrying that flag.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Flags {
    carriers: BTreeMap<i32, i32>,
}

impl Flags {
    /// `team`'s flag is now carried by `carrier`, or by nobody (dropped,
    /// returned, captured).
    pub fn moved(&mut self, team: Option<i32>, carrier: Option<i32>) {
        let Some(team) = team else { return };
        match carrier {
            Some(slot) => self.carriers.insert(team, slot),
            None => self.carriers.remove(&team),
        };
    }
}

/// A capture: the carrier, and the humans on each team at this moment (a
/// human carrier counts for the scoring team even if their team was unknown).
/// A bot's capture still rates the humans of both teams (the scoring team
/// won it), but credits no capture; an unknown carrier makes no fact.
pub(crate) fn scored(
    game: &mut MatchState,
    identity: &Identity,
    (slot, carrier): (Option<i32>, Actor),
    scoring_team: Option<i32>,
    cx: &Cx,
) -> Option<Fact> {
    let team = scoring_team
        .or_else(|| identity.team(slot))
        .filter(|t| matches!(t, 1 | 2));
    if let Some(team) = team {
        game.flags.moved(Some(3 - team), None);
    }
    let carrier = match carrier {
        Actor::Human(key) => Some(key),
        Actor::Bot => None,
        Actor::Unknown | Actor::World => {
            cx.skip("ctf_scored by an unknown slot without a profile");
            return None;
        }
    };
    let Some(team) = team else {
        cx.skip("ctf_scored without a scoring team");
        return None;
    };
    let mut scoring = identity.humans(|t| t == Some(team));
    let mut other = identity.humans(|t| t == Some(3 - team));
    if let Some(carrier) = &carrier {
        game.took_part(carrier, Some(team));
        if let Err(at) = scoring.binary_search(carrier) {
            scoring.insert(at, carrier.clone());
        }
        other.retain(|key| key != carrier);
    }
    Some(Fact::Capture(CaptureFact {
        carrier,
        scoring_team: team,
        scoring,
        other,
    }))
}
