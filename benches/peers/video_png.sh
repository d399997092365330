#!/usr/bin/env bash
# png_out against ffmpeg's PNG encoder: 10 frames of the `moving` test
# pattern at 720p, read from the same Y4M, pinned to one core; CPU seconds
# (user + sys) per frame and the total size of the files.
#
# ffmpeg: `-threads 1`, its defaults (zlib level 6, no row filter).
# Usage: benches/peers/video_png.sh   (needs ffmpeg, cargo, taskset)
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v ffmpeg >/dev/null || { echo "skipped: ffmpeg not installed"; exit 0; }
cargo build -q --release
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
frames=10
target/release/sluice run -e "video_test(size: 1280x720, pattern: moving, frames: $frames) -> y4m_out(path: \"$work/in.y4m\")" 2>/dev/null

# cpu_per_frame CMD...: median of three runs, CPU milliseconds per frame.
cpu_per_frame() {
    for _ in 1 2 3; do
        { /usr/bin/time -f "%U %S" taskset -c 0 "$@" >/dev/null 2>&1; } 2>&1 | tail -1
    done | awk -v n=$frames '{ print ($1 + $2) * 1000 / n }' | sort -n | sed -n 2p
}

mkdir -p "$work/ffmpeg"
peer=$(cpu_per_frame ffmpeg -loglevel error -y -i "$work/in.y4m" -threads 1 "$work/ffmpeg/out%03d.png")
peer_size=$(du -sb "$work/ffmpeg" | cut -f1)
printf '%-28s %8.1f ms/frame %10d bytes\n' "ffmpeg (zlib 6)" "$peer" "$peer_size"
for level in fast default best; do
    mkdir -p "$work/$level"
    ours=$(cpu_per_frame target/release/sluice run -e \
        "y4m_in(path: \"$work/in.y4m\") -> png_out(path: \"$work/$level/f%03d.png\", compression: $level)")
    size=$(du -sb "$work/$level" | cut -f1)
    awk -v l="png_out($level)" -v t="$ours" -v s="$size" -v p="$peer" -v ps="$peer_size" \
        'BEGIN { printf "%-28s %8.1f ms/frame %10d bytes   %.2fx ffmpeg time, %.2fx size\n", l, t, s, t / p, s / ps }'
done
