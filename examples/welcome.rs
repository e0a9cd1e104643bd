//! An example bman extension: greets every player who joins with their rating
//! in the server's mode, and announces killing sprees of 5 on the
//! announcement bus. Run it instead of `bman run`:
//!
//! ```sh
//! cargo run --example welcome -- bmsettings.ini
//! ```

use bman::config::Settings;
use bman::event::Event;
use bman::handlers::{Announcement, Context, Delivery, Handler, Topic};
use bman::model::PlayerKey;
use bman::rcon::console_quote;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Says hello with the player's rating when they connect.
struct Welcome;

#[async_trait::async_trait]
impl Handler for Welcome {
    fn name(&self) -> &str {
        "welcome"
    }

    /// Humans joining: bots (real servers give them Steam-looking
    /// `bot<N>` profiles) are not greeted.
    fn wants(&self, delivery: &Delivery) -> bool {
        matches!(
            delivery.event(),
            Event::PlayerConnect {
                profile: Some(key),
                ..
            } if !key.is_bot()
        )
    }

    async fn handle(&self, ctx: &Context, delivery: &Delivery) {
        let Event::PlayerConnect {
            profile: Some(key),
            name,
            ..
        } = delivery.event()
        else {
            return;
        };
        let mode = delivery.server().mode;
        let name = name.clone().unwrap_or_else(|| key.id.clone());
        // Store calls block: keep them off the async workers.
        let store = ctx.store.clone();
        let key = key.key();
        let stats = tokio::task::spawn_blocking(move || store.profile(&key)).await;
        let greeting = match stats {
            Ok(Ok(Some(profile))) => match profile.modes.iter().find(|(m, _, _)| *m == mode) {
                Some((_, s, rank)) => format!(
                    "Welcome back {name}! #{rank} in {mode}, rating {:.1}",
                    s.rating()
                ),
                None => format!("Welcome {name}! Your first {mode} game here"),
            },
            _ => format!("Welcome {name}!"),
        };
        if let Some(server) = ctx.server(&delivery.server().name) {
            let _ = server
                .command(&format!("say {}", console_quote(&greeting)))
                .await;
        }
    }
}

/// Counts kills without dying and announces every fifth in a row.
#[derive(Default)]
struct Sprees {
    streaks: Mutex<HashMap<PlayerKey, u32>>,
}

#[async_trait::async_trait]
impl Handler for Sprees {
    fn name(&self) -> &str {
        "killing-sprees"
    }

    fn wants(&self, delivery: &Delivery) -> bool {
        delivery.kill().is_some()
    }

    async fn handle(&self, ctx: &Context, delivery: &Delivery) {
        let Some(kill) = delivery.kill() else {
            return;
        };
        let streak = {
            let mut streaks = self.streaks.lock().unwrap();
            streaks.remove(&kill.victim);
            let streak = streaks.entry(kill.killer.clone()).or_default();
            *streak += 1;
            *streak
        };
        if streak % 5 == 0 {
            let store = ctx.store.clone();
            let killer = kill.killer.clone();
            let name = tokio::task::spawn_blocking(move || store.profile(&killer))
                .await
                .ok()
                .and_then(Result::ok)
                .flatten()
                .map_or_else(|| kill.killer.id.clone(), |p| p.player.name);
            ctx.announce(Announcement {
                server: Some(delivery.server().name.clone()),
                topic: Topic::Results,
                text: format!("{name} is on a {streak}-kill spree"),
                card: None,
            });
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // As `bman run`: .env first (the real environment wins), RUST_LOG, and
    // colours only on a terminal.
    let _ = dotenvy::dotenv();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .init();
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "bmsettings.ini".into());
    let settings = Settings::load(path.as_ref(), &|k| std::env::var(k).ok())?;
    let mut handlers = bman::app::builtin_handlers(&settings);
    handlers.push(Arc::new(Welcome));
    handlers.push(Arc::new(Sprees::default()));
    tokio::runtime::Runtime::new()?.block_on(async {
        bman::app::run_with(&settings, handlers, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
    })?;
    Ok(())
}
