"""Inference benchmark: plain fp32 Keras ``predict`` on the float32 base vs. FaceDiag's path.

Usage: python bench/inference.py [--model ml/artifacts/<name>] [--data DIR] [--list CSV] [--n N]

* reference: the whole classifier as one float32 Keras model on Keras' float32 VGG16 file
  (``../shared/models/vgg16_imagenet_notop.h5`` or ``--weights``), called with ``predict``;
* ours: the Predictor as the worker runs it, on the float16 base committed in ``ml/weights/``, VGG16
  blocks 1-4 in bfloat16 where the CPU has it, block 5 and the head in float32, compiled tf.functions.

Both get the same preprocessed crops. Agreement (top-1 of the model's outputs, and the final label with
abstentions) is measured on the whole held-out split (the artifact's ``heldout_test.csv``) unless ``--n``
limits it. It also times face detection and the heatmap (closed form vs. a Grad-CAM gradient pass).
The CPU model and its bf16/int8/AMX flags are printed first; the last line reads
``speedup=<ratio> agreement=<fraction>``.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402


def cpu_summary() -> str:
    model, flags = platform.processor() or "unknown", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and model in ("unknown", "", platform.processor()):
                model = line.split(":", 1)[1].strip()
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    wanted = ("avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16", "amx_int8", "amx_tile")
    have = " ".join(f"{f}={'yes' if f in flags else 'no'}" for f in wanted)
    return f"cpu: {model}; {os.cpu_count()} threads; {have}"


def _p(ts, q):
    return float(np.percentile(np.array(ts) * 1000, q))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=str(ROOT / "ml" / "artifacts" / "vgg16-skin-v2"))
    ap.add_argument(
        "--weights",
        default=str(ROOT.parent / "shared/models/vgg16_imagenet_notop.h5"),
        help="the float32 reference base (Keras .h5)",
    )
    ap.add_argument("--data", action="append", default=None, help="skin4 and nonface folders")
    ap.add_argument("--list", default=None, help="CSV with a path column (default: the model's heldout_test.csv)")
    ap.add_argument("--n", type=int, default=0, help="limit the agreement check to N images (0: all)")
    ap.add_argument("--runs", type=int, default=30, help="single-image timing runs per path")
    ap.add_argument("--batches", type=int, default=5, help="batch-16 timing runs per path")
    args = ap.parse_args(argv)

    import tensorflow as tf

    from ml.core import artifact, calibration, data, decision, faces, gradcam
    from ml.core.inference import Predictor
    from ml.core.model import build_full_model, load_base_weights
    from ml.core.preprocess import load_rgb, preprocess, vgg_input

    print(cpu_summary())
    model_dir = Path(args.model)
    pred = Predictor(model_dir)  # the committed float16 base, as the worker runs it
    size, n_cond = pred.input_size, len(pred.classes)
    _meta, trained, _extra = artifact.load(model_dir)
    ref_weights = args.weights if Path(args.weights).exists() else None
    base32, _id = load_base_weights(ref_weights)
    print(
        f"model {model_dir.name}; reference base: {ref_weights or 'the committed float16 file (no float32 file)'};"
        f" our trunk dtype {pred.extractor.dtype}"
    )
    ref = build_full_model(size, n_cond + (1 if pred.reject_class else 0), base32, trained, dtype="float32")

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
    print(f"{len(crops)} held-out images")

    def ours(batch):
        return pred.forward(pred.extractor(batch))[2]

    def plain(batch):
        return ref.predict(vgg_input(batch), verbose=0, batch_size=16)

    ref_fn = tf.function(lambda x: ref(x, training=False), reduce_retracing=True, autograph=False)

    def fp32_compiled(batch):
        return ref_fn(tf.constant(vgg_input(batch))).numpy()

    for fn in (ours, plain, fp32_compiled):
        fn(crops[:1])
        fn(crops[:16])

    def single(fn):
        ts = []
        for i in range(args.runs):
            t = time.perf_counter()
            fn(crops[i % len(crops)][None])
            ts.append(time.perf_counter() - t)
        return ts

    def batch16(fn):
        t0 = time.perf_counter()
        for i in range(args.batches):
            fn(crops[[(i * 16 + j) % len(crops) for j in range(16)]])
        return 16 * args.batches / (time.perf_counter() - t0)

    ts = {"plain": [], "ours": [], "comp": []}
    for _ in range(2):  # interleaved so machine load affects every path alike
        ts["plain"] += single(plain)
        ts["ours"] += single(ours)
        ts["comp"] += single(fp32_compiled)
    thr = {"plain": batch16(plain), "ours": batch16(ours), "comp": batch16(fp32_compiled)}

    # agreement on the whole held-out split: raw top-1 and the final decision
    logits_ref = np.concatenate([plain(crops[s : s + 16]) for s in range(0, len(crops), 16)]).astype(np.float64)
    logits_ours = np.concatenate([ours(crops[s : s + 16]) for s in range(0, len(crops), 16)]).astype(np.float64)
    top1 = float((logits_ref.argmax(1) == logits_ours.argmax(1)).mean())

    def labels(logits):
        cond, reject = calibration.split_scores(logits, n_cond, pred.temperature, pred.reject_temperature)
        return [
            decision.decide(list(cond[i]), pred.classes, decision.signals(pres[i]), float(reject[i]), pred.thresholds)[
                0
            ]
            for i in range(len(pres))
        ]

    final = float(np.mean([a == b for a, b in zip(labels(logits_ref), labels(logits_ours), strict=True)]))

    # stages: face detection, closed-form heatmap vs. gradient Grad-CAM, one scan end to end
    rgbs = [load_rgb(it.path) for it in items[:40]]
    t_face = []
    for rgb in rgbs:
        t = time.perf_counter()
        faces.detect_face(rgb)
        t_face.append(time.perf_counter() - t)
    feats = pred.extractor(crops[:10])
    conv, pen, logits = pred.forward(feats)
    w1 = pred.top.get_layer("head_dense").get_weights()[0]
    w2 = pred.top.get_layer("head_logits").get_weights()[0]
    t_closed, t_grad, diff = [], [], 0.0
    for i in range(len(feats)):
        c = int(np.argmax(logits[i, :n_cond]))
        t = time.perf_counter()
        a = gradcam.cam_from_head(conv[i], pen[i], w1, w2, c)
        t_closed.append(time.perf_counter() - t)
        t = time.perf_counter()
        b = gradcam.gradcam(pred.top, feats[i], c)
        t_grad.append(time.perf_counter() - t)
        diff = max(diff, float(np.abs(a - b).max()))
    e2e = []
    for it in items[:20]:
        t = time.perf_counter()
        pred.predict(it.path, with_heatmap=True)
        e2e.append(time.perf_counter() - t)

    speedup = _p(ts["plain"], 50) / _p(ts["ours"], 50)
    for name, key in (("fp32 keras predict", "plain"), ("facediag path", "ours"), ("fp32 tf.function", "comp")):
        print(
            f"{name:19s}: single p50 {_p(ts[key], 50):7.1f} ms  p95 {_p(ts[key], 95):7.1f} ms  "
            f"batch-16 {thr[key]:6.1f} img/s"
        )
    print(f"bf16 gain over compiled fp32: {_p(ts['comp'], 50) / _p(ts['ours'], 50):.2f}x")
    print(f"face detection (BlazeFace, OpenCV DNN): p50 {_p(t_face, 50):.1f} ms  p95 {_p(t_face, 95):.1f} ms")
    print(
        f"heatmap: closed form p50 {_p(t_closed, 50):.2f} ms vs Grad-CAM gradient pass p50 {_p(t_grad, 50):.1f} ms"
        f" (max difference {diff:.1e})"
    )
    print(
        f"one scan end to end (decode, face, quality, network, heatmap): p50 {_p(e2e, 50):.1f} ms "
        f"p95 {_p(e2e, 95):.1f} ms"
    )
    print(
        f"agreement with the float32 reference on {len(crops)} held-out images: top-1 {top1:.4f}, "
        f"final label {final:.4f}"
    )
    print(f"speedup={speedup:.2f} agreement={top1:.4f}")


if __name__ == "__main__":
    main()
