//! Reading a journal back: the lines of its segments in order, plain or
//! compressed, each with its position.

use super::segment::{classify, compressed_path, open_text, Segment};
use super::{JournalLine, JournalPos};
use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// A journal line that could not be read back.
#[derive(Debug, thiserror::Error)]
#[error("{path}:{line}: {reason}")]
pub struct BadLine {
    pub path: String,
    pub line: u64,
    pub reason: String,
}

/// Counts the bytes read from a file (compressed bytes, for progress).
struct Counted {
    file: File,
    read: Arc<AtomicU64>,
}

impl Read for Counted {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.file.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

enum Text {
    Plain(BufReader<File>),
    Compressed(BufReader<flate2::read::MultiGzDecoder<Counted>>),
}

/// The segment being read.
struct Open {
    text: Text,
    path: String,
    base: u64,
    /// Uncompressed bytes read from this segment.
    offset: u64,
    line_no: u64,
}

impl Open {
    fn new(segment: &Segment, compressed_read: Arc<AtomicU64>) -> io::Result<Open> {
        let (path, file) = match File::open(&segment.path) {
            Ok(file) => (segment.path.clone(), file),
            // Compressed (and the plain file deleted) since it was listed.
            Err(e) if e.kind() == io::ErrorKind::NotFound && !segment.compressed => {
                let path = compressed_path(segment);
                let file = File::open(&path)?;
                (path, file)
            }
            Err(e) => return Err(e),
        };
        let text = if path.to_string_lossy().ends_with(".gz") {
            let counted = Counted {
                file,
                read: compressed_read,
            };
            Text::Compressed(BufReader::new(flate2::read::MultiGzDecoder::new(counted)))
        } else {
            Text::Plain(BufReader::new(file))
        };
        Ok(Open {
            text,
            path: path.display().to_string(),
            base: segment.base,
            offset: 0,
            line_no: 0,
        })
    }

    fn lines(&mut self) -> &mut dyn BufRead {
        match &mut self.text {
            Text::Plain(r) => r,
            Text::Compressed(r) => r,
        }
    }

    /// Skips `n` bytes: a seek in a plain file, decompressing in a compressed one.
    fn skip(&mut self, n: u64) -> io::Result<()> {
        match &mut self.text {
            Text::Plain(r) => {
                r.seek(SeekFrom::Start(n))?;
                self.offset = n;
            }
            Text::Compressed(r) => {
                self.offset = io::copy(&mut r.take(n), &mut io::sink())?;
            }
        }
        Ok(())
    }
}

/// Reads a journal's lines with their positions, segment after segment.
pub struct JournalReader {
    segments: VecDeque<Segment>,
    current: Option<Open>,
    epoch: Option<i64>,
    /// Bytes on disk of every segment (for progress bars).
    len: u64,
    /// Bytes on disk of the segments already read through.
    done: u64,
    compressed_read: Arc<AtomicU64>,
    /// Lines ending past this journal offset are not read.
    end: Option<u64>,
}

impl JournalReader {
    /// One journal file: a segment (plain or compressed), or a whole journal
    /// of earlier releases.
    pub fn open(path: &Path) -> io::Result<JournalReader> {
        match classify(path)? {
            Some((segment, _)) => JournalReader::new(vec![segment]),
            None => {
                // No readable first line: its lines are still read (and reported).
                let segment = Segment {
                    path: path.to_path_buf(),
                    epoch: 0,
                    base: 0,
                    compressed: path.to_string_lossy().ends_with(".gz"),
                };
                let mut reader = JournalReader::new(vec![segment])?;
                reader.epoch = None;
                Ok(reader)
            }
        }
    }

    /// The segments of one journal (one epoch), in journal order.
    pub fn new(segments: Vec<Segment>) -> io::Result<JournalReader> {
        let mut len = 0;
        for s in &segments {
            len += std::fs::metadata(&s.path).map_or(0, |m| m.len());
        }
        Ok(JournalReader {
            epoch: segments.first().map(|s| s.epoch),
            segments: segments.into(),
            current: None,
            len,
            done: 0,
            compressed_read: Arc::new(AtomicU64::new(0)),
            end: None,
        })
    }

    /// The journal's epoch, if it has one.
    pub fn epoch(&self) -> Option<i64> {
        self.epoch
    }

    /// Bytes on disk (for progress bars).
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes on disk read so far (compressed bytes of compressed segments).
    pub fn disk_read(&self) -> u64 {
        let current = match &self.current {
            Some(Open {
                text: Text::Plain(_),
                offset,
                ..
            }) => *offset,
            Some(_) => self.compressed_read.load(Ordering::Relaxed),
            None => 0,
        };
        self.done + current
    }

    /// Continues reading at journal offset `offset` (a position taken from
    /// this journal): segments that end before it are not opened at all.
    pub(crate) fn seek_to(&mut self, offset: u64) -> io::Result<()> {
        self.finish_current();
        while self.segments.get(1).is_some_and(|next| next.base <= offset) {
            let passed = self.segments.pop_front().expect("two segments");
            self.done += std::fs::metadata(&passed.path).map_or(0, |m| m.len());
        }
        if let Some(segment) = self.segments.front() {
            if segment.base < offset {
                let segment = self.segments.pop_front().expect("front");
                let mut open = Open::new(&segment, self.compressed_read.clone())?;
                open.skip(offset - segment.base)?;
                self.current = Some(open);
            }
        }
        Ok(())
    }

    /// Reads no line that ends past journal offset `end`.
    pub(crate) fn stop_at(&mut self, end: u64) {
        self.end = Some(end);
    }

    fn finish_current(&mut self) {
        if let Some(open) = self.current.take() {
            self.done += match open.text {
                Text::Plain(r) => r.get_ref().metadata().map_or(open.offset, |m| m.len()),
                Text::Compressed(_) => self.compressed_read.swap(0, Ordering::Relaxed),
            };
        }
    }
}

impl Iterator for JournalReader {
    type Item = Result<(JournalLine, JournalPos), BadLine>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut buf = Vec::new();
        loop {
            if self.current.is_none() {
                let segment = self.segments.pop_front()?;
                match Open::new(&segment, self.compressed_read.clone()) {
                    Ok(open) => self.current = Some(open),
                    Err(e) => {
                        return Some(Err(BadLine {
                            path: segment.path.display().to_string(),
                            line: 0,
                            reason: format!("cannot open: {e}"),
                        }))
                    }
                }
            }
            let open = self.current.as_mut().expect("opened above");
            buf.clear();
            let n = match open.lines().read_until(b'\n', &mut buf) {
                Ok(0) => {
                    self.finish_current();
                    continue;
                }
                Ok(n) => n,
                Err(e) => {
                    let bad = BadLine {
                        path: open.path.clone(),
                        line: open.line_no + 1,
                        reason: e.to_string(),
                    };
                    self.finish_current();
                    return Some(Err(bad));
                }
            };
            open.offset += n as u64;
            open.line_no += 1;
            if buf.last() != Some(&b'\n') {
                // A line cut short by a crash: not an event.
                self.finish_current();
                continue;
            }
            if buf.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let pos = JournalPos {
                epoch: self.epoch.unwrap_or(0),
                offset: open.base + open.offset,
            };
            if self.end.is_some_and(|end| pos.offset > end) {
                self.finish_current();
                self.segments.clear();
                return None;
            }
            return Some(
                serde_json::from_slice::<JournalLine>(&buf)
                    .map(|line| (line, pos))
                    .map_err(|e| BadLine {
                        path: open.path.clone(),
                        line: open.line_no,
                        reason: e.to_string(),
                    }),
            );
        }
    }
}

/// How many lines of a journal's segments end at or before journal offset
/// `offset` (what a replay skips as already applied).
pub fn lines_before(segments: &[Segment], offset: u64) -> io::Result<u64> {
    let mut lines = 0;
    for segment in segments.iter().filter(|s| s.base < offset) {
        let path = if segment.path.exists() {
            segment.path.clone()
        } else {
            compressed_path(segment)
        };
        let mut prefix = open_text(&path)?.take(offset - segment.base);
        let mut chunk = [0u8; 64 * 1024];
        loop {
            let n = prefix.read(&mut chunk)?;
            if n == 0 {
                break;
            }
            lines += chunk[..n].iter().filter(|b| **b == b'\n').count() as u64;
        }
    }
    Ok(lines)
}
