//! The command line: `bman`'s options and subcommands, as clap parses them.

use bman::model::{MinGames, Mode};
use bman::sim::SimOptions;
use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "bman",
    version,
    about = "Boring Man 2 community stats, ratings and Discord bot"
)]
pub(crate) struct Cli {
    /// The settings file (the original tool's bmsettings.ini format;
    /// default bmsettings.ini).
    #[arg(long, env = "BMAN_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// `--config` of the commands that read the settings (not `simulate` and
/// `migrate`, which take everything from their own options).
#[derive(clap::Args, Default)]
pub(crate) struct ConfigFile {
    /// The settings file (the original tool's bmsettings.ini format;
    /// default bmsettings.ini).
    #[arg(long, value_name = "PATH")]
    config: Option<PathBuf>,
}

impl ConfigFile {
    /// The file to read: this command's `--config`, else the one before the
    /// command (or `BMAN_CONFIG`), else bmsettings.ini.
    pub(crate) fn path(self, outer: &Option<PathBuf>) -> PathBuf {
        self.config
            .or_else(|| outer.clone())
            .unwrap_or_else(|| PathBuf::from("bmsettings.ini"))
    }
}

#[derive(Subcommand)]
pub(crate) enum Command {
    /// Connect to every configured server and record (the default).
    Run(ConfigFile),
    /// Serve a simulated Boring Man 2 server (tests, demos, trying bman without a game).
    Simulate(SimOptions),
    /// Feed journals through the pipeline, as fast as possible: each
    /// server's segments in journal order, whatever order they are given in.
    Replay {
        #[command(flatten)]
        config: ConfigFile,
        /// Journal files (plain or .gz segments) and directories (searched
        /// for them), e.g. `journal`.
        #[arg(required = true, value_name = "PATH")]
        files: Vec<PathBuf>,
        /// Print the event counts as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show a mode's leaderboard (ranked by mu - 3*sigma; survival and
    /// zombrains by best wave, then NPC kills).
    Leaderboard {
        #[command(flatten)]
        config: ConfigFile,
        /// The game mode.
        #[arg(long, value_enum)]
        mode: Mode,
        /// Rows per page.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// 1-based page of `limit` rows.
        #[arg(long, default_value_t = 1)]
        page: usize,
        /// Only players with at least this many rated games.
        #[arg(long, default_value_t = MinGames::DEFAULT.0)]
        min_games: i64,
        /// Only players seen in the last D days.
        #[arg(long)]
        active_days: Option<u32>,
        /// No filters at all.
        #[arg(long)]
        all: bool,
        /// JSON for scripts (numbers at full precision).
        #[arg(long)]
        json: bool,
    },
    /// Show a player by profile id or (part of) a name. Exit code 2: no
    /// player matches; 3: several do (they are listed).
    Profile {
        #[command(flatten)]
        config: ConfigFile,
        /// A profile id, or a name or part of one (case-insensitive).
        query: String,
        /// JSON for scripts.
        #[arg(long)]
        json: bool,
    },
    /// List the latest privileged bot commands (/rcon, /say, /kick, /ban, …),
    /// allowed or denied, newest first.
    Audit {
        #[command(flatten)]
        config: ConfigFile,
        /// How many of the latest records to show.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// JSON for scripts (user ids as strings: they exceed 2^53).
        #[arg(long)]
        json: bool,
    },
    /// List community bans: the active ones, newest first.
    Bans {
        #[command(flatten)]
        config: ConfigFile,
        /// Lifted and expired bans too.
        #[arg(long)]
        all: bool,
        /// JSON for scripts (user ids as strings).
        #[arg(long)]
        json: bool,
    },
    /// Ban a player (a profile id, or a name only they match) from every
    /// server or one; a running `bman run` kicks them within 15 s.
    Ban {
        #[command(flatten)]
        config: ConfigFile,
        /// A profile id, or a name or part of one that matches one player.
        query: String,
        /// How long: 30m, 12h, 7d, 2w or permanent.
        #[arg(long = "for", value_name = "DURATION", default_value = "permanent")]
        duration: String,
        /// Why; shown to the player when kicked.
        #[arg(long, default_value = "")]
        reason: String,
        /// Only this configured server (default: all servers).
        #[arg(long)]
        server: Option<String>,
    },
    /// Lift every active ban of a player.
    Unban {
        #[command(flatten)]
        config: ConfigFile,
        /// A profile id, or a name or part of one that matches one player.
        query: String,
    },
    /// Recompute all ratings from stored history with the current parameters.
    Rerate {
        #[command(flatten)]
        config: ConfigFile,
        /// Only this mode (default: every mode).
        #[arg(long, value_enum)]
        mode: Option<Mode>,
    },
    /// Score how well each rating system predicts a mode's stored history
    /// (README "Choosing a rating system").
    Evaluate {
        #[command(flatten)]
        config: ConfigFile,
        #[command(flatten)]
        args: bman::evaluate::EvaluateArgs,
    },
    /// Remove bots that earlier releases recorded as players and recompute
    /// every rating without them (`bman run` does this by itself at start).
    Repair(ConfigFile),
    /// Check the setup for real: the configuration, a login to every game
    /// server, the database, Discord and the metrics address. One line per
    /// check; exit code 0 only when all pass. Records nothing.
    Check {
        #[command(flatten)]
        config: ConfigFile,
        /// JSON for scripts.
        #[arg(long)]
        json: bool,
    },
    /// Copy the SQLite store into a new file while bman runs (SQLite's online
    /// backup API; a consistent state, journal checkpoints included).
    Backup {
        #[command(flatten)]
        config: ConfigFile,
        /// The new file (never overwritten).
        path: PathBuf,
    },
    /// Copy a whole store into a new, empty one (SQLite and MongoDB, either way;
    /// also imports an old bman-data database).
    Migrate {
        /// The source store URL (sqlite://PATH, mongodb://…, mongodb+srv://…).
        #[arg(long)]
        from: String,
        /// The target store URL; it must be empty.
        #[arg(long)]
        to: String,
    },
}
