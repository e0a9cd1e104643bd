//! The one outbound queue for everything the bot posts on its own
//! (announcements and their cards, relayed chat, the live board's edits).
//! Pushing never blocks or waits on Discord. One task sends, one message at
//! a time and at most one per [`PACE`], which stays inside Discord's
//! per-channel limit (5 per 5 s) whatever the load; meanwhile new items pile
//! up and are coalesced: the next message carries every waiting text line
//! for its channel, up to Discord's 2,000 characters, or every waiting card,
//! up to 10 embeds and 6,000 characters. A board update replaces the one
//! still waiting for the same board, so a slow Discord never piles up edits.
//! A 429 is honoured by waiting (serenity's own rate limiter waits on
//! buckets too, except behind `DISCORD_API_PROXY`, where the proxy owns the
//! buckets and serenity hands the 429 back) and retrying; nothing is dropped
//! for it. A channel that refuses embeds (403, code 50013: no Embed Links
//! permission) gets the cards as text from then on. Mentions are disabled on
//! every message.

use super::card::Panel;
use crate::metrics::DiscordMetrics;
use poise::serenity_prelude as serenity;
use std::collections::{HashSet, VecDeque};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

/// Discord's limit on a message's content.
pub(crate) const MAX_MESSAGE_CHARS: usize = 2_000;
/// Discord's limits on one message's embeds: how many, and their characters.
pub(crate) const MAX_EMBEDS: usize = 10;
pub(crate) const MAX_EMBED_CHARS: usize = 6_000;
/// Items kept while Discord is unreachable; beyond it the oldest are dropped.
pub(crate) const MAX_QUEUED_LINES: usize = 10_000;
/// Attempts per message before it is given up (429s do not count).
const ATTEMPTS: u32 = 4;
/// Least time between two messages.
pub(crate) const PACE: Duration = Duration::from_secs(1);
/// First wait after a 429; it doubles while they repeat. serenity does not
/// pass the response's `retry_after` on, so this is a conservative guess.
const RATE_LIMITED_WAIT: Duration = Duration::from_secs(1);
/// Discord's error code for a missing permission (here: Embed Links).
const MISSING_PERMISSIONS: isize = 50013;

/// One live-board message: which server it shows, and its id once known
/// (found in the channel, or posted by the outbox).
#[derive(Debug)]
pub(crate) struct BoardMessage {
    pub server: String,
    pub id: Mutex<Option<u64>>,
}

impl BoardMessage {
    pub fn id(&self) -> Option<u64> {
        *self.id.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn set_id(&self, id: Option<u64>) {
        *self.id.lock().unwrap_or_else(|e| e.into_inner()) = id;
    }
}

/// What waits to be sent.
#[derive(Debug, Clone)]
enum Body {
    /// Escaped markdown, one or more lines.
    Text(String),
    /// An embed, and its text for channels that refuse embeds.
    Card(Box<Panel>),
    /// The latest state of a board message (edited in place).
    Board(Arc<BoardMessage>, Box<Panel>),
}

#[derive(Debug, Clone)]
struct Item {
    channel_id: u64,
    body: Body,
}

/// One message to send.
#[derive(Debug)]
enum Message {
    Text(String),
    Cards(Vec<Panel>),
    Board(Arc<BoardMessage>, Box<Panel>),
}

#[derive(Default)]
struct Queue {
    items: VecDeque<Item>,
    dropped: u64,
    /// Channels that refused an embed: cards go there as text.
    no_embeds: HashSet<u64>,
}

impl Queue {
    fn push(&mut self, item: Item) {
        if self.items.len() >= MAX_QUEUED_LINES {
            self.items.pop_front();
            self.dropped += 1;
        }
        self.items.push_back(item);
    }
}

/// The sending side; cheap to clone.
#[derive(Clone)]
pub(crate) struct Outbox {
    queue: Arc<Mutex<Queue>>,
    wake: Arc<Notify>,
    metrics: DiscordMetrics,
}

impl Outbox {
    /// Starts the sender task on `http`; it ends when `stop` is cancelled,
    /// after one last attempt to send what is queued.
    pub fn start(
        http: Arc<serenity::Http>,
        stop: CancellationToken,
        metrics: DiscordMetrics,
    ) -> (Outbox, tokio::task::JoinHandle<()>) {
        let outbox = Outbox {
            queue: Arc::default(),
            wake: Arc::default(),
            metrics,
        };
        let task = tokio::spawn(outbox.clone().run(http, stop));
        (outbox, task)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn queued(&self, queue: std::sync::MutexGuard<'_, Queue>) {
        self.metrics.queued(queue.items.len());
        drop(queue);
        self.wake.notify_one();
    }

    /// Queues `text` (already escaped markdown) for a channel. Never blocks.
    pub fn push(&self, channel_id: u64, text: String) {
        let mut queue = self.lock();
        for piece in split(&text) {
            queue.push(Item {
                channel_id,
                body: Body::Text(piece),
            });
        }
        self.queued(queue);
    }

    /// Queues a card for a channel. Never blocks.
    pub fn push_card(&self, channel_id: u64, panel: Panel) {
        let mut queue = self.lock();
        queue.push(Item {
            channel_id,
            body: Body::Card(Box::new(panel)),
        });
        self.queued(queue);
    }

    /// Queues a board's new state, replacing the one still waiting for it.
    pub fn push_board(&self, channel_id: u64, board: &Arc<BoardMessage>, panel: Panel) {
        let mut queue = self.lock();
        let waiting = queue
            .items
            .iter_mut()
            .find_map(|item| match &mut item.body {
                Body::Board(b, p) if Arc::ptr_eq(b, board) => Some(p),
                _ => None,
            });
        match waiting {
            Some(p) => **p = panel,
            None => queue.push(Item {
                channel_id,
                body: Body::Board(board.clone(), Box::new(panel)),
            }),
        }
        self.queued(queue);
    }

    /// Remembers that `channel_id` refuses embeds: `refused` (the cards it
    /// just refused) go first, as text, and the cards waiting for it become
    /// text too.
    fn refuse_embeds(&self, channel_id: u64, refused: &[Panel]) {
        let mut queue = self.lock();
        queue.no_embeds.insert(channel_id);
        let items = std::mem::take(&mut queue.items);
        let refused = refused.iter().map(|panel| Item {
            channel_id,
            body: Body::Card(Box::new(panel.clone())),
        });
        for item in refused.chain(items) {
            match item.body {
                Body::Card(panel) if item.channel_id == channel_id => {
                    for piece in split(&panel.to_text()) {
                        queue.items.push_back(Item {
                            channel_id,
                            body: Body::Text(piece),
                        });
                    }
                }
                _ => queue.items.push_back(item),
            }
        }
        self.queued(queue);
    }

    /// The next message: the oldest item's channel, with every later item
    /// of the same kind for that channel that still fits, in order.
    fn next_message(&self) -> Option<(u64, Message)> {
        let mut queue = self.lock();
        if queue.dropped > 0 {
            warn!(
                "Discord outbox was full; {} oldest items were dropped",
                queue.dropped
            );
            queue.dropped = 0;
        }
        let first = queue.items.pop_front()?;
        let channel_id = first.channel_id;
        let as_text = queue.no_embeds.contains(&channel_id);
        let mut message = match first.body {
            Body::Card(panel) if as_text => Message::Text(panel.to_text()),
            Body::Text(text) => Message::Text(text),
            Body::Card(panel) => Message::Cards(vec![*panel]),
            Body::Board(board, panel) => Message::Board(board, panel),
        };
        let mut kept = VecDeque::with_capacity(queue.items.len());
        let mut full = matches!(message, Message::Board(..));
        for item in queue.items.drain(..) {
            if item.channel_id != channel_id || full {
                kept.push_back(item);
                continue;
            }
            let taken = match (&mut message, &item.body) {
                (Message::Text(text), body) => match as_line(body, as_text) {
                    Some(line) => {
                        let fits = text.chars().count() + line.chars().count() < MAX_MESSAGE_CHARS;
                        if fits {
                            text.push('\n');
                            text.push_str(&line);
                        }
                        fits
                    }
                    None => false,
                },
                (Message::Cards(panels), Body::Card(panel)) => {
                    let chars: usize = panels.iter().map(Panel::chars).sum();
                    let fits =
                        panels.len() < MAX_EMBEDS && chars + panel.chars() <= MAX_EMBED_CHARS;
                    if fits {
                        panels.push((**panel).clone());
                    }
                    fits
                }
                _ => false,
            };
            if !taken {
                // Later items of this channel wait too, so the order holds.
                full = true;
                kept.push_back(item);
            }
        }
        queue.items = kept;
        self.metrics.queued(queue.items.len());
        Some((channel_id, message))
    }

    async fn run(self, http: Arc<serenity::Http>, stop: CancellationToken) {
        loop {
            while let Some((channel_id, message)) = self.next_message() {
                self.send(&http, channel_id, message).await;
                tokio::select! {
                    _ = tokio::time::sleep(PACE) => {}
                    _ = stop.cancelled() => {}
                }
            }
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = stop.cancelled() => {
                    while let Some((channel_id, message)) = self.next_message() {
                        self.send(&http, channel_id, message).await;
                    }
                    break;
                }
            }
        }
    }

    /// Sends one message; cards fall back to text where embeds are refused,
    /// and a board message that is gone is posted anew.
    async fn send(&self, http: &serenity::Http, channel_id: u64, message: Message) {
        let channel = serenity::ChannelId::new(channel_id.max(1));
        let metrics = &self.metrics;
        let result = match &message {
            Message::Text(text) => attempt(channel_id, metrics, || {
                channel.send_message(http, new_message().content(text))
            })
            .await
            .map(drop),
            Message::Cards(panels) => {
                let embeds: Vec<_> = panels.iter().map(Panel::to_embed).collect();
                attempt(channel_id, metrics, || {
                    channel.send_message(http, new_message().embeds(embeds.clone()))
                })
                .await
                .map(drop)
            }
            Message::Board(board, panel) => self.send_board(http, channel, board, panel).await,
        };
        let error = match result {
            Ok(()) => return,
            Err(error) => error,
        };
        if let (Message::Cards(panels), true) = (&message, refuses_embeds(&error)) {
            warn!(channel_id, "Discord refused an embed here (the bot lacks the Embed Links permission); results go to this channel as text from now on");
            self.refuse_embeds(channel_id, panels);
            return;
        }
        warn!(
            channel_id,
            "posting to Discord failed ({error}); message dropped"
        );
    }

    /// Edits a board message in place, or posts it when it has no message
    /// yet (or its message was deleted), remembering the new id.
    async fn send_board(
        &self,
        http: &serenity::Http,
        channel: serenity::ChannelId,
        board: &BoardMessage,
        panel: &Panel,
    ) -> Result<(), serenity::Error> {
        let channel_id = channel.get();
        let as_text = self.lock().no_embeds.contains(&channel_id);
        let metrics = &self.metrics;
        if let Some(id) = board.id() {
            let edited = attempt(channel_id, metrics, || {
                let edit = serenity::EditMessage::new()
                    .allowed_mentions(serenity::CreateAllowedMentions::new());
                let edit = match as_text {
                    true => edit.content(panel.to_text()).embeds(Vec::new()),
                    false => edit.content("").embed(panel.to_embed()),
                };
                channel.edit_message(http, id, edit)
            })
            .await;
            match edited {
                Err(e) if status(&e) == Some(404) => {
                    info!(channel_id, server = %board.server, "the live board's message is gone; posting a new one");
                }
                Err(e) if refuses_embeds(&e) && !as_text => {
                    self.refuse_embeds(channel_id, &[]);
                    return Box::pin(self.send_board(http, channel, board, panel)).await;
                }
                other => return other.map(drop),
            }
        }
        let posted = attempt(channel_id, metrics, || {
            let message = match as_text {
                true => new_message().content(panel.to_text()),
                false => new_message().embed(panel.to_embed()),
            };
            channel.send_message(http, message)
        })
        .await;
        match posted {
            Ok(id) => {
                board.set_id(Some(id));
                Ok(())
            }
            Err(e) if refuses_embeds(&e) && !as_text => {
                self.refuse_embeds(channel_id, &[]);
                Box::pin(self.send_board(http, channel, board, panel)).await
            }
            Err(e) => Err(e),
        }
    }
}

/// An item as a text line: text as it is, a card as text where embeds are refused.
fn as_line(body: &Body, as_text: bool) -> Option<String> {
    match body {
        Body::Text(line) => Some(line.clone()),
        Body::Card(panel) if as_text => Some(panel.to_text()),
        _ => None,
    }
}

/// A message builder with mentions disabled.
fn new_message() -> serenity::CreateMessage {
    serenity::CreateMessage::new().allowed_mentions(serenity::CreateAllowedMentions::new())
}

/// Runs one request until it succeeds: waits out 429s, retries other
/// failures a few times, gives up at once on refusals (4xx) that a retry
/// cannot change. Returns the message id.
async fn attempt<F, Fut>(
    channel_id: u64,
    metrics: &DiscordMetrics,
    mut request: F,
) -> Result<u64, serenity::Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<serenity::Message, serenity::Error>>,
{
    let (mut failures, mut delay, mut rate_limited_wait) =
        (0, Duration::from_millis(500), RATE_LIMITED_WAIT);
    loop {
        let error = match request().await {
            Ok(message) => {
                metrics.posted();
                debug!(channel_id, "posted message {}", message.id);
                return Ok(message.id.get());
            }
            Err(e) => e,
        };
        if status(&error) == Some(429) {
            metrics.rate_limited();
            warn!(
                channel_id,
                "Discord rate limit (429); waiting {rate_limited_wait:?}"
            );
            tokio::time::sleep(rate_limited_wait).await;
            rate_limited_wait = (rate_limited_wait * 2).min(Duration::from_secs(60));
            continue;
        }
        failures += 1;
        let refused = matches!(status(&error), Some(400..=499));
        if failures == ATTEMPTS || refused {
            return Err(error);
        }
        warn!(
            channel_id,
            "posting to Discord failed ({error}); retrying in {delay:?}"
        );
        tokio::time::sleep(delay).await;
        delay *= 4;
    }
}

/// The HTTP status of a refused request.
fn status(error: &serenity::Error) -> Option<u16> {
    match error {
        serenity::Error::Http(serenity::HttpError::UnsuccessfulRequest(response)) => {
            Some(response.status_code.as_u16())
        }
        _ => None,
    }
}

/// Whether Discord refused for a missing permission (403, code 50013).
fn refuses_embeds(error: &serenity::Error) -> bool {
    matches!(
        error,
        serenity::Error::Http(serenity::HttpError::UnsuccessfulRequest(response))
            if response.status_code.as_u16() == 403 && response.error.code == MISSING_PERMISSIONS
    )
}

/// Cuts text longer than one message at line breaks (or anywhere, for one
/// huge line) into pieces that each fit.
fn split(text: &str) -> Vec<String> {
    let limit = MAX_MESSAGE_CHARS - 1;
    if text.chars().count() <= limit {
        return vec![text.to_string()];
    }
    let mut pieces = Vec::new();
    let mut current = String::new();
    for line in text.split('\n') {
        let mut chars: Vec<char> = line.chars().collect();
        while !chars.is_empty() {
            let room = limit - current.chars().count() - usize::from(!current.is_empty());
            if chars.len() <= room {
                if !current.is_empty() {
                    current.push('\n');
                }
                current.extend(chars.drain(..));
            } else if current.is_empty() {
                current.extend(chars.drain(..limit));
                pieces.push(std::mem::take(&mut current));
            } else {
                pieces.push(std::mem::take(&mut current));
            }
        }
    }
    if !current.is_empty() {
        pieces.push(current);
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outbox() -> Outbox {
        Outbox {
            queue: Arc::default(),
            wake: Arc::default(),
            metrics: DiscordMetrics::default(),
        }
    }

    #[test]
    fn bursts_coalesce_per_channel_in_order_without_loss() {
        let o = outbox();
        for i in 0..500 {
            o.push(if i % 5 == 0 { 7 } else { 8 }, format!("line {i}"));
        }
        let mut seen: Vec<(u64, String)> = Vec::new();
        let mut messages = 0;
        while let Some((channel, message)) = o.next_message() {
            let Message::Text(text) = message else {
                panic!("only text was queued")
            };
            assert!(text.chars().count() <= MAX_MESSAGE_CHARS);
            messages += 1;
            seen.extend(text.split('\n').map(|l| (channel, l.to_string())));
        }
        assert!(messages < 10, "{messages} messages for 500 lines");
        for channel in [7, 8] {
            let got: Vec<_> = seen
                .iter()
                .filter(|(c, _)| *c == channel)
                .map(|(_, l)| l.clone())
                .collect();
            let want: Vec<_> = (0..500)
                .filter(|i| (i % 5 == 0) == (channel == 7))
                .map(|i| format!("line {i}"))
                .collect();
            assert_eq!(got, want);
        }
    }

    #[test]
    fn long_texts_are_split_to_fit() {
        let huge = "y".repeat(5_000);
        let pieces = split(&format!("a\n{huge}\nb"));
        assert!(pieces.iter().all(|p| p.chars().count() < MAX_MESSAGE_CHARS));
        assert_eq!(pieces.concat().replace('\n', ""), format!("a{huge}b"));
    }

    #[test]
    fn a_full_queue_drops_the_oldest() {
        let o = outbox();
        for i in 0..MAX_QUEUED_LINES + 3 {
            o.push(1, format!("{i}"));
        }
        let Some((_, Message::Text(first))) = o.next_message() else {
            panic!("text first")
        };
        assert!(first.starts_with("3\n"), "{}", &first[..10]);
    }

    fn panel(title: &str, size: usize) -> Panel {
        Panel {
            title: title.into(),
            description: "d".repeat(size),
            colour: 0,
            footer: None,
            timestamp_ms: None,
        }
    }

    /// What `next_message` hands out, as (channel, kind, count).
    fn drain(o: &Outbox) -> Vec<(u64, &'static str, usize)> {
        std::iter::from_fn(|| o.next_message())
            .map(|(channel, m)| match m {
                Message::Text(t) => (channel, "text", t.lines().count()),
                Message::Cards(p) => (channel, "cards", p.len()),
                Message::Board(..) => (channel, "board", 1),
            })
            .collect()
    }

    #[test]
    fn cards_coalesce_to_ten_embeds_and_6000_chars_keeping_order_with_text() {
        let o = outbox();
        for i in 0..12 {
            o.push_card(1, panel(&format!("c{i}"), 10));
        }
        o.push(1, "after the cards".into());
        o.push_card(1, panel("last", 10));
        assert_eq!(
            drain(&o),
            [
                (1, "cards", 10),
                (1, "cards", 2),
                (1, "text", 1),
                (1, "cards", 1)
            ]
        );
        for _ in 0..4 {
            o.push_card(2, panel("big", 1_900));
        }
        assert_eq!(drain(&o), [(2, "cards", 3), (2, "cards", 1)]);
    }

    #[test]
    fn a_channel_that_refuses_embeds_gets_cards_as_text() {
        let o = outbox();
        o.push_card(1, panel("waiting", 5));
        o.push_card(2, panel("elsewhere", 5));
        o.refuse_embeds(1, &[panel("refused", 5)]);
        o.push_card(1, panel("later", 5));
        let messages: Vec<_> = std::iter::from_fn(|| o.next_message()).collect();
        let texts: Vec<String> = messages
            .iter()
            .filter_map(|(c, m)| match m {
                Message::Text(t) if *c == 1 => Some(t.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(texts.len(), 1, "{messages:?}");
        let order: Vec<usize> = ["**refused**", "**waiting**", "**later**"]
            .iter()
            .map(|t| texts[0].find(t).expect(t))
            .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{}", texts[0]);
        assert!(messages
            .iter()
            .any(|(c, m)| *c == 2 && matches!(m, Message::Cards(p) if p.len() == 1)));
    }

    #[test]
    fn a_waiting_board_update_is_replaced_not_queued_again() {
        let o = outbox();
        let board = Arc::new(BoardMessage {
            server: "eu".into(),
            id: Mutex::new(None),
        });
        o.push_board(1, &board, panel("old", 1));
        o.push(1, "line".into());
        o.push_board(1, &board, panel("new", 1));
        match o.next_message() {
            Some((1, Message::Board(_, p))) => assert_eq!(p.title, "new"),
            other => panic!("{other:?}"),
        }
        assert_eq!(drain(&o), [(1, "text", 1)]);
    }
}
