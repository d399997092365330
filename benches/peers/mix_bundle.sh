#!/usr/bin/env bash
# The conference user's mix through the command line: 32 mono 48 kHz 60 s
# WAVs mixed to one WAV, whole processes, pinned to one core, taking turns
# (A B C A B C ...), medians of user+sys CPU and of wall time:
#   bundle:  participants(path: "DIR/p*.wav") -> mix -> wav_out
#   wav_in:  the same files as 32 wav_in nodes -> mix -> wav_out
#   sox:     sox -m of the 32 files
# Prints each median and the ratios bundle/wav_in and sox/bundle.
#
# Needs: sox, bc, taskset, target/release/sluice (cargo build --release
# --bin sluice). Installs nothing.
# Usage: benches/peers/mix_bundle.sh [workdir]  (RUNS=5, CORE=1; CORE=none
# runs unpinned)
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
work=${1:-${TMPDIR:-/tmp}/sluice-mix-bundle}
runs=${RUNS:-5}
core=${CORE:-1}
streams=32
seconds=60

for tool in sox bc taskset; do
    command -v "$tool" >/dev/null 2>&1 || { echo "needs $tool (apt-get install $tool)" >&2; exit 1; }
done
sluice="$root/target/release/sluice"
[ -x "$sluice" ] || { echo "needs $sluice (cargo build --release --bin sluice)" >&2; exit 1; }

mkdir -p "$work"
echo "media: $streams mono 48 kHz ${seconds} s 16-bit WAVs in $work"
for i in $(seq -w 1 $streams); do
    f="$work/p$i.wav"
    [ -s "$f" ] && continue
    freq=$((100 + 10#$i * 37))
    sox -R -n -r 48000 -c 1 -b 16 "$f" synth $seconds sine $freq vol 0.03
done
inputs=("$work"/p*.wav)

list=""
for f in "${inputs[@]}"; do list+="${list:+, }wav_in(path: \"$f\")"; done
declare -A cmd
cmd[bundle]="$sluice run -e 'participants(path: \"$work/p*.wav\") -> mix(limit: false) -> wav_out(path: \"$work/out_bundle.wav\")'"
cmd[wav_in]="$sluice run -e '[$list] -> mix(limit: false) -> wav_out(path: \"$work/out_wav_in.wav\")'"
sox_args=(-m)
for f in "${inputs[@]}"; do sox_args+=(-v 1 "$f"); done
cmd[sox]="sox ${sox_args[*]} -D $work/out_sox.wav"

# time_once NAME: one pinned run; appends "wall cpu" to $work/NAME.times.
time_once() {
    local TIMEFORMAT='%R %U %S' out r u s
    out=$( { time "${pin[@]}" bash -c "${cmd[$1]}" >/dev/null 2>"$work/$1.err"; } 2>&1 ) || {
        echo "$1 failed:" >&2
        cat "$work/$1.err" >&2
        exit 1
    }
    read -r r u s <<<"$out"
    echo "$r $(echo "$u + $s" | bc -l)" >>"$work/$1.times"
}

# median COLUMN NAME: the median of one column of NAME's times.
median() {
    cut -d' ' -f"$1" "$work/$2.times" | sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'
}

pin=(taskset -c "$core")
where="pinned to core $core"
if [ "$core" = none ]; then pin=(env); where="unpinned"; fi

order=(bundle wav_in sox)
for name in "${order[@]}"; do rm -f "$work/$name.times"; done
echo "load before: $(uptime | sed 's/.*load average/load average/')"
for _ in $(seq "$runs"); do
    for name in "${order[@]}"; do time_once "$name"; done
done
echo "load after: $(uptime | sed 's/.*load average/load average/')"

printf '%-8s %10s %10s   (medians of %d, %s)\n' tool "wall s" "cpu s" "$runs" "$where"
for name in "${order[@]}"; do
    printf '%-8s %10.3f %10.3f\n' "$name" "$(median 1 "$name")" "$(median 2 "$name")"
done
ratio() { echo "scale=3; $(median "$1" "$2") / $(median "$1" "$3")" | bc -l; }
echo "bundle/wav_in: wall $(ratio 1 bundle wav_in)x, cpu $(ratio 2 bundle wav_in)x"
echo "sox/bundle:    wall $(ratio 1 sox bundle)x, cpu $(ratio 2 sox bundle)x"
