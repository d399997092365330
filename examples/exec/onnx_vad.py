#!/usr/bin/env python3
"""Recipe: a real model in `exec`, with numpy and onnxruntime.

Runs Silero VAD (PyPI `silero-vad`, MIT) with onnxruntime on 16 kHz f32le
mono audio and prints one JSON line per 32 ms frame whose speech state
changes, plus the probability every 96 ms:

    python3 -m pip install numpy onnxruntime silero-vad==6.2.3
    wav_in(path: "call.wav") -> exec(cmd: ["python3", "examples/exec/onnx_vad.py"], rate: 16kHz, format: f32le) -> events_out(path: "out/vad.jsonl")

Any ONNX model fits the same shape: load it first, read fixed blocks,
keep the state, print a line per result, flush.
"""
import json
import os
import sys

import numpy as np
import onnxruntime
import silero_vad

if os.environ.get("SLUICE_RATE", "16000") != "16000" or os.environ.get("SLUICE_FORMAT") != "f32le":
    sys.exit("onnx_vad.py needs exec(rate: 16kHz, format: f32le)")
model = os.path.join(os.path.dirname(silero_vad.__file__), "data", "silero_vad.onnx")
session = onnxruntime.InferenceSession(model, providers=["CPUExecutionProvider"])
state = np.zeros((2, 1, 128), dtype=np.float32)
context = np.zeros(64, dtype=np.float32)
sr = np.array(16000, dtype=np.int64)
speaking, frame = False, 0
stdin = sys.stdin.buffer
while True:
    data = stdin.read(512 * 4)
    if len(data) < 512 * 4:
        break
    chunk = np.frombuffer(data, "<f4")
    x = np.concatenate([context, chunk])[None, :]
    prob, state = session.run(None, {"input": x, "state": state, "sr": sr})
    context = chunk[-64:]
    p = float(prob[0][0])
    now = p >= 0.5 if not speaking else p >= 0.35
    if now != speaking or frame % 3 == 0:
        print(json.dumps({"speech": round(p, 3), "speaking": now}), flush=True)
    speaking, frame = now, frame + 1
