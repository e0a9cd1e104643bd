//! `bman run` and `bman replay`: wiring servers' RCON supervisors (or journal
//! files) through one ordered pipeline per server (tracker, then the shared
//! store writer), recovering any journal tail the store has not applied, and
//! shutting down in order: connections first, then the pipelines drain, then
//! the writer commits its last batch.

use crate::config::Settings;
use crate::discord::bot::Bot;
use crate::event;
use crate::game::{Tracker, TrackerOutput};
use crate::handler::{Context, Delivery, Dispatcher, Handler};
use crate::journal::{journal_path, JournalPos, JournalReader, JournalWriter};
use crate::model::ServerInfo;
use crate::model::StoredFact;
use crate::pipeline::{IngestEvent, SERVER_STREAM_CAPACITY};
use crate::rater::RatingParams;
use crate::rcon::supervisor::{self, RetryPolicy};
use crate::rcon::ServerHandle;
use crate::store::Store;
use crate::writer::{self, Bundle, WriterHandle, WriterTotals};
use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::{broadcast, mpsc};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

/// The tracker state travels with a bundle every this many events, so crash
/// recovery re-reads at most this many journal lines.
const SNAPSHOT_EVERY: u64 = 256;

/// Why bman could not start or finish.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("journal: {0}")]
    Journal(#[from] std::io::Error),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("the store writer stopped unexpectedly; stopping so nothing goes unrecorded (the journal keeps every event; restart to apply it)")]
    WriterDied,
}

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

/// Everything downstream of one server's RCON session: its tracker, feeding the writer.
pub struct ServerPipeline {
    tracker: Tracker,
    writer: WriterHandle,
    /// Handlers see live events only (a replayed `!rank` must not answer again).
    dispatcher: Option<Dispatcher>,
    seen: u64,
    counts: EventCounts,
    /// Where the last journaled event ended, for the snapshot at the stop.
    last_pos: Option<JournalPos>,
    /// How far the store had applied this journal: events up to there are
    /// re-read only to rebuild the tracker, and not counted in `counts`.
    applied: u64,
    /// Such re-read events.
    reread: u64,
}

impl ServerPipeline {
    /// A pipeline resuming from the server's stored snapshot for this journal
    /// epoch; returns it with the journal offset to continue reading from and
    /// the offset up to which the store has applied the journal.
    fn resume(
        info: &ServerInfo,
        epoch: Option<i64>,
        store: &dyn Store,
        writer: WriterHandle,
    ) -> Result<(Self, u64, u64), AppError> {
        let checkpoint = match epoch {
            Some(epoch) => store.checkpoint(&info.name, epoch)?,
            None => None,
        };
        let restored = checkpoint.as_ref().and_then(|c| {
            let snapshot = c.snapshot.as_deref()?;
            match Tracker::restore(info, snapshot) {
                Ok(t) => Some((t, c.snapshot_offset)),
                Err(e) => {
                    warn!(server = %info.name, "stored tracker state unreadable ({e}); re-reading the whole journal");
                    None
                }
            }
        });
        let (tracker, offset) = restored.unwrap_or_else(|| (Tracker::new(info), 0));
        let applied = checkpoint.map_or(0, |c| c.offset);
        let pipeline = ServerPipeline {
            tracker,
            writer,
            dispatcher: None,
            seen: 0,
            counts: EventCounts::default(),
            last_pos: None,
            applied,
            reread: 0,
        };
        Ok((pipeline, offset, applied))
    }

    /// Tracks one event and hands what it produced to the writer.
    async fn handle(&mut self, ingest: &IngestEvent) -> bool {
        self.seen += 1;
        self.last_pos = ingest.pos.or(self.last_pos);
        if ingest.pos.is_some_and(|pos| pos.offset <= self.applied) {
            self.reread += 1;
        } else {
            *self
                .counts
                .0
                .entry(ingest.server.name.clone())
                .or_default()
                .entry(event::event_name(ingest.event.id).to_string())
                .or_default() += 1;
        }
        let mut out = TrackerOutput::default();
        self.tracker.on_event(ingest, &mut out);
        if let Some(dispatcher) = &self.dispatcher {
            dispatcher.dispatch(Delivery {
                event: ingest.clone(),
                facts: out.facts.clone(),
            });
        }
        let snapshot = (ingest.pos.is_some() && self.seen.is_multiple_of(SNAPSHOT_EVERY))
            .then(|| self.tracker.snapshot());
        if out.players.is_empty() && out.facts.is_empty() && snapshot.is_none() {
            // Nothing to store; recovery re-reads from the last snapshot anyway.
            return true;
        }
        self.writer
            .send(Bundle {
                server: ingest.server.name.clone(),
                pos: ingest.pos,
                players: out.players,
                facts: out.facts,
                snapshot,
            })
            .await
    }

    /// Stores the tracker state at the last event seen, so the next start
    /// (or replay) resumes right there instead of re-reading the journal.
    /// Returns the new events by kind and how many were re-read.
    async fn finish(self) -> (EventCounts, u64) {
        if let Some(pos) = self.last_pos {
            self.writer
                .send(Bundle {
                    server: self.tracker.server().to_string(),
                    pos: Some(pos),
                    players: Vec::new(),
                    facts: Vec::new(),
                    snapshot: Some(self.tracker.snapshot()),
                })
                .await;
        }
        (self.counts, self.reread)
    }

    /// Feeds journal lines from `reader`'s current position.
    async fn feed(
        &mut self,
        info: &Arc<ServerInfo>,
        reader: JournalReader,
        progress: &(dyn Fn(u64) + Sync),
    ) {
        for item in reader {
            let (line, pos) = match item {
                Ok(ok) => ok,
                Err(bad) => {
                    warn!(server = %info.name, "skipping unreadable journal line {bad}");
                    continue;
                }
            };
            progress(pos.offset);
            let event = match event::decode(line.id, &line.json) {
                Ok(event) => event,
                Err(e) => {
                    warn!(server = %info.name, "undecodable journal event skipped: {e}");
                    continue;
                }
            };
            let ingest = IngestEvent {
                server: info.clone(),
                ts_ms: line.ts_ms,
                pos: Some(pos),
                event,
            };
            if !self.handle(&ingest).await {
                break;
            }
        }
    }
}

/// The store and its writer, shared by every server's pipeline.
pub struct Recorder {
    pub store: Arc<dyn Store>,
    writer: WriterHandle,
    /// The writer's feed of committed match, wave, round and capture facts.
    committed: broadcast::Sender<Arc<StoredFact>>,
    thread: std::thread::JoinHandle<WriterTotals>,
    writer_stopped: CancellationToken,
}

/// The configured rating parameters.
pub fn rating_params(settings: &Settings) -> RatingParams {
    RatingParams {
        trueskill: settings.trueskill,
        elo_k: settings.elo_k,
    }
}

impl Recorder {
    pub fn start(store: Arc<dyn Store>, settings: &Settings) -> Recorder {
        let params = rating_params(settings);
        let writer_stopped = CancellationToken::new();
        let (committed, _) = broadcast::channel(writer::COMMITTED_CAPACITY);
        let (writer, thread) = writer::spawn(
            store.clone(),
            params,
            writer_stopped.clone(),
            committed.clone(),
        );
        Recorder {
            store,
            writer,
            committed,
            thread,
            writer_stopped,
        }
    }

    /// Resolves if the writer thread ends while bman is running (a bug).
    pub async fn failed(&self) {
        self.writer_stopped.cancelled().await
    }

    /// Replays each journal file, skipping what the store already has;
    /// returns the new events by kind and how many were already applied.
    pub async fn replay(
        &self,
        files: &[PathBuf],
        progress: &(dyn Fn(u64) + Sync),
    ) -> Result<(EventCounts, u64), AppError> {
        let mut counts = EventCounts::default();
        let mut already = 0;
        let mut done = 0u64;
        for path in files {
            let mut reader = JournalReader::open(path)?;
            let Some(Ok((first, _))) = JournalReader::open(path)?.next() else {
                warn!("{}: no journal lines", path.display());
                continue;
            };
            let info = Arc::new(ServerInfo {
                name: first.server,
                mode: first.mode,
            });
            let (mut pipeline, offset, _) = ServerPipeline::resume(
                &info,
                reader.epoch(),
                self.store.as_ref(),
                self.writer.clone(),
            )?;
            reader.seek_to(offset)?;
            let len = reader.len();
            // Lines before the resume point were applied and are not re-read.
            already += crate::journal::lines_before(path, offset)?;
            pipeline.feed(&info, reader, &|p| progress(done + p)).await;
            done += len;
            let (new, reread) = pipeline.finish().await;
            counts.add(&new);
            already += reread;
        }
        self.writer.flush().await;
        Ok((counts, already))
    }

    /// Waits for the writer to commit everything and stop.
    pub async fn stop(self) -> WriterTotals {
        drop(self.writer);
        tokio::task::spawn_blocking(move || self.thread.join().unwrap_or_default())
            .await
            .unwrap_or_default()
    }
}

/// A running ingest: handles for the bot, and the tasks to wait for.
pub struct Ingest {
    pub handles: Vec<ServerHandle>,
    /// What the bot shares with the handlers: store, server handles, announcements.
    pub context: Arc<Context>,
    supervisors: Vec<JoinHandle<()>>,
    processors: Vec<JoinHandle<EventCounts>>,
    shutdown: CancellationToken,
}

impl Ingest {
    /// Connects to every server; while the first events queue up, each
    /// server's unapplied journal tail is recovered; then the pipelines run,
    /// handing live events to `handlers`.
    pub async fn start(
        settings: &Settings,
        recorder: &Recorder,
        policy: RetryPolicy,
        handlers: Vec<Arc<dyn Handler>>,
    ) -> Result<Ingest, AppError> {
        let shutdown = CancellationToken::new();
        let (mut handles, mut supervisors, mut streams) = (Vec::new(), Vec::new(), Vec::new());
        let mut journaled_before = Vec::new();
        for server in &settings.servers {
            let journal = JournalWriter::open(&settings.journal_dir, &server.name, server.mode)?;
            journaled_before.push(journal.end_offset());
            let (tx, rx) = mpsc::channel(SERVER_STREAM_CAPACITY);
            let (handle, task) = supervisor::spawn(
                server,
                Some(journal),
                tx,
                shutdown.child_token(),
                policy.clone(),
            );
            handles.push(handle);
            supervisors.push(task);
            streams.push(rx);
        }
        let context = Arc::new(Context::new(
            &handles,
            recorder.store.clone(),
            recorder.committed.clone(),
        ));
        spawn_announcement_log(&context);
        crate::announce::spawn(context.clone(), settings.discord.milestone_waves);
        let dispatcher = Dispatcher::start(handlers, context.clone());
        let mut processors = Vec::new();
        for ((server, rx), before) in settings.servers.iter().zip(streams).zip(journaled_before) {
            let info = Arc::new(ServerInfo {
                name: server.name.clone(),
                mode: server.mode,
            });
            let mut pipeline = recover(&info, &settings.journal_dir, before, recorder).await?;
            pipeline.dispatcher = Some(dispatcher.clone());
            processors.push(tokio::spawn(process_server(pipeline, rx)));
        }
        Ok(Ingest {
            handles,
            context,
            supervisors,
            processors,
            shutdown,
        })
    }

    /// Closes every connection, then lets each server's pipeline drain.
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

/// Applies the part of a server's journal the store has not seen (after a
/// crash, or a database that was down), and returns the pipeline to go on with.
/// `journaled_before` is the journal's length when this run opened it: what
/// lies beyond was received by this run (and is applied here all the same).
async fn recover(
    info: &Arc<ServerInfo>,
    journal_dir: &Path,
    journaled_before: u64,
    recorder: &Recorder,
) -> Result<ServerPipeline, AppError> {
    let path = journal_path(journal_dir, &info.name);
    let reader = match JournalReader::open(&path) {
        Ok(reader) => Some(reader),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e.into()),
    };
    let epoch = reader.as_ref().and_then(JournalReader::epoch);
    let (mut pipeline, offset, applied) = ServerPipeline::resume(
        info,
        epoch,
        recorder.store.as_ref(),
        recorder.writer.clone(),
    )?;
    if let Some(mut reader) = reader {
        let len = reader.len();
        if offset < len {
            reader.seek_to(offset)?;
            // Events up to `applied` are only re-read to rebuild the tracker.
            if applied < journaled_before {
                info!(
                    server = %info.name,
                    "the last stop was not clean: applying the {} bytes of the journal that were \
                     received but not stored (from byte {applied} of {journaled_before})",
                    journaled_before - applied
                );
            }
            pipeline.feed(info, reader, &|_| {}).await;
            pipeline.counts = EventCounts::default();
        }
    }
    Ok(pipeline)
}

async fn process_server(
    mut pipeline: ServerPipeline,
    mut events: mpsc::Receiver<IngestEvent>,
) -> EventCounts {
    while let Some(ingest) = events.recv().await {
        if !pipeline.handle(&ingest).await {
            break;
        }
    }
    pipeline.finish().await.0
}

/// Logs every announcement, so they are visible without the Discord bot.
fn spawn_announcement_log(context: &Context) {
    let mut announcements = context.subscribe();
    tokio::spawn(async move {
        loop {
            match announcements.recv().await {
                Ok(a) => info!(
                    server = a.server.as_deref().unwrap_or("-"),
                    "{:?}: {}", a.topic, a.text
                ),
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    warn!("announcement log fell behind; {n} announcements not logged")
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            }
        }
    });
}

/// The handlers bman runs by itself: in-game chat commands and the chat relay.
pub fn builtin_handlers(settings: &Settings) -> Vec<Arc<dyn Handler>> {
    vec![
        Arc::new(crate::chat_commands::ChatCommands::new(settings)),
        Arc::new(crate::discord::relay::GameChatRelay::new(settings)),
    ]
}

/// Removes bot players an earlier release stored (see [`crate::repair`]),
/// saying what it did; silent when there is nothing to repair.
fn repair_on_start(store: &dyn Store, settings: &Settings) -> Result<(), AppError> {
    let report = crate::repair::repair_bots(store, rating_params(settings), &|_, _, _| {})?;
    if !report.bots.is_empty() {
        let facts: usize = report.rerated.iter().map(|(_, n)| n).sum();
        info!(
            "repaired the store: removed {} bots an earlier release recorded as players ({}) \
             and recomputed every rating from {facts} stored facts without them",
            report.bots.len(),
            crate::repair::bot_list(&report.bots)
        );
    }
    Ok(())
}

/// Opens the configured store.
pub fn open_store(settings: &Settings) -> Result<Arc<dyn Store>, AppError> {
    Ok(Arc::from(crate::store::open(
        settings.database_url.expose(),
    )?))
}

/// Runs the ingest with the built-in handlers until `stop` resolves (SIGINT/SIGTERM in the binary).
pub async fn run(
    settings: &Settings,
    stop: impl Future<Output = ()>,
) -> Result<EventCounts, AppError> {
    run_with(settings, builtin_handlers(settings), stop).await
}

/// [`run`] with the handlers you choose (add your own to [`builtin_handlers`]).
pub async fn run_with(
    settings: &Settings,
    handlers: Vec<Arc<dyn Handler>>,
    stop: impl Future<Output = ()>,
) -> Result<EventCounts, AppError> {
    let store = open_store(settings)?;
    repair_on_start(store.as_ref(), settings)?;
    let recorder = Recorder::start(store, settings);
    let ingest = Ingest::start(settings, &recorder, RetryPolicy::default(), handlers).await?;
    let bot = match &settings.discord_token {
        Some(token) => match Bot::start(settings, token.expose(), ingest.context.clone()).await {
            Ok(bot) => Some(bot),
            Err(e) => {
                error!("{e}; recording goes on without it");
                None
            }
        },
        None => None,
    };
    let writer_died = tokio::select! {
        _ = stop => false,
        _ = recorder.failed() => true,
    };
    if let Some(bot) = bot {
        bot.stop().await;
    }
    info!("shutting down: closing connections, draining the pipeline, committing");
    let counts = ingest.stop().await;
    let totals = recorder.stop().await;
    if writer_died {
        return Err(AppError::WriterDied);
    }
    info!(
        "stopped after {} events ({} facts stored)",
        counts.total(),
        totals.facts
    );
    Ok(counts)
}
