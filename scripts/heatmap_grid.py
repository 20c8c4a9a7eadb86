"""A picture of where the model looks: heatmaps of photos, one row per source, as a PNG grid.

The photos come from the artifact's in-source test list; the shipped head was finally trained on all
images, so this shows where it looks, not how well it generalises (see the leave-one-source-out figures).

Usage: python scripts/heatmap_grid.py --out docs/heatmaps.png
       [--data ../shared/data/skin4] [--per-source 6] [--sources utkface,normal_stock_faces_charvikm45]

Each tile is the preprocessed crop the model saw (face oval kept, the rest neutral) with the class
activation map of its top condition over it, titled with the final label.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ml.core.artifact import SHIPPED_MODEL_DIR  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=str(SHIPPED_MODEL_DIR))
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "skin4"))
    ap.add_argument("--out", default=str(ROOT / "docs" / "heatmaps.png"))
    ap.add_argument("--per-source", type=int, default=6)
    ap.add_argument("--sources", default="", help="comma-separated; default: every source in the held-out list")
    args = ap.parse_args(argv)
    if not Path(args.data).is_dir():
        ap.error(f"no photos at {args.data}: pass --data DIR (labelled photos, one folder per class)")

    import cv2
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from ml.core import data
    from ml.core.inference import Predictor

    model = Path(args.model)
    predictor = Predictor(model)
    items = data.collect(args.data)
    if (model / "heldout_test.csv").exists():
        items = data.filter_items(items, model / "heldout_test.csv")
    wanted = [s for s in args.sources.split(",") if s] or sorted({it.source for it in items})
    rows = []
    rng = np.random.default_rng(0)
    for src in wanted:
        pool = [it for it in items if it.source == src]
        if pool:
            rows.append((src, [pool[i] for i in rng.permutation(len(pool))[: args.per_source]]))
    fig, axes = plt.subplots(len(rows), args.per_source, figsize=(2.0 * args.per_source, 2.3 * len(rows)),
                             squeeze=False)
    for r, (src, row) in enumerate(rows):
        for c in range(args.per_source):
            ax = axes[r][c]
            ax.axis("off")
            if c >= len(row):
                continue
            it = row[c]
            p = predictor.predict(it.path, with_heatmap=True)  # one pass gives the label and the overlay
            ax.imshow(cv2.imdecode(np.frombuffer(p.heatmap_jpeg, np.uint8), cv2.IMREAD_COLOR)[..., ::-1])
            ax.set_title(f"{it.label} -> {p.label}", fontsize=8, color="black" if p.label == it.label else "firebrick")
        axes[r][0].text(-0.08, 0.5, src[:18], transform=axes[r][0].transAxes, rotation=90, va="center", ha="right",
                        fontsize=8)
    fig.suptitle(f"{model.name}: where the model looks (true -> predicted)", fontsize=10)
    fig.tight_layout()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=80)
    from PIL import Image

    # 256 colours are plenty for a picture of heatmaps and keep the file in git small (2.2 MB -> 0.6 MB)
    Image.open(args.out).convert("RGB").quantize(256, dither=Image.Dither.NONE).save(args.out, optimize=True)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
