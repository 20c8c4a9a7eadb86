"""One scan end to end in the worker, stage by stage: read, decode, face detection, crop + quality,
network, decision, lesions (the lesion head on the network's block4_conv3 maps, where the model has one),
heatmap (closed form + overlay + JPEG), write. ``--compare`` with the same model without its lesion head
gives a scan's cost with and without lesions in one run.

Usage: python bench/scan_stages.py [--model ml/artifacts/<name>] [--n 40] [--runtimes openvino,tensorflow]
                                  [--compare ml/artifacts/<other>]

Each photo of the held-out split (the first ``--n``, spread over the classes and the non-face images) goes
through the stages one after the other, as ``Predictor.predict(bytes, with_heatmap=True)`` runs them, then the
heatmap JPEG is written to a temporary directory (the local media storage's work; the database update is
not part of it). The end-to-end time is measured separately around ``read -> predict -> write`` for each
runtime, interleaved photo by photo so machine load hits them alike. Prints per-stage p50/p95, end-to-end
p50/p95, the CPU model with its bf16/int8/AMX flags and the load average. ``--compare`` adds a second model
(for example the previous version), interleaved with the first photo by photo on the same photos.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import numpy as np  # noqa: E402

from ml.core.artifact import SHIPPED_MODEL_DIR  # noqa: E402

STAGES = ("read", "decode", "face", "crop+quality", "network", "decision", "lesions", "heatmap", "write")


def _p(ts, q):
    return float(np.percentile(np.array(ts) * 1000, q))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=str(SHIPPED_MODEL_DIR))
    ap.add_argument("--data", action="append", default=None, help="skin4 and nonface folders")
    ap.add_argument("--n", type=int, default=40, help="photos")
    ap.add_argument("--runtimes", default="openvino,tensorflow")
    ap.add_argument("--compare", help="a second model directory, timed on the same photos")
    ap.add_argument(
        "--photo-size",
        type=int,
        default=0,
        help="re-encode each photo with this long side (JPEG q92), like a stored upload (0: the files as they are)",
    )
    args = ap.parse_args(argv)

    from machine import cpu_summary, cpu_tag

    from ml.core import calibration, data, decision, faces, gradcam
    from ml.core.inference import Predictor, choose_runtime
    from ml.core.preprocess import DECODE_SIDE, decode, preprocess

    print(cpu_summary())
    model_dir = Path(args.model)
    runtimes = [r for r in args.runtimes.split(",") if r]
    models = [model_dir] + ([Path(args.compare)] if args.compare else [])
    preds = {}
    for m in models:
        for r in runtimes:
            p = Predictor(m, runtime=r)
            if p.runtime != r:
                print(f"{r}: not available (got {p.runtime}); skipped")
                continue
            preds[f"{r} {m.name}" if args.compare else r] = p
    names = ", ".join(f"{r} ({p.precision})" for r, p in preds.items())
    print(f"runtimes: {names}; shipped: {choose_runtime()}")

    dirs = args.data or [str(ROOT.parent / "shared/data/skin4"), str(ROOT.parent / "shared/data/nonface")]
    items = []
    for d in dirs:
        if Path(d).is_dir():
            items += data.collect_negatives(d) if "nonface" in d else data.collect(d)
    held = model_dir / "heldout_test.csv"
    if held.exists():
        items = data.filter_items(items, held) or items
    if not items:
        sys.exit("no images: pass --data")
    items = [items[i] for i in np.random.default_rng(0).choice(len(items), min(args.n, len(items)), replace=False)]
    out_dir = Path(tempfile.mkdtemp(prefix="scan_stages_"))

    def write(name, blob):
        path = out_dir / name
        with open(path, "wb") as f:
            f.write(blob)

    blobs = {}
    for it in items:
        blob = Path(it.path).read_bytes()
        if args.photo_size:
            import io

            from PIL import Image

            im = Image.open(io.BytesIO(blob)).convert("RGB")
            scale = args.photo_size / max(im.size)
            im = im.resize((round(im.width * scale), round(im.height * scale)), Image.LANCZOS)
            buf = io.BytesIO()
            im.save(buf, "JPEG", quality=92)
            blob = buf.getvalue()
        path = out_dir / f"photo-{len(blobs)}.jpg"
        path.write_bytes(blob)
        blobs[it.path] = path
    kind = f"long side {args.photo_size} px, JPEG q92" if args.photo_size else "as stored in the data set"
    print(f"photos: {kind}")

    for p in preds.values():  # warm-up
        p.predict(blobs[items[0].path].read_bytes(), with_heatmap=True)

    stages = {r: {s: [] for s in STAGES} for r in preds}
    e2e = {r: [] for r in preds}
    for k, it in enumerate(items):
        for r, pred in preds.items():
            st = stages[r]
            t0 = time.perf_counter()
            blob = blobs[it.path].read_bytes()
            t1 = time.perf_counter()
            rgb, scale = decode(blob, draft_side=DECODE_SIDE)  # as preprocess decodes bytes
            t2 = time.perf_counter()
            faces.detect_face(rgb)
            t3 = time.perf_counter()
            # detects again: crop+quality is the difference
            pre = preprocess(rgb, size=pred.input_size, source_scale=scale)
            t4 = time.perf_counter()
            weights = pred.skin_weights([pre])
            out = pred.network(pre.crop[None], weights)
            t5 = time.perf_counter()
            n_cond = len(pred.classes)
            distance = pred.feature_distances(out, weights)
            temps = pred.temperatures(distance, [pre])
            probs, reject = calibration.split_scores(out.logits, n_cond, temps, pred.reject_temperature)
            signals = {**decision.signals(pre), "feature_distance": float(distance[0])}
            decision.decide(list(probs[0]), pred.classes, signals, float(reject[0]), pred.thresholds)
            decided = time.perf_counter()
            pred.lesions(out, 0, pre)  # the lesion head on block4_conv3's maps (nothing without a head)
            t6b = time.perf_counter()
            top = int(np.argmax(probs[0]))
            t6 = t6b
            cam = pred.heatmap_map(out, 0, top, weights, pre)
            view = pre.unmasked if getattr(pre, "unmasked", None) is not None else pre.crop
            jpeg = gradcam.to_jpeg(gradcam.overlay(view, cam))
            t7 = time.perf_counter()
            write(f"{r}-{k}.jpg", jpeg)
            t8 = time.perf_counter()
            face_t = t3 - t2
            spans = (t1 - t0, t2 - t1, face_t, (t4 - t3) - face_t, t5 - t4, decided - t5, t6b - decided, t7 - t6,
                     t8 - t7)
            for s, d in zip(STAGES, spans, strict=True):
                st[s].append(d)
            # the whole scan as the worker runs it
            t = time.perf_counter()
            result = pred.predict(blobs[it.path].read_bytes(), with_heatmap=True)
            write(f"{r}-{k}-e2e.jpg", result.heatmap_jpeg)
            e2e[r].append(time.perf_counter() - t)

    print(f"{len(items)} held-out photos; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for r, pred in preds.items():
        print(f"-- {r} ({pred.precision}) {cpu_tag()}")
        for s in STAGES:
            print(f"   {s:13s} p50 {_p(stages[r][s], 50):7.2f} ms  p95 {_p(stages[r][s], 95):7.2f} ms")
        total = sum(_p(stages[r][s], 50) for s in STAGES)
        print(f"   {'sum of p50s':13s}     {total:7.2f} ms")
        print(
            f"   one scan end to end (read, predict with heatmap, write): p50 {_p(e2e[r], 50):.1f} ms"
            f"  p95 {_p(e2e[r], 95):.1f} ms"
        )
    shipped = choose_runtime()
    key = f"{shipped} {model_dir.name}" if args.compare else shipped
    if key in e2e:
        print(f"scan_p50_ms={_p(e2e[key], 50):.1f} runtime={shipped}")


if __name__ == "__main__":
    main()
