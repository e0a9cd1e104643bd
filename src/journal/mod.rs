//! The raw journal: every received event, appended before processing, one
//! JSON object per line. It is the source of truth that `bman replay` and
//! crash recovery read back.
//!
//! A server's journal is a sequence of *segments* (README "How recording
//! works"): the first is `<dir>/<server>.jsonl` (the whole journal of earlier
//! releases), later ones `<dir>/<server>/<epoch>-<base>.jsonl`, and closed
//! segments are gzip-compressed (`.jsonl.gz`).
//!
//! A position in a journal is its *epoch* (the `ts_ms` of the journal's first
//! line, so a deleted and restarted journal is never mistaken for the old one)
//! and a byte offset just after a line, counted over the uncompressed lines of
//! every segment: a segment's lines start at its *base*, the offset where the
//! one before it ended. Positions therefore only grow, across rotation and
//! compression, and name the same line in a plain and a compressed segment.

mod reader;
mod retention;
mod segment;
mod writer;

pub use reader::{lines_before, BadLine, JournalReader};
pub use retention::prune;
pub use segment::{journal_files, scan, server_segments, Journal, Segment};
pub use writer::{Committed, JournalWriter, Rotation};

use crate::model::Mode;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// One journal line: `{"ts_ms":…,"server":…,"mode":…,"id":…,"json":"…"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JournalLine {
    /// Receive time, unix milliseconds.
    pub ts_ms: i64,
    pub server: String,
    pub mode: Mode,
    /// The frame's event id.
    pub id: u16,
    /// The event JSON text exactly as received.
    pub json: String,
}

/// Where a line ends in a journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct JournalPos {
    pub epoch: i64,
    pub offset: u64,
}

/// The first segment of a server's journal (all of it until it first rotates).
pub fn journal_path(dir: &Path, server: &str) -> PathBuf {
    dir.join(format!("{server}.jsonl"))
}

#[cfg(test)]
mod tests;
