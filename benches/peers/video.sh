#!/usr/bin/env bash
# Peer figures for the video kernels: ffmpeg (swscale) doing the same
# conversions and resizes on 300 frames of 1280x720, one thread, from raw
# frames in memory-cached files to the null muxer. Prints frames per
# second; compare with `cargo bench -p sluice-nodes --bench video`
# (convert_720p/*, scale_720p/*), whose times are per frame.
#
# The ffmpeg figures include reading the raw input (a memcpy-like cost);
# each line is the median of three runs of `-benchmark`'s real time.
set -euo pipefail
command -v ffmpeg >/dev/null || { echo "skipped: ffmpeg not installed"; exit 0; }

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
n=300
ffmpeg -v error -f lavfi -i "testsrc2=size=1280x720:rate=30" -frames:v $n \
    -pix_fmt rgba -f rawvideo "$dir/rgba.raw"
ffmpeg -v error -f rawvideo -pix_fmt rgba -s 1280x720 -i "$dir/rgba.raw" \
    -pix_fmt yuv420p -f rawvideo "$dir/i420.raw"

# run NAME INPUT_PIX_FMT INPUT FILTER
run() {
    local name=$1 pix=$2 input=$3 filter=$4 times=()
    for _ in 1 2 3; do
        t=$(ffmpeg -hide_banner -benchmark -threads 1 -filter_threads 1 \
                -f rawvideo -pix_fmt "$pix" -s 1280x720 -i "$input" \
                -vf "$filter" -f null - 2>&1 | sed -n 's/.*rtime=\([0-9.]*\)s.*/\1/p')
        times+=("$t")
    done
    med=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 2p)
    awk -v n=$n -v t="$med" -v name="$name" 'BEGIN { printf "%-32s %8.0f fps (%.3f s)\n", name, n / t, t }'
}

run "read only (rgba)"               rgba    "$dir/rgba.raw" "null"
run "read only (yuv420p)"            yuv420p "$dir/i420.raw" "null"
run "rgba -> yuv420p"                rgba    "$dir/rgba.raw" "format=yuv420p"
run "rgba -> nv12"                   rgba    "$dir/rgba.raw" "format=nv12"
run "yuv420p -> rgba"                yuv420p "$dir/i420.raw" "format=rgba"
run "yuv420p -> nv12"                yuv420p "$dir/i420.raw" "format=nv12"
run "yuv420p 720p -> 360p bilinear"  yuv420p "$dir/i420.raw" "scale=640:360:flags=bilinear"
run "yuv420p 720p -> 360p area"      yuv420p "$dir/i420.raw" "scale=640:360:flags=area"
run "yuv420p 720p -> 1080p bilinear" yuv420p "$dir/i420.raw" "scale=1920:1080:flags=bilinear"
run "rgba 720p -> 360p bilinear"     rgba    "$dir/rgba.raw" "scale=640:360:flags=bilinear"
