//! Which Discord channel each server's announcements, chat and live board go
//! to: a `[server.NAME]` section's own channel ids, else the `[discord]` ones.

use crate::config::Settings;
use crate::handlers::Topic;

#[derive(Debug, Clone)]
struct ServerRoute {
    name: String,
    announce: Option<u64>,
    /// `None` when the server's relay is off or no chat channel applies.
    chat: Option<u64>,
    status: Option<u64>,
}

/// Channel routing for every configured server.
#[derive(Debug, Clone)]
pub struct Routes {
    servers: Vec<ServerRoute>,
    global_announce: Option<u64>,
}

impl Routes {
    pub fn new(settings: &Settings) -> Routes {
        let discord = &settings.discord;
        Routes {
            servers: settings
                .servers
                .iter()
                .map(|s| ServerRoute {
                    name: s.name.clone(),
                    announce: s.announce_channel_id.or(discord.announce_channel_id),
                    chat: s
                        .chat_relay
                        .then_some(s.chat_channel_id.or(discord.chat_channel_id))
                        .flatten(),
                    status: s.status_channel_id.or(discord.status_channel_id),
                })
                .collect(),
            global_announce: discord.announce_channel_id,
        }
    }

    /// Where an announcement about `server` (or about none) goes.
    pub fn channel(&self, server: Option<&str>, topic: Topic) -> Option<u64> {
        let route = server.and_then(|name| self.servers.iter().find(|s| s.name == name));
        match (topic, route) {
            (Topic::Results, Some(r)) => r.announce,
            (Topic::Results, None) => self.global_announce,
            (Topic::Chat, Some(r)) => r.chat,
            (Topic::Chat, None) => None,
        }
    }

    /// Each server with a live board, and the board's channel, in configuration order.
    pub(crate) fn boards(&self) -> Vec<(String, u64)> {
        self.servers
            .iter()
            .filter_map(|s| Some((s.name.clone(), s.status?)))
            .collect()
    }

    /// Whether `server` relays its chat.
    pub(crate) fn relays(&self, server: &str) -> bool {
        self.channel(Some(server), Topic::Chat).is_some()
    }

    /// The servers whose chat is bridged to `channel_id`.
    pub fn bridged(&self, channel_id: u64) -> Vec<String> {
        self.servers
            .iter()
            .filter(|s| s.chat == Some(channel_id))
            .map(|s| s.name.clone())
            .collect()
    }

    /// Every channel with a chat bridge (the bot only reads messages there).
    pub(crate) fn chat_channels(&self) -> Vec<u64> {
        let mut channels: Vec<u64> = self.servers.iter().filter_map(|s| s.chat).collect();
        channels.sort_unstable();
        channels.dedup();
        channels
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn boards_use_the_server_channel_else_the_global_one() {
        let ini = "[discord]\nstatus_channel_id = 44\n\
                   [server.a]\nhost = h\nport = 1\nmode = dm\nstatus_channel_id = 52\n\
                   [server.b]\nhost = h\nport = 2\nmode = tdm\n";
        let settings = Settings::parse(Path::new("t.ini"), ini, &|_| None).unwrap();
        let routes = Routes::new(&settings);
        assert_eq!(
            routes.boards(),
            [("a".to_string(), 52), ("b".to_string(), 44)]
        );
        let none = Settings::parse(
            Path::new("t.ini"),
            "[server.a]\nhost = h\nport = 1\nmode = dm\n",
            &|_| None,
        )
        .unwrap();
        assert!(Routes::new(&none).boards().is_empty());
    }
}
