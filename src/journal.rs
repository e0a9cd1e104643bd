//! The raw journal: every received event, appended before processing, one
//! JSON object per line, one file per server (`<dir>/<server>.jsonl`). It is
//! the source of truth that `bman replay` and crash recovery read back.
//!
//! A position in a journal is its *epoch* (the `ts_ms` of the file's first
//! line, so a deleted and restarted journal is never mistaken for the old one)
//! and the byte offset just after a line.

use crate::model::Mode;
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};
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

/// How many lines of the journal at `path` end at or before byte `offset`.
pub(crate) fn lines_before(path: &Path, offset: u64) -> io::Result<u64> {
    let mut prefix = BufReader::new(File::open(path)?.take(offset));
    let mut lines = 0;
    loop {
        let buf = prefix.fill_buf()?;
        if buf.is_empty() {
            return Ok(lines);
        }
        lines += buf.iter().filter(|b| **b == b'\n').count() as u64;
        let n = buf.len();
        prefix.consume(n);
    }
}

/// The journal file of one server.
pub fn journal_path(dir: &Path, server: &str) -> PathBuf {
    dir.join(format!("{server}.jsonl"))
}

/// Appends lines to one server's journal.
#[derive(Debug)]
pub struct JournalWriter {
    file: File,
    path: PathBuf,
    server: String,
    mode: Mode,
    epoch: Option<i64>,
    offset: u64,
}

impl JournalWriter {
    /// Opens (or creates) the server's journal. A line cut short by a crash is
    /// truncated away, so the next append starts on a line of its own.
    pub fn open(dir: &Path, server: &str, mode: Mode) -> io::Result<JournalWriter> {
        std::fs::create_dir_all(dir)?;
        let path = journal_path(dir, server);
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)?;
        let len = file.metadata()?.len();
        let complete = complete_length(&mut file, len)?;
        if complete < len {
            tracing::warn!(server, path = %path.display(), "journal ends in a partial line ({} bytes) from an earlier crash; truncating it", len - complete);
            file.set_len(complete)?;
        }
        let epoch = if complete > 0 {
            let mut first = String::new();
            BufReader::new(File::open(&path)?).read_line(&mut first)?;
            serde_json::from_str::<JournalLine>(&first)
                .ok()
                .map(|l| l.ts_ms)
        } else {
            None
        };
        Ok(JournalWriter {
            file,
            path,
            server: server.to_string(),
            mode,
            epoch,
            offset: complete,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where the next line will start: the bytes of complete lines so far.
    pub(crate) fn end_offset(&self) -> u64 {
        self.offset
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
        self.file.write_all(text.as_bytes())?;
        self.offset += text.len() as u64;
        let epoch = *self.epoch.get_or_insert(ts_ms);
        Ok(JournalPos {
            epoch,
            offset: self.offset,
        })
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

/// A journal line that could not be read back.
#[derive(Debug, thiserror::Error)]
#[error("{path}:{line}: {reason}")]
pub struct BadLine {
    pub path: String,
    pub line: u64,
    pub reason: String,
}

/// Reads a journal file line by line, with positions.
pub struct JournalReader {
    reader: BufReader<File>,
    path: String,
    epoch: Option<i64>,
    offset: u64,
    line_no: u64,
    len: u64,
}

impl JournalReader {
    pub fn open(path: &Path) -> io::Result<JournalReader> {
        let file = File::open(path)?;
        let len = file.metadata()?.len();
        let mut reader = BufReader::new(file);
        let mut first = String::new();
        reader.read_line(&mut first)?;
        let epoch = serde_json::from_str::<JournalLine>(&first)
            .ok()
            .map(|l| l.ts_ms);
        reader.seek(SeekFrom::Start(0))?;
        Ok(JournalReader {
            reader,
            path: path.display().to_string(),
            epoch,
            offset: 0,
            line_no: 0,
            len,
        })
    }

    /// The file's epoch (`ts_ms` of its first line), if it has one.
    pub fn epoch(&self) -> Option<i64> {
        self.epoch
    }

    /// Total size in bytes (for progress bars).
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes read so far.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Continues reading after `offset` (a position taken from this file).
    pub(crate) fn seek_to(&mut self, offset: u64) -> io::Result<()> {
        self.reader.seek(SeekFrom::Start(offset))?;
        self.offset = offset;
        self.line_no = 0;
        Ok(())
    }
}

impl Iterator for JournalReader {
    type Item = Result<(JournalLine, JournalPos), BadLine>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut buf = Vec::new();
        loop {
            buf.clear();
            let n = match self.reader.read_until(b'\n', &mut buf) {
                Ok(0) => return None,
                Ok(n) => n,
                Err(e) => {
                    return Some(Err(BadLine {
                        path: self.path.clone(),
                        line: self.line_no + 1,
                        reason: e.to_string(),
                    }))
                }
            };
            self.offset += n as u64;
            self.line_no += 1;
            if buf.last() != Some(&b'\n') {
                // A line cut short by a crash: not an event yet.
                return None;
            }
            if buf.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let pos = JournalPos {
                epoch: self.epoch.unwrap_or(0),
                offset: self.offset,
            };
            return Some(
                serde_json::from_slice::<JournalLine>(&buf)
                    .map(|line| (line, pos))
                    .map_err(|e| BadLine {
                        path: self.path.clone(),
                        line: self.line_no,
                        reason: e.to_string(),
                    }),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_reads_back_and_survives_a_torn_line() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = JournalWriter::open(dir.path(), "eu", Mode::Tdm).unwrap();
        let p1 = w.append(1000, 6, r#"{"a":"└\"x"}"#).unwrap();
        let p2 = w.append(2000, 41, "{}").unwrap();
        assert_eq!(p1.epoch, 1000);
        assert_eq!(p2.epoch, 1000);
        drop(w);
        // A crash mid-write leaves half a line.
        let path = journal_path(dir.path(), "eu");
        OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"{\"ts_ms\":3")
            .unwrap();
        let mut w = JournalWriter::open(dir.path(), "eu", Mode::Tdm).unwrap();
        let p3 = w.append(3000, 42, "{}").unwrap();
        assert_eq!((p3.epoch, p3.offset > p2.offset), (1000, true));

        let lines: Vec<_> = JournalReader::open(&path)
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0].0.json, r#"{"a":"└\"x"}"#);
        assert_eq!(lines[0].0.mode, Mode::Tdm);
        assert_eq!(lines[0].1, p1);
        assert_eq!(lines[2].1, p3);

        let mut r = JournalReader::open(&path).unwrap();
        r.seek_to(p2.offset).unwrap();
        assert_eq!(r.next().unwrap().unwrap().0.ts_ms, 3000);
    }

    #[test]
    fn bad_lines_are_reported_and_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.jsonl");
        std::fs::write(
            &path,
            "not json\n\n{\"ts_ms\":1,\"server\":\"x\",\"mode\":\"dm\",\"id\":4,\"json\":\"{}\"}\n",
        )
        .unwrap();
        let items: Vec<_> = JournalReader::open(&path).unwrap().collect();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].as_ref().unwrap_err().line, 1);
        assert_eq!(items[1].as_ref().unwrap().0.id, 4);
    }
}
