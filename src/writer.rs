//! The single store writer: a dedicated thread that turns trackers' output
//! into rated, numbered facts and commits them in batches (at least every
//! 100 ms). It keeps active players' stats in memory ([`Rater`]), so a kill
//! costs no database read, and it skips anything at or before a server's
//! journal checkpoint, so replaying a journal twice never counts twice.
//! When the database fails it keeps the batch and retries; meanwhile its
//! bounded inbox fills and the ingest slows down instead of dropping events.
//! A permanent failure (corrupt stored data) is not retried: the writer
//! stops, and bman with it, with the journal still holding every event the
//! store has not committed.

use crate::journal::JournalPos;
use crate::metrics::WriterMetrics;
use crate::model::Mode;
use crate::model::{Fact, FactRecord, PlayerSeen, StoredFact};
use crate::rater::{Rater, RatingParams};
use crate::store::{Checkpoint, Store, StoreError, StoreResult, WriteBatch};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

/// Longest time a received event waits before its batch commits.
pub(crate) const FLUSH_EVERY: Duration = Duration::from_millis(100);
/// A batch this large commits at once.
const MAX_BATCH_FACTS: usize = 5_000;
/// Capacity of the writer's inbox (bundles, one per event).
pub const INBOX_CAPACITY: usize = 4_096;
/// How many committed facts may wait for a slow listener before it misses some.
pub(crate) const COMMITTED_CAPACITY: usize = 1_024;

/// What one event produced on one server, with where it sits in the journal.
#[derive(Debug, Clone)]
pub struct Bundle {
    pub server: String,
    pub pos: Option<JournalPos>,
    pub players: Vec<PlayerSeen>,
    pub facts: Vec<FactRecord>,
    /// The server's tracker state after this event, when the tracker sent
    /// one: every few hundred events, and at the last event a pipeline saw
    /// when it stops, so a clean restart re-reads nothing.
    pub snapshot: Option<String>,
}

enum Message {
    Bundle(Bundle),
    /// Commit everything received so far, then answer.
    Flush(oneshot::Sender<()>),
}

/// The sending side; cheap to clone.
#[derive(Clone)]
pub struct WriterHandle {
    inbox: mpsc::Sender<Message>,
}

impl WriterHandle {
    /// Queues a bundle; waits while the writer is behind (backpressure).
    pub async fn send(&self, bundle: Bundle) -> bool {
        self.inbox.send(Message::Bundle(bundle)).await.is_ok()
    }

    /// Bundles waiting in the inbox, read through a weak link (so it does
    /// not keep the writer running); `None` once the writer is gone.
    pub fn queue_depth(&self) -> impl Fn() -> Option<usize> + Send + Sync + 'static {
        let inbox = self.inbox.downgrade();
        move || {
            let inbox = inbox.upgrade()?;
            Some(inbox.max_capacity() - inbox.capacity())
        }
    }

    /// Resolves once everything sent before it is committed.
    pub async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        if self.inbox.send(Message::Flush(tx)).await.is_ok() {
            let _ = rx.await;
        }
    }
}

/// Starts the writer thread. It ends when every handle is dropped, after a
/// last commit; `stopped` is cancelled when it ends for any reason (a panic
/// included), so the process can stop loudly instead of recording nothing.
/// Match, wave, round and capture facts are sent to `committed` once they
/// are durable, so announcements only ever report what the store holds.
pub fn spawn(
    store: Arc<dyn Store>,
    params: RatingParams,
    stopped: CancellationToken,
    committed: broadcast::Sender<Arc<StoredFact>>,
) -> (WriterHandle, std::thread::JoinHandle<WriterTotals>) {
    spawn_metered(store, params, stopped, committed, WriterMetrics::default())
}

/// [`spawn`], counting batches, commit times and facts into `metrics`.
pub fn spawn_metered(
    store: Arc<dyn Store>,
    params: RatingParams,
    stopped: CancellationToken,
    committed: broadcast::Sender<Arc<StoredFact>>,
    metrics: WriterMetrics,
) -> (WriterHandle, std::thread::JoinHandle<WriterTotals>) {
    let (tx, rx) = mpsc::channel(INBOX_CAPACITY);
    let thread = std::thread::Builder::new()
        .name("bman-writer".into())
        .spawn(move || {
            let _signal_on_exit = stopped.drop_guard();
            Writer::new(store, params, committed, metrics).run(rx)
        })
        .expect("spawn the writer thread");
    (WriterHandle { inbox: tx }, thread)
}

/// What the writer did over its life (logged at exit, used by tests and benches).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriterTotals {
    pub bundles: u64,
    pub skipped_already_applied: u64,
    pub facts: u64,
    pub commits: u64,
}

struct Writer {
    store: Arc<dyn Store>,
    rater: Rater,
    next_seq: Option<i64>,
    batch: WriteBatch,
    /// Per (server, epoch): the checkpoint being built, starting from the stored one.
    checkpoints: HashMap<(String, i64), Checkpoint>,
    totals: WriterTotals,
    committed: broadcast::Sender<Arc<StoredFact>>,
    metrics: WriterMetrics,
}

impl Writer {
    fn new(
        store: Arc<dyn Store>,
        params: RatingParams,
        committed: broadcast::Sender<Arc<StoredFact>>,
        metrics: WriterMetrics,
    ) -> Writer {
        Writer {
            committed,
            metrics,
            store,
            rater: Rater::new(params),
            next_seq: None,
            batch: WriteBatch::default(),
            checkpoints: HashMap::new(),
            totals: WriterTotals::default(),
        }
    }

    fn run(mut self, mut inbox: mpsc::Receiver<Message>) -> WriterTotals {
        // A tiny runtime of the writer's own, only to wait on the inbox with a timeout.
        let clock = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("build the writer's timer runtime");
        let mut waiting_since: Option<Instant> = None;
        loop {
            let message = match waiting_since {
                None => inbox.blocking_recv(),
                Some(since) => {
                    let left = FLUSH_EVERY.saturating_sub(since.elapsed());
                    match clock.block_on(async { tokio::time::timeout(left, inbox.recv()).await }) {
                        Ok(m) => m,
                        Err(_) => {
                            waiting_since = None;
                            if let Err(e) = self.commit() {
                                return self.stop_on(e);
                            }
                            continue;
                        }
                    }
                }
            };
            let step = match message {
                None => break,
                Some(Message::Bundle(bundle)) => {
                    waiting_since.get_or_insert_with(Instant::now);
                    match self.add(bundle) {
                        Ok(()) if self.batch.facts.len() >= MAX_BATCH_FACTS => {
                            waiting_since = None;
                            self.commit()
                        }
                        added => added,
                    }
                }
                Some(Message::Flush(done)) => {
                    waiting_since = None;
                    let step = self.commit();
                    let _ = done.send(());
                    step
                }
            };
            if let Err(e) = step {
                return self.stop_on(e);
            }
        }
        if let Err(e) = self.commit() {
            return self.stop_on(e);
        }
        info!(
            "writer stopped: {} facts in {} commits; {} events were already applied",
            self.totals.facts, self.totals.commits, self.totals.skipped_already_applied
        );
        self.totals
    }

    /// Ends the writer on a permanent store error. What was committed stays;
    /// what was not is still in the journals, applied at the next start.
    fn stop_on(self, e: StoreError) -> WriterTotals {
        error!(
            "the store cannot take more data: {e}. The writer stops (bman stops with it) instead \
             of retrying forever; nothing committed is lost, and the journals keep every event \
             since the last commit. Repair or restore the database, then start bman again to \
             apply them."
        );
        self.totals
    }

    /// Retries a store call until it succeeds (the data is never dropped);
    /// a permanent error is returned instead, for [`Writer::stop_on`].
    fn retry<T>(
        &self,
        what: &str,
        mut call: impl FnMut(&dyn Store) -> StoreResult<T>,
    ) -> StoreResult<T> {
        let mut delay = Duration::from_millis(100);
        loop {
            match call(self.store.as_ref()) {
                Ok(v) => return Ok(v),
                // Said once, by the writer as it stops.
                Err(e) if e.is_permanent() => return Err(e),
                Err(e) => {
                    error!("{what} failed: {e}; retrying in {:.1}s (events wait in the queue and the journal)", delay.as_secs_f64());
                    std::thread::sleep(delay);
                    delay = (delay * 2).min(Duration::from_secs(10));
                }
            }
        }
    }

    fn add(&mut self, bundle: Bundle) -> StoreResult<()> {
        self.totals.bundles += 1;
        if let Some(pos) = bundle.pos {
            let key = (bundle.server.clone(), pos.epoch);
            if !self.checkpoints.contains_key(&key) {
                let stored = self.retry("reading a checkpoint", |s| {
                    s.checkpoint(&bundle.server, pos.epoch)
                })?;
                let checkpoint = stored.unwrap_or(Checkpoint {
                    server: bundle.server.clone(),
                    epoch: pos.epoch,
                    offset: 0,
                    snapshot_offset: 0,
                    snapshot: None,
                });
                self.checkpoints.insert(key.clone(), checkpoint);
            }
            let checkpoint = self.checkpoints.get_mut(&key).expect("inserted above");
            // A stopping pipeline's last state (see `Bundle::snapshot`) may sit
            // at the position already applied; only its snapshot is new.
            let last_state = pos.offset == checkpoint.offset
                && bundle.players.is_empty()
                && bundle.facts.is_empty()
                && bundle.snapshot.is_some();
            if pos.offset <= checkpoint.offset && !last_state {
                self.totals.skipped_already_applied += 1;
                return Ok(());
            }
            checkpoint.offset = pos.offset;
            if let Some(snapshot) = bundle.snapshot {
                checkpoint.snapshot = Some(snapshot);
                checkpoint.snapshot_offset = pos.offset;
            }
            let checkpoint = checkpoint.clone();
            self.batch
                .checkpoints
                .retain(|c| (c.server.as_str(), c.epoch) != (key.0.as_str(), key.1));
            self.batch.checkpoints.push(checkpoint);
        }
        self.batch.players.extend(bundle.players);
        for record in bundle.facts {
            self.load_missing(&record)?;
            let changes = self.rater.apply(&record);
            let seq = self.seq()?;
            self.batch.facts.push(StoredFact {
                seq,
                record,
                changes,
            });
        }
        Ok(())
    }

    fn seq(&mut self) -> StoreResult<i64> {
        let next = match self.next_seq {
            Some(n) => n,
            None => self.retry("reading the next fact number", |s| s.next_seq())?,
        };
        self.next_seq = Some(next + 1);
        Ok(next)
    }

    fn load_missing(&mut self, record: &FactRecord) -> StoreResult<()> {
        let missing = self.rater.missing(record);
        if missing.is_empty() {
            return Ok(());
        }
        let mode: Mode = record.mode;
        let loaded = self.retry("loading player stats", |s| s.load_stats(mode, &missing))?;
        for (key, stats) in loaded {
            self.rater.load(mode, key, stats);
        }
        Ok(())
    }

    fn commit(&mut self) -> StoreResult<()> {
        self.batch.stats = self.rater.take_changed();
        if self.batch.is_empty() {
            return Ok(());
        }
        let batch = std::mem::take(&mut self.batch);
        let started = Instant::now();
        self.retry("committing a batch", |s| s.apply(&batch))?;
        let took = started.elapsed();
        self.totals.facts += batch.facts.len() as u64;
        self.totals.commits += 1;
        self.metrics
            .committed(took, batch.facts.iter().map(|f| &f.record.fact));
        if took > Duration::from_secs(1) {
            warn!(
                "a commit of {} facts took {:.1}s",
                batch.facts.len(),
                took.as_secs_f64()
            );
        }
        if self.committed.receiver_count() > 0 {
            for fact in batch.facts {
                if matches!(
                    fact.record.fact,
                    Fact::Match(_) | Fact::Wave(_) | Fact::Round(_) | Fact::Capture(_)
                ) {
                    let _ = self.committed.send(Arc::new(fact));
                }
            }
        }
        Ok(())
    }
}
