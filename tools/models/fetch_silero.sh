#!/usr/bin/env bash
# Vendors Silero VAD v6 for the `vad` node: downloads the PyPI wheel
# silero-vad 6.2.3 (MIT), takes its OpenVINO-exported 16 kHz ONNX model
# (no `If` nodes, so tract can run it), checks its SHA-256 and copies it
# with the licence into ml/models/. Run from anywhere; needs pip and unzip
# (or python3's zipfile).
set -euo pipefail

VERSION=6.2.3
MODEL=silero_vad/data/silero_vad_openvino_16k.onnx
SHA256=7776b81ad1b0350c15d7f1555943b9232eb53e9ca5d989c6d0cea9ebc8664d87

root="$(cd "$(dirname "$0")/../.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

python3 -m pip download --no-deps --only-binary=:all: -d "$work" "silero-vad==$VERSION" >&2
wheel="$(ls "$work"/silero_vad-"$VERSION"-*.whl)"
python3 - "$wheel" "$work" "$MODEL" <<'PY'
import sys, zipfile
wheel, out, model = sys.argv[1:]
with zipfile.ZipFile(wheel) as z:
    z.extract(model, out)
    lic = [n for n in z.namelist() if n.endswith("LICENSE")]
    if not lic:
        sys.exit("no LICENSE in the wheel")
    z.extract(lic[0], out)
    open(out + "/LICENSE.path", "w").write(lic[0])
PY
echo "$SHA256  $work/$MODEL" | sha256sum -c - >&2
mkdir -p "$root/ml/models"
cp "$work/$MODEL" "$root/ml/models/silero_vad_openvino_16k.onnx"
cp "$work/$(cat "$work/LICENSE.path")" "$root/ml/models/LICENSE.silero-vad"
echo "vendored silero-vad $VERSION into ml/models/" >&2
