"""Worker throughput: scans per second for one worker process, one scan at a time vs. batched.

Usage: python bench/worker_throughput.py [--model ml/artifacts/<name>] [--data DIR] [--n 32] [--batch 16]

Runs the analysis the worker runs (``Predictor.predict`` with heatmap for one scan; ``predict_many(...,
with_heatmap=True)`` for a batch: decode, face crop, quality, network, heatmap) on --n real photos from
--data (mixed classes), as stored JPEG bytes. Prints the CPU model, its flags, the load average, the number
of cores TensorFlow uses, and per mode: seconds, scans/s and scans/s per core. docs/scaling.md's capacity
model uses these figures.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from pathlib import Path

from machine import machine_state

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ml.core.artifact import SHIPPED_MODEL_DIR  # noqa: E402


def photos(data_dir: Path, n: int) -> list[bytes]:
    """n photos, round-robin over the class folders, re-encoded like an upload (<= 2048 px JPEG)."""
    from PIL import Image

    folders = sorted(p for p in data_dir.iterdir() if p.is_dir())
    files = [sorted(f for f in folder.iterdir() if f.suffix.lower() in {".jpg", ".jpeg", ".png"})
             for folder in folders]
    picked = [f for group in zip(*files, strict=False) for f in group][:n]
    out = []
    for path in picked:
        with Image.open(path) as im:
            im = im.convert("RGB")
            im.thumbnail((2048, 2048))
            buf = io.BytesIO()
            im.save(buf, "JPEG", quality=92)
            out.append(buf.getvalue())
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=str(SHIPPED_MODEL_DIR))
    ap.add_argument("--weights", default=os.environ.get("FACEDIAG_VGG16_WEIGHTS")
                    or str(ROOT.parent / "shared/models/vgg16_imagenet_notop.h5"))
    ap.add_argument("--data", default=str(ROOT.parent / "shared/data/skin4"))
    ap.add_argument("--n", type=int, default=32)
    ap.add_argument("--batch", type=int, default=16)
    args = ap.parse_args(argv)

    import tensorflow as tf

    from ml.core.inference import Predictor

    print(f"[worker_throughput] {machine_state()}", flush=True)
    images = photos(Path(args.data), args.n)
    predictor = Predictor(args.model, args.weights if Path(args.weights).exists() else None)
    threads = tf.config.threading.get_intra_op_parallelism_threads() or os.cpu_count()
    predictor.predict_many(images[: args.batch], batch_size=args.batch, with_heatmap=True)  # warm both shapes
    predictor.predict(images[0], with_heatmap=True)

    start = time.perf_counter()
    for data in images:
        predictor.predict(data, with_heatmap=True)
    single_s = time.perf_counter() - start

    start = time.perf_counter()
    results = predictor.predict_many(images, batch_size=args.batch, with_heatmap=True)
    batch_s = time.perf_counter() - start
    assert all(getattr(r, "heatmap_jpeg", None) for r in results), "every batched scan gets its heatmap"

    print(f"[worker_throughput] {machine_state()}", flush=True)
    for mode, seconds in (("one_at_a_time", single_s), (f"batch{args.batch}", batch_s)):
        rate = len(images) / seconds
        print(f"{mode}: scans={len(images)} seconds={seconds:.2f} ms_per_scan={1000 * seconds / len(images):.0f} "
              f"scans_per_s={rate:.2f} scans_per_s_per_core={rate / threads:.2f}")
    print(f"tf_threads={threads} batch_speedup={single_s / batch_s:.2f}")


if __name__ == "__main__":
    main()
