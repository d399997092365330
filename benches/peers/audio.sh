#!/usr/bin/env bash
# Peer comparison for mixing: 32 mono 48 kHz 60 s WAVs mixed to one 16-bit
# WAV by `sox -m`, by ffmpeg's `amix=inputs=32:normalize=0`, and (when
# target/release/sluice exists) by `sluice run`, on the same files in the
# same run. Prints the best of $RUNS wall-clock times and the ratios.
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

# best_of CMD...: runs CMD $runs times, prints the fastest wall time in s.
best_of() {
    local best=""
    for _ in $(seq "$runs"); do
        local t0 t1 dt
        t0=$(date +%s.%N)
        "$@" >/dev/null 2>&1
        t1=$(date +%s.%N)
        dt=$(echo "$t1 - $t0" | bc -l)
        if [ -z "$best" ] || [ "$(echo "$dt < $best" | bc -l)" = 1 ]; then best=$dt; fi
    done
    printf '%.3f' "$best"
}

declare -A time
if have sox; then
    sox_args=(-m)
    for f in "${inputs[@]}"; do sox_args+=(-v 1 "$f"); done
    time[sox]=$(best_of sox "${sox_args[@]}" -D "$work/out_sox.wav")
    echo "sox -m                         ${time[sox]} s"
else
    echo "sox -m                         skipped: sox not installed"
fi

if have ffmpeg; then
    ff_args=(-v error -y)
    for f in "${inputs[@]}"; do ff_args+=(-i "$f"); done
    time[ffmpeg]=$(best_of ffmpeg "${ff_args[@]}" -filter_complex "amix=inputs=$streams:normalize=0" \
        -c:a pcm_s16le "$work/out_ffmpeg.wav")
    echo "ffmpeg amix normalize=0        ${time[ffmpeg]} s"
else
    echo "ffmpeg amix                    skipped: ffmpeg not installed"
fi

sluice="$root/target/release/sluice"
if [ -x "$sluice" ]; then
    list=""
    for f in "${inputs[@]}"; do list+="${list:+, }wav_in(path: \"$f\")"; done
    graph="[$list] -> mix(limit: false) -> wav_out(path: \"$work/out_sluice.wav\")"
    time[sluice]=$(best_of "$sluice" run -e "$graph")
    echo "sluice run                     ${time[sluice]} s"
else
    echo "sluice run                     skipped: $sluice missing (cargo build --release)"
fi

ratio() { echo "scale=2; $1 / $2" | bc -l; }
echo "ratios (higher: the second is faster):"
[ -n "${time[sox]:-}" ] && [ -n "${time[ffmpeg]:-}" ] && echo "  ffmpeg / sox:    $(ratio "${time[ffmpeg]}" "${time[sox]}")"
[ -n "${time[sox]:-}" ] && [ -n "${time[sluice]:-}" ] && echo "  sox / sluice:    $(ratio "${time[sox]}" "${time[sluice]}")x"
[ -n "${time[ffmpeg]:-}" ] && [ -n "${time[sluice]:-}" ] && echo "  ffmpeg / sluice: $(ratio "${time[ffmpeg]}" "${time[sluice]}")x"
exit 0
