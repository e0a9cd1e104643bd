//! The built-in simulated Boring Man 2 server (`bman simulate`).
//!
//! The game itself cannot run on our machines, so the ingest, the tests, the
//! benchmarks and admins trying bman out all talk to this instead. It speaks
//! the real wire format over TCP on 127.0.0.1 and misbehaves on request (drops
//! connections mid-frame, splits frames across reads, injects garbage and
//! broken frames), so the client's resilience is exercised against the same
//! bytes a game server would send. It speaks the dialect real servers send
//! (README, "Bots are never players"): bots as `bot<N>` Steam profiles,
//! NPCs with empty profiles on store -1, shuffled keys, the game's banners and
//! console echoes, flat request_player replies.
//!
//! - [`scenario`]: deterministic per-mode event streams (and `--dump`).
//! - [`server`]: the RCON server that delivers a scenario exactly once across
//!   reconnects and answers requests from what it has sent so far.
//! - `state`: the roster both of them derive from the emitted events.
//! - `rng`: the seeded random numbers both of them draw from.

mod rng;
pub mod scenario;
pub mod server;
mod state;

pub use rng::Rng;
pub use scenario::{dump, scenario, Scenario, SimEvent, TrueSkill, DUMP_MATCHES, EPOCH};
pub use server::{run, serve, SimHandle, SimStats};

use crate::model::Mode;
use std::fmt;

/// Options of `bman simulate` (flattened into the CLI by the lead's `main`).
#[derive(clap::Args, Clone)]
pub struct SimOptions {
    /// TCP port on 127.0.0.1; 0 picks a free port.
    #[arg(long, default_value_t = 42070)]
    pub port: u16,
    /// Game mode of the scenario.
    #[arg(long, value_enum, default_value = "dm")]
    pub mode: Mode,
    /// RCON password clients must log in with; empty accepts any.
    #[arg(long, default_value = "admin")]
    pub password: String,
    /// Scenario seed: the same seed gives the same events.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Human players at the start.
    #[arg(long, default_value_t = 6)]
    pub players: u16,
    /// Bots at the start (default: 2 in dm/tdm/ctf, 0 in svl/zbr). With any
    /// bots in dm/tdm/ctf, the console adds one more mid-match in each of the
    /// first two matches.
    #[arg(long)]
    pub bots: Option<u16>,
    /// Matches in the scenario (default: endless when serving, 3 for --dump).
    #[arg(long)]
    pub matches: Option<u32>,
    /// Scenario events per second once the client confirmed; 0 = as fast as possible.
    #[arg(long, default_value_t = 20.0)]
    pub rate: f64,
    /// Seconds between rcon_ping events; 0 = never.
    #[arg(long, default_value_t = 5.0)]
    pub ping_secs: f64,
    /// Cut the connection (mid-frame) after every N scenario events.
    #[arg(long)]
    pub drop_every: Option<u64>,
    /// Inject garbage bytes and broken fake frames between frames.
    #[arg(long)]
    pub garbage: bool,
    /// Write every frame in several small writes, so frames cross TCP reads.
    #[arg(long)]
    pub split: bool,
    /// Never answer request_data (requests are read and ignored), as some
    /// current servers do.
    #[arg(long)]
    pub no_replies: bool,
    /// Print the scenario as journal lines (JSON) to stdout instead of serving.
    #[arg(long)]
    pub dump: bool,
    /// Give every human a hidden true skill, normal with this standard
    /// deviation (in logits: a gap of 1 wins a fight 73% of the time), that
    /// decides fights and flag runs; `--dump` lists the skills at the end.
    #[arg(long)]
    pub skill_spread: Option<f64>,
}

impl SimOptions {
    /// Bots at the start: `--bots`, else 2 outside the co-op modes.
    pub(crate) fn bot_count(&self) -> u16 {
        self.bots.unwrap_or(if self.mode.is_coop() { 0 } else { 2 })
    }
}

impl Default for SimOptions {
    /// The CLI defaults (parsed from an empty command line, so they cannot drift).
    fn default() -> Self {
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            opts: SimOptions,
        }
        <Cli as clap::Parser>::parse_from(["simulate"]).opts
    }
}

impl fmt::Debug for SimOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimOptions")
            .field("port", &self.port)
            .field("mode", &self.mode)
            .field("password", &"<redacted>")
            .field("seed", &self.seed)
            .field("players", &self.players)
            .field("bots", &self.bots)
            .field("matches", &self.matches)
            .field("rate", &self.rate)
            .field("ping_secs", &self.ping_secs)
            .field("drop_every", &self.drop_every)
            .field("garbage", &self.garbage)
            .field("split", &self.split)
            .field("no_replies", &self.no_replies)
            .field("dump", &self.dump)
            .field("skill_spread", &self.skill_spread)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_cli_and_debug_hides_the_password() {
        let o = SimOptions {
            password: "hunter2".into(),
            ..SimOptions::default()
        };
        assert_eq!(
            (o.port, o.mode, o.seed, o.players, o.matches),
            (42070, Mode::Dm, 1, 6, None)
        );
        assert_eq!((o.rate, o.ping_secs, o.drop_every), (20.0, 5.0, None));
        assert!(!o.no_replies);
        assert_eq!((o.bots, o.bot_count()), (None, 2));
        for (mode, bots) in [
            (Mode::Tdm, 2),
            (Mode::Ctf, 2),
            (Mode::Svl, 0),
            (Mode::Zbr, 0),
        ] {
            assert_eq!(SimOptions { mode, ..o.clone() }.bot_count(), bots, "{mode}");
        }
        let zbr_with_bots = SimOptions {
            mode: Mode::Zbr,
            bots: Some(3),
            ..o.clone()
        };
        assert_eq!(zbr_with_bots.bot_count(), 3);
        assert_eq!(SimOptions::default().password, "admin");
        let dbg = format!("{o:?}");
        assert!(
            dbg.contains("<redacted>") && !dbg.contains("hunter2"),
            "{dbg}"
        );
    }
}
