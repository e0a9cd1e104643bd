//! The game modes bman records, named as the original tool's `[bm]` keys
//! (plus `zbr`, which the original tool did not know).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Deathmatch: 1-vs-1 TrueSkill per human kill.
    Dm,
    /// Team deathmatch: Elo per kill, two-team TrueSkill per round.
    Tdm,
    /// Capture the flag: two-team TrueSkill per capture.
    Ctf,
    /// Survival: waves of NPCs, no skill rating.
    Svl,
    /// Zombrains (GameModeID 3): co-op against zombies, no skill rating.
    Zbr,
}

impl Mode {
    pub const ALL: [Mode; 5] = [Mode::Dm, Mode::Tdm, Mode::Ctf, Mode::Svl, Mode::Zbr];

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Dm => "dm",
            Mode::Tdm => "tdm",
            Mode::Ctf => "ctf",
            Mode::Svl => "svl",
            Mode::Zbr => "zbr",
        }
    }

    /// Co-op modes against NPCs (survival, zombrains): no skill rating, but
    /// NPC kills, deaths, best wave and matches.
    pub(crate) fn is_coop(self) -> bool {
        matches!(self, Mode::Svl | Mode::Zbr)
    }

    /// Modes whose players have two teams.
    pub(crate) fn is_team_mode(self) -> bool {
        matches!(self, Mode::Tdm | Mode::Ctf)
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Mode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Mode::ALL
            .into_iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| format!("unknown mode {s:?}; expected one of dm, tdm, ctf, svl, zbr"))
    }
}
