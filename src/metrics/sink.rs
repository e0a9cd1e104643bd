//! [`Counted`]: counts every frame of one server by its event kind, then
//! hands it to the real sink (the journal).

use crate::event::GameEvent;
use crate::rcon::FrameSink;
use prometheus_client::metrics::counter::Counter;

/// A [`FrameSink`] in front of another, counting frames by event id.
pub struct Counted<S> {
    /// Indexed by event id (`event::ids::ALL`).
    by_id: Vec<Counter>,
    unknown: Counter,
    inner: S,
}

impl<S> Counted<S> {
    pub(super) fn new(by_id: Vec<Counter>, unknown: Counter, inner: S) -> Counted<S> {
        Counted {
            by_id,
            unknown,
            inner,
        }
    }
}

impl<S: FrameSink> FrameSink for Counted<S> {
    fn keep(&mut self, ts_ms: i64, id: u16, json: &str) {
        self.by_id
            .get(usize::from(id))
            .unwrap_or(&self.unknown)
            .inc();
        self.inner.keep(ts_ms, id, json);
    }

    async fn pass_on(&mut self, ts_ms: i64, event: GameEvent) -> bool {
        self.inner.pass_on(ts_ms, event).await
    }
}
