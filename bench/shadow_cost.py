"""What a shadow model costs a worker: the active pass (before the results are stored) against the shadow
pass (after), per batch, and the throughput with and without a shadow.

Usage: python bench/shadow_cost.py [--model DIR] [--shadow DIR] [--data DIR] [--n 32] [--batch 16]

Runs what ``diagnosis.services.analyse_scans`` runs per batch: the active model's ``predict_many`` with
heatmaps (people wait for this), then ``diagnosis.services.shadow.after_batch``'s shadow ``predict_many``
without heatmaps (nobody waits: the results are stored already, but the worker's next batch starts later).
The shadow defaults to the shipped model itself: a candidate of the same architecture costs the same.
Prints the CPU model, flags and load (bench/machine.py) before and after.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

from machine import machine_state
from worker_throughput import photos

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ml.core.artifact import SHIPPED_MODEL_DIR  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=str(SHIPPED_MODEL_DIR))
    ap.add_argument("--shadow", default=str(SHIPPED_MODEL_DIR))
    ap.add_argument("--data", default=str(ROOT.parent / "shared/data/skin4"))
    ap.add_argument("--n", type=int, default=32)
    ap.add_argument("--batch", type=int, default=16)
    args = ap.parse_args(argv)

    from ml.core.inference import Predictor

    print(f"[shadow_cost] {machine_state()}", flush=True)
    images = photos(Path(args.data), args.n)
    active, shadow = Predictor(args.model), Predictor(args.shadow)
    active.predict_many(images[: args.batch], batch_size=args.batch, with_heatmap=True)  # warm up
    shadow.predict_many(images[: args.batch], batch_size=args.batch)
    active_s, shadow_s = [], []
    for start in range(0, len(images), args.batch):
        batch = images[start : start + args.batch]
        t0 = time.perf_counter()
        active.predict_many(batch, batch_size=len(batch), with_heatmap=True)
        t1 = time.perf_counter()
        shadow.predict_many(batch, batch_size=len(batch))
        active_s.append(t1 - t0)
        shadow_s.append(time.perf_counter() - t1)
    print(f"[shadow_cost] {machine_state()}", flush=True)
    a, s = statistics.median(active_s), statistics.median(shadow_s)
    n = len(images)
    print(f"runtime={active.runtime} precision={active.precision!r} batches={len(active_s)} batch={args.batch}")
    print(f"active_pass_median_s={a:.2f} (results stored after this) shadow_pass_median_s={s:.2f} (after the store)")
    both = sum(active_s) + sum(shadow_s)
    print(f"scans_per_s_without_shadow={n / sum(active_s):.2f} scans_per_s_with_shadow={n / both:.2f}"
          f" shadow_share_of_worker_time={sum(shadow_s) / both:.2f}")


if __name__ == "__main__":
    main()
