//! `bman backup`: a consistent copy of a live SQLite store, taken with
//! SQLite's online backup API while `bman run` goes on writing.

use crate::store::{StoreError, StoreResult};
use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How often a busy source (a WAL checkpoint, a schema change) is retried.
const BUSY_RETRIES: u32 = 200;

/// Copies the store at `source` into the new file `dest`; returns its size
/// in bytes. All pages are copied in one backup step, inside one read
/// transaction: the copy is the state after one commit (facts, stats and
/// journal checkpoints together, so `bman run` or `bman replay` on the copy
/// applies exactly the journal after it), and in WAL mode the writer is
/// never blocked meanwhile. The copy is written to `<dest>.partial` and
/// renamed when complete; an existing `dest` is refused, never overwritten.
pub fn backup(source: &Path, dest: &Path) -> StoreResult<u64> {
    if !source.exists() {
        return Err(StoreError::Backend(format!(
            "no store at {} to back up",
            source.display()
        )));
    }
    if dest.exists() {
        return Err(StoreError::Backend(format!(
            "{} exists; a backup never overwrites a file: choose a new name",
            dest.display()
        )));
    }
    let from = Connection::open_with_flags(
        source,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    from.busy_timeout(Duration::from_secs(5))?;
    let mut partial = dest.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    if partial.exists() {
        std::fs::remove_file(&partial).map_err(io_error(&partial))?;
    }
    let mut to = Connection::open(&partial)?;
    {
        let copy = Backup::new(&from, &mut to)?;
        let mut busy = 0;
        loop {
            match copy.step(-1)? {
                StepResult::Done => break,
                StepResult::More => {}
                // Busy or locked: a writer's checkpoint holds the file a moment.
                _ if busy < BUSY_RETRIES => {
                    busy += 1;
                    std::thread::sleep(Duration::from_millis(50));
                }
                _ => {
                    return Err(StoreError::Backend(format!(
                        "{} stayed locked for {} s; try again",
                        source.display(),
                        BUSY_RETRIES / 20
                    )))
                }
            }
        }
    }
    to.close().map_err(|(_, e)| e)?;
    std::fs::rename(&partial, dest).map_err(io_error(dest))?;
    std::fs::metadata(dest)
        .map(|m| m.len())
        .map_err(io_error(dest))
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |e| StoreError::Backend(format!("{}: {e}", path.display()))
}
