//! The chat relay, Discord to game: a message in a bridged channel, from a
//! user allowed to relay, becomes a `say` on every server bridged to that
//! channel. (Game to Discord is the `handlers::relay` handler.)

use super::admin::{say_command, Caller, Permissions};
use super::routes::Routes;
use crate::handlers::Context;
use tracing::{debug, warn};

/// Sends a Discord message from a bridged channel to the game. Returns how
/// many servers got it, or why it was not relayed.
pub async fn to_game(
    ctx: &Context,
    routes: &Routes,
    permissions: &Permissions,
    channel_id: u64,
    caller: &Caller,
    text: &str,
) -> Result<usize, String> {
    let servers = routes.bridged(channel_id);
    if servers.is_empty() {
        return Err("not a bridged channel".into());
    }
    if !permissions.may_relay(caller) {
        debug!(
            user_id = caller.user_id,
            "not relaying a message from a user without relay rights"
        );
        return Err("not allowed to relay".into());
    }
    let line = say_command(&format!("[Discord] {}: {}", caller.user_name, text))?;
    let mut sent = 0;
    for server in servers {
        let Some(handle) = ctx.server(&server) else {
            continue;
        };
        match handle.command(&line).await {
            Ok(_) => sent += 1,
            Err(e) => warn!(server, "chat relay to the game failed: {e}"),
        }
    }
    Ok(sent)
}
