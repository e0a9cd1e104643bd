//! How many events of each kind each server produced (`bman run` and
//! `bman replay` print it).

use std::collections::BTreeMap;

/// How many events of each kind each server produced.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct EventCounts(pub BTreeMap<String, BTreeMap<String, u64>>);

impl EventCounts {
    pub(crate) fn add(&mut self, other: &EventCounts) {
        for (server, kinds) in &other.0 {
            let mine = self.0.entry(server.clone()).or_default();
            for (kind, n) in kinds {
                *mine.entry(kind.clone()).or_default() += n;
            }
        }
    }

    pub fn total(&self) -> u64 {
        self.0.values().flat_map(|k| k.values()).sum()
    }

    /// A small table for people: one line per server and event kind.
    pub fn to_table(&self) -> String {
        let mut out = String::new();
        for (server, kinds) in &self.0 {
            let total: u64 = kinds.values().sum();
            out.push_str(&format!("{server}: {total} events\n"));
            for (kind, n) in kinds {
                out.push_str(&format!("  {kind:<28} {n:>9}\n"));
            }
        }
        out
    }
}
