#!/usr/bin/env bash
# Blur 720p frames with ffmpeg (gblur sigma 8, boxblur 8:3) and with
# Sluice's kernel (radius 16 = sigma 8; box radius 8), one thread, on the
# same frames, and print frames per CPU-second and the ratios.
#
# CPU seconds (user + sys) rather than wall time, so the figures hold when
# other jobs share the machine. ffmpeg's figures include reading the file
# (about 0.1 s of CPU for 300 frames of Y4M); the Sluice example decodes
# before timing. rgba: ffmpeg reads raw rgba, so no conversion is timed.
#
# Usage: benches/peers/video_blur.sh [WORK_DIR]   (needs ffmpeg, cargo)
set -euo pipefail
cd "$(dirname "$0")/../.."
WORK=${1:-${TMPDIR:-/tmp}/sluice_video_blur}
FRAMES=300
mkdir -p "$WORK"
if ! command -v ffmpeg >/dev/null; then
    echo "skipped: ffmpeg not installed"
    exit 0
fi
Y4M="$WORK/720p.y4m"
RGBA="$WORK/720p_60.rgba"
[ -s "$Y4M" ] || ffmpeg -loglevel error -y -f lavfi -i testsrc2=size=1280x720:rate=30 \
    -frames:v $FRAMES -pix_fmt yuv420p "$Y4M"
[ -s "$RGBA" ] || ffmpeg -loglevel error -y -i "$Y4M" -frames:v 60 -pix_fmt rgba -f rawvideo "$RGBA"
cargo build -q --release -p sluice-nodes --example blur_fps
EXAMPLE=target/release/examples/blur_fps

# Frames per CPU-second of an ffmpeg run.
ffmpeg_fps() {
    local t
    t=$( { /usr/bin/time -f "%U %S" ffmpeg -loglevel error -threads 1 -filter_threads 1 "$@" -f null - ; } 2>&1 | tail -1)
    awk -v t="$t" -v n=$FRAMES 'BEGIN { split(t, a, " "); printf "%.1f", n / (a[1] + a[2]) }'
}

sluice_fps() {
    RAYON_NUM_THREADS=1 "$EXAMPLE" "$Y4M" "$1" "$2" "$3" $FRAMES | sed -E 's/.* ([0-9.]+) fps per cpu-second/\1/'
}

row() {
    local label=$1 peer=$2 ours=$3
    awk -v l="$label" -v p="$peer" -v o="$ours" 'BEGIN { printf "%-34s ffmpeg %8.1f fps   sluice %8.1f fps   ratio %5.2fx\n", l, p, o, o / p }'
}

yuv=(-i "$Y4M")
rgba=(-f rawvideo -pix_fmt rgba -s 1280x720 -stream_loop 4 -i "$RGBA")
echo "720p, $FRAMES frames, one thread, frames per CPU-second"
row "gblur sigma 8 vs gaussian r16, i420" "$(ffmpeg_fps "${yuv[@]}" -vf gblur=sigma=8)" "$(sluice_fps i420 gaussian 16)"
row "gblur sigma 8 vs gaussian r16, rgba" "$(ffmpeg_fps "${rgba[@]}" -vf gblur=sigma=8)" "$(sluice_fps rgba gaussian 16)"
row "boxblur 8:3 vs gaussian r16, i420" "$(ffmpeg_fps "${yuv[@]}" -vf boxblur=8:3)" "$(sluice_fps i420 gaussian 16)"
row "boxblur 8:3 vs gaussian r16, rgba" "$(ffmpeg_fps "${rgba[@]}" -vf boxblur=8:3)" "$(sluice_fps rgba gaussian 16)"
row "boxblur 8:1 vs box r8, i420" "$(ffmpeg_fps "${yuv[@]}" -vf boxblur=8:1)" "$(sluice_fps i420 box 8)"

# Every thread: bands of rows and stripes of columns on rayon. Wall-clock
# fps (CPU-seconds would hide the gain), and the frame read once plus
# written once as a fraction of memory bandwidth (12 GB/s one core, 17 GB/s
# two). Only meaningful when nothing else runs on the machine.
echo "720p gaussian r16, wall-clock fps by threads"
for t in 1 2; do
    for fmt in i420 rgba; do
        fps=$(RAYON_NUM_THREADS=$t "$EXAMPLE" "$Y4M" "$fmt" gaussian 16 1000 | sed -E 's/.* ([0-9.]+) fps wall.*/\1/')
        awk -v t=$t -v f=$fmt -v fps="$fps" 'BEGIN {
            bytes = 2 * 1280 * 720 * (f == "rgba" ? 4 : 1.5); bw = (t == 1 ? 12e9 : 17e9)
            printf "%s, %d thread(s): %8.1f fps   %4.1f%% of %d GB/s\n", f, t, fps, 100 * bytes * fps / bw, bw / 1e9
        }'
    done
done
