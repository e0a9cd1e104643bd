//! The audit trail of privileged bot commands.

use serde::{Deserialize, Serialize};

/// One attempt at a privileged bot command, allowed or denied.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// When it was attempted, unix ms.
    pub time_ms: i64,
    /// The Discord user's id and name at that time.
    pub user_id: u64,
    pub user_name: String,
    /// The configured server name it targeted.
    pub server: String,
    /// The command as the user asked for it, e.g. `kick Bob (afk)` or `rcon map dust`.
    pub command: String,
    pub allowed: bool,
    /// What happened: the game's reply, "timed out", "denied: not an admin", …
    pub result: String,
}
