//! Enforcement of community bans on every server bman watches: a built-in
//! [`Handler`], so it runs off the recording path. It keeps who sits in
//! which slot of each server (from connects, spawns and scoreboards, with
//! the tracker's word on who is human) and the active bans in memory, and
//! asks a server to kick a banned player as soon as they are identified on
//! it. The ban list is re-read when a ban is issued or lifted in this
//! process ([`Context::bans_changed`]) and every [`REFRESH`] (bans from the
//! CLI, expiry), and then everyone online is checked again. README
//! "Community bans".

use crate::bans::{kick_reason, DEFAULT_KICK_MESSAGE};
use crate::config::{ConfigError, SectionReader};
use crate::event::{Event, PlayerData, ReplyBody};
use crate::handlers::{Context, Delivery, Handler};
use crate::model::{now_ms, Ban, BanQuery, PlayerKey, PlayerSeen};
use crate::rcon::console_quote;
use crate::views::clip;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};
use tracing::{info, warn};

/// How often the ban list is re-read without a change in this process.
pub const REFRESH: Duration = Duration::from_secs(15);
/// Kick commands sent for one player on one server per time they join.
const KICK_ATTEMPTS: u32 = 3;
/// Wait before sending a kick the server did not acknowledge again.
const KICK_RETRY: Duration = Duration::from_secs(2);
/// Longest kick reason sent to the game.
const MAX_KICK_REASON_CHARS: usize = 120;

/// The `[bans]` section.
#[derive(Debug, Clone, PartialEq)]
pub struct BanSettings {
    /// Off: bans are still kept and listed, but nobody is kicked.
    pub enabled: bool,
    /// The kick reason; `{until}` and `{reason}` are filled in
    /// (see [`crate::bans::kick_reason`]).
    pub kick_message: String,
}

impl Default for BanSettings {
    fn default() -> Self {
        BanSettings {
            enabled: true,
            kick_message: DEFAULT_KICK_MESSAGE.into(),
        }
    }
}

impl BanSettings {
    /// The keys of `[bans]`.
    pub(crate) const KEYS: &'static [&'static str] = &["enabled", "kick_message"];

    pub(crate) fn read(c: &SectionReader) -> Result<BanSettings, ConfigError> {
        let defaults = BanSettings::default();
        let kick_message = match c.text("kick_message").map(str::trim) {
            None | Some("") => defaults.kick_message,
            Some(text) if text.chars().count() > MAX_KICK_REASON_CHARS => {
                return Err(c.error(
                    "kick_message",
                    format!("longer than {MAX_KICK_REASON_CHARS} characters"),
                ))
            }
            Some(text) => text.to_string(),
        };
        Ok(BanSettings {
            enabled: c.flag("enabled", defaults.enabled)?,
            kick_message,
        })
    }
}

/// A human in a slot.
#[derive(Debug, Clone)]
struct Seated {
    key: PlayerKey,
    name: String,
}

/// The kicks sent to one player on one server since they joined.
struct Kicks {
    sent: u32,
    last: Option<Instant>,
}

#[derive(Default)]
struct State {
    /// Active bans as of the last refresh.
    bans: Mutex<Arc<Vec<Ban>>>,
    /// Server -> slot -> who sits there.
    online: Mutex<HashMap<String, BTreeMap<i32, Seated>>>,
    /// Kick commands sent per (server, player) since they last joined.
    kicks: Mutex<HashMap<(String, PlayerKey), Kicks>>,
    /// The last refresh failed (logged once until one succeeds).
    refresh_failing: AtomicBool,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The built-in ban enforcer.
pub(crate) struct BanEnforcer {
    settings: BanSettings,
    state: Arc<State>,
    /// Set when started: kicks run in tasks of their own, which need it.
    context: Mutex<Weak<Context>>,
}

impl BanEnforcer {
    pub fn new(settings: &crate::config::Settings) -> BanEnforcer {
        BanEnforcer {
            settings: settings.bans.clone(),
            state: Arc::default(),
            context: Mutex::new(Weak::new()),
        }
    }
}

/// The human a sighting of this event names, if the tracker saw one.
fn human<'a>(players: &'a [PlayerSeen], key: Option<&PlayerKey>) -> Option<&'a PlayerSeen> {
    match key {
        Some(key) => players.iter().find(|p| &p.key == key),
        None => players.first(),
    }
}

/// Slot and name of a PlayerData the tracker took for a human.
fn seat(pd: &PlayerData, players: &[PlayerSeen]) -> Option<(i32, Seated)> {
    let key = pd.profile.as_ref()?.key();
    let seen = human(players, Some(&key))?;
    let name = pd.name.clone().or_else(|| seen.name.clone())?;
    Some((pd.slot?, Seated { key, name }))
}

impl State {
    /// Updates who sits where from one delivery; returns the slots to check.
    fn track(&self, d: &Delivery) -> Vec<i32> {
        let server = d.server().name.clone();
        let players = d.players();
        let mut online = lock(&self.online);
        let seats = online.entry(server.clone()).or_default();
        match d.event() {
            Event::PlayerConnect {
                slot: Some(slot),
                name,
                ..
            } => {
                seats.remove(slot);
                let seen = human(players, None);
                let name = name.clone().or_else(|| seen.and_then(|s| s.name.clone()));
                if let (Some(seen), Some(name)) = (seen, name) {
                    // A new join: a fresh allowance of kicks.
                    lock(&self.kicks).remove(&(server, seen.key.clone()));
                    seats.insert(
                        *slot,
                        Seated {
                            key: seen.key.clone(),
                            name,
                        },
                    );
                    return vec![*slot];
                }
                vec![]
            }
            Event::PlayerSpawn {
                slot: Some(slot),
                name,
                ..
            } => {
                let Some(seen) = human(players, None) else {
                    return vec![];
                };
                let known = seats.get(slot).filter(|s| s.key == seen.key);
                let Some(name) = name.clone().or_else(|| known.map(|s| s.name.clone())) else {
                    return vec![];
                };
                seats.insert(
                    *slot,
                    Seated {
                        key: seen.key.clone(),
                        name,
                    },
                );
                vec![*slot]
            }
            Event::PlayerLoaded {
                slot: Some(slot), ..
            } if seats.contains_key(slot) => vec![*slot],
            Event::PlayerDisconnect {
                slot: Some(slot), ..
            } => {
                if let Some(gone) = seats.remove(slot) {
                    lock(&self.kicks).remove(&(server, gone.key));
                }
                vec![]
            }
            Event::RequestData {
                body: ReplyBody::Scoreboard(board),
                ..
            } => {
                // A scoreboard lists everyone connected.
                seats.clear();
                seats.extend(board.players.iter().filter_map(|pd| seat(pd, players)));
                seats.keys().copied().collect()
            }
            Event::RequestData {
                body: ReplyBody::Player(pd),
                ..
            } => match seat(pd, players) {
                Some((slot, seated)) => {
                    seats.insert(slot, seated);
                    vec![slot]
                }
                None => vec![],
            },
            _ => vec![],
        }
    }

    fn is_online(&self, server: &str, key: &PlayerKey) -> bool {
        lock(&self.online)
            .get(server)
            .is_some_and(|seats| seats.values().any(|s| &s.key == key))
    }

    /// Who on `server` (among `slots`, or everyone) an active ban applies to
    /// now and may be kicked again: (name, key, reason) each.
    fn due(
        &self,
        server: &str,
        slots: Option<&[i32]>,
        template: &str,
    ) -> Vec<(String, PlayerKey, String)> {
        let now = now_ms();
        let bans = lock(&self.bans).clone();
        let online = lock(&self.online);
        let Some(seats) = online.get(server) else {
            return vec![];
        };
        let mut kicks = lock(&self.kicks);
        let mut due = Vec::new();
        for (slot, seated) in seats {
            if slots.is_some_and(|s| !s.contains(slot)) {
                continue;
            }
            let Some(ban) = bans
                .iter()
                .find(|b| b.player == seated.key && b.applies(server, now))
            else {
                continue;
            };
            if !take_kick(&mut kicks, server, seated) {
                continue;
            }
            let reason = clip(&kick_reason(template, ban, now), MAX_KICK_REASON_CHARS);
            due.push((seated.name.clone(), seated.key.clone(), reason));
        }
        due
    }
}

/// Whether another kick of `seated` on `server` may go out now, counting it:
/// at most [`KICK_ATTEMPTS`] per join, [`KICK_RETRY`] apart (so the check
/// of everyone after a refresh does not repeat a kick just sent).
fn take_kick(
    kicks: &mut HashMap<(String, PlayerKey), Kicks>,
    server: &str,
    seated: &Seated,
) -> bool {
    let now = Instant::now();
    let entry = kicks
        .entry((server.to_string(), seated.key.clone()))
        .or_insert(Kicks {
            sent: 0,
            last: None,
        });
    if entry
        .last
        .is_some_and(|last| now.duration_since(last) < KICK_RETRY)
    {
        return false;
    }
    if entry.sent >= KICK_ATTEMPTS {
        if entry.sent == KICK_ATTEMPTS {
            warn!(server, player = %seated.key.id, "banned player {:?}: {KICK_ATTEMPTS} kicks sent without them leaving; not kicking again until they rejoin", seated.name);
            entry.sent += 1;
        }
        return false;
    }
    entry.sent += 1;
    entry.last = Some(now);
    true
}

/// Sends one kick, again [`KICK_RETRY`] later while the server does not
/// acknowledge it, within the player's [`KICK_ATTEMPTS`] on this server.
async fn kick(
    ctx: Arc<Context>,
    state: Arc<State>,
    server: String,
    who: (String, PlayerKey, String),
) {
    let (name, key, reason) = who;
    let Some(handle) = ctx.server(&server).cloned() else {
        return;
    };
    let line = format!("kick {} {}", console_quote(&name), console_quote(&reason));
    loop {
        match handle.command(&line).await {
            Ok(reply) if reply.to_ascii_lowercase().contains("not found") => {
                warn!(server, player = %key.id, "banned player {name:?}: the game did not find them to kick ({reply:?})");
                return;
            }
            Ok(reply) => {
                info!(server, player = %key.id, "kicked banned player {name:?} ({reason}); the game said {reply:?}");
                return;
            }
            Err(e) => {
                warn!(server, player = %key.id, "kick of banned player {name:?} not acknowledged: {e}")
            }
        }
        tokio::time::sleep(KICK_RETRY).await;
        if !state.is_online(&server, &key) {
            return;
        }
        let seated = Seated {
            key: key.clone(),
            name: name.clone(),
        };
        if !take_kick(&mut lock(&state.kicks), &server, &seated) {
            return;
        }
    }
}

/// Kicks, each in a task of its own, whoever on `server` (among `slots`, or
/// everyone) is banned there now.
fn enforce(
    ctx: &Arc<Context>,
    state: &Arc<State>,
    template: &str,
    server: &str,
    slots: Option<&[i32]>,
) {
    for who in state.due(server, slots, template) {
        tokio::spawn(kick(ctx.clone(), state.clone(), server.to_string(), who));
    }
}

/// Re-reads the active bans; false when the store failed (logged once).
async fn refresh(ctx: &Context, state: &State) -> bool {
    let store = ctx.store.clone();
    let loaded = tokio::task::spawn_blocking(move || store.bans(&BanQuery::active(now_ms()))).await;
    match loaded {
        Ok(Ok(bans)) => {
            *lock(&state.bans) = Arc::new(bans);
            if state.refresh_failing.swap(false, Ordering::Relaxed) {
                info!("ban list readable again; enforcing the current bans");
            }
            true
        }
        Ok(Err(e)) => {
            if !state.refresh_failing.swap(true, Ordering::Relaxed) {
                warn!("cannot read the ban list ({e}); enforcing the last one read until the store answers");
            }
            false
        }
        Err(e) => {
            warn!("reading the ban list failed: {e}");
            false
        }
    }
}

#[async_trait::async_trait]
impl Handler for BanEnforcer {
    fn name(&self) -> &str {
        "bans"
    }

    fn wants(&self, d: &Delivery) -> bool {
        self.settings.enabled
            && matches!(
                d.event(),
                Event::PlayerConnect { .. }
                    | Event::PlayerSpawn { .. }
                    | Event::PlayerLoaded { .. }
                    | Event::PlayerDisconnect { .. }
                    | Event::RequestData {
                        body: ReplyBody::Scoreboard(_) | ReplyBody::Player(_),
                        ..
                    }
            )
    }

    async fn handle(&self, _ctx: &Context, d: &Delivery) {
        let slots = self.state.track(d);
        if slots.is_empty() {
            return;
        }
        let Some(ctx) = lock(&self.context).upgrade() else {
            return;
        };
        let template = &self.settings.kick_message;
        enforce(&ctx, &self.state, template, &d.server().name, Some(&slots));
    }

    /// Loads the bans, then re-reads them on every change and every
    /// [`REFRESH`], checking everyone online each time.
    fn started(&self, ctx: &Arc<Context>) {
        if !self.settings.enabled {
            info!("[bans] enabled = off: bans are kept but nobody is kicked");
            return;
        }
        *lock(&self.context) = Arc::downgrade(ctx);
        let mut changes = ctx.watch_bans();
        let weak = Arc::downgrade(ctx);
        let (state, template) = (self.state.clone(), self.settings.kick_message.clone());
        tokio::spawn(async move {
            loop {
                let Some(ctx) = weak.upgrade() else { return };
                if refresh(&ctx, &state).await {
                    for server in ctx.servers() {
                        enforce(&ctx, &state, &template, server.name(), None);
                    }
                }
                drop(ctx);
                tokio::select! {
                    changed = changes.changed() => if changed.is_err() { return },
                    _ = tokio::time::sleep(REFRESH) => {}
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kicks_are_spaced_and_capped_per_join() {
        let mut kicks = HashMap::new();
        let seated = Seated {
            key: PlayerKey::new(0, "7656"),
            name: "Cheater".into(),
        };
        assert!(take_kick(&mut kicks, "dm", &seated));
        assert!(!take_kick(&mut kicks, "dm", &seated), "not again at once");
        assert!(take_kick(&mut kicks, "tdm", &seated), "per server");
        let key = ("dm".to_string(), seated.key.clone());
        for _ in 1..KICK_ATTEMPTS {
            kicks.get_mut(&key).unwrap().last = None;
            assert!(take_kick(&mut kicks, "dm", &seated));
        }
        for _ in 0..3 {
            kicks.get_mut(&key).unwrap().last = None;
            assert!(!take_kick(&mut kicks, "dm", &seated), "never a loop");
        }
        assert_eq!(kicks[&key].sent, KICK_ATTEMPTS + 1, "warned once");
    }
}
