//! Team deathmatch rounds: who played for which team, once each.
//!
//! The original tool appended a player on every spawn, so one player counted
//! several times in a team rating. Here a round's roster is a map from player
//! to team: present at the round start, spawned or switched during it, a
//! player is listed once, for the last team seen in that round.

use super::identity::Identity;
use super::Cx;
use crate::model::{Fact, Loadout, PlayerKey, RoundFact, RoundLoadout};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The rounds of one match.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Rounds {
    /// Rounds finished so far: the next round fact is number `played + 1`.
    played: i64,
    current: Option<Round>,
    /// Spawns while no round is open: the game spawns everyone just before
    /// it starts a round, so these belong to the next one.
    #[serde(default)]
    spawned_before: Vec<RoundLoadout>,
}

/// The open round.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Round {
    /// Each human who played, with their last team (1 or 2).
    #[serde(with = "super::pairs")]
    teams: BTreeMap<PlayerKey, i32>,
    /// Spawns on a team, in order.
    #[serde(default)]
    loadouts: Vec<RoundLoadout>,
}

impl Rounds {
    /// Opens a round with the humans already on a team.
    pub fn start(&mut self, identity: &Identity, cx: &Cx) {
        if self.current.is_some() {
            cx.skip("tdm_round_start while a round is open: the open round is dropped");
        }
        let teams = on_teams(identity);
        let loadouts = self.take_spawned_before(&teams);
        self.current = Some(Round { teams, loadouts });
    }

    /// The spawns since the last round, of players on `teams`.
    fn take_spawned_before(&mut self, teams: &BTreeMap<PlayerKey, i32>) -> Vec<RoundLoadout> {
        let mut spawns = std::mem::take(&mut self.spawned_before);
        spawns.retain(|s| teams.contains_key(&s.player));
        spawns
    }

    /// During a round, `key` (re)spawned on or switched to `team`; spectators
    /// and unknown teams do not change which side they played for.
    pub(crate) fn set_team(&mut self, key: &PlayerKey, team: Option<i32>) {
        if let (Some(round), Some(team @ (1 | 2))) = (&mut self.current, team) {
            round.teams.insert(key.clone(), team);
        }
    }

    /// `key` spawned on `team` with `loadout`: for the open round, or the
    /// next one (a spawn that tells no loadout is not one).
    pub(crate) fn spawned(&mut self, key: &PlayerKey, team: Option<i32>, loadout: &Loadout) {
        if *loadout == Loadout::default() || !matches!(team, Some(1 | 2)) {
            return;
        }
        let spawn = RoundLoadout {
            player: key.clone(),
            loadout: loadout.clone(),
        };
        match &mut self.current {
            Some(round) => round.loadouts.push(spawn),
            None => self.spawned_before.push(spawn),
        }
    }

    /// Closes the round. A round end without a start (bman joined mid-round)
    /// uses the humans on a team now. Without a valid winner there is no fact.
    /// `map` is the match's, for the round's record.
    pub fn end(
        &mut self,
        identity: &Identity,
        winner: Option<i32>,
        (score1, score2): (Option<i64>, Option<i64>),
        map: Option<String>,
        cx: &Cx,
    ) -> Option<Fact> {
        let (teams, loadouts) = match self.current.take() {
            Some(round) => (round.teams, round.loadouts),
            None => {
                let teams = on_teams(identity);
                let loadouts = self.take_spawned_before(&teams);
                (teams, loadouts)
            }
        };
        let Some(winner @ 0..=2) = winner else {
            cx.skip("tdm_round_end without a valid Winner: no round fact");
            return None;
        };
        self.played = self.played.saturating_add(1);
        let roster = |team: i32| -> Vec<PlayerKey> {
            teams
                .iter()
                .filter(|(_, t)| **t == team)
                .map(|(key, _)| key.clone())
                .collect()
        };
        Some(Fact::Round(RoundFact {
            round: self.played,
            team1: roster(1),
            team2: roster(2),
            winner,
            score1,
            score2,
            map,
            loadouts,
        }))
    }
}

/// Connected humans on team 1 or 2.
fn on_teams(identity: &Identity) -> BTreeMap<PlayerKey, i32> {
    identity
        .teams()
        .into_iter()
        .filter(|(_, team)| matches!(team, 1 | 2))
        .collect()
}
