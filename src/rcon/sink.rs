//! Where a session's frames go. The transport does not know about journals
//! or pipelines: it hands every frame to a [`FrameSink`], which keeps the raw
//! frame before anything else happens with it (bman journals it), and then
//! takes the decoded event on.

use crate::event::GameEvent;

#[async_trait::async_trait]
pub trait FrameSink: Send + Sync {
    /// Called first for every received frame, in order, decodable or not.
    fn keep(&mut self, ts_ms: i64, id: u16, json: &str);

    /// The decoded event of the frame last given to [`FrameSink::keep`];
    /// `false` when nobody consumes events any more (the session ends).
    async fn pass_on(&mut self, ts_ms: i64, event: GameEvent) -> bool;
}
