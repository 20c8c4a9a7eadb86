"""Does a scan of several photos get more right than one photo? The shipped model through the real Predictor,
the worker's combination rule (ml.core.combine), on labelled photos of skin4.

Usage: python bench/multi_photo.py [--data DIR] [--model DIR] [--shuffles 20] [--seed 0] [--json OUT]
                                   [--cache FILE]

Every photo is predicted once (as the worker does: ``predict_many``; ``--cache`` keeps those predictions for
the next run of the same model), then photos are grouped into scans of 2 and 3 and each group's result is
``combine``'s: the product's rule, and the same rule without "uncertain when confident photos disagree"
(``mean only``). Accuracy counts abstentions (uncertain, no skin) as errors, as ml/README does; "decided" is
the share given a condition, "right when decided" how many of those are right. Printed per source and class
(its accuracy is that class's recall), for single photos and combined scans, with the CPU, flags and load
(bench/machine.py).

Which photos can stand for one person's several views:

- **same-source groups** (different people): 2 or 3 photos of the same class from the same source, drawn
  at random without reuse, averaged over ``--shuffles`` draws. Views of one person are more alike than
  photos of different people, so this is the most combining can give (errors here are the least correlated);
- **retakes**: each photo with two re-takes made from it (a shifted, slightly rotated crop with other light
  and JPEG quality, one mirrored): views of the same face and the same moment, so this is the least it can
  give (errors the most correlated).

ACNE04's file names (``levle<grade>_<n>``) do not group views of a person here: every stem is unique (the
script counts them), so ACNE04 is grouped like the other sources. Held-out sources are those the model's
metadata does not list among its training sources (``data_summary.per_source``); ACNE04 is reported too,
marked in-source when the model was trained on it.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import re
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

from machine import cpu_summary, machine_state

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ml.core import CLASSES, NO_SKIN, UNCERTAIN  # noqa: E402
from ml.core.artifact import SHIPPED_MODEL_DIR  # noqa: E402
from ml.core.combine import combine  # noqa: E402

ACNE04 = "acne04_roboflow"
OUTCOMES = ("correct", UNCERTAIN, NO_SKIN, "wrong")


def retakes(data: bytes) -> list[bytes]:
    """Two phone-like re-takes of a photo: a shifted, rotated crop in dimmer light; a mirrored one, brighter."""
    from PIL import Image, ImageEnhance, ImageOps

    with Image.open(io.BytesIO(data)) as image:
        image = image.convert("RGB")
        w, h = image.size
        out = []
        for mirrored, x0, angle, light, quality in ((False, 0.0, -4, 0.9, 80), (True, 0.12, 4, 1.1, 85)):
            view = ImageOps.mirror(image) if mirrored else image
            view = view.crop((int(w * x0), int(h * 0.03), int(w * (x0 + 0.88)), int(h * 0.97)))
            view = view.rotate(angle, resample=Image.Resampling.BILINEAR, expand=False, fillcolor=(0, 0, 0))
            view = ImageEnhance.Brightness(view).enhance(light)
            buf = io.BytesIO()
            view.save(buf, "JPEG", quality=quality)
            out.append(buf.getvalue())
        return out


def outcome(label: str, truth: str) -> str:
    if label == truth:
        return "correct"
    return label if label in (UNCERTAIN, NO_SKIN) else "wrong"


def tally(labels, truth) -> Counter:
    return Counter(outcome(label, truth) for label in labels)


def row(name: str, counts: Counter, runs: int = 1) -> dict:
    n = sum(counts.values()) / runs
    share = {k: counts[k] / (n * runs) if n else 0.0 for k in OUTCOMES}
    decided = share["correct"] + share["wrong"]
    right = round(share["correct"] / decided, 4) if decided else None
    return {"what": name, "n": round(n, 1), **{k: round(v, 4) for k, v in share.items()},
            "decided": round(decided, 4), "right_when_decided": right}


def print_rows(title: str, rows: list[dict]) -> None:
    print(f"\n{title}")
    print(f"  {'':40s} {'n':>6s} {'accuracy':>9s} {'uncertain':>10s} {'no skin':>8s} {'wrong':>6s} {'decided':>8s}"
          f" {'right when decided':>19s}")
    for r in rows:
        right = f"{r['right_when_decided']:.3f}" if r["right_when_decided"] is not None else "-"
        print(f"  {r['what']:40s} {r['n']:6.1f} {r['correct']:9.3f} {r[UNCERTAIN]:10.3f} {r[NO_SKIN]:8.3f} "
              f"{r['wrong']:6.3f} {r['decided']:8.3f} {right:>19s}")


RULES = (("", True), (", mean only", False))  # (label suffix, uncertain_on_disagreement)


def group_rows(preds_by_group, thresholds, shuffles, seed) -> dict[str, list[dict]]:
    """Per (source, class): single photos, and random scans of 2 and 3 different photos of it."""
    import numpy as np

    out: dict[str, list[dict]] = {}
    for (source, truth), preds in sorted(preds_by_group.items()):
        rows = [row("single photo", tally([p.label for p in preds], truth))]
        for k in (2, 3):
            for suffix, veto in RULES:
                counts: Counter = Counter()
                for s in range(shuffles):
                    order = np.random.default_rng(seed + s).permutation(len(preds))
                    groups = [order[i : i + k] for i in range(0, len(order) - k + 1, k)]
                    counts += tally([combine([preds[j] for j in g], thresholds, uncertain_on_disagreement=veto).label
                                     for g in groups], truth)
                rows.append(row(f"{k} photos (different people){suffix}", counts, shuffles))
        out[f"{source}/{truth}"] = rows
    return out


def retake_rows(originals, takes, truth, thresholds) -> list[dict]:
    rows = [row("single photo", tally([p.label for p in originals], truth)),
            row("single re-take", tally([t[0].label for t in takes], truth))]
    for suffix, veto in RULES:
        rows.append(row(f"2 photos (photo + re-take){suffix}", tally(
            [combine([p, t[0]], thresholds, uncertain_on_disagreement=veto).label
             for p, t in zip(originals, takes, strict=True)], truth)))
        rows.append(row(f"3 photos (photo + 2 re-takes){suffix}", tally(
            [combine([p, *t], thresholds, uncertain_on_disagreement=veto).label
             for p, t in zip(originals, takes, strict=True)], truth)))
    return rows


def pooled_rows(tables: dict[str, list[dict]], keep) -> list[dict]:
    """The rows of several tables added up (by their counts), for the tables whose name ``keep`` accepts."""
    pooled: dict[str, Counter] = defaultdict(Counter)
    for name, rows_ in tables.items():
        if keep(name):
            for r in rows_:
                pooled[r["what"]] += Counter({k: r[k] * r["n"] for k in OUTCOMES})
    return [row(what, counts) for what, counts in pooled.items()]


def predict_cached(predictor, items: list[tuple[str, bytes]], cache: Path | None, batch: int, what: str) -> list:
    """Per (key, photo bytes): the photo's result (label, reason, probabilities, quality), from ``cache`` when
    it holds this model's result for the key, else predicted (``predict_many``) and added to it."""
    from types import SimpleNamespace

    from ml.core.artifact import artifact_sha256

    model_id = f"{artifact_sha256(predictor.artifact_dir)} {predictor.runtime} {predictor.precision}"
    stored: dict = {}
    if cache and cache.is_file():
        saved = json.loads(cache.read_text())
        stored = saved["results"] if saved.get("model") == model_id else {}
    todo = [(key, data) for key, data in items if key not in stored]
    if todo:
        started = time.perf_counter()
        preds = predictor.predict_many([data for _key, data in todo], batch_size=batch,
                                       progress=lambda d, t: print(f"\r  {what} {d}/{t}", end="", flush=True))
        print(f"\n  {len(todo)} {what} predicted in {time.perf_counter() - started:.0f} s")
        for (key, _data), p in zip(todo, preds, strict=True):
            stored[key] = {"label": p.label, "reason": p.reason, "probabilities": p.probabilities,
                           "quality": {k: bool(v) for k, v in p.quality.items()}}
        if cache:
            cache.write_text(json.dumps({"model": model_id, "results": stored}))
    print(f"  {what}: {len(items) - len(todo)} from the cache, {len(todo)} predicted")
    return [SimpleNamespace(**stored[key]) for key, _data in items]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(ROOT.parent / "shared/data/skin4"))
    ap.add_argument("--model", default=str(SHIPPED_MODEL_DIR))
    ap.add_argument("--shuffles", type=int, default=20, help="random groupings averaged per source")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--no-retakes", action="store_true", help="skip the re-take scans (two thirds of the time)")
    ap.add_argument("--limit", type=int, default=0, help="at most this many photos per source and class (a quick run)")
    ap.add_argument("--json", help="write every figure here")
    ap.add_argument("--cache", help="keep the per-photo predictions here (JSON) for the next run of this model")
    args = ap.parse_args(argv)

    data = Path(args.data)
    manifest = data / "manifest.csv"
    if not manifest.is_file():
        sys.exit(f"no labelled photos at {data} (manifest.csv missing): pass --data /path/to/skin4")
    from ml.core.inference import Predictor

    print(cpu_summary())
    print(machine_state())
    predictor = Predictor(args.model)  # the committed float16 base, as the worker loads it
    trained_on = {key.split("/")[0] for key in predictor.metadata.get("data_summary", {}).get("per_source", {})}
    with manifest.open() as fh:
        rows = [r for r in csv.DictReader(fh) if r["label"] in CLASSES]
    sources = sorted({r["source"] for r in rows if r["source"] not in trained_on} | {ACNE04})
    picked = [r for r in rows if r["source"] in sources]
    if args.limit:
        kept: Counter = Counter()
        picked = [r for r in picked if (kept.update([(r["source"], r["label"])]) or True)
                  and kept[(r["source"], r["label"])] <= args.limit]
    print(f"model {predictor.version} ({predictor.runtime}, {predictor.precision}); trained on {len(trained_on)} "
          f"sources; measured: {', '.join(s + ('' if s not in trained_on else ' (IN-SOURCE)') for s in sources)}")

    stems = Counter(re.sub(r"_jpg\.rf\..*$", "", Path(r["path"]).name.split("__", 1)[1])
                    for r in picked if r["source"] == ACNE04)
    multi = sum(1 for c in stems.values() if c > 1)
    print(f"{ACNE04}: {sum(stems.values())} photos, {len(stems)} distinct file-name stems, {multi} stems with "
          "more than one photo: the names do not group views of a person")

    cache = Path(args.cache) if args.cache else None
    photos = [(data / r["path"]).read_bytes() for r in picked]
    preds = predict_cached(predictor, [(r["path"], b) for r, b in zip(picked, photos, strict=True)], cache,
                           args.batch, "photos")
    by_group: dict[tuple[str, str], list] = defaultdict(list)
    for r, p in zip(picked, preds, strict=True):
        by_group[(r["source"], r["label"])].append(p)

    def held_out(name: str) -> bool:
        return name.split("/")[0] not in trained_on

    report: dict = {"machine": machine_state(), "model": predictor.version, "trained_on": sorted(trained_on),
                    "acne04_stems": {"photos": sum(stems.values()), "stems": len(stems), "multi": multi},
                    "groups": group_rows(by_group, predictor.thresholds, args.shuffles, args.seed)}
    for name, rows_ in report["groups"].items():
        note = "" if held_out(name) else " (IN-SOURCE: the model was trained on these photos)"
        print_rows(f"{name}{note} - scans of different photos of the class, {args.shuffles} draws", rows_)
    report["held_out_pooled"] = pooled_rows(report["groups"], held_out)
    if report["held_out_pooled"]:
        print_rows("all held-out sources together - scans of different photos", report["held_out_pooled"])

    if not args.no_retakes:
        items = [(f"{r['path']}#retake{j}", take) for r, b in zip(picked, photos, strict=True)
                 for j, take in enumerate(retakes(b))]
        flat = predict_cached(predictor, items, cache, args.batch, "re-takes")
        takes = [flat[i : i + 2] for i in range(0, len(flat), 2)]
        by_index: dict[tuple[str, str], list[int]] = defaultdict(list)
        for i, r in enumerate(picked):
            by_index[(r["source"], r["label"])].append(i)
        report["retakes"] = {}
        for (source, truth), idx in sorted(by_index.items()):
            rows_ = retake_rows([preds[i] for i in idx], [takes[i] for i in idx], truth, predictor.thresholds)
            report["retakes"][f"{source}/{truth}"] = rows_
            note = "" if source not in trained_on else " (IN-SOURCE)"
            print_rows(f"{source}/{truth}{note} - each photo with its own re-takes", rows_)
        report["retakes_held_out_pooled"] = pooled_rows(report["retakes"], held_out)
        if report["retakes_held_out_pooled"]:
            print_rows("all held-out sources together - each photo with its own re-takes",
                       report["retakes_held_out_pooled"])
    print(f"\n{machine_state()}")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
        print(f"figures written to {args.json}")


if __name__ == "__main__":
    main()
