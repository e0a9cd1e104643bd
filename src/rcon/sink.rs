//! Where a session's frames go. The transport does not know about journals
//! or pipelines: it hands every frame to a [`FrameSink`], which keeps the raw
//! frame before anything else happens with it (bman journals it), and then
//! takes the decoded event on.

use crate::event::GameEvent;
use std::future::Future;

/// Sessions are generic over their sink, so the per-frame call is static
/// (no boxed future per event on the ingest's hottest path).
pub trait FrameSink: Send + Sync + 'static {
    /// Called first for every received frame, in order, decodable or not.
    fn keep(&mut self, ts_ms: i64, id: u16, json: &str);

    /// The decoded event of the frame last given to [`FrameSink::keep`];
    /// `false` when nobody consumes events any more (the session ends).
    fn pass_on(&mut self, ts_ms: i64, event: GameEvent) -> impl Future<Output = bool> + Send;
}
