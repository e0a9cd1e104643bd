//! How a session's frames go out: stamped and shuffled like the game's, with
//! `--garbage` between them and `--split` cutting them across writes.

use super::session::Session;
use crate::event::ids;
use crate::rcon::codec::{encode_frame, frame_bytes, END_MARK, START_MARK};
use crate::sim::scenario::shuffled;
use bytes::BytesMut;
use serde_json::{json, Value};
use std::io;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::time::{sleep, timeout};

/// A client that stops reading for this long is dropped.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

impl Session {
    /// Sends a non-scenario event (`fields` plus Time and EventID).
    pub(super) async fn send(&mut self, id: u16, mut fields: Value) -> io::Result<()> {
        fields["Time"] = json!(self.shared.delivery().roster.clock.to_string());
        fields["EventID"] = json!(id.to_string());
        let json = match fields {
            Value::Object(o) => shuffled(o, &mut self.rng),
            other => other.to_string(),
        };
        self.write_frame(id, &json).await
    }

    /// Writes one frame, with --garbage before it and --split applied.
    pub(super) async fn write_frame(&mut self, id: u16, json: &str) -> io::Result<()> {
        if self.shared.opts.garbage {
            let junk = self.garbage();
            self.write(&junk).await?;
        }
        let frame = frame_bytes(id, json);
        if !self.shared.opts.split {
            return self.write(&frame).await;
        }
        // Cut inside the header once (start mark, size or id), then at a
        // couple of random places.
        let mut cuts = vec![self.rng.range(1, 6) as usize];
        for _ in 0..self.rng.range(0, 2) {
            cuts.push(self.rng.range(1, frame.len() as i64 - 1) as usize);
        }
        cuts.push(frame.len());
        cuts.sort_unstable();
        cuts.dedup();
        let mut from = 0;
        for to in cuts {
            self.write(&frame[from..to]).await?;
            from = to;
            if to < frame.len() {
                sleep(Duration::from_millis(1)).await;
            }
        }
        Ok(())
    }

    /// Bytes to put between two frames: usually nothing, sometimes junk
    /// without a start mark, sometimes a frame that does not check out (bad
    /// end mark, invalid JSON or invalid UTF-8). Never a valid event.
    fn garbage(&mut self) -> Vec<u8> {
        let roll = self.rng.range(0, 99);
        if roll < 25 {
            (0..self.rng.range(1, 24))
                .map(|_| match self.rng.next_u64() as u8 {
                    b if b == START_MARK[0] => b'?',
                    b => b,
                })
                .collect()
        } else if roll < 30 {
            let mut frame = BytesMut::new();
            let result = match self.rng.range(0, 2) {
                0 => encode_frame(
                    ids::LOG_MESSAGE,
                    br#"{"Message":"end mark missing","Color":"0"}"#,
                    &mut frame,
                )
                .map(|()| {
                    let at = frame.len() - END_MARK.len();
                    frame[at..].copy_from_slice(b"XYZ");
                }),
                1 => encode_frame(ids::LOG_MESSAGE, br#"{"Message":"trunc"#, &mut frame),
                _ => encode_frame(ids::LOG_MESSAGE, b"{\"Message\":\"\xff\xfe\"}", &mut frame),
            };
            result.map(|()| frame.to_vec()).unwrap_or_default()
        } else {
            Vec::new()
        }
    }

    pub(super) async fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        match timeout(WRITE_TIMEOUT, self.writer.write_all(bytes)).await {
            Ok(result) => result,
            Err(_) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "client stopped reading",
            )),
        }
    }
}
