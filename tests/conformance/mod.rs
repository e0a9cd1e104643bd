//! The checks of tests/store_conformance.rs, by concern. Each takes a fresh,
//! empty `&dyn Store` and asserts what every backend must answer.

pub mod bans;
pub mod bookkeeping;
pub mod facts;
pub mod links;
pub mod players;
pub mod stats;
pub mod support;
