//! Configuration: secrets from the environment (`.env` via dotenvy, the real
//! environment wins) and everything else from `bmsettings.ini`, read in the
//! original tool's format (`[bm]`, `[config]`) plus `[server.NAME]` and
//! `[discord]` sections. Validated once at start; errors name the file,
//! section and key, and say what was expected. Each section is read where it
//! is used: servers here in `servers`, `[discord]` in `discord`,
//! `[chat_commands]` and `[bans]` by their handlers.

mod discord;
mod metrics;
mod section;
mod servers;

use crate::handlers::bans::BanSettings;
use crate::handlers::chat_commands::ChatCommandSettings;
pub use discord::DiscordSettings;
pub use metrics::MetricsSettings;
pub(crate) use section::SectionReader;
pub use servers::ServerConfig;

use crate::ini::Ini;
use crate::journal::Rotation;
use crate::rater::RatingSystems;
use crate::ratings::{SkillSystem, TrueSkillParams};
use crate::secret::Secret;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Everything bman needs to run, validated.
#[derive(Debug, Clone)]
pub struct Settings {
    pub servers: Vec<ServerConfig>,
    /// Elo K factor for team deathmatch kills (`[config] k`).
    pub elo_k: f64,
    /// TrueSkill parameters (`[config] mu, sigma, beta, tau, draw_probability`).
    pub trueskill: TrueSkillParams,
    /// The rating system per mode (`[ratings]`).
    pub rating_systems: RatingSystems,
    /// Where the raw per-server journals go (`[config] journal_dir`).
    pub journal_dir: PathBuf,
    /// Segment size and retention (`[config] journal_segment_mb, journal_keep_days`).
    pub journal_rotation: Rotation,
    /// `DATABASE_URL` (or `MONGODB_URI`); may hold credentials, so it is a secret.
    pub database_url: Secret,
    pub discord: DiscordSettings,
    pub discord_token: Option<Secret>,
    /// `DISCORD_API_PROXY`: where Discord REST calls (and the gateway lookup) go instead of discord.com.
    pub discord_api_proxy: Option<String>,
    pub chat_commands: ChatCommandSettings,
    pub bans: BanSettings,
    /// `[metrics] listen` or `BMAN_METRICS_ADDR`: where `/healthz` and `/metrics` are served.
    pub metrics: MetricsSettings,
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

/// Keys of `[config]`: the original tool's password, rating parameters and journal place.
const CONFIG_KEYS: &[&str] = &[
    "password",
    "k",
    "journal_dir",
    "journal_segment_mb",
    "journal_keep_days",
    "mu",
    "sigma",
    "beta",
    "tau",
    "draw_probability",
];

/// Keys of `[ratings]`: the system per rated mode, Weng-Lin's beta and Glicko-2's tau.
const RATINGS_KEYS: &[&str] = &["dm", "tdm", "ctf", "weng_lin_beta", "glicko2_tau"];

/// The default database when `DATABASE_URL` is unset: the embedded SQLite file.
pub(crate) const DEFAULT_DATABASE_URL: &str = "sqlite://bman.sqlite3";

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
        section::check_vocabulary(path, &ini)?;
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
        let rating_systems = rating_systems(&reader("ratings"))?;
        let journal_dir = config
            .text("journal_dir")
            .filter(|s| !s.is_empty())
            .map_or_else(|| PathBuf::from("journal"), PathBuf::from);
        let journal_rotation = journal_rotation(&config)?;
        let servers = servers::read(path, &ini, env, default_password)?;
        let discord = DiscordSettings::read(&reader("discord"))?;
        let chat_commands = ChatCommandSettings::read(&reader("chat_commands"))?;
        let bans = BanSettings::read(&reader("bans"))?;
        let metrics = MetricsSettings::read(&reader("metrics"), env)?;

        let database_url = env("DATABASE_URL")
            .or_else(|| env("MONGODB_URI"))
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_string());
        Ok(Settings {
            servers,
            elo_k,
            trueskill,
            rating_systems,
            journal_dir,
            journal_rotation,
            database_url: Secret::new(database_url),
            discord,
            discord_token: env("DISCORD_TOKEN")
                .filter(|t| !t.is_empty())
                .map(Secret::new),
            discord_api_proxy: env("DISCORD_API_PROXY").filter(|p| !p.is_empty()),
            chat_commands,
            bans,
            metrics,
        })
    }
}

/// `journal_segment_mb` (default 64, fractions allowed) and
/// `journal_keep_days` (default: keep everything).
fn journal_rotation(config: &SectionReader) -> Result<Rotation, ConfigError> {
    let positive = |key: &str, what: &str| -> Result<Option<f64>, ConfigError> {
        match config.parse::<f64>(key, what)? {
            Some(v) if !(v.is_finite() && v > 0.0) => {
                Err(config.error(key, "expected a positive number"))
            }
            v => Ok(v),
        }
    };
    let mut rotation = Rotation::default();
    if let Some(mb) = positive("journal_segment_mb", "a number of MB")? {
        rotation.segment_bytes = (mb * 1024.0 * 1024.0).max(1.0) as u64;
    }
    rotation.keep = positive("journal_keep_days", "a number of days")?
        .map(|days| std::time::Duration::from_secs_f64(days * 86_400.0));
    Ok(rotation)
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

/// `[ratings]`: `dm`, `tdm`, `ctf` = `trueskill` (default), `weng-lin` or
/// `glicko2`, with `weng_lin_beta` and `glicko2_tau`. Elo per kill is
/// refused by name: it has no uncertainty to rank conservatively by.
fn rating_systems(section: &SectionReader) -> Result<RatingSystems, ConfigError> {
    let mut systems = RatingSystems::default();
    for (key, slot) in [
        ("dm", &mut systems.dm),
        ("tdm", &mut systems.tdm),
        ("ctf", &mut systems.ctf),
    ] {
        *slot = match section.text(key).map(str::trim) {
            None | Some("trueskill") => SkillSystem::TrueSkill,
            Some("weng-lin") => SkillSystem::WengLin,
            Some("glicko2") => SkillSystem::Glicko2,
            Some("elo") => {
                return Err(section.error(key, "not selectable: Elo has no uncertainty, and leaderboards rank by a conservative rating (README \"Choosing a rating system\"); team deathmatch kills are always rated by Elo as well, shown as elo"));
            }
            Some(_) => return Err(section.error(key, "expected trueskill, weng-lin or glicko2")),
        };
    }
    let positive = |key: &str, default: f64| match section.parse::<f64>(key, "a positive number")? {
        None => Ok(default),
        Some(v) if v.is_finite() && v > 0.0 => Ok(v),
        Some(_) => Err(section.error(key, "expected a positive number")),
    };
    systems.weng_lin_beta = positive("weng_lin_beta", systems.weng_lin_beta)?;
    systems.glicko2_tau = positive("glicko2_tau", systems.glicko2_tau)?;
    Ok(systems)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Mode;

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
    fn ratings_section_selects_a_system_per_mode() {
        let default = parse("", &[]).unwrap().rating_systems;
        assert_eq!(default, RatingSystems::default());
        let chosen = parse(
            "[ratings]\ndm = weng-lin\nweng_lin_beta = 3\nctf = glicko2\nglicko2_tau = 0.9\n",
            &[],
        )
        .unwrap()
        .rating_systems;
        assert_eq!(
            (chosen.dm, chosen.tdm, chosen.ctf),
            (
                SkillSystem::WengLin,
                SkillSystem::TrueSkill,
                SkillSystem::Glicko2
            )
        );
        assert_eq!((chosen.weng_lin_beta, chosen.glicko2_tau), (3.0, 0.9));
        let error = |text: &str| parse(text, &[]).unwrap_err().to_string();
        assert!(error("[ratings]\nctf = elo\n").contains("[ratings] ctf: not selectable"));
        assert!(
            error("[ratings]\ndm = wenglin\n").contains("expected trueskill, weng-lin or glicko2")
        );
        assert!(error("[ratings]\nweng_lin_beta = -1\n").contains("positive"));
        assert!(error("[ratings]\nglicko2_tau = 0\n").contains("positive"));
        assert!(error("[ratings]\nsystem = weng-lin\n").contains("unknown key"));
    }

    #[test]
    fn journal_rotation_keys() {
        let default = parse("", &[]).unwrap().journal_rotation;
        assert_eq!((default.segment_bytes, default.keep), (64 << 20, None));
        let s = parse(
            "[config]\njournal_segment_mb = 0.05\njournal_keep_days = 0.5\n",
            &[],
        )
        .unwrap();
        assert_eq!(s.journal_rotation.segment_bytes, 52_428);
        assert_eq!(
            s.journal_rotation.keep,
            Some(std::time::Duration::from_secs(43_200))
        );
        let err = parse("[config]\njournal_keep_days = -1\n", &[]).unwrap_err();
        assert!(err
            .to_string()
            .contains("journal_keep_days: expected a positive number"));
        let err = parse("[config]\njournal_segment_mb = big\n", &[]).unwrap_err();
        assert!(err.to_string().contains("expected a number of MB"), "{err}");
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
            err("[metric]\nlisten = x\n"),
            "bmsettings.ini:1: unknown section [metric]; did you mean `metrics`?"
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
    fn ban_settings() {
        let s = parse("[bm]\ndm = 1\n", &[]).unwrap();
        assert_eq!(s.bans, BanSettings::default());
        assert!(s.bans.enabled);
        let s = parse(
            "[bans]\nenabled = off\nkick_message = no entry {until} ({reason})\n",
            &[],
        )
        .unwrap();
        assert!(!s.bans.enabled);
        assert_eq!(s.bans.kick_message, "no entry {until} ({reason})");
        let long = format!("[bans]\nkick_message = {}\n", "x".repeat(121));
        let e = parse(&long, &[]).unwrap_err().to_string();
        assert!(e.contains("[bans] kick_message: longer than 120"), "{e}");
        let e = parse("[bans]\nkick_mesage = x\n", &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("did you mean `kick_message`"), "{e}");
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
    fn metrics_section_and_its_variable() {
        let s = parse("[bm]\ndm = 1\n", &[]).unwrap();
        assert_eq!(s.metrics.listen, None);
        let s = parse("[metrics]\nlisten = 127.0.0.1:9187\n", &[]).unwrap();
        assert_eq!(s.metrics.listen, Some("127.0.0.1:9187".parse().unwrap()));
        let s = parse(
            "[metrics]\nlisten = 127.0.0.1:9187\n",
            &[("BMAN_METRICS_ADDR", "0.0.0.0:9999")],
        )
        .unwrap();
        assert_eq!(s.metrics.listen, Some("0.0.0.0:9999".parse().unwrap()));
        let e = parse("[metrics]\nlisten = localhost\n", &[])
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("bmsettings.ini:2: [metrics] listen: expected an IP address and port"),
            "{e}"
        );
        let e = parse("", &[("BMAN_METRICS_ADDR", "9187")])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("BMAN_METRICS_ADDR: expected an IP address"),
            "{e}"
        );
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
