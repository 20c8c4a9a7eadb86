"""Temperature scaling and splitting the head's scores into conditions and the reject probability.

A photo's condition temperature is either one number for all photos or, for the models since vgg16-skin-v6,
its own (``AdaptiveTemperature``): a photo far from the skin photos the model learned from, or without a
face, is judged less confidently than one close to them. One number fitted on all held-out sources left
the sources the model knows under-confident and the ones it does not know over-confident.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def softmax(logits, temperature=1.0) -> np.ndarray:
    """Softmax over the last axis; ``temperature`` one number or one per row."""
    t = np.asarray(temperature, dtype=np.float64)
    z = np.asarray(logits, dtype=np.float64) / (t[..., None] if t.ndim else float(t))
    z -= z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def split_scores(logits, n_conditions: int, temperature, reject_temperature: float = 1.0):
    """Head logits -> (condition probabilities (N, n_conditions), reject probability (N,)).

    Conditions use their own logits (a softmax over the first ``n_conditions``), calibrated by
    ``temperature`` (one number, or one per photo: ``AdaptiveTemperature.of``); the reject probability is the
    last output of the full softmax.
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


#: What a photo's condition temperature depends on: its feature distance from the skin photos (log) and
#: whether a face was found.
ADAPTIVE_SIGNALS = ("log_feature_distance", "face_found")


def adaptive_signals(feature_distance, face_found) -> np.ndarray:
    """(N, len(ADAPTIVE_SIGNALS)) from per-photo feature distances and face-found flags."""
    d = np.log1p(np.maximum(np.asarray(feature_distance, np.float64), 0.0))
    return np.stack([d, np.asarray(face_found, np.float64)], axis=-1)


@dataclass(frozen=True)
class AdaptiveTemperature:
    """T(photo) = exp(w0 + w . (signals - mean) / scale), fitted by held-out negative log-likelihood."""

    weights: tuple[float, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]

    def of(self, signals) -> np.ndarray:
        """The temperature of each photo, (N,), from ``adaptive_signals``."""
        x = (np.atleast_2d(np.asarray(signals, np.float64)) - np.asarray(self.mean)) / np.asarray(self.scale)
        return np.exp(self.weights[0] + x @ np.asarray(self.weights[1:]))

    def to_dict(self) -> dict:
        return {"signals": list(ADAPTIVE_SIGNALS), "weights": list(self.weights), "mean": list(self.mean),
                "scale": list(self.scale)}

    @classmethod
    def from_dict(cls, d: dict) -> AdaptiveTemperature:
        if tuple(d.get("signals", ())) != ADAPTIVE_SIGNALS:
            raise ValueError(f"unknown calibration signals {d.get('signals')}")
        return cls(tuple(map(float, d["weights"])), tuple(map(float, d["mean"])), tuple(map(float, d["scale"])))


def fit_adaptive_temperature(logits, y, signals, l2: float = 1e-2) -> AdaptiveTemperature:
    """Minimise the held-out NLL of ``softmax(logits / T(photo))`` (+ ``l2`` on the signal weights)."""
    from scipy.optimize import minimize

    logits, y = np.asarray(logits, np.float64), np.asarray(y, np.int64)
    s = np.atleast_2d(np.asarray(signals, np.float64))
    mean, scale = s.mean(axis=0), s.std(axis=0)
    scale = np.where(scale > 1e-9, scale, 1.0)
    x = (s - mean) / scale
    rows = np.arange(len(y))

    def loss(w):
        p = softmax(logits, np.exp(w[0] + x @ w[1:]))
        return -np.mean(np.log(np.clip(p[rows, y], 1e-12, 1.0))) + l2 * float(np.sum(w[1:] ** 2))

    start = np.r_[np.log(fit_temperature(logits, y)), np.zeros(x.shape[1])]
    w = minimize(loss, start, method="L-BFGS-B").x
    return AdaptiveTemperature(tuple(map(float, w)), tuple(map(float, mean)), tuple(map(float, scale)))
