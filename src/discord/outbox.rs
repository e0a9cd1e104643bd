//! The one outbound queue for everything the bot posts on its own
//! (announcements, relayed chat). Pushing never blocks or waits on Discord.
//! One task sends, one message at a time and at most one per [`PACE`], which
//! stays inside Discord's per-channel limit (5 per 5 s) whatever the load;
//! meanwhile new lines pile up and are coalesced: the next message carries
//! every waiting line for its channel, up to Discord's 2,000 characters. A
//! 429 is honoured by waiting (serenity's own rate limiter waits on buckets
//! too, except behind `DISCORD_API_PROXY`, where the proxy owns the buckets
//! and serenity hands the 429 back) and retrying; lines are never dropped for
//! it. Mentions are disabled on every message.

use crate::metrics::DiscordMetrics;
use poise::serenity_prelude as serenity;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

/// Discord's limit on a message's content.
pub(crate) const MAX_MESSAGE_CHARS: usize = 2_000;
/// Lines kept while Discord is unreachable; beyond it the oldest are dropped.
pub(crate) const MAX_QUEUED_LINES: usize = 10_000;
/// Attempts per message before it is given up (429s do not count).
const ATTEMPTS: u32 = 4;
/// Least time between two messages.
pub(crate) const PACE: Duration = Duration::from_secs(1);
/// First wait after a 429; it doubles while they repeat. serenity does not
/// pass the response's `retry_after` on, so this is a conservative guess.
const RATE_LIMITED_WAIT: Duration = Duration::from_secs(1);

/// A line for a channel.
#[derive(Debug, Clone, PartialEq)]
struct Line {
    channel_id: u64,
    text: String,
}

#[derive(Default)]
struct Queue {
    lines: VecDeque<Line>,
    dropped: u64,
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

    /// Queues `text` (already escaped markdown) for a channel. Never blocks.
    pub fn push(&self, channel_id: u64, text: String) {
        let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        for piece in split(&text) {
            if queue.lines.len() >= MAX_QUEUED_LINES {
                queue.lines.pop_front();
                queue.dropped += 1;
            }
            queue.lines.push_back(Line {
                channel_id,
                text: piece,
            });
        }
        self.metrics.queued(queue.lines.len());
        drop(queue);
        self.wake.notify_one();
    }

    /// The next message: the oldest line's channel, with every later line
    /// for that channel that still fits, in order.
    fn next_message(&self) -> Option<(u64, String)> {
        let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        if queue.dropped > 0 {
            warn!(
                "Discord outbox was full; {} oldest lines were dropped",
                queue.dropped
            );
            queue.dropped = 0;
        }
        let channel_id = queue.lines.front()?.channel_id;
        let mut text = String::new();
        let mut kept = VecDeque::with_capacity(queue.lines.len());
        let mut full = false;
        for line in queue.lines.drain(..) {
            let fits = text.chars().count() + line.text.chars().count() < MAX_MESSAGE_CHARS;
            if line.channel_id == channel_id && !full && (text.is_empty() || fits) {
                if !text.is_empty() {
                    text.push('\n');
                }
                text.push_str(&line.text);
            } else {
                // Later lines of this channel wait too, so the order holds.
                full |= line.channel_id == channel_id;
                kept.push_back(line);
            }
        }
        queue.lines = kept;
        self.metrics.queued(queue.lines.len());
        Some((channel_id, text))
    }

    async fn run(self, http: Arc<serenity::Http>, stop: CancellationToken) {
        loop {
            while let Some((channel_id, text)) = self.next_message() {
                send(&http, channel_id, &text, &self.metrics).await;
                tokio::select! {
                    _ = tokio::time::sleep(PACE) => {}
                    _ = stop.cancelled() => {}
                }
            }
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = stop.cancelled() => {
                    while let Some((channel_id, text)) = self.next_message() {
                        send(&http, channel_id, &text, &self.metrics).await;
                    }
                    break;
                }
            }
        }
    }
}

/// Posts one message with mentions disabled: waits out 429s, retries other
/// failures a few times.
async fn send(http: &serenity::Http, channel_id: u64, text: &str, metrics: &DiscordMetrics) {
    let channel = serenity::ChannelId::new(channel_id.max(1));
    let (mut failures, mut delay, mut rate_limited_wait) =
        (0, Duration::from_millis(500), RATE_LIMITED_WAIT);
    loop {
        let message = serenity::CreateMessage::new()
            .content(text)
            .allowed_mentions(serenity::CreateAllowedMentions::new());
        let error = match channel.send_message(http, message).await {
            Ok(_) => {
                metrics.posted();
                debug!(channel_id, "posted {} characters", text.len());
                return;
            }
            Err(e) => e,
        };
        if is_rate_limited(&error) {
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
        if failures == ATTEMPTS {
            warn!(
                channel_id,
                "posting to Discord failed ({error}); message dropped"
            );
            return;
        }
        warn!(
            channel_id,
            "posting to Discord failed ({error}); retrying in {delay:?}"
        );
        tokio::time::sleep(delay).await;
        delay *= 4;
    }
}

fn is_rate_limited(error: &serenity::Error) -> bool {
    matches!(
        error,
        serenity::Error::Http(serenity::HttpError::UnsuccessfulRequest(response))
            if response.status_code.as_u16() == 429
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
        while let Some((channel, text)) = o.next_message() {
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
        let (_, first) = o.next_message().unwrap();
        assert!(first.starts_with("3\n"), "{}", &first[..10]);
    }
}
