"""Where "Likely" starts: how often the model's top class is right, by its calibrated top probability, on
sources the model never saw.

Usage: python bench/confidence_wording.py [--model ml/artifacts/vgg16-skin-v6.1]

Reads the artifact's ``heldout_predictions.csv.gz`` (each photo scored by the model trained without its
source; the four conditions renormalised, photos labelled not_skin left out), applies the model's own
"uncertain" floor and margin, and prints the accuracy per probability band and for the two words the
product uses (ml.core.decision.LIKELY_PROBABILITY: "Likely" at or above it, "Possibly" below). The rule for
the threshold: the lowest band edge from which every band is right at least 80 % of the time. Prints the
CPU beside the figures (the figures do not depend on it: no inference runs here).
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from machine import machine_state  # noqa: E402

from ml.core import CLASSES  # noqa: E402
from ml.core.decision import LIKELY_PROBABILITY  # noqa: E402

BANDS = (0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0001)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=ROOT / "ml/artifacts/vgg16-skin-v6.1")
    args = parser.parse_args()
    thresholds = json.loads((args.model / "metadata.json").read_text())["thresholds"]
    floor, margin = thresholds["uncertain"], thresholds.get("margin", 0.0)
    answers = []  # (top probability, right?) for photos given a class
    abstained = 0
    with gzip.open(args.model / "heldout_predictions.csv.gz", "rt") as fh:
        for row in csv.DictReader(fh):
            if row["label"] not in CLASSES:
                continue
            scores = {c: float(row[f"p_{c}"]) for c in CLASSES}
            total = sum(scores.values()) or 1.0
            ranked = sorted(((p / total, c) for c, p in scores.items()), reverse=True)
            (top, label), (second, _) = ranked[0], ranked[1]
            if top < floor or top - second < margin:
                abstained += 1
                continue
            answers.append((top, label == row["label"]))
    print(machine_state())
    print(f"model={args.model.name} floor={floor} margin={margin} photos_with_class={len(answers)} "
          f"abstained={abstained}")
    for lo, hi in zip(BANDS, BANDS[1:], strict=False):
        band = [ok for p, ok in answers if lo <= p < hi]
        if band:
            print(f"band {lo:.1f}-{min(hi, 1.0):.1f}: n={len(band)} right={sum(band) / len(band):.3f}")
    likely = [ok for p, ok in answers if p >= LIKELY_PROBABILITY]
    possibly = [ok for p, ok in answers if p < LIKELY_PROBABILITY]
    right = sum(ok for _p, ok in answers)
    print(f"likely_from={LIKELY_PROBABILITY} likely_share={len(likely) / len(answers):.3f} "
          f"likely_right={sum(likely) / len(likely):.3f} possibly_right={sum(possibly) / len(possibly):.3f} "
          f"right_answers_worded_possibly={sum(possibly) / right:.3f}")


if __name__ == "__main__":
    main()
