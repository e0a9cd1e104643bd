//! Repairs stores written before bots were recognised by every sign.
//!
//! Real servers give bots Steam-looking profiles (`{"ProfileID":"bot2",
//! "StoreID":"0"}`), which earlier releases stored, listed and rated as
//! players. [`repair_bots`] recomputes every mode's stats and ratings from the
//! stored facts (the rater leaves bots out of them, see
//! [`Fact::humans_only`](crate::model::Fact::humans_only)), so no human keeps
//! points won from or lost to a bot, and then deletes the bot players with
//! their names, IPs and stats. Facts stay as recorded (they are history), and
//! the journal is never touched.
//!
//! It is idempotent and resumable: the bots are deleted last, so a repair cut
//! short finds them again at the next start and runs again; a store without
//! bot players costs one query over the players' keys.

use crate::model::Mode;
use crate::model::PlayerKey;
use crate::rater::{self, RatingParams};
use crate::store::{Store, StoreResult};

/// What a repair did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RepairReport {
    /// The bot players found (and deleted).
    pub bots: Vec<PlayerKey>,
    /// Facts re-rated per mode (empty when there was nothing to repair).
    pub rerated: Vec<(Mode, usize)>,
}

/// Finds bot players and, if there are any, re-rates every mode and deletes
/// them. `progress` is told each mode's progress as rerate reports it.
pub fn repair_bots(
    store: &dyn Store,
    params: RatingParams,
    progress: &dyn Fn(Mode, usize, usize),
) -> StoreResult<RepairReport> {
    let bots = store.bot_players()?;
    if bots.is_empty() {
        return Ok(RepairReport::default());
    }
    let mut rerated = Vec::new();
    for mode in Mode::ALL {
        let n = rater::rerate(store, params, mode, &|done, total| {
            progress(mode, done, total)
        })?;
        rerated.push((mode, n));
    }
    store.remove_players(&bots)?;
    Ok(RepairReport { bots, rerated })
}

/// "bot2, bot13 and 4 more": the bots of a report for a log line.
pub fn bot_list(bots: &[PlayerKey]) -> String {
    const SHOWN: usize = 5;
    let names: Vec<&str> = bots.iter().take(SHOWN).map(|k| k.id.as_str()).collect();
    match bots.len().saturating_sub(SHOWN) {
        0 => names.join(", "),
        more => format!("{} and {more} more", names.join(", ")),
    }
}
