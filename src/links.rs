//! Linked accounts: one-time codes that bind a Discord user to a game
//! profile (README "Linked accounts"). `/link` issues a code to a Discord
//! user; a human typing `!link CODE` in any server's chat redeems it; the
//! link is stored (and audited) and both sides are told.
//!
//! Pending codes live in memory only (a restart invalidates them); links
//! are durable in the store. Codes are random (the OS's CSPRNG), single-use,
//! valid for [`CODE_TTL`], at most [`CODES_PER_WINDOW`] per user per
//! [`CODE_WINDOW`], and a player gets at most [`WRONG_PER_WINDOW`] failed
//! `!link` attempts per [`WRONG_WINDOW`] (31^6 ≈ 887 million codes: at that
//! pace one player needs about 34 years to hit one of 10 open codes).

use crate::model::{now_ms, AccountLink, AuditRecord, PlayerKey};
use crate::store::{Store, StoreResult};
use std::collections::{HashMap, VecDeque};
use std::ops::{Add, Sub};
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::broadcast;

/// Characters of a code: no 0/O, 1/I/L, so a code read aloud or off a
/// screen is typed right.
const ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
/// Characters in a code.
pub const CODE_LEN: usize = 6;
/// How long a code can be redeemed.
pub const CODE_TTL: Duration = Duration::from_secs(10 * 60);
/// Codes one Discord user may get per [`CODE_WINDOW`].
pub const CODES_PER_WINDOW: usize = 3;
pub const CODE_WINDOW: Duration = Duration::from_secs(10 * 60);
/// Failed `!link` attempts one player may make per [`WRONG_WINDOW`].
pub const WRONG_PER_WINDOW: usize = 5;
pub const WRONG_WINDOW: Duration = Duration::from_secs(60);
/// How long a used, replaced or expired code is remembered, to say so
/// instead of "wrong".
const REMEMBERED: Duration = Duration::from_secs(60 * 60);
/// Confirmed links waiting for the bot to send its DM.
const CONFIRMED_CAPACITY: usize = 256;

/// Who asked for a code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkRequest {
    pub user_id: u64,
    pub user_name: String,
}

/// Why no code was issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IssueRefusal {
    /// [`CODES_PER_WINDOW`] codes already; the next one in `retry_in`.
    TooMany { retry_in: Duration },
}

impl IssueRefusal {
    pub fn message(&self) -> String {
        match self {
            IssueRefusal::TooMany { retry_in } => format!(
                "You asked for {CODES_PER_WINDOW} link codes in the last {} minutes; try again in {}.",
                CODE_WINDOW.as_secs() / 60,
                minutes(*retry_in)
            ),
        }
    }
}

/// Why a typed code did not link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedeemRefusal {
    /// No such code was issued (or so long ago that it is forgotten).
    Wrong,
    Expired,
    /// It linked someone already.
    Used,
    /// Its user asked for a newer code, which replaced it.
    Replaced,
    /// [`WRONG_PER_WINDOW`] failed attempts already; the code was not even looked at.
    TooManyAttempts {
        retry_in: Duration,
    },
}

impl RedeemRefusal {
    /// The answer in the game chat (never repeats the code).
    pub fn message(&self) -> String {
        match self {
            RedeemRefusal::Wrong => {
                "that link code is wrong; get one with /link in our Discord".into()
            }
            RedeemRefusal::Expired => {
                "that link code has expired; get a new one with /link in our Discord".into()
            }
            RedeemRefusal::Used => "that link code was already used".into(),
            RedeemRefusal::Replaced => {
                "that link code was replaced by a newer one; type the newest".into()
            }
            RedeemRefusal::TooManyAttempts { retry_in } => format!(
                "too many wrong link codes; try again in {} s",
                retry_in.as_secs().max(1)
            ),
        }
    }
}

fn minutes(d: Duration) -> String {
    match d.as_secs().div_ceil(60) {
        1 => "1 minute".into(),
        n => format!("{n} minutes"),
    }
}

/// A wall-clock moment, in Unix milliseconds ([`now_ms`]), as ban expiry
/// keeps time. Codes live minutes, so a clock step matters little; unlike
/// an `Instant`, any moment exists (an `Instant` cannot be earlier than the
/// machine's boot, so a test on a fresh machine could not make an old code).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Moment(pub i64);

impl Moment {
    pub fn now() -> Moment {
        Moment(now_ms())
    }

    /// How long after `earlier` this is; zero if it is not after it.
    fn saturating_duration_since(self, earlier: Moment) -> Duration {
        Duration::from_millis(u64::try_from(self.0.saturating_sub(earlier.0)).unwrap_or(0))
    }
}

/// A duration in whole milliseconds, capped (no code lives that long).
fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl Add<Duration> for Moment {
    type Output = Moment;
    fn add(self, d: Duration) -> Moment {
        Moment(self.0.saturating_add(millis(d)))
    }
}

impl Sub<Duration> for Moment {
    type Output = Moment;
    fn sub(self, d: Duration) -> Moment {
        Moment(self.0.saturating_sub(millis(d)))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CodeState {
    Open,
    Used,
    Replaced,
}

#[derive(Debug)]
struct Pending {
    request: LinkRequest,
    issued: Moment,
    state: CodeState,
}

#[derive(Debug, Default)]
struct State {
    codes: HashMap<String, Pending>,
    /// When each user got their recent codes, oldest first.
    issued: HashMap<u64, VecDeque<Moment>>,
    /// When each player failed recently, oldest first.
    failed: HashMap<PlayerKey, VecDeque<Moment>>,
}

impl State {
    /// Forgets what no answer depends on any more.
    fn prune(&mut self, now: Moment) {
        self.codes
            .retain(|_, p| now.saturating_duration_since(p.issued) < REMEMBERED);
        prune_times(&mut self.issued, now, CODE_WINDOW);
        prune_times(&mut self.failed, now, WRONG_WINDOW);
    }
}

/// Drops the times older than `window`, and the keys left without any.
fn prune_times<K: Eq + std::hash::Hash>(
    times: &mut HashMap<K, VecDeque<Moment>>,
    now: Moment,
    window: Duration,
) {
    times.retain(|_, times| {
        while times
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= window)
        {
            times.pop_front();
        }
        !times.is_empty()
    });
}

/// `limit` times within `window` already: how long until the oldest leaves it.
fn wait_for(
    times: Option<&VecDeque<Moment>>,
    limit: usize,
    window: Duration,
    now: Moment,
) -> Option<Duration> {
    let times = times.filter(|t| t.len() >= limit)?;
    let oldest = times.get(times.len() - limit)?;
    Some(window.saturating_sub(now.saturating_duration_since(*oldest)))
}

/// The pending codes and the rate limits, shared by the bot (which issues)
/// and the `!link` handler (which redeems), and the feed of confirmed links
/// the bot DMs about.
pub struct LinkCodes {
    state: Mutex<State>,
    confirmed: broadcast::Sender<AccountLink>,
}

impl Default for LinkCodes {
    fn default() -> Self {
        LinkCodes {
            state: Mutex::default(),
            confirmed: broadcast::channel(CONFIRMED_CAPACITY).0,
        }
    }
}

impl std::fmt::Debug for LinkCodes {
    /// The codes stay out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkCodes").finish_non_exhaustive()
    }
}

impl LinkCodes {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A new code for `request`'s user, replacing their open one, unless
    /// they had [`CODES_PER_WINDOW`] within [`CODE_WINDOW`].
    pub fn issue(&self, request: LinkRequest, now: Moment) -> Result<String, IssueRefusal> {
        let mut state = self.state();
        state.prune(now);
        let recent = state.issued.get(&request.user_id);
        if let Some(retry_in) = wait_for(recent, CODES_PER_WINDOW, CODE_WINDOW, now) {
            return Err(IssueRefusal::TooMany { retry_in });
        }
        for pending in state.codes.values_mut() {
            if pending.request.user_id == request.user_id && pending.state == CodeState::Open {
                pending.state = CodeState::Replaced;
            }
        }
        let code = loop {
            let code = random_code();
            if !state.codes.contains_key(&code) {
                break code;
            }
        };
        state
            .issued
            .entry(request.user_id)
            .or_default()
            .push_back(now);
        state.codes.insert(
            code.clone(),
            Pending {
                request,
                issued: now,
                state: CodeState::Open,
            },
        );
        Ok(code)
    }

    /// `typed` (any case, surrounding spaces ignored) by `player`: the
    /// request it was issued for, once; every failure counts against the player.
    pub fn redeem(
        &self,
        typed: &str,
        player: &PlayerKey,
        now: Moment,
    ) -> Result<LinkRequest, RedeemRefusal> {
        let mut state = self.state();
        state.prune(now);
        if let Some(retry_in) = wait_for(
            state.failed.get(player),
            WRONG_PER_WINDOW,
            WRONG_WINDOW,
            now,
        ) {
            return Err(RedeemRefusal::TooManyAttempts { retry_in });
        }
        let code = typed.trim().to_ascii_uppercase();
        let outcome = match state.codes.get_mut(&code) {
            None => Err(RedeemRefusal::Wrong),
            Some(p) if p.state == CodeState::Used => Err(RedeemRefusal::Used),
            Some(p) if p.state == CodeState::Replaced => Err(RedeemRefusal::Replaced),
            Some(p) if now.saturating_duration_since(p.issued) >= CODE_TTL => {
                Err(RedeemRefusal::Expired)
            }
            Some(p) => {
                p.state = CodeState::Used;
                Ok(p.request.clone())
            }
        };
        match &outcome {
            Ok(_) => {
                state.failed.remove(player);
            }
            Err(_) => state
                .failed
                .entry(player.clone())
                .or_default()
                .push_back(now),
        }
        outcome
    }

    /// Tells the bot a link was made (it DMs the user); nobody listening is fine.
    pub fn confirm(&self, link: AccountLink) {
        let _ = self.confirmed.send(link);
    }

    /// Every link confirmed from now on.
    pub fn confirmations(&self) -> broadcast::Receiver<AccountLink> {
        self.confirmed.subscribe()
    }
}

/// [`CODE_LEN`] characters of [`ALPHABET`], unbiased: bytes past the last
/// whole multiple of the alphabet's size are drawn again.
fn random_code() -> String {
    let limit = (256 / ALPHABET.len() * ALPHABET.len()) as u8;
    let mut code = String::with_capacity(CODE_LEN);
    let mut bytes = [0u8; 32];
    while code.len() < CODE_LEN {
        // The OS's random source failing is a broken system, not bad input.
        getrandom::fill(&mut bytes).expect("the OS random source works");
        for b in bytes.iter().filter(|b| **b < limit) {
            if code.len() < CODE_LEN {
                code.push(char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]));
            }
        }
    }
    code
}

/// How the audit log names a profile.
fn describe(link: &AccountLink) -> String {
    format!(
        "{} {} ({})",
        link.player.store_name(),
        link.player.id,
        link.player_name
    )
}

/// Writes an audit record; a failure is logged, and what it records stands.
fn audit(store: &dyn Store, record: AuditRecord) {
    if let Err(e) = store.record_audit(&record) {
        tracing::warn!(
            server = %record.server,
            user_id = record.user_id,
            "could not write the audit record of {:?}: {e}",
            record.command
        );
    }
}

/// Stores `link` (made on `server`) and audits it; returns the links it replaced.
pub fn link(store: &dyn Store, link: &AccountLink, server: &str) -> StoreResult<Vec<AccountLink>> {
    let replaced = store.link_account(link)?;
    let mut result = "linked".to_string();
    for old in &replaced {
        if old.user_id == link.user_id {
            result.push_str(&format!(", replacing the user's link to {}", describe(old)));
        } else {
            result.push_str(&format!(
                ", replacing the profile's link to user {} ({})",
                old.user_id, old.user_name
            ));
        }
    }
    audit(
        store,
        AuditRecord {
            time_ms: link.linked_ms,
            user_id: link.user_id,
            user_name: link.user_name.clone(),
            server: server.to_string(),
            command: format!("link {}", describe(link)),
            allowed: true,
            result,
        },
    );
    Ok(replaced)
}

/// Removes `user`'s link and audits it; returns the removed link.
pub fn unlink(store: &dyn Store, user: &LinkRequest) -> StoreResult<Option<AccountLink>> {
    let old = store.unlink_account(user.user_id)?;
    audit(
        store,
        AuditRecord {
            time_ms: now_ms(),
            user_id: user.user_id,
            user_name: user.user_name.clone(),
            server: "all".into(),
            command: "unlink".into(),
            allowed: true,
            result: match &old {
                Some(old) => format!("unlinked {}", describe(old)),
                None => "nothing was linked".into(),
            },
        },
    );
    Ok(old)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: u64) -> LinkRequest {
        LinkRequest {
            user_id: id,
            user_name: format!("user{id}"),
        }
    }

    fn player(id: &str) -> PlayerKey {
        PlayerKey::new(0, id)
    }

    #[test]
    fn codes_are_six_unambiguous_characters_and_differ() {
        let codes: Vec<String> = (0..2000).map(|_| random_code()).collect();
        for code in &codes {
            assert_eq!(code.len(), CODE_LEN);
            assert!(code.bytes().all(|b| ALPHABET.contains(&b)), "{code}");
            assert!(!code.contains(['0', 'O', '1', 'I', 'L']), "{code}");
        }
        let distinct: std::collections::HashSet<&String> = codes.iter().collect();
        assert!(distinct.len() > 1990, "random codes rarely repeat");
        // Every character of the alphabet shows up (no bias to a subset).
        for c in ALPHABET {
            assert!(codes.iter().any(|code| code.as_bytes().contains(c)));
        }
    }

    #[test]
    fn a_code_links_once_in_any_case_and_within_ten_minutes() {
        let links = LinkCodes::default();
        let t0 = Moment::now();
        let code = links.issue(user(1), t0).unwrap();
        let typed = format!("  {}  ", code.to_ascii_lowercase());
        let later = t0 + CODE_TTL - Duration::from_secs(1);
        assert_eq!(links.redeem(&typed, &player("a"), later), Ok(user(1)));
        assert_eq!(
            links.redeem(&code, &player("b"), later),
            Err(RedeemRefusal::Used)
        );

        let expiring = links.issue(user(2), t0).unwrap();
        assert_eq!(
            links.redeem(&expiring, &player("c"), t0 + CODE_TTL),
            Err(RedeemRefusal::Expired)
        );
        assert_eq!(
            links.redeem("ZZZZZZ", &player("d"), t0),
            Err(RedeemRefusal::Wrong)
        );
        // Long after, a code is forgotten: then it is just wrong.
        assert_eq!(
            links.redeem(&expiring, &player("e"), t0 + REMEMBERED),
            Err(RedeemRefusal::Wrong)
        );
    }

    #[test]
    fn a_new_code_replaces_the_users_open_one() {
        let links = LinkCodes::default();
        let t0 = Moment::now();
        let first = links.issue(user(1), t0).unwrap();
        let second = links.issue(user(1), t0).unwrap();
        let other = links.issue(user(2), t0).unwrap();
        assert_eq!(
            links.redeem(&first, &player("a"), t0),
            Err(RedeemRefusal::Replaced)
        );
        assert_eq!(links.redeem(&second, &player("a"), t0), Ok(user(1)));
        assert_eq!(links.redeem(&other, &player("b"), t0), Ok(user(2)));
    }

    #[test]
    fn codes_per_user_are_rate_limited() {
        let links = LinkCodes::default();
        let t0 = Moment::now();
        for i in 0..CODES_PER_WINDOW {
            links
                .issue(user(1), t0 + Duration::from_secs(i as u64))
                .unwrap();
        }
        let refused = links.issue(user(1), t0 + Duration::from_secs(60));
        assert_eq!(
            refused,
            Err(IssueRefusal::TooMany {
                retry_in: CODE_WINDOW - Duration::from_secs(60)
            })
        );
        assert!(refused
            .unwrap_err()
            .message()
            .contains("try again in 9 minutes"));
        links
            .issue(user(2), t0)
            .expect("other users are not limited");
        links
            .issue(user(1), t0 + CODE_WINDOW)
            .expect("the window moves on");
    }

    #[test]
    fn wrong_attempts_per_player_are_rate_limited_even_for_a_right_code() {
        let links = LinkCodes::default();
        let t0 = Moment::now();
        let code = links.issue(user(1), t0).unwrap();
        let guesser = player("g");
        for _ in 0..WRONG_PER_WINDOW {
            assert_eq!(
                links.redeem("AAAAAA", &guesser, t0),
                Err(RedeemRefusal::Wrong)
            );
        }
        let blocked = links.redeem(&code, &guesser, t0 + Duration::from_secs(20));
        assert_eq!(
            blocked,
            Err(RedeemRefusal::TooManyAttempts {
                retry_in: Duration::from_secs(40)
            })
        );
        // The blocked attempt did not use the code up; others may still try.
        assert_eq!(links.redeem(&code, &player("h"), t0), Ok(user(1)));
        let code = links.issue(user(3), t0).unwrap();
        assert_eq!(
            links.redeem(&code, &guesser, t0 + WRONG_WINDOW),
            Ok(user(3))
        );
    }

    #[test]
    fn refusals_say_when_to_retry_in_whole_units() {
        let attempts = |ms| RedeemRefusal::TooManyAttempts {
            retry_in: Duration::from_millis(ms),
        };
        assert!(attempts(10).message().ends_with("try again in 1 s"));
        assert!(attempts(40_000).message().ends_with("try again in 40 s"));
        let codes = |secs| IssueRefusal::TooMany {
            retry_in: Duration::from_secs(secs),
        };
        assert!(codes(1).message().ends_with("try again in 1 minute."));
        assert!(codes(61).message().ends_with("try again in 2 minutes."));
    }

    #[test]
    fn links_replacing_others_and_unlinks_are_audited() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::sqlite::SqliteStore::open(&dir.path().join("s.sqlite3")).unwrap();
        let made = |user_id: u64, id: &str| AccountLink {
            user_id,
            user_name: format!("user{user_id}"),
            player: player(id),
            player_name: id.to_uppercase(),
            linked_ms: 1_000,
        };
        assert_eq!(link(&store, &made(1, "alice"), "eu-dm").unwrap(), []);
        assert_eq!(
            link(&store, &made(2, "alice"), "us-dm").unwrap(),
            [made(1, "alice")]
        );
        link(&store, &made(2, "bob"), "eu-dm").unwrap();
        assert_eq!(unlink(&store, &user(2)).unwrap(), Some(made(2, "bob")));
        assert_eq!(unlink(&store, &user(2)).unwrap(), None);
        let log: Vec<(u64, String, String, String)> = store
            .audit_log(10)
            .unwrap()
            .into_iter()
            .rev()
            .map(|r| (r.user_id, r.server, r.command, r.result))
            .collect();
        let row = |user_id, server: &str, command: &str, result: &str| {
            (
                user_id,
                server.to_string(),
                command.to_string(),
                result.to_string(),
            )
        };
        assert_eq!(
            log,
            [
                row(1, "eu-dm", "link Steam alice (ALICE)", "linked"),
                row(
                    2,
                    "us-dm",
                    "link Steam alice (ALICE)",
                    "linked, replacing the profile's link to user 1 (user1)"
                ),
                row(
                    2,
                    "eu-dm",
                    "link Steam bob (BOB)",
                    "linked, replacing the user's link to Steam alice (ALICE)"
                ),
                row(2, "all", "unlink", "unlinked Steam bob (BOB)"),
                row(2, "all", "unlink", "nothing was linked"),
            ]
        );
    }
}
