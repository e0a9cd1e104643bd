//! The RCON wire format, both directions.
//!
//! [`ClientCodec`] is what bman uses: it decodes server frames
//! (`┐` + u16 size + u16 event id + JSON + `└`) and encodes client packets
//! (i16 kind + UTF-8 text + NUL). [`ServerCodec`] is the mirror image, used by
//! the simulated game server. The frame decoder never fails the stream: a bad
//! frame becomes an `Err(FrameError)` *item*, so the reader logs it and keeps
//! going, and buffering is bounded by the u16 size field.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use std::io;
use tokio_util::codec::{Decoder, Encoder};

/// `┐`, the start of every server frame.
pub(crate) const START_MARK: [u8; 3] = [0xe2, 0x94, 0x90];
/// `└`, the last bytes of every frame payload (counted in the size).
pub(crate) const END_MARK: [u8; 3] = [0xe2, 0x94, 0x94];
const HEADER_LEN: usize = START_MARK.len() + 4;
/// The largest payload a frame can announce (the size field is 16 bits).
pub(crate) const MAX_PAYLOAD: usize = u16::MAX as usize;

/// One server frame: the event id and its JSON text (end mark stripped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub id: u16,
    pub json: String,
}

/// Why bytes on the wire were not a frame. The stream goes on after each.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("skipped {0} bytes of garbage before a frame start mark")]
    Garbage(usize),
    #[error(
        "frame (event {id}, size {size}) has no end mark where its size says; resynchronising"
    )]
    NoEndMark { id: u16, size: usize },
    #[error("frame (event {id}) payload is not valid UTF-8")]
    BadUtf8 { id: u16 },
}

/// Decoder item: a frame, or a reason some bytes were skipped.
pub(crate) type FrameResult = Result<Frame, FrameError>;

/// Client packet kinds: what bman sends the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i16)]
pub(crate) enum PacketKind {
    Login = 0,
    Ping = 1,
    Command = 2,
    RequestPlayer = 3,
    RequestBounce = 4,
    RequestMatch = 5,
    Confirm = 6,
    RequestScoreboard = 7,
}

impl PacketKind {
    pub(crate) fn from_i16(v: i16) -> Option<Self> {
        use PacketKind::*;
        Some(match v {
            0 => Login,
            1 => Ping,
            2 => Command,
            3 => RequestPlayer,
            4 => RequestBounce,
            5 => RequestMatch,
            6 => Confirm,
            7 => RequestScoreboard,
            _ => return None,
        })
    }
}

/// One client packet. `Debug` hides the text of a login (it is the password).
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Packet {
    pub kind: PacketKind,
    pub text: String,
}

impl Packet {
    pub fn new(kind: PacketKind, text: impl Into<String>) -> Self {
        Packet {
            kind,
            text: text.into(),
        }
    }
}

impl std::fmt::Debug for Packet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text: &str = if self.kind == PacketKind::Login {
            "<redacted>"
        } else {
            &self.text
        };
        f.debug_struct("Packet")
            .field("kind", &self.kind)
            .field("text", &text)
            .finish()
    }
}

/// bman's side: decodes frames, encodes packets.
#[derive(Debug, Default)]
pub struct ClientCodec {
    garbage: usize,
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Strips trailing NULs and white space, then the end mark, then white space again.
fn strip_payload(payload: &[u8]) -> Option<&[u8]> {
    let trim_end = |b: &[u8]| -> usize {
        b.iter()
            .rposition(|c| !matches!(c, 0 | b' ' | b'\t' | b'\r' | b'\n'))
            .map_or(0, |p| p + 1)
    };
    let p = &payload[..trim_end(payload)];
    let p = p.strip_suffix(&END_MARK[..])?;
    Some(&p[..trim_end(p)])
}

impl Decoder for ClientCodec {
    type Item = FrameResult;
    type Error = io::Error;

    fn decode(&mut self, buf: &mut BytesMut) -> io::Result<Option<FrameResult>> {
        match find(buf, &START_MARK) {
            Some(0) => {}
            Some(pos) => {
                buf.advance(pos);
                return Ok(Some(Err(FrameError::Garbage(
                    std::mem::take(&mut self.garbage) + pos,
                ))));
            }
            None => {
                // Keep a possible partial start mark; drop the rest.
                let keep = buf.len().min(START_MARK.len() - 1);
                self.garbage += buf.len() - keep;
                buf.advance(buf.len() - keep);
                return Ok(None);
            }
        }
        if self.garbage > 0 {
            return Ok(Some(Err(FrameError::Garbage(std::mem::take(
                &mut self.garbage,
            )))));
        }
        if buf.len() < HEADER_LEN {
            return Ok(None);
        }
        let size = u16::from_le_bytes([buf[3], buf[4]]) as usize;
        let id = u16::from_le_bytes([buf[5], buf[6]]);
        if buf.len() < HEADER_LEN + size {
            buf.reserve(HEADER_LEN + size - buf.len());
            return Ok(None);
        }
        let Some(json) = strip_payload(&buf[HEADER_LEN..HEADER_LEN + size]) else {
            // Resynchronise at the next start mark, which may lie inside this "payload".
            buf.advance(START_MARK.len());
            return Ok(Some(Err(FrameError::NoEndMark { id, size })));
        };
        let item = match std::str::from_utf8(json) {
            Ok(text) => Ok(Frame {
                id,
                json: text.to_owned(),
            }),
            Err(_) => Err(FrameError::BadUtf8 { id }),
        };
        buf.advance(HEADER_LEN + size);
        Ok(Some(item))
    }

    fn decode_eof(&mut self, buf: &mut BytesMut) -> io::Result<Option<FrameResult>> {
        // A server that vanishes mid-frame leaves a partial frame: drop it quietly.
        let item = self.decode(buf)?;
        if item.is_none() {
            buf.clear();
        }
        Ok(item)
    }
}

impl Encoder<Packet> for ClientCodec {
    type Error = io::Error;

    fn encode(&mut self, packet: Packet, dst: &mut BytesMut) -> io::Result<()> {
        // A NUL would end the packet early and let the rest be read as a new one.
        let text = packet.text.replace('\0', " ");
        dst.reserve(2 + text.len() + 1);
        dst.put_i16_le(packet.kind as i16);
        dst.put_slice(text.as_bytes());
        dst.put_u8(0);
        Ok(())
    }
}

/// The game server's side (used by the simulator): decodes packets, encodes frames.
#[derive(Debug, Default)]
pub(crate) struct ServerCodec;

/// What the server side read: a packet, or an unknown kind (kept for logging).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ClientPacket {
    Known(Packet),
    Unknown { kind: i16, text: String },
}

impl Decoder for ServerCodec {
    type Item = ClientPacket;
    type Error = io::Error;

    fn decode(&mut self, buf: &mut BytesMut) -> io::Result<Option<ClientPacket>> {
        if buf.len() < 3 {
            return Ok(None);
        }
        let Some(nul) = buf[2..].iter().position(|&b| b == 0) else {
            if buf.len() > 2 + MAX_PAYLOAD {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "client packet too long",
                ));
            }
            return Ok(None);
        };
        let kind = i16::from_le_bytes([buf[0], buf[1]]);
        let text = String::from_utf8_lossy(&buf[2..2 + nul]).into_owned();
        buf.advance(2 + nul + 1);
        Ok(Some(match PacketKind::from_i16(kind) {
            Some(kind) => ClientPacket::Known(Packet { kind, text }),
            None => ClientPacket::Unknown { kind, text },
        }))
    }
}

impl Encoder<Frame> for ServerCodec {
    type Error = io::Error;

    fn encode(&mut self, frame: Frame, dst: &mut BytesMut) -> io::Result<()> {
        encode_frame(frame.id, frame.json.as_bytes(), dst)
    }
}

/// Writes one server frame; fails when the payload cannot fit the u16 size.
pub fn encode_frame(id: u16, json: &[u8], dst: &mut BytesMut) -> io::Result<()> {
    let size = json.len() + END_MARK.len();
    let size = u16::try_from(size).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("frame payload of {size} bytes exceeds 65535"),
        )
    })?;
    dst.reserve(HEADER_LEN + size as usize);
    dst.put_slice(&START_MARK);
    dst.put_u16_le(size);
    dst.put_u16_le(id);
    dst.put_slice(json);
    dst.put_slice(&END_MARK);
    Ok(())
}

/// Encodes a frame into fresh bytes (tests, benchmarks, the simulator's dump).
pub fn frame_bytes(id: u16, json: &str) -> Bytes {
    let mut b = BytesMut::new();
    encode_frame(id, json.as_bytes(), &mut b).expect("frame fits");
    b.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Feeds `chunks` one at a time and collects every decoded item.
    fn decode_chunks<'a>(chunks: impl IntoIterator<Item = &'a [u8]>) -> Vec<FrameResult> {
        let mut codec = ClientCodec::default();
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        for chunk in chunks {
            buf.extend_from_slice(chunk);
            while let Some(item) = codec.decode(&mut buf).unwrap() {
                out.push(item);
            }
            assert!(buf.len() <= HEADER_LEN + MAX_PAYLOAD, "buffer bounded");
        }
        while let Some(item) = codec.decode_eof(&mut buf).unwrap() {
            out.push(item);
        }
        out
    }

    fn frames_only(items: Vec<FrameResult>) -> Vec<Frame> {
        items.into_iter().filter_map(Result::ok).collect()
    }

    fn sample_stream() -> (Vec<u8>, Vec<Frame>) {
        let frames = vec![
            Frame {
                id: 41,
                json: r#"{"Time":"1","EventID":"41"}"#.into(),
            },
            // Chat text may hold both marks: the size, not a scan, delimits the frame.
            Frame {
                id: 42,
                json: r#"{"Message":"└ ┐ \"@everyone\""}"#.into(),
            },
            Frame {
                id: 6,
                json: "{}".into(),
            },
        ];
        let mut wire = BytesMut::new();
        for f in &frames {
            encode_frame(f.id, f.json.as_bytes(), &mut wire).unwrap();
        }
        (wire.to_vec(), frames)
    }

    #[test]
    fn split_at_every_byte_boundary_decodes_the_same() {
        let (wire, frames) = sample_stream();
        for cut in 0..=wire.len() {
            let (a, b) = wire.split_at(cut);
            assert_eq!(frames_only(decode_chunks([a, b])), frames, "cut at {cut}");
        }
        let bytes: Vec<&[u8]> = wire.chunks(1).collect();
        assert_eq!(
            decode_chunks(bytes).len(),
            frames.len(),
            "one byte at a time, no errors"
        );
    }

    #[test]
    fn garbage_between_frames_is_skipped() {
        let (wire, frames) = sample_stream();
        let mut dirty = b"xx\xe2\x94junk".to_vec();
        dirty.extend_from_slice(&wire[..]);
        dirty.extend_from_slice(b"\0\0garbage\xff");
        dirty.extend_from_slice(&wire[..]);
        let items = decode_chunks([&dirty[..]]);
        assert!(matches!(items[0], Err(FrameError::Garbage(_))));
        let mut twice = frames.clone();
        twice.extend(frames);
        assert_eq!(frames_only(items), twice);
    }

    #[test]
    fn a_frame_without_its_end_mark_resynchronises() {
        let (wire, frames) = sample_stream();
        // A header claiming 20 bytes whose payload has no end mark, then real frames.
        let mut dirty = START_MARK.to_vec();
        dirty.extend_from_slice(&20u16.to_le_bytes());
        dirty.extend_from_slice(&6u16.to_le_bytes());
        dirty.extend_from_slice(b"{\"not\":\"closed\"}   ");
        dirty.extend_from_slice(&wire);
        let items = decode_chunks([&dirty[..]]);
        assert_eq!(items[0], Err(FrameError::NoEndMark { id: 6, size: 20 }));
        assert_eq!(frames_only(items), frames);
    }

    #[test]
    fn over_long_frames_do_not_buffer_without_bound() {
        // A header that claims the maximum size, followed by endless non-frame bytes.
        let mut stream = START_MARK.to_vec();
        stream.extend_from_slice(&u16::MAX.to_le_bytes());
        stream.extend_from_slice(&1u16.to_le_bytes());
        stream.extend(std::iter::repeat_n(b'a', 300_000));
        let items = decode_chunks(stream.chunks(4096));
        assert!(matches!(items[0], Err(FrameError::NoEndMark { .. })));
        assert!(items.iter().all(Result::is_err));
    }

    #[test]
    fn trailing_nul_and_whitespace_are_stripped() {
        let mut wire = START_MARK.to_vec();
        let payload = "{\"a\":1}└\0\0 \n".as_bytes();
        wire.extend_from_slice(&(payload.len() as u16).to_le_bytes());
        wire.extend_from_slice(&33u16.to_le_bytes());
        wire.extend_from_slice(payload);
        assert_eq!(
            frames_only(decode_chunks([&wire[..]])),
            vec![Frame {
                id: 33,
                json: "{\"a\":1}".into()
            }]
        );
    }

    #[test]
    fn big_frames_over_32k_decode() {
        let json = format!("{{\"x\":\"{}\"}}", "a".repeat(40_000));
        let wire = frame_bytes(34, &json);
        assert_eq!(
            frames_only(decode_chunks(wire.chunks(1000))),
            vec![Frame { id: 34, json }]
        );
        let too_big = "a".repeat(70_000);
        assert!(encode_frame(1, too_big.as_bytes(), &mut BytesMut::new()).is_err());
    }

    #[test]
    fn packets_encode_as_kind_text_nul_and_hide_passwords() {
        let mut out = BytesMut::new();
        ClientCodec::default()
            .encode(Packet::new(PacketKind::Command, "say \"a\0b\""), &mut out)
            .unwrap();
        assert_eq!(&out[..], b"\x02\x00say \"a b\"\x00");
        let mut server = ServerCodec;
        assert_eq!(
            server.decode(&mut out).unwrap(),
            Some(ClientPacket::Known(Packet::new(
                PacketKind::Command,
                "say \"a b\""
            )))
        );
        let shown = format!("{:?}", Packet::new(PacketKind::Login, "hunter2"));
        assert!(!shown.contains("hunter2"), "{shown}");
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 0..20)) {
            decode_chunks(chunks.iter().map(Vec::as_slice));
        }

        #[test]
        fn frames_survive_garbage_and_any_chunking(
            garbage in proptest::collection::vec(proptest::collection::vec(any::<u8>().prop_filter("no start byte", |b| *b != 0xe2), 0..40), 4),
            cut in 1usize..64,
        ) {
            let (_, frames) = sample_stream();
            let mut wire = Vec::new();
            for (g, f) in garbage.iter().zip(&frames) {
                wire.extend_from_slice(g);
                wire.extend_from_slice(&frame_bytes(f.id, &f.json));
            }
            wire.extend_from_slice(&garbage[3]);
            prop_assert_eq!(frames_only(decode_chunks(wire.chunks(cut))), frames);
        }
    }
}
