#!/usr/bin/env bash
# Figures for the speech nodes and exec (release build, one core):
#   denoise: a mix of 32 participants each through denoise, real-time factor
#   vad: Silero per stream (CPU seconds per second of audio per stream)
#   exec: the graph side's CPU per stream (children excluded: `cat > /dev/null`)
#   latency: media into exec to its event out (the stdlib level analyser)
# Run from the repository root: benches/peers/speech.sh
set -euo pipefail
cargo build --release --quiet
S=target/release/sluice
cpu() { # user+sys CPU seconds of the sluice process alone, and its wall time
    /usr/bin/time -f "%U %S %e" "$@" 2>&1 >/dev/null | tail -1 | awk '{printf "cpu %.2f s, wall %.2f s\n", $1+$2, $3}'
}
echo "denoise: 32 participants x 60 s, each denoised, mixed (one core)"
taskset -c 0 $S run -e 'participants(synth: 32) -> denoise -> mix -> null' --duration 60s 2>&1 | tail -1
echo "baseline: the same without denoise"
taskset -c 0 $S run -e 'participants(synth: 32) -> mix -> null' --duration 60s 2>&1 | tail -1
for n in 1 8 32; do
    echo "vad: $n participants x 60 s"
    cpu taskset -c 0 $S run -e "participants(synth: $n) -> vad -> null" --duration 60s
done
for n in 1 8 32; do
    echo "exec: $n participants x 10 s real time, children: cat > /dev/null (graph side only)"
    cpu $S run -e "participants(synth: $n) -> exec(cmd: [\"sh\", \"-c\", \"cat > /dev/null\"]) -> null" --duration 10s --realtime
done
echo "latency: tone -> exec(levels.py) -> events_out, 10 s real time (exec's summary line)"
$S run -e 'tone -> exec(cmd: ["python3", "examples/exec/levels.py"]) -> events_out(path: "-")' --duration 10s --realtime 2>&1 >/dev/null | grep '^exec: '
