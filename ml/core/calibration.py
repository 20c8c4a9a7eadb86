"""Temperature scaling, the "uncertain" threshold and the out-of-distribution score."""

from __future__ import annotations

import numpy as np


def softmax(logits, temperature: float = 1.0) -> np.ndarray:
    z = np.asarray(logits, dtype=np.float64) / float(temperature)
    z -= z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def split_scores(logits, n_conditions: int, temperature: float, reject_temperature: float = 1.0):
    """Head logits -> (condition probabilities (N, n_conditions), reject probability (N,)).

    Conditions use their own logits (a softmax over the first ``n_conditions``), calibrated by
    ``temperature``; the reject probability is the last output of the full softmax.
    """
    logits = np.asarray(logits, dtype=np.float64)
    cond = softmax(logits[..., :n_conditions], temperature)
    if logits.shape[-1] == n_conditions:
        return cond, np.zeros(logits.shape[:-1])
    return cond, softmax(logits, reject_temperature)[..., n_conditions]


def nll(logits, y, temperature: float) -> float:
    p = softmax(logits, temperature)
    return float(-np.mean(np.log(np.clip(p[np.arange(len(y)), y], 1e-12, 1.0))))


def fit_temperature(logits, y, lo: float = 0.05, hi: float = 20.0, iters: int = 80) -> float:
    """Temperature minimising the validation NLL (golden-section search on log T; NLL is unimodal in T)."""
    y = np.asarray(y, dtype=np.int64)
    a, b = np.log(lo), np.log(hi)
    g = (np.sqrt(5) - 1) / 2
    c, d = b - g * (b - a), a + g * (b - a)
    fc, fd = nll(logits, y, np.exp(c)), nll(logits, y, np.exp(d))
    for _ in range(iters):
        if fc < fd:
            b, d, fd = d, c, fc
            c = b - g * (b - a)
            fc = nll(logits, y, np.exp(c))
        else:
            a, c, fc = c, d, fd
            d = a + g * (b - a)
            fd = nll(logits, y, np.exp(d))
    return float(np.exp((a + b) / 2))


def choose_uncertain_threshold(
    probs, y, target_accuracy: float = 0.95, min_coverage: float = 0.85, floor: float = 0.5, ceiling: float = 0.9
) -> float:
    """Smallest top-probability threshold whose kept predictions reach ``target_accuracy``.

    It never abstains on more than ``1 - min_coverage`` of the validation data and stays
    within [floor, ceiling]. Below the threshold the result is "uncertain".
    """
    probs = np.asarray(probs)
    y = np.asarray(y)
    top = probs.max(axis=1)
    correct = probs.argmax(axis=1) == y
    best = floor
    for t in np.round(np.arange(floor, ceiling + 1e-9, 0.01), 2):
        keep = top >= t
        coverage = keep.mean()
        if coverage < min_coverage:
            break
        best = float(t)
        if keep.any() and correct[keep].mean() >= target_accuracy:
            break
    return float(best)


def class_centroids(features, y, n_classes: int) -> np.ndarray:
    f = _l2(features)
    return np.stack(
        [
            f[np.asarray(y) == k].mean(axis=0) if np.any(np.asarray(y) == k) else np.zeros(f.shape[1])
            for k in range(n_classes)
        ]
    )


def ood_score(features, centroids) -> np.ndarray:
    """Cosine distance of the L2-normalised penultimate features to the nearest class centroid."""
    f = _l2(features)
    c = _l2(np.asarray(centroids))
    return 1.0 - (f @ c.T).max(axis=1)


def _l2(x):
    x = np.asarray(x, dtype=np.float64)
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)
