"""Inference benchmark: every candidate network path side by side, against plain fp32 Keras ``predict``.

Usage: python bench/inference.py [--model ml/artifacts/<name>] [--data DIR] [--list CSV] [--n N]
                                 [--int8 IR.xml] [--paths a,b,...]

Paths (all on the same preprocessed uint8 crops, timings interleaved so machine load hits them alike):

* ``keras-fp32``: the whole classifier as one float32 Keras model on Keras' float32 VGG16 file
  (``../shared/models/vgg16_imagenet_notop.h5`` or ``--weights``), called with ``predict`` (the baseline);
* ``tf-fp32``: the same model as a compiled tf.function (the agreement reference: same float32 maths);
* ``tf-bf16``: the Predictor on TensorFlow (blocks 1-4 bfloat16 where the CPU has it, block 5 and head float32);
* ``ov-fp32`` / ``ov-bf16`` / ``ov-mixed``: the OpenVINO network (``ml/core/openvino_net.py``) all float32, all
  bf16, and bf16 blocks 1-4 with float32 block 5 and head (what the Predictor runs where the CPU has bf16);
* ``ov-int8``: blocks 1-4 int8 (the committed recipe ``ml/core/openvino_int8_trunk.npz``, or ``--int8``, made by
  ``python -m ml.core.openvino_int8``) + float32 block 5 and head.

For each: single-image p50/p95 (ms), batch-16 throughput (img/s), its share of the precision's compute
ceiling on this CPU, top-1 agreement with the float32 reference and final-label agreement (with abstentions)
on the whole held-out split (the artifact's ``heldout_test.csv``; ``--n`` limits it), and the held-out
accuracy / macro-F1 of the final labels. Every figure line carries the CPU model, its bf16/int8/AMX flags and
the load average. The last line reads ``speedup=<keras-fp32 p50 / shipped p50> agreement=<shipped top-1>``.
The scan stages (decode, face, quality, network, heatmap, write) are in ``bench/scan_stages.py``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from machine import cpu_summary, cpu_tag  # noqa: E402

from ml.core.artifact import SHIPPED_MODEL_DIR  # noqa: E402

#: Compute ceilings of VGG16 at 224 px (15.35 GMAC per image) on the 2-core AMD EPYC Zen 4 (AVX-512 on
#: 256-bit units: 16 fp32 / 32 bf16 (VDPBF16PS) / 64 int8 (VNNI) MAC per cycle and core) this bench was
#: written on (issue 13). Scaled by the thread count and the input size; ``--ceilings`` overrides.
CEILING_MS_2_THREADS = {"fp32": 140.0, "bf16": 68.0, "int8": 35.0}


def vgg16_gmac(size: int = 224, blocks=(1, 2, 3, 4, 5)) -> float:
    from ml.core.model import VGG_BLOCKS

    total, cin = 0, 3
    for b, (cout, n) in enumerate(VGG_BLOCKS, start=1):
        for _ in range(n):
            if b in blocks:
                total += size * size * 9 * cin * cout
            cin = cout
        size //= 2
    return total / 1e9


def _p(ts, q):
    return float(np.percentile(np.array(ts) * 1000, q))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=str(SHIPPED_MODEL_DIR))
    ap.add_argument(
        "--weights",
        default=str(ROOT.parent / "shared/models/vgg16_imagenet_notop.h5"),
        help="the float32 reference base (Keras .h5)",
    )
    ap.add_argument("--data", action="append", default=None, help="skin4 and nonface folders")
    ap.add_argument("--list", default=None, help="CSV with a path column (default: the model's heldout_test.csv)")
    ap.add_argument("--n", type=int, default=0, help="limit the agreement check to N images (0: all)")
    ap.add_argument("--runs", type=int, default=10, help="single-image timing runs per path and round")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved timing rounds")
    ap.add_argument("--batches", type=int, default=2, help="batch-16 runs per path and round")
    ap.add_argument(
        "--int8", default=None, help="int8 recipe (.npz) or IR (.xml) from ml.core.openvino_int8 (default: committed)"
    )
    ap.add_argument("--paths", default="", help="comma-separated subset of the paths (default: all)")
    ap.add_argument("--ceilings", default="", help="fp32,bf16,int8 ceilings in ms (default: this CPU's)")
    args = ap.parse_args(argv)

    import tensorflow as tf

    from ml.core import artifact, calibration, data, decision, metrics, openvino_net
    from ml.core.inference import Predictor, choose_runtime
    from ml.core.model import build_full_model, load_base_weights
    from ml.core.preprocess import preprocess, vgg_input

    print(cpu_summary())
    model_dir = Path(args.model)
    meta, trained, extra = artifact.load(model_dir)
    classes = list(meta["classes"])
    n_cond, size = len(classes), int(meta["input_size"])
    n_out = n_cond + (1 if meta.get("reject_class") else 0)
    ref_weights = args.weights if Path(args.weights).exists() else None
    base32, _id = load_base_weights(ref_weights)
    kinds = meta.get("head_inputs")
    ref = build_full_model(size, n_out, base32, trained, dtype="float32", kinds=kinds)
    ref_fn = tf.function(lambda x: ref(x, training=False), reduce_retracing=True, autograph=False)

    def ref_input(b, w):  # the reference Keras model's input: the VGG input, and the skin weights where it pools them
        return vgg_input(b) if len(ref.inputs) == 1 else [vgg_input(b), w[..., None]]

    shipped = choose_runtime()
    print(f"model {model_dir.name}; reference base: {ref_weights or 'the committed float16 file'}")

    # name -> ((trunk precision, block-5 + head precision), fn(uint8 crops, skin weights) -> logits); and each
    # path's fn(crops, weights) -> NetOutput for the final labels (the distance check reads block 5)
    paths: dict[str, tuple[tuple[str, str], object]] = {}
    outputs: dict[str, object] = {}
    paths["keras-fp32"] = (("fp32", "fp32"), lambda b, w: ref.predict(ref_input(b, w), verbose=0, batch_size=16))
    paths["tf-fp32"] = (("fp32", "fp32"), lambda b, w: ref_fn(ref_input(b, w)).numpy())
    tf32_pred = Predictor(model_dir, runtime="tensorflow", fast=False, base_weights_path=ref_weights)
    outputs["keras-fp32"] = outputs["tf-fp32"] = tf32_pred.network
    tf_pred = Predictor(model_dir, runtime="tensorflow")
    tf_prec = ("bf16" if "bfloat16" in tf_pred.precision else "fp32", "fp32")
    paths["tf-bf16"] = (tf_prec, lambda b, w: tf_pred.network(b, w).logits)
    outputs["tf-bf16"] = tf_pred.network
    if openvino_net.available():
        base16, base_id = load_base_weights(None)
        for name, prec, parts in (
            ("ov-fp32", "f32", ("fp32", "fp32")),
            ("ov-bf16", "bf16", ("bf16", "bf16")),
            ("ov-mixed", "mixed", ("bf16", "fp32")),
        ):
            net = openvino_net.OpenVINONet.for_artifact(size, base16, trained, n_out, precision=prec, kinds=kinds)
            if net.precision == "f32":
                parts = ("fp32", "fp32")
            paths[name] = (parts, (lambda n: lambda b, w: n(b, w).logits)(net))
            outputs[name] = net
        recipe = openvino_net.int8_recipe(base_id) if not args.int8 else None
        if args.int8 and args.int8.endswith(".npz"):
            recipe = dict(np.load(args.int8))
        if recipe is not None or args.int8:
            if recipe is not None:
                trunk8 = openvino_net.build_model(size, base16, trained, n_out, part="trunk", int8=recipe)
            else:
                import openvino as ov

                trunk8 = ov.Core().read_model(args.int8)
            top = openvino_net.build_model(size, base16, trained, n_out, part="top", kinds=kinds)
            net8 = openvino_net.OpenVINONet([(trunk8, "int8"), (top, "f32")])
            paths["ov-int8"] = (("int8", "fp32"), lambda b, w: net8(b, w).logits)
            outputs["ov-int8"] = net8
    if args.paths:
        keep = set(args.paths.split(",")) | {"keras-fp32", "tf-fp32"}
        paths = {k: v for k, v in paths.items() if k in keep}
    shipped_precision = openvino_net.choose_precision(None, base_id) if shipped == "openvino" else ""
    shipped_path = {"tensorflow": "tf-bf16", "openvino": f"ov-{shipped_precision}"}[shipped]
    shipped_path = {"ov-f32": "ov-fp32"}.get(shipped_path, shipped_path)
    if shipped_path not in paths:
        shipped_path = "tf-bf16"
    print(f"shipped path (FACEDIAG_INFERENCE_RUNTIME / default): {shipped} -> {shipped_path}")

    threads = os.cpu_count() or 2
    total, block5 = vgg16_gmac(size), vgg16_gmac(size, blocks=[5])
    # the ceilings were measured for a 224 px image: scale them by this input's work (320 px: 2.04x)
    ceiling = {k: v * 2 / threads * total / vgg16_gmac(224) for k, v in CEILING_MS_2_THREADS.items()}
    if args.ceilings:
        ceiling = dict(zip(("fp32", "bf16", "int8"), map(float, args.ceilings.split(",")), strict=True))

    def ceiling_ms(parts):
        """Ceiling of a path that runs blocks 1-4 in parts[0] and block 5 (+ the negligible head) in parts[1]."""
        return ((total - block5) * ceiling[parts[0]] + block5 * ceiling[parts[1]]) / total

    print(
        f"VGG16 at {size} px: {total:.2f} GMAC/image (block 5: {block5:.2f}); ceilings "
        + ("(--ceilings): " if args.ceilings else "at Zen 4 rates (another CPU's differ; --ceilings sets them): ")
        + ", ".join(f"{k} {v:.0f} ms" for k, v in ceiling.items())
        + f"; bf16 blocks 1-4 + fp32 block 5: {ceiling_ms(('bf16', 'fp32')):.0f} ms"
        + f"; int8 blocks 1-4 + fp32 block 5: {ceiling_ms(('int8', 'fp32')):.0f} ms"
    )

    # the held-out split
    data_dirs = args.data or [str(ROOT.parent / "shared/data/skin4")]
    negatives = [d for d in (args.data or [str(ROOT.parent / "shared/data/nonface")]) if "nonface" in d]
    items = []
    for d in data_dirs:
        if Path(d).is_dir() and "nonface" not in d:
            items += data.collect(d)
    for d in negatives:
        if Path(d).is_dir():
            items += data.collect_negatives(d)
    list_csv = args.list or (model_dir / "heldout_test.csv")
    if items and Path(list_csv).exists():
        items = data.filter_items(items, list_csv) or items
    if args.n and len(items) > args.n:
        items = [items[i] for i in np.random.default_rng(0).choice(len(items), args.n, replace=False)]
    if not items:
        sys.exit("no images: pass --data")
    pres = [preprocess(it.path, size=size) for it in items]
    crops = np.stack([p.crop for p in pres])
    skin_weights = tf32_pred.skin_weights(pres)
    if skin_weights is None:
        skin_weights = np.ones((len(pres), size // 16, size // 16), np.float32)
    print(f"{len(crops)} held-out images")

    # timing: warm-up, then interleaved rounds
    for _name, (_prec, fn) in paths.items():
        fn(crops[:1], skin_weights[:1])
        fn(crops[:16], skin_weights[:16])
    single = {k: [] for k in paths}
    thr = {k: [] for k in paths}
    loads = []
    for r in range(args.rounds):
        for name, (_prec, fn) in paths.items():
            for i in range(args.runs):
                j = (r * args.runs + i) % len(crops)
                t = time.perf_counter()
                fn(crops[j][None], skin_weights[j][None])
                single[name].append(time.perf_counter() - t)
            for i in range(args.batches):
                idx = [((r * args.batches + i) * 16 + j) % len(crops) for j in range(16)]
                t = time.perf_counter()
                fn(crops[idx], skin_weights[idx])
                thr[name].append(16 / (time.perf_counter() - t))
        loads.append(os.getloadavg()[0])
    print(f"load average (1 min) over the timing rounds: {' '.join(f'{x:.2f}' for x in loads)}")

    # agreement on the held-out split, and held-out metrics of the final labels
    def all_outputs(fn):
        """-> (logits, feature distances) of the whole split."""
        logits, dist = [], []
        for s in range(0, len(crops), 16):
            out = fn(crops[s : s + 16], skin_weights[s : s + 16])
            logits.append(np.asarray(out.logits, np.float64))
            dist.append(tf32_pred.feature_distances(out, skin_weights[s : s + 16]))
        return np.concatenate(logits), np.concatenate(dist)

    reject_t = float(meta.get("reject_temperature", 1.0))
    thresholds = {**decision.default_thresholds(), **meta["thresholds"]}
    sig = [decision.signals(p) for p in pres]

    def labels(logits, distances):
        cond, reject = calibration.split_scores(logits, n_cond, tf32_pred.temperatures(distances, pres), reject_t)
        out = []
        for i in range(len(sig)):
            signals = {**sig[i], "feature_distance": float(distances[i])}
            out.append(decision.decide(list(cond[i]), classes, signals, float(reject[i]), thresholds)[0])
        return out

    skin = [i for i, it in enumerate(items) if it.label in classes]
    neg = [i for i, it in enumerate(items) if it.label not in classes]

    def heldout_metrics(final):
        m = metrics.summarize([items[i].label for i in skin], [final[i] for i in skin], classes)
        rejected = np.mean([final[i] in ("no_skin", "uncertain") for i in neg]) if neg else float("nan")
        return m["accuracy"], m["macro_f1"], m["abstained"], rejected

    ref_logits, ref_dist = all_outputs(outputs["tf-fp32"])
    ref_final = labels(ref_logits, ref_dist)
    sub = crops[:32]
    sub_w = skin_weights[:32]
    keras_check = float(np.abs(paths["keras-fp32"][1](sub, sub_w) - ref_fn(ref_input(sub, sub_w)).numpy()).max())
    results = {}
    for name in paths:
        if name == "keras-fp32":
            lg, final = ref_logits, ref_final  # same float32 maths (checked on 32 images below)
        else:
            lg, dist = (ref_logits, ref_dist) if name == "tf-fp32" else all_outputs(outputs[name])
            final = labels(lg, dist)
        top1 = float((lg.argmax(1) == ref_logits.argmax(1)).mean())
        agree = float(np.mean([a == b for a, b in zip(final, ref_final, strict=True)]))
        results[name] = (top1, agree, heldout_metrics(final))

    base_p50 = _p(single["keras-fp32"], 50)
    print(f"keras predict vs tf.function (float32) max |logit difference| on 32 images: {keras_check:.1e}")
    print(
        f"{'path':10s} {'precision':9s} {'p50':>8s} {'p95':>7s} {'batch16':>9s} {'ceil.':>6s} {'speedup':>7s} "
        f"{'top-1':>6s} {'final':>6s} {'acc':>6s} {'mF1':>6s} {'neg rej':>7s}"
    )
    for name, (prec, _fn) in paths.items():
        p50 = _p(single[name], 50)
        top1, agree, (acc, mf1, _abst, rej) = results[name]
        print(
            f"{name:10s} {'/'.join(prec):9s} {p50:6.1f}ms {_p(single[name], 95):5.0f}ms "
            f"{np.median(thr[name]):5.1f}img/s "
            f"{100 * ceiling_ms(prec) / p50:5.0f}% {base_p50 / p50:6.2f}x {top1:6.4f} {agree:6.4f} {acc:6.4f} "
            f"{mf1:6.4f} {rej:7.4f} {cpu_tag()}"
        )
    for name in paths:
        print(f"  {name}: abstentions on the skin images {results[name][2][2]}")
    top1 = results[shipped_path][0]
    print(f"shipped: {shipped_path}")
    print(f"speedup={base_p50 / _p(single[shipped_path], 50):.2f} agreement={top1:.4f}")


if __name__ == "__main__":
    main()
