"""How the shipped model's answers fall apart as a photo gets worse: smaller face, blur, darkness (issue 29).

Usage: python bench/degradation.py [--data ../shared/data/skin4] [--model DIR] [--per-class 20] [--seed 0]
                                   [--records OUT.csv] [--plot OUT.png]

Photos: the model's in-source test list (``heldout_test.csv`` of the artifact: photos the head settings and
thresholds were not chosen on), acne faces and close-ups from ACNE04 and the web acne set, real healthy faces
from UTKFace; ``--per-class`` of each, drawn with ``--seed``. The shipped head's last training pass saw every
skin4 photo, these included, so the full-quality figures flatter it; the drop from them is what this measures.

Each photo is degraded step by step and re-encoded as a JPEG (quality 90), as an upload would be:
  size    the whole photo downscaled so its shorter side is N px (the face shrinks with it)
  canvas  the photo, N px on its shorter side, pasted into a 1200 x 1600 photo of a beige wall
  blur    Gaussian blur, sigma a percentage of the photo's shorter side
  dark    every pixel value multiplied by a factor, with faint sensor noise
Every step runs the real ``Predictor.predict_many``. Two answers are scored per photo: the model's own
("ungated": the decision rules with the photo-quality gates switched off, the curves the thresholds are
chosen from) and the shipped one (every rule, ``decision.decide``), with the quality measures the server
computes (``decision.signals``): the face crop's side in the photo's pixels, the Laplacian variance
corrected for exposure (``quality.sharpness``) and the mean luma (exposure). ``--rescore`` re-decides the rows
of a ``--records`` CSV with the code's current rules, without the network: thresholds are tried in seconds.
Prints the CPU, flags and load (bench/machine.py).
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import random
import sys
import time
from collections import defaultdict
from pathlib import Path

from machine import cpu_summary, machine_state

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from ml.core.artifact import SHIPPED_MODEL_DIR  # noqa: E402

ACNE_SOURCES = ("acne04_roboflow", "acne_web_elredeny")
HEALTHY_SOURCES = ("utkface",)
#: (degradation, step) pairs; ("full", 0) is the photo as it is.
STEPS = (
    [("full", 0)]
    + [("size", s) for s in (160, 128, 112, 96, 80, 64)]
    + [("canvas", s) for s in (320, 200, 140, 100)]
    + [("blur", s) for s in (0.5, 0.65, 0.8, 1.0, 1.5, 2.0, 3.0)]
    + [("dark", s) for s in (0.5, 0.35, 0.25, 0.18, 0.12)]
)
CANVAS_WH = (1200, 1600)
WALL_RGB = (214, 196, 170)
QUALITY_REASONS = ("too_small", "blurry", "too_dark")


def degrade(rgb: np.ndarray, kind: str, step: float, rng: np.random.Generator) -> np.ndarray:
    """One degraded copy of ``rgb`` (uint8 RGB)."""
    h, w = rgb.shape[:2]
    if kind == "full":
        return rgb
    if kind in ("size", "canvas"):
        f = step / min(h, w)
        small = cv2.resize(rgb, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA)
        if kind == "size":
            return small
        cw, ch = CANVAS_WH
        wall = np.full((ch, cw, 3), WALL_RGB, np.float32) + rng.normal(0, 3, (ch, cw, 1))
        canvas = np.clip(wall, 0, 255).astype(np.uint8)
        sh, sw = small.shape[:2]
        y, x = int(rng.integers(ch // 5, ch - sh - ch // 5)), int(rng.integers(cw // 6, cw - sw - cw // 6))
        canvas[y : y + sh, x : x + sw] = small
        return canvas
    if kind == "blur":
        return cv2.GaussianBlur(rgb, (0, 0), step / 100.0 * min(h, w))
    if kind == "dark":
        out = rgb.astype(np.float32) * step + rng.normal(0, 1.5, rgb.shape)
        return np.clip(out + 0.5, 0, 255).astype(np.uint8)
    raise ValueError(kind)


def jpeg(rgb: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def draw(data: Path, model_dir: Path, per_class: int, seed: int) -> list[tuple[Path, str, str]]:
    """(path, class, source): ``per_class`` acne and healthy photos from the model's in-source test list."""
    rows = list(csv.DictReader(open(model_dir / "heldout_test.csv")))
    rng = random.Random(seed)
    out = []
    for label, sources in (("acne", ACNE_SOURCES), ("healthy", HEALTHY_SOURCES)):
        pool = sorted(r["path"] for r in rows if r["label"] == label and r["source"] in sources)
        for path in rng.sample(pool, min(per_class, len(pool))):
            out.append((data / path, label, path.split("/")[-1].split("__")[0]))
    return out


def run(data: Path, model_dir: Path, per_class: int, seed: int, steps=STEPS) -> tuple[list[dict], dict, list[str]]:
    """-> (one row per prediction: the photo, the step, the model's scores and the quality signals; the
    model's stored thresholds; its classes)."""
    from ml.core import decision
    from ml.core.inference import Predictor

    predictor = Predictor(model_dir)
    print(f"model {predictor.version}: runtime {predictor.runtime}, {predictor.precision}")
    photos = draw(data, model_dir, per_class, seed)
    originals = [np.asarray(Image.open(p).convert("RGB")) for p, _c, _s in photos]
    records = []
    t0, n = time.perf_counter(), 0
    for kind, step in steps:
        rng = np.random.default_rng(seed)
        uploads = [jpeg(degrade(rgb, kind, step, rng)) for rgb in originals]
        preds = predictor.predict_many(uploads, batch_size=16)
        n += len(uploads)
        print(f"  {kind} {step:g}: {len(uploads)} photos, {time.perf_counter() - t0:.0f} s so far", flush=True)
        for (path, label, source), upload, pred in zip(photos, uploads, preds, strict=True):
            sig = decision.signals(predictor.preprocess(upload))  # the signals the Predictor decided on
            records.append({
                "kind": kind, "step": step, "photo": path.name, "truth": label, "source": source,
                **{k: (round(v, 3) if isinstance(v, float) else v) for k, v in sig.items()},
                "feature_distance": pred.details["feature_distance"], "reject": round(pred.details["reject"], 5),
                "probs": " ".join(f"{pred.probabilities[c]:.5f}" for c in predictor.classes),
                "label": pred.label, "reason": pred.reason,
            })
    secs = time.perf_counter() - t0
    print(f"{n} predictions in {secs:.0f} s ({1000 * secs / n:.0f} ms each, preprocessing twice included)")
    return records, predictor.metadata["thresholds"], predictor.classes


def rescore(records: list[dict], stored: dict, classes: list[str]) -> None:
    """Adds ``ungated`` (the decision rules without the photo-quality gates) and ``gated`` (every rule as the
    code now stands) to each row, from its stored scores and signals: thresholds can be tried in seconds."""
    from ml.core import decision, quality

    shipped = decision.model_thresholds(stored)
    ungated = {**shipped, **decision.NO_QUALITY_GATES}
    for r in records:
        sig = {k: _value(r[k]) for k in r if k in SIGNAL_KEYS}
        r["sharpness"] = quality.sharpness(sig["laplacian_var"], sig["mean_luma"])
        probs = [float(x) for x in str(r["probs"]).split()]
        reject = float(r["reject"])
        r["ungated"] = decision.decide(probs, classes, sig, reject, ungated)[0]
        r["gated"], r["gated_reason"] = decision.decide(probs, classes, sig, reject, shipped)


SIGNAL_KEYS = ("face_found", "skin_ratio", "no_colour", "gray_std", "laplacian_var", "region_side", "mean_luma",
               "small_face", "feature_distance")


def _value(v):
    if isinstance(v, str):
        return v == "True" if v in ("True", "False") else float(v)
    return v


def pct(part: int, whole: int) -> str:
    return f"{100.0 * part / whole:5.1f}" if whole else "    -"


def scores(rows: list[dict], field: str) -> dict:
    """Acne recall, acne called healthy, healthy called healthy / given a condition, healthy precision."""
    acne = [r for r in rows if r["truth"] == "acne"]
    healthy = [r for r in rows if r["truth"] == "healthy"]
    conditions = ("acne", "eczema", "rosacea")
    a_acne = sum(r[field] == "acne" for r in acne)
    a_healthy = sum(r[field] == "healthy" for r in acne)
    h_healthy = sum(r[field] == "healthy" for r in healthy)
    h_cond = sum(r[field] in conditions for r in healthy)
    return {
        "n": (len(acne), len(healthy)), "recall": pct(a_acne, len(acne)), "acne_healthy": pct(a_healthy, len(acne)),
        "healthy": pct(h_healthy, len(healthy)), "healthy_cond": pct(h_cond, len(healthy)),
        "precision": pct(h_healthy, h_healthy + a_healthy),
        "recall_f": a_acne / len(acne) if acne else float("nan"),
        "precision_f": h_healthy / (h_healthy + a_healthy) if h_healthy + a_healthy else float("nan"),
    }


def step_table(records: list[dict]) -> None:
    by_step = defaultdict(list)
    for r in records:
        by_step[(r["kind"], r["step"])].append(r)
    print("\nper step (ungated = the model's answer without the quality gates; shipped = every rule)")
    print(f"{'step':<13}{'n a/h':>7}{'face%':>6}{'side':>6}{'sharp':>7}{'luma':>6} | {'acne rec':>8}{'acne→h':>7}"
          f"{'h→h':>6}{'h→cond':>7}{'h prec':>7} | shipped: {'healthy':>7}{'cond':>6}{'named':>6}  reasons")
    for (kind, step), rows in by_step.items():
        s = scores(rows, "ungated")
        n = len(rows)
        face = sum(r["face_found"] for r in rows)
        med = {k: float(np.median([r[k] for r in rows])) for k in ("region_side", "sharpness", "mean_luma")}
        shipped_h = sum(r["gated"] == "healthy" for r in rows)
        shipped_c = sum(r["gated"] in ("acne", "eczema", "rosacea") for r in rows)
        named = sum(r["gated_reason"] in QUALITY_REASONS for r in rows)
        reasons = defaultdict(int)
        for r in rows:
            if r["gated"] not in ("acne", "eczema", "rosacea", "healthy"):
                reasons[r["gated_reason"]] += 1
        why = " ".join(f"{k}:{v}" for k, v in sorted(reasons.items(), key=lambda kv: -kv[1]))
        label = f"{kind} {step:g}" if kind != "full" else "full"
        print(f"{label:<13}{s['n'][0]:>3}/{s['n'][1]:<3}{pct(face, n):>6}{med['region_side']:>6.0f}"
              f"{med['sharpness']:>7.1f}{med['mean_luma']:>6.0f} | {s['recall']:>8}{s['acne_healthy']:>7}"
              f"{s['healthy']:>6}{s['healthy_cond']:>7}{s['precision']:>7} | {pct(shipped_h, n):>15}"
              f"{pct(shipped_c, n):>6}{pct(named, n):>6}  {why}")


#: Bins of each measure for the per-measure tables: (measure, degradations it comes from, bin edges).
BINS = (
    ("region_side", ("full", "size", "canvas"), (0, 64, 80, 96, 112, 128, 160, 200, 10_000)),
    ("sharpness", ("full", "blur"), (0, 2, 4, 5, 6, 8, 12, 20, 40, 1e9)),
    ("mean_luma", ("full", "dark"), (0, 15, 20, 25, 30, 40, 55, 80, 256)),
)


def measure_tables(records: list[dict]) -> None:
    """The ungated scores binned by the measured quality signal: where the thresholds are read."""
    for measure, kinds, edges in BINS:
        rows = [r for r in records if r["kind"] in kinds and (measure != "region_side" or r["face_found"])]
        what = " (photos with a face found)" if measure == "region_side" else ""
        print(f"\n{measure}{what}, from the {'/'.join(kinds)} steps (ungated)")
        print(f"{'bin':<16}{'n a/h':>9}{'acne rec':>9}{'acne→h':>8}{'h→h':>7}{'h→cond':>8}{'h prec':>8}")
        for lo, hi in zip(edges[:-1], edges[1:], strict=True):
            b = [r for r in rows if lo <= r[measure] < hi]
            if not b:
                continue
            s = scores(b, "ungated")
            print(f"{f'[{lo:g}, {hi:g})':<16}{s['n'][0]:>4}/{s['n'][1]:<4}{s['recall']:>9}{s['acne_healthy']:>8}"
                  f"{s['healthy']:>7}{s['healthy_cond']:>8}{s['precision']:>8}")


def plot(records: list[dict], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    for ax, (measure, kinds, edges) in zip(axes, BINS, strict=True):
        rows = [r for r in records if r["kind"] in kinds and (measure != "region_side" or r["face_found"])]
        xs, rec, prec, hh = [], [], [], []
        for lo, hi in zip(edges[:-1], edges[1:], strict=True):
            b = [r for r in rows if lo <= r[measure] < hi]
            if len(b) < 6:
                continue
            s = scores(b, "ungated")
            xs.append(f"{lo:g}+")
            rec.append(s["recall_f"])
            prec.append(s["precision_f"])
            healthy = [r for r in b if r["truth"] == "healthy"]
            hh.append(sum(r["ungated"] == "healthy" for r in healthy) / len(healthy) if healthy else float("nan"))
        ax.plot(xs, rec, "o-", label="acne recall")
        ax.plot(xs, prec, "s-", label="healthy precision")
        ax.plot(xs, hh, "^--", label="healthy faces called healthy")
        ax.set_title(measure)
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
    axes[0].legend(loc="lower right")
    fig.suptitle("vgg16-skin-v6, degraded held-out photos: scores per bin of the measured quality signal")
    fig.tight_layout()
    fig.savefig(out, dpi=90)
    print(f"chart: {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "skin4"))
    parser.add_argument("--model", default=str(SHIPPED_MODEL_DIR))
    parser.add_argument("--per-class", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--records", help="write every prediction's row here (CSV)")
    parser.add_argument("--steps", help="only these steps, e.g. blur:0.65,blur:0.8 (default: all)")
    parser.add_argument("--rescore", help="no predictions: re-decide the rows of a --records CSV with the code's "
                        "current rules (its model's stored thresholds from --model)")
    parser.add_argument("--plot", help="write the per-measure chart here (PNG)")
    args = parser.parse_args()
    if not (Path(args.data) / "manifest.csv").is_file():
        parser.error(f"no manifest.csv in {args.data}: pass --data DIR")
    if args.rescore:
        import json

        meta = json.loads((Path(args.model) / "metadata.json").read_text())
        with open(args.rescore) as f:
            records = [{k: _value(v) if k in SIGNAL_KEYS or k == "step" else v for k, v in r.items()}
                       for r in csv.DictReader(f)]
        stored, classes = meta["thresholds"], list(meta["classes"])
        print(f"rescored {len(records)} rows of {args.rescore} with the current decision rules")
    else:
        print(cpu_summary())
        print(machine_state())
        steps = [(k, float(v)) for k, v in (x.split(":") for x in args.steps.split(","))] if args.steps else STEPS
        records, stored, classes = run(Path(args.data), Path(args.model), args.per_class, args.seed, steps)
        if args.records:
            with open(args.records, "w", newline="") as f:
                writer = csv.DictWriter(f, fieldnames=list(records[0]))
                writer.writeheader()
                writer.writerows(records)
    rescore(records, stored, classes)
    step_table(records)
    measure_tables(records)
    if args.plot:
        plot(records, Path(args.plot))
    if not args.rescore:
        print(machine_state())


if __name__ == "__main__":
    main()
