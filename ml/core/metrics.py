"""Classification metrics (pure numpy) with explicit handling of abstentions.

Labels are strings. ``y_pred`` may contain "uncertain" / "no_skin": those count as
wrong for accuracy and recall (never silently dropped) and are reported separately.
"""

from __future__ import annotations

import numpy as np


def confusion_matrix(y_true, y_pred, labels, extra=()):
    """Rows: true class (``labels``); columns: ``labels`` + ``extra`` (abstention columns)."""
    cols = list(labels) + [e for e in extra]
    ci = {c: i for i, c in enumerate(cols)}
    ri = {c: i for i, c in enumerate(labels)}
    m = np.zeros((len(labels), len(cols)), dtype=np.int64)
    for t, p in zip(y_true, y_pred, strict=False):
        if p not in ci:
            raise ValueError(f"unknown predicted label {p!r}")
        m[ri[t], ci[p]] += 1
    return m, cols


def per_class_prf(cm: np.ndarray, labels):
    """Precision/recall/F1 per class from a confusion matrix whose first columns are ``labels``."""
    n = len(labels)
    out = {}
    for i, c in enumerate(labels):
        tp = int(cm[i, i])
        predicted = int(cm[:, i].sum())
        support = int(cm[i, :].sum())
        p = tp / predicted if predicted else 0.0
        r = tp / support if support else 0.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        out[c] = {"precision": p, "recall": r, "f1": f, "support": support, "predicted": predicted}
    assert n == len(out)
    return out


def ece(confidences, correct, n_bins: int = 15) -> float:
    """Expected calibration error with equal-width confidence bins."""
    conf = np.asarray(confidences, dtype=np.float64)
    corr = np.asarray(correct, dtype=np.float64)
    if conf.size == 0:
        return 0.0
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    idx = np.clip(np.digitize(conf, edges[1:-1], right=True), 0, n_bins - 1)
    total = 0.0
    for b in range(n_bins):
        sel = idx == b
        if sel.any():
            total += sel.mean() * abs(conf[sel].mean() - corr[sel].mean())
    return float(total)


def signed_ece(confidences, correct, n_bins: int = 15) -> float:
    """ECE with its sign kept per bin: > 0 over-confident (stated confidence above accuracy), < 0 under."""
    conf = np.asarray(confidences, dtype=np.float64)
    corr = np.asarray(correct, dtype=np.float64)
    if conf.size == 0:
        return 0.0
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    idx = np.clip(np.digitize(conf, edges[1:-1], right=True), 0, n_bins - 1)
    return float(sum((idx == b).mean() * (conf[idx == b].mean() - corr[idx == b].mean())
                     for b in range(n_bins) if (idx == b).any()))


def summarize(y_true, y_pred, labels, confidences=None, argmax_pred=None, extra=("uncertain", "no_skin")):
    """All figures for one set of predictions.

    ``y_pred``: final labels (may be abstentions). ``confidences``/``argmax_pred``: calibrated top
    probability and the argmax class before abstention (for ECE, computed over all images).
    """
    y_true, y_pred = list(y_true), list(y_pred)
    labels = list(labels)
    cm, cols = confusion_matrix(y_true, y_pred, labels, extra)
    pcs = per_class_prf(cm, labels)
    present = [c for c in labels if pcs[c]["support"] > 0]
    n = len(y_true)
    correct = sum(int(t == p) for t, p in zip(y_true, y_pred, strict=False))
    out = {
        "n": n,
        "accuracy": correct / n if n else 0.0,
        "macro_f1": float(np.mean([pcs[c]["f1"] for c in present])) if present else 0.0,
        "per_class": pcs,
        "confusion_matrix": {"labels": labels, "columns": cols, "matrix": cm.tolist()},
        "abstained": {e: sum(int(p == e) for p in y_pred) for e in extra},
    }
    if confidences is not None and argmax_pred is not None:
        corr = [int(t == p) for t, p in zip(y_true, argmax_pred, strict=False)]
        out["ece"] = ece(confidences, corr)
        out["ece_signed"] = signed_ece(confidences, corr)
        out["accuracy_argmax"] = float(np.mean(corr)) if corr else 0.0
    return out
