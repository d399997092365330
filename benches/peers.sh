#!/usr/bin/env bash
# Runs every peer comparison in benches/peers/ in turn (audio mixing against
# sox -m and ffmpeg amix, video conversion and blur against ffmpeg, spatial
# audio against ffmpeg sofalizer), each printing its own ratios.
#
# Needs: sox and ffmpeg (with ffprobe), bc, and a release build of sluice
# (`cargo build --release`; without it the scripts time only the peers).
# The spatial comparison uses /usr/share/libmysofa/MIT_KEMAR_normal_pinna.sofa
# (Debian's libmysofa1). Installs nothing: a script whose tools are missing
# says what it needs and is skipped. Usage: benches/peers.sh
set -uo pipefail
cd "$(dirname "$0")/.."
for tool in sox ffmpeg ffprobe bc; do
    command -v "$tool" >/dev/null 2>&1 || echo "note: $tool not installed (apt-get install $tool); comparisons that need it will say so"
done
[ -x target/release/sluice ] || echo "note: target/release/sluice missing: run cargo build --release first"
failed=0
for script in benches/peers/*.sh; do
    echo "== $script"
    if ! bash "$script"; then
        echo "!! $script failed"
        failed=1
    fi
done
exit $failed
