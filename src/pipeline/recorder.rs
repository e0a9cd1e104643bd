//! The store and its writer thread, shared by every server's stage; and
//! `bman replay`, which feeds journal files through the same stages.

use super::{EventCounts, PipelineError, ServerPipeline};
use crate::config::Settings;
use crate::journal::{self, JournalReader};
use crate::metrics::{Health, Metrics};
use crate::model::{ServerInfo, StoredFact};
use crate::rater::RatingParams;
use crate::store::Store;
use crate::writer::{self, WriterHandle, WriterTotals};
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

/// The store and its writer, shared by every server's pipeline.
pub struct Recorder {
    pub store: Arc<dyn Store>,
    pub(super) writer: WriterHandle,
    /// The writer's feed of committed match, wave, round and capture facts.
    pub(crate) committed: broadcast::Sender<Arc<StoredFact>>,
    thread: std::thread::JoinHandle<WriterTotals>,
    writer_stopped: CancellationToken,
    /// The process's metrics, with a series for each configured server.
    pub metrics: Arc<Metrics>,
}

/// The configured rating parameters.
pub fn rating_params(settings: &Settings) -> RatingParams {
    RatingParams {
        trueskill: settings.trueskill,
        elo_k: settings.elo_k,
        systems: settings.rating_systems,
    }
}

impl Recorder {
    pub fn start(store: Arc<dyn Store>, settings: &Settings) -> Recorder {
        let params = rating_params(settings);
        let writer_stopped = CancellationToken::new();
        let (committed, _) = broadcast::channel(writer::COMMITTED_CAPACITY);
        let names: Vec<String> = settings.servers.iter().map(|s| s.name.clone()).collect();
        let metrics = Arc::new(Metrics::new(&names));
        let (writer, thread) = writer::spawn_metered(
            store.clone(),
            params,
            writer_stopped.clone(),
            committed.clone(),
            metrics.writer.clone(),
        );
        metrics.watch_writer_queue(writer.queue_depth());
        Recorder {
            metrics,
            store,
            writer,
            committed,
            thread,
            writer_stopped,
        }
    }

    /// The health of the writer and of the servers `metrics` watches.
    pub fn health(&self) -> Health {
        self.metrics.health(self.writer_stopped.clone())
    }

    /// Resolves if the writer thread ends while bman is running (a bug).
    pub async fn failed(&self) {
        self.writer_stopped.cancelled().await
    }

    /// Replays journal files and directories (see [`journal::scan`]): each
    /// server's segments in journal order, skipping what the store already
    /// has; returns the new events by kind and how many were already applied.
    /// `progress` gets the bytes on disk read so far.
    pub async fn replay(
        &self,
        paths: &[PathBuf],
        progress: &(dyn Fn(u64) + Sync),
    ) -> Result<(EventCounts, u64), PipelineError> {
        let mut counts = EventCounts::default();
        let mut already = 0;
        let mut done = 0u64;
        for found in journal::scan(paths)? {
            let info = Arc::new(ServerInfo {
                name: found.server,
                mode: found.mode,
            });
            let (mut pipeline, offset, _) = ServerPipeline::resume(
                &info,
                Some(found.epoch),
                self.store.as_ref(),
                self.writer.clone(),
            )?;
            // Lines before the resume point were applied and are not re-read.
            already += journal::lines_before(&found.segments, offset)?;
            let mut reader = JournalReader::new(found.segments)?;
            reader.seek_to(offset)?;
            let len = reader.len();
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
