//! What the evaluation walks: the rated contests of a mode's facts, with
//! players numbered in order of appearance (cheap to index per system).

use crate::model::{Fact, FactRecord, Mode, PlayerKey};
use crate::ratings::TeamOutcome;
use std::collections::HashMap;

/// One thing a rating system can learn from.
#[derive(Debug, Clone, PartialEq)]
pub enum Game {
    /// A deathmatch kill: a contest the killer won.
    Duel { winner: u32, loser: u32 },
    /// A team deathmatch kill: not a contest (rounds are), but Elo learns
    /// from it, as the original tool rated team deathmatch.
    Skirmish { killer: u32, victim: u32 },
    /// A round or a capture between teams `a` and `b`. `learn_elo`: Elo
    /// learns from it too (capture the flag, whose kills are not rated).
    Teams {
        a: Vec<u32>,
        b: Vec<u32>,
        outcome: TeamOutcome,
        learn_elo: bool,
    },
}

impl Game {
    /// Scored: every game but a skirmish.
    pub fn is_contest(&self) -> bool {
        !matches!(self, Game::Skirmish { .. })
    }

    /// A drawn round: counted, not scored.
    pub fn is_draw(&self) -> bool {
        matches!(
            self,
            Game::Teams {
                outcome: TeamOutcome::Draw,
                ..
            }
        )
    }
}

/// Player numbers by key, and the keys by number.
#[derive(Debug, Default)]
pub struct Players {
    ids: HashMap<PlayerKey, u32>,
    keys: Vec<PlayerKey>,
}

impl Players {
    pub fn id(&mut self, key: &PlayerKey) -> u32 {
        if let Some(&id) = self.ids.get(key) {
            return id;
        }
        let id = u32::try_from(self.keys.len()).unwrap_or(u32::MAX);
        self.ids.insert(key.clone(), id);
        self.keys.push(key.clone());
        id
    }

    pub fn keys(&self) -> &[PlayerKey] {
        &self.keys
    }

    fn ids(&mut self, keys: &[PlayerKey]) -> Vec<u32> {
        keys.iter().map(|k| self.id(k)).collect()
    }
}

/// The game a fact is for the rating systems, rated by the rules of
/// src/rater.rs: humans only, no teamkills or suicides, no empty teams.
pub fn game(record: &FactRecord, players: &mut Players) -> Option<Game> {
    let fact = record.fact.humans_only()?;
    match (&*fact, record.mode) {
        (Fact::Kill(k), Mode::Dm | Mode::Tdm) if !k.teamkill && k.killer != k.victim => {
            let (killer, victim) = (players.id(&k.killer), players.id(&k.victim));
            Some(if record.mode == Mode::Dm {
                Game::Duel {
                    winner: killer,
                    loser: victim,
                }
            } else {
                Game::Skirmish { killer, victim }
            })
        }
        (Fact::Round(r), _) if !r.team1.is_empty() && !r.team2.is_empty() => Some(Game::Teams {
            a: players.ids(&r.team1),
            b: players.ids(&r.team2),
            outcome: match r.winner {
                1 => TeamOutcome::Team1Wins,
                2 => TeamOutcome::Team2Wins,
                _ => TeamOutcome::Draw,
            },
            learn_elo: false,
        }),
        (Fact::Capture(c), _) if !c.scoring.is_empty() && !c.other.is_empty() => {
            Some(Game::Teams {
                a: players.ids(&c.scoring),
                b: players.ids(&c.other),
                outcome: TeamOutcome::Team1Wins,
                learn_elo: true,
            })
        }
        _ => None,
    }
}
