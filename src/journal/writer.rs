//! Appending to a server's journal: a new segment every UTC day or past a
//! size; closed segments are compressed, and old ones deleted (retention),
//! by a worker thread of the writer's own, off the ingest path.

use super::retention::prune;
use super::segment::{self, compress, segment_dir, segment_path, Segment};
use super::{journal_path, JournalLine, JournalPos};
use crate::model::Mode;
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc};
use std::time::Duration;
use tracing::{info, warn};

const DAY_MS: i64 = 86_400_000;

/// When segments rotate and how long closed ones are kept.
#[derive(Debug, Clone, PartialEq)]
pub struct Rotation {
    /// A segment closes before a line would take it past this size.
    pub segment_bytes: u64,
    /// Compressed segments older than this (by their last event) are deleted
    /// once the store is past them; `None` keeps everything.
    pub keep: Option<Duration>,
}

impl Default for Rotation {
    fn default() -> Self {
        Rotation {
            segment_bytes: 64 * 1024 * 1024,
            keep: None,
        }
    }
}

/// The journal offset below which the store needs nothing of an epoch (see
/// [`prune`]); `None` when it cannot say (nothing is deleted then).
pub type Committed = Arc<dyn Fn(i64) -> Option<u64> + Send + Sync>;

/// Work for the writer's worker thread.
enum Job {
    Compress(Segment),
    Prune,
}

/// Appends lines to one server's journal.
pub struct JournalWriter {
    file: File,
    path: PathBuf,
    dir: PathBuf,
    server: String,
    mode: Mode,
    epoch: Option<i64>,
    /// Journal offset of the active segment's first line.
    base: u64,
    /// Bytes of complete lines in the active segment.
    len: u64,
    /// UTC day of the active segment's first line.
    day: Option<i64>,
    rotation: Rotation,
    committed: Option<Committed>,
    /// Started at the first job; ends once the writer is dropped and its jobs are done.
    worker: Option<mpsc::Sender<Job>>,
}

impl std::fmt::Debug for JournalWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JournalWriter")
            .field("path", &self.path)
            .field("epoch", &self.epoch)
            .field("base", &self.base)
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

impl JournalWriter {
    /// Opens (or creates) the server's journal with the default rotation and
    /// no retention.
    pub fn open(dir: &Path, server: &str, mode: Mode) -> io::Result<JournalWriter> {
        Self::open_rotating(dir, server, mode, Rotation::default(), None)
    }

    /// Opens (or creates) the server's journal and goes on in its last
    /// segment. A line cut short by a crash is truncated away, so the next
    /// append starts on a line of its own; what a crash left half done in
    /// compressing is finished (or redone) in the background.
    pub fn open_rotating(
        dir: &Path,
        server: &str,
        mode: Mode,
        rotation: Rotation,
        committed: Option<Committed>,
    ) -> io::Result<JournalWriter> {
        std::fs::create_dir_all(dir)?;
        segment::remove_unfinished(dir, server)?;
        let listed = segment::listed(dir, server)?;
        let (path, epoch, base) = match segment::deduplicated(listed.clone()).last() {
            None => (journal_path(dir, server), None, 0),
            Some(last) if !last.compressed => (last.path.clone(), Some(last.epoch), last.base),
            Some(last) => {
                // The active segment is gone: go on after the last closed one.
                let len = io::copy(&mut segment::open_text(&last.path)?, &mut io::sink())?;
                let base = last.base + len;
                std::fs::create_dir_all(segment_dir(dir, server))?;
                (
                    segment_path(dir, server, last.epoch, base),
                    Some(last.epoch),
                    base,
                )
            }
        };
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)?;
        let len = file.metadata()?.len();
        let complete = complete_length(&mut file, len)?;
        if complete < len {
            warn!(server, path = %path.display(), "journal ends in a partial line ({} bytes) from an earlier crash; truncating it", len - complete);
            file.set_len(complete)?;
        }
        let day = if complete > 0 {
            let mut first = String::new();
            BufReader::new(File::open(&path)?).read_line(&mut first)?;
            serde_json::from_str::<JournalLine>(&first)
                .ok()
                .map(|l| l.ts_ms.div_euclid(DAY_MS))
        } else {
            None
        };
        let mut writer = JournalWriter {
            file,
            path,
            dir: dir.to_path_buf(),
            server: server.to_string(),
            mode,
            epoch,
            base,
            len: complete,
            day,
            rotation,
            committed,
            worker: None,
        };
        writer.finish_closed(&listed)?;
        if writer.rotation.keep.is_some() {
            writer.send(Job::Prune);
        }
        Ok(writer)
    }

    /// Every segment but the active one ends up compressed once: a plain
    /// segment that also exists compressed lost only its deletion to a crash.
    fn finish_closed(&mut self, listed: &[Segment]) -> io::Result<()> {
        for (i, segment) in listed.iter().enumerate() {
            if segment.compressed || segment.path == self.path {
                continue;
            }
            let twin = listed
                .get(i + 1)
                .is_some_and(|n| (n.epoch, n.base) == (segment.epoch, segment.base));
            if twin {
                std::fs::remove_file(&segment.path)?;
            } else {
                self.send(Job::Compress(segment.clone()));
            }
        }
        Ok(())
    }

    /// The active segment's file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where the next line will start: the journal offset after the last complete line.
    pub(crate) fn end_offset(&self) -> u64 {
        self.base + self.len
    }

    /// Appends one event; the returned position is just after its line.
    pub fn append(&mut self, ts_ms: i64, id: u16, json: &str) -> io::Result<JournalPos> {
        let line = JournalLine {
            ts_ms,
            server: self.server.clone(),
            mode: self.mode,
            id,
            json: json.to_string(),
        };
        let mut text = serde_json::to_string(&line)?;
        text.push('\n');
        let day = ts_ms.div_euclid(DAY_MS);
        if self.len > 0
            && (self.len + text.len() as u64 > self.rotation.segment_bytes || self.day != Some(day))
        {
            self.rotate()?;
        }
        self.file.write_all(text.as_bytes())?;
        self.len += text.len() as u64;
        self.day.get_or_insert(day);
        let epoch = *self.epoch.get_or_insert(ts_ms);
        Ok(JournalPos {
            epoch,
            offset: self.end_offset(),
        })
    }

    /// Closes the active segment (durably, before anything reads it for
    /// compression) and starts the next one where it ended.
    fn rotate(&mut self) -> io::Result<()> {
        let epoch = self.epoch.expect("a segment with lines has an epoch");
        self.file.sync_all()?;
        let base = self.end_offset();
        let path = segment_path(&self.dir, &self.server, epoch, base);
        std::fs::create_dir_all(segment_dir(&self.dir, &self.server))?;
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)?;
        let closed = Segment {
            path: std::mem::replace(&mut self.path, path),
            epoch,
            base: self.base,
            compressed: false,
        };
        self.file = file;
        self.base = base;
        self.len = 0;
        self.day = None;
        self.send(Job::Compress(closed));
        Ok(())
    }

    fn send(&mut self, job: Job) {
        let worker = self.worker.get_or_insert_with(|| {
            let (tx, rx) = mpsc::channel();
            let (dir, server) = (self.dir.clone(), self.server.clone());
            let (keep, committed) = (self.rotation.keep, self.committed.clone());
            let spawned = std::thread::Builder::new()
                .name(format!("bman-journal-{server}"))
                .spawn(move || work(rx, &dir, &server, keep, committed));
            if let Err(e) = spawned {
                warn!(server = %self.server, "cannot start the journal compressor: {e}; closed segments stay uncompressed");
            }
            tx
        });
        // A worker that could not start leaves the segment plain, still readable.
        let _ = worker.send(job);
    }
}

/// The worker: compresses closed segments in order, then applies retention.
fn work(
    jobs: mpsc::Receiver<Job>,
    dir: &Path,
    server: &str,
    keep: Option<Duration>,
    committed: Option<Committed>,
) {
    for job in jobs {
        if let Job::Compress(segment) = job {
            if let Err(e) = compress(&segment) {
                warn!(server, path = %segment.path.display(), "compressing a closed journal segment failed: {e}; it stays plain (still readable) and is retried at the next start");
            }
        }
        let (Some(keep), Some(committed)) = (keep, &committed) else {
            continue;
        };
        match prune(dir, server, keep, committed.as_ref()) {
            Ok(removed) if removed.is_empty() => {}
            Ok(removed) => info!(
                server,
                "journal retention: deleted {} compressed segments the store is past ({})",
                removed.len(),
                removed
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Err(e) => warn!(
                server,
                "journal retention failed: {e}; nothing more deleted"
            ),
        }
    }
}

/// Length of the file up to and including its last newline.
fn complete_length(file: &mut File, len: u64) -> io::Result<u64> {
    let mut end = len;
    let mut chunk = [0u8; 4096];
    while end > 0 {
        let start = end.saturating_sub(chunk.len() as u64);
        let n = (end - start) as usize;
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(&mut chunk[..n])?;
        if let Some(p) = chunk[..n].iter().rposition(|&b| b == b'\n') {
            return Ok(start + p as u64 + 1);
        }
        end = start;
    }
    Ok(0)
}
