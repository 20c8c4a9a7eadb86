"""How well lesions are found: count error and correlation, grade accuracy, box precision and recall.

Pure numpy. A predicted lesion is right when its centre lies inside a marked box (the contract of
``evaluate_model``); a marked lesion is found when some predicted centre lies inside it.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np


def centre_hits(pred_boxes, true_boxes) -> tuple[int, int]:
    """-> (predicted centres inside some marked box, marked boxes holding some predicted centre)."""
    pred = np.asarray([b[:4] for b in pred_boxes], np.float64).reshape(-1, 4)
    true = np.asarray([b[:4] for b in true_boxes], np.float64).reshape(-1, 4)
    if len(pred) == 0 or len(true) == 0:
        return 0, 0
    cx, cy = (pred[:, 0] + pred[:, 2]) / 2, (pred[:, 1] + pred[:, 3]) / 2
    inside = (
        (cx[:, None] >= true[None, :, 0])
        & (cx[:, None] <= true[None, :, 2])
        & (cy[:, None] >= true[None, :, 1])
        & (cy[:, None] <= true[None, :, 3])
    )
    return int(inside.any(axis=1).sum()), int(inside.any(axis=0).sum())


def pearson(a, b) -> float | None:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if len(a) < 2 or a.std() == 0 or b.std() == 0:
        return None
    return float(np.corrcoef(a, b)[0, 1])


def lesion_scores(pred_boxes: list, true_boxes: list, true_grades=None, pred_grades=None) -> dict:
    """Scores over photos: ``pred_boxes``/``true_boxes`` one list of boxes per photo (same pixels);
    ``true_grades``/``pred_grades`` 0-3 (None: no grade) per photo, where known."""
    pred_counts = np.array([len(b) for b in pred_boxes], np.float64)
    true_counts = np.array([len(b) for b in true_boxes], np.float64)
    hits = [centre_hits(p, t) for p, t in zip(pred_boxes, true_boxes, strict=True)]
    n_pred, n_true = pred_counts.sum(), true_counts.sum()
    out = {
        "photos": len(pred_boxes),
        "count_mae": round(float(np.abs(pred_counts - true_counts).mean()), 3) if len(pred_boxes) else None,
        "count_bias": round(float((pred_counts - true_counts).mean()), 3) if len(pred_boxes) else None,
        "count_pearson_r": _round(pearson(pred_counts, true_counts)),
        "box_precision": round(sum(h[0] for h in hits) / n_pred, 4) if n_pred else None,
        "box_recall": round(sum(h[1] for h in hits) / n_true, 4) if n_true else None,
        "predicted_lesions": int(n_pred),
        "marked_lesions": int(n_true),
    }
    if true_grades is not None and pred_grades is not None:
        pairs = [(t, p) for t, p in zip(true_grades, pred_grades, strict=True) if t is not None]
        out["grade_accuracy"] = (
            round(sum((p if p is not None else 0) == t for t, p in pairs) / len(pairs), 4) if pairs else None
        )
        out["grade_within_one"] = (
            round(sum(abs((p if p is not None else 0) - t) <= 1 for t, p in pairs) / len(pairs), 4) if pairs else None
        )
        out["grades"] = len(pairs)
    return out


def count_summary(counts) -> dict:
    """Median, 90th percentile and mean of lesion counts on photos that should show few (healthy faces)."""
    c = np.asarray(list(counts), np.float64)
    if len(c) == 0:
        return {"photos": 0}
    return {
        "photos": len(c),
        "median": float(np.median(c)),
        "p90": float(np.percentile(c, 90)),
        "mean": round(float(c.mean()), 2),
        "share_zero": round(float((c == 0).mean()), 3),
    }


def _round(v):
    return None if v is None else round(v, 4)


def read_marked(data_dir) -> dict[str, tuple[list, int | None]]:
    """A data folder's marked lesions (``acne04_lesions.csv``, ``acne04_grades.csv``), by absolute photo path:
    (boxes in the stored photo's pixels, grade). Empty when the folder has no lesion files."""
    root = Path(data_dir)
    lesions_csv, grades_csv = root / "acne04_lesions.csv", root / "acne04_grades.csv"
    if not (lesions_csv.is_file() and grades_csv.is_file()):
        return {}
    boxes: dict[str, list] = {}
    with open(lesions_csv, newline="") as fh:
        for row in csv.DictReader(fh):
            boxes.setdefault(row["path"], []).append([float(row[k]) for k in ("x0", "y0", "x1", "y1")])
    marked = {}
    with open(grades_csv, newline="") as fh:
        for row in csv.DictReader(fh):
            grade = row.get("grade", "")
            marked[str((root / row["path"]).resolve())] = (boxes.get(row["path"], []), int(grade) if grade else None)
    return marked


def lesion_figures(items, predictions, data_dirs) -> dict | None:
    """``evaluate_model``'s lesion figures: on photos with marked lesions the contract's scores (a photo the
    model does not judge counts as no lesions found, and is counted in ``not_judged``); on every other photo
    the counts found, per label and source (healthy faces should show few or none). None without marks."""
    marked: dict = {}
    for d in data_dirs:
        marked.update(read_marked(d))
    if not marked:
        return None
    pred_boxes, true_boxes, true_grades, pred_grades, not_judged = [], [], [], [], 0
    others: dict[str, list[int]] = {}
    for item, pred in zip(items, predictions, strict=True):
        found = getattr(pred, "lesions", None)
        key = str(Path(item.path).resolve())
        if key in marked:
            boxes, grade = marked[key]
            not_judged += found is None
            pred_boxes.append(list(found.boxes) if found else [])
            pred_grades.append(found.grade if found else None)
            true_boxes.append(boxes)
            true_grades.append(grade)
        elif found is not None:
            others.setdefault(f"{item.label}/{item.source}", []).append(found.count)
    scores = lesion_scores(pred_boxes, true_boxes, true_grades, pred_grades)
    scores["not_judged"] = not_judged
    return {"marked": scores, "counts_elsewhere": {k: count_summary(v) for k, v in sorted(others.items())}}
