//! End-to-end ingest benchmarks (not criterion: each is one long run).
//! Run: `cargo bench --bench ingest`.
//!
//! 1. Replay throughput: a large journal (simulated matches of every mode)
//!    replayed into a fresh SQLite store, as `bman replay` does. Target
//!    ≥ 50,000 events/s.
//! 2. Journal size and replay from compressed segments: the same events as
//!    plain journal files and as segments written by the journal writer
//!    (closed ones gzip-compressed, as `bman run` leaves them): bytes per
//!    event of each, and `bman replay` of a directory of segments.
//! 3. Live latency: the simulator sends 500 events/s over TCP; for every
//!    event, the time from its receipt (the journal's `ts_ms`) to the commit
//!    that made it durable. Target p99 ≤ 250 ms.

use bman::app::Ingest;
use bman::config::Settings;
use bman::handlers::{Context, Delivery, Handler};
use bman::journal::{
    journal_path, server_segments, JournalLine, JournalReader, JournalWriter, Rotation,
};
use bman::model::Mode;
use bman::pipeline::Recorder;
use bman::rcon::supervisor::RetryPolicy;
use bman::sim::SimOptions;
use clap::Parser;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
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
    let ini = format!(
        "[config]\njournal_dir = {}\n{servers}",
        dir.join("journal").display()
    );
    let db = format!("sqlite://{}", dir.join("bench.sqlite3").display());
    Settings::parse(Path::new("bench.ini"), &ini, &|k| {
        (k == "DATABASE_URL").then(|| db.clone())
    })
    .unwrap()
}

/// Simulated matches of every mode, one journal text per mode (as its own server).
fn journals() -> Vec<(Mode, String)> {
    Mode::ALL
        .iter()
        .map(|mode| {
            let opts = sim_opts(&[
                "--mode",
                mode.as_str(),
                "--matches",
                "60",
                "--players",
                "12",
                "--seed",
                "7",
            ]);
            let mut out = Vec::new();
            bman::sim::dump(&opts, &mut out).unwrap();
            // Give each journal its own server name, as in a real fleet.
            let text = String::from_utf8(out)
                .unwrap()
                .replace("\"server\":\"sim\"", &format!("\"server\":\"{mode}\""));
            (*mode, text)
        })
        .collect()
}

/// Replays `paths` into a fresh store in `dir`; returns the seconds it took.
fn replay(rt: &tokio::runtime::Runtime, dir: &Path, paths: &[PathBuf]) -> f64 {
    let settings = settings(dir, "");
    let store = bman::app::open_store(&settings).unwrap();
    let started = Instant::now();
    rt.block_on(async {
        let recorder = Recorder::start(store.clone(), &settings);
        recorder.replay(paths, &|_| {}).await.unwrap();
        recorder.stop().await;
    });
    started.elapsed().as_secs_f64()
}

fn replay_throughput(rt: &tokio::runtime::Runtime, journals: &[(Mode, String)]) {
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    let mut events = 0usize;
    for (mode, text) in journals {
        let path = dir.path().join(format!("{mode}.jsonl"));
        events += text.lines().count();
        std::fs::write(&path, text).unwrap();
        files.push(path);
    }
    let took = replay(rt, dir.path(), &files);
    let store = bman::app::open_store(&settings(dir.path(), "")).unwrap();
    let facts = store.next_seq().unwrap() - 1;
    println!(
        "ingest/replay: {events} events ({facts} facts) in {took:.2}s = {:.0} events/s (target >= 50000)",
        events as f64 / took
    );
}

fn compressed_segments(rt: &tokio::runtime::Runtime, journals: &[(Mode, String)]) {
    let dir = tempfile::tempdir().unwrap();
    let segments_dir = dir.path().join("segments");
    let (mut events, mut plain_bytes) = (0usize, 0usize);
    let rotation = Rotation {
        segment_bytes: 1 << 20,
        keep: None,
    };
    for (mode, text) in journals {
        let mut w = JournalWriter::open_rotating(
            &segments_dir,
            mode.as_str(),
            *mode,
            rotation.clone(),
            None,
        )
        .unwrap();
        for line in text.lines() {
            let line: JournalLine = serde_json::from_str(line).unwrap();
            w.append(line.ts_ms, line.id, &line.json).unwrap();
        }
        events += text.lines().count();
        plain_bytes += text.len();
    }
    // The writers' compressor threads finish on their own.
    let (mut on_disk, mut closed_plain, mut closed_gz) = (0, 0, 0);
    for (mode, _) in journals {
        loop {
            let segments = server_segments(&segments_dir, mode.as_str()).unwrap();
            if segments.iter().rev().skip(1).all(|s| s.compressed) {
                let size = |s: &bman::journal::Segment| std::fs::metadata(&s.path).unwrap().len();
                on_disk += segments.iter().map(size).sum::<u64>();
                // The active segment starts where the closed ones end.
                closed_plain += segments.last().unwrap().base;
                closed_gz += segments.iter().rev().skip(1).map(size).sum::<u64>();
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    let files = bman::journal::journal_files(std::slice::from_ref(&segments_dir)).unwrap();
    let compressed = files
        .iter()
        .filter(|f| f.to_string_lossy().ends_with(".gz"))
        .count();
    println!(
        "ingest/journal: {events} events: plain {:.0} bytes/event, segments ({compressed} of {} compressed) {:.0} bytes/event; closed segments gzip {:.1}x smaller",
        plain_bytes as f64 / events as f64,
        files.len(),
        on_disk as f64 / events as f64,
        closed_plain as f64 / closed_gz as f64
    );
    let took = replay(rt, dir.path(), &[segments_dir]);
    println!(
        "ingest/replay-segments: {events} events from a directory of compressed segments in {took:.2}s = {:.0} events/s",
        events as f64 / took
    );
}

fn live_latency(rt: &tokio::runtime::Runtime, label: &str, extra: Vec<Arc<dyn Handler>>) {
    let dir = tempfile::tempdir().unwrap();
    let seconds = 20;
    let opts = sim_opts(&[
        "--port",
        "0",
        "--mode",
        "tdm",
        "--rate",
        "500",
        "--players",
        "12",
        "--password",
        "pw",
    ]);
    rt.block_on(async {
        let sim = bman::sim::serve(opts).await.unwrap();
        let servers = format!("[server.live]\nhost = 127.0.0.1\nport = {}\nmode = tdm\npassword = pw\n", sim.local_addr().port());
        let settings = settings(dir.path(), &servers);
        let store = bman::app::open_store(&settings).unwrap();
        let recorder = Recorder::start(store, &settings);
        let mut handlers = bman::app::builtin_handlers(&settings);
        handlers.extend(extra);
        let ingest = Ingest::start(&settings, &recorder, RetryPolicy::default(), handlers).await.unwrap();
        // Watch the committed checkpoint through a second connection, every 2 ms.
        let observer = bman::app::open_store(&settings).unwrap();
        let journal = journal_path(&dir.path().join("journal"), "live");
        let mut commits: Vec<(u64, i64)> = Vec::new();
        let until = Instant::now() + Duration::from_secs(seconds);
        while Instant::now() < until {
            let epoch = JournalReader::open(&journal).ok().and_then(|r| r.epoch());
            if let Some(cp) = epoch.and_then(|e| observer.checkpoint("live", e).unwrap()) {
                if commits.last().is_none_or(|(offset, _)| *offset < cp.offset) {
                    commits.push((cp.offset, bman::model::now_ms()));
                }
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        ingest.stop().await;
        recorder.stop().await;
        let mut latencies = Vec::new();
        for item in JournalReader::open(&journal).unwrap() {
            let (line, pos) = item.unwrap();
            // The first commit seen whose checkpoint reaches this line made it durable.
            if let Some((_, at)) = commits.iter().find(|(offset, _)| *offset >= pos.offset) {
                latencies.push(at - line.ts_ms);
            }
        }
        latencies.sort_unstable();
        let pct = |p: f64| latencies[((latencies.len() - 1) as f64 * p) as usize];
        println!(
            "ingest/live{label}: {} events over {seconds}s at 500/s: received->committed p50 {} ms, p99 {} ms, max {} ms (target p99 <= 250 ms; 2 ms polling)",
            latencies.len(),
            pct(0.5),
            pct(0.99),
            latencies.last().unwrap()
        );
    });
}

/// An extension at its worst: it panics on half the events and hangs on the rest.
struct Misbehaving(AtomicU64);

#[async_trait::async_trait]
impl Handler for Misbehaving {
    fn name(&self) -> &str {
        "misbehaving"
    }
    async fn handle(&self, _: &Context, _: &Delivery) {
        if self.0.fetch_add(1, Ordering::Relaxed).is_multiple_of(2) {
            panic!("bench: a panicking handler");
        }
        tokio::time::sleep(Duration::from_secs(3600)).await;
    }
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` passes nothing: skip the long runs there.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    let journals = journals();
    replay_throughput(&rt, &journals);
    compressed_segments(&rt, &journals);
    live_latency(&rt, "", Vec::new());
    std::panic::set_hook(Box::new(|_| {})); // the misbehaving handler's panics are expected
    live_latency(
        &rt,
        " with a panicking+hanging handler",
        vec![Arc::new(Misbehaving(AtomicU64::new(0)))],
    );
}
