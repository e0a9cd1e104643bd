//! The chat relay, game to Discord: chat lines of relaying servers become
//! [`Topic::Chat`] announcements (the bot escapes and posts them through the
//! outbox). Discord to game is `discord::relay`.

use super::{Announcement, Context, Delivery, Handler, Topic};
use crate::config::Settings;
use crate::discord::routes::Routes;

/// Relays players' chat lines (not the server's own messages, which include
/// what the bot itself said) from servers with a chat channel.
pub(crate) struct GameChatRelay {
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
        self.routes.relays(&delivery.server().name)
            && delivery.chat().is_some_and(|c| c.player.is_some())
    }

    async fn handle(&self, ctx: &Context, delivery: &Delivery) {
        let Some(chat) = delivery.chat().filter(|c| c.player.is_some()) else {
            return;
        };
        let server = &delivery.server().name;
        let name = chat.name.as_deref().unwrap_or("someone");
        let team = if chat.team.unwrap_or(0) > 0 {
            " (team)"
        } else {
            ""
        };
        ctx.announce(Announcement {
            server: Some(server.clone()),
            topic: Topic::Chat,
            text: format!("[{server}] {name}{team}: {}", chat.message),
            card: None,
        });
    }
}
