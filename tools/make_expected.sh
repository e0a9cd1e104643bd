#!/usr/bin/env bash
# Regenerates tests/data/expected/: simulator dumps (MODE-SEED.jsonl) and the
# stats/ratings the independent Python reference computes from them
# (MODE-SEED.json). The Rust end-to-end tests replay each dump through the
# ingest and compare against the .json, and check the simulator still
# produces the committed dump byte for byte.
#
# Run from anywhere; needs cargo and python3 (with venv). The venv is set up
# once, outside the repository:
#
#     python3 -m venv /tmp/ref && /tmp/ref/bin/pip install trueskill==0.4.5
#
# Set REF_PY to use another interpreter that has trueskill 0.4.5.
set -euo pipefail

cd "$(dirname "$0")/.."
OUT=tests/data/expected
REF_PY=${REF_PY:-/tmp/ref/bin/python}
MAX_BYTES=${MAX_BYTES:-300000}   # keep committed dumps small

if ! "$REF_PY" -c 'import trueskill, sys; sys.exit(trueskill.__version__ != "0.4.5")' 2>/dev/null; then
    python3 -m venv /tmp/ref
    /tmp/ref/bin/pip install -q trueskill==0.4.5
    REF_PY=/tmp/ref/bin/python
fi

cargo build -q
mkdir -p "$OUT"
for mode in dm tdm ctf svl zbr; do
    for seed in 1 2; do
        base="$OUT/$mode-$seed"
        matches=2
        cargo run -q -- simulate --dump --mode "$mode" --seed "$seed" \
            --matches "$matches" --players 6 > "$base.jsonl"
        if [ "$(wc -c < "$base.jsonl")" -gt "$MAX_BYTES" ]; then
            matches=1
            cargo run -q -- simulate --dump --mode "$mode" --seed "$seed" \
                --matches "$matches" --players 6 > "$base.jsonl"
        fi
        "$REF_PY" tools/reference.py --summary "$base.jsonl" > "$base.json"
        echo "$base: --matches $matches, $(wc -c < "$base.jsonl") bytes" >&2
    done
done
