//! Result cards (see `handlers::card`) rendered for Discord: an embed with
//! the title (server · mode · map), the game's banner, the score, an aligned
//! table of the top players in a code block, the team's colour, the match
//! duration and a timestamp; and the same as plain text for channels that
//! refuse embeds. The live board (`board`) renders through the same
//! [`Panel`] and [`table`].

use super::reply::escape;
use crate::handlers::{Card, CardRow, Tone};
use crate::views::table::{fit, table, Cell};
use poise::serenity_prelude as serenity;

/// Widest player name in a table, in terminal columns (longer ones end in "…").
pub(crate) const NAME_WIDTH: usize = 16;
/// Widest map name and game banner shown: the game's text has no limit, an
/// embed's title has 256 characters and its description 4,096.
pub(crate) const TEXT_WIDTH: usize = 64;

/// A rendered embed, independent of serenity's builder so it can be
/// measured (Discord's 6,000 characters per message), compared in tests and
/// turned into plain text.
#[derive(Debug, Clone, PartialEq)]
pub struct Panel {
    /// Escaped markdown.
    pub title: String,
    /// Escaped markdown; tables are code blocks.
    pub description: String,
    pub colour: u32,
    /// Plain text (Discord renders no markdown in footers).
    pub footer: Option<String>,
    /// Shown by Discord next to the footer, in the reader's time zone.
    pub timestamp_ms: Option<i64>,
}

impl Panel {
    /// Characters Discord counts against a message's 6,000.
    pub fn chars(&self) -> usize {
        self.title.chars().count()
            + self.description.chars().count()
            + self.footer.as_deref().map_or(0, |f| f.chars().count())
    }

    pub fn to_embed(&self) -> serenity::CreateEmbed {
        let mut embed = serenity::CreateEmbed::new()
            .title(&self.title)
            .description(&self.description)
            .colour(self.colour);
        if let Some(footer) = &self.footer {
            embed = embed.footer(serenity::CreateEmbedFooter::new(footer));
        }
        let timestamp = self
            .timestamp_ms
            .and_then(|ms| serenity::Timestamp::from_millis(ms).ok());
        if let Some(t) = timestamp {
            embed = embed.timestamp(t);
        }
        embed
    }

    /// The same content as a message text, for channels that refuse embeds.
    pub fn to_text(&self) -> String {
        let mut text = format!("**{}**\n{}", self.title, self.description);
        if let Some(footer) = &self.footer {
            text.push_str(&format!("\n{}", escape(footer)));
        }
        text
    }
}

/// Embed colours: USC blue, The Man red, grey for draws, gold for
/// free-for-all results, green for co-op news.
pub(crate) fn colour(tone: Tone) -> u32 {
    match tone {
        Tone::Usc => 0x2F80ED,
        Tone::TheMan => 0xEB5757,
        Tone::Draw => 0x95A5A6,
        Tone::Neutral => 0xF2C94C,
        Tone::Coop => 0x27AE60,
    }
}

/// "12m 30s", "1h 02m", "45s".
pub(crate) fn duration(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    match (s / 3600, s % 3600 / 60, s % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, s) => format!("{m}m {s:02}s"),
        (h, m, _) => format!("{h}h {m:02}m"),
    }
}

/// A card's title: "server · MODE · map".
fn title(card: &Card) -> String {
    let mut title = format!("{} · {}", card.server, card.mode.as_str().to_uppercase());
    if let Some(map) = card.map.as_deref().filter(|m| !m.is_empty()) {
        title.push_str(&format!(" · {}", fit(map, TEXT_WIDTH)));
    }
    escape(&title)
}

/// The result card as an embed.
pub fn result_panel(card: &Card) -> Panel {
    let mut description = format!("**{}**", escape(&fit(&card.banner, TEXT_WIDTH)));
    for line in &card.lines {
        description.push('\n');
        description.push_str(&escape(line));
    }
    if !card.rows.is_empty() {
        description.push_str(&format!("\n```\n{}```", player_table(&card.rows)));
    }
    if card.more > 0 {
        description.push_str(&format!("\n+{} more", card.more));
    }
    Panel {
        title: title(card),
        description,
        colour: colour(card.tone),
        footer: card.duration_ms.map(|ms| format!("⏱ {}", duration(ms))),
        timestamp_ms: Some(card.time_ms),
    }
}

/// The players of a card: a header per team in team modes (else "Player"),
/// then name, K/D, rating after and its change.
fn player_table(rows: &[CardRow]) -> String {
    let rated = rows.iter().any(|r| r.rating.is_some());
    let header = |label: &str| {
        let mut cells = vec![Cell::left(label), Cell::right("K/D")];
        if rated {
            cells.extend([Cell::right("Rating"), Cell::left("")]);
        }
        cells
    };
    let mut lines = Vec::with_capacity(rows.len() + 2);
    let mut team = None;
    for (i, row) in rows.iter().enumerate() {
        if i == 0 || row.team != team {
            team = row.team;
            lines.push(header(match team {
                Some(1) => "USC",
                Some(2) => "The Man",
                _ if i == 0 => "Player",
                _ => "Others",
            }));
        }
        let kd = match (row.kills, row.deaths) {
            (None, None) => "–".to_string(),
            (k, d) => format!("{}/{}", k.unwrap_or(0), d.unwrap_or(0)),
        };
        let mut cells = vec![
            Cell::left(inert(&fit(&row.name, NAME_WIDTH))),
            Cell::right(kd),
        ];
        if rated {
            match row.rating {
                Some((after, change)) => {
                    cells.push(Cell::right(format!("{after:.1}")));
                    cells.push(Cell::left(arrow(change)));
                }
                None => cells.extend([Cell::right("–"), Cell::left("")]),
            }
        }
        lines.push(cells);
    }
    table(&lines)
}

/// "▲1.20", "▼0.40", "=0.00".
fn arrow(change: f64) -> String {
    let shown = format!("{:.2}", change.abs());
    if shown == "0.00" {
        format!("={shown}")
    } else if change > 0.0 {
        format!("▲{shown}")
    } else {
        format!("▼{shown}")
    }
}

/// Text that cannot end a code block or break a line: backticks become ʹ,
/// control characters spaces. Nothing else needs escaping inside a code block.
pub(crate) fn inert(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '`' => 'ʹ',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Mode;

    fn row(name: &str, team: Option<i32>, k: i64, d: i64, rating: Option<(f64, f64)>) -> CardRow {
        CardRow {
            name: name.into(),
            team,
            kills: Some(k),
            deaths: Some(d),
            rating,
        }
    }

    #[test]
    fn endless_game_text_still_fits_an_embed() {
        let huge = "M".repeat(10_000);
        let card = Card {
            server: "s".repeat(40),
            mode: Mode::Dm,
            map: Some(huge.clone()),
            banner: huge,
            lines: Vec::new(),
            rows: vec![row(&"n".repeat(500), None, 1, 1, None)],
            more: 0,
            tone: Tone::Neutral,
            duration_ms: None,
            time_ms: 0,
        };
        let panel = result_panel(&card);
        assert!(panel.title.chars().count() <= 256, "{}", panel.title);
        assert!(panel.description.chars().count() <= 4_096);
    }

    #[test]
    fn a_team_card_renders_banner_once_score_table_and_colour() {
        let card = Card {
            server: "eu-tdm".into(),
            mode: Mode::Tdm,
            map: Some("Fields".into()),
            banner: "USC WINS".into(),
            lines: vec!["USC 5 – 3 The Man · 8 rounds".into()],
            rows: vec![
                row("Spas", Some(1), 12, 3, Some((22.7, 1.2))),
                row("漢字の名前", Some(1), 7, 5, Some((19.0, 0.0))),
                row("name with ``` fence", Some(2), 9, 4, Some((18.04, -0.4))),
                row("*bold* @everyone", Some(2), 1, 9, None),
            ],
            more: 6,
            tone: Tone::Usc,
            duration_ms: Some(750_000),
            time_ms: 1_700_000_000_000,
        };
        let panel = result_panel(&card);
        println!("{}\n{}\n{:?}", panel.title, panel.description, panel.footer);
        assert_eq!(panel.title, "eu\\-tdm · TDM · Fields");
        assert_eq!(panel.description.matches("USC WINS").count(), 1);
        assert_eq!(panel.colour, 0x2F80ED);
        assert_eq!(panel.footer.as_deref(), Some("⏱ 12m 30s"));
        let block = panel.description.split("```").nth(1).unwrap();
        assert_eq!(
            panel.description.matches("```").count(),
            2,
            "fence neutralised"
        );
        let lines: Vec<&str> = block.trim_matches('\n').lines().collect();
        assert_eq!(lines[0], "USC                K/D  Rating");
        assert_eq!(lines[1], "Spas              12/3    22.7  ▲1.20");
        assert_eq!(lines[2], "漢字の名前         7/5    19.0  =0.00");
        assert_eq!(lines[3], "The Man            K/D  Rating");
        assert_eq!(lines[4], "name with ʹʹʹ f…   9/4    18.0  ▼0.40");
        // Inside the code block game text is shown as it is: it cannot format.
        assert_eq!(lines[5], "*bold* @everyone   1/9       –");
        assert!(panel.description.ends_with("\n+6 more"));
        let text = panel.to_text();
        assert!(text.starts_with("**eu\\-tdm · TDM · Fields**\n**USC WINS**\n"));
    }
}
