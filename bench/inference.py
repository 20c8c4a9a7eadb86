"""Inference benchmark: plain fp32 Keras ``predict`` vs. FaceDiag's inference path.

Usage: python bench/inference.py [--model ml/artifacts/<name>] [--data DIR | --list CSV] [--n 200]

Our path = the Predictor's compiled tf.functions: VGG16 blocks 1-4 in bfloat16 (oneDNN, AMX)
and block 5 + head in float32. Both paths get the same preprocessed crops, so the timings
compare the networks; top-1 agreement is measured on ``--n`` images of the data.
The last line reads ``speedup=<ratio> agreement=<fraction>``.
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


def _default_model() -> Path | None:
    arts = sorted(p.parent for p in (ROOT / "ml" / "artifacts").glob("*/metadata.json"))
    return arts[-1] if arts else None


def _percentiles(ts):
    a = np.array(ts) * 1000
    return float(np.percentile(a, 50)), float(np.percentile(a, 95))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=None)
    ap.add_argument(
        "--weights",
        default=os.environ.get("FACEDIAG_VGG16_WEIGHTS") or str(ROOT.parent / "shared/models/vgg16_imagenet_notop.h5"),
    )
    ap.add_argument("--data", default=str(ROOT.parent / "shared/data/skin4"))
    ap.add_argument("--list", default=None, help="CSV with a path column (default: the model's heldout_test.csv)")
    ap.add_argument("--n", type=int, default=200, help="images for the agreement check")
    ap.add_argument("--runs", type=int, default=40, help="single-image timing runs per path")
    ap.add_argument("--batches", type=int, default=6, help="batch-16 timing runs per path")
    args = ap.parse_args(argv)

    import tensorflow as tf

    from ml.core import data
    from ml.core.inference import Predictor
    from ml.core.model import build_full_model, load_base_weights
    from ml.core.preprocess import preprocess, vgg_input

    model_dir = Path(args.model) if args.model else _default_model()
    if model_dir is None:
        sys.exit("no model artifact found; pass --model")
    weights = args.weights if Path(args.weights).exists() else None
    pred = Predictor(model_dir, weights, fast=True)
    size = pred.input_size
    from ml.core import artifact

    _meta, trained, _extra = artifact.load(model_dir)
    base, _sha = load_base_weights(weights)
    ref = build_full_model(size, len(pred.classes), base, trained, dtype="float32")

    list_csv = args.list or (model_dir / "heldout_test.csv" if (model_dir / "heldout_test.csv").exists() else None)
    items = data.collect(args.data) if Path(args.data).is_dir() else []
    if list_csv and items:
        items = data.filter_items(items, list_csv) or items
    rng = np.random.default_rng(0)
    if items:
        sel = rng.choice(len(items), size=min(args.n, len(items)), replace=False)
        crops = np.stack([preprocess(items[i].path, size=size).crop for i in sel])
    else:  # no data: random images (agreement is then only indicative)
        crops = rng.integers(0, 256, (args.n, size, size, 3), dtype=np.uint8)
    print(
        f"model {model_dir.name}; {len(crops)} images; cpu threads {os.cpu_count()}; trunk dtype {pred.extractor.dtype}"
    )

    def ours(batch_uint8):
        return pred._run_top(pred.extractor._run(tf.constant(vgg_input(batch_uint8))))[1].numpy()

    def plain(batch_uint8):
        return ref.predict(vgg_input(batch_uint8), verbose=0)

    ref_fn = tf.function(lambda x: ref(x, training=False), reduce_retracing=True, autograph=False)

    def fp32_compiled(batch_uint8):  # same float32 graph without predict()'s per-call overhead
        return ref_fn(tf.constant(vgg_input(batch_uint8))).numpy()

    # warm up both paths (tracing), single and batch shapes
    for fn in (ours, plain, fp32_compiled):
        fn(crops[:1])
        fn(crops[:16])

    def single(fn):
        ts = []
        for i in range(args.runs):
            x = crops[i % len(crops)][None]
            t = time.perf_counter()
            fn(x)
            ts.append(time.perf_counter() - t)
        return ts

    def batch16(fn):
        reps = []
        for i in range(args.batches):
            idx = [(i * 16 + j) % len(crops) for j in range(16)]
            t = time.perf_counter()
            fn(crops[idx])
            reps.append(time.perf_counter() - t)
        return 16 * len(reps) / sum(reps)

    # interleave the two paths so machine load affects both alike
    ts_plain, ts_ours, ts_comp = [], [], []
    for _ in range(2):
        ts_plain += single(plain)
        ts_ours += single(ours)
        ts_comp += single(fp32_compiled)
    p50_plain, p95_plain = _percentiles(ts_plain)
    p50_ours, p95_ours = _percentiles(ts_ours)
    p50_comp, p95_comp = _percentiles(ts_comp)
    thr_plain, thr_ours, thr_comp = batch16(plain), batch16(ours), batch16(fp32_compiled)

    # agreement on the data
    agree = 0
    for s in range(0, len(crops), 16):
        b = crops[s : s + 16]
        agree += int((plain(b).argmax(1) == ours(b).argmax(1)).sum())
    agreement = agree / len(crops)

    # end to end (preprocessing + face detection + network + decision), our path, no heatmap
    paths = [items[i].path for i in sel[:20]] if items else []
    e2e = []
    for p in paths:
        t = time.perf_counter()
        pred.predict(p, with_heatmap=False)
        e2e.append(time.perf_counter() - t)
    heat = []
    for p in paths[:10]:
        t = time.perf_counter()
        pred.predict(p, with_heatmap=True)
        heat.append(time.perf_counter() - t)

    speedup = p50_plain / p50_ours
    print(
        f"fp32 keras predict : single p50 {p50_plain:7.1f} ms  p95 {p95_plain:7.1f} ms  batch-16 {thr_plain:6.1f} img/s"
    )
    print(f"facediag path      : single p50 {p50_ours:7.1f} ms  p95 {p95_ours:7.1f} ms  batch-16 {thr_ours:6.1f} img/s")
    print(
        f"fp32 tf.function   : single p50 {p50_comp:7.1f} ms  p95 {p95_comp:7.1f} ms  batch-16 {thr_comp:6.1f} img/s"
        f"  (bf16 gain over compiled fp32: {p50_comp / p50_ours:.2f}x)"
    )
    print(
        f"p50 ratio {speedup:.2f}x  p95 ratio {p95_plain / p95_ours:.2f}x  batch-16 ratio {thr_ours / thr_plain:.2f}x"
    )
    if e2e:
        print(
            f"end to end (incl. decode, face detection, quality): p50 {_percentiles(e2e)[0]:.1f} ms; "
            f"with Grad-CAM p50 {_percentiles(heat)[0]:.1f} ms"
        )
    print(f"top-1 agreement with fp32 on {len(crops)} images: {agreement:.4f}")
    print(f"speedup={speedup:.2f} agreement={agreement:.4f}")


if __name__ == "__main__":
    main()
