"""Does lesion evidence lift acne recall on sources the classifier never saw? And what does the lesion head
find on photos other than ACNE04's (other sources' acne, healthy faces, eczema, rosacea)?

Usage: python bench/lesion_verdict.py --data ../shared/data/skin4 [--model DIR] [--per-source 150]

The classifier's side is its leave-one-source-out predictions (``heldout_predictions.csv.gz`` in the
artifact: each photo scored by the model trained without its source). The lesion side is the lesion head's
count on the same photo (it reads the frozen VGG16 block 4, the same in every fold). ACNE04 photos (the
head's training source) and the healthy faces it trained on are left out. For each rule "a photo the
classifier calls healthy with at least K lesions is called acne", it prints acne recall on the held-out acne
sources and the share of healthy faces called acne, against no rule. Prints the CPU beside the figures.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import numpy as np  # noqa: E402
from machine import machine_state  # noqa: E402

from ml.core.artifact import SHIPPED_MODEL_DIR  # noqa: E402

CONDITIONS = ("acne", "eczema", "healthy", "rosacea")


def heldout(model_dir: Path) -> dict[str, dict]:
    with gzip.open(model_dir / "heldout_predictions.csv.gz", "rt", newline="") as fh:
        return {row["path"]: row for row in csv.DictReader(fh)}


def verdict(row: dict) -> str:
    """The held-out verdict as the product reads it: not skin when that output wins, else the top condition."""
    scores = {c: float(row[f"p_{c}"]) for c in CONDITIONS}
    if float(row.get("p_not_skin") or 0) > max(scores.values()):
        return "not_skin"
    return max(scores, key=scores.get)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--model", default=str(SHIPPED_MODEL_DIR))
    ap.add_argument("--per-source", type=int, default=150, help="photos per (label, source) at most")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    from ml.core.inference import Predictor
    from ml.core.lesion_eval import count_summary
    from ml.core.training.lesions import read_negative_photos

    model_dir, data = Path(args.model), Path(args.data)
    rows = heldout(model_dir)
    trained_on = {str(Path(p.path).resolve()) for p in read_negative_photos(data)}
    rng = np.random.default_rng(args.seed)
    groups: dict[tuple[str, str], list[str]] = {}
    for rel, row in rows.items():
        if row["source"] == "acne04_roboflow" or str((data / rel).resolve()) in trained_on:
            continue
        groups.setdefault((row["label"], row["source"]), []).append(rel)
    chosen = [rel for key in sorted(groups) for rel in rng.permutation(sorted(groups[key]))[: args.per_source]]

    predictor = Predictor(model_dir)
    if predictor.lesion_head is None:
        sys.exit(f"{model_dir} has no lesion head")
    print(machine_state())
    print(f"model {predictor.version} ({predictor.precision}); {len(chosen)} held-out photos")
    counts: dict[str, int] = {}
    t0 = time.time()
    for i, rel in enumerate(chosen):
        pre = predictor.preprocess(str(data / rel))
        out = predictor.network(pre.crop[None], predictor.skin_weights([pre]))
        counts[rel] = predictor.lesions(out, 0, pre).count
        if (i + 1) % 200 == 0:
            print(f"  {i + 1}/{len(chosen)} ({time.time() - t0:.0f} s)", flush=True)

    print("\nlesions found (label/source: median, 90th percentile, mean, share with none; photos)")
    for label, source in sorted(groups):
        c = [counts[r] for r in chosen if rows[r]["label"] == label and rows[r]["source"] == source]
        s = count_summary(c)
        if s["photos"]:
            print(f"  {label}/{source}: {s['median']:.0f}, {s['p90']:.0f}, {s['mean']:.1f}, {s['share_zero']:.2f}; "
                  f"{s['photos']}")

    acne = [r for r in chosen if rows[r]["label"] == "acne"]
    healthy = [r for r in chosen if rows[r]["label"] == "healthy"]
    others = [r for r in chosen if rows[r]["label"] in ("eczema", "rosacea")]

    def rule(rel, k):
        v = verdict(rows[rel])
        return "acne" if (k is not None and v == "healthy" and counts[rel] >= k) else v

    print("\nrule: healthy with >= K lesions is called acne (held-out sources; leave-one-source-out verdicts)")
    print("  K     acne recall  acne->healthy  healthy->acne  eczema/rosacea->acne")
    for k in (None, 3, 5, 8, 10, 15, 20, 30):
        recall = np.mean([rule(r, k) == "acne" for r in acne])
        missed = np.mean([rule(r, k) == "healthy" for r in acne])
        false_acne = np.mean([rule(r, k) == "acne" for r in healthy])
        other_acne = np.mean([rule(r, k) == "acne" for r in others])
        name = "none" if k is None else k
        print(f"  {name:<5} {recall:11.3f}  {missed:13.3f}  {false_acne:13.3f}  {other_acne:20.3f}")
    for source in sorted({rows[r]["source"] for r in acne}):
        sub = [r for r in acne if rows[r]["source"] == source]
        missed = [r for r in sub if verdict(rows[r]) == "healthy"]
        print(f"  acne/{source} ({len(sub)}): called healthy {len(missed) / len(sub):.3f}, "
              f"median lesions of those {np.median([counts[r] for r in missed] or [0]):.0f}")


if __name__ == "__main__":
    main()
