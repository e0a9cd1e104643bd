//! Privileged commands: `/rcon`, `/say`, `/kick` (and the community ban
//! commands of `discord::bans`). Denied unless the caller has a configured
//! admin role or user id (deny by default), console arguments are quoted so
//! nothing can inject a second command, and every attempt — allowed or
//! denied — is written to the store's audit log.

use super::reply::{escape, Reply};
use crate::config::DiscordSettings;
use crate::handlers::Context;
use crate::model::AuditRecord;
use crate::rcon::console_quote;
use crate::views::clip;
use tracing::{info, warn};

/// Longest text `/say` (and the chat relay) sends to the game.
pub(crate) const MAX_SAY_CHARS: usize = 160;
/// Longest raw console command `/rcon` accepts.
const MAX_COMMAND_CHARS: usize = 400;

/// Who is asking.
#[derive(Debug, Clone, PartialEq)]
pub struct Caller {
    pub user_id: u64,
    pub user_name: String,
    /// The caller's roles in the guild (empty in DMs).
    pub role_ids: Vec<u64>,
}

/// Who may do what, from `[discord]`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Permissions {
    admin_role_ids: Vec<u64>,
    admin_user_ids: Vec<u64>,
    relay_role_ids: Vec<u64>,
    relay_user_ids: Vec<u64>,
}

impl Permissions {
    pub fn new(discord: &DiscordSettings) -> Permissions {
        Permissions {
            admin_role_ids: discord.admin_role_ids.clone(),
            admin_user_ids: discord.admin_user_ids.clone(),
            relay_role_ids: discord.relay_role_ids.clone(),
            relay_user_ids: discord.relay_user_ids.clone(),
        }
    }

    /// Admin commands: only listed users and holders of listed roles.
    pub(crate) fn is_admin(&self, caller: &Caller) -> bool {
        self.admin_user_ids.contains(&caller.user_id)
            || caller
                .role_ids
                .iter()
                .any(|r| self.admin_role_ids.contains(r))
    }

    /// Talking to the game from the chat channel: admins and the relay lists.
    pub(crate) fn may_relay(&self, caller: &Caller) -> bool {
        self.is_admin(caller)
            || self.relay_user_ids.contains(&caller.user_id)
            || caller
                .role_ids
                .iter()
                .any(|r| self.relay_role_ids.contains(r))
    }
}

/// One privileged action.
#[derive(Debug, Clone, PartialEq)]
pub enum AdminAction {
    /// A raw console command (one line, one command).
    Rcon {
        command: String,
    },
    Say {
        text: String,
    },
    Kick {
        player: String,
        reason: Option<String>,
    },
}

impl AdminAction {
    /// How the audit log and replies name it.
    pub(crate) fn describe(&self) -> String {
        let with_reason = |verb: &str, player: &str, reason: &Option<String>| match reason {
            Some(r) => format!("{verb} {player} ({r})"),
            None => format!("{verb} {player}"),
        };
        match self {
            AdminAction::Rcon { command } => format!("rcon {command}"),
            AdminAction::Say { text } => format!("say {text}"),
            AdminAction::Kick { player, reason } => with_reason("kick", player, reason),
        }
    }

    /// The console line to send, or why it is refused.
    pub(crate) fn console_command(&self) -> Result<String, String> {
        let with_reason = |verb: &str, player: &str, reason: &Option<String>| {
            if player.trim().is_empty() {
                return Err("name a player".to_string());
            }
            let mut line = format!("{verb} {}", console_quote(player.trim()));
            if let Some(reason) = reason.as_deref().filter(|r| !r.trim().is_empty()) {
                line.push(' ');
                line.push_str(&console_quote(&clip(reason.trim(), MAX_SAY_CHARS)));
            }
            Ok(line)
        };
        match self {
            AdminAction::Rcon { command } => raw_command(command),
            AdminAction::Say { text } => say_command(text),
            AdminAction::Kick { player, reason } => with_reason("kick", player, reason),
        }
    }
}

/// `say "<text>"`, quoted and cut to [`MAX_SAY_CHARS`].
pub(crate) fn say_command(text: &str) -> Result<String, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("nothing to say".into());
    }
    Ok(crate::handlers::say_line(text, MAX_SAY_CHARS))
}

/// A raw console line as an admin typed it: one line, and no `;` outside
/// quotes, so the audit log's one command is exactly what ran.
fn raw_command(command: &str) -> Result<String, String> {
    let command = command.trim();
    if command.is_empty() {
        return Err("empty command".into());
    }
    if command.chars().count() > MAX_COMMAND_CHARS {
        return Err(format!("longer than {MAX_COMMAND_CHARS} characters"));
    }
    if command.chars().any(char::is_control) {
        return Err("a console command must be one line".into());
    }
    let mut quoted = false;
    for c in command.chars() {
        match c {
            '"' => quoted = !quoted,
            ';' if !quoted => return Err("one command at a time (no `;`)".into()),
            _ => {}
        }
    }
    if quoted {
        return Err("unbalanced quotes".into());
    }
    Ok(command.to_string())
}

/// Checks, runs and audits one admin action on `server`; the reply is ephemeral.
pub async fn run(
    ctx: &Context,
    permissions: &Permissions,
    caller: &Caller,
    server: &str,
    action: AdminAction,
) -> Reply {
    if !permissions.is_admin(caller) {
        return denied(ctx, caller, server, action.describe()).await;
    }
    let result = execute(ctx, server, &action).await;
    audit(ctx, caller, server, action.describe(), true, &result).await;
    Reply::ephemeral(format!(
        "**{}** on {}:\n{}",
        escape(&clip(&action.describe(), 200)),
        escape(server),
        escape(&clip(&result, 1500))
    ))
}

/// Audits a non-admin's attempt at `command` and says no.
pub(super) async fn denied(ctx: &Context, caller: &Caller, server: &str, command: String) -> Reply {
    audit(ctx, caller, server, command, false, "denied: not an admin").await;
    Reply::ephemeral("You are not allowed to use admin commands.")
}

/// Logs one privileged command attempt and stores it in the audit log (a
/// failed write is logged, and the command's answer still goes out).
pub(super) async fn audit(
    ctx: &Context,
    caller: &Caller,
    server: &str,
    command: String,
    allowed: bool,
    result: &str,
) {
    let record = AuditRecord {
        time_ms: crate::model::now_ms(),
        user_id: caller.user_id,
        user_name: caller.user_name.clone(),
        server: server.to_string(),
        command,
        allowed,
        result: result.to_string(),
    };
    info!(
        server,
        user_id = caller.user_id,
        allowed,
        "admin command {:?}: {}",
        record.command,
        record.result
    );
    if let Err(e) = ctx
        .with_store(move |store| store.record_audit(&record))
        .await
    {
        warn!(
            server,
            "could not write the audit record of an admin command: {e}"
        );
    }
}

/// Runs an allowed action; the result text for the caller and the audit log.
async fn execute(ctx: &Context, server: &str, action: &AdminAction) -> String {
    let Some(handle) = ctx.server(server) else {
        return format!("no server named {server:?}");
    };
    let line = match action.console_command() {
        Ok(line) => line,
        Err(why) => return format!("refused: {why}"),
    };
    match handle.command(&line).await {
        Ok(text) if text.trim().is_empty() => "done (the game sent no reply text)".into(),
        Ok(text) => text,
        Err(e) => format!("failed: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(user_id: u64, role_ids: &[u64]) -> Caller {
        Caller {
            user_id,
            user_name: "someone".into(),
            role_ids: role_ids.to_vec(),
        }
    }

    #[test]
    fn deny_by_default_and_allow_listed_roles_and_users() {
        let none = Permissions::default();
        assert!(!none.is_admin(&caller(1, &[1, 2, 3])));
        let p = Permissions::new(&DiscordSettings {
            admin_role_ids: vec![111],
            admin_user_ids: vec![333],
            relay_role_ids: vec![555],
            ..DiscordSettings::default()
        });
        assert!(p.is_admin(&caller(333, &[])));
        assert!(p.is_admin(&caller(9, &[7, 111])));
        assert!(!p.is_admin(&caller(9, &[7, 555])));
        assert!(p.may_relay(&caller(9, &[555])));
        assert!(p.may_relay(&caller(333, &[])));
        assert!(!p.may_relay(&caller(9, &[7])));
    }

    #[test]
    fn console_injection_is_refused_or_quoted() {
        let rcon = |c: &str| AdminAction::Rcon { command: c.into() }.console_command();
        assert!(rcon("map dust\nquit").is_err());
        assert!(rcon("say hi; quit").is_err());
        assert!(rcon("say \"unbalanced").is_err());
        assert_eq!(rcon(" say \"a; b\" ").unwrap(), "say \"a; b\"");
        let kick = AdminAction::Kick {
            player: "Bob\"; ban \"all".into(),
            reason: Some("afk\nquit".into()),
        };
        assert_eq!(
            kick.console_command().unwrap(),
            "kick \"Bob', ban 'all\" \"afk quit\""
        );
        let long = "x".repeat(500);
        let say = say_command(&long).unwrap();
        assert_eq!(say.chars().count(), "say \"\"".len() + MAX_SAY_CHARS);
        assert!(say_command("  ").is_err());
        assert!(AdminAction::Kick {
            player: " ".into(),
            reason: None
        }
        .console_command()
        .is_err());
    }
}
