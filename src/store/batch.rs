//! What the writer hands a store: one atomic batch, and the journal checkpoints in it.

use crate::model::{Mode, ModeStats, PlayerKey, PlayerSeen, StoredFact};
use serde::{Deserialize, Serialize};

/// How far into one server's journal the store has applied, plus the tracker
/// state at `snapshot_offset` so recovery can resume exactly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub server: String,
    pub epoch: i64,
    pub offset: u64,
    pub snapshot_offset: u64,
    /// JSON of the server's tracker state at `snapshot_offset`.
    pub snapshot: Option<String>,
}

/// Everything one writer flush changes, applied atomically.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WriteBatch {
    pub players: Vec<PlayerSeen>,
    pub facts: Vec<StoredFact>,
    /// Absolute new values for every (player, mode) the batch touched.
    pub stats: Vec<(PlayerKey, Mode, ModeStats)>,
    pub checkpoints: Vec<Checkpoint>,
}

impl WriteBatch {
    pub fn is_empty(&self) -> bool {
        self.players.is_empty()
            && self.facts.is_empty()
            && self.stats.is_empty()
            && self.checkpoints.is_empty()
    }
}
