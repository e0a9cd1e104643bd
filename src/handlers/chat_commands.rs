//! In-game chat commands, the players' most wanted feature: `!rank` (or
//! `!rating`), `!top`, `!stats NAME` and `!help`, answered in the game chat
//! with the server's mode. A built-in [`Handler`], so it runs off the ingest
//! path. Only humans trigger it (never the server's own messages or bots),
//! each player gets one answer per cooldown, and every reply is quoted for the
//! console and cut to fit the chat line.

use crate::config::{ConfigError, SectionReader};
use crate::handlers::{Context, Delivery, Handler};
use crate::model::Mode;
use crate::model::{LeaderboardQuery, MinGames, PlayerKey, PlayerSummary};
use crate::store::{Store, StoreResult};
use crate::views::{lookup, mode_line, LineStyle, Lookup};
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tracing::{debug, warn};

/// The `[chat_commands]` section: in-game `!rank`, `!top`, `!stats`, `!help`.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatCommandSettings {
    pub enabled: bool,
    /// Per player: one answered command per this many seconds.
    pub cooldown_secs: u64,
    /// Commands turned off, without the `!` (e.g. `stats`).
    pub disabled: Vec<String>,
    /// Replies are cut to this many characters (the game's chat line is short).
    pub max_reply_chars: usize,
}

impl Default for ChatCommandSettings {
    fn default() -> Self {
        ChatCommandSettings {
            enabled: true,
            cooldown_secs: 10,
            disabled: Vec::new(),
            max_reply_chars: 120,
        }
    }
}

impl ChatCommandSettings {
    /// The keys of `[chat_commands]`.
    pub(crate) const KEYS: &'static [&'static str] =
        &["enabled", "cooldown_secs", "disabled", "max_reply_chars"];

    pub(crate) fn read(c: &SectionReader) -> Result<ChatCommandSettings, ConfigError> {
        let defaults = ChatCommandSettings::default();
        Ok(ChatCommandSettings {
            enabled: c.flag("enabled", defaults.enabled)?,
            cooldown_secs: c
                .parse("cooldown_secs", "a whole number of seconds")?
                .unwrap_or(defaults.cooldown_secs),
            disabled: c
                .text("disabled")
                .unwrap_or("")
                .split(',')
                .map(|s| s.trim().trim_start_matches('!').to_ascii_lowercase())
                .filter(|s| !s.is_empty())
                .collect(),
            max_reply_chars: c
                .parse("max_reply_chars", "a whole number of characters")?
                .unwrap_or(defaults.max_reply_chars)
                .max(20),
        })
    }
}

/// The commands, as typed after `!`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Rank,
    Top,
    Stats,
    Help,
}

impl Command {
    /// Splits `!name args` into a command and its argument.
    pub fn parse(message: &str) -> Option<(Command, &str)> {
        let (word, arg) = super::bang_command(message)?;
        let command = match word.to_ascii_lowercase().as_str() {
            "rank" | "rating" => Command::Rank,
            "top" => Command::Top,
            "stats" => Command::Stats,
            "help" => Command::Help,
            _ => return None,
        };
        Some((command, arg))
    }

    /// The configuration name (`disabled = stats`); `!rating` is `rank`.
    pub fn key(self) -> &'static str {
        match self {
            Command::Rank => "rank",
            Command::Top => "top",
            Command::Stats => "stats",
            Command::Help => "help",
        }
    }
}

fn player_line(store: &dyn Store, player: &PlayerSummary, mode: Mode) -> StoreResult<String> {
    let Some(profile) = store.profile(&player.key)? else {
        return Ok(format!("No stats for {} yet", player.name));
    };
    let name = &profile.player.name;
    Ok(match profile.in_mode(mode) {
        Some((stats, rank)) => {
            format!("{name}: {}", mode_line(mode, &stats, rank, LineStyle::Chat))
        }
        None => format!("{name} has no {mode} games yet"),
    })
}

/// The reply to one command from `speaker` on a server of `mode` (`None`: say nothing).
pub fn reply(
    store: &dyn Store,
    mode: Mode,
    speaker: &PlayerSummary,
    command: Command,
    arg: &str,
) -> StoreResult<String> {
    Ok(match command {
        Command::Rank => player_line(store, speaker, mode)?,
        Command::Help => "Commands: !rank, !top, !stats NAME, !link CODE, !help".to_string(),
        Command::Top => {
            let rows = store.leaderboard(&LeaderboardQuery::ranked(mode, 5, MinGames::CHAT))?;
            if rows.is_empty() {
                format!("No {mode} ratings yet")
            } else {
                let entries: Vec<String> = rows
                    .iter()
                    .map(|r| match mode {
                        Mode::Zbr => {
                            format!(
                                "{}. {} ({} kills)",
                                r.rank, r.player.name, r.stats.npc_kills
                            )
                        }
                        Mode::Svl => {
                            format!("{}. {} (wave {})", r.rank, r.player.name, r.stats.best_wave)
                        }
                        _ => format!("{}. {} {:.1}", r.rank, r.player.name, r.stats.rating()),
                    })
                    .collect();
                format!("Top {mode}: {}", entries.join(" "))
            }
        }
        Command::Stats if arg.is_empty() => "Usage: !stats NAME".to_string(),
        Command::Stats => match lookup(store, arg)? {
            Lookup::Found(player) => player_line(store, &player, mode)?,
            Lookup::NotFound => format!("No player matches {arg}"),
            Lookup::Ambiguous(candidates) => {
                let names: Vec<&str> = candidates.iter().take(4).map(|c| c.name.as_str()).collect();
                format!("Several players match {arg}: {}", names.join(", "))
            }
        },
    })
}

/// The built-in chat command handler.
pub(crate) struct ChatCommands {
    settings: ChatCommandSettings,
    /// Servers where commands are on.
    servers: HashSet<String>,
    last_answer: Mutex<HashMap<(String, PlayerKey), Instant>>,
}

impl ChatCommands {
    pub fn new(settings: &crate::config::Settings) -> ChatCommands {
        ChatCommands {
            settings: settings.chat_commands.clone(),
            servers: settings
                .servers
                .iter()
                .filter(|s| s.chat_commands)
                .map(|s| s.name.clone())
                .collect(),
            last_answer: Mutex::new(HashMap::new()),
        }
    }

    /// The speaker (a human, resolved by the tracker, with the name they chat
    /// under) and the command, if this is one to answer.
    fn command<'a>(&self, delivery: &'a Delivery) -> Option<(PlayerSummary, Command, &'a str)> {
        if !self.settings.enabled || !self.servers.contains(&delivery.server().name) {
            return None;
        }
        let chat = delivery.chat()?;
        let key = chat.player.clone().filter(|p| !p.is_bot())?;
        let (command, arg) = Command::parse(&chat.message)?;
        if self.settings.disabled.iter().any(|d| d == command.key()) {
            return None;
        }
        let name = chat.name.clone().unwrap_or_else(|| key.id.clone());
        Some((PlayerSummary { key, name }, command, arg))
    }

    /// True when the player may get an answer now (and starts their cooldown).
    fn take_turn(&self, server: &str, player: &PlayerKey) -> bool {
        let mut last = self.last_answer.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let cooldown = Duration::from_secs(self.settings.cooldown_secs);
        let key = (server.to_string(), player.clone());
        if last
            .get(&key)
            .is_some_and(|t| now.duration_since(*t) < cooldown)
        {
            return false;
        }
        last.retain(|_, t| now.duration_since(*t) < cooldown);
        last.insert(key, now);
        true
    }
}

#[async_trait::async_trait]
impl Handler for ChatCommands {
    fn name(&self) -> &str {
        "chat-commands"
    }

    fn wants(&self, delivery: &Delivery) -> bool {
        self.command(delivery).is_some()
    }

    async fn handle(&self, ctx: &Context, delivery: &Delivery) {
        let Some((speaker, command, arg)) = self.command(delivery) else {
            return;
        };
        let server = delivery.server();
        if !self.take_turn(&server.name, &speaker.key) {
            debug!(server = %server.name, player = %speaker.key.id, "chat command ignored: cooldown");
            return;
        }
        let store = ctx.store.clone();
        let (mode, arg_owned) = (server.mode, arg.to_string());
        let text = tokio::task::spawn_blocking(move || {
            reply(store.as_ref(), mode, &speaker, command, &arg_owned)
        })
        .await;
        let text = match text {
            Ok(Ok(text)) => text,
            Ok(Err(e)) => {
                warn!(server = %server.name, "chat command !{}: {e}", command.key());
                return;
            }
            Err(e) => {
                warn!(server = %server.name, "chat command !{} failed: {e}", command.key());
                return;
            }
        };
        let Some(handle) = ctx.server(&server.name) else {
            return;
        };
        let line = super::say_line(&text, self.settings.max_reply_chars);
        match handle.command(&line).await {
            Ok(_) => ctx.metrics.chat_command_answered(command.key()),
            Err(e) => warn!(server = %server.name, "chat command reply not delivered: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::views::clip;

    #[test]
    fn parses_commands_and_arguments() {
        assert_eq!(Command::parse("!rank"), Some((Command::Rank, "")));
        assert_eq!(Command::parse("  !RATING  "), Some((Command::Rank, "")));
        assert_eq!(
            Command::parse("!stats  Bob \"x\" "),
            Some((Command::Stats, "Bob \"x\""))
        );
        assert_eq!(Command::parse("!top 5"), Some((Command::Top, "5")));
        assert_eq!(Command::parse("rank"), None);
        assert_eq!(Command::parse("!kick all"), None);
        assert_eq!(Command::parse("!"), None);
    }

    #[test]
    fn replies_fit_the_chat_line() {
        assert_eq!(clip("short", 10), "short");
        let long = clip(&"x".repeat(300), 120);
        assert_eq!(long.chars().count(), 120);
        assert!(long.ends_with('…'));
    }
}
