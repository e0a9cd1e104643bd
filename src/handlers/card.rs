//! The structured side of an announcement: a result card (match results,
//! survival milestones and records) as data. Handlers fill it from game and
//! store data, unescaped; the bot renders it as a Discord embed (or as plain
//! text where a channel refuses embeds), so no Discord type appears here.

use crate::model::Mode;

/// Whose colour a card wears.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    /// USC won (team 1).
    Usc,
    /// The Man won (team 2).
    TheMan,
    /// A team mode's draw, or no winner.
    Draw,
    /// Free-for-all results.
    Neutral,
    /// Survival and Zombrains news.
    Coop,
}

impl Tone {
    /// The tone of a team's win: 1 USC, 2 The Man, anything else a draw.
    pub fn of_team(team: Option<i32>) -> Tone {
        match team {
            Some(1) => Tone::Usc,
            Some(2) => Tone::TheMan,
            _ => Tone::Draw,
        }
    }
}

/// One player's line in a card's table.
#[derive(Debug, Clone, PartialEq)]
pub struct CardRow {
    pub name: String,
    /// 1 USC, 2 The Man; `None` outside team modes.
    pub team: Option<i32>,
    pub kills: Option<i64>,
    pub deaths: Option<i64>,
    /// The stored conservative rating (mu − 3σ) after the match and its
    /// change over the match; `None` when the match changed no rating of theirs.
    pub rating: Option<(f64, f64)>,
}

/// A result card: what happened, on which server, with the top players.
#[derive(Debug, Clone, PartialEq)]
pub struct Card {
    pub server: String,
    pub mode: Mode,
    pub map: Option<String>,
    /// The headline: the game's own banner ("SPAS WINS", "DRAW") as it is,
    /// or bman's words where the game sends none ("Wave 10 reached").
    pub banner: String,
    /// Lines under the banner: the score ("USC 5 – 3 The Man"), captures…
    pub lines: Vec<String>,
    /// The top players, best first (team modes: grouped by team).
    pub rows: Vec<CardRow>,
    /// Players not in `rows`.
    pub more: usize,
    pub tone: Tone,
    /// How long the match ran, when bman saw it start.
    pub duration_ms: Option<i64>,
    /// When it happened, unix ms.
    pub time_ms: i64,
}
