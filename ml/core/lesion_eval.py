"""How well lesions are found: count error and correlation, grade accuracy, box precision and recall.

Pure numpy. A predicted lesion is right when its centre lies inside a marked box (the contract of
``evaluate_model``); a marked lesion is found when some predicted centre lies inside it.
"""

from __future__ import annotations

import numpy as np


def centre_hits(pred_boxes, true_boxes) -> tuple[int, int]:
    """-> (predicted centres inside some marked box, marked boxes holding some predicted centre)."""
    pred = np.asarray([b[:4] for b in pred_boxes], np.float64).reshape(-1, 4)
    true = np.asarray([b[:4] for b in true_boxes], np.float64).reshape(-1, 4)
    if len(pred) == 0 or len(true) == 0:
        return 0, 0
    cx, cy = (pred[:, 0] + pred[:, 2]) / 2, (pred[:, 1] + pred[:, 3]) / 2
    inside = (
        (cx[:, None] >= true[None, :, 0]) & (cx[:, None] <= true[None, :, 2])
        & (cy[:, None] >= true[None, :, 1]) & (cy[:, None] <= true[None, :, 3])
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
        out["grade_accuracy"] = round(sum((p if p is not None else 0) == t for t, p in pairs) / len(pairs), 4) if pairs else None
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
