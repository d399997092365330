#!/usr/bin/env python3
"""Converts MediaPipe's selfie segmentation models (.tflite) to ONNX.

Why: tract (Sluice's pure-Rust inference) cannot read the .tflite files
themselves: their weights are fp16 behind DEQUANTIZE operators, and the
decoder ends in MediaPipe's custom operator `Convolution2DTransposeBias`.
This script reads the flatbuffer, folds every DEQUANTIZE into an fp32
initializer, maps each operator to its ONNX equivalent (NHWC -> NCHW,
opset 17) and the custom operator to ConvTranspose with a bias.

Reproducible: the source is the npm package @mediapipe/selfie_segmentation
at a pinned version (fetched with `npm pack` unless --package-dir is given),
the Python packages are pinned in requirements.txt, and the output carries
no timestamps. Run from the repository root:

    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install -r tools/models/requirements.txt
    /tmp/venv/bin/python tools/models/convert_selfie.py --out ml/models

With --check DIR it runs each converted model on DIR/<name>_in.f32 and
compares with DIR/<name>_ref.f32 (max |diff| must stay below 1e-3).
"""

import argparse
import hashlib
import os
import subprocess
import sys
import tarfile
import tempfile

import numpy as np
import onnx
import tflite
from onnx import TensorProto, helper, numpy_helper

PACKAGE = "@mediapipe/selfie_segmentation"
VERSION = "0.1.1675465747"
MODELS = {
    # ONNX name: (file in the npm package, its sha256, input height, width)
    "selfie_segmentation_landscape": (
        "selfie_segmentation_landscape.tflite",
        "4aafe6223bb8dac6fac8ca8ed56852870a33051ef3f6238822d282a109962894",
        144,
        256,
    ),
    "selfie_segmentation": (
        "selfie_segmentation.tflite",
        "8d13b7fae74af625c641226813616a2117bd6bca19eb3b75574621fc08557f27",
        256,
        256,
    ),
}
OPSET = 17

OPS = {v: k for k, v in tflite.BuiltinOperator.__dict__.items() if not k.startswith("_")}
PADDING = {tflite.Padding.SAME: "SAME", tflite.Padding.VALID: "VALID"}


def fetch_package(workdir):
    """`npm pack` the pinned package into workdir and unpack it."""
    subprocess.run(
        ["npm", "pack", f"{PACKAGE}@{VERSION}"], cwd=workdir, check=True, stdout=subprocess.DEVNULL
    )
    tgz = [f for f in os.listdir(workdir) if f.endswith(".tgz")][0]
    with tarfile.open(os.path.join(workdir, tgz)) as t:
        t.extractall(workdir, filter="data")
    return os.path.join(workdir, "package")


def same_pads(size, kernel, stride, dilation, out):
    """TensorFlow's SAME padding for one axis: (begin, end)."""
    eff = (kernel - 1) * dilation + 1
    total = max((out - 1) * stride + eff - size, 0)
    return total // 2, total - total // 2


class Converter:
    """One tflite subgraph to one ONNX graph, tensor by tensor."""

    def __init__(self, buf):
        self.model = tflite.Model.GetRootAsModel(buf, 0)
        self.graph = self.model.Subgraphs(0)
        self.consts = {}  # tflite tensor index -> numpy array (tflite layout)
        self.names = {}  # tflite tensor index -> ONNX value name (NCHW)
        self.nodes = []
        self.inits = []
        self.used = set()

    def tensor(self, i):
        return self.graph.Tensors(i)

    def shape(self, i):
        return [int(d) for d in self.tensor(i).ShapeAsNumpy()]

    def buffer(self, i):
        t = self.tensor(i)
        data = self.model.Buffers(t.Buffer()).DataAsNumpy()
        if isinstance(data, int) or len(data) == 0:
            return None
        dtype = {
            tflite.TensorType.FLOAT32: np.float32,
            tflite.TensorType.FLOAT16: np.float16,
            tflite.TensorType.INT32: np.int32,
        }[t.Type()]
        return np.frombuffer(data.tobytes(), dtype=dtype).reshape(self.shape(i))

    def const(self, i):
        if i in self.consts:
            return self.consts[i]
        data = self.buffer(i)
        if data is None:
            raise ValueError(f"tensor {self.tensor(i).Name()} has no data")
        return data

    def unique(self, base):
        name, n = base, 1
        while name in self.used:
            name, n = f"{base}_{n}", n + 1
        self.used.add(name)
        return name

    def value(self, i):
        return self.names[i]

    def output(self, i):
        name = self.unique(self.tensor(i).Name().decode().split("/")[-1].split(";")[0] or f"t{i}")
        self.names[i] = name
        return name

    def init(self, base, array):
        name = self.unique(base)
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def activation(self, fused, name):
        """Appends a fused activation after `name`; returns the final name."""
        if fused == tflite.ActivationFunctionType.NONE:
            return name
        if fused == tflite.ActivationFunctionType.RELU:
            out = self.unique(name + "_relu")
            self.nodes.append(helper.make_node("Relu", [name], [out]))
            return out
        if fused == tflite.ActivationFunctionType.RELU6:
            out = self.unique(name + "_relu6")
            lo = self.init(name + "_lo", np.float32(0))
            hi = self.init(name + "_hi", np.float32(6))
            self.nodes.append(helper.make_node("Clip", [name, lo, hi], [out]))
            return out
        raise ValueError(f"fused activation {fused} is not supported")

    def run(self, h, w):
        g = self.graph
        inp = g.Inputs(0)
        self.names[inp] = "input"
        self.used.add("input")
        for k in range(g.OperatorsLength()):
            op = g.Operators(k)
            code = self.model.OperatorCodes(op.OpcodeIndex())
            kind = OPS[max(code.BuiltinCode(), code.DeprecatedBuiltinCode())]
            if kind == "CUSTOM":
                kind = "CUSTOM:" + code.CustomCode().decode()
            handler = getattr(self, "op_" + kind.replace(":", "_"), None)
            if handler is None:
                raise ValueError(f"operator {kind} is not supported")
            handler(op, list(op.InputsAsNumpy()), list(op.OutputsAsNumpy()))
        last = self.nodes[-1]
        last.output[0] = "mask"
        graph = helper.make_graph(
            self.nodes,
            "selfie_segmentation",
            [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, h, w])],
            [helper.make_tensor_value_info("mask", TensorProto.FLOAT, [1, 1, h, w])],
            self.inits,
        )
        model = helper.make_model(
            graph,
            opset_imports=[helper.make_opsetid("", OPSET)],
            producer_name="sluice tools/models/convert_selfie.py",
            producer_version="1",
        )
        model.ir_version = 8
        onnx.checker.check_model(model, full_check=True)
        return model

    # Operators -----------------------------------------------------------

    def op_DEQUANTIZE(self, op, ins, outs):
        self.consts[outs[0]] = self.const(ins[0]).astype(np.float32)

    def conv(self, op, ins, outs, depthwise):
        opts_t = tflite.DepthwiseConv2DOptions if depthwise else tflite.Conv2DOptions
        opts = opts_t()
        t = op.BuiltinOptions()
        opts.Init(t.Bytes, t.Pos)
        wt = self.const(ins[1])  # conv: [O, kh, kw, I]; depthwise: [1, kh, kw, C*m]
        if depthwise:
            weight = wt.transpose(3, 0, 1, 2)  # [C*m, 1, kh, kw]
            group = self.shape(ins[0])[3]
        else:
            weight = wt.transpose(0, 3, 1, 2)  # [O, I, kh, kw]
            group = 1
        kh, kw = weight.shape[2], weight.shape[3]
        sh, sw = opts.StrideH(), opts.StrideW()
        dh, dw = opts.DilationHFactor(), opts.DilationWFactor()
        (_, ih, iw, _), (_, oh, ow, _) = self.shape(ins[0]), self.shape(outs[0])
        if PADDING[opts.Padding()] == "SAME":
            (pt, pb), (pl, pr) = same_pads(ih, kh, sh, dh, oh), same_pads(iw, kw, sw, dw, ow)
        else:
            pt = pb = pl = pr = 0
        name = self.output(outs[0])
        w_name = self.init(name + "_W", weight)
        inputs = [self.value(ins[0]), w_name]
        if len(ins) > 2 and ins[2] >= 0:
            inputs.append(self.init(name + "_B", self.const(ins[2]).astype(np.float32)))
        raw = name if opts.FusedActivationFunction() == 0 else self.unique(name + "_pre")
        self.nodes.append(
            helper.make_node(
                "Conv",
                inputs,
                [raw],
                kernel_shape=[kh, kw],
                strides=[sh, sw],
                dilations=[dh, dw],
                pads=[pt, pl, pb, pr],
                group=group,
            )
        )
        if raw != name:
            final = self.activation(opts.FusedActivationFunction(), raw)
            self.names[outs[0]] = final

    def op_CONV_2D(self, op, ins, outs):
        self.conv(op, ins, outs, depthwise=False)

    def op_DEPTHWISE_CONV_2D(self, op, ins, outs):
        self.conv(op, ins, outs, depthwise=True)

    def unary(self, onnx_op, ins, outs):
        self.nodes.append(helper.make_node(onnx_op, [self.value(ins[0])], [self.output(outs[0])]))

    def op_RELU(self, op, ins, outs):
        self.unary("Relu", ins, outs)

    def op_HARD_SWISH(self, op, ins, outs):
        self.unary("HardSwish", ins, outs)

    def op_LOGISTIC(self, op, ins, outs):
        self.unary("Sigmoid", ins, outs)

    def binary(self, onnx_op, options, op, ins, outs):
        opts = options()
        t = op.BuiltinOptions()
        if t is not None:
            opts.Init(t.Bytes, t.Pos)
            fused = opts.FusedActivationFunction()
        else:
            fused = tflite.ActivationFunctionType.NONE
        for i in ins:
            if i not in self.names:
                raise ValueError(f"{onnx_op} with a constant operand is not supported")
        name = self.output(outs[0])
        raw = name if fused == 0 else self.unique(name + "_pre")
        self.nodes.append(helper.make_node(onnx_op, [self.value(i) for i in ins], [raw]))
        if raw != name:
            self.names[outs[0]] = self.activation(fused, raw)

    def op_ADD(self, op, ins, outs):
        self.binary("Add", tflite.AddOptions, op, ins, outs)

    def op_MUL(self, op, ins, outs):
        self.binary("Mul", tflite.MulOptions, op, ins, outs)

    def global_pool(self, ins, outs):
        shape = self.shape(outs[0])
        if shape[1] != 1 or shape[2] != 1:
            raise ValueError("only global spatial pooling is supported")
        self.unary("GlobalAveragePool", ins, outs)

    def op_MEAN(self, op, ins, outs):
        axes = sorted(int(a) for a in self.const(ins[1]).ravel())
        if axes != [1, 2]:
            raise ValueError(f"MEAN over axes {axes} is not supported")
        self.global_pool(ins, outs)

    def op_AVERAGE_POOL_2D(self, op, ins, outs):
        self.global_pool(ins, outs)

    def op_RESIZE_BILINEAR(self, op, ins, outs):
        opts = tflite.ResizeBilinearOptions()
        t = op.BuiltinOptions()
        opts.Init(t.Bytes, t.Pos)
        if opts.AlignCorners():
            mode = "align_corners"
        elif opts.HalfPixelCenters():
            mode = "half_pixel"
        else:
            mode = "asymmetric"
        n, h, w, c = self.shape(outs[0])
        name = self.output(outs[0])
        sizes = self.init(name + "_sizes", np.array([n, c, h, w], dtype=np.int64))
        self.nodes.append(
            helper.make_node(
                "Resize",
                [self.value(ins[0]), "", "", sizes],
                [name],
                mode="linear",
                coordinate_transformation_mode=mode,
            )
        )

    def op_CUSTOM_Convolution2DTransposeBias(self, op, ins, outs):
        # Options: TfLiteTransposeConvParams {padding, stride_w, stride_h}.
        padding, sw, sh = np.frombuffer(op.CustomOptionsAsNumpy().tobytes(), dtype=np.int32)[:3]
        wt = self.const(ins[1])  # [O, kh, kw, I]
        weight = wt.transpose(3, 0, 1, 2)  # ONNX ConvTranspose: [I, O, kh, kw]
        kh, kw = weight.shape[2], weight.shape[3]
        (_, ih, iw, _), (_, oh, ow, _) = self.shape(ins[0]), self.shape(outs[0])
        if padding == 1:  # kTfLitePaddingSame
            tot_h = max((ih - 1) * sh + kh - oh, 0)
            tot_w = max((iw - 1) * sw + kw - ow, 0)
            pads = [tot_h // 2, tot_w // 2, tot_h - tot_h // 2, tot_w - tot_w // 2]
        elif padding == 2:  # kTfLitePaddingValid
            pads = [0, 0, 0, 0]
        else:
            raise ValueError(f"transpose convolution padding {padding} is not supported")
        name = self.output(outs[0])
        inputs = [
            self.value(ins[0]),
            self.init(name + "_W", weight),
            self.init(name + "_B", self.const(ins[2]).astype(np.float32)),
        ]
        self.nodes.append(
            helper.make_node(
                "ConvTranspose",
                inputs,
                [name],
                kernel_shape=[kh, kw],
                strides=[int(sh), int(sw)],
                pads=pads,
                output_shape=[oh, ow],
            )
        )


def convert(tflite_path, h, w):
    with open(tflite_path, "rb") as f:
        buf = f.read()
    return Converter(buf).run(h, w)


def check(onnx_path, name, ref_dir):
    import onnxruntime as ort

    sess = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
    shape = sess.get_inputs()[0].shape
    x = np.fromfile(os.path.join(ref_dir, f"{name}_in.f32"), dtype="<f4").reshape(shape)
    ref = np.fromfile(os.path.join(ref_dir, f"{name}_ref.f32"), dtype="<f4")
    (y,) = sess.run(None, {"input": x})
    diff = float(np.abs(y.ravel() - ref).max())
    print(f"{name}: max |diff| against {ref_dir} = {diff:.3g}")
    return diff < 1e-3


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, help="folder for the .onnx files")
    ap.add_argument("--package-dir", help="an unpacked npm package (skips npm pack)")
    ap.add_argument("--check", help="folder of <name>_in.f32 / <name>_ref.f32 pairs")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        pkg = args.package_dir or fetch_package(tmp)
        os.makedirs(args.out, exist_ok=True)
        ok = True
        for name, (file, want, h, w) in MODELS.items():
            src = os.path.join(pkg, file)
            with open(src, "rb") as f:
                src_hash = hashlib.sha256(f.read()).hexdigest()
            if src_hash != want:
                sys.exit(f"{file}: sha256 {src_hash}, expected {want}")
            model = convert(src, h, w)
            path = os.path.join(args.out, name + ".onnx")
            onnx.save(model, path)
            with open(path, "rb") as f:
                out_hash = hashlib.sha256(f.read()).hexdigest()
            print(f"{file} sha256 {src_hash}\n  -> {path} sha256 {out_hash}")
            if args.check:
                ok &= check(path, name, args.check)
        if not ok:
            sys.exit("a converted model does not match its reference")


if __name__ == "__main__":
    main()
