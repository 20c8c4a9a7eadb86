"""Temperature scaling and splitting the head's scores into conditions and the reject probability."""

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
