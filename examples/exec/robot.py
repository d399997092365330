#!/usr/bin/env python3
"""A voice changer for `exec(returns: audio)`: standard library only.

Reads raw mono PCM from standard input and writes it back ring-modulated
with a 50 Hz sine (the classic robot voice), block by block, in the same
format and rate. Sluice takes the processed audio back into the graph.

    wav_in(path: "me.wav") -> exec(cmd: ["python3", "examples/exec/robot.py"], returns: audio) -> wav_out(path: "out/robot.wav")
"""
import array
import math
import os
import sys

RATE = int(os.environ.get("SLUICE_RATE", "48000"))
FORMAT = os.environ.get("SLUICE_FORMAT", "s16le")
width, code = (4, "f") if FORMAT == "f32le" else (2, "h")
step = 2 * math.pi * 50 / RATE
phase = 0.0
stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
while True:
    data = stdin.read(RATE // 100 * width)
    if len(data) < width:
        break
    samples = array.array(code, data[: len(data) // width * width])
    for i, s in enumerate(samples):
        v = s * math.sin(phase)
        samples[i] = v if code == "f" else int(v)
        phase += step
    phase %= 2 * math.pi
    stdout.write(samples.tobytes())
    stdout.flush()
