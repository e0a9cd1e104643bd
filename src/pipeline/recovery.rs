//! Recovery at start: the part of a server's journal the store has not
//! applied is applied before live events are.

use super::{EventCounts, PipelineError, Recorder, ServerPipeline};
use crate::journal::{server_segments, JournalReader};
use crate::model::ServerInfo;
use std::path::Path;
use std::sync::Arc;
use tracing::info;

/// Applies the part of a server's journal the store has not seen (after a
/// crash, or a database that was down), and returns the pipeline to go on with.
/// `journaled_before` is the journal's end offset when this run opened it:
/// what lies beyond was received by this run and comes through the live
/// stream, so it is not read here.
pub(crate) async fn recover(
    info: &Arc<ServerInfo>,
    journal_dir: &Path,
    journaled_before: u64,
    recorder: &Recorder,
) -> Result<ServerPipeline, PipelineError> {
    let mut segments = server_segments(journal_dir, &info.name)?;
    // The journal being written is the latest epoch's; older ones were
    // applied before it began.
    if let Some(epoch) = segments.last().map(|s| s.epoch) {
        segments.retain(|s| s.epoch == epoch);
    }
    let reader = (!segments.is_empty())
        .then(|| JournalReader::new(segments))
        .transpose()?;
    let epoch = reader.as_ref().and_then(JournalReader::epoch);
    let (mut pipeline, offset, applied) = ServerPipeline::resume(
        info,
        epoch,
        recorder.store.as_ref(),
        recorder.writer.clone(),
    )?;
    if let Some(mut reader) = reader {
        if offset < journaled_before {
            reader.seek_to(offset)?;
            reader.stop_at(journaled_before);
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
