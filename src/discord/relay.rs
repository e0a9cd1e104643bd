//! The two-way chat relay. Game to Discord: a [`Handler`] that turns the
//! chat lines of relaying servers into [`Topic::Chat`] announcements (the bot
//! escapes and posts them through the outbox). Discord to game: a message in
//! a bridged channel, from a user allowed to relay, becomes a `say` on every
//! server bridged to that channel.

use super::admin::{say_command, Caller, Permissions};
use super::routes::Routes;
use crate::config::Settings;
use crate::handler::{Announcement, Context, Delivery, Handler, Topic};
use crate::model::Fact;
use tracing::{debug, warn};

/// Relays players' chat lines (not the server's own messages, which include
/// what the bot itself said) from servers with a chat channel.
pub struct GameChatRelay {
    routes: Routes,
}

impl GameChatRelay {
    pub fn new(settings: &Settings) -> GameChatRelay {
        GameChatRelay {
            routes: Routes::new(settings),
        }
    }
}

#[async_trait::async_trait]
impl Handler for GameChatRelay {
    fn name(&self) -> &str {
        "chat relay"
    }

    fn wants(&self, delivery: &Delivery) -> bool {
        self.routes.relays(&delivery.event.server.name)
            && delivery
                .facts
                .iter()
                .any(|f| matches!(&f.fact, Fact::Chat(c) if c.player.is_some()))
    }

    async fn handle(&self, ctx: &Context, delivery: &Delivery) {
        for fact in &delivery.facts {
            let Fact::Chat(chat) = &fact.fact else {
                continue;
            };
            if chat.player.is_none() {
                continue;
            }
            let name = chat.name.as_deref().unwrap_or("someone");
            let team = if chat.team.unwrap_or(0) > 0 {
                " (team)"
            } else {
                ""
            };
            ctx.announce(Announcement {
                server: Some(delivery.event.server.name.clone()),
                topic: Topic::Chat,
                text: format!(
                    "[{}] {name}{team}: {}",
                    delivery.event.server.name, chat.message
                ),
            });
        }
    }
}

/// Sends a Discord message from a bridged channel to the game. Returns how
/// many servers got it, or why it was not relayed.
pub async fn to_game(
    ctx: &Context,
    routes: &Routes,
    permissions: &Permissions,
    channel_id: u64,
    caller: &Caller,
    text: &str,
) -> Result<usize, String> {
    let servers = routes.bridged(channel_id);
    if servers.is_empty() {
        return Err("not a bridged channel".into());
    }
    if !permissions.may_relay(caller) {
        debug!(
            user_id = caller.user_id,
            "not relaying a message from a user without relay rights"
        );
        return Err("not allowed to relay".into());
    }
    let line = say_command(&format!("[Discord] {}: {}", caller.user_name, text))?;
    let mut sent = 0;
    for server in servers {
        let Some(handle) = ctx.server(&server) else {
            continue;
        };
        match handle.command(&line).await {
            Ok(_) => sent += 1,
            Err(e) => warn!(server, "chat relay to the game failed: {e}"),
        }
    }
    Ok(sent)
}
