#!/usr/bin/env bash
# Spatial audio against ffmpeg's sofalizer, same SOFA set (MIT KEMAR), same
# 4 and 16 mono 48 kHz sources of 60 s, one thread each.
#
# ffmpeg: -af amerge=inputs=N,sofalizer=sofa=... to a null sink (it
# resamples to the set's 44.1 kHz first, so it renders fewer samples).
# Sluice: nodes/examples/spatial_rate.rs, the same WAVs loaded, then
# spatialize at 48 kHz (build, i.e. SOFA load and filter transforms, timed
# apart and included in the "including build" figure).
#
# Figures are source-seconds per second: wall clock, and per CPU-second
# (user + sys), which is what to compare on a shared machine.
set -euo pipefail
cd "$(dirname "$0")/../.."
SOFA=${SOFA:-/usr/share/libmysofa/MIT_KEMAR_normal_pinna.sofa}
RUNS=${RUNS:-3}
if ! command -v ffmpeg >/dev/null; then echo "skipped: ffmpeg not installed"; exit 0; fi
if [ ! -f "$SOFA" ]; then echo "skipped: $SOFA missing (apt-get install libmysofa1)"; exit 0; fi
DIR=target/peers/spatial
mkdir -p "$DIR"
for i in $(seq 1 16); do
  [ -f "$DIR/s$i.wav" ] || ffmpeg -v error -f lavfi \
    -i "anoisesrc=d=60:c=pink:r=48000:a=0.3:seed=$i" -ac 1 -c:a pcm_s16le "$DIR/s$i.wav"
done
cargo build -q --release -p sluice-nodes --example spatial_rate
BIN=target/release/examples/spatial_rate

# Prints "wall cpu" seconds of one command (bash's time: real, user + sys).
timed() {
  local TIMEFORMAT='%R %U %S'
  { time "$@" >/dev/null 2>&1; } 2>&1 | awk '{ printf "%s %.3f\n", $1, $2 + $3 }'
}

# Median of RUNS values read from stdin.
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

for n in 4 16; do
  inputs=(); wavs=()
  for i in $(seq 1 "$n"); do inputs+=(-i "$DIR/s$i.wav"); wavs+=("$DIR/s$i.wav"); done
  ff=$(for _ in $(seq "$RUNS"); do
    timed ffmpeg -v error -threads 1 -filter_threads 1 "${inputs[@]}" \
      -filter_complex "amerge=inputs=$n,sofalizer=sofa=$SOFA" -f null -
  done)
  ff_wall=$(echo "$ff" | awk '{ print $1 }' | median)
  ff_cpu=$(echo "$ff" | awk '{ print $2 }' | median)
  echo "ffmpeg sofalizer, $n sources x 60 s: wall ${ff_wall} s, cpu ${ff_cpu} s:" \
    "$(awk -v n="$n" -v w="$ff_wall" -v c="$ff_cpu" \
      'BEGIN { printf "%.0f source-s/s wall, %.0f per CPU-s", n * 60 / w, n * 60 / c }')"
  for hrtf in "$SOFA" builtin; do
    for _ in $(seq "$RUNS"); do
      echo "sluice spatialize ($(basename "$hrtf")), $(taskset -c 0 "$BIN" --hrtf "$hrtf" "${wavs[@]}")"
    done
  done
done
