//! The [`FrameSink`] of live sessions: the journal first, then the server's
//! event stream. `rcon_ping` frames (one every 5 s per server) are not
//! journaled: the session answers them and watches liveness itself, and no
//! tracker, recovery or replay reads them.

use super::IngestEvent;
use crate::event::{ids, GameEvent};
use crate::journal::{JournalPos, JournalWriter};
use crate::model::ServerInfo;
use crate::rcon::FrameSink;
use std::sync::Arc;
use tokio::sync::mpsc;
use tracing::warn;

/// Journals every frame of one server, then sends its event to the stage.
pub struct JournalSink {
    server: Arc<ServerInfo>,
    journal: JournalWriter,
    events: mpsc::Sender<IngestEvent>,
    /// Where the frame last kept was journaled.
    last_pos: Option<JournalPos>,
}

impl JournalSink {
    pub fn new(
        server: Arc<ServerInfo>,
        journal: JournalWriter,
        events: mpsc::Sender<IngestEvent>,
    ) -> JournalSink {
        JournalSink {
            server,
            journal,
            events,
            last_pos: None,
        }
    }
}

impl FrameSink for JournalSink {
    fn keep(&mut self, ts_ms: i64, id: u16, json: &str) {
        if id == ids::RCON_PING {
            self.last_pos = None;
            return;
        }
        self.last_pos = match self.journal.append(ts_ms, id, json) {
            Ok(pos) => Some(pos),
            Err(e) => {
                warn!(
                    server = %self.server.name,
                    "journal write failed: {e}; the event is still processed"
                );
                None
            }
        };
    }

    async fn pass_on(&mut self, ts_ms: i64, event: GameEvent) -> bool {
        let ingest = IngestEvent {
            server: self.server.clone(),
            ts_ms,
            pos: self.last_pos.take(),
            event,
        };
        self.events.send(ingest).await.is_ok()
    }
}
