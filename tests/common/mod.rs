//! Shared test helpers: simulator options, settings pointing at simulators,
//! and journal reading.
#![allow(dead_code)] // each test binary uses a different subset

pub mod binary;
pub mod fake_discord;
pub mod scrape;

use bman::app::{open_store, Ingest};
use bman::config::Settings;
use bman::handlers::Handler;
use bman::journal::{journal_path, JournalReader};
use bman::model::Mode;
use bman::pipeline::Recorder;
use bman::rcon::supervisor::RetryPolicy;
use bman::sim::{SimEvent, SimOptions};
use clap::Parser;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

#[derive(Parser)]
struct SimArgs {
    #[command(flatten)]
    sim: SimOptions,
}

/// One deathmatch match at full speed (seed 5), pinging every 0.5 s; chat
/// lines a test injects afterwards go out at once.
pub fn one_dm_match_sim_opts() -> SimOptions {
    sim_opts(
        Mode::Dm,
        &[
            "--matches",
            "1",
            "--rate",
            "0",
            "--seed",
            "5",
            "--ping-secs",
            "0.5",
        ],
    )
}

/// Simulator options as `bman simulate` would parse them, on a free port.
pub fn sim_opts(mode: Mode, extra: &[&str]) -> SimOptions {
    let mut args = vec![
        "simulate",
        "--port",
        "0",
        "--mode",
        mode.as_str(),
        "--password",
        "pw",
    ];
    args.extend_from_slice(extra);
    SimArgs::parse_from(args).sim
}

/// The game events a finite scenario sends, in order (without the console
/// echoes it also sends, which are housekeeping like replies and pings).
pub fn scenario_events(opts: &SimOptions) -> Vec<SimEvent> {
    bman::sim::scenario(opts)
        .filter(|e| !is_housekeeping(e.id))
        .collect()
}

/// The SQLite store of a test directory.
pub fn sqlite_url(dir: &Path) -> String {
    format!("sqlite://{}", dir.join("bman.sqlite3").display())
}

/// Settings with one `[server.NAME]` per (name, mode, port, password); the
/// journal and the SQLite store live in `dir`.
pub fn settings(servers: &[(&str, Mode, u16, &str)], dir: &Path) -> Settings {
    settings_with_store(servers, dir, &sqlite_url(dir))
}

/// Like [`settings`], with the store at `database` (any `DATABASE_URL`).
pub fn settings_with_store(
    servers: &[(&str, Mode, u16, &str)],
    dir: &Path,
    database: &str,
) -> Settings {
    let mut ini = format!(
        "[config]\njournal_dir = {}\n",
        dir.join("journal").display()
    );
    for (name, mode, port, password) in servers {
        ini.push_str(&format!(
            "[server.{name}]\nhost = 127.0.0.1\nport = {port}\nmode = {mode}\npassword = {password}\n"
        ));
    }
    Settings::parse(Path::new("test.ini"), &ini, &|k| {
        (k == "DATABASE_URL").then(|| database.to_string())
    })
    .expect("test settings parse")
}

/// Opens the settings' store and starts the ingest with the built-in handlers, as `bman run` does.
pub async fn start(settings: &Settings) -> (Ingest, Recorder) {
    start_with(settings, bman::app::builtin_handlers(settings)).await
}

/// [`start`] with the given handlers.
pub async fn start_with(
    settings: &Settings,
    handlers: Vec<Arc<dyn Handler>>,
) -> (Ingest, Recorder) {
    let recorder = Recorder::start(open_store(settings).expect("store opens"), settings);
    let ingest = Ingest::start(settings, &recorder, fast_retry(), handlers)
        .await
        .expect("ingest starts");
    (ingest, recorder)
}

/// Stops the ingest, then the writer.
pub async fn stop(ingest: Ingest, recorder: Recorder) -> bman::pipeline::EventCounts {
    let counts = ingest.stop().await;
    recorder.stop().await;
    counts
}

/// Reconnect quickly in tests.
pub fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        min: Duration::from_millis(20),
        max: Duration::from_millis(200),
        login_rejected: Duration::from_secs(60),
        connect_timeout: Duration::from_secs(2),
    }
}

/// Ids that are RCON housekeeping, not scenario events.
pub fn is_housekeeping(id: u16) -> bool {
    matches!(id, 34 | 35 | 36 | 41)
}

/// The scenario events recorded in a server's journal, in order.
pub fn journaled_game_events(dir: &Path, server: &str) -> Vec<(u16, String)> {
    JournalReader::open(&journal_path(&dir.join("journal"), server))
        .expect("journal exists")
        .map(|line| line.expect("journal line parses").0)
        .filter(|line| {
            !is_housekeeping(line.id) && bman::event::decode(line.id, &line.json).is_ok()
        })
        .map(|line| (line.id, line.json))
        .collect()
}

pub fn as_pairs(events: &[SimEvent]) -> Vec<(u16, String)> {
    events.iter().map(|e| (e.id, e.json.clone())).collect()
}

/// Waits until `n` scenario events of `server` are in its journal (the
/// simulator having written them does not mean bman has read them yet).
pub async fn wait_journaled(dir: &Path, server: &str, n: usize) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let path = journal_path(&dir.join("journal"), server);
        let have = if path.exists() {
            journaled_game_events(dir, server).len()
        } else {
            0
        };
        if have >= n {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{server}: only {have} of {n} events journaled"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// `BMAN_TEST_MONGODB_URI`, when the MongoDB variants of the tests should run.
pub fn mongo_uri() -> Option<String> {
    std::env::var("BMAN_TEST_MONGODB_URI")
        .ok()
        .filter(|u| !u.is_empty())
}

/// `base` with its database (default `bmdb_test`) renamed to one no other
/// test or run uses, so each test starts from an empty store.
pub fn unique_mongo_url(base: &str, label: &str) -> String {
    static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let (scheme, rest) = base.split_once("://").expect("a mongodb:// URI");
    let (rest, query) = rest
        .split_once('?')
        .map_or((rest, None), |(r, q)| (r, Some(q)));
    let (hosts, db) = rest.split_once('/').unwrap_or((rest, ""));
    let db = if db.is_empty() { "bmdb_test" } else { db };
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
        % 1_000_000;
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let label: String = label
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    // MongoDB database names are at most 63 bytes; the unique part comes first.
    let mut name = format!("{db}_{}_{stamp}_{n}_{label}", std::process::id());
    name.truncate(63);
    let query = query.map(|q| format!("?{q}")).unwrap_or_default();
    format!("{scheme}://{hosts}/{name}{query}")
}

/// bman (`app::run_with` with the built-in handlers) running in this test's
/// process, and how to stop it.
pub struct InProcessBman {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<bman::pipeline::EventCounts, bman::app::AppError>>,
    pub settings: Settings,
}

impl InProcessBman {
    pub fn start(settings: &Settings) -> InProcessBman {
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let run_settings = settings.clone();
        let task = tokio::spawn(async move {
            let handlers = bman::app::builtin_handlers(&run_settings);
            bman::app::run_with(&run_settings, handlers, async {
                let _ = stopped.await;
            })
            .await
        });
        InProcessBman {
            stop,
            task,
            settings: settings.clone(),
        }
    }

    /// Stops it and checks that it ended cleanly within 10 s.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        let result = tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("bman stops within 10 s")
            .unwrap();
        assert!(result.is_ok(), "{result:?}");
    }
}
