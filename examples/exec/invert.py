#!/usr/bin/env python3
"""A video filter for `exec(returns: video)`: standard library only.

Reads a Y4M stream (i420) from standard input and writes it back with the
luma inverted (a photographic negative of the brightness; colour kept),
frame by frame. Any filter that reads and writes Y4M works the same way:
an AI model in place of the inversion is a video effect in any language.

    video_test -> exec(cmd: ["python3", "examples/exec/invert.py"], returns: video) -> y4m_out(path: "out/negative.y4m")
"""
import sys

stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
header = stdin.readline()
if not header.startswith(b"YUV4MPEG2 "):
    sys.exit("invert.py: not a Y4M stream")
fields = {f[:1]: f[1:] for f in header.split()[1:]}
width, height = int(fields[b"W"]), int(fields[b"H"])
luma = width * height
chroma = 2 * ((width + 1) // 2) * ((height + 1) // 2)
stdout.write(header)
invert = bytes(255 - v for v in range(256))
while True:
    marker = stdin.readline()
    if not marker.startswith(b"FRAME"):
        break
    y = stdin.read(luma)
    uv = stdin.read(chroma)
    if len(y) < luma or len(uv) < chroma:
        break
    stdout.write(b"FRAME\n")
    stdout.write(y.translate(invert))
    stdout.write(uv)
    stdout.flush()
