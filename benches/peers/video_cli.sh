#!/usr/bin/env bash
# The video figures through the command line: the whole `sluice` process
# against the whole ffmpeg process, on the same Y4M of the `moving` test
# pattern at 720p, the release binary.
#
#   png    10 frames written as PNG: `y4m_in -> png_out` (compression fast,
#          the default) against `ffmpeg -threads 1 ... out%03d.png`
#   blur   300 frames: `y4m_in -> blur(radius: 16) -> null` against
#          `ffmpeg -threads 1 -filter_threads 1 -vf gblur=sigma=8 -f null -`
#   read   300 frames: `y4m_in -> null` in GB/s of picture bytes, against
#          `cat FILE > /dev/null` (the same kernel copy from the page cache)
#          and memcpy (mbw, when installed)
#
# Each is run pinned to one core (`taskset -c $CORE`) and unpinned. The
# tools take turns within each round (A B A B ...), so a change in the
# machine's load falls on both; medians of $RUNS rounds, wall and CPU
# (user + system) seconds.
#
# Usage: benches/peers/video_cli.sh [WORK_DIR]   (RUNS=5 CORE=1; needs
# ffmpeg, taskset)
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v ffmpeg >/dev/null || { echo "skipped: ffmpeg not installed"; exit 0; }
RUNS=${RUNS:-5}
CORE=${CORE:-1}
WORK=${1:-${TMPDIR:-/tmp}/sluice_video_cli}
mkdir -p "$WORK"
# The binary a user builds (the README's `cargo build --release`): a build
# without default features would replace target/release/sluice with one
# that cannot run the person model.
cargo build -q --release
SLUICE=target/release/sluice
V300="$WORK/moving300.y4m"
V10="$WORK/moving10.y4m"
[ -s "$V300" ] || $SLUICE run -e "video_test(size: 1280x720, pattern: moving, frames: 300) -> y4m_out(path: \"$V300\")" >/dev/null 2>&1
[ -s "$V10" ] || $SLUICE run -e "video_test(size: 1280x720, pattern: moving, frames: 10) -> y4m_out(path: \"$V10\")" >/dev/null 2>&1
cat "$V300" "$V10" >/dev/null # into the page cache

# once FILE CMD...: one run of CMD, its wall, user and system seconds
# appended to FILE.
once() {
    local file=$1
    shift
    local TIMEFORMAT="%3R %3U %3S"
    { time "$@" >/dev/null 2>/dev/null; } 2>>"$file"
}

# median FILE: the median wall and CPU (user + system) seconds in FILE.
median() {
    local n
    n=$(wc -l <"$1")
    awk '{ print $1 }' "$1" | sort -g | sed -n "$(((n + 1) / 2))p" | tr '\n' ' '
    awk '{ print $2 + $3 }' "$1" | sort -g | sed -n "$(((n + 1) / 2))p"
}

# duel NAME PIN -- PEER... -- OURS...: $RUNS rounds, the peer then Sluice;
# prints the medians and Sluice's speed-up (peer time / Sluice time).
duel() {
    local name=$1 pin=$2
    shift 3
    local peer=() ours=()
    while [ "$1" != "--" ]; do peer+=("$1"); shift; done
    shift
    ours=("$@")
    local pre=()
    [ "$pin" = pinned ] && pre=(taskset -c "$CORE")
    : >"$WORK/peer" && : >"$WORK/ours"
    for _ in $(seq "$RUNS"); do
        once "$WORK/peer" "${pre[@]}" "${peer[@]}"
        once "$WORK/ours" "${pre[@]}" "${ours[@]}"
    done
    read -r pw pc <<<"$(median "$WORK/peer")"
    read -r ow oc <<<"$(median "$WORK/ours")"
    awk -v n="$name" -v p="$pin" -v pw="$pw" -v pc="$pc" -v ow="$ow" -v oc="$oc" 'BEGIN {
        printf "%-6s %-8s ffmpeg wall %6.2f s cpu %6.2f s | sluice wall %6.2f s cpu %6.2f s | %5.2fx wall %5.2fx cpu\n",
            n, p, pw, pc, ow, oc, pw / ow, pc / oc }'
}

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg); $RUNS rounds, medians"
mkdir -p "$WORK/png_ffmpeg" "$WORK/png_sluice"
for pin in pinned unpinned; do
    duel png "$pin" -- ffmpeg -loglevel error -y -threads 1 -i "$V10" "$WORK/png_ffmpeg/out%03d.png" \
        -- $SLUICE run -e "y4m_in(path: \"$V10\") -> png_out(path: \"$WORK/png_sluice/f%03d.png\")"
done
echo "(png: 10 frames; per frame, divide by 10)"
for pin in pinned unpinned; do
    duel blur "$pin" -- ffmpeg -loglevel error -threads 1 -filter_threads 1 -i "$V300" -vf gblur=sigma=8 -f null - \
        -- $SLUICE run -e "y4m_in(path: \"$V300\") -> blur(radius: 16) -> null"
done

# Reading: picture bytes per wall second and per CPU second.
pictures=$((300 * 1280 * 720 * 3 / 2))
for pin in pinned unpinned; do
    pre=()
    [ "$pin" = pinned ] && pre=(taskset -c "$CORE")
    : >"$WORK/cat" && : >"$WORK/read"
    for _ in $(seq "$RUNS"); do
        once "$WORK/cat" "${pre[@]}" cat "$V300"
        once "$WORK/read" "${pre[@]}" $SLUICE run -e "y4m_in(path: \"$V300\") -> null"
    done
    read -r cw cc <<<"$(median "$WORK/cat")"
    read -r rw rc <<<"$(median "$WORK/read")"
    awk -v p="$pin" -v b=$pictures -v cw="$cw" -v cc="$cc" -v rw="$rw" -v rc="$rc" 'BEGIN {
        printf "read   %-8s GB per wall / CPU second: cat %5.2f / %5.2f | y4m_in -> null %5.2f / %5.2f\n",
            p, b / cw / 1e9, b / cc / 1e9, b / rw / 1e9, b / rc / 1e9 }'
done
if command -v mbw >/dev/null; then
    pre=(taskset -c "$CORE")
    "${pre[@]}" mbw -q -n 5 -t0 256 | awk '/^AVG/ { printf "memcpy (mbw, 256 MiB, pinned, wall): %.2f GB/s\n", $(NF - 1) * 1.048576 / 1000 }'
fi
