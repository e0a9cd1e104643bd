//! End-to-end ingest benchmarks (not criterion: each is one long run).
//! Run: `cargo bench --bench ingest`.
//!
//! 1. Replay throughput: a large journal (simulated matches of every mode)
//!    replayed into a fresh SQLite store, as `bman replay` does. Target
//!    ≥ 50,000 events/s.
//! 2. Live latency: the simulator sends 500 events/s over TCP; for every
//!    event, the time from its receipt (the journal's `ts_ms`) to the commit
//!    that made it durable. Target p99 ≤ 250 ms.

use bman::app::{Ingest, Recorder};
use bman::config::Settings;
use bman::journal::{journal_path, JournalReader};
use bman::mode::Mode;
use bman::rcon::supervisor::RetryPolicy;
use bman::sim::SimOptions;
use bman::store::*;
use clap::Parser;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Parser)]
struct SimArgs {
    #[command(flatten)]
    sim: SimOptions,
}

fn sim_opts(args: &[&str]) -> SimOptions {
    let mut all = vec!["simulate"];
    all.extend_from_slice(args);
    SimArgs::parse_from(all).sim
}

fn settings(dir: &Path, servers: &str) -> Settings {
    let ini = format!("[config]\njournal_dir = {}\n{servers}", dir.join("journal").display());
    let db = format!("sqlite://{}", dir.join("bench.sqlite3").display());
    Settings::parse(Path::new("bench.ini"), &ini, &|k| (k == "DATABASE_URL").then(|| db.clone())).unwrap()
}

fn replay_throughput(rt: &tokio::runtime::Runtime) {
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    let mut events = 0usize;
    for mode in Mode::ALL {
        let path = dir.path().join(format!("{mode}.jsonl"));
        let opts = sim_opts(&["--mode", mode.as_str(), "--matches", "60", "--players", "12", "--seed", "7"]);
        let mut out = Vec::new();
        bman::sim::dump(&opts, &mut out).unwrap();
        // Give each journal its own server name, as in a real fleet.
        let text = String::from_utf8(out).unwrap().replace("\"server\":\"sim\"", &format!("\"server\":\"{mode}\""));
        events += text.lines().count();
        std::fs::write(&path, text).unwrap();
        files.push(path);
    }
    let settings = settings(dir.path(), "");
    let store = bman::app::open_store(&settings).unwrap();
    let started = Instant::now();
    rt.block_on(async {
        let recorder = Recorder::start(store.clone(), &settings);
        recorder.replay(&files, &|_| {}).await.unwrap();
        recorder.stop().await;
    });
    let took = started.elapsed();
    let facts = store.next_seq().unwrap() - 1;
    println!(
        "ingest/replay: {events} events ({facts} facts) in {:.2}s = {:.0} events/s (target >= 50000)",
        took.as_secs_f64(),
        events as f64 / took.as_secs_f64()
    );
}

/// Delegates to SQLite and notes, per server, the journal offset each commit made durable and when.
struct TimedStore {
    inner: Arc<dyn Store>,
    commits: Mutex<Vec<(String, u64, i64)>>,
}

impl Store for TimedStore {
    fn apply(&self, batch: &WriteBatch) -> StoreResult<()> {
        self.inner.apply(batch)?;
        let now = bman::pipeline::now_ms();
        let mut commits = self.commits.lock().unwrap();
        for c in &batch.checkpoints {
            commits.push((c.server.clone(), c.offset, now));
        }
        Ok(())
    }
    fn next_seq(&self) -> StoreResult<i64> {
        self.inner.next_seq()
    }
    fn load_stats(&self, mode: Mode, keys: &[PlayerKey]) -> StoreResult<HashMap<PlayerKey, ModeStats>> {
        self.inner.load_stats(mode, keys)
    }
    fn checkpoint(&self, server: &str, epoch: i64) -> StoreResult<Option<Checkpoint>> {
        self.inner.checkpoint(server, epoch)
    }
    fn leaderboard(&self, query: &LeaderboardQuery) -> StoreResult<Vec<LeaderboardRow>> {
        self.inner.leaderboard(query)
    }
    fn find_players(&self, query: &str, limit: usize) -> StoreResult<Vec<PlayerSummary>> {
        self.inner.find_players(query, limit)
    }
    fn profile(&self, key: &PlayerKey) -> StoreResult<Option<PlayerProfile>> {
        self.inner.profile(key)
    }
    fn rating_history(&self, key: &PlayerKey, mode: Mode) -> StoreResult<Vec<RatingPoint>> {
        self.inner.rating_history(key, mode)
    }
    fn facts(&self, mode: Mode) -> StoreResult<Vec<StoredFact>> {
        self.inner.facts(mode)
    }
    fn replace_ratings(&self, mode: Mode, facts: &[StoredFact], stats: &[(PlayerKey, ModeStats)]) -> StoreResult<()> {
        self.inner.replace_ratings(mode, facts, stats)
    }
}

fn live_latency(rt: &tokio::runtime::Runtime) {
    let dir = tempfile::tempdir().unwrap();
    let seconds = 20;
    let opts = sim_opts(&["--port", "0", "--mode", "tdm", "--rate", "500", "--players", "12", "--password", "pw"]);
    rt.block_on(async {
        let sim = bman::sim::serve(opts).await.unwrap();
        let servers = format!("[server.live]\nport = {}\nmode = tdm\npassword = pw\n", sim.local_addr().port());
        let settings = settings(dir.path(), &servers);
        let store = Arc::new(TimedStore {
            inner: bman::app::open_store(&settings).unwrap(),
            commits: Mutex::new(Vec::new()),
        });
        let recorder = Recorder::start(store.clone(), &settings);
        let ingest = Ingest::start(&settings, &recorder, RetryPolicy::default()).await.unwrap();
        tokio::time::sleep(Duration::from_secs(seconds)).await;
        ingest.stop().await;
        recorder.stop().await;
        let commits = store.commits.lock().unwrap().clone();
        let mut latencies = Vec::new();
        let reader = JournalReader::open(&journal_path(&dir.path().join("journal"), "live")).unwrap();
        for item in reader {
            let (line, pos) = item.unwrap();
            // The first commit whose checkpoint reaches this line made it durable.
            if let Some((_, _, at)) = commits.iter().find(|(_, offset, _)| *offset >= pos.offset) {
                latencies.push(at - line.ts_ms);
            }
        }
        latencies.sort_unstable();
        let pct = |p: f64| latencies[((latencies.len() - 1) as f64 * p) as usize];
        println!(
            "ingest/live: {} events over {seconds}s at 500/s: received->committed p50 {} ms, p99 {} ms, max {} ms (target p99 <= 250 ms)",
            latencies.len(),
            pct(0.5),
            pct(0.99),
            latencies.last().unwrap()
        );
    });
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` passes nothing: skip the long runs there.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    replay_throughput(&rt);
    live_latency(&rt);
}
