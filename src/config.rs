//! Configuration: secrets from the environment (`.env` via dotenvy, the real
//! environment wins) and everything else from `bmsettings.ini`, read in the
//! original tool's format (`[bm]`, `[config]`) plus `[server.NAME]` and
//! `[discord]` sections. Validated once at start; errors name the file,
//! section and key, and say what was expected.

use crate::ini::{Entry, Ini};
use crate::model::Mode;
use crate::ratings::TrueSkillParams;
use crate::secret::Secret;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One game server bman connects to.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerConfig {
    /// Unique name: the `[server.NAME]` suffix, or the mode name for `[bm]` servers.
    pub name: String,
    pub host: String,
    pub port: u16,
    pub mode: Mode,
    pub password: Secret,
    /// Discord channel overrides (issue: the bot); `None` uses the global ones.
    pub announce_channel_id: Option<u64>,
    pub chat_channel_id: Option<u64>,
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

/// The `[discord]` section.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DiscordSettings {
    pub guild_id: Option<u64>,
    pub announce_channel_id: Option<u64>,
    pub chat_channel_id: Option<u64>,
    pub admin_role_ids: Vec<u64>,
    pub admin_user_ids: Vec<u64>,
    /// Who may talk to the game from the chat channel, besides admins.
    pub relay_role_ids: Vec<u64>,
    pub relay_user_ids: Vec<u64>,
    pub milestone_waves: u32,
}

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

/// Everything bman needs to run, validated.
#[derive(Debug, Clone)]
pub struct Settings {
    pub servers: Vec<ServerConfig>,
    /// Elo K factor for team deathmatch kills (`[config] k`).
    pub elo_k: f64,
    /// TrueSkill parameters (`[config] mu, sigma, beta, tau, draw_probability`).
    pub trueskill: TrueSkillParams,
    /// Where the raw per-server journals go (`[config] journal_dir`).
    pub journal_dir: PathBuf,
    /// `DATABASE_URL` (or `MONGODB_URI`); may hold credentials, so it is a secret.
    pub database_url: Secret,
    pub discord: DiscordSettings,
    pub discord_token: Option<Secret>,
    /// `DISCORD_API_PROXY`: where Discord REST calls (and the gateway lookup) go instead of discord.com.
    pub discord_api_proxy: Option<String>,
    pub chat_commands: ChatCommandSettings,
}

/// A configuration problem, pointing at where it is.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}: {message}")]
    Syntax {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{path}:{line}: [{section}] {key}: {message}")]
    Value {
        path: PathBuf,
        line: usize,
        section: String,
        key: String,
        message: String,
    },
    #[error("{path}: [{section}]: {message}")]
    Section {
        path: PathBuf,
        section: String,
        message: String,
    },
}

/// Every section and key bman reads; anything else is a typo to report.
const VOCABULARY: &[(&str, &[&str])] = &[
    ("bm", &["ip", "dm", "tdm", "ctf", "svl", "zbr"]),
    (
        "config",
        &[
            "password",
            "k",
            "journal_dir",
            "mu",
            "sigma",
            "beta",
            "tau",
            "draw_probability",
        ],
    ),
    (
        "server.",
        &[
            "host",
            "port",
            "mode",
            "password",
            "password_env",
            "announce_channel_id",
            "chat_channel_id",
            "chat_commands",
            "chat_relay",
        ],
    ),
    (
        "discord",
        &[
            "guild_id",
            "announce_channel_id",
            "chat_channel_id",
            "admin_role_ids",
            "admin_user_ids",
            "relay_role_ids",
            "relay_user_ids",
            "milestone_waves",
        ],
    ),
    (
        "chat_commands",
        &["enabled", "cooldown_secs", "disabled", "max_reply_chars"],
    ),
];

/// Refuses sections and keys bman does not read (a `pasword` would otherwise
/// look like a wrong password), naming the closest known one.
fn check_vocabulary(path: &Path, ini: &Ini) -> Result<(), ConfigError> {
    for (section, entries) in &ini.sections {
        let line = ini.header_lines.get(section).copied().unwrap_or(0);
        let known = VOCABULARY
            .iter()
            .find(|(name, _)| match name.strip_suffix('.') {
                Some(prefix) => section
                    .strip_prefix(prefix)
                    .is_some_and(|s| s.starts_with('.')),
                None => name == section,
            });
        let Some((_, keys)) = known else {
            let names = VOCABULARY.iter().map(|(n, _)| n.trim_end_matches('.'));
            return Err(ConfigError::Syntax {
                path: path.to_path_buf(),
                line,
                message: format!(
                    "unknown section [{section}]{}",
                    did_you_mean(
                        section,
                        names.map(|n| if n == "server" { "server.NAME" } else { n })
                    )
                ),
            });
        };
        if let Some((key, entry)) = entries.iter().find(|(k, _)| !keys.contains(&k.as_str())) {
            return Err(ConfigError::Value {
                path: path.to_path_buf(),
                line: entry.line,
                section: section.clone(),
                key: key.clone(),
                message: format!("unknown key{}", did_you_mean(key, keys.iter().copied())),
            });
        }
    }
    Ok(())
}

/// "; did you mean `password`?" for the closest name within a few edits.
fn did_you_mean<'a>(typo: &str, names: impl Iterator<Item = &'a str>) -> String {
    let best = names
        .map(|n| (edit_distance(typo, n), n))
        .min_by_key(|(d, _)| *d)
        .filter(|(d, n)| *d <= 2.max(n.len() / 3));
    match best {
        Some((_, name)) => format!("; did you mean `{name}`?"),
        None => String::new(),
    }
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

/// The default database when `DATABASE_URL` is unset: the embedded SQLite file.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://bman.sqlite3";

/// Reads one section's values with errors that point at the file.
struct SectionReader<'a> {
    path: &'a Path,
    section: &'a str,
    entries: &'a BTreeMap<String, Entry>,
}

impl SectionReader<'_> {
    fn error(&self, key: &str, message: impl Into<String>) -> ConfigError {
        ConfigError::Value {
            path: self.path.to_path_buf(),
            line: self.entries.get(key).map_or(0, |e| e.line),
            section: self.section.to_string(),
            key: key.to_string(),
            message: message.into(),
        }
    }

    fn text(&self, key: &str) -> Option<&str> {
        self.entries.get(key).map(|e| e.value.as_str())
    }

    fn required(&self, key: &str) -> Result<&str, ConfigError> {
        match self.text(key) {
            Some(v) if !v.is_empty() => Ok(v),
            _ => Err(ConfigError::Section {
                path: self.path.to_path_buf(),
                section: self.section.to_string(),
                message: format!("missing key `{key}`"),
            }),
        }
    }

    fn parse<T: std::str::FromStr>(
        &self,
        key: &str,
        expected: &str,
    ) -> Result<Option<T>, ConfigError> {
        match self.text(key) {
            None | Some("") => Ok(None),
            Some(v) => v
                .parse()
                .map(Some)
                .map_err(|_| self.error(key, format!("expected {expected}, found {v:?}"))),
        }
    }

    fn port(&self, key: &str) -> Result<Option<u16>, ConfigError> {
        match self.parse::<u16>(key, "a TCP port number (1-65535)")? {
            Some(0) => Err(self.error(key, "expected a TCP port number (1-65535), found 0")),
            other => Ok(other),
        }
    }

    fn flag(&self, key: &str, default: bool) -> Result<bool, ConfigError> {
        match self.text(key).map(str::to_ascii_lowercase).as_deref() {
            None | Some("") => Ok(default),
            Some("1" | "true" | "yes" | "on") => Ok(true),
            Some("0" | "false" | "no" | "off") => Ok(false),
            Some(other) => Err(self.error(
                key,
                format!("expected on/off (true/false, yes/no, 1/0), found {other:?}"),
            )),
        }
    }

    fn id_list(&self, key: &str) -> Result<Vec<u64>, ConfigError> {
        let Some(text) = self.text(key) else {
            return Ok(Vec::new());
        };
        text.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse().map_err(|_| {
                    self.error(
                        key,
                        format!("expected comma-separated Discord ids, found {s:?}"),
                    )
                })
            })
            .collect()
    }
}

impl Settings {
    /// Loads `path` and the environment (pass `std::env::var` or a test map).
    pub fn load(
        path: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Settings, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(path, &text, env)
    }

    /// Parses INI text as if read from `path` (used in errors).
    pub fn parse(
        path: &Path,
        text: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Settings, ConfigError> {
        let ini = Ini::parse(text).map_err(|(line, message)| ConfigError::Syntax {
            path: path.to_path_buf(),
            line,
            message,
        })?;
        check_vocabulary(path, &ini)?;
        let empty = BTreeMap::new();
        let reader = |section: &'static str| SectionReader {
            path,
            section,
            entries: ini.section(section).unwrap_or(&empty),
        };
        let config = reader("config");
        let env_password = env("RCON_PASSWORD").filter(|p| !p.is_empty());
        let default_password = env_password.or_else(|| config.text("password").map(str::to_string));
        let elo_k = config
            .parse::<f64>("k", "a number (Elo K factor)")?
            .unwrap_or(32.0);
        if !(elo_k.is_finite() && elo_k > 0.0) {
            return Err(config.error("k", "expected a positive number"));
        }
        let trueskill = trueskill_params(&config)?;
        let journal_dir = config
            .text("journal_dir")
            .filter(|s| !s.is_empty())
            .map_or_else(|| PathBuf::from("journal"), PathBuf::from);

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
        let d = reader("discord");
        let discord = DiscordSettings {
            guild_id: d.parse("guild_id", "a Discord guild id")?,
            announce_channel_id: d.parse("announce_channel_id", "a Discord channel id")?,
            chat_channel_id: d.parse("chat_channel_id", "a Discord channel id")?,
            admin_role_ids: d.id_list("admin_role_ids")?,
            admin_user_ids: d.id_list("admin_user_ids")?,
            relay_role_ids: d.id_list("relay_role_ids")?,
            relay_user_ids: d.id_list("relay_user_ids")?,
            milestone_waves: d
                .parse("milestone_waves", "a whole number of waves")?
                .unwrap_or(5),
        };
        let c = reader("chat_commands");
        let defaults = ChatCommandSettings::default();
        let chat_commands = ChatCommandSettings {
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
        };
        let database_url = env("DATABASE_URL")
            .or_else(|| env("MONGODB_URI"))
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_string());
        Ok(Settings {
            servers,
            elo_k,
            trueskill,
            journal_dir,
            database_url: Secret::new(database_url),
            discord,
            discord_token: env("DISCORD_TOKEN")
                .filter(|t| !t.is_empty())
                .map(Secret::new),
            discord_api_proxy: env("DISCORD_API_PROXY").filter(|p| !p.is_empty()),
            chat_commands,
        })
    }
}

/// TrueSkill parameters from `[config]`; each defaults to the Python `trueskill` value.
fn trueskill_params(config: &SectionReader) -> Result<TrueSkillParams, ConfigError> {
    let mut p = TrueSkillParams::default();
    let positive = |key: &str, default: f64| -> Result<f64, ConfigError> {
        match config.parse::<f64>(key, "a positive number")? {
            None => Ok(default),
            Some(v) if v.is_finite() && v > 0.0 => Ok(v),
            Some(_) => Err(config.error(key, "expected a positive number")),
        }
    };
    p.mu = config.parse::<f64>("mu", "a number")?.unwrap_or(p.mu);
    p.sigma = positive("sigma", p.sigma)?;
    p.beta = positive("beta", p.beta)?;
    p.tau = positive("tau", p.tau)?;
    p.draw_probability = match config.parse::<f64>("draw_probability", "a probability")? {
        None => p.draw_probability,
        Some(v) if (0.0..1.0).contains(&v) => v,
        Some(_) => return Err(config.error("draw_probability", "expected a probability in [0, 1)")),
    };
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    fn parse(text: &str, env: &[(&'static str, &'static str)]) -> Result<Settings, ConfigError> {
        let env: &'static [(&str, &str)] = Box::leak(env.to_vec().into_boxed_slice());
        Settings::parse(Path::new("bmsettings.ini"), text, &env_of(env))
    }

    #[test]
    fn reads_the_original_tools_sections() {
        let s = parse(
            "[bm]\nip = 10.1.2.3\ndm = 42070 ; one port per mode\ntdm = 42071\nzbr = 42075\n[config]\npassword = admin\nk = 24\n",
            &[],
        )
        .unwrap();
        assert_eq!(s.servers.len(), 3);
        assert_eq!(
            (s.servers[2].name.as_str(), s.servers[2].mode),
            ("zbr", Mode::Zbr)
        );
        assert_eq!(s.servers[0].name, "dm");
        assert_eq!(s.servers[0].address(), "10.1.2.3:42070");
        assert_eq!(s.servers[1].mode, Mode::Tdm);
        assert_eq!(s.servers[1].password.expose(), "admin");
        assert_eq!(s.elo_k, 24.0);
        assert_eq!(s.trueskill, TrueSkillParams::default());
        let tuned = parse("[config]\nbeta = 3\ndraw_probability = 0\n", &[]).unwrap();
        assert_eq!(
            (tuned.trueskill.beta, tuned.trueskill.draw_probability),
            (3.0, 0.0)
        );
        assert!(parse("[config]\ndraw_probability = 1.5\n", &[]).is_err());
        assert_eq!(s.database_url.expose(), DEFAULT_DATABASE_URL);
        assert!(s.discord_token.is_none());
    }

    #[test]
    fn typos_duplicates_and_missing_hosts_are_errors() {
        let err = |text: &str| parse(text, &[]).unwrap_err().to_string();
        assert_eq!(
            err("[bm]\ndm = 1\n[config]\npasword = admin\n"),
            "bmsettings.ini:4: [config] pasword: unknown key; did you mean `password`?"
        );
        assert_eq!(
            err("[bm]\ndm = 1\n\n[bmm]\ntdm = 2\n"),
            "bmsettings.ini:4: unknown section [bmm]; did you mean `bm`?"
        );
        assert_eq!(
            err("[server.a]\nhost = h\nport = 1\nmode = dm\nchat_relays = off\n"),
            "bmsettings.ini:5: [server.a] chat_relays: unknown key; did you mean `chat_relay`?"
        );
        assert_eq!(
            err("[metrics]\nlisten = x\n"),
            "bmsettings.ini:1: unknown section [metrics]"
        );
        assert_eq!(
            err("[bm]\ndm = 42070\n[server.x]\nhost = 127.0.0.1\nport = 42070\nmode = tdm\n"),
            "bmsettings.ini: [server.x]: 127.0.0.1:42070 is already configured as server \"dm\": each server needs its own endpoint"
        );
        assert_eq!(
            err("[server.x]\nport = 42070\nmode = tdm\n"),
            "bmsettings.ini: [server.x]: missing key `host`"
        );
    }

    #[test]
    fn env_wins_and_named_servers_work() {
        let s = parse(
            "[bm]\ndm = 1\n[config]\npassword = file\n[server.eu-tdm]\nhost = 10.0.0.5\nport = 42070\nmode = TDM\npassword_env = PW_EU\nannounce_channel_id = 9\n",
            &[("RCON_PASSWORD", "envpw"), ("PW_EU", "eupw"), ("DATABASE_URL", "sqlite://x.db")],
        )
        .unwrap();
        assert_eq!(s.servers[0].password.expose(), "envpw");
        let eu = &s.servers[1];
        assert_eq!(
            (eu.name.as_str(), eu.mode, eu.port),
            ("eu-tdm", Mode::Tdm, 42070)
        );
        assert_eq!(eu.password.expose(), "eupw");
        assert_eq!(eu.announce_channel_id, Some(9));
        assert_eq!(s.database_url.expose(), "sqlite://x.db");
    }

    #[test]
    fn errors_name_file_section_and_key() {
        let e = parse("[bm]\ndm = abc\n", &[]).unwrap_err().to_string();
        assert_eq!(
            e,
            "bmsettings.ini:2: [bm] dm: expected a TCP port number (1-65535), found \"abc\""
        );
        let e = parse("[server.x]\nport = 1\nmode = chess\n", &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("[server.x] mode: unknown mode \"chess\""), "{e}");
        let e = parse("[server.x]\nport = 1\n", &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("[server.x]: missing key `mode`"), "{e}");
        let e = parse("[server.x]\nport=1\nmode=dm\npassword_env=NOPE\n", &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("NOPE is not set"), "{e}");
        let e = parse("[discord]\nadmin_role_ids = 1, x\n", &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("[discord] admin_role_ids"), "{e}");
        let e = parse("[bm]\ndm = 1\n[server.dm]\nport=2\nmode=dm\n", &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("already configured"), "{e}");
    }

    #[test]
    fn secrets_never_print() {
        let s = parse(
            "[bm]\ndm = 1\n[config]\npassword = hunter2\n",
            &[
                ("DISCORD_TOKEN", "tok3n"),
                ("DATABASE_URL", "mongodb://u:pw@h/db"),
            ],
        )
        .unwrap();
        let shown = format!("{s:?} {}", s.servers[0].password);
        for secret in ["hunter2", "tok3n", "pw@h"] {
            assert!(!shown.contains(secret), "{secret} leaked in {shown}");
        }
    }

    #[test]
    fn chat_command_settings() {
        let s = parse("[bm]\ndm = 1\n", &[]).unwrap();
        assert_eq!(s.chat_commands, ChatCommandSettings::default());
        assert!(s.servers[0].chat_commands);
        let s = parse(
            "[chat_commands]\nenabled = yes\ncooldown_secs = 3\ndisabled = !stats, TOP\n[server.a]\nhost = h\nport = 1\nmode = dm\nchat_commands = off\n",
            &[],
        )
        .unwrap();
        assert_eq!(s.chat_commands.cooldown_secs, 3);
        assert_eq!(s.chat_commands.disabled, vec!["stats", "top"]);
        assert!(!s.servers[0].chat_commands);
        let e = parse("[chat_commands]\nenabled = maybe\n", &[])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("[chat_commands] enabled: expected on/off"),
            "{e}"
        );
    }

    #[test]
    fn discord_section() {
        let s = parse(
            "[discord]\nguild_id = 700000000000000001\nannounce_channel_id = 42\nadmin_role_ids = 111, 222\nadmin_user_ids = 333\nmilestone_waves = 10\n",
            &[],
        )
        .unwrap();
        assert_eq!(s.discord.guild_id, Some(700000000000000001));
        assert_eq!(s.discord.admin_role_ids, vec![111, 222]);
        assert_eq!(s.discord.admin_user_ids, vec![333]);
        assert_eq!(s.discord.milestone_waves, 10);
    }

    #[test]
    fn relay_keys_and_the_api_proxy() {
        let s = parse(
            "[discord]\nchat_channel_id = 43\nrelay_role_ids = 4, 5\nrelay_user_ids = 6\n[server.a]\nhost = h\nport = 1\nmode = dm\nchat_relay = off\n[server.b]\nhost = h\nport = 2\nmode = tdm\n",
            &[("DISCORD_API_PROXY", "http://127.0.0.1:9")],
        )
        .unwrap();
        assert_eq!(s.discord.relay_role_ids, vec![4, 5]);
        assert_eq!(s.discord.relay_user_ids, vec![6]);
        assert_eq!(s.discord_api_proxy.as_deref(), Some("http://127.0.0.1:9"));
        assert!(!s.servers[0].chat_relay);
        assert!(s.servers[1].chat_relay);
    }
}
