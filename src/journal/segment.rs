//! Segment files: their names, a server's segments in order, every journal
//! under some paths (for `bman replay`), and compressing a closed segment.
//!
//! A segment's name says where it sits: `<epoch>-<base>.jsonl[.gz]`, the
//! base zero-padded to 15 digits so a directory listing is in journal order.
//! The first segment, `<server>.jsonl`, is named by its server instead: its
//! base is 0 and its epoch the `ts_ms` of its first line.

use super::{journal_path, JournalLine};
use crate::model::Mode;
use flate2::write::GzEncoder;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter};
use std::path::{Path, PathBuf};
use tracing::warn;

/// One file of a journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub path: PathBuf,
    pub epoch: i64,
    /// The journal offset its first line starts at.
    pub base: u64,
    /// gzip-compressed (a closed segment).
    pub compressed: bool,
}

/// A journal found by [`scan`]: one server's segments of one epoch, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Journal {
    pub server: String,
    pub mode: Mode,
    pub epoch: i64,
    pub segments: Vec<Segment>,
}

const PLAIN: &str = ".jsonl";
const COMPRESSED: &str = ".jsonl.gz";
const BASE_DIGITS: usize = 15;

/// Where a server's later segments go.
pub(super) fn segment_dir(dir: &Path, server: &str) -> PathBuf {
    dir.join(server)
}

/// The plain file of the segment starting at `base`.
pub(super) fn segment_path(dir: &Path, server: &str, epoch: i64, base: u64) -> PathBuf {
    segment_dir(dir, server).join(format!("{epoch}-{base:0BASE_DIGITS$}{PLAIN}"))
}

/// `(epoch, base, compressed)` from a segment's name; `None` for any other name.
fn parse_name(path: &Path) -> Option<(i64, u64, bool)> {
    let name = path.file_name()?.to_str()?;
    let (stem, compressed) = match name.strip_suffix(COMPRESSED) {
        Some(stem) => (stem, true),
        None => (name.strip_suffix(PLAIN)?, false),
    };
    let (epoch, base) = stem.split_once('-')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    (digits(epoch) && digits(base) && base.len() == BASE_DIGITS)
        .then(|| Some((epoch.parse().ok()?, base.parse().ok()?, compressed)))?
}

fn is_compressed(path: &Path) -> bool {
    path.to_str().is_some_and(|p| p.ends_with(COMPRESSED))
}

/// Where a segment goes once compressed: next to it, or for a first segment
/// (`<dir>/<server>.jsonl`) in the server's segment directory.
pub(super) fn compressed_path(segment: &Segment) -> PathBuf {
    let name = segment
        .path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    if segment.compressed {
        return segment.path.clone();
    }
    if parse_name(&segment.path).is_some() {
        return with_suffix(&segment.path, ".gz");
    }
    let server = name.strip_suffix(PLAIN).unwrap_or(name);
    let parent = segment.path.parent().unwrap_or(Path::new("."));
    with_suffix(
        &segment_path(parent, server, segment.epoch, segment.base),
        ".gz",
    )
}

/// `path` with `suffix` appended to its file name.
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// The file's lines, decompressed if it is a `.gz`.
pub(super) fn open_text(path: &Path) -> io::Result<Box<dyn BufRead + Send>> {
    let file = File::open(path)?;
    Ok(if is_compressed(path) {
        Box::new(BufReader::new(flate2::read::MultiGzDecoder::new(file)))
    } else {
        Box::new(BufReader::new(file))
    })
}

/// The first line of a journal file, if it has a readable one.
fn first_line(path: &Path) -> io::Result<Option<JournalLine>> {
    let mut first = String::new();
    open_text(path)?.read_line(&mut first)?;
    Ok(serde_json::from_str(&first).ok())
}

/// The segment a journal file is: by its name, or (a first segment, a file
/// of earlier releases, any other name) base 0 and the epoch of its first
/// line. `None` when it has no readable first line.
pub(super) fn classify(path: &Path) -> io::Result<Option<(Segment, JournalLine)>> {
    let Some(first) = first_line(path)? else {
        return Ok(None);
    };
    let (epoch, base) = parse_name(path).map_or((first.ts_ms, 0), |(e, b, _)| (e, b));
    let segment = Segment {
        path: path.to_path_buf(),
        epoch,
        base,
        compressed: is_compressed(path),
    };
    Ok(Some((segment, first)))
}

/// Every segment file of a server, in journal order; a segment present both
/// plain and compressed (a crash before the plain one was deleted) is listed
/// twice, plain first.
pub(super) fn listed(dir: &Path, server: &str) -> io::Result<Vec<Segment>> {
    let mut all = Vec::new();
    let first = journal_path(dir, server);
    if first.exists() {
        if let Some((segment, _)) = classify(&first)? {
            all.push(segment);
        }
    }
    match std::fs::read_dir(segment_dir(dir, server)) {
        Ok(entries) => {
            for entry in entries {
                let path = entry?.path();
                if let Some((epoch, base, compressed)) = parse_name(&path) {
                    all.push(Segment {
                        path,
                        epoch,
                        base,
                        compressed,
                    });
                }
            }
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    all.sort_by_key(|s| (s.epoch, s.base, s.compressed));
    Ok(all)
}

/// One file per segment, plain preferred (it is complete: a segment is
/// compressed only after it was closed).
pub(super) fn deduplicated(mut segments: Vec<Segment>) -> Vec<Segment> {
    segments.sort_by_key(|s| (s.epoch, s.base, s.compressed));
    segments.dedup_by_key(|s| (s.epoch, s.base));
    segments
}

/// A server's segments in `dir`, in journal order (every epoch, oldest first).
pub fn server_segments(dir: &Path, server: &str) -> io::Result<Vec<Segment>> {
    Ok(deduplicated(listed(dir, server)?))
}

/// The files under `paths`: files as given, directories searched (to any
/// depth) for `.jsonl` and `.jsonl.gz` files.
pub fn journal_files(paths: &[PathBuf]) -> io::Result<Vec<PathBuf>> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> io::Result<()> {
        let mut entries = std::fs::read_dir(dir)?
            .map(|e| e.map(|e| e.path()))
            .collect::<io::Result<Vec<_>>>()?;
        entries.sort();
        for path in entries {
            if path.is_dir() {
                walk(&path, out)?;
            } else if path
                .to_str()
                .is_some_and(|p| p.ends_with(PLAIN) || p.ends_with(COMPRESSED))
            {
                out.push(path);
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    for path in paths {
        let meta = std::fs::metadata(path)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        if meta.is_dir() {
            walk(path, &mut out)?;
        } else {
            out.push(path.clone());
        }
    }
    Ok(out)
}

/// The journals in `paths` (see [`journal_files`]), given in any order: one
/// per server and epoch, each with its segments in journal order. Empty
/// files (a segment just opened) are left out; a file without a readable
/// first line is logged and left out.
pub fn scan(paths: &[PathBuf]) -> io::Result<Vec<Journal>> {
    let mut journals: BTreeMap<(String, i64), Journal> = BTreeMap::new();
    for path in journal_files(paths)? {
        let Some((segment, first)) = classify(&path)? else {
            if std::fs::metadata(&path)?.len() > 0 {
                warn!("{}: no journal lines", path.display());
            }
            continue;
        };
        journals
            .entry((first.server.clone(), segment.epoch))
            .or_insert_with(|| Journal {
                server: first.server,
                mode: first.mode,
                epoch: segment.epoch,
                segments: Vec::new(),
            })
            .segments
            .push(segment);
    }
    Ok(journals
        .into_values()
        .map(|mut j| {
            j.segments = deduplicated(j.segments);
            j
        })
        .collect())
}

/// Compresses a closed segment: gzip to a temporary name, fsync, rename,
/// then delete the plain file, so a crash at any step leaves the segment
/// readable (plain, or plain and compressed). The compressed file keeps the
/// plain one's modification time: the time of its last event.
pub(super) fn compress(segment: &Segment) -> io::Result<PathBuf> {
    let dest = compressed_path(segment);
    let tmp = with_suffix(&dest, ".tmp");
    let parent = dest.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)?;
    let source = File::open(&segment.path)?;
    let modified = source.metadata()?.modified()?;
    let mut gz = GzEncoder::new(
        BufWriter::new(File::create(&tmp)?),
        flate2::Compression::default(),
    );
    io::copy(&mut BufReader::new(source), &mut gz)?;
    let out = gz.finish()?.into_inner().map_err(|e| e.into_error())?;
    out.set_modified(modified)?;
    out.sync_all()?;
    std::fs::rename(&tmp, &dest)?;
    File::open(parent)?.sync_all()?;
    std::fs::remove_file(&segment.path)?;
    Ok(dest)
}

/// Removes compressions a crash cut short (`*.tmp` in the segment directory).
pub(super) fn remove_unfinished(dir: &Path, server: &str) -> io::Result<()> {
    let entries = match std::fs::read_dir(segment_dir(dir, server)) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "tmp") {
            std::fs::remove_file(&path)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_epoch_and_base() {
        let p = segment_path(Path::new("j"), "eu", 1_700_000_000_000, 67_108_864);
        assert_eq!(p, Path::new("j/eu/1700000000000-000000067108864.jsonl"));
        assert_eq!(parse_name(&p), Some((1_700_000_000_000, 67_108_864, false)));
        let gz = PathBuf::from("x/5-000000000000007.jsonl.gz");
        assert_eq!(parse_name(&gz), Some((5, 7, true)));
        for other in [
            "eu.jsonl",
            "a-b.jsonl",
            "5-7.jsonl",
            "5-000000000000007.json",
        ] {
            assert_eq!(parse_name(Path::new(other)), None, "{other}");
        }
        let first = Segment {
            path: PathBuf::from("j/eu.jsonl"),
            epoch: 5,
            base: 0,
            compressed: false,
        };
        assert_eq!(
            compressed_path(&first),
            Path::new("j/eu/5-000000000000000.jsonl.gz")
        );
    }
}
