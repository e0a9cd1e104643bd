//! Who plays in a scenario and what they say: the humans (some with hostile
//! names), bots, NPC enemies, their profiles and the chat lines.

use crate::sim::rng::Rng;
use serde_json::json;

/// Names of the human players; several are hostile on purpose (quotes, frame
/// marks, mentions, backslashes) to exercise escaping downstream.
const NAMES: &[&str] = &[
    "Mordecai",
    "Quote\"Man",
    "Bishop",
    "└┐Frame┐└",
    "Kestrel",
    "@everyone",
    "Vex",
    "Back\\slash",
    "Nyx",
    "Pawnstar",
    "Rook",
    "Osprey",
];
pub(super) const BOT_NAMES: &[&str] = &["Carl", "Dolores", "Hank", "Mabel", "Gus", "Ida"];
/// Survival enemies; names repeat, as NPC names do.
pub(super) const ENEMY_NAMES: &[&str] =
    &["Grunt", "Heavy", "Sniper", "Bomber", "Medic", "Juggernaut"];
/// Zombrains enemies, plain zombies the most common.
pub(super) const ZOMBIE_NAMES: &[&str] =
    &["Zombie", "Zombie", "Zombie", "Zpitter", "Zhost", "Zomikaze"];
/// The profile of NPCs, and of "nobody" (no assister, the world).
pub(super) const NPC_PROFILE: &str = r#"{"ProfileID":"","StoreID":"-1"}"#;
/// A number two players share on different stores (Discord and GameJolt).
const SHARED_PROFILE_BASE: i64 = 480_000;

/// Chat lines, cycled through so every match shows several of them. `true`
/// marks a server message. `{name}` becomes a connected player's name.
pub(super) const CHAT: &[(bool, &str)] = &[
    (false, "gg"),
    (false, "@everyone free nitro at http://example.invalid"),
    (false, "!rank"),
    (false, "he said \"hi\" to me"),
    (true, "Server restarts in 10 minutes"),
    (false, "└┐ not a frame ┐└"),
    (false, "!top"),
    (false, "C:\\Users\\boring\\man \\\" tricky"),
    (false, "**bold** _it_ `code` ~~strike~~"),
    (false, "@here come play"),
    (false, "!stats {name}"),
    (false, "<@123456789012345678> look"),
    (false, "line one\nline two"),
    (false, "\"; kick all"),
    (true, "Welcome to the bman simulator"),
    (false, "nice shot"),
];

/// A human who may be connected to the server.
#[derive(Debug, Clone)]
pub(super) struct Persona {
    pub(super) name: String,
    pub(super) profile: String,
    pub(super) store: i64,
    pub(super) ip: String,
    pub(super) admin: bool,
    pub(super) hat: i64,
    pub(super) hat2: i64,
    pub(super) color: i64,
    /// The game's player level; level-ups raise it.
    pub(super) level: i64,
}

pub(super) fn personas(rng: &mut Rng, count: usize) -> Vec<Persona> {
    let shared = (SHARED_PROFILE_BASE + rng.range(0, 9_999)).to_string();
    (0..count)
        .map(|i| {
            let base = NAMES[i % NAMES.len()];
            let name = match i / NAMES.len() {
                0 => base.to_owned(),
                n => format!("{base}{n}"),
            };
            let (profile, store) = match i {
                2 => (shared.clone(), 1),
                4 => (shared.clone(), 3),
                5 => (rng.range(1_000, 999_999).to_string(), 2),
                _ if i % 5 == 4 => (rng.range(1_000, 999_999).to_string(), 1),
                _ => (
                    (76_561_198_000_000_000 + rng.range(0, 99_999_999)).to_string(),
                    0,
                ),
            };
            Persona {
                name,
                profile,
                store,
                ip: format!("203.0.113.{}", 10 + i % 240),
                admin: i == 0,
                hat: rng.range(0, 40),
                hat2: rng.range(0, 40),
                color: rng.range(0, 0xff_ffff),
                level: rng.range(1, 3000),
            }
        })
        .collect()
}

/// A JSON-encoded profile, `ProfileID` first as the game writes it.
pub(super) fn profile_text(id: &str, store_key: &str, store: i64) -> String {
    json!({ "ProfileID": id, store_key: store.to_string() }).to_string()
}

/// A bot's profile: real servers give bots Steam's store and a `bot<N>` id.
pub(super) fn bot_profile(slot: i64) -> String {
    profile_text(&format!("bot{slot}"), "StoreID", 0)
}

pub(super) fn bot_name(i: usize) -> String {
    match i / BOT_NAMES.len() {
        0 => BOT_NAMES[i].to_owned(),
        n => format!("{} {}", BOT_NAMES[i % BOT_NAMES.len()], n + 1),
    }
}

/// A console parameter in double quotes, `"` and `\` escaped.
pub(super) fn quote(param: &str) -> String {
    format!("\"{}\"", param.replace('\\', "\\\\").replace('"', "\\\""))
}
