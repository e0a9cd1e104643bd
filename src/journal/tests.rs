use super::segment::{listed, segment_dir};
use super::*;
use std::fs::OpenOptions;
use std::io::Write;
use std::time::{Duration, Instant, SystemTime};

/// Rotates every few lines.
fn tiny() -> Rotation {
    Rotation {
        segment_bytes: 300,
        keep: None,
    }
}

/// Waits until every segment but the last is compressed (the worker is done).
fn wait_compressed(dir: &Path, server: &str) -> Vec<Segment> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let all = listed(dir, server).unwrap();
        let plain_closed = all[..all.len().saturating_sub(1)]
            .iter()
            .any(|s| !s.compressed);
        if !plain_closed {
            return server_segments(dir, server).unwrap();
        }
        assert!(
            Instant::now() < deadline,
            "closed segments never compressed"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn read_all(segments: Vec<Segment>) -> Vec<(JournalLine, JournalPos)> {
    JournalReader::new(segments)
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// Appends `n` events one second apart from `start_ms`; returns their positions.
fn append_n(w: &mut JournalWriter, start_ms: i64, n: i64) -> Vec<JournalPos> {
    (0..n)
        .map(|i| {
            w.append(start_ms + i * 1000, 6, &format!(r#"{{"n":"{i}"}}"#))
                .unwrap()
        })
        .collect()
}

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

#[test]
fn segments_rotate_compress_and_read_back_as_one_journal() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = JournalWriter::open_rotating(dir.path(), "eu", Mode::Dm, tiny(), None).unwrap();
    let written = append_n(&mut w, 1_000_000, 40);
    let segments = wait_compressed(dir.path(), "eu");
    assert!(segments.len() > 5, "rotated: {segments:?}");
    assert!(segments[0].compressed && segments[0].base == 0);
    assert!(
        !journal_path(dir.path(), "eu").exists(),
        "the first segment moved"
    );
    assert!(
        !segments.last().unwrap().compressed,
        "the active one is plain"
    );
    for s in &segments {
        assert!(std::fs::metadata(&s.path).unwrap().len() <= 300 || s.compressed);
    }

    let lines = read_all(segments.clone());
    let positions: Vec<_> = lines.iter().map(|(_, p)| *p).collect();
    assert_eq!(
        positions, written,
        "positions survive rotation and compression"
    );
    assert_eq!(lines[39].0.json, r#"{"n":"39"}"#);

    // Seeking lands inside a compressed segment; earlier lines are counted.
    let mut r = JournalReader::new(segments.clone()).unwrap();
    r.seek_to(written[19].offset).unwrap();
    assert_eq!(r.next().unwrap().unwrap().1, written[20]);
    assert_eq!(lines_before(&segments, written[19].offset).unwrap(), 20);

    // Reopened, the journal goes on at the same position.
    drop(w);
    let mut w = JournalWriter::open_rotating(dir.path(), "eu", Mode::Dm, tiny(), None).unwrap();
    assert_eq!(w.end_offset(), written[39].offset);
    let next = w.append(2_000_000, 6, "{}").unwrap();
    assert_eq!(next.epoch, written[0].epoch);
    assert!(next.offset > written[39].offset);
}

#[test]
fn a_new_utc_day_starts_a_new_segment() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = JournalWriter::open(dir.path(), "eu", Mode::Dm).unwrap();
    let day = 86_400_000 * 20_000;
    w.append(day - 2000, 6, "{}").unwrap();
    let before_midnight = w.append(day - 1000, 6, "{}").unwrap();
    w.append(day, 6, "{}").unwrap();
    assert_eq!(
        w.path(),
        segment::segment_path(dir.path(), "eu", day - 2000, before_midnight.offset)
    );
    let segments = wait_compressed(dir.path(), "eu");
    assert_eq!(segments.len(), 2);
    assert_eq!(read_all(segments).len(), 3);
}

#[test]
fn every_crash_state_of_a_rotation_reads_back_whole() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut w = JournalWriter::open_rotating(d, "eu", Mode::Dm, tiny(), None).unwrap();
    let written = append_n(&mut w, 1_000_000, 30);
    drop(w);
    let segments = wait_compressed(d, "eu");
    let whole = read_all(segments.clone());
    assert_eq!(whole.len(), 30);

    // Killed mid-compression: the segment is plain again and a partial .tmp lies next to it.
    let victim = &segments[1];
    let plain = victim.path.with_extension("");
    let text = {
        let mut t = String::new();
        std::io::Read::read_to_string(&mut segment::open_text(&victim.path).unwrap(), &mut t)
            .unwrap();
        t
    };
    std::fs::write(&plain, &text).unwrap();
    std::fs::remove_file(&victim.path).unwrap();
    std::fs::write(victim.path.with_extension("gz.tmp"), b"\x1f\x8b half").unwrap();
    assert_eq!(read_all(server_segments(d, "eu").unwrap()), whole);
    // Killed after the rename, before deleting the plain file: both exist.
    let twin = &segments[2];
    std::fs::write(twin.path.with_extension(""), {
        let mut t = String::new();
        std::io::Read::read_to_string(&mut segment::open_text(&twin.path).unwrap(), &mut t)
            .unwrap();
        t
    })
    .unwrap();
    assert_eq!(read_all(server_segments(d, "eu").unwrap()), whole);

    // The next start finishes both.
    let w = JournalWriter::open_rotating(d, "eu", Mode::Dm, tiny(), None).unwrap();
    let after = wait_compressed(d, "eu");
    assert_eq!(after, segments);
    let leftovers: Vec<_> = std::fs::read_dir(segment_dir(d, "eu"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| !after.iter().any(|s| &s.path == p))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    assert_eq!(read_all(after), whole);
    drop(w);

    // The active segment lost (deleted by hand): the journal goes on after the last closed one.
    let active = segments.last().unwrap();
    std::fs::remove_file(&active.path).unwrap();
    let lost = read_all(server_segments(d, "eu").unwrap());
    let mut w = JournalWriter::open_rotating(d, "eu", Mode::Dm, tiny(), None).unwrap();
    assert_eq!(w.end_offset(), lost.last().unwrap().1.offset);
    let next = w.append(3_000_000, 6, "{}").unwrap();
    assert_eq!(next.epoch, written[0].epoch);
}

#[test]
fn retention_deletes_only_old_compressed_segments_the_store_is_past() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut w = JournalWriter::open_rotating(d, "eu", Mode::Dm, tiny(), None).unwrap();
    let written = append_n(&mut w, 1_000_000, 40);
    let segments = wait_compressed(d, "eu");
    let old = SystemTime::now() - Duration::from_secs(3 * 86_400);
    for s in &segments {
        std::fs::File::options()
            .append(true)
            .open(&s.path)
            .unwrap()
            .set_modified(old)
            .unwrap();
    }
    let epoch = written[0].epoch;
    let bound = written[20].offset;
    // Not old enough: nothing goes.
    let keep_week = Duration::from_secs(7 * 86_400);
    assert!(prune(d, "eu", keep_week, &|_| Some(bound))
        .unwrap()
        .is_empty());
    // No checkpoint for this epoch: nothing goes.
    let keep_day = Duration::from_secs(86_400);
    assert!(
        prune(d, "eu", keep_day, &|e| (e != epoch).then_some(u64::MAX))
            .unwrap()
            .is_empty()
    );
    let removed = prune(d, "eu", keep_day, &|_| Some(bound)).unwrap();
    let expected: Vec<_> = segments
        .windows(2)
        .filter(|p| p[0].compressed && p[1].base <= bound)
        .map(|p| p[0].path.clone())
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(removed, expected);
    let left = server_segments(d, "eu").unwrap();
    assert!(left[0].base <= bound, "the segment holding the bound stays");
    let lines = read_all(left);
    assert!(lines.first().unwrap().1 <= written[21]);
    assert_eq!(lines.last().unwrap().1, written[39]);
    // Even the oldest plain (active) segment is never deleted.
    let removed = prune(d, "eu", keep_day, &|_| Some(u64::MAX)).unwrap();
    assert!(removed.iter().all(|p| p.to_string_lossy().ends_with(".gz")));
    assert!(w.path().exists());
}

#[test]
fn scan_groups_servers_and_orders_segments_given_in_any_order() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut eu = JournalWriter::open_rotating(d, "eu", Mode::Dm, tiny(), None).unwrap();
    let written = append_n(&mut eu, 1_000_000, 25);
    let mut us = JournalWriter::open(d, "us", Mode::Tdm).unwrap();
    append_n(&mut us, 500, 3);
    wait_compressed(d, "eu");
    let mut files = journal_files(&[d.to_path_buf()]).unwrap();
    files.reverse();
    let journals = scan(&files).unwrap();
    assert_eq!(journals.len(), 2);
    assert_eq!(
        (journals[0].server.as_str(), journals[0].mode),
        ("eu", Mode::Dm)
    );
    assert_eq!(journals[0].segments, server_segments(d, "eu").unwrap());
    assert_eq!(journals[1].segments.len(), 1);
    let lines = read_all(journals[0].segments.clone());
    assert_eq!(lines.iter().map(|l| l.1).collect::<Vec<_>>(), written);
}
