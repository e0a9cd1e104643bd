//! `[bm]` (the original tool's one host, a port per mode) and `[server.NAME]`
//! sections: the game servers bman connects to.

use super::{ConfigError, SectionReader};
use crate::ini::Ini;
use crate::model::Mode;
use crate::secret::Secret;
use std::path::Path;

/// One game server bman connects to.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerConfig {
    /// Unique name: the `[server.NAME]` suffix, or the mode name for `[bm]` servers.
    pub name: String,
    pub host: String,
    pub port: u16,
    pub mode: Mode,
    pub password: Secret,
    /// Discord channel overrides; `None` uses the global ones.
    pub announce_channel_id: Option<u64>,
    pub chat_channel_id: Option<u64>,
    pub status_channel_id: Option<u64>,
    /// In-game chat commands on this server (`chat_commands = off` turns them off).
    pub chat_commands: bool,
    /// Two-way chat relay with the chat channel (`chat_relay = off` turns it off).
    pub chat_relay: bool,
}

impl ServerConfig {
    pub fn address(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

/// Keys of `[bm]` and of every `[server.NAME]`.
pub(super) const BM_KEYS: &[&str] = &["ip", "dm", "tdm", "ctf", "svl", "zbr"];
pub(super) const SERVER_KEYS: &[&str] = &[
    "host",
    "port",
    "mode",
    "password",
    "password_env",
    "announce_channel_id",
    "chat_channel_id",
    "status_channel_id",
    "chat_commands",
    "chat_relay",
];

/// Every configured server, `[bm]` ones first; names and endpoints unique.
/// `default_password` is `RCON_PASSWORD` or `[config] password`.
pub(super) fn read(
    path: &Path,
    ini: &Ini,
    env: &dyn Fn(&str) -> Option<String>,
    default_password: Option<String>,
) -> Result<Vec<ServerConfig>, ConfigError> {
    let mut servers = Vec::new();
    if let Some(entries) = ini.section("bm") {
        let bm = SectionReader {
            path,
            section: "bm",
            entries,
        };
        let host = bm
            .text("ip")
            .filter(|s| !s.is_empty())
            .unwrap_or("127.0.0.1");
        for mode in Mode::ALL {
            if let Some(port) = bm.port(mode.as_str())? {
                servers.push(ServerConfig {
                    name: mode.as_str().to_string(),
                    host: host.to_string(),
                    port,
                    mode,
                    password: Secret::new(default_password.clone().unwrap_or_default()),
                    announce_channel_id: None,
                    chat_channel_id: None,
                    status_channel_id: None,
                    chat_commands: true,
                    chat_relay: true,
                });
            }
        }
    }
    for (section, entries) in &ini.sections {
        let Some(name) = section.strip_prefix("server.") else {
            continue;
        };
        let s = SectionReader {
            path,
            section,
            entries,
        };
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_".contains(c))
        {
            return Err(ConfigError::Section {
                path: path.to_path_buf(),
                section: section.clone(),
                message: "server names may use only letters, digits, '-' and '_'".into(),
            });
        }
        if servers
            .iter()
            .any(|other: &ServerConfig| other.name == name)
        {
            return Err(ConfigError::Section {
                path: path.to_path_buf(),
                section: section.clone(),
                message: format!("a server named {name:?} is already configured"),
            });
        }
        let mode: Mode = s
            .required("mode")?
            .parse()
            .map_err(|e: String| s.error("mode", e))?;
        let password = match s.text("password_env").filter(|v| !v.is_empty()) {
            Some(var) => env(var).ok_or_else(|| {
                s.error(
                    "password_env",
                    format!("environment variable {var} is not set"),
                )
            })?,
            None => s
                .text("password")
                .map(str::to_string)
                .or_else(|| default_password.clone())
                .unwrap_or_default(),
        };
        servers.push(ServerConfig {
            name: name.to_string(),
            host: s.required("host")?.to_string(),
            port: s.port("port")?.ok_or_else(|| ConfigError::Section {
                path: path.to_path_buf(),
                section: section.clone(),
                message: "missing key `port`".into(),
            })?,
            mode,
            password: Secret::new(password),
            announce_channel_id: s.parse("announce_channel_id", "a Discord channel id")?,
            chat_channel_id: s.parse("chat_channel_id", "a Discord channel id")?,
            status_channel_id: s.parse("status_channel_id", "a Discord channel id")?,
            chat_commands: s.flag("chat_commands", true)?,
            chat_relay: s.flag("chat_relay", true)?,
        });
    }

    for (i, server) in servers.iter().enumerate() {
        if let Some(first) = servers[..i]
            .iter()
            .find(|o| o.address() == server.address())
        {
            return Err(ConfigError::Section {
                path: path.to_path_buf(),
                section: format!("server.{}", server.name),
                message: format!(
                    "{} is already configured as server {:?}: each server needs its own endpoint",
                    server.address(),
                    first.name
                ),
            });
        }
    }
    Ok(servers)
}
