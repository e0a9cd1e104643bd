//! Tells the live board (`discord::board`) when a match starts or ends on a
//! server, so its message shows the new map or the final scores at once
//! instead of at its next periodic refresh.

use crate::event::Event;
use crate::handlers::{Context, Delivery, Handler};

/// Passes match starts and ends on to [`Context::watch_matches`].
pub struct MatchWatch;

#[async_trait::async_trait]
impl Handler for MatchWatch {
    fn name(&self) -> &str {
        "match-watch"
    }

    fn wants(&self, delivery: &Delivery) -> bool {
        matches!(
            delivery.event(),
            Event::MatchStart { .. } | Event::MatchEnd(_)
        )
    }

    async fn handle(&self, ctx: &Context, delivery: &Delivery) {
        ctx.match_changed(&delivery.server().name);
    }
}
