//! A configured game server as the rest of bman knows it.

use super::Mode;

/// Identity of a configured server, shared by every event it produces.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ServerInfo {
    pub name: String,
    pub mode: Mode,
}
