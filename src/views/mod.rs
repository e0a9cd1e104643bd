//! What the CLI shows, and what the bot and the game chat share with it:
//! player lookup, leaderboard, profile, a player's line per mode, the
//! comparison of two players (`/matchup`) and the audit log, as text for
//! people and JSON for scripts, over the store's queries.

mod audit;
mod columns;
mod matchup;
pub(crate) mod table;

pub use audit::{audit_json, audit_table};
pub(crate) use audit::{printable, utc_time};
pub use matchup::{default_mode, matchup, percent, Matchup, Side};

use crate::model::Mode;
use crate::model::{LeaderboardRow, ModeStats, PlayerKey, PlayerProfile, PlayerSummary};
use crate::store::{Store, StoreResult};
use columns::Shown;
use serde_json::{json, Value};
use table::Align;

/// Display columns a name gets in tables (longer names are cut with `…`).
const NAME_COLUMNS: usize = 20;

/// The result of looking a player up by profile id or name part.
#[derive(Debug, Clone, PartialEq)]
pub enum Lookup {
    Found(PlayerSummary),
    NotFound,
    /// Several players match; the candidates, best first.
    Ambiguous(Vec<PlayerSummary>),
}

/// Finds one player: a platform and profile id (`Steam 123`, as the
/// candidates are listed), an exact profile id, a unique name part, or an
/// exact (case-insensitive) name among several partial matches.
pub fn lookup(store: &dyn Store, query: &str) -> StoreResult<Lookup> {
    let query = query.trim();
    if query.is_empty() {
        return Ok(Lookup::NotFound);
    }
    if let Some(key) = PlayerKey::from_qualified(query) {
        if let Some(profile) = store.profile(&key)? {
            return Ok(Lookup::Found(profile.player));
        }
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
        "matches": s.matches, "escapes": s.escapes, "last_updated_ms": s.last_updated_ms,
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

/// Leaderboard rows as a table with the columns that mean something in
/// `mode` ([`columns::shown`]), aligned by display width, names cut to
/// [`NAME_COLUMNS`] (the caller says what an empty page means).
pub fn leaderboard_table(mode: Mode, rows: &[LeaderboardRow]) -> String {
    let stats = columns::shown(mode);
    let header: Vec<(&str, Align)> = [("#", Align::Right), ("name", Align::Left)]
        .into_iter()
        .chain(stats.iter().map(|s| (s.title(), Align::Right)))
        .collect();
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            [
                r.rank.to_string(),
                table::fit(&printable(&r.player.name), NAME_COLUMNS),
            ]
            .into_iter()
            .chain(stats.iter().map(|s| s.cell(&r.stats)))
            .collect()
        })
        .collect();
    table::render(&header, &cells)
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
        "level": p.level,
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
    if let Some(level) = p.level {
        out.push_str(&format!("level: {level}\n"));
    }
    out.push_str(&format!("names: {}\n", p.names.join(", ")));
    for (mode, s, rank) in &p.modes {
        let line = mode_line(*mode, s, *rank, LineStyle::Terminal);
        out.push_str(&format!("{mode}: {line}\n"));
    }
    out
}

/// Who reads a [`mode_line`]: the terminal (`bman profile`), Discord
/// (`/rating`, `/profile`: markdown) or the game chat (`!rank`, `!stats`:
/// compact, as the chat line is short).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LineStyle {
    Terminal,
    Discord,
    Chat,
}

/// A player's rank and stats in `mode` on one line, without their name or a
/// line break, e.g. `#4  rating 21.30 (mu 27.10, sigma 1.94)  K/D 120/80  games 212`,
/// `#4 · rating **21.30** (mu 27.10, σ 1.94) · K/D 120/80 · games 212` or
/// `#4 in dm, rating 21.3, K/D 120/80`. The terminal and Discord show the
/// stats of [`columns::shown`]; the game chat a shorter choice.
pub(crate) fn mode_line(mode: Mode, s: &ModeStats, rank: usize, style: LineStyle) -> String {
    use LineStyle::{Chat, Discord, Terminal};
    use Shown::*;
    let shown: &[Shown] = match (mode, style) {
        (_, Terminal | Discord) => columns::shown(mode),
        (Mode::Zbr, Chat) => &[NpcKills, NpcDeaths, Escapes, Won],
        (Mode::Svl, Chat) => &[BestWave, NpcKills, NpcDeaths],
        (Mode::Tdm, Chat) => &[Rating, Elo, KillsDeaths],
        (_, Chat) => &[Rating, KillsDeaths],
    };
    let item = |shown: Shown| match (shown, style) {
        (Rating, Terminal) => format!(
            "rating {:.2} (mu {:.2}, sigma {:.2})",
            s.rating(),
            s.mu,
            s.sigma
        ),
        (Rating, Discord) => format!(
            "rating **{:.2}** (mu {:.2}, σ {:.2})",
            s.rating(),
            s.mu,
            s.sigma
        ),
        (Rating, Chat) => format!("rating {:.1}", s.rating()),
        (Elo, Terminal) => format!("elo {:.1}", s.elo),
        (NpcKills, Terminal) => format!("npc kills {}", s.npc_kills),
        (NpcDeaths, Terminal) => format!("npc deaths {}", s.npc_deaths),
        (NpcKills, Chat) => format!("{} NPC kills", s.npc_kills),
        (NpcDeaths, Chat) => format!("{} deaths", s.npc_deaths),
        (Escapes, Chat) => format!("{} escapes", s.escapes),
        (Won, Chat) => format!("won {}/{}", s.wins, s.matches),
        (Won, _) => format!("won {} of {} matches", s.wins, s.matches),
        (other, _) => format!("{} {}", other.title(), other.cell(s)),
    };
    let (head, separator) = match style {
        Terminal => (format!("#{rank}"), "  "),
        Discord => (format!("#{rank}"), " · "),
        Chat => (format!("#{rank} in {mode}"), ", "),
    };
    std::iter::once(head)
        .chain(shown.iter().map(|&what| item(what)))
        .collect::<Vec<_>>()
        .join(separator)
}

/// Several players matched: one line each with what tells them apart
/// (platform and id, the modes they played with their games, last seen).
pub fn candidates_text(store: &dyn Store, candidates: &[PlayerSummary]) -> StoreResult<String> {
    let mut out = String::new();
    for c in candidates {
        out.push_str(&format!(
            "  {} ({} {})",
            c.name,
            c.key.store_name(),
            c.key.id
        ));
        if let Some(p) = store.profile(&c.key)? {
            let modes: Vec<String> = p
                .modes
                .iter()
                .map(|(mode, s, _)| format!("{mode} {} games", s.games))
                .collect();
            if !modes.is_empty() {
                out.push_str(&format!(": {}", modes.join(", ")));
            }
            out.push_str(&format!("; last seen {}", utc_time(p.last_seen_ms)));
        }
        out.push('\n');
    }
    Ok(out)
}

/// Cuts `s` to at most `width` characters, marking a cut with `…` (tables,
/// chat replies and Discord fields all have a width).
pub(crate) fn clip(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        s.to_string()
    } else {
        s.chars()
            .take(width.saturating_sub(1))
            .chain(std::iter::once('…'))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mode_lines_per_style() {
        let s = ModeStats {
            mu: 27.104,
            sigma: 1.935,
            volatility: 0.06,
            elo: 1531.6,
            games: 212,
            kills: 120,
            deaths: 80,
            wins: 9,
            losses: 4,
            draws: 1,
            captures: 3,
            best_wave: 12,
            npc_kills: 340,
            npc_deaths: 7,
            matches: 15,
            escapes: 2,
            last_updated_ms: 0,
        };
        let dm = "#4  rating 21.30 (mu 27.10, sigma 1.94)  K/D 120/80  games 212";
        let discord = "#4 · rating **21.30** (mu 27.10, σ 1.94)";
        for (mode, style, line) in [
            (Mode::Dm, LineStyle::Terminal, dm.to_string()),
            (
                Mode::Tdm,
                LineStyle::Terminal,
                "#4  rating 21.30 (mu 27.10, sigma 1.94)  elo 1531.6  W/L/D 9/4/1  K/D 120/80"
                    .into(),
            ),
            (
                Mode::Ctf,
                LineStyle::Terminal,
                "#4  rating 21.30 (mu 27.10, sigma 1.94)  captures 3  W/L 9/4".into(),
            ),
            (
                Mode::Svl,
                LineStyle::Terminal,
                "#4  best wave 12  npc kills 340  npc deaths 7  matches 15".into(),
            ),
            (
                Mode::Zbr,
                LineStyle::Terminal,
                "#4  npc kills 340  npc deaths 7  escapes 2  won 9 of 15 matches".into(),
            ),
            (
                Mode::Dm,
                LineStyle::Discord,
                format!("{discord} · K/D 120/80 · games 212"),
            ),
            (
                Mode::Tdm,
                LineStyle::Discord,
                format!("{discord} · elo 1532 · W/L/D 9/4/1 · K/D 120/80"),
            ),
            (
                Mode::Ctf,
                LineStyle::Discord,
                format!("{discord} · captures 3 · W/L 9/4"),
            ),
            (
                Mode::Svl,
                LineStyle::Discord,
                "#4 · best wave 12 · NPC kills 340 · deaths 7 · matches 15".into(),
            ),
            (
                Mode::Zbr,
                LineStyle::Discord,
                "#4 · NPC kills 340 · deaths 7 · escapes 2 · won 9 of 15 matches".into(),
            ),
            (
                Mode::Dm,
                LineStyle::Chat,
                "#4 in dm, rating 21.3, K/D 120/80".into(),
            ),
            (
                Mode::Tdm,
                LineStyle::Chat,
                "#4 in tdm, rating 21.3, elo 1532, K/D 120/80".into(),
            ),
            (
                Mode::Ctf,
                LineStyle::Chat,
                "#4 in ctf, rating 21.3, K/D 120/80".into(),
            ),
            (
                Mode::Svl,
                LineStyle::Chat,
                "#4 in svl, best wave 12, 340 NPC kills, 7 deaths".into(),
            ),
            (
                Mode::Zbr,
                LineStyle::Chat,
                "#4 in zbr, 340 NPC kills, 7 deaths, 2 escapes, won 9/15".into(),
            ),
        ] {
            assert_eq!(mode_line(mode, &s, 4, style), line, "{mode} {style:?}");
        }
    }

    #[test]
    fn leaderboard_tables_per_mode_aligned_by_width() {
        use crate::model::PlayerKey;
        let stats = ModeStats {
            games: 40,
            kills: 25,
            deaths: 15,
            wins: 3,
            losses: 2,
            draws: 1,
            captures: 4,
            best_wave: 9,
            npc_kills: 120,
            npc_deaths: 6,
            matches: 5,
            escapes: 1,
            ..ModeStats::initial(&Default::default())
        };
        let names = [
            "ｗｅｉｒｄ",
            "Plain",
            "a name much longer than twenty columns",
            "Ｘ\nnewline",
        ];
        let rows: Vec<LeaderboardRow> = names
            .iter()
            .enumerate()
            .map(|(i, name)| LeaderboardRow {
                rank: i + 1,
                player: PlayerSummary {
                    key: PlayerKey::new(0, i.to_string()),
                    name: name.to_string(),
                },
                stats,
            })
            .collect();
        for (mode, header) in [
            (Mode::Dm, "#  name                  rating    K/D  games"),
            (
                Mode::Tdm,
                "#  name                  rating   elo  W/L/D    K/D",
            ),
            (Mode::Ctf, "#  name                  rating  captures  W/L"),
            (
                Mode::Svl,
                "#  name                  best wave  NPC kills  deaths  matches",
            ),
            (
                Mode::Zbr,
                "#  name                  NPC kills  deaths  escapes  won",
            ),
        ] {
            let table = leaderboard_table(mode, &rows);
            let lines: Vec<&str> = table.lines().collect();
            assert_eq!(lines[0], header, "{mode}:\n{table}");
            assert_eq!(lines.len(), 5, "{mode}: a name's line break stays escaped");
            for line in &lines[1..] {
                assert_eq!(table::width(line), table::width(header), "{mode}: {line:?}");
            }
            assert!(lines[3].contains("a name much longer …"), "{}", lines[3]);
            assert!(lines[4].contains("Ｘ\\nnewline"), "{}", lines[4]);
            if mode == Mode::Dm {
                assert!(!table.contains("1000"), "no Elo in deathmatch:\n{table}");
                assert!(lines[1].ends_with("0.00  25/15     40"), "{}", lines[1]);
            }
        }
    }
}
