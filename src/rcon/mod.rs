//! RCON: wire codec, client connection, supervisor and request handles.

mod backoff;
pub mod codec;
pub mod handle;
mod session;
mod sink;
pub mod supervisor;

pub use handle::{console_quote, ConnectionStatus, RequestError, ServerHandle};
pub use sink::FrameSink;
