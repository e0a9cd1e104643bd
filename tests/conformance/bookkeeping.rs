//! What bman keeps about its own work: journal checkpoints and the audit
//! log of privileged bot commands.

use super::support::*;
use bman::model::*;
use bman::store::*;

pub fn checkpoints(store: &dyn Store) {
    assert_eq!(store.checkpoint("s1", 1).unwrap(), None);
    let cp = |server: &str, epoch, offset, snapshot: Option<&str>| Checkpoint {
        server: server.into(),
        epoch,
        offset,
        snapshot_offset: offset / 2,
        snapshot: snapshot.map(str::to_string),
    };
    apply(
        store,
        WriteBatch {
            checkpoints: vec![
                cp("s1", 1, 100, Some("{}")),
                cp("s1", 2, 5, None),
                cp(HOSTILE, 1, 7, Some(HOSTILE)),
            ],
            ..WriteBatch::default()
        },
    );
    apply(
        store,
        WriteBatch {
            checkpoints: vec![cp("s1", 1, 250, None)],
            ..WriteBatch::default()
        },
    );
    assert_eq!(
        store.checkpoint("s1", 1).unwrap(),
        Some(cp("s1", 1, 250, None)),
        "upserted"
    );
    assert_eq!(
        store.checkpoint("s1", 2).unwrap(),
        Some(cp("s1", 2, 5, None))
    );
    assert_eq!(
        store.checkpoint(HOSTILE, 1).unwrap(),
        Some(cp(HOSTILE, 1, 7, Some(HOSTILE)))
    );
    assert_eq!(store.checkpoint("s2", 1).unwrap(), None);
    let big = cp("s1", 3, u64::from(u32::MAX) * 4, None);
    apply(
        store,
        WriteBatch {
            checkpoints: vec![big.clone()],
            ..WriteBatch::default()
        },
    );
    assert_eq!(store.checkpoint("s1", 3).unwrap(), Some(big));
}

pub fn audit_log(store: &dyn Store) {
    assert!(store.audit_log(10).unwrap().is_empty());
    let records = audit_records();
    assert!(records[2].command.chars().count() > 2_000);
    for r in &records {
        store.record_audit(r).unwrap();
    }
    let newest_first: Vec<AuditRecord> = [3, 1, 2, 0, 4]
        .iter()
        .map(|&i| records[i].clone())
        .collect();
    assert_eq!(store.audit_log(usize::MAX).unwrap(), newest_first);
    assert_eq!(store.audit_log(2).unwrap(), newest_first[..2]);
    assert!(store.audit_log(0).unwrap().is_empty());

    let too_large = audit(4_000, i64::MAX as u64 + 1, "say hi", true, "");
    assert!(store.record_audit(&too_large).is_err());
    assert_eq!(
        store.audit_log(usize::MAX).unwrap(),
        newest_first,
        "a refused record leaves nothing behind"
    );
}

/// `bman check`'s probe names the backend and leaves the store as it was.
pub fn self_check(store: &dyn Store) {
    apply(store, sample_batch());
    let before = (
        store.next_seq().unwrap(),
        store.checkpoints().unwrap(),
        store.export_players().unwrap().len(),
    );
    for _ in 0..2 {
        let version = store.self_check().unwrap();
        assert!(
            version.starts_with("SQLite 3.") || version.starts_with("MongoDB "),
            "{version}"
        );
    }
    let after = (
        store.next_seq().unwrap(),
        store.checkpoints().unwrap(),
        store.export_players().unwrap().len(),
    );
    assert_eq!(before, after);
}
