"""Figures for a set of predictions (conditions, refusals, skin-tone and UTKFace groups), the in-source split
reported next to the held-out figures (it flatters: same sources on both sides), and their text form."""

from __future__ import annotations

import numpy as np

from .. import calibration, data, ood, report
from .calibrate import decide_all, temperatures
from .head import head_logits, train_head
from .prepare import Dataset
from .selection import skin_statistics


def full_report(ds: Dataset, logits, cal: dict, idx=None, distances=None) -> dict:
    """Figures for the images ``idx`` (all by default): conditions, refusal of non-skin, skin-tone groups."""
    idx = np.arange(len(ds.items)) if idx is None else np.asarray(idx)
    far = None if distances is None else np.asarray(distances)[idx]
    n = len(ds.classes)
    temps = temperatures(cal, ds, distances, idx)
    cond, reject = calibration.split_scores(logits[idx], n, temps, cal["reject_temperature"])
    sub = Dataset([ds.items[i] for i in idx], [ds.pres[i] for i in idx], ds.classes, ds.y[idx])
    preds = decide_all(sub, cond, reject, cal["thresholds"], distances=far)
    skin = sub.y < n
    skin_items = [it for it, s in zip(sub.items, skin, strict=True) if s]
    groups = {
        "tone": [report.ita_group(p.extras.get("ita")) for p, s in zip(sub.pres, skin, strict=True) if s],
        "utkface_group": [report.utkface_group(it.path) for it in skin_items],
    }
    rep = report.evaluation_report(
        skin_items, [p for p, s in zip(preds, skin, strict=True) if s], cond[skin], ds.classes, groups
    )
    rep["refusal"] = report.refusal_report(
        [it.source for it, s in zip(sub.items, skin, strict=True) if not s],
        [p for p, s in zip(preds, skin, strict=True) if not s],
    )
    rep["skin_refused"] = float(np.mean([p == "no_skin" for p, s in zip(preds, skin, strict=True) if s]))
    return rep

def in_source_split(ds: Dataset, x_head, pooled, setting, cal, seed, test_frac):
    """The head trained on ``x_head`` of a stratified split; feature distances from ``pooled`` (block 5)."""
    split = data.stratified_split(ds.items, test_frac, 0.0, seed)
    tr, te = np.array(split["train"]), np.array(split["test"])
    weights, _ = train_head(x_head, ds, tr, setting, seed)
    logits = np.zeros((len(ds.items), ds.n_out))
    logits[te] = head_logits(weights, x_head[te, 0])
    distances = np.zeros(len(ds.items))
    distances[te] = ood.score(pooled[te, 0], skin_statistics(ds, pooled, tr))
    return full_report(ds, logits, cal, te, distances), te

def format_evaluation(evaluation) -> str:
    parts = []
    if evaluation.get("leave_one_source_out"):
        parts.append(report.format_report(evaluation["leave_one_source_out"], "== leave one source out =="))
    parts.append(report.format_report(evaluation["in_source_split"], "== in-source split (flatters) =="))
    if evaluation.get("calibration_per_source"):
        parts.append(format_calibration(evaluation["calibration_per_source"]))
    rates = ", ".join(f"{s} {r['face_rate']:.2f}" for s, r in evaluation.get("face_detection_rate", {}).items())
    parts.append(f"face found per source: {rates}\n")
    return "\n".join(parts)


def format_calibration(per_source: dict) -> str:
    lines = ["== confidence on sources the calibration never saw (signed ECE > 0: over-confident) =="]
    for name, r in per_source.items():
        lines.append(
            f"{name:<32} n={r['n']:<5} accuracy {r['accuracy']:.3f} confidence {r['confidence']:.3f} "
            f"ECE {r['ece']:.3f} signed {r['ece_signed']:+.3f}"
        )
    return "\n".join(lines) + "\n"


#: Each image's held-out probabilities (from a head that never saw its source), written by training for the
#: label audit (``ml.core.label_audit``, ``manage.py audit_labels``).
HELDOUT_PREDICTIONS = "heldout_predictions.csv.gz"


def write_heldout_predictions(path, ds: Dataset, logits, cal: dict) -> None:
    """``path`` (gzip CSV): ``path`` (``<folder>/<file>``), ``source``, ``label`` and one probability per output
    (the conditions, then "not a face or skin"), a softmax of the held-out logits at the reject temperature."""
    import csv
    import gzip

    probs = calibration.softmax(logits, cal["reject_temperature"])
    names = [*ds.classes, data.REJECT_LABEL]
    with gzip.open(path, "wt", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["path", "source", "label", *(f"p_{n}" for n in names)])
        for it, row in zip(ds.items, probs, strict=True):
            writer.writerow([data.key(it.path), it.source, it.label, *(f"{v:.4f}" for v in row)])
