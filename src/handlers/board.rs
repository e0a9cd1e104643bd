//! Tells the live board (`discord::board`) when a match starts or ends on a
//! server, so its message shows the new map or the end at once instead of at
//! its next periodic refresh, and so it asks for scoreboards only while a
//! match runs (a scoreboard reply between matches would open an implicit
//! match in the server's tracker).

use crate::event::Event;
use crate::handlers::{Context, Delivery, Handler};

/// A match started (`running`) or ended on `server`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchChange {
    pub server: String,
    pub running: bool,
}

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
        ctx.match_changed(MatchChange {
            server: delivery.server().name.clone(),
            running: matches!(delivery.event(), Event::MatchStart { .. }),
        });
    }
}
