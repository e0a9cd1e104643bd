//! What means something in each mode. A deathmatch player has no team, so no
//! wins or Elo (both stay at their start values); survival has no rating.
//! Tables, `/rating`, `/profile` and `bman profile` show the same stats per
//! mode, from [`shown`].

use crate::model::{Mode, ModeStats};

/// One stat a table column or a line item shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shown {
    Rating,
    Elo,
    KillsDeaths,
    Games,
    WinsLossesDraws,
    WinsLosses,
    Captures,
    BestWave,
    NpcKills,
    NpcDeaths,
    Escapes,
    Won,
    Matches,
}

/// The stats of `mode`, in the order shown.
pub(crate) fn shown(mode: Mode) -> &'static [Shown] {
    use Shown::*;
    match mode {
        Mode::Dm => &[Rating, KillsDeaths, Games],
        Mode::Tdm => &[Rating, Elo, WinsLossesDraws, KillsDeaths],
        Mode::Ctf => &[Rating, Captures, WinsLosses],
        Mode::Svl => &[BestWave, NpcKills, NpcDeaths, Matches],
        Mode::Zbr => &[NpcKills, NpcDeaths, Escapes, Won],
    }
}

impl Shown {
    /// The column title in tables.
    pub(crate) fn title(self) -> &'static str {
        match self {
            Shown::Rating => "rating",
            Shown::Elo => "elo",
            Shown::KillsDeaths => "K/D",
            Shown::Games => "games",
            Shown::WinsLossesDraws => "W/L/D",
            Shown::WinsLosses => "W/L",
            Shown::Captures => "captures",
            Shown::BestWave => "best wave",
            Shown::NpcKills => "NPC kills",
            Shown::NpcDeaths => "deaths",
            Shown::Escapes => "escapes",
            Shown::Won => "won",
            Shown::Matches => "matches",
        }
    }

    /// The table cell: the bare value.
    pub(crate) fn cell(self, s: &ModeStats) -> String {
        match self {
            Shown::Rating => format!("{:.2}", s.rating()),
            Shown::Elo => format!("{:.0}", s.elo),
            Shown::KillsDeaths => format!("{}/{}", s.kills, s.deaths),
            Shown::Games => s.games.to_string(),
            Shown::WinsLossesDraws => format!("{}/{}/{}", s.wins, s.losses, s.draws),
            Shown::WinsLosses => format!("{}/{}", s.wins, s.losses),
            Shown::Captures => s.captures.to_string(),
            Shown::BestWave => s.best_wave.to_string(),
            Shown::NpcKills => s.npc_kills.to_string(),
            Shown::NpcDeaths => s.npc_deaths.to_string(),
            Shown::Escapes => s.escapes.to_string(),
            Shown::Won => format!("{}/{}", s.wins, s.matches),
            Shown::Matches => s.matches.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_mode_shows_only_what_it_records() {
        use Shown::*;
        // Deathmatch has no teams: no Elo, no wins; co-op modes have no rating.
        for mode in [Mode::Dm] {
            for not in [Elo, WinsLossesDraws, WinsLosses, Captures] {
                assert!(!shown(mode).contains(&not), "{mode} shows {not:?}");
            }
        }
        assert!(!shown(Mode::Ctf).contains(&Elo), "ctf kills move no Elo");
        for mode in [Mode::Svl, Mode::Zbr] {
            assert!(!shown(mode).contains(&Rating), "{mode} has no rating");
        }
        for mode in [Mode::Dm, Mode::Tdm, Mode::Ctf] {
            assert_eq!(shown(mode)[0], Rating, "{mode} leads with the rating");
        }
    }
}
