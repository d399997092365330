#!/usr/bin/env bash
# Peer comparison for mixing: 32 mono 48 kHz 60 s WAVs mixed to one 16-bit
# WAV by `sox -m`, by ffmpeg's `amix=inputs=32:normalize=0`, and (when
# target/release/sluice exists) by `sluice run`, on the same files in the
# same run, taking turns. Prints the best of $RUNS wall-clock and CPU times,
# the load average, and the ratios.
#
# Needs: sox or ffmpeg to make the media (both to time both peers), bc.
# Installs nothing. Usage: benches/peers/audio.sh [workdir]  (RUNS=3)
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
work=${1:-${TMPDIR:-/tmp}/sluice-peers-audio}
runs=${RUNS:-3}
streams=32
seconds=60

have() { command -v "$1" >/dev/null 2>&1; }
if ! have sox && ! have ffmpeg; then
    echo "needs sox or ffmpeg to make the media (apt-get install sox ffmpeg); nothing installed" >&2
    exit 1
fi
have bc || { echo "needs bc (apt-get install bc)" >&2; exit 1; }

mkdir -p "$work"
echo "media: $streams mono 48 kHz ${seconds} s 16-bit WAVs in $work"
for i in $(seq -w 1 $streams); do
    f="$work/p$i.wav"
    [ -s "$f" ] && continue
    freq=$((100 + 10#$i * 37))
    if have sox; then
        sox -R -n -r 48000 -c 1 -b 16 "$f" synth $seconds sine $freq synth $seconds whitenoise amod 0.3 vol 0.03
    else
        ffmpeg -v error -f lavfi -i "sine=frequency=$freq:duration=$seconds:sample_rate=48000" \
            -af volume=0.03 -ac 1 -c:a pcm_s16le "$f"
    fi
done
inputs=("$work"/p*.wav)

# time_once CMD...: one run of CMD; prints its wall and CPU (user + system)
# times in seconds.
time_once() {
    local TIMEFORMAT='%R %U %S' out r u s
    out=$( { time "$@" >/dev/null 2>&1; } 2>&1 )
    read -r r u s <<<"$out"
    echo "$r $(echo "$u + $s" | bc -l)"
}

declare -A cmd
if have sox; then
    sox_args=(-m)
    for f in "${inputs[@]}"; do sox_args+=(-v 1 "$f"); done
    cmd[sox]="sox ${sox_args[*]@Q} -D ${work@Q}/out_sox.wav"
else
    echo "sox -m: skipped, sox not installed"
fi
if have ffmpeg; then
    ff_args=(-v error -y)
    for f in "${inputs[@]}"; do ff_args+=(-i "$f"); done
    cmd[ffmpeg]="ffmpeg ${ff_args[*]@Q} -filter_complex amix=inputs=$streams:normalize=0 -c:a pcm_s16le ${work@Q}/out_ffmpeg.wav"
else
    echo "ffmpeg amix: skipped, ffmpeg not installed"
fi
sluice="$root/target/release/sluice"
if [ -x "$sluice" ]; then
    list=""
    for f in "${inputs[@]}"; do list+="${list:+, }wav_in(path: \"$f\")"; done
    graph="[$list] -> mix(limit: false) -> wav_out(path: \"$work/out_sluice.wav\")"
    cmd[sluice]="${sluice@Q} run -e ${graph@Q}"
else
    echo "sluice run: skipped, $sluice missing (cargo build --release)"
fi

# The tools take turns within each round, so a change in the machine's load
# (other jobs) falls on all of them alike; the best of $runs is kept.
declare -A wall cpu
echo "load before: $(uptime | sed 's/.*load average/load average/')"
for _ in $(seq "$runs"); do
    for tool in sox ffmpeg sluice; do
        [ -n "${cmd[$tool]:-}" ] || continue
        read -r w c <<<"$(time_once bash -c "${cmd[$tool]}")"
        if [ -z "${wall[$tool]:-}" ] || [ "$(echo "$w < ${wall[$tool]}" | bc -l)" = 1 ]; then wall[$tool]=$w; fi
        if [ -z "${cpu[$tool]:-}" ] || [ "$(echo "$c < ${cpu[$tool]}" | bc -l)" = 1 ]; then cpu[$tool]=$c; fi
    done
done
echo "load after:  $(uptime | sed 's/.*load average/load average/')"
printf '%-26s %8s %8s\n' "best of $runs" "wall s" "CPU s"
for tool in sox ffmpeg sluice; do
    [ -n "${wall[$tool]:-}" ] || continue
    case $tool in
        sox) label="sox -m" ;;
        ffmpeg) label="ffmpeg amix normalize=0" ;;
        sluice) label="sluice run" ;;
    esac
    printf '%-26s %8.3f %8.3f\n' "$label" "${wall[$tool]}" "${cpu[$tool]}"
done

ratio() { echo "scale=2; $1 / $2" | bc -l; }
echo "ratios (wall, CPU; higher: the second is faster):"
for pair in "ffmpeg sox" "sox sluice" "ffmpeg sluice"; do
    read -r a b <<<"$pair"
    [ -n "${wall[$a]:-}" ] && [ -n "${wall[$b]:-}" ] || continue
    printf '  %-16s %6sx %6sx\n' "$a / $b:" "$(ratio "${wall[$a]}" "${wall[$b]}")" "$(ratio "${cpu[$a]}" "${cpu[$b]}")"
done
exit 0
