//! The `[discord]` section: the guild, channels (announcements, chat, the
//! live board), admins and relay rights.

use super::{ConfigError, SectionReader};

/// The `[discord]` section.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DiscordSettings {
    pub guild_id: Option<u64>,
    pub announce_channel_id: Option<u64>,
    pub chat_channel_id: Option<u64>,
    /// The live server board: one message per server, edited in place.
    pub status_channel_id: Option<u64>,
    pub admin_role_ids: Vec<u64>,
    pub admin_user_ids: Vec<u64>,
    /// Who may talk to the game from the chat channel, besides admins.
    pub relay_role_ids: Vec<u64>,
    pub relay_user_ids: Vec<u64>,
    pub milestone_waves: u32,
}

impl DiscordSettings {
    pub(super) const KEYS: &'static [&'static str] = &[
        "guild_id",
        "announce_channel_id",
        "chat_channel_id",
        "status_channel_id",
        "admin_role_ids",
        "admin_user_ids",
        "relay_role_ids",
        "relay_user_ids",
        "milestone_waves",
    ];

    pub(super) fn read(d: &SectionReader) -> Result<DiscordSettings, ConfigError> {
        Ok(DiscordSettings {
            guild_id: d.parse("guild_id", "a Discord guild id")?,
            announce_channel_id: d.parse("announce_channel_id", "a Discord channel id")?,
            chat_channel_id: d.parse("chat_channel_id", "a Discord channel id")?,
            status_channel_id: d.parse("status_channel_id", "a Discord channel id")?,
            admin_role_ids: d.id_list("admin_role_ids")?,
            admin_user_ids: d.id_list("admin_user_ids")?,
            relay_role_ids: d.id_list("relay_role_ids")?,
            relay_user_ids: d.id_list("relay_user_ids")?,
            milestone_waves: d
                .parse("milestone_waves", "a whole number of waves")?
                .unwrap_or(5),
        })
    }
}
