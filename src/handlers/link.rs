//! `!link CODE` in any server's chat: redeems a code from `/link`, binding
//! the Discord user who asked for it to the speaker's game profile
//! (`crate::links`). Only a resolved human speaker counts: the server's own
//! messages and bots never link. The answer goes to the game chat, quoted
//! for the console and without the code; the bot DMs the Discord user.

use crate::handlers::{bang_command, say_line, Context, Delivery, Handler};
use crate::links::{self, Moment};
use crate::model::{now_ms, AccountLink, PlayerKey};
use tracing::{info, warn};

/// The code after `!link` (case-insensitive command; empty when none was given).
pub fn parse(message: &str) -> Option<&str> {
    let (word, code) = bang_command(message)?;
    word.eq_ignore_ascii_case("link").then_some(code)
}

/// The built-in `!link` handler.
pub(crate) struct LinkRedeemer {
    /// Answers are cut like the chat commands' (`[chat_commands] max_reply_chars`).
    max_reply_chars: usize,
}

impl LinkRedeemer {
    pub fn new(settings: &crate::config::Settings) -> LinkRedeemer {
        LinkRedeemer {
            max_reply_chars: settings.chat_commands.max_reply_chars,
        }
    }
}

impl LinkRedeemer {
    /// The human speaker (with the name they chat under) and the code.
    fn request(delivery: &Delivery) -> Option<(PlayerKey, String, &str)> {
        let chat = delivery.chat()?;
        let code = parse(&chat.message)?;
        let key = chat.player.clone().filter(|p| !p.is_bot())?;
        let name = chat.name.clone().unwrap_or_else(|| key.id.clone());
        Some((key, name, code))
    }

    /// What to say in the game for `code` typed by `player`.
    async fn answer(
        ctx: &Context,
        server: &str,
        player: PlayerKey,
        name: &str,
        code: &str,
    ) -> String {
        if code.is_empty() {
            return "Type !link CODE with the code /link gives you in our Discord".into();
        }
        let request = match ctx.links.redeem(code, &player, Moment::now()) {
            Ok(request) => request,
            Err(refusal) => {
                info!(server, player = %player.id, "!link refused: {refusal:?}");
                return format!("{name}: {}", refusal.message());
            }
        };
        let link = AccountLink {
            user_id: request.user_id,
            user_name: request.user_name,
            player,
            player_name: name.to_string(),
            linked_ms: now_ms(),
        };
        let (stored, at) = (link.clone(), server.to_string());
        match ctx
            .with_store(move |store| links::link(store, &stored, &at))
            .await
        {
            Ok(_) => {
                info!(server, player = %link.player.id, user_id = link.user_id, "linked a Discord user to a game profile");
                let answer = format!("{name} is now linked to Discord user {}", link.user_name);
                ctx.links.confirm(link);
                answer
            }
            Err(e) => {
                warn!(server, "could not store a link: {e}");
                format!("{name}: linking failed; get a new code with /link and try again")
            }
        }
    }
}

#[async_trait::async_trait]
impl Handler for LinkRedeemer {
    fn name(&self) -> &str {
        "link"
    }

    fn wants(&self, delivery: &Delivery) -> bool {
        Self::request(delivery).is_some()
    }

    async fn handle(&self, ctx: &Context, delivery: &Delivery) {
        let Some((player, name, code)) = Self::request(delivery) else {
            return;
        };
        let server = &delivery.server().name;
        let text = Self::answer(ctx, server, player, &name, code).await;
        let Some(handle) = ctx.server(server) else {
            return;
        };
        if let Err(e) = handle.command(&say_line(&text, self.max_reply_chars)).await {
            warn!(server = %server, "!link answer not delivered: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_command_and_its_code() {
        assert_eq!(parse("!link ab3def"), Some("ab3def"));
        assert_eq!(parse("  !LINK   AB3DEF  "), Some("AB3DEF"));
        assert_eq!(parse("!link"), Some(""));
        assert_eq!(parse("!linked x"), None);
        assert_eq!(parse("link AB3DEF"), None);
        assert_eq!(parse("!rank"), None);
    }
}
