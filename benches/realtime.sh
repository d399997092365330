#!/usr/bin/env bash
# The real-time harness (issue 7): runs the conference graph
# (examples/graphs/conference.sluice: six synthetic voices, dominant
# speakers, spatialisation and a meter at 48 kHz / 10 ms, plus a 720p30
# camera through background_blur) with `--realtime` for SECONDS (60 by
# default) and prints per-clock-domain tick time and start jitter (p50,
# p99, p99.9, max) and xruns, with the load average before and after.
#
# Not a CI assertion: on a shared machine the figures say how busy it was
# as much as how fast sluice is. The camera runs for the whole run (the
# example stops it after 10 s). Outputs go to a temporary directory that is
# removed afterwards (the 720p video is about 2.5 GB a minute).
# Needs a release build (`cargo build --release`).
# Usage: benches/realtime.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
bin="$PWD/target/release/sluice"
graph="$PWD/examples/graphs/conference.sluice"
[ -x "$bin" ] || { echo "target/release/sluice missing: run cargo build --release first" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/out"
echo "machine: $(nproc) cores; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "graph: $graph, realtime, ${seconds} s"
cd "$work"
# The example's camera stops after 300 frames (10 s): give it the whole run.
sed "s/frames: 300/frames: $((seconds * 30))/" "$graph" >"$work/conference.sluice"
"$bin" run --realtime --duration "${seconds}s" --stats=end "$work/conference.sluice" 2>"$work/stats.txt" || {
    cat "$work/stats.txt" >&2
    exit 1
}
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
# The per-domain table (tick = a tick's processing time, late = how long
# after its scheduled start it began), the totals and the run's summary.
sed -n '/^domain /,$p' "$work/stats.txt"
