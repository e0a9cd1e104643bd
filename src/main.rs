//! The `bman` command line: a thin shell over the library.

mod cli;

use bman::config::Settings;
use bman::model::LeaderboardQuery;
use bman::model::Mode;
use bman::sim::SimOptions;
use bman::views::{self, Lookup};
use clap::Parser;
use cli::{Cli, Command, ConfigFile};
use std::path::PathBuf;
use std::process::ExitCode;
use tracing::{error, info, warn};

/// Why a command failed: the line the user reads, with the underlying error
/// kept as its source.
#[derive(Debug, thiserror::Error)]
enum CliError {
    #[error(transparent)]
    Config(#[from] bman::config::ConfigError),
    #[error(
        "{0}\nbman reads its servers from this file. Copy the sample from the repository \
         (bmsettings.ini) or pass --config PATH."
    )]
    NoConfig(#[source] bman::config::ConfigError),
    #[error(transparent)]
    Store(#[from] bman::store::StoreError),
    /// A step that failed, in the user's words, and why.
    #[error("{what}: {source}")]
    Failed {
        what: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A request bman refuses, with what to do instead.
    #[error("{0}")]
    Refused(String),
}

/// `map_err(failed("replay failed"))`: the step's words, then the error.
fn failed<E: std::error::Error + Send + Sync + 'static>(
    what: impl Into<String>,
) -> impl FnOnce(E) -> CliError {
    let what = what.into();
    move |e| CliError::Failed {
        what,
        source: Box::new(e),
    }
}

fn main() -> ExitCode {
    // .env first, so RUST_LOG from it applies; the real environment wins.
    let dotenv = dotenvy::dotenv();
    let cli = Cli::parse();
    let mut filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // `bman check` reports each server in a line of its own; the
    // supervisor's retry messages would say the same less precisely.
    if matches!(cli.command, Some(Command::Check { .. })) {
        if let Ok(quiet) = "bman::rcon=off".parse() {
            filter = filter.add_directive(quiet);
        }
    }
    let log_format = std::env::var("LOG_FORMAT").unwrap_or_default();
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if log_format.eq_ignore_ascii_case("json") {
        // One JSON object per line: timestamp, level, target, the event's
        // fields (`message`, `server`, …) at the top level, and its spans.
        logs.json().flatten_event(true).init();
    } else {
        logs.with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init();
        if !matches!(log_format.to_ascii_lowercase().as_str(), "" | "text") {
            warn!("LOG_FORMAT={log_format:?} is not a log format (json or text); writing text");
        }
    }
    if let Err(e) = &dotenv {
        if !e.not_found() {
            warn!("ignoring .env: {e}");
        }
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            error!("cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        let outer = cli.config;
        let done = match cli.command.unwrap_or(Command::Run(ConfigFile::default())) {
            Command::Run(config) => run(&config.path(&outer)).await,
            Command::Simulate(opts) => simulate(opts).await,
            Command::Replay {
                config,
                files,
                json,
            } => replay(&config.path(&outer), &files, json).await,
            Command::Leaderboard {
                config,
                mode,
                limit,
                page,
                min_games,
                active_days,
                all,
                json,
            } => {
                let query = LeaderboardQuery {
                    mode,
                    limit: limit.max(1),
                    offset: page.saturating_sub(1) * limit.max(1),
                    min_games: (!all).then_some(min_games),
                    active_since_ms: active_days
                        .filter(|_| !all)
                        .map(|d| bman::model::now_ms() - i64::from(d) * 86_400_000),
                };
                leaderboard(&config.path(&outer), &query, json)
            }
            Command::Profile {
                config,
                query,
                json,
            } => return profile(&config.path(&outer), &query, json),
            Command::Audit {
                config,
                limit,
                json,
            } => audit(&config.path(&outer), limit, json),
            Command::Bans { config, all, json } => list_bans(&config.path(&outer), all, json),
            Command::Ban {
                config,
                query,
                duration,
                reason,
                server,
            } => {
                let request = bman::bans::BanRequest {
                    query: &query,
                    duration: Some(&duration),
                    reason: Some(&reason),
                    server: server.as_deref(),
                    by: bman::model::BanActor::cli(),
                    now_ms: bman::model::now_ms(),
                };
                ban(&config.path(&outer), &request)
            }
            Command::Unban { config, query } => unban(&config.path(&outer), &query),
            Command::Rerate { config, mode } => rerate(&config.path(&outer), mode),
            Command::Evaluate { config, args } => evaluate(&config.path(&outer), &args),
            Command::Repair(config) => repair(&config.path(&outer)),
            Command::Backup { config, path } => backup(&config.path(&outer), &path),
            Command::Migrate { from, to } => migrate(&from, &to),
            Command::Check { config, json } => return Ok(check(&config.path(&outer), json).await),
        };
        done.map(|()| ExitCode::SUCCESS)
    });
    match result {
        Ok(code) => code,
        Err(message) => {
            error!("{message}");
            ExitCode::FAILURE
        }
    }
}

/// Settings for commands that only read the store: a missing file is fine.
fn load_settings_for_store(path: &std::path::Path) -> Result<Settings, CliError> {
    if !path.exists() {
        return Ok(Settings::parse(path, "", &|k| std::env::var(k).ok())?);
    }
    load_settings(path)
}

/// An SQLite store URL whose file does not exist: commands that only read
/// (or copy from) a store refuse it instead of creating an empty database.
fn missing_sqlite_file(url: &str) -> Option<&str> {
    let path = url.strip_prefix("sqlite://")?;
    (!std::path::Path::new(path).exists()).then_some(path)
}

/// The configured store, which must already exist (see [`missing_sqlite_file`]).
fn open_existing_store(
    config: &std::path::Path,
) -> Result<(Settings, std::sync::Arc<dyn bman::store::Store>), CliError> {
    let settings = load_settings_for_store(config)?;
    if let Some(path) = missing_sqlite_file(settings.database_url.expose()) {
        return Err(CliError::Refused(format!(
            "no store at {path} yet: `bman run` or `bman replay` creates it (or set DATABASE_URL to an existing store)"
        )));
    }
    open_configured_store(settings)
}

fn open_store(
    config: &std::path::Path,
) -> Result<(Settings, std::sync::Arc<dyn bman::store::Store>), CliError> {
    open_configured_store(load_settings_for_store(config)?)
}

fn open_configured_store(
    settings: Settings,
) -> Result<(Settings, std::sync::Arc<dyn bman::store::Store>), CliError> {
    let store = bman::app::open_store(&settings).map_err(failed("cannot open the store"))?;
    Ok((settings, store))
}

fn leaderboard(
    config: &std::path::Path,
    query: &LeaderboardQuery,
    json: bool,
) -> Result<(), CliError> {
    let (_, store) = open_existing_store(config)?;
    let rows = store.leaderboard(query)?;
    if json {
        println!("{}", views::leaderboard_json(query.mode, &rows));
    } else if !rows.is_empty() {
        print!("{}", views::leaderboard_table(query.mode, &rows));
    } else if query.min_games.is_some() || query.active_since_ms.is_some() {
        println!(
            "No {} players match these filters (--all shows everyone).",
            query.mode
        );
    } else {
        println!("No {} players recorded yet.", query.mode);
    }
    Ok(())
}

/// `bman profile` exit codes: the answer "nobody" or "several" is not a failure.
const NO_SUCH_PLAYER: u8 = 2;
const SEVERAL_PLAYERS: u8 = 3;

fn profile(config: &std::path::Path, query: &str, json: bool) -> Result<ExitCode, CliError> {
    let (_, store) = open_existing_store(config)?;
    match views::lookup(store.as_ref(), query)? {
        Lookup::NotFound => {
            println!("no player matches {query:?}");
            Ok(ExitCode::from(NO_SUCH_PLAYER))
        }
        Lookup::Ambiguous(candidates) => {
            let list = views::candidates_text(store.as_ref(), &candidates)?;
            println!(
                "{query:?} matches several players; be more precise or use a profile id:\n{list}"
            );
            Ok(ExitCode::from(SEVERAL_PLAYERS))
        }
        Lookup::Found(player) => {
            let profile = store
                .profile(&player.key)?
                .ok_or_else(|| CliError::Refused(format!("player {} vanished", player.name)))?;
            if json {
                println!("{}", views::profile_json(&profile));
            } else {
                print!("{}", views::profile_text(&profile));
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn audit(config: &std::path::Path, limit: usize, json: bool) -> Result<(), CliError> {
    let (_, store) = open_existing_store(config)?;
    let records = store.audit_log(limit)?;
    if json {
        println!("{}", views::audit_json(&records));
    } else {
        print!("{}", views::audit_table(&records));
    }
    Ok(())
}

fn list_bans(config: &std::path::Path, all: bool, json: bool) -> Result<(), CliError> {
    let (_, store) = open_existing_store(config)?;
    let now = bman::model::now_ms();
    let query = if all {
        bman::model::BanQuery::all()
    } else {
        bman::model::BanQuery::active(now)
    };
    let bans = store.bans(&query)?;
    if json {
        println!("{}", bman::bans::bans_json(&bans, now));
    } else {
        print!("{}", bman::bans::bans_text(&bans, now));
    }
    Ok(())
}

/// A ban command's refusal as the CLI's one error line.
fn refused(refusal: &bman::bans::Refusal) -> CliError {
    CliError::Refused(refusal.message(&|s| s.to_string()))
}

fn ban(config: &std::path::Path, request: &bman::bans::BanRequest) -> Result<(), CliError> {
    let (settings, store) = open_existing_store(config)?;
    let servers: Vec<String> = settings.servers.iter().map(|s| s.name.clone()).collect();
    let ban = bman::bans::issue(store.as_ref(), &servers, request)?.map_err(|r| refused(&r))?;
    print!("banned {}", bman::bans::bans_text(&[ban], request.now_ms));
    Ok(())
}

fn unban(config: &std::path::Path, query: &str) -> Result<(), CliError> {
    let (_, store) = open_existing_store(config)?;
    let by = bman::model::BanActor::cli();
    let (player, n) = bman::bans::lift(store.as_ref(), query, by, bman::model::now_ms())?
        .map_err(|r| refused(&r))?;
    println!(
        "lifted {n} ban{} of {} (profile {})",
        if n == 1 { "" } else { "s" },
        player.name,
        player.key.id
    );
    Ok(())
}

fn rerate(config: &std::path::Path, mode: Option<Mode>) -> Result<(), CliError> {
    let (settings, store) = open_store(config)?;
    let params = bman::pipeline::rating_params(&settings);
    for mode in mode.map_or(Mode::ALL.to_vec(), |m| vec![m]) {
        let bar = progress_bar(0);
        let n = bman::rater::rerate(store.as_ref(), params, mode, &|done, total| {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        })
        .map_err(failed(format!("rerate of {mode} failed")))?;
        bar.finish_and_clear();
        println!("{mode}: re-rated {n} facts");
    }
    Ok(())
}

fn evaluate(config: &std::path::Path, args: &bman::evaluate::EvaluateArgs) -> Result<(), CliError> {
    let (settings, store) = open_existing_store(config)?;
    let params = bman::pipeline::rating_params(&settings);
    let out = bman::evaluate::command(store.as_ref(), args, params).map_err(failed("evaluate"))?;
    print!("{out}");
    Ok(())
}

fn repair(config: &std::path::Path) -> Result<(), CliError> {
    let (settings, store) = open_store(config)?;
    let bar = progress_bar(0);
    let report = bman::repair::repair_bots(
        store.as_ref(),
        bman::pipeline::rating_params(&settings),
        &|_, done, total| {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        },
    )
    .map_err(failed("repair failed"))?;
    bar.finish_and_clear();
    if report.bots.is_empty() {
        println!("nothing to repair: no bots are recorded as players");
        return Ok(());
    }
    let facts: usize = report.rerated.iter().map(|(_, n)| n).sum();
    println!(
        "removed {} bots recorded as players ({}); recomputed every rating from {facts} facts",
        report.bots.len(),
        bman::repair::bot_list(&report.bots)
    );
    Ok(())
}

fn load_settings(path: &std::path::Path) -> Result<Settings, CliError> {
    Settings::load(path, &|k| std::env::var(k).ok()).map_err(|e| match e {
        bman::config::ConfigError::Read { .. } => CliError::NoConfig(e),
        e => e.into(),
    })
}

async fn run(config: &std::path::Path) -> Result<(), CliError> {
    let settings = load_settings(config)?;
    if settings.servers.is_empty() {
        return Err(CliError::Refused(format!(
            "{}: no game servers configured: add ports to [bm] or a [server.NAME] section",
            config.display()
        )));
    }
    for s in &settings.servers {
        info!(server = %s.name, "{} server at {}", s.mode, s.address());
        if is_local_and_silent(&s.host, s.port) {
            info!(
                server = %s.name,
                "nothing listens on {} yet; to try bman without a game, run `bman simulate --port {} --mode {}` in another terminal",
                s.address(),
                s.port,
                s.mode
            );
        }
    }
    info!("journal: {}", settings.journal_dir.display());
    if settings.discord_token.is_none() {
        warn!("DISCORD_TOKEN is not set: the Discord bot is off, recording only. Put DISCORD_TOKEN=... in .env to enable it (README: Discord setup).");
    } else {
        let d = &settings.discord;
        let announce_anywhere = d.announce_channel_id.is_some()
            || settings
                .servers
                .iter()
                .any(|s| s.announce_channel_id.is_some());
        if !announce_anywhere {
            warn!("[discord] announce_channel_id is not set: match results and wave milestones only go to the log");
        }
        if d.admin_role_ids.is_empty() && d.admin_user_ids.is_empty() {
            warn!("[discord] admin_role_ids and admin_user_ids are empty: /rcon, /say, /kick, /ban, /unban, /bans and /whois are denied to everyone");
        }
        if d.guild_id.is_none() {
            info!("[discord] guild_id is not set: slash commands are registered globally and can take up to an hour to appear");
        }
    }
    bman::app::run(&settings, bman::app::shutdown_signal())
        .await
        .map(|_| ())
        .map_err(failed("cannot start"))
}

/// A server on this machine that refuses connections: most likely a first
/// start before any game server (or the simulator) runs.
fn is_local_and_silent(host: &str, port: u16) -> bool {
    let local = matches!(host, "127.0.0.1" | "localhost" | "::1");
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    local
        && std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_millis(200))
            .is_err()
}

async fn simulate(opts: SimOptions) -> Result<(), CliError> {
    bman::sim::run(opts, bman::app::shutdown_signal())
        .await
        .map_err(failed("simulator failed"))
}

async fn replay(config: &std::path::Path, files: &[PathBuf], json: bool) -> Result<(), CliError> {
    let files = bman::journal::journal_files(files).map_err(failed("cannot read the journal"))?;
    let total: u64 = files
        .iter()
        .map(|f| {
            std::fs::metadata(f)
                .map(|m| m.len())
                .map_err(failed(f.display().to_string()))
        })
        .sum::<Result<u64, CliError>>()?;
    let (settings, store) = open_store(config)?;
    let recorder = bman::pipeline::Recorder::start(store, &settings);
    let bar = progress_bar(total);
    let (counts, already) = recorder
        .replay(&files, &|done| bar.set_position(done))
        .await
        .map_err(failed("replay failed"))?;
    recorder.stop().await;
    bar.finish_and_clear();
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&counts).unwrap_or_default()
        );
        return Ok(());
    }
    if counts.0.is_empty() {
        println!("nothing new: all {already} events were already applied");
        return Ok(());
    }
    print!("new events:\n{}", counts.to_table());
    if already > 0 {
        println!("skipped {already} events that were already applied");
    }
    Ok(())
}

/// `bman check`: the report on stdout; exit code 0 only when every check passes.
async fn check(config: &std::path::Path, json: bool) -> ExitCode {
    let report = bman::check::run(config, &|k| std::env::var(k).ok()).await;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        );
    } else {
        print!("{}", report.to_text());
    }
    if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn backup(config: &std::path::Path, dest: &std::path::Path) -> Result<(), CliError> {
    let settings = load_settings_for_store(config)?;
    let Some(source) = settings.database_url.expose().strip_prefix("sqlite://") else {
        return Err(CliError::Refused(
            "bman backup copies SQLite stores; back up MongoDB with its own tools \
             (mongodump, or your host's snapshots: README, Deploying)"
                .to_string(),
        ));
    };
    let started = std::time::Instant::now();
    let bytes = bman::store::sqlite::backup(std::path::Path::new(source), dest)
        .map_err(failed("backup failed"))?;
    println!(
        "backed up {source} to {} ({:.1} MB in {:.1} s)",
        dest.display(),
        bytes as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn migrate(from: &str, to: &str) -> Result<(), CliError> {
    if let Some(path) = missing_sqlite_file(from) {
        return Err(CliError::Refused(format!(
            "no store to migrate from at {path}"
        )));
    }
    let source = bman::store::open(from).map_err(failed("cannot open the source store"))?;
    let target = bman::store::open(to).map_err(failed("cannot open the target store"))?;
    let bar = progress_bar(0);
    let counts = bman::migrate::migrate(source.as_ref(), target.as_ref(), &|done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    })
    .map_err(failed("migration failed"))?;
    bar.finish_and_clear();
    println!("migrated {counts}");
    Ok(())
}

/// A byte progress bar on a terminal; hidden when stderr is not one.
fn progress_bar(total: u64) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(total);
    if let Ok(style) = indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} eta {eta}") {
        bar.set_style(style);
    }
    bar
}
