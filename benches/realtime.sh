#!/usr/bin/env bash
# The real-time harness (issue 7): runs the conference graph
# (examples/graphs/conference.sluice: six synthetic voices, dominant
# speakers, spatialisation and a meter at 48 kHz / 10 ms, plus a 720p30
# camera through background_blur) with `--realtime` for SECONDS (60 by
# default) and prints per-clock-domain tick time and start jitter (p50,
# p99, p99.9, max), xruns, and the scheduling the audio thread got, with
# the load average before and after.
#
#   --load N   run N busy CPU workers beside it (stress-ng if installed,
#              else shell loops), to see what a busy machine does to it
#   --no-rt    run as user `nobody` with RLIMIT_RTPRIO 0, so the audio
#              thread's request for SCHED_FIFO is refused and it runs at
#              normal priority (the comparison, and the refusal path);
#              needs root to switch user
#
# Not a CI assertion: on a shared machine the figures say how busy it was
# as much as how fast sluice is. The camera runs for the whole run (the
# example stops it after 10 s). Outputs go to a temporary directory that is
# removed afterwards (the 720p video is about 2.5 GB a minute).
# Needs a release build (`cargo build --release`).
# Usage: benches/realtime.sh [SECONDS] [--load N] [--no-rt]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=60
load=0
as=()
while [ $# -gt 0 ]; do
    case "$1" in
        --load) load="$2"; shift 2 ;;
        --no-rt) as=(setpriv --reuid=nobody --regid=nogroup --clear-groups prlimit --rtprio=0:0); shift ;;
        *) seconds="$1"; shift ;;
    esac
done
bin="$PWD/target/release/sluice"
graph="$PWD/examples/graphs/conference.sluice"
[ -x "$bin" ] || { echo "target/release/sluice missing: run cargo build --release first" >&2; exit 1; }
work="$(mktemp -d)"
busy=()
cleanup() {
    [ ${#busy[@]} -eq 0 ] || kill "${busy[@]}" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/out"
# The example's camera stops after 300 frames (10 s): give it the whole run.
sed "s/frames: 300/frames: $((seconds * 30))/" "$graph" >"$work/conference.sluice"
[ ${#as[@]} -eq 0 ] || chown -R nobody:nogroup "$work"
if [ "$load" -gt 0 ]; then
    if command -v stress-ng >/dev/null; then
        stress-ng --cpu "$load" --timeout "$((seconds + 10))s" --quiet &
        busy+=($!)
    else
        for _ in $(seq "$load"); do
            (while :; do :; done) &
            busy+=($!)
        done
    fi
    sleep 5
fi
echo "machine: $(nproc) cores; busy workers: $load; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "graph: $graph, realtime, ${seconds} s${as:+, as nobody with RLIMIT_RTPRIO 0}"
cd "$work"
"${as[@]}" "$bin" run --realtime --duration "${seconds}s" --stats=end "$work/conference.sluice" 2>"$work/stats.txt" || {
    cat "$work/stats.txt" >&2
    exit 1
}
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
# The per-domain table (tick = a tick's processing time, late = how long
# after its scheduled start it began), the audio thread's scheduling, the
# totals and the run's summary.
sed -n '/^domain /,$p' "$work/stats.txt"
