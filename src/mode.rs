//! The four game modes bman rates, named as the original tool's `[bm]` keys.

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
}

impl Mode {
    pub const ALL: [Mode; 4] = [Mode::Dm, Mode::Tdm, Mode::Ctf, Mode::Svl];

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Dm => "dm",
            Mode::Tdm => "tdm",
            Mode::Ctf => "ctf",
            Mode::Svl => "svl",
        }
    }

    /// Modes whose players have two teams.
    pub fn is_team_mode(self) -> bool {
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
            .ok_or_else(|| format!("unknown mode {s:?}; expected one of dm, tdm, ctf, svl"))
    }
}
