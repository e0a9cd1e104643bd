//! The Discord side of linked accounts (`crate::links`): `/link` gives the
//! caller a one-time code (ephemeral), `/unlink` removes their link,
//! `/rating` and `/profile` without a player answer for the linked profile,
//! and a confirmed link is told to its user by DM (an interaction's token
//! lasts 15 minutes, so a follow-up could arrive too late; a DM cannot).

use super::admin::Caller;
use super::reply::{escape, Reply};
use crate::handlers::Context;
use crate::links::{self, LinkCodes, LinkRequest, Moment, CODE_TTL};
use crate::model::AccountLink;
use crate::store::{Store, StoreResult};
use poise::serenity_prelude as serenity;
use std::sync::Arc;
use tokio::sync::broadcast::error::RecvError;
use tokio::task::JoinHandle;
use tracing::{info, warn};

fn request(caller: &Caller) -> LinkRequest {
    LinkRequest {
        user_id: caller.user_id,
        user_name: caller.user_name.clone(),
    }
}

/// `/link`: a code for the caller, or why not. Bot accounts never get one.
pub fn issue(codes: &LinkCodes, caller: &Caller, caller_is_bot: bool, now: Moment) -> Reply {
    if caller_is_bot {
        return Reply::ephemeral("Bot accounts cannot link a game profile.");
    }
    match codes.issue(request(caller), now) {
        Ok(code) => Reply::ephemeral(format!(
            "Your link code is **{code}**. Type `!link {code}` in the chat of any of our game \
             servers within {} minutes; it works once. Then /rating and /profile without a \
             player show you.",
            CODE_TTL.as_secs() / 60
        )),
        Err(refusal) => Reply::ephemeral(refusal.message()),
    }
}

/// `/unlink`: removes the caller's link (audited).
pub async fn unlink(ctx: &Context, caller: &Caller) -> Reply {
    let user = request(caller);
    match ctx
        .with_store(move |store| links::unlink(store, &user))
        .await
    {
        Ok(Some(old)) => {
            info!(user_id = caller.user_id, player = %old.player.id, "unlinked a Discord user");
            Reply::ephemeral(format!(
                "You are no longer linked to {} ({} {}).",
                escape(&old.player_name),
                old.player.store_name(),
                escape(&old.player.id)
            ))
        }
        Ok(None) => Reply::ephemeral("You have no linked game profile."),
        Err(e) => {
            warn!(user_id = caller.user_id, "/unlink failed: {e}");
            Reply::ephemeral("Unlinking failed; the error is in bman's log.")
        }
    }
}

/// The player a `/rating` or `/profile` asks about: the one named, else
/// the caller's linked profile (its profile id, an exact lookup); `Err` is
/// the reply to give instead.
pub fn player_or_linked(
    store: &dyn Store,
    player: Option<String>,
    user_id: u64,
) -> StoreResult<Result<String, Reply>> {
    if let Some(player) = player.filter(|p| !p.trim().is_empty()) {
        return Ok(Ok(player));
    }
    Ok(match store.account_link(user_id)? {
        // Qualified: the same id may exist on two platforms.
        Some(link) => Ok(link.player.qualified()),
        None => Err(Reply::ephemeral(
            "Name a player, or link your game profile first: use /link, then type \
             `!link CODE` in a game server's chat.",
        )),
    })
}

/// The DM that confirms a link.
pub fn confirmation(link: &AccountLink) -> String {
    format!(
        "Your Discord account is now linked to **{}** ({} {}). /rating and /profile without a \
         player now show them; /unlink undoes it.",
        escape(&link.player_name),
        link.player.store_name(),
        escape(&link.player.id)
    )
}

/// DMs every confirmed link to its user; a failed DM is logged, never fatal.
pub(super) fn send_confirmations(http: Arc<serenity::Http>, codes: &LinkCodes) -> JoinHandle<()> {
    let mut confirmed = codes.confirmations();
    tokio::spawn(async move {
        loop {
            match confirmed.recv().await {
                Ok(link) => direct_message(&http, &link).await,
                Err(RecvError::Lagged(n)) => {
                    warn!("{n} link confirmations were not sent by DM (too many at once)")
                }
                Err(RecvError::Closed) => break,
            }
        }
    })
}

async fn direct_message(http: &serenity::Http, link: &AccountLink) {
    // Ids come from Discord's interactions and are never 0; UserId::new would panic on it.
    if link.user_id == 0 {
        return;
    }
    let message = serenity::CreateMessage::new()
        .content(confirmation(link))
        .allowed_mentions(serenity::CreateAllowedMentions::new());
    let sent = serenity::UserId::new(link.user_id)
        .direct_message(http, message)
        .await;
    if let Err(e) = sent {
        warn!(
            user_id = link.user_id,
            "could not DM the confirmation of a link (it is stored all the same): {e}"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::links::CODES_PER_WINDOW;
    use crate::model::PlayerKey;

    fn caller(user_id: u64) -> Caller {
        Caller {
            user_id,
            user_name: format!("user{user_id}"),
            role_ids: Vec::new(),
        }
    }

    #[test]
    fn codes_go_to_humans_only_and_to_the_caller_only() {
        let codes = LinkCodes::default();
        let now = Moment::now();
        let refused = issue(&codes, &caller(1), true, now);
        assert!(refused.ephemeral);
        assert!(refused.content.starts_with("Bot accounts cannot"));
        for _ in 0..CODES_PER_WINDOW {
            let reply = issue(&codes, &caller(1), false, now);
            assert!(reply.ephemeral);
            assert!(
                reply.content.starts_with("Your link code is **"),
                "{}",
                reply.content
            );
        }
        let limited = issue(&codes, &caller(1), false, now);
        assert!(limited.ephemeral);
        assert!(
            limited.content.contains("try again in 10 minutes"),
            "{}",
            limited.content
        );
    }

    #[test]
    fn a_named_player_wins_else_the_link_else_how_to_link() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::sqlite::SqliteStore::open(&dir.path().join("s.sqlite3")).unwrap();
        let named = player_or_linked(&store, Some("Bob".into()), 1).unwrap();
        assert_eq!(named, Ok("Bob".to_string()));
        let Err(how) = player_or_linked(&store, Some("  ".into()), 1).unwrap() else {
            panic!("no link yet");
        };
        assert!(
            how.ephemeral && how.content.contains("use /link"),
            "{}",
            how.content
        );
        store
            .link_account(&AccountLink {
                user_id: 1,
                user_name: "user1".into(),
                player: PlayerKey::new(0, "7656"),
                player_name: "Al".into(),
                linked_ms: 1,
            })
            .unwrap();
        assert_eq!(
            player_or_linked(&store, None, 1).unwrap(),
            Ok("Steam 7656".to_string())
        );
        assert!(player_or_linked(&store, None, 2).unwrap().is_err());
    }
}
