#!/usr/bin/env python3
"""A level analyser for `exec`: standard library only.

Reads raw mono PCM from standard input (SLUICE_FORMAT s16le or f32le at
SLUICE_RATE) and prints one JSON object per 100 ms on standard output:
its RMS level in dBFS and whether the stream is loud (louder than -30
dBFS), plus an event when a loud stretch starts. Sluice adds "t", "node"
and, for a participant, "id".

    tone -> exec(cmd: ["python3", "examples/exec/levels.py"]) -> events_out(path: "-")
"""
import array
import json
import math
import os
import sys

RATE = int(os.environ.get("SLUICE_RATE", "48000"))
FORMAT = os.environ.get("SLUICE_FORMAT", "s16le")
WHO = os.environ.get("SLUICE_ID", "")
LOUD_DBFS = -30.0

width, code, scale = (4, "f", 1.0) if FORMAT == "f32le" else (2, "h", 1 / 32768)
block = RATE // 10 * width
loud = False
stdin = sys.stdin.buffer
while True:
    data = stdin.read(block)
    if len(data) < width:
        break
    samples = array.array(code, data[: len(data) // width * width])
    if sys.byteorder != "little":
        samples.byteswap()
    mean_square = sum((s * scale) ** 2 for s in samples) / len(samples)
    rms_dbfs = max(-120.0, 10 * math.log10(mean_square) if mean_square > 0 else -120.0)
    now_loud = rms_dbfs > LOUD_DBFS
    out = {"rms_dbfs": round(rms_dbfs, 2), "loud": now_loud}
    if now_loud and not loud:
        out["event"] = "loud_start"
    loud = now_loud
    print(json.dumps(out), flush=True)
print(f"levels.py{' ' + WHO if WHO else ''}: input closed, exiting", file=sys.stderr)
