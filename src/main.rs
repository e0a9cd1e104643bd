//! The `bman` command line: a thin shell over the library.

use bman::config::Settings;
use bman::sim::SimOptions;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use tracing::{error, info, warn};

#[derive(Parser)]
#[command(name = "bman", version, about = "Boring Man 2 community stats, ratings and Discord bot")]
struct Cli {
    /// The settings file (the original tool's bmsettings.ini format).
    #[arg(long, global = true, env = "BMAN_CONFIG", default_value = "bmsettings.ini")]
    config: PathBuf,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Connect to every configured server and record (the default).
    Run,
    /// Serve a simulated Boring Man 2 server (tests, demos, trying bman without a game).
    Simulate(SimOptions),
    /// Feed journal files through the pipeline, as fast as possible, in file order.
    Replay {
        /// Journal files (journal/<server>.jsonl).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Print the event counts as JSON.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    // .env first, so RUST_LOG from it applies; the real environment wins.
    let dotenv = dotenvy::dotenv();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    if let Err(e) = &dotenv {
        if !e.not_found() {
            warn!("ignoring .env: {e}");
        }
    }
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            error!("cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command.unwrap_or(Command::Run) {
            Command::Run => run(&cli.config).await,
            Command::Simulate(opts) => simulate(opts).await,
            Command::Replay { files, json } => replay(&files, json).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            error!("{message}");
            ExitCode::FAILURE
        }
    }
}

fn load_settings(path: &std::path::Path) -> Result<Settings, String> {
    Settings::load(path, &|k| std::env::var(k).ok()).map_err(|e| match e {
        bman::config::ConfigError::Read { .. } => format!(
            "{e}\nbman reads its servers from this file. Copy the sample from the repository \
             (bmsettings.ini) or pass --config PATH."
        ),
        e => e.to_string(),
    })
}

async fn run(config: &std::path::Path) -> Result<(), String> {
    let settings = load_settings(config)?;
    if settings.servers.is_empty() {
        return Err(format!(
            "{}: no game servers configured: add ports to [bm] or a [server.NAME] section",
            config.display()
        ));
    }
    for s in &settings.servers {
        info!(server = %s.name, "{} server at {}", s.mode, s.address());
    }
    info!("journal: {}", settings.journal_dir.display());
    if settings.discord_token.is_none() {
        warn!("DISCORD_TOKEN is not set: the Discord bot is off, recording only. Put DISCORD_TOKEN=... in .env to enable it.");
    }
    bman::app::run(&settings, shutdown_signal())
        .await
        .map(|_| ())
        .map_err(|e| format!("cannot start: {e}"))
}

async fn simulate(opts: SimOptions) -> Result<(), String> {
    if opts.dump {
        let stdout = std::io::stdout();
        return bman::sim::dump(&opts, &mut stdout.lock()).map_err(|e| format!("dump failed: {e}"));
    }
    bman::sim::run(opts, shutdown_signal())
        .await
        .map_err(|e| format!("simulator failed: {e}"))
}

async fn replay(files: &[PathBuf], json: bool) -> Result<(), String> {
    let total: u64 = files
        .iter()
        .map(|f| std::fs::metadata(f).map(|m| m.len()).map_err(|e| format!("{}: {e}", f.display())))
        .sum::<Result<u64, String>>()?;
    let bar = progress_bar(total);
    let counts = bman::app::replay(files, &|done| bar.set_position(done))
        .await
        .map_err(|e| format!("replay failed: {e}"))?;
    bar.finish_and_clear();
    if json {
        println!("{}", serde_json::to_string_pretty(&counts).unwrap_or_default());
    } else {
        print!("{}", counts.to_table());
    }
    Ok(())
}

/// A byte progress bar on a terminal; hidden when stderr is not one.
fn progress_bar(total: u64) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(total);
    if let Ok(style) = indicatif::ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}") {
        bar.set_style(style);
    }
    bar
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
