//! Recovery at start: the part of a server's journal the store has not
//! applied is applied before live events are.

use super::{EventCounts, PipelineError, Recorder, ServerPipeline};
use crate::journal::{journal_path, JournalReader};
use crate::model::ServerInfo;
use std::path::Path;
use std::sync::Arc;
use tracing::info;

/// Applies the part of a server's journal the store has not seen (after a
/// crash, or a database that was down), and returns the pipeline to go on with.
/// `journaled_before` is the journal's length when this run opened it: what
/// lies beyond was received by this run (and is applied here all the same).
pub(crate) async fn recover(
    info: &Arc<ServerInfo>,
    journal_dir: &Path,
    journaled_before: u64,
    recorder: &Recorder,
) -> Result<ServerPipeline, PipelineError> {
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
