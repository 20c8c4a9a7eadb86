"""How much of the heatmap lies on the skin of the face? Per source, the share of the result page's heatmap
mass (the top condition's map, as the worker draws it) that falls on facial skin: inside the face oval, not
the eyes or the mouth, and skin-coloured in the photo, so hair, eye bars, watermarks, lips and background are
out (``Preprocessed.facial_skin``, ``gradcam.share_on``).

Usage: python bench/heatmap_share.py [--data ../shared/data/skin4] [--model DIR] [--compare DIR]
                                     [--per-source 40] [--seed 0]

Photos where a face is found (the oval is what "facial skin" is measured in), up to ``--per-source`` drawn at
random per source. ``chance`` is the share a map spread evenly over the crop would have (the facial-skin
area's share of the crop): a map that knows nothing of skin scores about that. ``--compare`` runs a second
model (for example an older artifact) on the same photos. Prints the CPU, flags and load (bench/machine.py).
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import sys
from collections import defaultdict
from pathlib import Path

from machine import cpu_summary, machine_state

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ml.core.artifact import SHIPPED_MODEL_DIR  # noqa: E402


def photos_by_source(data: Path, per_source: int, seed: int) -> dict[str, list[Path]]:
    by_source = defaultdict(list)
    with open(data / "manifest.csv") as f:
        for row in csv.DictReader(f):
            by_source[row["source"]].append(data / row["path"])
    rng = random.Random(seed)
    # 3x the wanted number: photos without a found face are skipped
    return {s: rng.sample(sorted(p), min(len(p), 3 * per_source)) for s, p in sorted(by_source.items())}


def shares(model_dir: str, photos: dict[str, list[Path]], per_source: int) -> dict[str, tuple[list, list]]:
    """source -> (heatmap shares on facial skin, chance shares), for photos with a face found."""
    import numpy as np

    from ml.core import gradcam
    from ml.core.inference import Predictor

    predictor = Predictor(model_dir)
    out = {}
    for source, paths in photos.items():
        got, chance = [], []
        for path in paths:
            pre = predictor.preprocess(path.read_bytes())
            mask = pre.facial_skin()
            if mask is None or not mask.any():
                continue
            weights = predictor.skin_weights([pre])
            net = predictor.network(pre.crop[None], weights)
            top = int(np.argmax(net.logits[0, : len(predictor.classes)]))
            cam = predictor.heatmap_map(net, 0, top, weights, pre)
            got.append(gradcam.share_on(cam, mask))
            chance.append(float(mask.mean()))
            if len(got) == per_source:
                break
        out[source] = (got, chance)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "skin4"))
    parser.add_argument("--model", default=str(SHIPPED_MODEL_DIR))
    parser.add_argument("--compare")
    parser.add_argument("--per-source", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if not (Path(args.data) / "manifest.csv").is_file():
        parser.error(f"no manifest.csv in {args.data}: pass --data DIR")

    import numpy as np

    print(cpu_summary())
    print(machine_state())
    photos = photos_by_source(Path(args.data), args.per_source, args.seed)
    models = [args.model] + ([args.compare] if args.compare else [])
    results = {m: shares(m, photos, args.per_source) for m in models}
    names = [Path(m).name for m in models]
    print("\nshare of the heatmap's mass on facial skin (mean over photos with a face found; median in brackets)")
    print(f"{'source':<32}{'n':>5}" + "".join(f"{n[:22]:>24}" for n in names) + f"{'chance':>10}")
    for source in photos:
        first, chance = results[models[0]][source]
        if not first:
            print(f"{source[:31]:<32}{0:>5}   (no face found in the photos drawn)")
            continue
        cells = "".join(
            f"{np.mean(results[m][source][0]):>15.3f} ({np.median(results[m][source][0]):.3f})" for m in models
        )
        print(f"{source[:31]:<32}{len(first):>5}{cells}{np.mean(chance):>10.3f}")
    print(machine_state())


if __name__ == "__main__":
    main()
