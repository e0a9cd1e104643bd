//! Linked accounts: which game profile a Discord user proved is theirs
//! (README "Linked accounts").

use super::PlayerKey;
use serde::{Deserialize, Serialize};

/// One Discord user bound to one game profile. Each side is in at most one
/// link: linking again replaces the user's earlier link and the profile's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountLink {
    /// The Discord user id.
    pub user_id: u64,
    /// The Discord user name when linked.
    pub user_name: String,
    /// The game profile (a human's; never a bot's or an NPC's).
    pub player: PlayerKey,
    /// The player's in-game name when linked.
    pub player_name: String,
    /// When it was made, unix ms.
    pub linked_ms: i64,
}
