//! Match results and survival wave milestones as announcements, each with a
//! result card (see `card`) and a one-line text for the log. The announcer
//! listens to the writer's feed of *committed* facts, so a result is only
//! announced once it is in the store, and its rating changes are the stored
//! ones. The Discord bot posts the cards to channels; without it the texts
//! appear in the log.

use crate::handlers::{Announcement, Card, CardRow, Context, Tone, Topic};
use crate::model::Mode;
use crate::model::{
    Fact, FactRecord, LeaderboardQuery, MatchFact, PlayerKey, StoredFact, WaveFact,
};
use crate::store::Store;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use tokio::sync::broadcast::error::RecvError;
use tracing::warn;

/// Most rating changes listed in one match result's text.
const MAX_RATING_LINES: usize = 8;
/// Most players in a result card's table (the rest are counted).
const CARD_ROWS: usize = 8;

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
            let (announcements, back) = tokio::task::spawn_blocking(move || {
                let announcements = announcer.announcements(store.as_ref(), &fact);
                (announcements, announcer)
            })
            .await
            .expect("announcements do not panic");
            announcer = back;
            for announcement in announcements {
                ctx.announce(announcement);
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

/// What a survival wave was news for.
#[derive(Debug, Clone, PartialEq)]
enum WaveNews {
    Milestone { wave: i64, players: usize },
    Record { wave: i64 },
}

impl WaveNews {
    fn text(&self, server: &str) -> String {
        match self {
            WaveNews::Milestone { wave, players } => {
                format!("{server}: wave {wave} reached with {players} players")
            }
            WaveNews::Record { wave } => format!("{server}: new survival record, wave {wave}!"),
        }
    }

    fn announcement(&self, record: &FactRecord) -> Announcement {
        let (banner, lines) = match self {
            WaveNews::Milestone { wave, players } => (
                format!("Wave {wave} reached"),
                vec![format!("{players} players in the game")],
            ),
            WaveNews::Record { wave } => (
                format!("New survival record: wave {wave}!"),
                vec!["The community's best wave so far".to_string()],
            ),
        };
        result(
            record,
            self.text(&record.server),
            Card {
                server: record.server.clone(),
                mode: record.mode,
                map: None,
                banner,
                lines,
                rows: Vec::new(),
                more: 0,
                tone: Tone::Coop,
                duration_ms: None,
                time_ms: record.time_ms,
            },
        )
    }
}

/// A `Results` announcement about the record's server.
fn result(record: &FactRecord, text: String, card: Card) -> Announcement {
    Announcement {
        server: Some(record.server.clone()),
        topic: Topic::Results,
        text,
        card: Some(card),
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

    /// The announcements one committed fact makes.
    pub fn announcements(&mut self, store: &dyn Store, stored: &StoredFact) -> Vec<Announcement> {
        let record = &stored.record;
        match &record.fact {
            Fact::Match(m) => {
                let tally = record
                    .match_id
                    .as_ref()
                    .and_then(|id| self.tallies.remove(id))
                    .unwrap_or_default();
                vec![match_result(store, record, m, &tally)]
            }
            Fact::Wave(w) => self
                .wave_news(record.match_id.as_deref(), w)
                .iter()
                .map(|news| news.announcement(record))
                .collect(),
            fact => {
                if let Some(id) = &record.match_id {
                    self.tallies.entry(id.clone()).or_default().add(fact);
                }
                Vec::new()
            }
        }
    }

    fn wave_news(&mut self, match_id: Option<&str>, wave: &WaveFact) -> Vec<WaveNews> {
        let mut news = Vec::new();
        if self.milestone_waves > 0
            && wave.wave > 0
            && wave.wave % i64::from(self.milestone_waves) == 0
        {
            news.push(WaveNews::Milestone {
                wave: wave.wave,
                players: wave.players.len(),
            });
        }
        if wave.wave > self.record && !wave.players.is_empty() {
            if self.record == 0 {
                self.first_record_match = match_id.map(str::to_owned);
            }
            let first_match =
                self.first_record_match.is_some() && self.first_record_match.as_deref() == match_id;
            if self.record > 0 && !first_match {
                news.push(WaveNews::Record { wave: wave.wave });
            }
            self.record = wave.wave;
        }
        news
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

/// How a match ended, in the game's words when it sent a banner.
fn outcome(mode: Mode, m: &MatchFact) -> String {
    match (mode, m.winner_team, m.winner_text.as_deref()) {
        (Mode::Svl, _, _) => format!("reached wave {}", m.last_wave.unwrap_or(0)),
        // The game's own banner ("SHAIGRO WINS", "DRAW"), shown as it is.
        (_, _, Some(text)) if !text.is_empty() => text.to_string(),
        (_, Some(0), _) => "a draw".to_string(),
        (_, Some(team @ (1 | 2)), _) => format!("{} wins", team_name(team)),
        _ => "no winner".to_string(),
    }
}

/// A finished match as text ("SERVER (mode) on MAP: WINNER. USC 5 – 3 The
/// Man after 8 rounds. Top: A 12/3, B 9/4. Rating: A 21.3 (+1.20), B 18.0
/// (−0.40)") and as a card with the same numbers.
fn match_result(
    store: &dyn Store,
    record: &FactRecord,
    m: &MatchFact,
    tally: &MatchTally,
) -> Announcement {
    let (server, mode) = (record.server.as_str(), record.mode);
    let names: HashMap<&PlayerKey, String> = m
        .players
        .iter()
        .map(|p| (&p.key, name_of(store, &p.key)))
        .collect();
    let name = |key: &PlayerKey| {
        names
            .get(key)
            .cloned()
            .unwrap_or_else(|| name_of(store, key))
    };
    let winner = outcome(mode, m);
    let summary = team_summary(mode, tally, &name);

    let mut players: Vec<_> = m.players.iter().collect();
    players.sort_by_key(|p| {
        (
            p.kills.is_none(),
            std::cmp::Reverse(p.kills),
            p.deaths,
            name(&p.key),
        )
    });
    let moves = rating_moves(store, mode, m);
    let after: HashMap<&PlayerKey, (f64, f64)> = moves
        .iter()
        .map(|mv| (&mv.key, (mv.after, mv.after - mv.before)))
        .collect();

    // "dm (dm)" says nothing twice: the mode is shown when the name is not it.
    let title = match server == mode.as_str() {
        true => server.to_string(),
        false => format!("{server} ({mode})"),
    };
    let map = m.map.as_deref().unwrap_or("an unknown map");
    let mut parts = vec![format!("{title} on {map}: {winner}")];
    if let Some((line, _)) = &summary {
        parts.push(line.clone());
    }
    let top: Vec<String> = players
        .iter()
        .filter(|p| p.kills.is_some())
        .take(3)
        .map(|p| {
            let (k, d) = (p.kills.unwrap_or(0), p.deaths.unwrap_or(0));
            format!("{} {k}/{d}", name(&p.key))
        })
        .collect();
    if !top.is_empty() {
        parts.push(format!("Top: {}", top.join(", ")));
    }
    if !moves.is_empty() {
        let lines: Vec<String> = moves
            .iter()
            .take(MAX_RATING_LINES)
            .map(|mv| {
                let change = mv.after - mv.before;
                format!("{} {:.1} ({change:+.2})", name(&mv.key), mv.after)
            })
            .collect();
        parts.push(format!("Rating: {}", lines.join(", ")));
    }

    let mut rows: Vec<CardRow> = players
        .iter()
        .take(CARD_ROWS)
        .map(|p| CardRow {
            name: name(&p.key),
            team: p.team.filter(|_| mode.is_team_mode()),
            kills: p.kills,
            deaths: p.deaths,
            rating: after.get(&p.key).copied(),
        })
        .collect();
    if mode.is_team_mode() {
        // USC above The Man, as the score reads; best first within each.
        rows.sort_by_key(|r| r.team.map_or(3, |t| t.clamp(1, 3)));
    }
    let mut banner = winner;
    if let Some(first) = banner.get(..1) {
        banner = first.to_uppercase() + &banner[1..];
    }
    let card = Card {
        server: server.to_string(),
        mode,
        map: m.map.clone(),
        banner,
        lines: summary.map(|(_, lines)| lines).unwrap_or_default(),
        more: players.len() - rows.len(),
        rows,
        tone: match mode {
            _ if mode.is_coop() => Tone::Coop,
            _ if mode.is_team_mode() => Tone::of_team(m.winner_team),
            _ => Tone::Neutral,
        },
        duration_ms: m
            .started_ms
            .map(|start| record.time_ms - start)
            .filter(|ms| *ms >= 1000),
        time_ms: record.time_ms,
    };
    result(record, parts.join(". "), card)
}

/// The team score, as one clause for the text and as the card's lines:
/// "USC 5 – 3 The Man after 8 rounds" (TDM) or "captures USC 3 – 1 The Man,
/// most by A (2)" (CTF).
fn team_summary(
    mode: Mode,
    tally: &MatchTally,
    name: &dyn Fn(&PlayerKey) -> String,
) -> Option<(String, Vec<String>)> {
    match mode {
        Mode::Tdm if tally.rounds > 0 => {
            let (a, b) = tally.round_scores?;
            let rounds = tally.rounds;
            Some((
                format!("USC {a} – {b} The Man after {rounds} rounds"),
                vec![format!("USC {a} – {b} The Man · {rounds} rounds")],
            ))
        }
        Mode::Ctf if tally.captures[1] + tally.captures[2] > 0 => {
            let score = format!("USC {} – {} The Man", tally.captures[1], tally.captures[2]);
            let mut text = format!("captures {score}");
            let mut lines = vec![format!("Captures: {score}")];
            let best = tally
                .carriers
                .iter()
                .max_by_key(|(key, n)| (**n, std::cmp::Reverse(*key)));
            if let Some((key, n)) = best {
                text.push_str(&format!(", most by {} ({n})", name(key)));
                lines.push(format!("Most captures: {} ({n})", name(key)));
            }
            Some((text, lines))
        }
        _ => None,
    }
}

/// One player's conservative TrueSkill rating (mu − 3σ) before and after a match.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RatingMove {
    pub key: PlayerKey,
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
                key: p.key.clone(),
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

    impl MatchAnnouncer {
        fn wave_texts(
            &mut self,
            server: &str,
            match_id: Option<&str>,
            w: &WaveFact,
        ) -> Vec<String> {
            let news = self.wave_news(match_id, w);
            news.iter().map(|n| n.text(server)).collect()
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
