#!/usr/bin/env bash
# Regenerates every picture in docs/images from the current code:
#   video_snapshots  video_test_*, filter_*, adjust, overlay, grid,
#                    scale_letterbox, blur_*, background_blur (real nodes,
#                    written by png_out)
#   segment_pictures segment_* (the person model on the public-domain
#                    photos in tests/data and on the `moving` pattern)
#   spatial_plot     spatial_itd_ild, spatial_elevation (measured from the
#                    HRIRs spatialize uses; MIT KEMAR when libmysofa1's
#                    file is installed)
#
# Usage: tools/pictures.sh           rewrite docs/images
#        tools/pictures.sh --check   draw into a temporary folder and list
#                                    the committed pictures that differ
#                                    (exit 1 if any does)
set -euo pipefail
cd "$(dirname "$0")/.."

check=false
[ "${1:-}" = "--check" ] && check=true
out=docs/images
if $check; then
    out=$(mktemp -d)
    trap 'rm -rf "$out"' EXIT
fi
mkdir -p "$out"

# The dev profile: the node library and tract are optimised in it (see
# Cargo.toml), and it shares the test build.
cargo build -q -p sluice-nodes --example video_snapshots --example segment_pictures \
    --example spatial_plot
target/debug/examples/video_snapshots "$out" >/dev/null
target/debug/examples/segment_pictures "$out" >/dev/null
target/debug/examples/spatial_plot "$out/spatial_itd_ild.png" "$out/spatial_elevation.png"

if $check; then
    stale=0
    for f in "$out"/*.png; do
        name=$(basename "$f")
        if ! cmp -s "$f" "docs/images/$name"; then
            echo "stale: docs/images/$name"
            stale=1
        fi
    done
    for f in docs/images/*.png; do
        [ -e "$out/$(basename "$f")" ] || { echo "not drawn by any program: $f"; stale=1; }
    done
    [ $stale -eq 0 ] && echo "docs/images: every picture matches the code"
    exit $stale
fi
echo "wrote $(ls "$out"/*.png | wc -l) pictures in $out"
