//! Retention: old compressed segments are deleted, but only those the store
//! will never need again.

use super::segment::{open_text, server_segments};
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// Deletes `server`'s compressed segments whose last event is older than
/// `keep` and that end at or before `committed(epoch)`: the journal offset
/// below which the store needs nothing (its checkpoint's tracker snapshot,
/// where recovery starts re-reading). Plain segments, the active one
/// included, are never deleted. Returns the deleted files.
pub fn prune(
    dir: &Path,
    server: &str,
    keep: Duration,
    committed: &dyn Fn(i64) -> Option<u64>,
) -> io::Result<Vec<PathBuf>> {
    let segments = server_segments(dir, server)?;
    let now = SystemTime::now();
    let mut removed = Vec::new();
    for (i, segment) in segments.iter().enumerate() {
        if !segment.compressed {
            continue;
        }
        let modified = std::fs::metadata(&segment.path)?.modified()?;
        if now.duration_since(modified).unwrap_or_default() < keep {
            continue;
        }
        let Some(bound) = committed(segment.epoch) else {
            continue;
        };
        let end = match segments.get(i + 1) {
            Some(next) if next.epoch == segment.epoch => next.base,
            // The last segment of a journal that was started anew.
            _ => segment.base + io::copy(&mut open_text(&segment.path)?, &mut io::sink())?,
        };
        if end <= bound {
            std::fs::remove_file(&segment.path)?;
            removed.push(segment.path.clone());
        }
    }
    Ok(removed)
}
