//! Frame decode + JSON event decode over a realistic event mix (the
//! simulator's scenarios for all four modes): the ingest's per-event CPU cost.
//! Run: `cargo bench --bench decode`.

use bman::model::Mode;
use bman::rcon::codec::{encode_frame, ClientCodec};
use bman::sim::SimOptions;
use bytes::BytesMut;
use clap::Parser;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use tokio_util::codec::Decoder;

#[derive(Parser)]
struct Args {
    #[command(flatten)]
    sim: SimOptions,
}

/// Every event of 2 matches of each mode, framed as the game sends them.
fn wire_bytes() -> (BytesMut, u64) {
    let mut wire = BytesMut::new();
    let mut frames = 0;
    for mode in Mode::ALL {
        let args = Args::parse_from([
            "sim",
            "--mode",
            mode.as_str(),
            "--matches",
            "2",
            "--players",
            "10",
        ]);
        for ev in bman::sim::scenario(&args.sim) {
            encode_frame(ev.id, ev.json.as_bytes(), &mut wire).expect("frame fits");
            frames += 1;
        }
    }
    (wire, frames)
}

fn decode_all(wire: &BytesMut) -> usize {
    let mut codec = ClientCodec::default();
    let mut buf = wire.clone();
    let mut decoded = 0;
    while let Ok(Some(item)) = codec.decode(&mut buf) {
        if let Ok(frame) = item {
            if bman::event::decode(frame.id, &frame.json).is_ok() {
                decoded += 1;
            }
        }
    }
    decoded
}

/// The codec alone: how much of the cost is framing.
fn frames_only(wire: &BytesMut) -> usize {
    let mut codec = ClientCodec::default();
    let mut buf = wire.clone();
    let mut frames = 0;
    while let Ok(Some(item)) = codec.decode(&mut buf) {
        frames += usize::from(item.is_ok());
    }
    frames
}

fn bench(c: &mut Criterion) {
    let (wire, frames) = wire_bytes();
    assert_eq!(decode_all(&wire) as u64, frames, "every frame decodes");
    let mut group = c.benchmark_group("decode");
    group.throughput(Throughput::Elements(frames));
    group.bench_function("frames+events (per frame)", |b| {
        b.iter(|| decode_all(&wire))
    });
    group.bench_function("frames only (per frame)", |b| b.iter(|| frames_only(&wire)));
    group.throughput(Throughput::Bytes(wire.len() as u64));
    group.bench_function("frames+events (bytes)", |b| b.iter(|| decode_all(&wire)));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
