//! What the CLI (and later the bot) shows: player lookup, leaderboard and
//! profile, as tables for people and JSON for scripts, over the store's queries.

use crate::mode::Mode;
use crate::store::{LeaderboardRow, ModeStats, PlayerProfile, PlayerSummary, Store, StoreResult};
use serde_json::{json, Value};

/// The result of looking a player up by profile id or name part.
#[derive(Debug, Clone, PartialEq)]
pub enum Lookup {
    Found(PlayerSummary),
    NotFound,
    /// Several players match; the candidates, best first.
    Ambiguous(Vec<PlayerSummary>),
}

/// Finds one player: an exact profile id, a unique name part, or an exact
/// (case-insensitive) name among several partial matches.
pub fn lookup(store: &dyn Store, query: &str) -> StoreResult<Lookup> {
    let query = query.trim();
    if query.is_empty() {
        return Ok(Lookup::NotFound);
    }
    let mut found = store.find_players(query, 10)?;
    Ok(match found.len() {
        0 => Lookup::NotFound,
        1 => Lookup::Found(found.remove(0)),
        _ => {
            let exact: Vec<_> = found
                .iter()
                .filter(|p| p.key.id == query || p.name.to_lowercase() == query.to_lowercase())
                .cloned()
                .collect();
            if exact.len() == 1 {
                Lookup::Found(exact[0].clone())
            } else {
                Lookup::Ambiguous(found)
            }
        }
    })
}

fn stats_json(mode: Mode, s: &ModeStats) -> serde_json::Map<String, Value> {
    let v = json!({
        "mode": mode.as_str(),
        "mu": s.mu, "sigma": s.sigma, "rating": s.rating(), "elo": s.elo,
        "games": s.games, "kills": s.kills, "deaths": s.deaths,
        "wins": s.wins, "losses": s.losses, "draws": s.draws, "captures": s.captures,
        "best_wave": s.best_wave, "npc_kills": s.npc_kills, "npc_deaths": s.npc_deaths,
        "matches": s.matches, "last_updated_ms": s.last_updated_ms,
    });
    match v {
        Value::Object(map) => map,
        _ => unreachable!("json! of an object literal"),
    }
}

/// Leaderboard rows as a JSON array (numbers stay numbers, full precision).
pub fn leaderboard_json(mode: Mode, rows: &[LeaderboardRow]) -> Value {
    Value::Array(
        rows.iter()
            .map(|row| {
                let mut obj = stats_json(mode, &row.stats);
                obj.insert("rank".into(), json!(row.rank));
                obj.insert("name".into(), json!(row.player.name));
                obj.insert("store".into(), json!(row.player.key.store));
                obj.insert("profile_id".into(), json!(row.player.key.id));
                Value::Object(obj)
            })
            .collect(),
    )
}

/// Leaderboard rows as a table.
pub fn leaderboard_table(mode: Mode, rows: &[LeaderboardRow]) -> String {
    if rows.is_empty() {
        return format!("No {mode} players match (try --all).\n");
    }
    let mut out = String::new();
    if mode == Mode::Svl {
        out.push_str(&format!(
            "{:>4}  {:<24} {:>9} {:>9} {:>10} {:>7}\n",
            "#", "name", "best wave", "npc kills", "npc deaths", "matches"
        ));
        for r in rows {
            let s = &r.stats;
            out.push_str(&format!(
                "{:>4}  {:<24} {:>9} {:>9} {:>10} {:>7}\n",
                r.rank,
                clip(&r.player.name, 24),
                s.best_wave,
                s.npc_kills,
                s.npc_deaths,
                s.matches
            ));
        }
        return out;
    }
    out.push_str(&format!(
        "{:>4}  {:<24} {:>7} {:>6} {:>6} {:>7} {:>6} {:>6} {:>11}\n",
        "#", "name", "rating", "mu", "sigma", "elo", "kills", "deaths", "W/L/D"
    ));
    for r in rows {
        let s = &r.stats;
        out.push_str(&format!(
            "{:>4}  {:<24} {:>7.2} {:>6.2} {:>6.2} {:>7.1} {:>6} {:>6} {:>11}\n",
            r.rank,
            clip(&r.player.name, 24),
            s.rating(),
            s.mu,
            s.sigma,
            s.elo,
            s.kills,
            s.deaths,
            format!("{}/{}/{}", s.wins, s.losses, s.draws)
        ));
    }
    out
}

/// A profile as JSON.
pub fn profile_json(p: &PlayerProfile) -> Value {
    json!({
        "name": p.player.name,
        "store": p.player.key.store,
        "platform": p.player.key.store_name(),
        "profile_id": p.player.key.id,
        "names": p.names,
        "color": p.color, "premium": p.premium, "hat": p.hat,
        "clan_id": p.clan_id, "clan_tag": p.clan_tag,
        "first_seen_ms": p.first_seen_ms, "last_seen_ms": p.last_seen_ms,
        "modes": p.modes.iter().map(|(mode, stats, rank)| {
            let mut obj = stats_json(*mode, stats);
            obj.insert("rank".into(), json!(rank));
            Value::Object(obj)
        }).collect::<Vec<_>>(),
    })
}

/// A profile for people.
pub fn profile_text(p: &PlayerProfile) -> String {
    let mut out = format!(
        "{} ({} {})\n",
        p.player.name,
        p.player.key.store_name(),
        p.player.key.id
    );
    if let Some(tag) = &p.clan_tag {
        out.push_str(&format!("clan: {tag}\n"));
    }
    out.push_str(&format!("names: {}\n", p.names.join(", ")));
    for (mode, s, rank) in &p.modes {
        out.push_str(&match mode {
            Mode::Svl => format!(
                "{mode}: #{rank}  best wave {}  npc kills {}  npc deaths {}  matches {}\n",
                s.best_wave, s.npc_kills, s.npc_deaths, s.matches
            ),
            _ => format!(
                "{mode}: #{rank}  rating {:.2} (mu {:.2}, sigma {:.2})  elo {:.1}  K/D {}/{}  W/L/D {}/{}/{}  captures {}\n",
                s.rating(), s.mu, s.sigma, s.elo, s.kills, s.deaths, s.wins, s.losses, s.draws, s.captures
            ),
        });
    }
    out
}

/// Candidates of an ambiguous lookup, one per line.
pub fn candidates_text(candidates: &[PlayerSummary]) -> String {
    candidates
        .iter()
        .map(|c| format!("  {} ({} {})\n", c.name, c.key.store_name(), c.key.id))
        .collect()
}

fn clip(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        s.to_string()
    } else {
        s.chars()
            .take(width - 1)
            .chain(std::iter::once('…'))
            .collect()
    }
}
