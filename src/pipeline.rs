//! The shape of the ingest: what travels from a server's RCON session (or a
//! journal replay) to the rest of bman. Each server has its own bounded,
//! ordered stream of [`IngestEvent`]s.

use crate::event::GameEvent;
use crate::journal::JournalPos;
use crate::model::ServerInfo;
use std::sync::Arc;

/// Capacity of one server's event stream; a full stream slows that server's
/// reader down (backpressure) instead of dropping events.
pub const SERVER_STREAM_CAPACITY: usize = 1024;

/// One received event, journaled and decoded.
#[derive(Debug, Clone)]
pub struct IngestEvent {
    pub server: Arc<ServerInfo>,
    /// When bman received it, unix milliseconds.
    pub ts_ms: i64,
    /// Where it sits in the server's journal (`None` if the journal could not be written).
    pub pos: Option<JournalPos>,
    pub event: GameEvent,
}

/// Unix milliseconds now.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
