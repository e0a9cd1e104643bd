//! Match results and survival wave milestones as announcements. The
//! announcer listens to the writer's feed of *committed* facts, so a result
//! is only announced once it is in the store, and its rating changes are the
//! stored ones. The Discord bot posts the announcements to channels; without
//! it they appear in the log.

use crate::handlers::{Announcement, Context, Topic};
use crate::model::Mode;
use crate::model::{Fact, LeaderboardQuery, MatchFact, PlayerKey, StoredFact, WaveFact};
use crate::store::Store;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use tokio::sync::broadcast::error::RecvError;
use tracing::warn;

/// Most rating changes listed in one match result.
const MAX_RATING_LINES: usize = 8;

/// Team names as the game shows them.
pub(crate) fn team_name(team: i32) -> &'static str {
    match team {
        1 => "USC",
        2 => "The Man",
        _ => "nobody",
    }
}

/// What a match's rounds and captures added up to (from its committed facts).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct MatchTally {
    /// The team scores after the last round (the game reports running totals).
    pub round_scores: Option<(i64, i64)>,
    pub rounds: i64,
    /// Captures by scoring team (index 1 and 2).
    pub captures: [i64; 3],
    /// Captures by human carrier.
    pub carriers: BTreeMap<PlayerKey, i64>,
}

impl MatchTally {
    fn add(&mut self, fact: &Fact) {
        match fact {
            Fact::Round(r) => {
                self.rounds += 1;
                if let (Some(a), Some(b)) = (r.score1, r.score2) {
                    self.round_scores = Some((a, b));
                }
            }
            Fact::Capture(c) => {
                if let Some(n) = self.captures.get_mut(c.scoring_team.clamp(0, 2) as usize) {
                    *n += 1;
                }
                if let Some(carrier) = &c.carrier {
                    *self.carriers.entry(carrier.clone()).or_default() += 1;
                }
            }
            _ => {}
        }
    }
}

/// Announces finished matches (with rating changes and the team summary),
/// every `milestone_waves`-th survival wave, and new best-wave records.
pub(crate) struct MatchAnnouncer {
    milestone_waves: u32,
    /// The community's best survival wave (all servers).
    record: i64,
    /// On a new store, the match that set the first record: all its waves
    /// raise the record quietly ("record, wave 2!" in the first game ever
    /// played would be noise, not news).
    first_record_match: Option<String>,
    /// Rounds and captures per match id, until the match's result arrives.
    tallies: HashMap<String, MatchTally>,
}

/// Starts the announcer on `ctx`'s committed-fact feed.
pub fn spawn(ctx: Arc<Context>, milestone_waves: u32) -> tokio::task::JoinHandle<()> {
    let mut committed = ctx.committed();
    tokio::spawn(async move {
        let store = ctx.store.clone();
        let record = tokio::task::spawn_blocking(move || best_wave(store.as_ref()))
            .await
            .unwrap_or(0);
        let mut announcer = MatchAnnouncer::new(milestone_waves, record);
        loop {
            let fact = match committed.recv().await {
                Ok(fact) => fact,
                Err(RecvError::Lagged(n)) => {
                    warn!("announcements fell behind the writer; {n} results not announced");
                    continue;
                }
                Err(RecvError::Closed) => break,
            };
            let store = ctx.store.clone();
            let (texts, back) = tokio::task::spawn_blocking(move || {
                let texts = announcer.texts(store.as_ref(), &fact);
                (texts, announcer)
            })
            .await
            .expect("announcement texts do not panic");
            announcer = back;
            for (server, text) in texts {
                ctx.announce(Announcement {
                    server: Some(server),
                    topic: Topic::Results,
                    text,
                });
            }
        }
    })
}

/// The best survival wave in the store (0 when there is none).
fn best_wave(store: &dyn Store) -> i64 {
    let query = LeaderboardQuery::everyone(Mode::Svl, 1);
    match store.leaderboard(&query) {
        Ok(rows) => rows.first().map_or(0, |r| r.stats.best_wave),
        Err(e) => {
            warn!("could not read the survival record, counting from 0: {e}");
            0
        }
    }
}

impl MatchAnnouncer {
    pub fn new(milestone_waves: u32, record: i64) -> MatchAnnouncer {
        MatchAnnouncer {
            milestone_waves,
            record,
            first_record_match: None,
            tallies: HashMap::new(),
        }
    }

    /// The announcements one committed fact makes, as (server, text).
    pub fn texts(&mut self, store: &dyn Store, stored: &StoredFact) -> Vec<(String, String)> {
        let record = &stored.record;
        let texts = match &record.fact {
            Fact::Match(m) => {
                let tally = record
                    .match_id
                    .as_ref()
                    .and_then(|id| self.tallies.remove(id))
                    .unwrap_or_default();
                vec![match_text(store, &record.server, record.mode, m, &tally)]
            }
            Fact::Wave(w) => self.wave_texts(&record.server, record.match_id.as_deref(), w),
            fact => {
                if let Some(id) = &record.match_id {
                    self.tallies.entry(id.clone()).or_default().add(fact);
                }
                Vec::new()
            }
        };
        texts
            .into_iter()
            .map(|t| (record.server.clone(), t))
            .collect()
    }

    fn wave_texts(&mut self, server: &str, match_id: Option<&str>, wave: &WaveFact) -> Vec<String> {
        let mut texts = Vec::new();
        if self.milestone_waves > 0
            && wave.wave > 0
            && wave.wave % i64::from(self.milestone_waves) == 0
        {
            texts.push(format!(
                "{server}: wave {} reached with {} players",
                wave.wave,
                wave.players.len()
            ));
        }
        if wave.wave > self.record && !wave.players.is_empty() {
            if self.record == 0 {
                self.first_record_match = match_id.map(str::to_owned);
            }
            let first_match =
                self.first_record_match.is_some() && self.first_record_match.as_deref() == match_id;
            if self.record > 0 && !first_match {
                texts.push(format!(
                    "{server}: new survival record, wave {}!",
                    wave.wave
                ));
            }
            self.record = wave.wave;
        }
        texts
    }
}

/// A player's display name (the profile id when the store has none).
fn name_of(store: &dyn Store, key: &PlayerKey) -> String {
    store
        .profile(key)
        .ok()
        .flatten()
        .map_or_else(|| key.id.clone(), |p| p.player.name)
}

/// "SERVER (mode) on MAP: WINNER wins. USC 5 – 3 The Man after 8 rounds.
/// Top: A 12/3, B 9/4. Rating: A 21.3 (+1.20), B 18.0 (−0.40)".
pub(crate) fn match_text(
    store: &dyn Store,
    server: &str,
    mode: Mode,
    m: &MatchFact,
    tally: &MatchTally,
) -> String {
    let map = m.map.as_deref().unwrap_or("an unknown map");
    let winner = match (mode, m.winner_team, m.winner_text.as_deref()) {
        (Mode::Svl, _, _) => format!("reached wave {}", m.last_wave.unwrap_or(0)),
        // The game's own banner ("SHAIGRO WINS", "DRAW"), shown as it is.
        (_, _, Some(text)) if !text.is_empty() => text.to_string(),
        (_, Some(0), _) => "a draw".to_string(),
        (_, Some(team @ (1 | 2)), _) => format!("{} wins", team_name(team)),
        _ => "no winner".to_string(),
    };
    // "dm (dm)" says nothing twice: the mode is shown when the name is not it.
    let title = match server == mode.as_str() {
        true => server.to_string(),
        false => format!("{server} ({mode})"),
    };
    let mut parts = vec![format!("{title} on {map}: {winner}")];
    if let Some(summary) = team_summary(store, mode, tally) {
        parts.push(summary);
    }
    let mut players: Vec<_> = m.players.iter().filter(|p| p.kills.is_some()).collect();
    players.sort_by_key(|p| std::cmp::Reverse((p.kills, std::cmp::Reverse(p.deaths))));
    let top: Vec<String> = players
        .iter()
        .take(3)
        .map(|p| {
            let name = name_of(store, &p.key);
            format!("{name} {}/{}", p.kills.unwrap_or(0), p.deaths.unwrap_or(0))
        })
        .collect();
    if !top.is_empty() {
        parts.push(format!("Top: {}", top.join(", ")));
    }
    let moves = rating_moves(store, mode, m);
    if !moves.is_empty() {
        let lines: Vec<String> = moves
            .iter()
            .take(MAX_RATING_LINES)
            .map(|mv| format!("{} {:.1} ({:+.2})", mv.name, mv.after, mv.after - mv.before))
            .collect();
        parts.push(format!("Rating: {}", lines.join(", ")));
    }
    parts.join(". ")
}

/// "USC 5 – 3 The Man after 8 rounds" (TDM) or "captures USC 3 – 1 The Man,
/// most by A (2)" (CTF).
fn team_summary(store: &dyn Store, mode: Mode, tally: &MatchTally) -> Option<String> {
    match mode {
        Mode::Tdm if tally.rounds > 0 => {
            let (a, b) = tally.round_scores?;
            Some(format!(
                "USC {a} – {b} The Man after {} rounds",
                tally.rounds
            ))
        }
        Mode::Ctf if tally.captures[1] + tally.captures[2] > 0 => {
            let mut text = format!(
                "captures USC {} – {} The Man",
                tally.captures[1], tally.captures[2]
            );
            let best = tally
                .carriers
                .iter()
                .max_by_key(|(key, n)| (**n, std::cmp::Reverse(*key)));
            if let Some((key, n)) = best {
                text.push_str(&format!(", most by {} ({n})", name_of(store, key)));
            }
            Some(text)
        }
        _ => None,
    }
}

/// One player's conservative TrueSkill rating (mu − 3σ) before and after a match.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RatingMove {
    pub name: String,
    pub before: f64,
    pub after: f64,
}

/// The match's players whose stored rating changed during it, biggest gain first.
pub(crate) fn rating_moves(store: &dyn Store, mode: Mode, m: &MatchFact) -> Vec<RatingMove> {
    let (Some(started), false) = (m.started_ms, mode.is_coop()) else {
        return Vec::new();
    };
    let mut moves: Vec<RatingMove> = m
        .players
        .iter()
        .filter_map(|p| {
            let history = store.rating_history(&p.key, mode).ok()?;
            let during: Vec<_> = history.iter().filter(|pt| pt.time_ms >= started).collect();
            let (first, last) = (during.first()?, during.last()?);
            let before_mu = first.change.mu - first.change.delta_mu;
            let before_sigma = first.change.sigma - first.change.delta_sigma;
            Some(RatingMove {
                name: name_of(store, &p.key),
                before: before_mu - 3.0 * before_sigma,
                after: last.change.mu - 3.0 * last.change.sigma,
            })
        })
        .collect();
    moves.sort_by(|a, b| (b.after - b.before).total_cmp(&(a.after - a.before)));
    moves
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wave(n: i64, players: usize) -> WaveFact {
        WaveFact {
            wave: n,
            enemies: None,
            chests: None,
            chest_price: None,
            players: (0..players)
                .map(|i| PlayerKey {
                    store: 0,
                    id: i.to_string(),
                })
                .collect(),
        }
    }

    #[test]
    fn milestones_and_community_records() {
        let mut a = MatchAnnouncer::new(5, 6);
        assert_eq!(
            a.wave_texts("s1", Some("m1"), &wave(5, 2)),
            ["s1: wave 5 reached with 2 players"]
        );
        assert!(
            a.wave_texts("s1", Some("m1"), &wave(6, 2)).is_empty(),
            "equal to the record is no record"
        );
        assert_eq!(
            a.wave_texts("s2", Some("m1"), &wave(7, 1)),
            ["s2: new survival record, wave 7!"]
        );
        assert!(
            a.wave_texts("s1", Some("m1"), &wave(7, 3)).is_empty(),
            "the record is the community's"
        );
        assert!(
            a.wave_texts("s1", Some("m1"), &wave(9, 0)).is_empty(),
            "nobody reached it"
        );
        let mut fresh = MatchAnnouncer::new(5, 0);
        assert!(
            fresh.wave_texts("s1", Some("m1"), &wave(1, 2)).is_empty(),
            "the first record is quiet"
        );
        assert!(
            fresh.wave_texts("s1", Some("m1"), &wave(2, 2)).is_empty(),
            "the whole first match is quiet"
        );
        assert_eq!(
            fresh.wave_texts("s1", Some("m2"), &wave(3, 2)),
            ["s1: new survival record, wave 3!"]
        );
    }
}
