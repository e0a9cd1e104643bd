//! `bman check` (README "Checking a setup"): the configuration, then for
//! real every game server (log in, learn its mode and map, close), the
//! database (write and delete a scratch value, name the backend and its
//! version), Discord (who the bot is, whether it sees the configured guild
//! and channels) and the metrics address. One line per check, each with a
//! timeout; nothing is recorded and no secret is printed.
//!
//! - `server`: one game server, through the real supervisor and session.
//! - `discord`: the bot's token, guild and channels, through the bot's HTTP client.

mod discord;
mod server;

use crate::config::{ConfigError, Settings};
use serde::Serialize;
use std::future::Future;
use std::path::Path;
use std::time::Duration;

/// How long the database check may take (MongoDB's own server selection
/// waits up to 30 s by default; a check should answer sooner).
const STORE_TIMEOUT: Duration = Duration::from_secs(15);

/// A check's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Ok,
    Fail,
    /// Not applicable (no token, no guild configured…); does not fail the run.
    Skip,
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckLine {
    /// What was checked: `config`, `server NAME`, `database`, `discord`, …
    pub check: String,
    #[serde(rename = "status")]
    pub outcome: Outcome,
    /// What was found, or what is wrong and how to fix it.
    pub message: String,
}

impl CheckLine {
    fn new(check: impl Into<String>, outcome: Outcome, message: impl Into<String>) -> Self {
        CheckLine {
            check: check.into(),
            outcome,
            message: message.into(),
        }
    }

    fn ok(check: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(check, Outcome::Ok, message)
    }

    fn fail(check: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(check, Outcome::Fail, message)
    }

    fn skip(check: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(check, Outcome::Skip, message)
    }
}

/// Every check's line, in a fixed order.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub ok: bool,
    pub checks: Vec<CheckLine>,
}

impl Report {
    fn new(checks: Vec<CheckLine>) -> Report {
        Report {
            ok: checks.iter().all(|c| c.outcome != Outcome::Fail),
            checks,
        }
    }

    /// One line per check: `ok`, `FAIL` or `skip`, the check, the message.
    pub fn to_text(&self) -> String {
        let width = self.checks.iter().map(|c| c.check.len()).max().unwrap_or(0);
        let mut out = String::new();
        for c in &self.checks {
            let verdict = match c.outcome {
                Outcome::Ok => "ok  ",
                Outcome::Fail => "FAIL",
                Outcome::Skip => "skip",
            };
            out.push_str(&format!("{verdict} {:<width$}  {}\n", c.check, c.message));
        }
        out
    }
}

/// Runs every check of the settings in `path` (environment from `env`).
pub async fn run(path: &Path, env: &dyn Fn(&str) -> Option<String>) -> Report {
    let settings = match Settings::load(path, env) {
        Ok(settings) => settings,
        Err(e) => return Report::new(vec![config_failed(e)]),
    };
    let mut checks = vec![config_line(path, &settings)];
    let servers = futures::future::join_all(settings.servers.iter().map(server::check));
    let (servers, store, discord, metrics) = tokio::join!(
        servers,
        check_store(&settings),
        discord::check(&settings),
        check_metrics(&settings),
    );
    checks.extend(servers);
    checks.push(store);
    checks.extend(discord);
    checks.push(metrics);
    Report::new(checks)
}

/// The settings' servers (`name` or `name mode`), or the failure of having none.
fn config_line(path: &Path, settings: &Settings) -> CheckLine {
    let servers: Vec<String> = settings
        .servers
        .iter()
        .map(|s| match s.name == s.mode.as_str() {
            true => s.name.clone(),
            false => format!("{} {}", s.name, s.mode),
        })
        .collect();
    match servers.len() {
        0 => CheckLine::fail(
            "config",
            format!(
                "{}: no game servers configured: add ports to [bm] or a [server.NAME] section",
                path.display()
            ),
        ),
        1 => CheckLine::ok(
            "config",
            format!("{}: 1 game server ({})", path.display(), servers[0]),
        ),
        n => CheckLine::ok(
            "config",
            format!(
                "{}: {n} game servers ({})",
                path.display(),
                servers.join(", ")
            ),
        ),
    }
}

fn config_failed(e: ConfigError) -> CheckLine {
    let hint = match e {
        ConfigError::Read { .. } => {
            ": copy the sample bmsettings.ini from the repository, or pass --config PATH"
        }
        _ => "",
    };
    CheckLine::fail("config", format!("{e}{hint}"))
}

/// `what` within `limit`, else `None`.
async fn within<T>(limit: Duration, what: impl Future<Output = T>) -> Option<T> {
    tokio::time::timeout(limit, what).await.ok()
}

/// Opens the store (refusing to create a missing SQLite file: a check
/// records nothing) and runs its self-check.
async fn check_store(settings: &Settings) -> CheckLine {
    let url = settings.database_url.clone();
    let sqlite_file = url.expose().strip_prefix("sqlite://").map(str::to_string);
    if let Some(path) = sqlite_file.as_deref().filter(|p| !Path::new(p).exists()) {
        return missing_sqlite(path);
    }
    let checked = within(
        STORE_TIMEOUT,
        tokio::task::spawn_blocking(move || {
            let store = crate::store::open(url.expose())?;
            store.self_check()
        }),
    )
    .await;
    let place = sqlite_file.map(|p| format!(" at {p}")).unwrap_or_default();
    match checked {
        None => CheckLine::fail(
            "database",
            format!(
                "no answer within {}s: check that the database server runs and that DATABASE_URL names the right host and port",
                STORE_TIMEOUT.as_secs()
            ),
        ),
        Some(Err(e)) => CheckLine::fail("database", format!("the check failed: {e}")),
        Some(Ok(Err(e))) => CheckLine::fail(
            "database",
            format!("{e}: check DATABASE_URL (README: Configuration, MongoDB)"),
        ),
        Some(Ok(Ok(version))) => CheckLine::ok(
            "database",
            format!("{version}{place}: wrote, read back and deleted a scratch value"),
        ),
    }
}

/// A SQLite store that does not exist yet: fine if its folder is writable
/// (`bman run` creates it there).
fn missing_sqlite(path: &str) -> CheckLine {
    let folder = match Path::new(path).parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let probe = folder.join(format!(".bman-check-{}", std::process::id()));
    let writable = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
        .map(|_| std::fs::remove_file(&probe));
    match writable {
        Ok(_) => CheckLine::ok(
            "database",
            format!(
                "SQLite {}: {path} does not exist yet; `bman run` creates it (its folder is writable)",
                rusqlite::version()
            ),
        ),
        Err(e) => CheckLine::fail(
            "database",
            format!(
                "{path} does not exist and cannot be created in {} ({e}): fix the folder or DATABASE_URL",
                folder.display()
            ),
        ),
    }
}

/// Whether the metrics address can be bound (and releases it at once).
async fn check_metrics(settings: &Settings) -> CheckLine {
    match settings.metrics.listen {
        None => CheckLine::skip(
            "metrics",
            "off: [metrics] listen or BMAN_METRICS_ADDR turns on /healthz and /metrics",
        ),
        Some(addr) => match crate::metrics::bind(addr).await {
            Ok(_) => CheckLine::ok(
                "metrics",
                format!("{addr} is free for /healthz and /metrics"),
            ),
            Err(e) => CheckLine::fail("metrics", e.to_string()),
        },
    }
}

/// Game text shown in a check line: control characters out, at most 60 characters.
fn shown(text: &str) -> String {
    let clean: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    crate::views::clip(clean.trim(), 60)
}
