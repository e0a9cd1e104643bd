//! `bman run` and `bman replay`: wiring the servers' RCON supervisors (or
//! journal files) to one ordered processing stream per server, and shutting
//! everything down in order: connections first, then the streams drain.

use crate::config::Settings;
use crate::event;
use crate::journal::{JournalReader, JournalWriter};
use crate::pipeline::{IngestEvent, SERVER_STREAM_CAPACITY};
use crate::rcon::supervisor::{self, RetryPolicy};
use crate::rcon::{ServerHandle, ServerInfo};
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

/// How many events of each kind each server produced.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct EventCounts(pub BTreeMap<String, BTreeMap<String, u64>>);

impl EventCounts {
    fn add(&mut self, other: &EventCounts) {
        for (server, kinds) in &other.0 {
            let mine = self.0.entry(server.clone()).or_default();
            for (kind, n) in kinds {
                *mine.entry(kind.clone()).or_default() += n;
            }
        }
    }

    pub fn total(&self) -> u64 {
        self.0.values().flat_map(|k| k.values()).sum()
    }

    /// A small table for people: one line per server and event kind.
    pub fn to_table(&self) -> String {
        let mut out = String::new();
        for (server, kinds) in &self.0 {
            let total: u64 = kinds.values().sum();
            out.push_str(&format!("{server}: {total} events\n"));
            for (kind, n) in kinds {
                out.push_str(&format!("  {kind:<28} {n:>9}\n"));
            }
        }
        out
    }
}

/// The per-server consumer: everything downstream of the RCON session.
async fn process_server(name: String, mut events: mpsc::Receiver<IngestEvent>) -> EventCounts {
    let mut counts = EventCounts::default();
    let kinds = counts.0.entry(name.clone()).or_default();
    while let Some(ingest) = events.recv().await {
        let kind = event::event_name(ingest.event.id);
        debug!(server = %name, id = ingest.event.id, kind, "event");
        *kinds.entry(kind.to_string()).or_default() += 1;
    }
    counts
}

/// A running ingest: handles for the bot, and the tasks to wait for.
pub struct Ingest {
    pub handles: Vec<ServerHandle>,
    supervisors: Vec<JoinHandle<()>>,
    processors: Vec<JoinHandle<EventCounts>>,
    shutdown: CancellationToken,
}

impl Ingest {
    /// Connects to every configured server.
    pub fn start(settings: &Settings, policy: RetryPolicy) -> std::io::Result<Ingest> {
        let shutdown = CancellationToken::new();
        let mut ingest = Ingest {
            handles: Vec::new(),
            supervisors: Vec::new(),
            processors: Vec::new(),
            shutdown: shutdown.clone(),
        };
        for server in &settings.servers {
            let journal = JournalWriter::open(&settings.journal_dir, &server.name, server.mode)?;
            let (tx, rx) = mpsc::channel(SERVER_STREAM_CAPACITY);
            ingest.processors.push(tokio::spawn(process_server(server.name.clone(), rx)));
            let (handle, task) = supervisor::spawn(server, Some(journal), tx, shutdown.child_token(), policy.clone());
            ingest.handles.push(handle);
            ingest.supervisors.push(task);
        }
        Ok(ingest)
    }

    /// Closes every connection, then lets each server's stream drain.
    pub async fn stop(self) -> EventCounts {
        self.shutdown.cancel();
        for task in self.supervisors {
            let _ = task.await;
        }
        let mut counts = EventCounts::default();
        for task in self.processors {
            if let Ok(c) = task.await {
                counts.add(&c);
            }
        }
        counts
    }
}

/// Runs the ingest until `stop` resolves (SIGINT/SIGTERM in the binary).
pub async fn run(settings: &Settings, stop: impl Future<Output = ()>) -> std::io::Result<EventCounts> {
    let ingest = Ingest::start(settings, RetryPolicy::default())?;
    stop.await;
    info!("shutting down: closing connections and draining the pipeline");
    let counts = ingest.stop().await;
    info!("stopped after {} events", counts.total());
    Ok(counts)
}

/// Feeds journal files through the same per-server streams as live events,
/// in file order. `progress` is told the bytes read so far.
pub async fn replay(files: &[PathBuf], progress: &(dyn Fn(u64) + Sync)) -> std::io::Result<EventCounts> {
    let mut streams: HashMap<String, (mpsc::Sender<IngestEvent>, Arc<ServerInfo>)> = HashMap::new();
    let mut processors = Vec::new();
    let mut done = 0u64;
    for path in files {
        let reader = JournalReader::open(path)?;
        let mut last = 0;
        for item in reader {
            let (line, pos) = match item {
                Ok(ok) => ok,
                Err(bad) => {
                    warn!("skipping unreadable journal line {bad}");
                    continue;
                }
            };
            progress(done + pos.offset);
            last = pos.offset;
            let (tx, info) = streams.entry(line.server.clone()).or_insert_with(|| {
                let (tx, rx) = mpsc::channel(SERVER_STREAM_CAPACITY);
                processors.push(tokio::spawn(process_server(line.server.clone(), rx)));
                let info = Arc::new(ServerInfo {
                    name: line.server.clone(),
                    mode: line.mode,
                });
                (tx, info)
            });
            let event = match event::decode(line.id, &line.json) {
                Ok(event) => event,
                Err(e) => {
                    warn!(server = %line.server, "undecodable journal event skipped: {e}");
                    continue;
                }
            };
            let ingest = IngestEvent {
                server: info.clone(),
                ts_ms: line.ts_ms,
                pos: Some(pos),
                event,
            };
            if tx.send(ingest).await.is_err() {
                break;
            }
        }
        done += last;
    }
    drop(streams);
    let mut counts = EventCounts::default();
    for task in processors {
        if let Ok(c) = task.await {
            counts.add(&c);
        }
    }
    Ok(counts)
}
