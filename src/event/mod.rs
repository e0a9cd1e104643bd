//! Typed game events with tolerant decoding.
//!
//! The game sends nearly every value as a JSON string, sometimes as a number,
//! and several forms of `Profile`. Decoding never fails on a missing or
//! mistyped field: it becomes `None`, and the consumer decides whether the
//! event is still usable. Only a payload that is not a JSON object is an error.
//! Unknown event ids are kept as [`Event::Unknown`] (README, "How recording
//! works").
//!
//! - [`ids`]: every event id, named; the only place the numbers are written.
//! - `types`: [`Event`], its payloads and [`Profile`], the wire identity.
//! - `fields`: [`Fields`], lenient accessors over a frame's raw JSON values.
//! - `decode`: [`decode`], from a frame's id and text to a [`GameEvent`].
//! - `scan`: the single-pass JSON object scanner behind [`Fields::parse`].

mod decode;
mod fields;
pub mod ids;
mod scan;
mod types;

pub use decode::decode;
pub use fields::{Fields, ObjectError};
pub use ids::event_name;
pub use types::{
    Death, DecodeError, Event, GameEvent, MatchEnd, MatchInfo, PlayerData, Profile, ReplyBody,
    Scoreboard,
};
