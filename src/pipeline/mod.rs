//! The ingest path, from a server's RCON session (or a journal replay) to the
//! store writer: every frame is journaled first ([`JournalSink`]), decoded,
//! and travels as an [`IngestEvent`] through the server's own bounded,
//! ordered stream to its stage ([`ServerPipeline`]: tracker, handlers,
//! writer). At start, [`recover`] applies what the journal holds beyond the
//! store's checkpoint; [`Recorder`] owns the store writer and replays files.

mod counts;
mod recorder;
mod recovery;
mod sink;
mod stage;

pub use counts::EventCounts;
pub use recorder::{rating_params, Recorder};
pub(crate) use recovery::recover;
pub use sink::JournalSink;
pub(crate) use stage::{process_server, ServerPipeline};

use crate::event::GameEvent;
use crate::journal::JournalPos;
use crate::model::ServerInfo;
use std::sync::Arc;

/// Capacity of one server's event stream; a full stream slows that server's
/// reader down (backpressure) instead of dropping events.
pub(crate) const SERVER_STREAM_CAPACITY: usize = 1024;

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

/// Why the ingest could not start or go on.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("journal: {0}")]
    Journal(#[from] std::io::Error),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}
