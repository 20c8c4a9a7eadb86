"""int8 post-training quantisation of the OpenVINO network with accuracy control (NNCF).

    python -m ml.core.openvino_int8 --out ml/.cache/openvino/int8-trunk.xml

* calibration and validation images come from the TRAINING images only: every image under ``--data``
  that is not in the artifact's ``heldout_test.csv`` (the held-out split stays for the benchmark);
* the metric is top-1 agreement with the float32 network on the validation images;
  ``nncf.quantize_with_accuracy_control`` reverts the layers that cost most agreement to float until it
  drops by at most ``--max-drop``;
* only the trunk (blocks 1-4) is quantised: block 5 and the head stay float32, as in the shipped path.

The IR goes to ``--out`` (``ml/.cache/`` is git-ignored); ``bench/inference.py --int8 OUT`` measures it
on the held-out split. NNCF is a development dependency (``requirements-dev.txt``); the worker needs none.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from .artifact import SHIPPED_MODEL_DIR

ROOT = Path(__file__).resolve().parents[2]


def training_samples(model_dir: Path, data_dirs, n: int, size: int, seed: int = 13) -> list:
    from . import data
    from .preprocess import preprocess

    items = []
    for d in data_dirs:
        if Path(d).is_dir():
            items += data.collect_negatives(d) if "nonface" in str(d) else data.collect(d)
    held_csv = model_dir / "heldout_test.csv"
    held = {str(it.path) for it in data.filter_items(items, held_csv)} if held_csv.exists() else set()
    train = [it for it in items if str(it.path) not in held]
    if not train:
        raise SystemExit("no training images: pass --data")
    pick = np.random.default_rng(seed).choice(len(train), min(n, len(train)), replace=False)
    return [preprocess(train[i].path, size=size) for i in pick]


def quantize(trunk, top, calib: np.ndarray, val: np.ndarray, max_drop: float = 0.002, log=print, label_fn=None):
    """int8 trunk (``openvino.Model``, blocks 1-4) from the float one; block 5 and the head (``top``) stay
    float32, as in the shipped path. ``calib`` / ``val``: uint8 crops (N, S, S, 3). The metric is the share
    of validation images whose ``label_fn(logits, i)`` (default: the top-1 output) equals float32's."""
    import nncf
    import openvino as ov
    import openvino.properties.hint as hints

    core = ov.Core()
    f32 = {hints.inference_precision: ov.Type.f32}
    trunk32 = core.compile_model(trunk, "CPU", f32).create_infer_request()
    top32 = core.compile_model(top, "CPU", f32).create_infer_request()

    label_fn = label_fn or (lambda logits, _i: int(np.argmax(logits)))

    def label(block4, i):
        feeds = {"block4": np.asarray(block4)}
        if any(port.any_name == "skin_weights" for port in top.inputs):  # a skin-pooling head: the whole crop
            feeds["skin_weights"] = np.ones((len(feeds["block4"]), 1, *feeds["block4"].shape[2:]), np.float32)
        return label_fn(np.array(top32.infer(feeds)["logits"][0]), i)

    ref = [label(trunk32.infer(val[i : i + 1])["block4"], i) for i in range(len(val))]
    log(f"float32 references for {len(val)} validation images")

    def validate(compiled, items):
        r = compiled.create_infer_request()
        out = compiled.output("block4")
        per = [float(label(r.infer(x)[out], i) == y) for i, (x, y) in enumerate(items)]
        return float(np.mean(per)), per

    t = time.time()
    q = nncf.quantize_with_accuracy_control(
        trunk,
        nncf.Dataset([calib[i : i + 1] for i in range(len(calib))]),
        nncf.Dataset([(val[i : i + 1], ref[i]) for i in range(len(val))]),
        validation_fn=validate,
        max_drop=max_drop,
        drop_type=nncf.DropType.ABSOLUTE,
        preset=nncf.QuantizationPreset.PERFORMANCE,
        subset_size=len(calib),
        fast_bias_correction=False,
    )
    log(f"quantised with accuracy control in {time.time() - t:.0f} s")
    return q


def recipe_from_model(q) -> dict[str, np.ndarray]:
    """What NNCF changed in the trunk, small enough to commit: per layer the int8 weight scales (per output
    channel) and range, the activation quantisers and the corrected biases. ``openvino_net.build_model(...,
    int8=recipe)`` rebuilds the int8 network from it and the float weights."""
    from .openvino_net import FQ_PARTS

    def src(node, i):
        return node.input(i).get_source_output().get_node()

    out: dict[str, np.ndarray] = {}
    for op in q.get_ordered_ops():
        kind, name = op.get_type_name(), op.get_friendly_name()
        if kind == "FakeQuantize":
            producer = src(op, 0)
            key = "preprocess" if producer.get_type_name() == "Subtract" else producer.get_friendly_name()
            for i, part in enumerate(FQ_PARTS, start=1):
                out[f"fq/{key}/{part}"] = np.asarray(src(op, i).get_data(), np.float32)
            out[f"fq/{key}/levels"] = np.asarray(op.get_attributes()["levels"])
        elif kind == "Convolution" and src(op, 1).get_type_name() == "Multiply":
            mul = src(op, 1)
            wq = src(src(mul, 0), 0).get_data()
            out[f"w/{name}/scale"] = np.asarray(src(mul, 1).get_data(), np.float32).reshape(-1)
            out[f"w/{name}/qmax"] = np.asarray(int(np.abs(wq).max()))  # 127, or 63 where NNCF fixes overflow
        elif kind == "Add" and src(op, 0).get_type_name() == "Convolution":
            out[f"b/{src(op, 0).get_friendly_name()}"] = np.asarray(src(op, 1).get_data(), np.float32).reshape(-1)
    return out


def with_meta(recipe: dict, base_id: str, metric: str, args) -> dict:
    """The recipe with what it was made from (the base it belongs to, how it was calibrated)."""
    quantised = sorted(k.split("/")[1] for k in recipe if k.startswith("w/") and k.endswith("/scale"))
    return {
        **recipe,
        "meta/base_weights_id": np.asarray(base_id),
        "meta/quantised_layers": np.asarray(" ".join(quantised)),
        "meta/made_by": np.asarray(
            f"nncf {_nncf_version()} quantize_with_accuracy_control, {args.calib} calibration and {args.val} "
            f"validation images drawn from the training images (seed 13; not the held-out split), metric {metric}"
        ),
    }


def _nncf_version() -> str:
    import nncf

    return nncf.__version__


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=str(SHIPPED_MODEL_DIR))
    ap.add_argument("--data", action="append", default=None, help="skin4 and nonface folders")
    ap.add_argument("--out", default=str(ROOT / "ml" / ".cache" / "openvino" / "int8-trunk.xml"))
    ap.add_argument("--calib", type=int, default=300)
    ap.add_argument("--val", type=int, default=500)
    ap.add_argument("--max-drop", type=float, default=0.002)
    ap.add_argument(
        "--metric", choices=("top1", "final"), default="top1", help="agreement of the top-1 output or the final label"
    )
    args = ap.parse_args(argv)

    import openvino as ov

    from . import artifact, openvino_net
    from .model import load_base_weights

    model_dir = Path(args.model)
    meta, trained, _ = artifact.load(model_dir)
    size = int(meta["input_size"])
    n_out = len(meta["classes"]) + (1 if meta.get("reject_class") else 0)
    base, base_id = load_base_weights(None)
    trunk = openvino_net.build_model(size, base, trained, n_out, part="trunk")
    top = openvino_net.build_model(size, base, trained, n_out, part="top", kinds=meta.get("head_inputs"))
    dirs = args.data or [str(ROOT.parent / "shared/data/skin4"), str(ROOT.parent / "shared/data/nonface")]
    pres = training_samples(model_dir, dirs, args.calib + args.val, size)
    crops = np.stack([p.crop for p in pres])
    print(f"{len(crops)} training images preprocessed", flush=True)
    calib, val = crops[: args.calib], crops[args.calib :]
    label_fn = None
    if args.metric == "final":  # the label people see: calibration, abstentions and the margin rule included
        from . import calibration, decision

        classes, thresholds = list(meta["classes"]), {**decision.default_thresholds(), **meta["thresholds"]}
        signals = [decision.signals(p) for p in pres[args.calib :]]

        def label_fn(logits, i):
            cond, reject = calibration.split_scores(
                logits[None].astype(np.float64), len(classes), meta["temperature"], meta.get("reject_temperature", 1.0)
            )
            return decision.decide(list(cond[0]), classes, signals[i], float(reject[0]), thresholds)[0]

    q = quantize(trunk, top, calib, val, args.max_drop, log=lambda m: print(m, flush=True), label_fn=label_fn)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    ov.save_model(q, args.out, compress_to_fp16=False)
    recipe = Path(args.out).with_suffix(".npz")
    np.savez(recipe, **with_meta(recipe_from_model(q), base_id, f"{args.metric}, max drop {args.max_drop}", args))
    print(f"int8 IR written to {args.out}, its recipe to {recipe}")


if __name__ == "__main__":
    sys.exit(main())
