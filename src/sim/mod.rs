//! Simulated game server (being written).
