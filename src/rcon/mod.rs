//! RCON: wire codec, client connection, supervisor and request handles.

mod backoff;
pub mod codec;
pub mod handle;
mod session;
pub mod supervisor;

pub use handle::{console_quote, ConnectionStatus, RequestError, ServerHandle};
