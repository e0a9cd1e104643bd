//! A server that logs us in and then says nothing is a dead link after 20 s
//! of silence (tokio's paused clock, so the test takes no real 20 s).

mod common;

use bman::model::Mode;
use bman::rcon::codec::frame_bytes;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::time::Instant;

#[tokio::test(start_paused = true)]
async fn silence_for_20_seconds_means_reconnect() {
    let dir = tempfile::tempdir().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let settings = common::settings(&[("quiet", Mode::Dm, port, "pw")], dir.path());
    let (ingest, recorder) = common::start(&settings).await;
    let handle = ingest.handles[0].clone();
    let mut status = handle.watch_status();

    let (mut socket, _) = listener.accept().await.unwrap();
    let mut login = [0u8; 5];
    socket.read_exact(&mut login).await.unwrap();
    assert_eq!(
        &login, b"\x00\x00pw\x00",
        "login packet: kind 0, password, NUL"
    );
    socket
        .write_all(&frame_bytes(
            36,
            r#"{"Time":"1","EventID":"36","MapName":"Quiet"}"#,
        ))
        .await
        .unwrap();
    status.wait_for(|s| s.is_connected()).await.unwrap();
    let connected_at = Instant::now();

    status.wait_for(|s| !s.is_connected()).await.unwrap();
    let silent_for = connected_at.elapsed();
    assert!(
        silent_for >= Duration::from_secs(20) && silent_for < Duration::from_secs(21),
        "declared dead after {silent_for:?}"
    );
    assert!(handle
        .status()
        .last_error
        .unwrap()
        .contains("nothing received for 20s"));
    // It comes back on its own.
    let again = tokio::time::timeout(Duration::from_secs(5), listener.accept()).await;
    assert!(again.is_ok(), "a reconnect attempt follows");
    drop(socket);
    common::stop(ingest, recorder).await;
}
