"""How far a photo's features lie from the skin photos the model learned from (a one-class "not skin" score).

The head's fifth output learns "not a face or skin" from the negatives it was shown, and misses kinds of
photos it was not shown (trained on clothing only, it let 17 % of ImageNet photos through). This score
needs no negatives: the Mahalanobis distance of the pooled block-5 features (square-rooted: ReLU features
are skewed) to the nearest condition's mean, under one shared, shrunk covariance of the skin photos
(Lee et al., 2018). Its threshold is fitted on skin photos of held-out sources only.
"""

from __future__ import annotations

import numpy as np

#: Weight of the scaled identity in the shrunk covariance (many features, a few thousand photos).
SHRINKAGE = 0.1


def transform(pooled: np.ndarray) -> np.ndarray:
    return np.sqrt(np.maximum(np.asarray(pooled, np.float64), 0.0))


def fit(pooled: np.ndarray, y: np.ndarray, n_classes: int, shrinkage: float = SHRINKAGE) -> dict:
    """Skin photos' pooled features (N, D) and condition indices -> {"means": (C, D), "precision": (D, D)}."""
    x = transform(pooled)
    y = np.asarray(y)
    means = np.stack([x[y == c].mean(axis=0) for c in range(n_classes)])
    centred = x - means[y]
    cov = centred.T @ centred / max(1, len(x) - n_classes)
    d = cov.shape[0]
    cov = (1.0 - shrinkage) * cov + shrinkage * (np.trace(cov) / d) * np.eye(d)
    return {"means": means.astype(np.float32), "precision": np.linalg.inv(cov).astype(np.float32)}


def score(pooled: np.ndarray, stats: dict) -> np.ndarray:
    """(N, D) pooled features -> (N,) squared Mahalanobis distance to the nearest condition mean."""
    x = transform(pooled)
    prec = np.asarray(stats["precision"], np.float64)
    out = np.full(len(x), np.inf)
    for m in np.asarray(stats["means"], np.float64):
        diff = x - m
        out = np.minimum(out, np.einsum("ij,ij->i", diff @ prec, diff))
    return out


def pooled_from_conv(conv: np.ndarray) -> np.ndarray:
    """block5_conv3 maps (N, H, W, 512) -> the head's input: 2x2 max pool ('same' padding), then the mean."""
    conv = np.asarray(conv, np.float32)
    n, h, w, c = conv.shape
    ph, pw = -h % 2, -w % 2
    if ph or pw:
        conv = np.pad(conv, ((0, 0), (0, ph), (0, pw), (0, 0)), constant_values=-np.inf)
    pooled = conv.reshape(n, (h + ph) // 2, 2, (w + pw) // 2, 2, c).max(axis=(2, 4))
    return pooled.mean(axis=(1, 2))
