//! One server's stage of the ingest: its tracker, feeding the shared writer
//! (and, for live events, the handlers).

use super::{EventCounts, IngestEvent, PipelineError};
use crate::event;
use crate::game::{Tracker, TrackerOutput};
use crate::handlers::{Delivery, Dispatcher};
use crate::journal::{JournalPos, JournalReader};
use crate::model::ServerInfo;
use crate::store::Store;
use crate::writer::{Bundle, WriterHandle};
use std::sync::Arc;
use tokio::sync::mpsc;
use tracing::warn;

/// The tracker state travels with a bundle every this many events, so crash
/// recovery re-reads at most this many journal lines.
const SNAPSHOT_EVERY: u64 = 256;

/// Everything downstream of one server's RCON session: its tracker, feeding the writer.
pub(crate) struct ServerPipeline {
    tracker: Tracker,
    writer: WriterHandle,
    /// Handlers see live events only (a replayed `!rank` must not answer again).
    pub(crate) dispatcher: Option<Dispatcher>,
    seen: u64,
    pub(super) counts: EventCounts,
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
    pub(super) fn resume(
        info: &ServerInfo,
        epoch: Option<i64>,
        store: &dyn Store,
        writer: WriterHandle,
    ) -> Result<(Self, u64, u64), PipelineError> {
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
    pub(super) async fn handle(&mut self, ingest: &IngestEvent) -> bool {
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
            dispatcher.dispatch(Delivery::new(
                ingest.clone(),
                out.facts.clone(),
                out.players.clone(),
            ));
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
    pub(super) async fn finish(self) -> (EventCounts, u64) {
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
    pub(super) async fn feed(
        &mut self,
        info: &Arc<ServerInfo>,
        mut reader: JournalReader,
        progress: &(dyn Fn(u64) + Sync),
    ) {
        while let Some(item) = reader.next() {
            let (line, pos) = match item {
                Ok(ok) => ok,
                Err(bad) => {
                    warn!(server = %info.name, "skipping unreadable journal line {bad}");
                    continue;
                }
            };
            progress(reader.disk_read());
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

/// Runs a server's live stage until its event stream ends; returns the new
/// events by kind.
pub(crate) async fn process_server(
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
